//! `dbm.toml` and the settings precedence: command-line flags > `DATABASE_URL` (for the
//! database) > the file > defaults. Every setting is parsed once, into its type, here.

use crate::BackupPolicy;
use anyhow::{anyhow, bail, Result};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// Default file names, as in the tutorial.
pub const DEFAULT_CONFIG: &str = "dbm.toml";
pub const DEFAULT_DATABASE: &str = "app.db";
pub const DEFAULT_REPOSITORY: &str = "db_repository";
pub const DEFAULT_MODEL: &str = "models.toml";

/// The `dbm.toml` file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// A path, or a `sqlite:///path` URL.
    pub database: Option<String>,
    pub repository: Option<PathBuf>,
    pub model: Option<PathBuf>,
    /// A program that prints the model as TOML (`["cargo", "run", "-q", "--bin", "schema"]`).
    pub model_command: Option<Vec<String>>,
    /// Oldest SQLite the scripts must run on, e.g. "3.35" (default) or "3.53".
    pub min_sqlite: Option<String>,
    /// Backups before destructive steps: "auto" (default), "always" or "never".
    pub backup: Option<BackupPolicy>,
    /// How long to wait for another migrator's lock, in seconds.
    pub lock_timeout: Option<u64>,
    /// Glob patterns of the databases `upgrade`, `downgrade`, `status`, `check`,
    /// `db-version` and `test` work on (unless `--database` or `DATABASE_URL` names one).
    pub databases: Option<Vec<String>>,
}

/// Values given on the command line (highest precedence).
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub database: Option<String>,
    pub repository: Option<PathBuf>,
    pub model: Option<PathBuf>,
    /// `--model-command`, one string split into words as a POSIX shell would.
    pub model_command: Option<String>,
    pub config: Option<PathBuf>,
}

/// Where the model comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelSource {
    /// A TOML file.
    File(PathBuf),
    /// A program (run directly, not through a shell) that prints the model as TOML.
    Command(Vec<String>),
}

impl std::fmt::Display for ModelSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ModelSource::File(p) => write!(f, "{}", p.display()),
            ModelSource::Command(argv) => write!(f, "`{}`", argv.join(" ")),
        }
    }
}

/// Resolved settings.
#[derive(Debug, Clone)]
pub struct Settings {
    pub database: PathBuf,
    /// The database URL said `?mode=ro`.
    pub read_only: bool,
    pub repository: PathBuf,
    pub model: ModelSource,
    /// Oldest SQLite the scripts must run on.
    pub min_sqlite: (u32, u32, u32),
    pub backup: BackupPolicy,
    /// Seconds to wait for another migrator's lock.
    pub lock_timeout: u64,
    /// The file's `databases` patterns, relative ones under the file's folder; empty when
    /// the database is named by a flag or `DATABASE_URL`.
    pub databases: Vec<String>,
}

/// The longest lock wait SQLite's busy timeout can hold (`i32::MAX` milliseconds, 24 days).
pub const MAX_LOCK_TIMEOUT: u64 = i32::MAX as u64 / 1000;

/// A lock timeout in seconds, refused beyond what SQLite can wait.
pub fn check_lock_timeout(secs: u64, what: &str) -> Result<u64> {
    if secs > MAX_LOCK_TIMEOUT {
        bail!("{what} {secs} is too long: at most {MAX_LOCK_TIMEOUT} seconds (24 days)");
    }
    Ok(secs)
}

/// A database named by a path or a URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseName {
    pub path: PathBuf,
    /// `?mode=ro`: commands that write refuse.
    pub read_only: bool,
}

