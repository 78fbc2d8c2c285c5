//! The migration repository: folder, `migrate.cfg`, numbered up/down scripts, checksums.
//!
//! Layout (compatible with SQLAlchemy-migrate's `migrate.cfg`):
//! `root/migrate.cfg`, `root/versions/001_create_user.up.sql`, `root/versions/001_create_user.down.sql`.
//! Nothing here touches a database.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{Error, RepositoryError, Result, ScriptProblem};
use crate::script::Direction;

/// The control table's name unless `migrate.cfg` says otherwise.
pub const DEFAULT_VERSION_TABLE: &str = "migrate_version";

const CONFIG_FILE: &str = "migrate.cfg";
const VERSIONS_DIR: &str = "versions";

/// An opened migration repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repository {
    pub root: PathBuf,
    pub repository_id: String,
    pub version_table: String,
}

/// The two scripts of one version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionFiles {
    pub version: u64,
    pub slug: String,
    pub up: PathBuf,
    pub down: PathBuf,
}

impl VersionFiles {
    /// The script that runs in `direction`.
    pub fn script(&self, direction: Direction) -> &Path {
        match direction {
            Direction::Up => &self.up,
            Direction::Down => &self.down,
        }
    }
}

fn io_err(path: &Path, e: std::io::Error) -> Error {
    Error::File {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

impl Repository {
    /// Creates `root/`, `root/versions/` and `root/migrate.cfg` where absent. Returns the
    /// repository and whether `migrate.cfg` was newly written; an existing repository is opened.
    pub fn create(root: &Path, repository_id: &str) -> Result<(Repository, bool)> {
        if root.exists() && !root.is_dir() {
            return Err(RepositoryError::CreateOverFile {
                root: root.to_path_buf(),
            }
            .into());
        }
        if repository_id.trim().is_empty() || repository_id.contains(['\n', '\r']) {
            return Err(RepositoryError::InvalidId {
                id: repository_id.to_string(),
            }
            .into());
        }
        fs::create_dir_all(root).map_err(|e| io_err(root, e))?;
        let versions = root.join(VERSIONS_DIR);
        if versions.exists() && !versions.is_dir() {
            return Err(RepositoryError::VersionsNotAFolder { dir: versions }.into());
        }
        fs::create_dir_all(&versions).map_err(|e| io_err(&versions, e))?;
        let cfg = root.join(CONFIG_FILE);
        if cfg.exists() {
            return Ok((Repository::open(root)?, false));
        }
        let text = format!(
            "[db_settings]\nrepository_id={}\nversion_table={}\nrequired_dbs=[]\nuse_timestamp_numbering=False\n",
            repository_id.trim(),
            DEFAULT_VERSION_TABLE
        );
        write_new_file(&cfg, text.as_bytes())?;
        Ok((Repository::open(root)?, true))
    }

    /// Opens an existing repository, reading `migrate.cfg`.
    pub fn open(root: &Path) -> Result<Repository> {
        if !root.exists() {
            return Err(RepositoryError::NotFound {
                root: root.to_path_buf(),
            }
            .into());
        }
        if !root.is_dir() {
            return Err(RepositoryError::NotAFolder {
                path: root.to_path_buf(),
            }
            .into());
        }
        let cfg = root.join(CONFIG_FILE);
        if !cfg.is_file() {
            return Err(RepositoryError::MissingConfig {
                root: root.to_path_buf(),
                config: cfg,
            }
            .into());
        }
        let text = fs::read_to_string(&cfg).map_err(|e| io_err(&cfg, e))?;
        let settings = parse_config(&cfg, &text)?;
        let repository_id = settings
            .get("repository_id")
            .filter(|v| !v.is_empty())
            .cloned()
            .ok_or_else(|| RepositoryError::Config {
                file: cfg.clone(),
                line: 0,
                message: "missing `repository_id` in [db_settings]".into(),
            })?;
        let version_table = settings
            .get("version_table")
            .filter(|v| !v.is_empty())
            .cloned()
            .unwrap_or_else(|| DEFAULT_VERSION_TABLE.to_string());
        Ok(Repository {
            root: root.to_path_buf(),
            repository_id,
            version_table,
        })
    }

    /// The `versions/` folder.
    pub fn versions_dir(&self) -> PathBuf {
        self.root.join(VERSIONS_DIR)
    }

    /// All versions, validated: numbered 1..=N without gaps, exactly one up and one down
    /// script each, every `.sql` file named `NNN_slug.up.sql` / `NNN_slug.down.sql`.
    pub fn versions(&self) -> Result<Vec<VersionFiles>> {
        let dir = self.versions_dir();
        if !dir.is_dir() {
            return Err(RepositoryError::MissingVersions { dir }.into());
        }
        let mut names = vec![];
        for entry in fs::read_dir(&dir).map_err(|e| io_err(&dir, e))? {
            let entry = entry.map_err(|e| io_err(&dir, e))?;
            if entry
                .file_type()
                .map_err(|e| io_err(&entry.path(), e))?
                .is_dir()
            {
                continue;
            }
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.to_ascii_lowercase().ends_with(".sql") {
                names.push(name);
            }
        }
        names.sort();

        let mut problems: Vec<ScriptProblem> = vec![];
        // version -> (ups, downs) as (slug, file name)
        let mut by_version: BTreeMap<u64, (Vec<Named>, Vec<Named>)> = BTreeMap::new();
        for name in &names {
            match parse_script_name(name) {
                Some((version, slug, up)) => {
                    let e = by_version.entry(version).or_default();
                    let list = if up { &mut e.0 } else { &mut e.1 };
                    list.push((slug, name.clone()));
                }
                None => problems.push(ScriptProblem::BadName {
                    file: dir.join(name),
                }),
            }
        }

        let mut out = vec![];
        for (&version, (ups, downs)) in &by_version {
            if ups.len() > 1 || downs.len() > 1 {
                problems.push(ScriptProblem::Duplicate {
                    version,
                    files: ups.iter().chain(downs).map(|(_, n)| dir.join(n)).collect(),
                });
                continue;
            }
            match (ups.first(), downs.first()) {
                (Some((us, un)), Some((ds, dn))) => {
                    if us != ds {
                        problems.push(ScriptProblem::NamesDiffer {
                            version,
                            up: dir.join(un),
                            down: dir.join(dn),
                        });
                        continue;
                    }
                    out.push(VersionFiles {
                        version,
                        slug: us.clone(),
                        up: dir.join(un),
                        down: dir.join(dn),
                    });
                }
                (Some((_, un)), None) => {
                    problems.push(ScriptProblem::MissingDown { up: dir.join(un) })
                }
                (None, Some((_, dn))) => {
                    problems.push(ScriptProblem::MissingUp { down: dir.join(dn) })
                }
                (None, None) => {}
            }
        }
        // Numbering must be exactly 1..=N.
        for (expected, &version) in (1u64..).zip(by_version.keys()) {
            if version != expected {
                let next = by_version
                    .get(&version)
                    .and_then(|(u, d)| u.first().or(d.first()))
                    .map(|(_, n)| dir.join(n))
                    .unwrap_or_default();
                problems.push(ScriptProblem::Gap {
                    missing: expected,
                    next,
                });
                break;
            }
        }
        if !problems.is_empty() {
            return Err(RepositoryError::Invalid {
                root: self.root.clone(),
                problems,
            }
            .into());
        }
        Ok(out)
    }

    /// The highest version (0 when there is none).
    pub fn latest(&self) -> Result<u64> {
        Ok(self.versions()?.last().map_or(0, |v| v.version))
    }

    /// The files of one version.
    pub fn version(&self, version: u64) -> Result<VersionFiles> {
        let all = self.versions()?;
        let latest = all.last().map_or(0, |v| v.version);
        all.into_iter()
            .find(|v| v.version == version)
            .ok_or(Error::NoSuchVersion { version, latest })
    }

    /// Where the scripts of `version` with `slug` go: `versions/NNN_slug.{up,down}.sql`.
    pub fn planned(&self, version: u64, slug: &str) -> VersionFiles {
        let slug = slugify(slug);
        let dir = self.versions_dir();
        VersionFiles {
            version,
            up: dir.join(format!("{version:03}_{slug}.up.sql")),
            down: dir.join(format!("{version:03}_{slug}.down.sql")),
            slug,
        }
    }

    /// Writes the next version's two scripts. Never overwrites an existing file; each file is
    /// written under a temporary name first, so a crash leaves no half-written script.
    pub fn write_version(&self, slug: &str, up_sql: &str, down_sql: &str) -> Result<VersionFiles> {
        let files = self.planned(self.latest()? + 1, slug);
        self.write_planned(&files, up_sql, down_sql)?;
        Ok(files)
    }

    /// Writes a version's two scripts exactly where `files` says (see [`Repository::planned`]);
    /// never overwrites, leaves neither behind on failure.
    pub fn write_planned(&self, files: &VersionFiles, up_sql: &str, down_sql: &str) -> Result<()> {
        write_new_file(&files.up, up_sql.as_bytes())?;
        if let Err(e) = write_new_file(&files.down, down_sql.as_bytes()) {
            let _ = fs::remove_file(&files.up);
            return Err(e);
        }
        Ok(())
    }

    /// Removes a version's two scripts (undoes [`Repository::write_version`]).
    pub fn remove_version(&self, files: &VersionFiles) -> Result<()> {
        for p in [&files.up, &files.down] {
            match fs::remove_file(p) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_err(p, e)),
            }
        }
        Ok(())
    }
}

