use super::*;
use crate::model::{Check, Conflict, FkAction, ForeignKey, Generated, Order, PrimaryKey, Unique};

mod objects;

fn db(ddl: &str) -> Connection {
    let c = Connection::open_in_memory().unwrap();
    c.execute_batch(ddl).unwrap();
    c
}

fn table(ddl: &str, name: &str) -> Table {
    let c = db(ddl);
    let s = inspect(&c, &Reserved::default()).unwrap();
    let t = s.table(name).unwrap().clone();
    assert_eq!(
        inspect_table(&c, name, &Reserved::default())
            .unwrap()
            .as_ref(),
        Some(&t)
    );
    t
}

fn col(name: &str, ty: &str) -> Column {
    Column {
        name: name.into(),
        sql_type: ty.into(),
        ..Column::default()
    }
}

fn part(target: &str, collate: Option<&str>, order: Order) -> IndexPart {
    IndexPart {
        target: target.into(),
        expr: false,
        collate: collate.map(Into::into),
        order,
    }
}

fn expr_part(target: &str, collate: Option<&str>, order: Order) -> IndexPart {
    IndexPart {
        expr: true,
        ..part(target, collate, order)
    }
}

#[test]
fn columns_types_defaults_collate() {
    let t = table(
        "CREATE TABLE t(
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            a UNSIGNED BIG INT NOT NULL DEFAULT -1,
            b DECIMAL(10,5) DEFAULT 'it''s',
            c DEFAULT CURRENT_TIMESTAMP,
            d TEXT NOT NULL COLLATE NOCASE DEFAULT (datetime('now')),
            e BLOB DEFAULT x'00ff',
            f INT DEFAULT 0x1F,
            g DEFAULT NULL,
            h DEFAULT (1),
            i DEFAULT +2.5,
            j TEXT COLLATE \"RTRIM\" NULL,
            k DEFAULT ('a' || 'b'),
            l VARCHAR(64) DEFAULT (-1)
        );",
        "t",
    );
    let d = |s: &str| Some(s.to_string());
    let expected = vec![
        col("id", "INTEGER"),
        Column {
            not_null: true,
            default: d("-1"),
            ..col("a", "UNSIGNED BIG INT")
        },
        Column {
            default: d("'it''s'"),
            ..col("b", "DECIMAL(10,5)")
        },
        Column {
            default: d("CURRENT_TIMESTAMP"),
            ..col("c", "")
        },
        Column {
            not_null: true,
            default: d("(datetime('now'))"),
            collate: d("NOCASE"),
            ..col("d", "TEXT")
        },
        Column {
            default: d("x'00ff'"),
            ..col("e", "BLOB")
        },
        Column {
            default: d("0x1F"),
            ..col("f", "INT")
        },
        Column {
            default: d("NULL"),
            ..col("g", "")
        },
        Column {
            default: d("1"),
            ..col("h", "")
        },
        Column {
            default: d("+2.5"),
            ..col("i", "")
        },
        Column {
            collate: d("RTRIM"),
            ..col("j", "TEXT")
        },
        Column {
            default: d("('a' || 'b')"),
            ..col("k", "")
        },
        Column {
            default: d("-1"),
            ..col("l", "VARCHAR(64)")
        },
    ];
    assert_eq!(t.columns, expected);
    assert_eq!(
        t.primary_key,
        Some(PrimaryKey {
            name: None,
            columns: vec![IndexPart::column("id")],
            autoincrement: true,
            on_conflict: None,
            inline: true,
        })
    );
    assert!(t.uniques.is_empty() && t.checks.is_empty() && t.foreign_keys.is_empty());
    assert!(!t.without_rowid && !t.strict);
}

