-- STRICT, WITHOUT ROWID and generated columns together.
CREATE TABLE measure (
    id INTEGER PRIMARY KEY,
    sensor TEXT NOT NULL,
    celsius REAL NOT NULL,
    fahrenheit REAL GENERATED ALWAYS AS (celsius * 9.0 / 5.0 + 32.0) VIRTUAL,
    label TEXT GENERATED ALWAYS AS (sensor || ':' || celsius) STORED,
    raw BLOB,
    extra ANY
) STRICT;
CREATE INDEX ix_measure_f ON measure (fahrenheit);
CREATE TABLE setting (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    value ANY,
    PRIMARY KEY (scope, key)
) STRICT, WITHOUT ROWID;
CREATE TABLE counter (name TEXT PRIMARY KEY, n INT NOT NULL DEFAULT 0, doubled INT AS (n * 2)) WITHOUT ROWID;