/// (slug, file name) of one script.
type Named = (String, String);

/// `NNN_slug.up.sql` → (NNN, slug, true).
fn parse_script_name(name: &str) -> Option<(u64, String, bool)> {
    let (stem, up) = if let Some(s) = name.strip_suffix(".up.sql") {
        (s, true)
    } else if let Some(s) = name.strip_suffix(".down.sql") {
        (s, false)
    } else {
        return None;
    };
    let (num, slug) = stem.split_once('_')?;
    if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit()) || slug.is_empty() {
        return None;
    }
    let version: u64 = num.parse().ok()?;
    if version == 0 {
        return None;
    }
    Some((version, slug.to_string(), up))
}

/// Reads `key=value` (or `key: value`) lines of the `[db_settings]` section; `#`/`;` comments.
fn parse_config(path: &Path, text: &str) -> Result<BTreeMap<String, String>, RepositoryError> {
    let mut out = BTreeMap::new();
    let mut section: Option<String> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        let bad = |msg: &str| RepositoryError::Config {
            file: path.to_path_buf(),
            line: i + 1,
            message: format!("{msg}: {raw:?}"),
        };
        if line.starts_with('[') {
            let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) else {
                return Err(bad("malformed section header"));
            };
            section = Some(name.trim().to_string());
            continue;
        }
        let split = line
            .find(['=', ':'])
            .ok_or_else(|| bad("expected `key=value`"))?;
        let key = line[..split].trim();
        let value = line[split + 1..].trim();
        if key.is_empty() {
            return Err(bad("expected `key=value`"));
        }
        match section.as_deref() {
            Some("db_settings") => {
                out.insert(key.to_ascii_lowercase(), value.to_string());
            }
            Some(_) => {}
            None => {
                return Err(bad(
                    "setting outside a section (expected [db_settings] first)",
                ))
            }
        }
    }
    Ok(out)
}

