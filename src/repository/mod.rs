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
    /// The repository's folder (for embedded scripts, the one they were read from at build time).
    pub root: PathBuf,
    /// `repository_id` of `migrate.cfg`: the database's control row is keyed by it.
    pub repository_id: String,
    /// `version_table` of `migrate.cfg`, the control table (default `migrate_version`).
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
    /// The version number (1 ..= latest).
    pub version: u64,
    /// The file names' slug (`create_user` in `001_create_user.up.sql`).
    pub slug: String,
    /// `versions/NNN_slug.up.sql`.
    pub up: PathBuf,
    /// `versions/NNN_slug.down.sql`.
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
            Scripts::Folder => {
                if !dir.is_dir() {
                    return Err(RepositoryError::MissingVersions { dir }.into());
                }
                // One listing for the markers and the scripts. The scripts of a version not
                // committed yet are not part of the repository.
                let entries = entry_names(&dir)?;
                let pending: Vec<String> = pending_in(&dir, &entries)?
                    .iter()
                    .flat_map(|p| p.files.iter().filter_map(|(f, _)| file_name(f)))
                    .collect();
                entries
                    .into_iter()
                    .filter(|n| n.to_ascii_lowercase().ends_with(".sql") && !pending.contains(n))
                    .collect()
            }
            Scripts::Embedded(scripts) => scripts.iter().map(|(n, _)| n.to_string()).collect(),
        };
        self.check_names(&dir, names)
    }

    /// The versions whose scripts are being written, or were left by a `dbm migrate` that
    /// did not finish (see [`PendingVersion`]), in version order.
    pub fn pending_versions(&self) -> Result<Vec<PendingVersion>> {
        if self.is_embedded() {
            return Ok(vec![]);
        }
        let dir = self.versions_dir();
        pending_in(&dir, &entry_names(&dir)?)
    }

    /// Claims `files.version` for a version about to be written for `database`: writes its
    /// marker (create-new, synced before any script is), then makes sure no other file
    /// claims the number (a half pair, another slug). Refuses, leaving nothing, when another
    /// writer holds the number or a file already has it.
    pub fn claim(
        &self,
        files: &VersionFiles,
        up_sql: &str,
        down_sql: &str,
        database: &str,
    ) -> Result<PendingVersion> {
        self.writable()?;
        let pending = PendingVersion {
            version: files.version,
            database: database.to_string(),
            files: vec![
                (files.up.clone(), checksum(up_sql.as_bytes())),
                (files.down.clone(), checksum(down_sql.as_bytes())),
            ],
            marker: self.marker_path(files.version),
        };
        if let Err(e) = write_new_file(&pending.marker, marker_text(&pending).as_bytes()) {
            return Err(match read_marker(&pending.marker) {
                Ok(other) => in_progress(other),
                Err(_) => e,
            });
        }
        let _ = sync_dir(&self.versions_dir());
        match self.other_claimant(files.version, &[]) {
            Ok(None) => Ok(pending),
            Ok(Some(file)) => {
                let _ = fs::remove_file(&pending.marker);
                Err(RepositoryError::VersionTaken {
                    version: files.version,
                    file,
                }
                .into())
            }
            Err(e) => {
                let _ = fs::remove_file(&pending.marker);
                Err(e)
            }
        }
    }

    /// The version committed: its marker goes, its scripts join the repository.
    pub fn settle(&self, pending: &PendingVersion) -> Result<()> {
        match fs::remove_file(&pending.marker) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err(&pending.marker, e)),
        }
        let _ = sync_dir(&self.versions_dir());
        Ok(())
    }

    /// The version never committed: removes its scripts (those still holding the text the
    /// marker names), the temporary files of an interrupted write, then the marker.
    pub fn discard(&self, pending: &PendingVersion) -> Result<()> {
        self.writable()?;
        let dir = self.versions_dir();
        let names = entry_names(&dir)?;
        let marker_name = file_name(&pending.marker).unwrap_or_default();
        for (file, sum) in &pending.files {
            let ours = fs::read(file).is_ok_and(|bytes| checksum(&bytes) == *sum);
            if ours {
                fs::remove_file(file).map_err(|e| io_err(file, e))?;
            }
        }
        let temps = pending
            .files
            .iter()
            .filter_map(|(f, _)| file_name(f))
            .chain([marker_name])
            .map(|n| format!(".{n}.tmp-"))
            .collect::<Vec<_>>();
        for name in names
            .iter()
            .filter(|n| temps.iter().any(|t| n.starts_with(t)))
        {
            let _ = fs::remove_file(dir.join(name));
        }
        self.settle(pending)
    }

    /// Removes the temporary files of markers never published (a kill while one was being
    /// written: no script was written yet).
    pub fn remove_unpublished_markers(&self) -> Result<()> {
        self.writable()?;
        let dir = self.versions_dir();
        let names = entry_names(&dir)?;
        for name in &names {
            let Some(rest) = name.strip_prefix(&format!(".{PENDING_PREFIX}")) else {
                continue;
            };
            let Some((num, _)) = rest.split_once(".tmp-") else {
                continue;
            };
            if !names.contains(&format!("{PENDING_PREFIX}{num}")) {
                let _ = fs::remove_file(dir.join(name));
            }
        }
        Ok(())
    }

    fn marker_path(&self, version: u64) -> PathBuf {
        self.versions_dir()
            .join(format!("{PENDING_PREFIX}{version:03}"))
    }

    /// A script file other than `except` whose name claims `version` (`NNN_….sql`, whatever
    /// follows the number: a half pair, another slug, a name the rules refuse).
    fn other_claimant(&self, version: u64, except: &[&Path]) -> Result<Option<PathBuf>> {
        let dir = self.versions_dir();
        for name in entry_names(&dir)? {
            let digits: String = name.chars().take_while(char::is_ascii_digit).collect();
            let claims = !digits.is_empty()
                && digits.parse::<u64>().ok() == Some(version)
                && name[digits.len()..].starts_with('_')
                && name.to_ascii_lowercase().ends_with(".sql");
            let path = dir.join(&name);
            if claims && !except.contains(&path.as_path()) {
                return Ok(Some(path));
            }
        }
        Ok(None)
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

    /// SHA-256 of each script (`checksum` of its bytes), in the order given. Every run
    /// re-checks every applied script, so a long history reads hundreds of files: they
    /// are read on a few threads, each reusing one buffer.
    pub fn checksums(&self, scripts: &[(&VersionFiles, Direction)]) -> Result<Vec<String>> {
        const PER_THREAD: usize = 64;
        let one = |buf: &mut Vec<u8>, (files, direction): &(&VersionFiles, Direction)| {
            let path = files.script(*direction);
            match self.scripts {
                Scripts::Folder => {
                    use std::io::Read as _;
                    buf.clear();
                    // Through `take`, `read_to_end` skips `File`'s size hint (a `statx` and
                    // an `lseek` per file): the reused buffer rarely needs to grow.
                    fs::File::open(path)
                        .and_then(|f| f.take(u64::MAX).read_to_end(buf))
                        .map_err(|e| io_err(path, e))?;
                    Ok(checksum(buf))
                }
                Scripts::Embedded(_) => {
                    Ok(checksum(self.read_script(files, *direction)?.as_bytes()))
                }
            }
        };
        let chunk = |part: &[(&VersionFiles, Direction)]| {
            let mut buf = Vec::new();
            part.iter()
                .map(|s| one(&mut buf, s))
                .collect::<Result<Vec<_>>>()
        };
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(scripts.len().div_ceil(PER_THREAD));
        if threads <= 1 {
            return chunk(scripts);
        }
        let size = scripts.len().div_ceil(threads);
        std::thread::scope(|scope| {
            let parts: Vec<_> = scripts
                .chunks(size)
                .map(|part| scope.spawn(move || chunk(part)))
                .collect();
            let mut out = Vec::with_capacity(scripts.len());
            for part in parts {
                match part.join() {
                    Ok(sums) => out.extend(sums?),
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            }
            Ok(out)
        })
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
    ///
    /// A `dbm migrate` writing the same number meanwhile is detected either way round: it
    /// claims the number before it writes and then looks for other files with it, while this
    /// writes first and then looks for its claim (or its files): at least one of the two
    /// refuses.
    pub fn write_version(&self, slug: &str, up_sql: &str, down_sql: &str) -> Result<VersionFiles> {
        let files = self.planned(self.latest()? + 1, slug);
        let clash = |repo: &Repository| -> Result<Option<Error>> {
            if let Some(p) = repo
                .pending_versions()?
                .into_iter()
                .find(|p| p.version == files.version)
            {
                return Ok(Some(in_progress(p)));
            }
            Ok(repo
                .other_claimant(files.version, &[&files.up, &files.down])?
                .map(|file| {
                    RepositoryError::VersionTaken {
                        version: files.version,
                        file,
                    }
                    .into()
                }))
        };
        if let Some(e) = clash(self)? {
            return Err(e);
        }
        self.write_planned(&files, up_sql, down_sql)?;
        match clash(self) {
            Ok(None) => Ok(files),
            Ok(Some(e)) | Err(e) => {
                let _ = self.remove_version(&files);
                Err(e)
            }
        }
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
        let _ = sync_dir(&self.versions_dir());
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

/// A pending version's marker in `versions/`: `.dbm-pending-NNN` (hidden, not `.sql`).
const PENDING_PREFIX: &str = ".dbm-pending-";

/// A version whose scripts are written but not committed. `dbm migrate` writes this marker
/// under the database's write lock before the scripts and removes it once the version
/// commits, so a kill in between leaves scripts that are recognised, not a repository that
/// breaks every command: while the marker is there, [`Repository::versions`] leaves its
/// scripts out, and the next command on `database` settles it (applied: the marker goes;
/// not applied: the scripts go).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingVersion {
    /// The version being written.
    pub version: u64,
    /// The database the version is being applied to: its canonical path, empty when it has
    /// none (in memory).
    pub database: String,
    /// Each script and the SHA-256 of its text.
    pub files: Vec<(PathBuf, String)>,
    /// The marker file, `versions/.dbm-pending-NNN`.
    pub marker: PathBuf,
}

fn in_progress(p: PendingVersion) -> Error {
    RepositoryError::VersionInProgress {
        version: p.version,
        database: p.database,
        marker: p.marker,
    }
    .into()
}

fn file_name(path: &Path) -> Option<String> {
    path.file_name().map(|n| n.to_string_lossy().into_owned())
}

/// The marker's text: the database comes last, as the rest of its line.
fn marker_text(p: &PendingVersion) -> String {
    let mut out = format!(
        "# dbm: version {} is being written by `dbm migrate`; its scripts are not part of the repository until it commits\nversion = {}\n",
        p.version, p.version
    );
    for (file, sum) in &p.files {
        out.push_str(&format!(
            "file = {sum} {}\n",
            file_name(file).unwrap_or_default()
        ));
    }
    out.push_str(&format!("database = {}\n", p.database));
    out
}

fn read_marker(path: &Path) -> Result<PendingVersion> {
    let text = fs::read_to_string(path).map_err(|e| io_err(path, e))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let bad = || Error::File {
        path: path.to_path_buf(),
        message: "not a dbm pending-version marker (remove it if no `dbm migrate` is running)"
            .into(),
    };
    let (mut version, mut database, mut files) = (None, None, vec![]);
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let (key, value) = line.split_once(" = ").ok_or_else(bad)?;
        match key {
            "version" => version = Some(value.parse::<u64>().map_err(|_| bad())?),
            "database" => database = Some(value.to_string()),
            "file" => {
                let (sum, name) = value.split_once(' ').ok_or_else(bad)?;
                // Only names of this folder: a marker never removes anything elsewhere.
                if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
                    return Err(bad());
                }
                files.push((dir.join(name), sum.to_string()));
            }
            _ => return Err(bad()),
        }
    }
    match (version, database) {
        (Some(version), Some(database)) if !files.is_empty() => Ok(PendingVersion {
            version,
            database,
            files,
            marker: path.to_path_buf(),
        }),
        _ => Err(bad()),
    }
}

/// Every entry name in `dir` that is not a folder.
fn entry_names(dir: &Path) -> Result<Vec<String>> {
    let mut names = vec![];
    for entry in fs::read_dir(dir).map_err(|e| io_err(dir, e))? {
        let entry = entry.map_err(|e| io_err(dir, e))?;
        if !entry
            .file_type()
            .map_err(|e| io_err(&entry.path(), e))?
            .is_dir()
        {
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    Ok(names)
}

/// The markers among `names` (the files of `dir`), read, in version order.
fn pending_in(dir: &Path, names: &[String]) -> Result<Vec<PendingVersion>> {
    let mut out = vec![];
    for name in names {
        let Some(num) = name.strip_prefix(PENDING_PREFIX) else {
            continue;
        };
        if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        match read_marker(&dir.join(name)) {
            Ok(p) => out.push(p),
            // Settled by another process since the folder was listed.
            Err(_) if !dir.join(name).exists() => {}
            Err(e) => return Err(e),
        }
    }
    out.sort_by_key(|p| p.version);
    Ok(out)
}

/// Syncs a folder so the names just linked or removed in it survive a crash.
#[cfg(unix)]
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    fs::File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_: &Path) -> std::io::Result<()> {
    Ok(())
}

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
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = Sha256::digest(bytes);
    // Every run re-hashes every applied script: no `format!` per byte.
    let mut s = String::with_capacity(64);
    for b in digest.iter() {
        s.push(HEX[usize::from(b >> 4)] as char);
        s.push(HEX[usize::from(b & 0xf)] as char);
    }
    s
}

#[cfg(test)]
mod tests;
