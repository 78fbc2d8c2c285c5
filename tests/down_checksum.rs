//! A version's up and down scripts are verified as a pair: the down script's checksum is
//! recorded when the up script is applied, and a downgrade through an edited down script is
//! refused like an upgrade past an edited up script (`--allow-modified` overrides).

mod common;
use common::*;

/// The down script of version `v`, relative to the project.
fn down_script(p: &Project, v: &str) -> String {
    let name = p
        .versions_dir()
        .into_iter()
        .find(|f| f.starts_with(v) && f.ends_with(".down.sql"))
        .unwrap_or_else(|| panic!("no down script for {v}"));
    format!("db_repository/versions/{name}")
}

#[test]
fn a_downgrade_through_an_edited_down_script_is_refused() {
    let p = blog_project();
    assert!(p.ok(&["status"]).contains("edited:     none"));
    let down = down_script(&p, "002");
    let edited = format!("{}\nDELETE FROM user;\n", p.read(&down));
    p.write(&down, &edited);
    let name = down.rsplit('/').next().unwrap();
    assert!(p.ok(&["status"]).contains(name), "status names {name}");
    p.refused(&["downgrade"], &[name, "--allow-modified"]);
    p.refused(&["downgrade", "0"], &[name]);
    p.refused(&["downgrade", "--sql"], &[name]);
    // Upgrades do not run down scripts: nothing to refuse.
    p.ok(&["upgrade"]);
    p.ok(&["downgrade", "--allow-modified"]);
    assert_eq!(p.version(), Some(1));
    assert_eq!(
        rows(&p.path("app.db"), "user").len(),
        0,
        "the edited script ran"
    );
}

#[test]
fn a_history_without_down_checksums_still_upgrades_and_downgrades() {
    let p = blog_project();
    p.ok(&["downgrade", "0"]);
    // The history as dbm wrote it before it recorded down checksums.
    p.conn("app.db")
        .execute_batch(
            "BEGIN;
             CREATE TABLE old_history AS SELECT id, repository_id, version, direction, checksum,
                 applied_at, duration_ms FROM migrate_history;
             DROP TABLE migrate_history;
             CREATE TABLE migrate_history (id INTEGER PRIMARY KEY, repository_id TEXT,
                 version INTEGER NOT NULL,
                 direction TEXT NOT NULL CHECK (direction IN ('up', 'down')),
                 checksum TEXT NOT NULL, applied_at TEXT NOT NULL, duration_ms INTEGER NOT NULL);
             INSERT INTO migrate_history SELECT * FROM old_history;
             DROP TABLE old_history;
             COMMIT;",
        )
        .unwrap();
    p.ok(&["upgrade", "1"]);
    // Rows written before the column existed are not checked; new ones are.
    p.conn("app.db")
        .execute_batch("UPDATE migrate_history SET down_checksum = NULL")
        .unwrap();
    let down1 = down_script(&p, "001");
    p.write(&down1, &format!("{}\n-- edited\n", p.read(&down1)));
    p.ok(&["upgrade"]);
    let down2 = down_script(&p, "002");
    p.write(&down2, &format!("{}\n-- edited\n", p.read(&down2)));
    let name2 = down2.rsplit('/').next().unwrap();
    p.refused(&["downgrade"], &[name2]);
    let out = p.ok(&["status"]);
    assert!(out.contains(name2), "{out}");
    assert!(!out.contains(down1.rsplit('/').next().unwrap()), "{out}");
    p.ok(&["downgrade", "--allow-modified"]);
    p.ok(&["downgrade"]);
    assert_eq!(p.version(), Some(0));
}
