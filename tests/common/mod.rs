//! Test helpers: run the real `dbm` binary in temporary folders, build databases from DDL,
//! and compare schemas with an independent snapshot that reads only what SQLite reports
//! (PRAGMAs and the CREATE text), not dbm's own introspection.
#![allow(dead_code)]

use rusqlite::Connection;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

/// The tutorial-like schema at two versions, shared by the CLI tests.
pub const BLOG_V1: &str =
    "CREATE TABLE user (id INTEGER NOT NULL PRIMARY KEY, nickname VARCHAR(64), email VARCHAR(120));
CREATE UNIQUE INDEX ix_user_nickname ON user (nickname);";
pub const BLOG_V2: &str =
    "CREATE TABLE user (id INTEGER NOT NULL PRIMARY KEY, nickname VARCHAR(64), email VARCHAR(120));
CREATE UNIQUE INDEX ix_user_nickname ON user (nickname);
CREATE TABLE post (id INTEGER PRIMARY KEY, body TEXT, user_id INTEGER REFERENCES user(id));";

/// A project at version 2 (models `m1.toml`, `m2.toml`) holding a user and a post.
pub fn blog_project() -> Project {
    let p = Project::new();
    p.model_from_ddl("m1.toml", BLOG_V1);
    p.model_from_ddl("m2.toml", BLOG_V2);
    p.ok(&["--model", "m1.toml", "create"]);
    p.ok(&["--model", "m1.toml", "migrate"]);
    p.ok(&["--model", "m2.toml", "migrate"]);
    p.conn("app.db")
        .execute_batch("INSERT INTO user(nickname) VALUES ('john'); INSERT INTO post(body, user_id) VALUES ('hi', 1);")
        .unwrap();
    p
}

/// The scenario files `tests/scenarios/*.toml`, sorted.
pub fn scenario_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

/// A temporary project folder.
pub struct Project {
    pub dir: tempfile::TempDir,
    /// `DBM_CACHE_DIR` of every run: the check cache stays out of the user's home and out
    /// of the project folder (whose contents some tests assert).
    pub cache: tempfile::TempDir,
}

