//! Colour: `--color auto|always|never`. A pipe and `NO_COLOR` get plain text; a terminal
//! (a pty through util-linux `script`) gets the change list, the unified diff and the
//! `error:` label styled; `--json` is never styled; data (SQL) is written byte for byte.

mod common;

use common::{blog_project, stderr, stdout, Project};
use std::process::{Command, Output, Stdio};

/// What every escape sequence starts with (CSI).
const ESC: &str = "\x1b[";
/// anstyle's bold red (the destructive and error styles), green (added), red (removed).
const BOLD_RED: &str = "\x1b[1m\x1b[31m";
const GREEN: &str = "\x1b[32m";
const RED: &str = "\x1b[31m";
const RESET: &str = "\x1b[0m";

/// Runs dbm on the blog project's files with a clean colour environment plus `env`, piped.
fn piped(p: &Project, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut cmd = assert_cmd::Command::cargo_bin("dbm").unwrap();
    cmd.current_dir(p.dir.path())
        .env_remove("DATABASE_URL")
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR")
        .env_remove("CLICOLOR_FORCE")
        // A terminal type that colours: only the pipe (or the flag) may say no.
        .env("TERM", "xterm-256color")
        .args(["--database", "app.db", "--repository", "db_repository"])
        .args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

/// Runs dbm in a pseudo-terminal (`script -qec`): stdout and stderr both a terminal, as
/// one text. `None` when util-linux `script` is not installed.
fn in_terminal(p: &Project, env: &[(&str, &str)], args: &[&str]) -> Option<(Option<i32>, String)> {
    let bin = assert_cmd::cargo::cargo_bin("dbm");
    let mut line = quote(&bin.display().to_string());
    for a in ["--database", "app.db", "--repository", "db_repository"]
        .iter()
        .chain(args)
    {
        line.push(' ');
        line.push_str(&quote(a));
    }
    let mut cmd = Command::new("script");
    cmd.args(["-qec", &line, "/dev/null"])
        .current_dir(p.dir.path())
        .env_remove("DATABASE_URL")
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR")
        .env_remove("CLICOLOR_FORCE")
        .env("TERM", "xterm-256color")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().ok()?;
    // The terminal turns each newline into CR LF.
    let text = format!("{}{}", stdout(&out), stderr(&out)).replace("\r\n", "\n");
    Some((out.status.code(), text))
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The text without its SGR escapes (`ESC [ ... m`).
fn strip(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find(ESC) {
        out.push_str(&rest[..i]);
        let after = &rest[i + ESC.len()..];
        let end = after.find('m').expect("an SGR sequence ends with m");
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

fn skipped() {
    eprintln!("skipped: util-linux `script` is not installed");
}

/// `diff` against m1.toml drops `post` (a table with a row): a destructive change list.
const DIFF: &[&str] = &["--model", "m1.toml", "diff"];
/// A model file that does not exist: an error.
const ERROR: &[&str] = &["--model", "missing.toml", "diff"];
/// The start of its message.
const MISSING: &str = "model file missing.toml not found";

#[test]
fn a_pipe_gets_plain_text() {
    let p = blog_project();
    let out = piped(&p, &[], DIFF);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("- table post  [destructive]"), "{text}");
    assert!(text.contains("@@"), "the unified diff: {text}");
    assert!(!text.contains(ESC), "{text:?}");
    let out = piped(&p, &[], ERROR);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).starts_with(&format!("error: {MISSING}")),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains(ESC), "{:?}", stderr(&out));
    // clap's help too.
    let out = piped(&p, &[], &["--help"]);
    assert!(!stdout(&out).contains(ESC), "{:?}", stdout(&out));
}

#[test]
fn a_terminal_gets_the_destructive_change_list_and_the_error_in_colour() {
    let p = blog_project();
    let Some((code, text)) = in_terminal(&p, &[], DIFF) else {
        return skipped();
    };
    assert_eq!(code, Some(0), "{text}");
    // The destructive change and its tag in bold red, the unified diff's lines coloured.
    assert!(
        text.contains(&format!(
            "  {BOLD_RED}- table post{RESET}  {BOLD_RED}[destructive]{RESET}\n"
        )),
        "{text:?}"
    );
    assert!(
        text.contains(&format!("{RED}-[tables.post]{RESET}\n")),
        "{text:?}"
    );
    // The text is the piped text, escapes aside.
    assert_eq!(strip(&text), stdout(&piped(&p, &[], DIFF)));
    // Adding the table back is green.
    let (_, text) = in_terminal(&p, &[], &["--model", "m2.toml", "diff"]).unwrap();
    assert!(text.contains("No differences"), "{text:?}");
    p.conn("app.db").execute_batch("DROP TABLE post").unwrap();
    let (_, text) = in_terminal(&p, &[], &["--model", "m2.toml", "diff"]).unwrap();
    assert!(
        text.contains(&format!("  {GREEN}+ table post{RESET}\n")),
        "{text:?}"
    );
    // An error's label in bold red, its message plain.
    let (code, text) = in_terminal(&p, &[], ERROR).unwrap();
    assert_eq!(code, Some(2), "{text}");
    assert!(
        text.starts_with(&format!("{BOLD_RED}error:{RESET} {MISSING}")),
        "{text:?}"
    );
}

#[test]
fn no_color_and_color_never_keep_a_terminal_plain() {
    let p = blog_project();
    for (env, flag) in [
        (&[("NO_COLOR", "1")][..], None),
        // NO_COLOR outweighs CLICOLOR_FORCE (as anstream reads them).
        (&[("NO_COLOR", "1"), ("CLICOLOR_FORCE", "1")][..], None),
        (&[("CLICOLOR", "0")][..], None),
        (&[][..], Some("--color=never")),
    ] {
        for args in [DIFF, ERROR, &["--help"][..]] {
            let args: Vec<&str> = flag.into_iter().chain(args.iter().copied()).collect();
            let Some((_, text)) = in_terminal(&p, env, &args) else {
                return skipped();
            };
            assert!(!text.contains(ESC), "{env:?} {args:?}: {text:?}");
            assert!(
                text.contains("table post") || text.contains("error:") || text.contains("Usage"),
                "{env:?} {args:?}: {text}"
            );
        }
    }
    // An empty NO_COLOR does not count (no-color.org).
    let (_, text) = in_terminal(&p, &[("NO_COLOR", "")], DIFF).unwrap();
    assert!(text.contains(BOLD_RED), "{text:?}");
}

#[test]
fn color_always_and_clicolor_force_colour_a_pipe() {
    let p = blog_project();
    for (env, args) in [
        (
            &[][..],
            &["--color", "always", "--model", "m1.toml", "diff"][..],
        ),
        // The flag after the command, as every global flag.
        (
            &[][..],
            &["--model", "m1.toml", "diff", "--color=always"][..],
        ),
        (&[("CLICOLOR_FORCE", "1")][..], DIFF),
    ] {
        let out = piped(&p, env, args);
        assert!(out.status.success(), "{}", stderr(&out));
        let text = stdout(&out);
        assert!(
            text.contains(&format!("{BOLD_RED}- table post{RESET}")),
            "{env:?} {args:?}: {text:?}"
        );
        assert_eq!(strip(&text), stdout(&piped(&p, &[], DIFF)));
    }
    // The error label, and the warning before a destructive migration.
    let out = piped(
        &p,
        &[],
        &["--color", "always", "--model", "missing.toml", "diff"],
    );
    assert!(
        stderr(&out).starts_with(&format!("{BOLD_RED}error:{RESET} {MISSING}")),
        "{:?}",
        stderr(&out)
    );
    let out = piped(
        &p,
        &[],
        &[
            "--color",
            "always",
            "--model",
            "m1.toml",
            "migrate",
            "--dry-run",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("warning:\x1b[0m "),
        "{:?}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains(&format!("{BOLD_RED}destructive: drops table post")),
        "{:?}",
        stderr(&out)
    );
    // The scripts of a dry run are data: never styled.
    assert!(!stdout(&out).contains(ESC), "{:?}", stdout(&out));
    // clap's own help follows the flag.
    let out = piped(&p, &[], &["--color", "always", "--help"]);
    assert!(stdout(&out).contains(ESC), "{:?}", stdout(&out));
    // And a usage error.
    let out = piped(&p, &[], &["--color", "always", "no-such-command"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains(BOLD_RED), "{:?}", stderr(&out));
}

#[test]
fn json_is_never_coloured() {
    let p = blog_project();
    let out = piped(
        &p,
        &[],
        &["--json", "--color", "always", "--model", "m1.toml", "diff"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stdout(&out).contains(ESC), "{:?}", stdout(&out));
    serde_json::from_str::<serde_json::Value>(&stdout(&out)).expect("one JSON document");
    // Its error on stderr too.
    let out = piped(
        &p,
        &[],
        &[
            "--json",
            "--color=always",
            "--model",
            "missing.toml",
            "diff",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(!stderr(&out).contains(ESC), "{:?}", stderr(&out));
    assert!(
        stderr(&out).starts_with("{\"error\"") && stderr(&out).contains(MISSING),
        "{}",
        stderr(&out)
    );
    // In a terminal as well.
    let Some((_, text)) = in_terminal(&p, &[], &["--json", "--model", "m1.toml", "diff"]) else {
        return skipped();
    };
    assert!(!text.contains(ESC), "{text:?}");
}

#[test]
fn sql_is_written_byte_for_byte_whatever_the_colour() {
    // A hand-written script whose string literal holds an escape sequence and a BEL: the
    // plain path of a colouring stream would drop both on the way to `sqlite3`.
    let p = blog_project();
    p.ok(&["script", "tag"]);
    let up = p.path("db_repository/versions/003_tag.up.sql");
    let literal = "INSERT INTO user(nickname) VALUES ('\x1b[31mred\x07');\n";
    let mut text = std::fs::read_to_string(&up).unwrap();
    text.push_str(literal);
    std::fs::write(&up, text).unwrap();
    for flag in ["--color=auto", "--color=never", "--color=always"] {
        let out = piped(&p, &[], &[flag, "upgrade", "--sql"]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(stdout(&out).contains(literal), "{flag}: {:?}", stdout(&out));
    }
    if let Some((_, text)) = in_terminal(&p, &[], &["upgrade", "--sql"]) {
        assert!(text.contains(literal), "{text:?}");
    }
}
