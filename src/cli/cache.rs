//! The answer of the last `check`/`diff` that found a database matching its model, so the
//! next run with the same inputs answers from one read of `sqlite_schema` instead of
//! parsing the model and inspecting every table (issue 13: `check` ≤ 3x `sqlite3 .schema`).
//!
//! The key is a SHA-256 over everything that decides the answer:
//! - dbm itself: its version, the bundled SQLite's version and the running binary's size and
//!   modification time (a rebuilt binary may compare differently under the same version);
//! - the model: the model file's bytes, or the Rust-declared model's whole value;
//! - the names dbm reserves (the repository's control tables);
//! - the live schema: `PRAGMA schema_version` and every `sqlite_schema` row of `main`
//!   (everything inspect reads, the `pragma_*` facts included, follows from those texts).
//!
//! Only "matches" is stored, and only when the comparison said nothing else (no warning),
//! so a hit prints exactly what the full path would. One file per database, holding the
//! key, under `DBM_CACHE_DIR`, else `$XDG_CACHE_HOME/dbm`, else `~/.cache/dbm`;
//! `DBM_CACHE_DIR=` (empty) turns the cache off. A model given by a command is not cached
//! (running the command is the cost). Any failure to read or write the cache only means
//! the full comparison runs: the cache can make `check` faster, never different.

use super::{config::ModelSource, Ctx};
use rusqlite::Connection;
use sha2::{Digest, Sha256};
use std::path::PathBuf;

/// Bumped when what the key covers changes.
const FORMAT: &str = "dbm check cache 1";

/// Where one database's entry lives and the key of this run's inputs.
pub(super) struct CheckCache {
    file: PathBuf,
    key: String,
    /// The model file's text the key covers: a miss parses these bytes, not a second read
    /// that an edit in between could make differ from the key.
    model_text: Option<String>,
}

impl CheckCache {
    /// The entry for `ctx`'s database and model, with the key read from `conn` (which must
    /// be inside the read transaction the comparison then uses). `None` when the cache is
    /// off or an input cannot be read.
    pub(super) fn new(ctx: &Ctx, conn: &Connection, reserved: &crate::Reserved) -> Option<Self> {
        let dir = dir()?;
        let mut h = Sha256::new();
        let mut part = |bytes: &[u8]| {
            h.update((bytes.len() as u64).to_le_bytes());
            h.update(bytes);
        };
        part(FORMAT.as_bytes());
        part(env!("CARGO_PKG_VERSION").as_bytes());
        part(rusqlite::version().as_bytes());
        let exe = std::fs::metadata(std::env::current_exe().ok()?).ok()?;
        let mtime = exe
            .modified()
            .ok()?
            .duration_since(std::time::UNIX_EPOCH)
            .ok()?;
        part(format!("{} {}", exe.len(), mtime.as_nanos()).as_bytes());
        let mut model_text = None;
        match (&ctx.model, &ctx.settings.model) {
            (Some(model), _) => part(format!("rust {model:?}").as_bytes()),
            (None, ModelSource::File(p)) => {
                part(p.as_os_str().as_encoded_bytes());
                let text = std::fs::read_to_string(p).ok()?;
                part(text.as_bytes());
                model_text = Some(text);
            }
            (None, ModelSource::Command(_)) => return None,
        }
        part(format!("{reserved:?}").as_bytes());
        let version: i64 = conn
            .query_row("PRAGMA schema_version", [], |r| r.get(0))
            .ok()?;
        part(&version.to_le_bytes());
        let mut stmt = conn
            .prepare("SELECT type, name, tbl_name, sql FROM main.sqlite_schema ORDER BY rowid")
            .ok()?;
        let mut rows = stmt.query([]).ok()?;
        while let Some(row) = rows.next().ok()? {
            for i in 0..4 {
                match row.get_ref(i).ok()? {
                    rusqlite::types::ValueRef::Text(t) => part(t),
                    _ => part(b"\0null"),
                }
            }
        }
        let key = hex(&h.finalize());
        let db = std::fs::canonicalize(ctx.db_path()).ok()?;
        let name = hex(&Sha256::digest(db.as_os_str().as_encoded_bytes()));
        Some(CheckCache {
            file: dir.join(format!("check-{}", &name[..32])),
            key,
            model_text,
        })
    }

    /// Whether the last comparison with these inputs found a match.
    pub(super) fn hit(&self) -> bool {
        std::fs::read_to_string(&self.file).is_ok_and(|s| s.trim() == self.key)
    }

    /// Records a match; a cache that cannot be written is left alone (a temporary file
    /// renamed over the entry, so a reader never sees half a key).
    pub(super) fn store(&self) {
        let Some(dir) = self.file.parent() else {
            return;
        };
        if std::fs::create_dir_all(dir).is_err() {
            return;
        }
        if let Ok(mut tmp) = tempfile::NamedTempFile::new_in(dir) {
            use std::io::Write;
            if writeln!(tmp, "{}", self.key).is_ok() {
                let _ = tmp.persist(&self.file);
            }
        }
    }

    /// The model file's text as hashed into the key (`None` for a model declared in Rust).
    pub(super) fn model_text(&self) -> Option<&str> {
        self.model_text.as_deref()
    }

    /// The entry's path (for `--verbose`).
    pub(super) fn path(&self) -> &std::path::Path {
        &self.file
    }
}

fn dir() -> Option<PathBuf> {
    let var = |k| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    match std::env::var_os("DBM_CACHE_DIR") {
        Some(v) if v.is_empty() => None,
        Some(v) => Some(PathBuf::from(v)),
        None => var("XDG_CACHE_HOME")
            .or_else(|| var("HOME").map(|h| h.join(".cache")))
            .map(|d| d.join("dbm")),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
