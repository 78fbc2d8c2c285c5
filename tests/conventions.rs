//! The command line's conventions: shell completions, the man page, `--database-url`/`-D`
//! and the URL forms, `--quiet`/`--verbose`, documented positionals and examples in `--help`.

mod common;

use common::{stderr, stdout, Project, BLOG_V1};

/// Subcommands every completion script must know.
const SUBCOMMANDS: &[&str] = &["migrate", "upgrade", "downgrade", "create-model", "status"];

#[test]
fn completions_for_every_shell_name_the_subcommands() {
    let p = Project::new();
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let out = p.dbm_raw(&["completions", shell]);
        assert!(out.status.success(), "{shell}: {}", stderr(&out));
        let text = stdout(&out);
        assert!(text.len() > 500, "{shell}: too short:\n{text}");
        for sub in SUBCOMMANDS {
            assert!(text.contains(sub), "{shell} completions lack {sub}");
        }
        // The global flags complete too.
        assert!(
            text.contains("database-url"),
            "{shell} lacks --database-url"
        );
    }
    // Even beside a broken dbm.toml: completions need no settings.
    p.write("dbm.toml", "this is not toml [");
    assert!(p.dbm_raw(&["completions", "bash"]).status.success());
    let out = p.dbm_raw(&["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn man_page_renders() {
    let p = Project::new();
    let out = p.dbm_raw(&["man"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let roff = stdout(&out);
    assert!(
        roff.starts_with(".ie") || roff.contains(".TH dbm"),
        "{roff}"
    );
    for sub in SUBCOMMANDS {
        assert!(
            roff.contains(&format!(".TH dbm-{sub}")),
            "no page for {sub}"
        );
    }
    // When groff is installed, the page renders as text naming the commands and flags.
    p.write("dbm.1", &roff);
    if let Ok(r) = std::process::Command::new("groff")
        .args(["-man", "-Tutf8", "-P-cbou"])
        .stdin(std::fs::File::open(p.path("dbm.1")).unwrap())
        .output()
    {
        let text = String::from_utf8_lossy(&r.stdout);
        assert!(r.status.success() && text.contains("migrate"), "{text}");
        assert!(text.contains("-D, --database <PATH|URL>"), "{text}");
    }
}

#[test]
fn help_documents_positionals_and_gives_examples() {
    let p = Project::new();
    let cases: &[(&str, &[&str])] = &[
        (
            "upgrade",
            &[
                "[VERSION]",
                "The version to reach",
                "Examples:",
                "dbm upgrade 3",
            ],
        ),
        ("downgrade", &["[VERSION]", "one below", "dbm downgrade 0"]),
        ("script", &["<MESSAGE>", "Describes the script", "Example:"]),
        ("lint", &["[VERSION]...", "The versions to lint"]),
        ("version-control", &["[VERSION]", "already is at"]),
        ("completions", &["<SHELL>", "bash", "powershell"]),
        ("migrate", &["Examples:", "dbm migrate -m"]),
    ];
    for (cmd, needles) in cases {
        let out = p.dbm_raw(&[cmd, "--help"]);
        let text = stdout(&out);
        for n in *needles {
            assert!(text.contains(n), "dbm {cmd} --help lacks {n:?}:\n{text}");
        }
    }
    let top = stdout(&p.dbm_raw(&["--help"]));
    for n in [
        "-D, --database <PATH|URL>",
        "database-url",
        "-q, --quiet",
        "-v, --verbose",
    ] {
        assert!(top.contains(n), "dbm --help lacks {n:?}:\n{top}");
    }
}

/// Each way of naming the database: where the file ends up (relative to the folder dbm
/// runs in), for `--database`, `--database-url`, `-D` and DATABASE_URL.
#[test]
fn database_url_forms() {
    let cases: &[(&[&str], Option<&str>, &str)] = &[
        (&["--database", "a.db"], None, "a.db"),
        (&["--database-url", "sqlite:b.db"], None, "b.db"),
        (&["-D", "sqlite://c.db"], None, "c.db"),
        (&["-D", "sqlite://sub/d.db"], None, "sub/d.db"),
        (&["--database-url", "sqlite:///e.db"], None, "e.db"),
        (&["-D", "sqlite:f%20g.db?mode=rwc"], None, "f g.db"),
        (&[], Some("sqlite://env.db"), "env.db"),
    ];
    for (flags, env, file) in cases {
        let p = Project::new();
        std::fs::create_dir(p.path("sub")).unwrap();
        let mut cmd = assert_cmd::Command::cargo_bin("dbm").unwrap();
        cmd.current_dir(p.dir.path()).env_remove("DATABASE_URL");
        if let Some(env) = env {
            cmd.env("DATABASE_URL", env);
        }
        let out = cmd
            .args(*flags)
            .args(["--repository", "repo", "create"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{flags:?}: {}", stderr(&out));
        assert!(p.path(file).is_file(), "{flags:?} {env:?}: no {file}");
        let made: Vec<_> = std::fs::read_dir(p.dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        // repo/, sub/ and the file if it is not in sub/: nothing else.
        let expected = if file.contains('/') { 2 } else { 3 };
        assert_eq!(made.len(), expected, "{flags:?}: {made:?}");
    }
    // An absolute path: sqlite:////abs and sqlite:/abs.
    let p = Project::new();
    let abs = p.path("abs.db").display().to_string();
    for url in [format!("sqlite:///{abs}"), format!("sqlite:{abs}")] {
        let _ = std::fs::remove_file(&abs);
        let out = p.dbm_raw(&["-D", &url, "--repository", "repo", "create"]);
        assert!(out.status.success(), "{url}: {}", stderr(&out));
        assert!(std::path::Path::new(&abs).is_file(), "{url}");
    }
}

#[test]
fn read_only_urls_read_and_refuse_writes() {
    let p = Project::new();
    p.model_from_ddl("m1.toml", BLOG_V1);
    p.ok(&["--model", "m1.toml", "create"]);
    p.ok(&["--model", "m1.toml", "migrate"]);
    let ro = [
        "-D",
        "sqlite:app.db?mode=ro",
        "--repository",
        "db_repository",
    ];
    let out = p.dbm_raw(&[&ro[..], &["db-version"]].concat());
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), "1");
    let before = p.bytes("app.db");
    for args in [&["downgrade"][..], &["migrate"], &["create"]] {
        let out = p.dbm_raw(&[&ro[..], &["--model", "m1.toml"], args].concat());
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stdout(&out));
        assert!(
            stderr(&out).contains("read-only (mode=ro)"),
            "{}",
            stderr(&out)
        );
    }
    assert!(p.bytes("app.db") == before);
}

#[test]
fn what_is_not_a_file_is_refused_clearly() {
    let p = Project::new();
    let cases: &[(&str, &str)] = &[
        (":memory:", "in-memory database"),
        ("sqlite::memory:", "in-memory database"),
        ("sqlite://x.db?mode=memory", "in-memory database"),
        ("sqlite://x.db?cache=shared", "not supported"),
        ("sqlite://", "names no file"),
        ("postgres://localhost/app", "SQLite files only"),
        ("file:x.db", "not a `file:` URI"),
    ];
    for (url, words) in cases {
        let out = p.dbm_raw(&["-D", url, "--repository", "repo", "upgrade", "--create"]);
        assert_eq!(out.status.code(), Some(2), "{url}: {}", stdout(&out));
        assert!(stderr(&out).contains(words), "{url}: {}", stderr(&out));
    }
    // A folder is not a database either.
    std::fs::create_dir(p.path("dir.db")).unwrap();
    let out = p.dbm_raw(&["--repository", "repo", "create"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = p.dbm_raw(&["-D", "sqlite:dir.db", "--repository", "repo", "db-version"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("is a folder"), "{}", stderr(&out));
    let names: Vec<_> = std::fs::read_dir(p.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(!names.iter().any(|n| n.starts_with('x')), "{names:?}");
}

#[test]
fn quiet_and_verbose() {
    let p = Project::new();
    p.model_from_ddl("m1.toml", BLOG_V1);
    let out = p.dbm(&["-q", "--model", "m1.toml", "create"]);
    assert!(
        out.status.success() && stdout(&out).is_empty(),
        "{}",
        stdout(&out)
    );
    let out = p.dbm(&["--model", "m1.toml", "migrate", "--quiet"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "");
    assert_eq!(p.version(), Some(1));
    // Results still print; errors still show.
    assert_eq!(stdout(&p.dbm(&["-q", "db-version"])).trim(), "1");
    let out = p.dbm(&["-q", "upgrade", "7"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("error:"), "{}", stderr(&out));
    // Without --quiet the same commands say what they did.
    let out = p.dbm(&["downgrade", "--no-backup"]);
    assert!(
        stdout(&out).contains("Downgraded 1 -> 0"),
        "{}",
        stdout(&out)
    );
    // --verbose names what the command works on, on stderr.
    let out = p.dbm(&["--verbose", "--model", "m1.toml", "db-version"]);
    assert_eq!(stdout(&out).trim(), "0");
    let err = stderr(&out);
    assert!(
        err.contains("database: app.db") && err.contains("repository: db_repository"),
        "{err}"
    );
    assert!(err.contains("model: m1.toml"), "{err}");
    let out = p.dbm(&["-q", "-v", "version"]);
    assert_eq!(out.status.code(), Some(2));
}
