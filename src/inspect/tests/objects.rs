//! Indexes, views, triggers, names and whole databases.

use super::*;

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
    // A repository's control table may have any name (`version_table` in migrate.cfg).
    let c = db("CREATE TABLE schema_version(v); CREATE TRIGGER sv AFTER INSERT ON schema_version BEGIN SELECT 1; END; CREATE TABLE t(a);");
    let reserved = Reserved::with_names(["Schema_Version"]);
    let s = inspect(&c, &reserved).unwrap();
    let names: Vec<&str> = s.tables.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["t"]);
    assert!(s.triggers.is_empty());
    assert_eq!(inspect(&c, &Reserved::default()).unwrap().tables.len(), 2);
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
    // SQLite reports no key terms for an index it does not have.
    let e = build_index(vec![], "nope", "CREATE INDEX nope ON t(a)");
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