#[test]
fn generated_columns() {
    let t = table(
        "CREATE TABLE g(
            a INT,
            b INT GENERATED ALWAYS AS (a * 2) STORED,
            c TEXT AS ( upper(cast(a AS TEXT)) ),
            d INT AS (a + (b - 1)) VIRTUAL NOT NULL,
            e GENERATED ALWAYS AS (a) -- trailing
        );",
        "g",
    );
    let g = |e: &str, stored| {
        Some(Generated {
            expr: e.into(),
            stored,
        })
    };
    assert_eq!(t.columns[0].generated, None);
    assert_eq!(t.columns[1].generated, g("a * 2", true));
    assert_eq!(t.columns[1].sql_type, "INT");
    assert_eq!(t.columns[2].generated, g("upper(cast(a AS TEXT))", false));
    assert_eq!(t.columns[3].generated, g("a + (b - 1)", false));
    assert!(t.columns[3].not_null);
    assert_eq!(t.columns[4].generated, g("a", false));
    assert_eq!(t.columns[4].sql_type, "");
    assert!(t.columns.iter().all(|c| c.default.is_none()));
}

#[test]
fn checks_in_text_order() {
    let t = table(
        "CREATE TABLE c(
            qty INT CONSTRAINT qty_pos CHECK (qty > 0) CHECK(qty < 1000),
            name TEXT CHECK ( length(/* inner */ name) > 0 /* edge */ ),
            lo INT, hi INT,
            CHECK (lo <= hi),
            CONSTRAINT hi_small CHECK (hi < abs(-5) OR hi IN (1, 2)),
            CHECK (lo > 0 -- comment
            )
        );",
        "c",
    );
    let ck = |name: Option<&str>, expr: &str, column: Option<&str>| Check {
        name: name.map(Into::into),
        expr: expr.into(),
        column: column.map(Into::into),
    };
    assert_eq!(
        t.checks,
        vec![
            ck(Some("qty_pos"), "qty > 0", Some("qty")),
            ck(None, "qty < 1000", Some("qty")),
            ck(None, "length(/* inner */ name) > 0", Some("name")),
            ck(None, "lo <= hi", None),
            ck(Some("hi_small"), "hi < abs(-5) OR hi IN (1, 2)", None),
            ck(None, "lo > 0", None),
        ]
    );
}

#[test]
fn composite_pk_uniques_without_rowid_strict() {
    let t = table(
        "CREATE TABLE k(
            ns TEXT NOT NULL,
            key TEXT COLLATE NOCASE UNIQUE ON CONFLICT IGNORE,
            v ANY,
            w INT CONSTRAINT w_u UNIQUE,
            CONSTRAINT k_pk PRIMARY KEY (ns, KEY COLLATE BINARY DESC) ON CONFLICT REPLACE,
            UNIQUE (v, w DESC) ON CONFLICT FAIL,
            CONSTRAINT vw UNIQUE (w, \"V\")
        ) STRICT, WITHOUT ROWID;",
        "k",
    );
    assert!(t.strict && t.without_rowid);
    assert_eq!(
        t.primary_key,
        Some(PrimaryKey {
            name: Some("k_pk".into()),
            columns: vec![
                part("ns", None, Order::Asc),
                part("key", Some("BINARY"), Order::Desc)
            ],
            autoincrement: false,
            on_conflict: Some(Conflict::Replace),
            inline: false,
        })
    );
    assert_eq!(
        t.uniques,
        vec![
            Unique {
                name: None,
                columns: vec![IndexPart::column("key")],
                on_conflict: Some(Conflict::Ignore),
            },
            Unique {
                name: Some("w_u".into()),
                columns: vec![IndexPart::column("w")],
                on_conflict: None,
            },
            Unique {
                name: None,
                columns: vec![part("v", None, Order::Asc), part("w", None, Order::Desc)],
                on_conflict: Some(Conflict::Fail),
            },
            Unique {
                name: Some("vw".into()),
                columns: vec![IndexPart::column("w"), IndexPart::column("v")],
                on_conflict: None,
            },
        ]
    );
    // `pragma_table_xinfo` reports NOT NULL for WITHOUT ROWID key columns; the model keeps
    // what is declared.
    assert!(t.columns[0].not_null);
    assert!(!t.columns[1].not_null);
    assert!(t.indexes.is_empty(), "autoindexes are not model indexes");
}