impl Project {
    pub fn new() -> Project {
        Project {
            dir: tempfile::Builder::new()
                .prefix("dbm-test-")
                .tempdir()
                .expect("tempdir"),
            cache: tempfile::Builder::new()
                .prefix("dbm-cache-")
                .tempdir()
                .expect("tempdir"),
        }
    }
    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }
    pub fn write(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.path(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(&p, text).expect("write");
        p
    }
    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"))
    }
    /// Runs dbm with `--database app.db --repository db_repository` plus `args`.
    pub fn dbm(&self, args: &[&str]) -> Output {
        let mut all = vec!["--database", "app.db", "--repository", "db_repository"];
        all.extend_from_slice(args);
        self.dbm_raw(&all)
    }
    pub fn dbm_raw(&self, args: &[&str]) -> Output {
        self.command().args(args).output().expect("run dbm")
    }
    /// The `dbm` command every run here starts from, in the project folder, for a test
    /// that sets more of its environment.
    pub fn command(&self) -> assert_cmd::Command {
        let mut cmd = assert_cmd::Command::cargo_bin("dbm").expect("dbm binary");
        cmd.current_dir(self.dir.path())
            .env_remove("DATABASE_URL")
            .env("DBM_CACHE_DIR", self.cache.path())
            // Outputs compared byte for byte must not depend on the shell's colour settings.
            .env_remove("CLICOLOR_FORCE");
        cmd
    }
    /// Runs dbm and asserts success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.dbm(args);
        assert!(
            out.status.success(),
            "dbm {args:?} failed ({:?}):\nstdout: {}\nstderr: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
    /// Runs dbm and asserts failure with a non-zero code; returns stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.dbm(args);
        assert!(
            !out.status.success(),
            "dbm {args:?} should fail:\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    }
    /// Runs dbm on database `db` and repository `repo` and asserts a clean refusal: exit
    /// code 2 (dbm's code for every error), each of `needles` in stderr, and `db`
    /// byte-for-byte unchanged. Returns stderr. Not for a database another connection in
    /// this process holds locked: reading the file would drop that lock.
    pub fn refused_on(&self, db: &str, repo: &str, args: &[&str], needles: &[&str]) -> String {
        let before = self.bytes(db);
        let all = [&["--database", db, "--repository", repo][..], args].concat();
        let out = self.dbm_raw(&all);
        let err = stderr(&out);
        assert_eq!(
            out.status.code(),
            Some(2),
            "dbm {all:?} should be refused:\nstdout: {}\nstderr: {err}",
            stdout(&out)
        );
        for n in needles {
            assert!(err.contains(n), "dbm {all:?}: stderr lacks {n:?}:\n{err}");
        }
        assert!(self.bytes(db) == before, "dbm {all:?} changed {db}");
        err
    }
    /// [`Project::refused_on`] the usual `app.db` and `db_repository`.
    pub fn refused(&self, args: &[&str], needles: &[&str]) -> String {
        self.refused_on("app.db", "db_repository", args, needles)
    }
    pub fn conn(&self, rel: &str) -> Connection {
        Connection::open(self.path(rel)).expect("open db")
    }
    /// Builds a database from DDL (and optional rows).
    pub fn build_db(&self, rel: &str, sql: &str) -> PathBuf {
        let p = self.path(rel);
        let c = Connection::open(&p).expect("open");
        c.execute_batch(sql)
            .unwrap_or_else(|e| panic!("build {rel}: {e}\n{sql}"));
        p
    }
    /// `dbm create-model` of a database built from DDL, written to `model_rel`.
    pub fn model_from_ddl(&self, model_rel: &str, ddl: &str) -> PathBuf {
        let db = format!("{model_rel}.src.db");
        let _ = std::fs::remove_file(self.path(&db));
        self.build_db(&db, ddl);
        let out = self.dbm_raw(&["create-model", "--database", &db]);
        assert!(
            out.status.success(),
            "create-model: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        self.write(model_rel, &String::from_utf8_lossy(&out.stdout))
    }
    pub fn version(&self) -> Option<i64> {
        let c = self.conn("app.db");
        c.query_row("SELECT version FROM migrate_version", [], |r| r.get(0))
            .ok()
    }
    pub fn versions_dir(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(self.path("db_repository/versions"))
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }
    pub fn bytes(&self, rel: &str) -> Vec<u8> {
        std::fs::read(self.path(rel)).unwrap_or_default()
    }
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// (parent table, child columns, parent columns, on update, on delete)
type FkRow = (String, Vec<String>, Vec<String>, String, String);

fn q(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Collapses white space and case outside string literals, drops identifier quotes
/// (the same normalisation the outside contract checks use).
pub fn norm_sql(text: &str) -> String {
    let mut out = String::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            let mut j = i + 1;
            while j < chars.len() {
                if chars[j] == '\'' && j + 1 < chars.len() && chars[j + 1] == '\'' {
                    j += 2;
                    continue;
                }
                if chars[j] == '\'' {
                    break;
                }
                j += 1;
            }
            let end = j.min(chars.len() - 1);
            out.extend(&chars[i..=end]);
            i = end + 1;
        } else if c == '"' || c == '`' || c == '[' {
            let close = if c == '[' { ']' } else { c };
            let mut j = i + 1;
            while j < chars.len() && chars[j] != close {
                j += 1;
            }
            let inner: String = chars[i + 1..j.min(chars.len())].iter().collect();
            out.push_str(&inner.to_lowercase());
            i = j + 1;
        } else if c.is_whitespace() {
            out.push(' ');
            while i < chars.len() && chars[i].is_whitespace() {
                i += 1;
            }
        } else {
            out.extend(c.to_lowercase());
            i += 1;
        }
    }
    // Remove spaces around punctuation, collapse the rest.
    let mut s = String::new();
    let punct = |c: char| "(),=<>+*/-".contains(c);
    let cs: Vec<char> = out.chars().collect();
    for (k, &c) in cs.iter().enumerate() {
        if c == ' ' {
            let prev = s.chars().last();
            let next = cs.get(k + 1).copied();
            if prev.is_none_or(|p| punct(p) || p == ' ') || next.is_none_or(punct) {
                continue;
            }
        }
        s.push(c);
    }
    s.trim().trim_end_matches(';').to_string()
}

fn internal(name: &str) -> bool {
    let l = name.to_ascii_lowercase();
    l.starts_with("sqlite_") || l.starts_with("migrate_")
}

/// An independent, comparable description of a database schema.
pub fn snapshot(path: &Path) -> BTreeMap<String, String> {
    let c = Connection::open(path).expect("open for snapshot");
    snapshot_conn(&c)
}

pub fn snapshot_conn(c: &Connection) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut stmt = c
        .prepare("SELECT type, name, tbl_name, sql FROM sqlite_schema ORDER BY type, name")
        .expect("prepare");
    let rows: Vec<(String, String, String, Option<String>)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .expect("query")
        .map(|r| r.expect("row"))
        .collect();
    for (typ, name, tbl, sql) in rows {
        if internal(&name) || internal(&tbl) {
            continue;
        }
        let key = format!("{typ} {}", name.to_lowercase());
        match typ.as_str() {
            "table" => {
                let sql = sql.unwrap_or_default();
                let mut cols: Vec<String> = c
                    .prepare(&format!("PRAGMA table_xinfo({})", q(&name)))
                    .unwrap()
                    .query_map([], |r| {
                        Ok(format!(
                            "{}:{}:nn={}:dflt={:?}:pk={}:hidden={}",
                            r.get::<_, String>(1)?.to_lowercase(),
                            r.get::<_, String>(2)?
                                .to_uppercase()
                                .split_whitespace()
                                .collect::<Vec<_>>()
                                .join(" "),
                            r.get::<_, i64>(3)?,
                            r.get::<_, Option<String>>(4)?.map(|d| norm_sql(&d)),
                            r.get::<_, i64>(5)?,
                            r.get::<_, i64>(6)?
                        ))
                    })
                    .unwrap()
                    .map(|r| r.unwrap())
                    .collect();
                cols.sort();
                let mut idx: Vec<String> = vec![];
                let list: Vec<(String, i64, String, i64)> = c
                    .prepare(&format!("PRAGMA index_list({})", q(&name)))
                    .unwrap()
                    .query_map([], |r| Ok((r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
                    .unwrap()
                    .map(|r| r.unwrap())
                    .collect();
                for (iname, unique, origin, partial) in list {
                    let parts: Vec<String> = c
                        .prepare(&format!("PRAGMA index_xinfo({})", q(&iname)))
                        .unwrap()
                        .query_map([], |r| {
                            Ok((
                                r.get::<_, Option<String>>(2)?,
                                r.get::<_, i64>(3)?,
                                r.get::<_, Option<String>>(4)?,
                                r.get::<_, i64>(5)?,
                            ))
                        })
                        .unwrap()
                        .map(|r| r.unwrap())
                        .filter(|p| p.3 == 1)
                        .map(|(n, d, coll, _)| {
                            format!(
                                "{}/{d}/{}",
                                n.unwrap_or_else(|| "<expr>".into()).to_lowercase(),
                                coll.unwrap_or_default().to_uppercase()
                            )
                        })
                        .collect();
                    let isql: Option<String> = c
                        .query_row(
                            "SELECT sql FROM sqlite_schema WHERE name = ?1",
                            [&iname],
                            |r| r.get(0),
                        )
                        .unwrap_or(None);
                    let label = if iname.starts_with("sqlite_autoindex") {
                        "auto".to_string()
                    } else {
                        iname.to_lowercase()
                    };
                    let body = isql
                        .map(|s| {
                            let n = norm_sql(&s);
                            n.find(" on ").map(|p| n[p..].to_string()).unwrap_or(n)
                        })
                        .unwrap_or_default();
                    idx.push(format!(
                        "{label}:u={unique}:o={origin}:p={partial}:{}:{body}",
                        parts.join(",")
                    ));
                }
                idx.sort();
                let mut fks: BTreeMap<i64, FkRow> = BTreeMap::new();
                let rows: Vec<(i64, String, String, Option<String>, String, String)> = c
                    .prepare(&format!("PRAGMA foreign_key_list({})", q(&name)))
                    .unwrap()
                    .query_map([], |r| {
                        Ok((
                            r.get(0)?,
                            r.get(2)?,
                            r.get(3)?,
                            r.get(4)?,
                            r.get(5)?,
                            r.get(6)?,
                        ))
                    })
                    .unwrap()
                    .map(|r| r.unwrap())
                    .collect();
                for (id, table, from, to, upd, del) in rows {
                    let e =
                        fks.entry(id)
                            .or_insert((table.to_lowercase(), vec![], vec![], upd, del));
                    e.1.push(from.to_lowercase());
                    e.2.push(to.unwrap_or_default().to_lowercase());
                }
                let mut fk: Vec<String> = fks.values().map(|v| format!("{v:?}")).collect();
                fk.sort();
                let n = norm_sql(&sql);
                let mut checks = vec![];
                let mut rest = n.as_str();
                while let Some(p) = rest.find("check(").or_else(|| rest.find("check (")) {
                    let tail = &rest[p..];
                    let open = tail.find('(').unwrap();
                    let mut depth = 0;
                    let mut end = tail.len();
                    for (k, ch) in tail[open..].char_indices() {
                        if ch == '(' {
                            depth += 1;
                        } else if ch == ')' {
                            depth -= 1;
                            if depth == 0 {
                                end = open + k + 1;
                                break;
                            }
                        }
                    }
                    checks.push(tail[open..end].to_string());
                    rest = &tail[end..];
                }
                checks.sort();
                let tail = &n[n.rfind(')').map(|p| p + 1).unwrap_or(0)..];
                let opts = format!(
                    "wr={} strict={} autoinc={}",
                    tail.contains("without rowid"),
                    tail.contains("strict"),
                    n.contains("autoincrement")
                );
                let collations: Vec<String> = {
                    let mut v = vec![];
                    for p in n.split(',') {
                        if let Some(ci) = p.find(" collate ") {
                            let word: String = p[ci + 9..]
                                .chars()
                                .take_while(|c| c.is_alphanumeric() || *c == '_')
                                .collect();
                            v.push(format!(
                                "{}:{word}",
                                p.trim().split([' ', '(']).next().unwrap_or("")
                            ));
                        }
                    }
                    v.sort();
                    v
                };
                out.insert(
                    key,
                    format!(
                        "cols={cols:#?}\nidx={idx:#?}\nfks={fk:#?}\nchecks={checks:?}\nopts={opts}\ncollate={collations:?}"
                    ),
                );
            }
            _ => {
                out.insert(key, norm_sql(&sql.unwrap_or_default()));
            }
        }
    }
    out
}

/// Asserts two schemas are equal by the independent snapshot.
pub fn assert_same_schema(a: &Path, b: &Path, what: &str) {
    let (sa, sb) = (snapshot(a), snapshot(b));
    if sa != sb {
        let mut msg = format!("{what}: schemas differ\n");
        for k in sa
            .keys()
            .chain(sb.keys())
            .collect::<std::collections::BTreeSet<_>>()
        {
            if sa.get(k) != sb.get(k) {
                msg.push_str(&format!(
                    "--- {k}\n  left:  {:?}\n  right: {:?}\n",
                    sa.get(k),
                    sb.get(k)
                ));
            }
        }
        panic!("{msg}");
    }
}

/// All rows of a table as strings, ordered by rowid/primary key.
pub fn rows(path: &Path, table: &str) -> Vec<Vec<String>> {
    let c = Connection::open(path).expect("open");
    let mut stmt = c
        .prepare(&format!("SELECT * FROM {} ORDER BY 1", q(table)))
        .expect("prepare rows");
    let n = stmt.column_count();
    stmt.query_map([], |r| {
        (0..n)
            .map(|i| {
                let v: rusqlite::types::Value = r.get(i)?;
                Ok(format!("{v:?}"))
            })
            .collect::<rusqlite::Result<Vec<String>>>()
    })
    .expect("query rows")
    .map(|r| r.expect("row"))
    .collect()
}

/// The column names of [`rows`]' values, in their order (`SELECT *`: generated columns
/// included, unlike `pragma_table_info`).
pub fn row_columns(path: &Path, table: &str) -> Vec<String> {
    let c = Connection::open(path).expect("open");
    let stmt = c
        .prepare(&format!("SELECT * FROM {}", q(table)))
        .expect("prepare columns");
    stmt.column_names().map(str::to_string).collect()
}

/// Starts the real `dbm` binary in `dir` without waiting (stdout/stderr piped), for crash
/// and concurrency tests that need real processes.
pub fn spawn_dbm(dir: &Path, args: &[&str]) -> std::process::Child {
    std::process::Command::new(assert_cmd::cargo::cargo_bin("dbm"))
        .current_dir(dir)
        .env_remove("DATABASE_URL")
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn dbm")
}

/// Copies a folder tree (the repository) into another place.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read_dir") {
        let e = e.expect("entry");
        let target = to.join(e.file_name());
        if e.file_type().expect("type").is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).expect("copy");
        }
    }
}

/// `PRAGMA integrity_check` of a database file.
pub fn integrity(path: &Path) -> String {
    let c = Connection::open(path).expect("open");
    c.query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity_check")
}

/// The `migrate_history` rows `(version, direction)` in order of application.
pub fn history_rows(path: &Path) -> Vec<(i64, String)> {
    let c = Connection::open(path).expect("open");
    let mut s = c
        .prepare("SELECT version, direction FROM migrate_history ORDER BY id")
        .expect("history");
    s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("query")
        .map(|r| r.expect("row"))
        .collect()
}