/// Writes `bytes` to `path` via a temporary file and a hard link, failing if `path` exists.
fn write_new_file(path: &Path, bytes: &[u8]) -> Result<()> {
    if path.exists() {
        return Err(Error::File {
            path: path.to_path_buf(),
            message: "already exists; refusing to overwrite".into(),
        });
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        Ok(())
    };
    if let Err(e) = write() {
        let _ = fs::remove_file(&tmp);
        return Err(io_err(&tmp, e));
    }
    // A hard link fails if the target exists, unlike rename; fall back to rename where links
    // are unsupported.
    let result = match fs::hard_link(&tmp, path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(Error::File {
            path: path.to_path_buf(),
            message: "already exists; refusing to overwrite".into(),
        }),
        Err(_) if !path.exists() => fs::rename(&tmp, path).map_err(|e| io_err(path, e)),
        Err(e) => Err(io_err(path, e)),
    };
    let _ = fs::remove_file(&tmp);
    result
}

/// A file-name slug: lowercase ASCII words joined by `_`, at most 50 characters,
/// `migration` when nothing is left.
pub fn slugify(message: &str) -> String {
    const MAX: usize = 50;
    let mut out = String::new();
    for word in message
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        let word = word.to_ascii_lowercase();
        let extra = if out.is_empty() {
            word.len()
        } else {
            word.len() + 1
        };
        if out.len() + extra > MAX {
            if out.is_empty() {
                out.push_str(&word[..MAX]);
            }
            break;
        }
        if !out.is_empty() {
            out.push('_');
        }
        out.push_str(&word);
    }
    if out.is_empty() {
        "migration".to_string()
    } else {
        out
    }
}

/// SHA-256 of `bytes` as lowercase hex.
pub fn checksum(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut s = String::with_capacity(64);
    for b in digest.iter() {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

#[cfg(test)]
mod tests {
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
        let e = Repository::open(&missing).unwrap_err().to_string();
        assert!(
            e.contains("no repository at") && e.contains("dbm create"),
            "{e}"
        );

        let file = dir.path().join("afile");
        fs::write(&file, "x").unwrap();
        let e = Repository::open(&file).unwrap_err().to_string();
        assert!(e.contains("is a file"), "{e}");
        let e = Repository::create(&file, "x").unwrap_err().to_string();
        assert!(e.contains("is a file"), "{e}");

        let empty = dir.path().join("empty");
        fs::create_dir(&empty).unwrap();
        let e = Repository::open(&empty).unwrap_err().to_string();
        assert!(e.contains("migrate.cfg is missing"), "{e}");

        fs::write(
            empty.join("migrate.cfg"),
            "[db_settings]\n# c\nrepository_id=a\nbroken line\n",
        )
        .unwrap();
        let e = Repository::open(&empty).unwrap_err().to_string();
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
        let e = write_new_file(&target, b"new").unwrap_err().to_string();
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
}
