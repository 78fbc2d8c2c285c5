-- Reporting: events, views over views, partial and expression indexes.
CREATE TABLE event (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    payload TEXT,
    amount REAL,
    happened_at TEXT NOT NULL,
    deleted_at TEXT
);
CREATE INDEX ix_event_live ON event (kind, happened_at) WHERE deleted_at IS NULL;
CREATE INDEX ix_event_day ON event (date(happened_at));
CREATE INDEX ix_event_kind_lower ON event (lower(kind) COLLATE NOCASE DESC);
CREATE UNIQUE INDEX ux_event_payload ON event (json_extract(payload, '$.ref')) WHERE payload IS NOT NULL AND kind = 'import';
CREATE TABLE daily_target (day TEXT PRIMARY KEY, target REAL NOT NULL DEFAULT 0.0) WITHOUT ROWID;
CREATE VIEW live_event AS SELECT * FROM event WHERE deleted_at IS NULL;
CREATE VIEW daily AS
    SELECT date(happened_at) AS day, kind, count(*) AS n, sum(amount) AS total
    FROM live_event GROUP BY 1, 2;
CREATE VIEW daily_vs_target AS
    SELECT d.day, d.total, t.target, d.total - coalesce(t.target, 0) AS gap
    FROM (SELECT day, sum(total) AS total FROM daily GROUP BY day) d LEFT JOIN daily_target t USING (day);
CREATE TRIGGER event_soft_delete INSTEAD OF DELETE ON live_event BEGIN
    UPDATE event SET deleted_at = datetime('now') WHERE id = old.id;
END;
