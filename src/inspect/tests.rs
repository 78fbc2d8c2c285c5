use super::*;
use crate::model::{Check, Conflict, FkAction, ForeignKey, Generated, Order, PrimaryKey, Unique};

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

#[test]
fn indexes() {
    let t = table(
        "CREATE TABLE t(a INT, b TEXT, \"C d\" TEXT);
         CREATE INDEX t_b ON t(b);
         CREATE UNIQUE INDEX t_a_desc ON t(a DESC, b COLLATE NOCASE ASC, \"c D\" COLLATE rtrim);
         CREATE INDEX t_part ON t (a) WHERE b IS NOT NULL AND a > 0 -- why
         ;
         CREATE INDEX t_expr ON t(lower(b) COLLATE NOCASE DESC, a + 1, (a), b || 'x' COLLATE BINARY);
         CREATE INDEX \"A_first\" ON t(\"a\");",
        "t",
    );
    let names: Vec<&str> = t.indexes.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["A_first", "t_a_desc", "t_b", "t_expr", "t_part"]);
    let ix = |n: &str| t.index(n).unwrap().clone();
    assert_eq!(
        ix("A_first"),
        Index {
            name: "A_first".into(),
            unique: false,
            parts: vec![IndexPart::column("a")],
            where_clause: None
        }
    );
    assert_eq!(
        ix("t_a_desc"),
        Index {
            name: "t_a_desc".into(),
            unique: true,
            parts: vec![
                part("a", None, Order::Desc),
                part("b", Some("NOCASE"), Order::Asc),
                part("C d", Some("rtrim"), Order::Asc),
            ],
            where_clause: None
        }
    );
    assert_eq!(
        ix("t_part").where_clause.as_deref(),
        Some("b IS NOT NULL AND a > 0")
    );
    assert_eq!(ix("t_part").parts, vec![IndexPart::column("a")]);
    assert_eq!(
        ix("t_expr").parts,
        vec![
            expr_part("lower(b)", Some("NOCASE"), Order::Desc),
            expr_part("a + 1", None, Order::Asc),
            part("a", None, Order::Asc),
            expr_part("b || 'x' COLLATE BINARY", None, Order::Asc),
        ]
    );
    assert_eq!(ix("t_b").parts, vec![IndexPart::column("b")]);
}

#[test]
fn views_triggers_and_ordering() {
    let c = db("CREATE TABLE b(x INT);
         CREATE TABLE \"A\"(x INT);
         CREATE TABLE a2(x INT);
         CREATE TABLE _z(x INT);
         CREATE VIEW v2 AS SELECT x FROM b;
         CREATE VIEW \"V1\"(y) AS
           SELECT x   FROM \"A\" -- kept verbatim
         ;
         CREATE TRIGGER tr_b AFTER INSERT ON b BEGIN INSERT INTO a2 VALUES (new.x); END;
         CREATE TRIGGER \"Tr_a\" BEFORE DELETE ON \"A\" WHEN old.x > 0 BEGIN SELECT RAISE(ABORT, 'no'); END;
         CREATE INDEX b_x ON b(x);");
    let s = inspect(&c, &Reserved::default()).unwrap();
    let names: Vec<&str> = s.tables.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["_z", "A", "a2", "b"]);
    assert_eq!(
        s.views,
        vec![
            View {
                name: "V1".into(),
                sql: "CREATE VIEW \"V1\"(y) AS\n           SELECT x   FROM \"A\" -- kept verbatim"
                    .into()
            },
            View {
                name: "v2".into(),
                sql: "CREATE VIEW v2 AS SELECT x FROM b".into()
            },
        ]
    );
    assert_eq!(
        s.triggers,
        vec![
            Trigger {
                name: "Tr_a".into(),
                table: "A".into(),
                sql: "CREATE TRIGGER \"Tr_a\" BEFORE DELETE ON \"A\" WHEN old.x > 0 BEGIN SELECT RAISE(ABORT, 'no'); END".into()
            },
            Trigger {
                name: "tr_b".into(),
                table: "b".into(),
                sql: "CREATE TRIGGER tr_b AFTER INSERT ON b BEGIN INSERT INTO a2 VALUES (new.x); END".into()
            },
        ]
    );
    assert_eq!(s.table("b").unwrap().indexes.len(), 1);
}