#[test]
fn strict_only_and_without_rowid_only() {
    let c = db("CREATE TABLE s(a INTEGER PRIMARY KEY) STRICT;
                CREATE TABLE w(a TEXT PRIMARY KEY) WITHOUT ROWID;");
    let s = inspect(&c, &Reserved::default()).unwrap();
    let (ts, tw) = (s.table("s").unwrap(), s.table("w").unwrap());
    assert!(ts.strict && !ts.without_rowid);
    assert!(!tw.strict && tw.without_rowid);
}

#[test]
fn column_pk_desc_and_conflict() {
    let t = table(
        "CREATE TABLE p(id INTEGER CONSTRAINT pk PRIMARY KEY DESC ON CONFLICT ROLLBACK, x);",
        "p",
    );
    assert_eq!(
        t.primary_key,
        Some(PrimaryKey {
            name: Some("pk".into()),
            columns: vec![part("id", None, Order::Desc)],
            autoincrement: false,
            on_conflict: Some(Conflict::Rollback),
            inline: true,
        })
    );
}

#[test]
fn foreign_keys() {
    let c = db("CREATE TABLE parent(a INT, b INT, PRIMARY KEY (a, b));");
    c.execute_batch(
        "CREATE TABLE p2(id INTEGER PRIMARY KEY);
         CREATE TABLE child(
            id INTEGER PRIMARY KEY,
            pid INT REFERENCES p2 ON DELETE CASCADE,
            qid INT CONSTRAINT fk_q REFERENCES p2(id) ON UPDATE SET NULL ON DELETE RESTRICT
                DEFERRABLE INITIALLY DEFERRED,
            ra INT, rb INT,
            rid INT REFERENCES p2(id) DEFERRABLE INITIALLY IMMEDIATE,
            sid INT REFERENCES p2(id) NOT DEFERRABLE INITIALLY DEFERRED,
            CONSTRAINT fk_ab FOREIGN KEY (RA, rb) REFERENCES parent(a, b)
                ON DELETE SET DEFAULT ON UPDATE CASCADE DEFERRABLE INITIALLY DEFERRED,
            FOREIGN KEY (ra) REFERENCES \"Parent\" MATCH FULL ON UPDATE NO ACTION
        );",
    )
    .unwrap();
    let s = inspect(&c, &Reserved::default()).unwrap();
    let t = s.table("child").unwrap();
    let fk = |name: Option<&str>,
              cols: &[&str],
              rt: &str,
              rc: &[&str],
              d: FkAction,
              u: FkAction,
              deferred| ForeignKey {
        name: name.map(Into::into),
        columns: cols.iter().map(|s| s.to_string()).collect(),
        ref_table: rt.into(),
        ref_columns: rc.iter().map(|s| s.to_string()).collect(),
        on_delete: d,
        on_update: u,
        deferred,
    };
    use FkAction::*;
    assert_eq!(
        t.foreign_keys,
        vec![
            fk(None, &["pid"], "p2", &[], Cascade, NoAction, false),
            fk(
                Some("fk_q"),
                &["qid"],
                "p2",
                &["id"],
                Restrict,
                SetNull,
                true
            ),
            fk(None, &["rid"], "p2", &["id"], NoAction, NoAction, false),
            fk(None, &["sid"], "p2", &["id"], NoAction, NoAction, false),
            fk(
                Some("fk_ab"),
                &["ra", "rb"],
                "parent",
                &["a", "b"],
                SetDefault,
                Cascade,
                true
            ),
            fk(None, &["ra"], "Parent", &[], NoAction, NoAction, false),
        ]
    );
}