/// A path, or a URL in the forms sqlx-cli and SQLAlchemy take: `sqlite:app.db` and
/// `sqlite://app.db` (relative), `sqlite:///app.db` (the path after the third slash, as the
/// contract and SQLAlchemy say: relative; `sqlite:////abs/app.db` is absolute), with
/// `?mode=ro|rw|rwc` and `%XX` escapes. What is not a file is refused: `file:` URIs,
/// in-memory databases, other schemes.
pub fn database_name(url_or_path: &str) -> Result<DatabaseName> {
    let s = url_or_path.trim();
    if s.is_empty() {
        bail!("empty database path");
    }
    let memory = || {
        anyhow!("database `{s}` is an in-memory database: dbm migrates SQLite files (a path or sqlite:PATH)")
    };
    let Some(rest) = s.strip_prefix("sqlite:") else {
        if s.starts_with("file:") {
            // SQLite would read it as a URI: `?mode=memory` migrates a database that vanishes.
            bail!("database `{s}`: dbm takes a path or sqlite:///path, not a `file:` URI (its options, such as mode=memory, would apply to the migration)");
        }
        if s.contains("://") {
            bail!("database `{s}`: dbm works with SQLite files only (a path or sqlite:///path)");
        }
        if s == ":memory:" {
            return Err(memory());
        }
        return Ok(DatabaseName {
            path: PathBuf::from(s),
            read_only: false,
        });
    };
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    // `sqlite:///x`: the third slash separates the (empty) host from the path.
    let rest = rest
        .strip_prefix('/')
        .filter(|_| s.starts_with("sqlite:///"))
        .unwrap_or(rest);
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let mut read_only = false;
    for option in query.split('&').filter(|o| !o.is_empty()) {
        match option {
            "mode=ro" => read_only = true,
            "mode=rw" | "mode=rwc" => read_only = false,
            "mode=memory" => return Err(memory()),
            _ => bail!("database URL `{s}`: option `{option}` is not supported (dbm takes mode=ro, mode=rw or mode=rwc)"),
        }
    }
    let path = percent_decode(path).ok_or_else(|| {
        anyhow!("database URL `{s}`: a `%` is not followed by two hex digits of UTF-8 text")
    })?;
    if path.is_empty() {
        bail!("database URL `{s}` names no file");
    }
    if path == ":memory:" {
        return Err(memory());
    }
    Ok(DatabaseName {
        path: PathBuf::from(path),
        read_only,
    })
}

/// `%20` → ` `; `None` for a stray `%` or escapes that are not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Parses "3.35" / "3.53.0" into a version triple.
pub fn parse_sqlite_version(s: &str) -> Result<(u32, u32, u32)> {
    let nums: Vec<&str> = s.trim().split('.').collect();
    let bad = || anyhow!("min_sqlite `{s}` is not a version like 3.35");
    if nums.len() < 2 || nums.len() > 3 {
        return Err(bad());
    }
    let n = |i: usize| -> Result<u32> {
        nums.get(i)
            .map(|x| x.parse::<u32>().map_err(|_| bad()))
            .unwrap_or(Ok(0))
    };
    Ok((n(0)?, n(1)?, n(2)?))
}