#[test]
fn odd_identifiers() {
    let t = table(
        "CREATE TABLE \"or\"\"der\"(
            \"order\" INT PRIMARY KEY,
            [sp ace] TEXT UNIQUE,
            `bq` INT REFERENCES \"or\"\"der\"(\"order\"),
            \"ünï\" TEXT CHECK (\"ünï\" <> 'é'),
            'sq' INT,
            CONSTRAINT \"c\"\"n\" UNIQUE ([sp ace], \"ünï\")
        );
        CREATE INDEX \"ix \"\"q\"\"\" ON \"or\"\"der\"(\"ünï\", `bq` DESC);",
        "or\"der",
    );
    let names: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["order", "sp ace", "bq", "ünï", "sq"]);
    assert_eq!(t.name, "or\"der");
    assert_eq!(t.pk_columns(), ["order"]);
    assert_eq!(t.checks[0].expr, "\"ünï\" <> 'é'");
    assert_eq!(t.checks[0].column.as_deref(), Some("ünï"));
    assert_eq!(t.foreign_keys[0].ref_table, "or\"der");
    assert_eq!(t.foreign_keys[0].ref_columns, ["order"]);
    assert_eq!(t.uniques[1].name.as_deref(), Some("c\"n"));
    assert_eq!(
        t.uniques[1].columns,
        vec![IndexPart::column("sp ace"), IndexPart::column("ünï")]
    );
    assert_eq!(t.indexes[0].name, "ix \"q\"");
    assert_eq!(
        t.indexes[0].parts,
        vec![IndexPart::column("ünï"), part("bq", None, Order::Desc)]
    );
}

#[test]
fn internal_objects_are_skipped() {
    let c = db(
        "CREATE TABLE migrate_version(version INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT);
         CREATE INDEX migrate_version_at ON migrate_version(at);
         CREATE TRIGGER migrate_tr AFTER INSERT ON migrate_version BEGIN SELECT 1; END;
         CREATE TABLE t(id INTEGER PRIMARY KEY AUTOINCREMENT);
         INSERT INTO t DEFAULT VALUES; INSERT INTO migrate_version(at) VALUES ('x');
         ANALYZE;",
    );
    let s = inspect(&c, &Reserved::default()).unwrap();
    let names: Vec<&str> = s.tables.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["t"]);
    assert!(s.views.is_empty() && s.triggers.is_empty());
    assert_eq!(
        inspect_table(&c, "migrate_version", &Reserved::default()).unwrap(),
        None
    );
    assert_eq!(
        inspect_table(&c, "sqlite_sequence", &Reserved::default()).unwrap(),
        None
    );
    assert_eq!(
        inspect_table(&c, "nope", &Reserved::default()).unwrap(),
        None
    );
    assert!(inspect_table(&c, "T", &Reserved::default())
        .unwrap()
        .is_some());
}

#[test]
fn empty_database() {
    let c = db("");
    assert_eq!(
        inspect(&c, &Reserved::default()).unwrap(),
        Schema::default()
    );
}

#[test]
fn temp_table_does_not_shadow_main() {
    let c = db("CREATE TABLE t(a INT, b INT); CREATE TEMP TABLE t(z TEXT);");
    let s = inspect(&c, &Reserved::default()).unwrap();
    let names: Vec<&str> = s.tables[0]
        .columns
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(names, ["a", "b"]);
}

#[test]
fn virtual_tables_are_unsupported() {
    let c = db("CREATE TABLE t(a); CREATE VIRTUAL TABLE docs USING fts5(body);");
    match inspect(&c, &Reserved::default()) {
        Err(Error::Unsupported { table, reason }) => {
            assert_eq!(reason, "virtual table `docs` is not supported");
            assert_eq!(table, "docs");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        inspect_table(&c, "docs", &Reserved::default()),
        Err(Error::Unsupported { .. })
    ));
}

#[test]
fn altered_tables_round_trip_through_sqlite_rewrites() {
    // RENAME and the 3.53 constraint ALTERs rewrite the stored CREATE text.
    let c = db("CREATE TABLE t(a INTEGER NOT NULL, b INT CHECK (b > 0));
         ALTER TABLE t RENAME TO \"T 2\";
         ALTER TABLE \"T 2\" RENAME COLUMN b TO bee;
         ALTER TABLE \"T 2\" ADD COLUMN c TEXT DEFAULT 'x' COLLATE NOCASE;
         ALTER TABLE \"T 2\" ADD CONSTRAINT small CHECK (a < 100);");
    let s = inspect(&c, &Reserved::default()).unwrap();
    let t = &s.tables[0];
    assert_eq!(t.name, "T 2");
    assert_eq!(t.columns[1].name, "bee");
    assert_eq!(t.columns[2].default.as_deref(), Some("'x'"));
    assert_eq!(t.columns[2].collate.as_deref(), Some("NOCASE"));
    let checks: Vec<(&str, Option<&str>)> = t
        .checks
        .iter()
        .map(|c| (c.expr.as_str(), c.name.as_deref()))
        .collect();
    assert_eq!(checks, [("bee > 0", None), ("a < 100", Some("small"))]);
}

