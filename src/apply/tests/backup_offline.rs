//! Backups before destructive steps, and offline SQL against the online result.

use super::*;

/// The offline SQL without its first line (`.bail on`, a shell command), for rusqlite.
fn offline_sql(repo: &Repository, from: u64, to: u64) -> Result<String> {
    crate::apply::offline_sql(repo, from, to, false).map(|s| s.replacen(".bail on\n", "", 1))
}

#[test]
fn backups_only_for_destructive_steps() {
    let f = standard();
    let mut conn = f.open();
    let auto = ApplyOptions::default();
    let r = upgrade(&mut conn, &f.repo, None, &auto).unwrap();
    assert_eq!(
        r.backup, None,
        "creating tables and adding a column is safe"
    );
    let r = downgrade(&mut conn, &f.repo, Some(2), &auto).unwrap();
    let backup = r.backup.expect("DROP COLUMN is destructive");
    let name = backup.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.starts_with("app.db.backup-v3-") && name.ends_with('Z'),
        "{name}"
    );
    let copy = Connection::open(&backup).unwrap();
    assert_eq!(db_version(&copy, &f.repo).unwrap(), Some(3));
    assert_eq!(
        count(
            &copy,
            "SELECT count(*) FROM pragma_table_info('users') WHERE name = 'email'"
        ),
        1
    );

    let never = ApplyOptions {
        backup: BackupPolicy::Never,
        ..Default::default()
    };
    assert_eq!(
        downgrade(&mut conn, &f.repo, Some(0), &never)
            .unwrap()
            .backup,
        None
    );
    let always = ApplyOptions {
        backup: BackupPolicy::Always,
        ..Default::default()
    };
    let r = upgrade(&mut conn, &f.repo, Some(1), &always).unwrap();
    let b = r.backup.unwrap();
    assert!(b.exists() && b != backup);

    // In-memory databases get no backup.
    let mut mem = Connection::open_in_memory().unwrap();
    version_control(&mem, &f.repo, 0).unwrap();
    assert_eq!(
        upgrade(&mut mem, &f.repo, None, &always).unwrap().backup,
        None
    );
    assert_eq!(db_version(&mem, &f.repo).unwrap(), Some(3));
}

#[test]
fn offline_sql_matches_online_upgrade_and_downgrade() {
    let f = standard();
    let mut online = f.open();
    upgrade(&mut online, &f.repo, None, &no_backup()).unwrap();

    let copy_path = f.db.with_file_name("offline.db");
    let offline = Connection::open(&copy_path).unwrap();
    version_control(&offline, &f.repo, 0).unwrap();
    let sql = offline_sql(&f.repo, 0, 3).unwrap();
    assert!(sql.contains("BEGIN IMMEDIATE;") && sql.contains("PRAGMA foreign_keys=OFF;"));
    offline.execute_batch(&sql).unwrap();

    let hist = |c: &Connection| {
        history(c, &f.repo)
            .unwrap()
            .into_iter()
            .map(|h| (h.version, h.direction, h.checksum))
            .collect::<Vec<_>>()
    };
    assert_eq!(schema(&offline), schema(&online));
    assert_eq!(db_version(&offline, &f.repo).unwrap(), Some(3));
    assert_eq!(hist(&offline), hist(&online));
    assert_eq!(count(&offline, "SELECT count(*) FROM users"), 2);
    assert!(!table_exists(&offline, "dbm_offline_guard").unwrap());

    // Running it again: the guard stops it at the first version, nothing changes.
    let e = offline.execute_batch(&sql).unwrap_err().to_string();
    assert!(e.contains("database is not at the expected version"), "{e}");
    if !offline.is_autocommit() {
        offline.execute_batch("ROLLBACK").unwrap();
    }
    assert_eq!(schema(&offline), schema(&online));

    // Downgrade offline vs online.
    downgrade(&mut online, &f.repo, Some(1), &no_backup()).unwrap();
    offline
        .execute_batch(&offline_sql(&f.repo, 3, 1).unwrap())
        .unwrap();
    assert_eq!(schema(&offline), schema(&online));
    assert_eq!(db_version(&offline, &f.repo).unwrap(), Some(1));
    assert_eq!(hist(&offline), hist(&online));

    // The online integrity check accepts what the offline script recorded.
    let mut offline = offline;
    upgrade(&mut offline, &f.repo, None, &no_backup()).unwrap();

    assert!(matches!(
        offline_sql(&f.repo, 0, 7),
        Err(Error::NoSuchVersion { version: 7, .. })
    ));
    assert!(matches!(
        offline_sql(&f.repo, 2, 2),
        Err(Error::NothingToDo { version: 2 })
    ));
}

#[test]
fn offline_sql_stops_on_foreign_key_violation() {
    let v2 = "CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users(id));\n\
              INSERT INTO posts (user_id) VALUES (999) -- no semicolon, trailing comment";
    let f = fixture(&[("users", V1_UP, V1_DOWN), ("posts", v2, V2_DOWN)]);
    let conn = f.open();
    let e = conn
        .execute_batch(&offline_sql(&f.repo, 0, 2).unwrap())
        .unwrap_err()
        .to_string();
    assert!(e.contains("foreign key violations"), "{e}");
    if !conn.is_autocommit() {
        conn.execute_batch("ROLLBACK").unwrap();
    }
    assert_eq!(db_version(&conn, &f.repo).unwrap(), Some(1));
    assert!(!table_exists(&conn, "posts").unwrap());
}

/// Backups taken at the same moment (same version, same second) from several threads get
/// distinct names, and each is a complete copy.
#[test]
fn concurrent_backups_get_distinct_names() {
    let f = standard();
    upgrade(&mut f.open(), &f.repo, None, &no_backup()).unwrap();
    let threads = 8;
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (db, barrier) = (f.db.clone(), barrier.clone());
            std::thread::spawn(move || {
                let conn = Connection::open(db).unwrap();
                barrier.wait();
                (0..3)
                    .map(|_| backup::take(&conn, 3, None).map(|p| p.unwrap()))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut names = std::collections::BTreeSet::new();
    for h in handles {
        for b in h.join().unwrap() {
            let b = b.unwrap();
            let copy = Connection::open(&b).unwrap();
            assert_eq!(db_version(&copy, &f.repo).unwrap(), Some(3), "{b:?}");
            assert_eq!(count(&copy, "SELECT count(*) FROM users"), 2, "{b:?}");
            assert!(names.insert(b.clone()), "{b:?} handed out twice");
        }
    }
    assert_eq!(names.len(), threads * 3);
    let files = fs::read_dir(f.db.parent().unwrap())
        .unwrap()
        .filter(|e| {
            let name = e.as_ref().unwrap().file_name();
            name.to_string_lossy().contains(".backup-")
        })
        .count();
    assert_eq!(files, threads * 3, "no temporary files left");
}

/// A `VACUUM INTO` that fails leaves neither a file under the final name nor a temporary one.
#[test]
fn failed_backup_removes_its_temporary_file() {
    let f = standard();
    let conn = f.open();
    // VACUUM cannot run inside a transaction: the copy fails after its file was reserved.
    conn.execute_batch("BEGIN; SELECT 1;").unwrap();
    let err = backup::take(&conn, 0, None).unwrap_err();
    assert!(matches!(err, Error::Backup { .. }), "{err}");
    let left: Vec<_> = fs::read_dir(f.db.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".backup-"))
        .collect();
    assert_eq!(left, Vec::<String>::new());
}
