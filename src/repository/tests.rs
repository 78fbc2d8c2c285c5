use super::*;

fn repo() -> (tempfile::TempDir, Repository) {
    let dir = tempfile::tempdir().unwrap();
    let (r, created) = Repository::create(&dir.path().join("db_repository"), "app").unwrap();
    assert!(created);
    (dir, r)
}

fn touch(r: &Repository, name: &str) {
    fs::write(r.versions_dir().join(name), "SELECT 1;").unwrap();
}

fn err(r: &Repository) -> String {
    r.versions().unwrap_err().to_string()
}

/// The problems `versions()` reports, typed.
fn problems(r: &Repository) -> Vec<ScriptProblem> {
    match r.versions() {
        Err(Error::Repository(RepositoryError::Invalid { problems, .. })) => problems,
        other => panic!("expected an invalid repository, got {other:?}"),
    }
}

#[test]
fn create_writes_cfg_and_reopens() {
    let (dir, r) = repo();
    let cfg = fs::read_to_string(r.root.join("migrate.cfg")).unwrap();
    assert!(cfg.contains("[db_settings]\nrepository_id=app\nversion_table=migrate_version\n"));
    assert_eq!(r.version_table, DEFAULT_VERSION_TABLE);
    let (again, created) = Repository::create(&r.root, "other").unwrap();
    assert!(!created);
    assert_eq!(again.repository_id, "app");
    assert_eq!(r.latest().unwrap(), 0);
    drop(dir);
}

#[test]
fn open_errors() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    let e = Repository::open(&missing).unwrap_err();
    assert!(matches!(
        e,
        Error::Repository(RepositoryError::NotFound { ref root }) if root == &missing
    ));
    let e = e.to_string();
    assert!(
        e.contains("no repository at") && e.contains("dbm create"),
        "{e}"
    );

    let file = dir.path().join("afile");
    fs::write(&file, "x").unwrap();
    let e = Repository::open(&file).unwrap_err();
    assert!(matches!(
        e,
        Error::Repository(RepositoryError::NotAFolder { .. })
    ));
    assert!(e.to_string().contains("is a file"), "{e}");
    let e = Repository::create(&file, "x").unwrap_err();
    assert!(matches!(
        e,
        Error::Repository(RepositoryError::CreateOverFile { .. })
    ));
    assert!(e.to_string().contains("is a file"), "{e}");

    let empty = dir.path().join("empty");
    fs::create_dir(&empty).unwrap();
    let e = Repository::open(&empty).unwrap_err();
    assert!(matches!(
        e,
        Error::Repository(RepositoryError::MissingConfig { .. })
    ));
    assert!(e.to_string().contains("migrate.cfg is missing"), "{e}");

    fs::write(
        empty.join("migrate.cfg"),
        "[db_settings]\n# c\nrepository_id=a\nbroken line\n",
    )
    .unwrap();
    let e = Repository::open(&empty).unwrap_err();
    assert!(matches!(
        e,
        Error::Repository(RepositoryError::Config { line: 4, .. })
    ));
    let e = e.to_string();
    assert!(e.contains("migrate.cfg") && e.contains("line 4"), "{e}");

    fs::write(
        empty.join("migrate.cfg"),
        "[db_settings]\nversion_table=vt\n",
    )
    .unwrap();
    let e = Repository::open(&empty).unwrap_err().to_string();
    assert!(e.contains("repository_id"), "{e}");

    fs::write(
        empty.join("migrate.cfg"),
        "# comment\n[db_settings]\nrepository_id = my repo\nversion_table: vt\n[other]\nx=1\n",
    )
    .unwrap();
    let r = Repository::open(&empty).unwrap();
    assert_eq!(r.repository_id, "my repo");
    assert_eq!(r.version_table, "vt");
}

