//! Where a rollout's databases come from: glob patterns (`tenants/*.db`) and lists (one
//! path per line), streamed: a pattern's matches are produced as the folders are read,
//! a list as its lines are.

use std::collections::{HashSet, VecDeque};
use std::io::BufRead;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// How a pattern matches: `*` and `?` stay inside one folder (`**` crosses folders), names
/// starting with a dot are matched only by a pattern that spells the dot, case counts.
const MATCH: glob::MatchOptions = glob::MatchOptions {
    case_sensitive: true,
    require_literal_separator: true,
    require_literal_leading_dot: true,
};

enum Source {
    Glob(String),
    List(Box<dyn BufRead>),
}

/// The databases of a rollout, from glob patterns and lists, in order, each path once.
/// Iterating yields `Err` only for a list that cannot be read further.
///
/// A pattern yields files only, never SQLite's own companions of a database (`-wal`,
/// `-shm`, `-journal`) nor dbm's backups (`.backup-v…`); a pattern that yields nothing is
/// an error when it is added ([`Databases::glob`]), not a silent success.
pub struct Databases {
    sources: VecDeque<Source>,
    current: Option<Current>,
    /// Paths already given, kept only when there is more than one source (a pattern never
    /// repeats a path), so one source streams in constant memory.
    seen: Option<HashSet<PathBuf>>,
}

enum Current {
    Glob(glob::Paths),
    List(Box<dyn BufRead>),
}

/// A file a pattern matched that is not a database to migrate.
fn is_companion(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    ["-wal", "-shm", "-journal"]
        .iter()
        .any(|s| name.ends_with(s))
        || name.contains(".backup-v")
}

fn pattern(p: &str) -> Result<glob::Paths> {
    glob::glob_with(p, MATCH).map_err(|e| Error::BadPattern {
        pattern: p.to_string(),
        message: e.msg.to_string(),
    })
}

/// The next database of a pattern's matches. A match that cannot be read is still given
/// (opening it reports why).
fn next_match(paths: &mut glob::Paths) -> Option<PathBuf> {
    for m in paths.by_ref() {
        let path = match m {
            Ok(p) => p,
            Err(e) => return Some(e.path().to_path_buf()),
        };
        if !path.is_dir() && !is_companion(&path) {
            return Some(path);
        }
    }
    None
}

impl Databases {
    /// No databases yet: add them with [`glob`](Self::glob) and [`list`](Self::list).
    pub fn new() -> Databases {
        Databases {
            sources: VecDeque::new(),
            current: None,
            seen: None,
        }
    }

    fn push(mut self, s: Source) -> Databases {
        self.sources.push_back(s);
        if self.sources.len() > 1 {
            self.seen.get_or_insert_with(HashSet::new);
        }
        self
    }

    /// Adds the files matching a glob pattern. Refuses a pattern that does not parse or that
    /// matches no database ([`Error::NoDatabases`]).
    pub fn glob(self, p: &str) -> Result<Databases> {
        if next_match(&mut pattern(p)?).is_none() {
            return Err(Error::NoDatabases {
                pattern: p.to_string(),
            });
        }
        Ok(self.push(Source::Glob(p.to_string())))
    }

    /// Adds the paths of a list, one per line (blank lines skipped, surrounding blanks
    /// trimmed), read as the rollout goes.
    pub fn list(self, reader: impl BufRead + 'static) -> Databases {
        self.push(Source::List(Box::new(reader)))
    }

    fn next_path(&mut self) -> Option<Result<PathBuf>> {
        loop {
            let found = match &mut self.current {
                None => None,
                Some(Current::Glob(paths)) => next_match(paths).map(Ok),
                Some(Current::List(r)) => next_line(r.as_mut()),
            };
            if found.is_some() {
                return found;
            }
            self.current = match self.sources.pop_front()? {
                Source::Glob(p) => match pattern(&p) {
                    Ok(paths) => Some(Current::Glob(paths)),
                    Err(e) => return Some(Err(e)),
                },
                Source::List(r) => Some(Current::List(r)),
            };
        }
    }
}

impl Default for Databases {
    fn default() -> Self {
        Databases::new()
    }
}

fn next_line(r: &mut dyn BufRead) -> Option<Result<PathBuf>> {
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match r.read_until(b'\n', &mut buf) {
            Ok(0) => return None,
            Ok(_) => {}
            Err(e) => return Some(Err(Error::Io(e))),
        }
        let line = String::from_utf8_lossy(&buf);
        let line = line.trim();
        if !line.is_empty() {
            return Some(Ok(PathBuf::from(line)));
        }
    }
}

impl Iterator for Databases {
    type Item = Result<PathBuf>;

    fn next(&mut self) -> Option<Result<PathBuf>> {
        loop {
            let next = self.next_path()?;
            if let (Ok(p), Some(seen)) = (&next, &mut self.seen) {
                if !seen.insert(p.clone()) {
                    continue;
                }
            }
            return Some(next);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_lists_and_what_they_skip() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for f in [
            "a.db",
            "b.db",
            "a.db-wal",
            "b.db-journal",
            "a.db.backup-v2-20260101T000000Z",
            ".hidden.db",
        ] {
            std::fs::write(d.join(f), "").unwrap();
        }
        std::fs::create_dir(d.join("folder.db")).unwrap();
        let all = |db: Databases| db.map(|p| p.unwrap()).collect::<Vec<_>>();
        let pat = |s: &str| format!("{}/{s}", glob::Pattern::escape(&d.display().to_string()));
        let got = all(Databases::new().glob(&pat("*")).unwrap());
        assert_eq!(got, vec![d.join("a.db"), d.join("b.db")]);
        // Two sources: a path both give comes once.
        let list = format!(
            "{}\n\n  {}  \n",
            d.join("b.db").display(),
            d.join("c.db").display()
        );
        let got = all(Databases::new()
            .glob(&pat("*.db"))
            .unwrap()
            .list(std::io::Cursor::new(list)));
        assert_eq!(got, vec![d.join("a.db"), d.join("b.db"), d.join("c.db")]);
        assert!(matches!(
            Databases::new().glob(&pat("*.sqlite")).err(),
            Some(Error::NoDatabases { .. })
        ));
        assert!(matches!(
            Databases::new().glob(&pat("[")).err(),
            Some(Error::BadPattern { .. })
        ));
    }
}