#[test]
fn thousand_tables_are_fast() {
    let mut ddl = String::new();
    for i in 0..1000 {
        ddl.push_str(&format!(
            "CREATE TABLE t{i}(id INTEGER PRIMARY KEY, a TEXT NOT NULL DEFAULT 'x', b INT CHECK (b > 0),
                p INT REFERENCES t0(id));
             CREATE INDEX t{i}_a ON t{i}(a) WHERE b > 1;
             CREATE TRIGGER tr{i} AFTER INSERT ON t{i} BEGIN SELECT 1; END;\n"
        ));
    }
    let c = db(&ddl);
    let start = std::time::Instant::now();
    let s = inspect(&c, &Reserved::default()).unwrap();
    let took = start.elapsed();
    assert_eq!(s.tables.len(), 1000);
    assert_eq!(s.triggers.len(), 1000);
    assert!(s.tables.iter().all(|t| t.indexes.len() == 1));
    assert!(took.as_secs_f64() < 3.0, "inspect took {took:?}");
}

#[test]
fn default_text_rules() {
    assert_eq!(default_text("-1"), "-1");
    assert_eq!(default_text("- 1"), "- 1");
    assert_eq!(default_text("'a b'"), "'a b'");
    assert_eq!(default_text("datetime('now')"), "(datetime('now'))");
    assert_eq!(default_text("-'a'"), "(-'a')");
    assert_eq!(default_text("1 -- c\n"), "1");
    assert_eq!(default_text("1 + 1 -- c\n"), "(1 + 1 -- c\n)");
}

#[test]
fn parse_errors_are_reported() {
    assert!(parse::parse_table("CREATE TABLE").is_err());
    assert!(parse::parse_table("CREATE VIEW v AS SELECT 1").is_err());
    assert!(parse::parse_table("CREATE TABLE t AS SELECT 1").is_err());
    assert!(parse::parse_index("CREATE INDEX i ON t(").is_err());
    assert!(matches!(
        parse::parse_table("CREATE VIRTUAL TABLE v USING fts5(a)"),
        Ok(parse::TableSql::Virtual)
    ));
    let e = build_index(
        &db("CREATE TABLE t(a)"),
        "nope",
        "CREATE INDEX nope ON t(a)",
    );
    match e {
        Err(Error::Inspect { kind, name, .. }) => {
            assert_eq!((kind, name.as_str()), ("index", "nope"))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn if_not_exists_quoted_type_and_keyword_names() {
    let t = table(
        "CREATE TABLE IF NOT EXISTS t(
            key \"custom type\" DEFAULT TRUE,
            action INT DEFAULT (CAST('1' AS INT)) CHECK (action IS NOT NULL) REFERENCES t(key),
            replace TEXT AS (key || 'x') STORED
        );
        CREATE UNIQUE INDEX IF NOT EXISTS t_ix ON t(replace, action) WHERE key IS NOT NULL;",
        "t",
    );
    let names: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["key", "action", "replace"]);
    // SQLite dequotes a quoted type name; the pragma's text is what the model keeps.
    assert_eq!(t.columns[0].sql_type, "custom type");
    assert_eq!(t.columns[0].default.as_deref(), Some("TRUE"));
    assert_eq!(t.columns[1].default.as_deref(), Some("(CAST('1' AS INT))"));
    assert_eq!(t.checks[0].expr, "action IS NOT NULL");
    assert_eq!(t.foreign_keys[0].ref_columns, ["key"]);
    assert_eq!(
        t.columns[2].generated,
        Some(Generated {
            expr: "key || 'x'".into(),
            stored: true
        })
    );
    let ix = &t.indexes[0];
    assert!(ix.unique);
    assert_eq!(
        ix.parts,
        vec![IndexPart::column("replace"), IndexPart::column("action")]
    );
    assert_eq!(ix.where_clause.as_deref(), Some("key IS NOT NULL"));
}