impl Settings {
    /// Resolves settings from flags, the environment and `dbm.toml`.
    pub fn resolve(o: &Overrides, env_database_url: Option<String>) -> Result<Settings> {
        let (file, base) = match &o.config {
            Some(p) => {
                if !p.is_file() {
                    bail!("{}: config file not found", p.display());
                }
                (
                    Some(read_config(p)?),
                    p.parent().map(Path::to_path_buf).unwrap_or_default(),
                )
            }
            None => {
                let p = PathBuf::from(DEFAULT_CONFIG);
                if p.is_file() {
                    (Some(read_config(&p)?), PathBuf::new())
                } else {
                    (None, PathBuf::new())
                }
            }
        };
        let config_name = o
            .config
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG));
        let file = file.unwrap_or_default();
        let rel = |p: PathBuf| if p.is_absolute() { p } else { base.join(p) };
        let named =
            o.database.is_some() || env_database_url.as_ref().is_some_and(|s| !s.is_empty());
        let databases = match &file.databases {
            Some(patterns) if !named => patterns
                .iter()
                .map(
                    |p| match Path::new(p).is_absolute() || base.as_os_str().is_empty() {
                        true => p.clone(),
                        false => {
                            format!("{}/{p}", glob::Pattern::escape(&base.display().to_string()))
                        }
                    },
                )
                .collect(),
            _ => vec![],
        };
        let database = match (
            &o.database,
            env_database_url.filter(|s| !s.is_empty()),
            &file.database,
        ) {
            (Some(flag), _, _) => database_name(flag)?,
            (None, Some(env), _) => database_name(&env)?,
            (None, None, Some(f)) => {
                let name = database_name(f)?;
                DatabaseName {
                    path: rel(name.path),
                    ..name
                }
            }
            (None, None, None) => DatabaseName {
                path: PathBuf::from(DEFAULT_DATABASE),
                read_only: false,
            },
        };
        let repository = match (&o.repository, &file.repository) {
            (Some(p), _) => p.clone(),
            (None, Some(p)) => rel(p.clone()),
            _ => PathBuf::from(DEFAULT_REPOSITORY),
        };
        let model = match (&o.model, &o.model_command) {
            (Some(p), _) => ModelSource::File(p.clone()),
            (None, Some(c)) => ModelSource::Command(split_command(c, "--model-command")?),
            (None, None) => match (&file.model, &file.model_command) {
                (Some(_), Some(_)) => {
                    bail!("dbm.toml sets both `model` and `model_command`; keep one")
                }
                (Some(p), None) => ModelSource::File(rel(p.clone())),
                (None, Some(argv)) if argv.is_empty() || argv[0].is_empty() => {
                    bail!("`model_command` in dbm.toml names no program")
                }
                (None, Some(argv)) => ModelSource::Command(argv.clone()),
                (None, None) => ModelSource::File(PathBuf::from(DEFAULT_MODEL)),
            },
        };
        let min_sqlite = match &file.min_sqlite {
            Some(v) => parse_sqlite_version(v)?,
            None => (3, 35, 0),
        };
        Ok(Settings {
            database: database.path,
            read_only: database.read_only,
            repository,
            model,
            min_sqlite,
            backup: file.backup.unwrap_or_default(),
            lock_timeout: match file.lock_timeout {
                Some(t) => {
                    check_lock_timeout(t, &format!("{}: lock_timeout", config_name.display()))?
                }
                None => 30,
            },
            databases,
        })
    }
}

/// `"cargo run -q --bin schema"` → its words, quotes respected, as a POSIX shell splits them.
fn split_command(s: &str, flag: &str) -> Result<Vec<String>> {
    match shlex::split(s) {
        Some(words) if !words.is_empty() => Ok(words),
        Some(_) => bail!("{flag} names no program"),
        None => bail!("{flag} `{s}`: unbalanced quotes or a trailing backslash"),
    }
}

