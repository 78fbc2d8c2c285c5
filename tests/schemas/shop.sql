-- A shop: composite keys, FKs with actions and deferral, CHECKs, triggers keeping totals.
CREATE TABLE customer (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL,
    country CHAR(2) NOT NULL DEFAULT 'FR',
    CONSTRAINT customer_email_uq UNIQUE (email),
    CONSTRAINT country_upper CHECK (country = upper(country))
);
CREATE TABLE product (
    sku TEXT NOT NULL,
    variant INTEGER NOT NULL DEFAULT 0,
    name TEXT NOT NULL,
    price_cents INTEGER NOT NULL CHECK (price_cents >= 0),
    stock INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (sku, variant),
    CHECK (stock >= 0 OR name LIKE '%preorder%')
);
CREATE TABLE "order" (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id INTEGER NOT NULL,
    status TEXT NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'paid', 'shipped', 'cancelled')),
    total_cents INTEGER NOT NULL DEFAULT 0,
    placed_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    CONSTRAINT order_customer_fk FOREIGN KEY (customer_id) REFERENCES customer (id) ON DELETE RESTRICT ON UPDATE CASCADE
);
CREATE TABLE order_line (
    order_id INTEGER NOT NULL,
    line_no INTEGER NOT NULL,
    sku TEXT NOT NULL,
    variant INTEGER NOT NULL,
    qty INTEGER NOT NULL DEFAULT 1 CHECK (qty > 0),
    unit_cents INTEGER NOT NULL,
    PRIMARY KEY (order_id, line_no),
    FOREIGN KEY (order_id) REFERENCES "order" (id) ON DELETE CASCADE,
    FOREIGN KEY (sku, variant) REFERENCES product (sku, variant) ON UPDATE CASCADE DEFERRABLE INITIALLY DEFERRED
);
CREATE INDEX ix_order_line_product ON order_line (sku, variant);
CREATE INDEX ix_order_status ON "order" (status, placed_at DESC);
CREATE TRIGGER order_line_ai AFTER INSERT ON order_line BEGIN
    UPDATE "order" SET total_cents = total_cents + new.qty * new.unit_cents WHERE id = new.order_id;
END;
CREATE TRIGGER order_line_ad AFTER DELETE ON order_line BEGIN
    UPDATE "order" SET total_cents = total_cents - old.qty * old.unit_cents WHERE id = old.order_id;
END;
CREATE TRIGGER product_stock_guard BEFORE UPDATE OF stock ON product WHEN new.stock < -100 BEGIN
    SELECT RAISE(ABORT, 'stock too low');
END;