#[test]
fn write_list_round_trip() {
    let (_d, r) = repo();
    touch(&r, "README");
    touch(&r, "__init__.py");
    touch(&r, ".gitkeep");
    let v1 = r
        .write_version("Create users!", "CREATE TABLE u(id);", "DROP TABLE u;")
        .unwrap();
    assert_eq!(v1.version, 1);
    assert_eq!(v1.up.file_name().unwrap(), "001_create_users.up.sql");
    let v2 = r.write_version("add posts", "a", "b").unwrap();
    assert_eq!(v2.down.file_name().unwrap(), "002_add_posts.down.sql");
    let all = r.versions().unwrap();
    assert_eq!(all, vec![v1.clone(), v2.clone()]);
    assert_eq!(fs::read_to_string(&v1.up).unwrap(), "CREATE TABLE u(id);");
    assert_eq!(r.latest().unwrap(), 2);
    r.remove_version(&v2).unwrap();
    assert_eq!(r.latest().unwrap(), 1);
    // No temp files left behind.
    let leftovers: Vec<_> = fs::read_dir(r.versions_dir())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty());
    // Wide numbers are accepted when read.
    fs::write(r.versions_dir().join("0002_x.up.sql"), "").unwrap();
    fs::write(r.versions_dir().join("0002_x.down.sql"), "").unwrap();
    assert_eq!(r.latest().unwrap(), 2);
}

#[test]
fn never_overwrites() {
    let (_d, r) = repo();
    let target = r.versions_dir().join("001_x.up.sql");
    fs::write(&target, "old").unwrap();
    let e = write_new_file(&target, b"new").unwrap_err();
    assert!(matches!(e, Error::File { ref path, .. } if path == &target));
    let e = e.to_string();
    assert!(e.contains("refusing to overwrite"), "{e}");
    assert_eq!(fs::read_to_string(&target).unwrap(), "old");
}

#[test]
fn gap_is_refused() {
    let (_d, r) = repo();
    for n in [
        "001_a.up.sql",
        "001_a.down.sql",
        "003_c.up.sql",
        "003_c.down.sql",
    ] {
        touch(&r, n);
    }
    assert!(matches!(
        problems(&r).as_slice(),
        [ScriptProblem::Gap { missing: 2, .. }]
    ));
    let e = err(&r);
    assert!(
        e.contains("version 2 is missing") && e.contains("003_c"),
        "{e}"
    );
}

#[test]
fn duplicate_version_is_refused() {
    let (_d, r) = repo();
    for n in [
        "001_a.up.sql",
        "001_a.down.sql",
        "001_b.up.sql",
        "001_b.down.sql",
    ] {
        touch(&r, n);
    }
    assert!(matches!(
        problems(&r).as_slice(),
        [ScriptProblem::Duplicate { version: 1, files }] if files.len() == 4
    ));
    let e = err(&r);
    assert!(e.contains("version 1 is claimed by more than one"), "{e}");
    assert!(
        e.contains("001_a.up.sql") && e.contains("001_b.up.sql"),
        "{e}"
    );
}

#[test]
fn missing_pair_is_refused() {
    let (_d, r) = repo();
    touch(&r, "001_a.up.sql");
    touch(&r, "002_b.down.sql");
    assert!(matches!(
        problems(&r).as_slice(),
        [
            ScriptProblem::MissingDown { .. },
            ScriptProblem::MissingUp { .. }
        ]
    ));
    let e = err(&r);
    assert!(
        e.contains("001_a.up.sql: up script without its .down.sql"),
        "{e}"
    );
    assert!(
        e.contains("002_b.down.sql: down script without its .up.sql"),
        "{e}"
    );
}

#[test]
fn bad_names_are_refused() {
    let (_d, r) = repo();
    for bad in [
        "1.up.sql",
        "abc_x.up.sql",
        "001_x.sql",
        "000_zero.up.sql",
        "001_.up.sql",
    ] {
        touch(&r, bad);
        assert!(matches!(
            problems(&r).as_slice(),
            [ScriptProblem::BadName { file }] if file.ends_with(bad)
        ));
        let e = err(&r);
        assert!(
            e.contains(bad) && e.contains("not a version script name"),
            "{e}"
        );
        fs::remove_file(r.versions_dir().join(bad)).unwrap();
    }
    assert!(r.versions().unwrap().is_empty());
}

