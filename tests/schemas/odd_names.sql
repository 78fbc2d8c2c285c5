-- Odd identifiers: keywords, embedded quotes, spaces, non-ASCII, mixed case.
CREATE TABLE "order" ("select" INTEGER PRIMARY KEY, "from" TEXT NOT NULL DEFAULT 'it''s', "a""b" TEXT, "with space" REAL DEFAULT -1.5);
CREATE TABLE "Line Item" (
    "id" INTEGER PRIMARY KEY,
    "order" INTEGER REFERENCES "order" ("select") ON DELETE CASCADE,
    "größe" TEXT COLLATE NOCASE,
    "日本語" TEXT,
    CONSTRAINT "check ""quoted""" CHECK ("größe" <> '')
);
CREATE INDEX "ix ""odd"" name" ON "Line Item" ("größe", "日本語" DESC);
CREATE UNIQUE INDEX "ux order from" ON "order" ("from" COLLATE NOCASE) WHERE "a""b" IS NOT NULL;
CREATE VIEW "view of order" AS SELECT "select", "a""b" AS "x y" FROM "order";
CREATE TRIGGER "trig ""one""" AFTER INSERT ON "Line Item" BEGIN UPDATE "order" SET "from" = 'x' WHERE "select" = new."order"; END;
