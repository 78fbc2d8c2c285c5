//! Realistic schemas (`tests/schemas/*.sql`) round-trip through a model: `create-model` of
//! the database, then `create` + `migrate` from an empty database with that model gives the
//! same schema (independent snapshot), `dbm check` against the original database finds no
//! difference, and `create-model` of the migrated database is byte-identical.

mod common;
use common::*;
use std::path::Path;

fn roundtrip(sql_file: &Path) {
    let name = sql_file.file_stem().unwrap().to_string_lossy().to_string();
    let ddl = std::fs::read_to_string(sql_file).unwrap();
    let p = Project::new();
    p.build_db("original.db", &ddl);

    let out = p.dbm_raw(&["create-model", "--database", "original.db"]);
    assert!(
        out.status.success(),
        "{name}: create-model: {}",
        stderr(&out)
    );
    let model = stdout(&out);
    p.write("model.toml", &model);

    p.ok(&["--model", "model.toml", "create"]);
    let up = p.ok(&["--model", "model.toml", "migrate", "-m", "all"]);
    assert!(up.contains("Current database version: 1"), "{name}: {up}");
    assert_same_schema(
        &p.path("app.db"),
        &p.path("original.db"),
        &format!("{name}: migrated from the model"),
    );

    let check = p.dbm_raw(&[
        "--database",
        "original.db",
        "--repository",
        "db_repository",
        "--model",
        "model.toml",
        "check",
    ]);
    assert_eq!(
        check.status.code(),
        Some(0),
        "{name}: check against the original:\n{}\n{}",
        stdout(&check),
        stderr(&check)
    );

    let again = p.dbm_raw(&["create-model", "--database", "app.db"]);
    assert!(again.status.success(), "{name}: {}", stderr(&again));
    assert_eq!(
        stdout(&again),
        model,
        "{name}: create-model of the migrated database differs"
    );

    // And a no-op: the model matches, nothing more to migrate.
    let out = p.ok(&["--model", "model.toml", "migrate"]);
    assert!(out.contains("No changes"), "{name}: {out}");

    // The migration goes down to an empty schema and up again.
    p.ok(&["downgrade"]);
    assert!(snapshot(&p.path("app.db")).is_empty(), "{name}: down");
    p.ok(&["upgrade"]);
    assert_same_schema(
        &p.path("app.db"),
        &p.path("original.db"),
        &format!("{name}: up again"),
    );
}

fn schema(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/schemas")
        .join(format!("{name}.sql"))
}

#[test]
fn blog() {
    roundtrip(&schema("blog"));
}

#[test]
fn shop_with_composite_keys_triggers_checks_and_fk_actions() {
    roundtrip(&schema("shop"));
}

#[test]
fn reporting_with_views_and_partial_expression_indexes() {
    roundtrip(&schema("reporting"));
}

#[test]
fn odd_identifiers() {
    roundtrip(&schema("odd_names"));
}

#[test]
fn strict_without_rowid_generated() {
    roundtrip(&schema("strict_generated"));
}

#[test]
fn every_schema_file_has_a_test() {
    let mut names: Vec<String> =
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemas"))
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".sql"))
            .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "blog.sql",
            "edge_cases.sql",
            "odd_names.sql",
            "reporting.sql",
            "shop.sql",
            "strict_generated.sql"
        ]
    );
}

#[test]
fn edge_cases() {
    roundtrip(&schema("edge_cases"));
}