#[test]
fn slugs_and_checksums() {
    assert_eq!(slugify("Add Post table (v2)"), "add_post_table_v2");
    assert_eq!(slugify("  ¿¡ !! "), "migration");
    assert_eq!(slugify("héllo wörld"), "h_llo_w_rld");
    let long = slugify(&"word ".repeat(40));
    assert!(long.len() <= 50 && long.starts_with("word_word"), "{long}");
    assert!(!long.ends_with('_'));
    assert_eq!(slugify(&"x".repeat(80)).len(), 50);
    assert_eq!(
        checksum(b"abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
}

#[test]
fn a_claimed_version_number_is_refused_to_any_other_writer() {
    let (_dir, r) = repo();
    let files = r.planned(1, "mine");
    // A half pair or another slug already holding the number: nothing is left behind.
    for taken in ["001_other.up.sql", "001_other.down.sql", "1_x.sql"] {
        touch(&r, taken);
        let e = r.claim(&files, "u", "d", "/db").unwrap_err();
        assert!(
            matches!(&e, Error::Repository(RepositoryError::VersionTaken { version: 1, file }) if file.ends_with(taken)),
            "{e}"
        );
        assert!(r.pending_versions().unwrap().is_empty());
        fs::remove_file(r.versions_dir().join(taken)).unwrap();
    }
    // Claimed: a second claim and `dbm script` are refused; the scripts stay out of the
    // repository until the claim is settled.
    let p = r.claim(&files, "u", "d", "/db").unwrap();
    assert_eq!(r.pending_versions().unwrap(), vec![p.clone()]);
    let e = r
        .claim(&r.planned(1, "again"), "u", "d", "/other")
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::Repository(RepositoryError::VersionInProgress { version: 1, .. })
        ),
        "{e}"
    );
    let e = r.write_version("script", "", "").unwrap_err();
    assert!(
        matches!(
            e,
            Error::Repository(RepositoryError::VersionInProgress { version: 1, .. })
        ),
        "{e}"
    );
    r.write_planned(&files, "u", "d").unwrap();
    assert_eq!(r.latest().unwrap(), 0);
    r.settle(&p).unwrap();
    assert_eq!(r.versions().unwrap(), vec![files.clone()]);

    // Discarded: the scripts holding the marker's text and the temporary files go, a file
    // with other text stays.
    let next = r.planned(2, "next");
    let p = r.claim(&next, "u2", "d2", "/db").unwrap();
    fs::write(&next.up, "u2").unwrap();
    fs::write(&next.down, "edited").unwrap();
    touch(&r, ".002_next.up.sql.tmp-99");
    r.discard(&p).unwrap();
    let mut left: Vec<String> = entry_names(&r.versions_dir()).unwrap();
    left.sort();
    assert_eq!(
        left,
        ["001_mine.down.sql", "001_mine.up.sql", "002_next.down.sql"]
    );
}

#[test]
fn a_marker_names_only_files_of_its_folder() {
    let (_dir, r) = repo();
    fs::write(
        r.versions_dir().join(".dbm-pending-001"),
        "version = 1\nfile = abc ../../elsewhere.sql\ndatabase = /db\n",
    )
    .unwrap();
    assert!(r.pending_versions().is_err());
}

/// `checksums` over more scripts than one thread takes: each file's own hash, in order,
/// an edited file's new hash, and a missing file an error naming it.
#[test]
fn checksums_many_scripts_in_order() {
    let (_dir, r) = repo();
    for i in 1..=300u64 {
        for d in ["up", "down"] {
            fs::write(
                r.versions_dir().join(format!("{i:03}_v{i}.{d}.sql")),
                format!("SELECT {i}; -- {d}\n"),
            )
            .unwrap();
        }
    }
    let versions = r.versions().unwrap();
    let ups: Vec<_> = versions.iter().map(|v| (v, Direction::Up)).collect();
    let expected: Vec<String> = versions
        .iter()
        .map(|v| checksum(r.read_script(v, Direction::Up).unwrap().as_bytes()))
        .collect();
    assert_eq!(r.checksums(&ups).unwrap(), expected);
    fs::write(&versions[250].up, "SELECT 'edited';\n").unwrap();
    let now = r.checksums(&ups).unwrap();
    assert_ne!(now[250], expected[250]);
    assert_eq!(now[250], checksum(b"SELECT 'edited';\n"));
    assert_eq!(now[..250], expected[..250]);
    fs::remove_file(&versions[200].up).unwrap();
    let e = r.checksums(&ups).unwrap_err().to_string();
    assert!(e.contains("201_v201.up.sql"), "{e}");
}