fn read_config(path: &Path) -> Result<ConfigFile> {
    let text = std::fs::read_to_string(path).map_err(|e| anyhow!("{}: {e}", path.display()))?;
    toml::from_str(&text).map_err(|e| {
        let offset = e.span().map(|s| s.start).unwrap_or(0).min(text.len());
        let line = text.as_bytes()[..offset]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1;
        anyhow!("{}: line {line}: {}", path.display(), e.message().trim())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every form a database can be named in, and what it means (or the error's words).
    #[test]
    fn urls() {
        let ok: &[(&str, &str, bool)] = &[
            ("app.db", "app.db", false),
            ("data/app.db", "data/app.db", false),
            ("/abs/app.db", "/abs/app.db", false),
            ("sqlite:app.db", "app.db", false),
            ("sqlite://app.db", "app.db", false),
            ("sqlite://data/app.db", "data/app.db", false),
            ("sqlite:///app.db", "app.db", false),
            ("sqlite:////abs/app.db", "/abs/app.db", false),
            ("sqlite:/abs/app.db", "/abs/app.db", false),
            ("sqlite:app.db?mode=ro", "app.db", true),
            ("sqlite://app.db?mode=rwc", "app.db", false),
            ("sqlite:///my%20app.db?mode=ro", "my app.db", true),
            ("  sqlite:app.db  ", "app.db", false),
        ];
        for (input, path, read_only) in ok {
            let got = database_name(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(
                (got.path, got.read_only),
                (PathBuf::from(path), *read_only),
                "{input}"
            );
        }
        let refused: &[(&str, &str)] = &[
            ("", "empty"),
            ("sqlite:", "names no file"),
            ("sqlite://", "names no file"),
            ("sqlite:///", "names no file"),
            ("sqlite:///?mode=ro", "names no file"),
            (":memory:", "in-memory"),
            ("sqlite::memory:", "in-memory"),
            ("sqlite://app.db?mode=memory", "in-memory"),
            (
                "sqlite:app.db?cache=shared",
                "option `cache=shared` is not supported",
            ),
            ("sqlite:app%2.db", "`%`"),
            ("file:app.db", "not a `file:` URI"),
            ("postgres://x", "SQLite files only"),
            ("mysql://localhost/db", "SQLite files only"),
        ];
        for (input, words) in refused {
            let e = database_name(input).unwrap_err().to_string();
            assert!(e.contains(words), "{input}: {e}");
        }
    }

    #[test]
    fn model_command_words() {
        let o = Overrides {
            model_command: Some(r#"cargo run -q --bin "my schema" --features 'a b'"#.into()),
            ..Overrides::default()
        };
        let s = Settings::resolve(&o, None).unwrap();
        assert_eq!(
            s.model,
            ModelSource::Command(
                [
                    "cargo",
                    "run",
                    "-q",
                    "--bin",
                    "my schema",
                    "--features",
                    "a b"
                ]
                .map(String::from)
                .to_vec()
            )
        );
        for bad in ["'open", "", "  "] {
            let o = Overrides {
                model_command: Some(bad.into()),
                ..Overrides::default()
            };
            assert!(Settings::resolve(&o, None).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn precedence_flag_env_default() {
        let o = Overrides {
            database: Some("flag.db".into()),
            ..Overrides::default()
        };
        let s = Settings::resolve(&o, Some("sqlite:///env.db".into())).unwrap();
        assert_eq!(s.database, PathBuf::from("flag.db"));
        let s = Settings::resolve(&Overrides::default(), Some("sqlite:///env.db".into())).unwrap();
        assert_eq!(s.database, PathBuf::from("env.db"));
    }

    #[test]
    fn config_file_and_relative_paths() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("dbm.toml");
        std::fs::write(
            &cfg,
            "database = \"sqlite:///data/app.db\"\nrepository = \"repo\"\nmin_sqlite = \"3.53\"\n",
        )
        .unwrap();
        let o = Overrides {
            config: Some(cfg.clone()),
            ..Overrides::default()
        };
        let s = Settings::resolve(&o, None).unwrap();
        assert_eq!(s.database, dir.path().join("data/app.db"));
        assert_eq!(s.repository, dir.path().join("repo"));
        assert_eq!(s.min_sqlite, (3, 53, 0));
        assert_eq!(s.model, ModelSource::File(PathBuf::from(DEFAULT_MODEL)));
        std::fs::write(&cfg, "model_command = [\"cargo\", \"run\"]\n").unwrap();
        let s = Settings::resolve(&o, None).unwrap();
        assert_eq!(
            s.model,
            ModelSource::Command(vec!["cargo".into(), "run".into()])
        );
        std::fs::write(&cfg, "model = \"m.toml\"\nmodel_command = [\"x\"]\n").unwrap();
        let e = Settings::resolve(&o, None).unwrap_err().to_string();
        assert!(e.contains("both"), "{e}");
        std::fs::write(&cfg, "database = \"a.db\"\nbogus = 1\n").unwrap();
        let e = Settings::resolve(&o, None).unwrap_err().to_string();
        assert!(e.contains("dbm.toml") && e.contains("line 2"), "{e}");
    }
}
