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

/// An opened migration repository: a folder, or the scripts carried in the binary by
/// `embed_migrations!` (then `root` is the folder they were read from at build time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repository {
    pub root: PathBuf,
    pub repository_id: String,
    pub version_table: String,
    scripts: Scripts,
}

/// Where the scripts are read from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Scripts {
    Folder,
    /// `(file name, text)` of every script, as `embed_migrations!` found them.
    Embedded(&'static [(&'static str, &'static str)]),
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
        Self::from_config(root, &text, Scripts::Folder)
    }

    /// A repository whose scripts were embedded in the binary: `root` is the folder they
    /// came from (for messages), `config` the text of its `migrate.cfg`, `scripts` every
    /// `(file name, text)` of `versions/`. Checked like a folder, when versions are listed.
    pub(crate) fn embedded(
        root: &Path,
        config: &str,
        scripts: &'static [(&'static str, &'static str)],
    ) -> Result<Repository> {
        Self::from_config(root, config, Scripts::Embedded(scripts))
    }

    fn from_config(root: &Path, text: &str, scripts: Scripts) -> Result<Repository> {
        let cfg = root.join(CONFIG_FILE);
        let settings = parse_config(&cfg, text)?;
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
            scripts,
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
        let names = match self.scripts {
            Scripts::Folder => script_names(&dir)?,
            Scripts::Embedded(scripts) => scripts.iter().map(|(n, _)| n.to_string()).collect(),
        };
        self.check_names(&dir, names)
    }

    /// The text of one script, from the folder or the binary.
    pub fn read_script(&self, files: &VersionFiles, direction: Direction) -> Result<String> {
        let path = files.script(direction);
        match self.scripts {
            Scripts::Folder => fs::read_to_string(path).map_err(|e| io_err(path, e)),
            Scripts::Embedded(scripts) => {
                let name = path.file_name().map(|n| n.to_string_lossy());
                scripts
                    .iter()
                    .find(|(n, _)| Some(*n) == name.as_deref())
                    .map(|(_, text)| text.to_string())
                    .ok_or_else(|| Error::File {
                        path: path.to_path_buf(),
                        message: "not among the embedded scripts".into(),
                    })
            }
        }
    }

    /// Whether the scripts were embedded in the binary (nothing can be written).
    pub fn is_embedded(&self) -> bool {
        matches!(self.scripts, Scripts::Embedded(_))
    }

    fn writable(&self) -> Result<()> {
        match self.scripts {
            Scripts::Folder => Ok(()),
            Scripts::Embedded(_) => Err(RepositoryError::Embedded {
                root: self.root.clone(),
            }
            .into()),
        }
    }

    fn check_names(&self, dir: &Path, mut names: Vec<String>) -> Result<Vec<VersionFiles>> {
        names.sort();
        let dir = dir.to_path_buf();
        let mut problems: Vec<ScriptProblem> = vec![];
        // version -> (ups, downs) as (slug, file name)
        let mut by_version: BTreeMap<u64, (Vec<Named>, Vec<Named>)> = BTreeMap::new();
        for name in &names {
            // A name reaches messages, offline SQL and its comments: no control characters
            // (a newline in it could start a `sqlite3` dot-command line).
            if name.chars().any(char::is_control) {
                problems.push(ScriptProblem::UnsafeName {
                    file: dir.join(name),
                });
                continue;
            }
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
        self.writable()?;
        write_new_file(&files.up, up_sql.as_bytes())?;
        if let Err(e) = write_new_file(&files.down, down_sql.as_bytes()) {
            let _ = fs::remove_file(&files.up);
            return Err(e);
        }
        Ok(())
    }

    /// Removes a version's two scripts (undoes [`Repository::write_version`]).
    pub fn remove_version(&self, files: &VersionFiles) -> Result<()> {
        self.writable()?;
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
/// The `.sql` file names in `dir`.
fn script_names(dir: &Path) -> Result<Vec<String>> {
    if !dir.is_dir() {
        return Err(RepositoryError::MissingVersions {
            dir: dir.to_path_buf(),
        }
        .into());
    }
    let mut names = vec![];
    for entry in fs::read_dir(dir).map_err(|e| io_err(dir, e))? {
        let entry = entry.map_err(|e| io_err(dir, e))?;
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
    Ok(names)
}

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

/// Writes `bytes` to `path` via a synced temporary file in the same folder, published with
/// `tempfile`'s atomic no-clobber rename (`renameat2(RENAME_NOREPLACE)`, or a hard link):
/// fails if `path` exists, and a crash leaves no half-written script under the final name.
fn write_new_file(path: &Path, bytes: &[u8]) -> Result<()> {
    let exists = || Error::File {
        path: path.to_path_buf(),
        message: "already exists; refusing to overwrite".into(),
    };
    if path.exists() {
        return Err(exists());
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}.tmp-"))
        .tempfile_in(dir)
        .map_err(|e| io_err(dir, e))?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| io_err(tmp.path(), e))?;
    // On failure the temporary file is dropped, which removes it.
    tmp.persist_noclobber(path)
        .map_err(|e| match e.error.kind() {
            std::io::ErrorKind::AlreadyExists => exists(),
            _ => io_err(path, e.error),
        })?;
    Ok(())
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
mod tests;
