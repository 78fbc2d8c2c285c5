//! Offline SQL: what `sqlite3 -bail db.sqlite < file.sql` runs to do what `upgrade` or
//! `downgrade` would, the transaction protocol of [`super::step`] written out as text. Each
//! version is one transaction guarded by the expected version and a foreign-key check (a
//! failed guard is a CHECK-constraint error).

use super::control::{history_ddl, HISTORY_TABLE, UTC_NOW};
use super::pending;
use crate::error::{Error, Result};
use crate::exec::Statements;
use crate::repository::{checksum, Repository};
use crate::script::header::one_line;
use crate::sql::{ident, literal};

/// The SQL that takes a database from version `from` to `to` (upgrade or downgrade).
/// With `allow_modified`, the guards do not compare the applied scripts' checksums.
pub(crate) fn offline_sql(
    repo: &Repository,
    from: u64,
    to: u64,
    allow_modified: bool,
) -> Result<String> {
    let versions = repo.versions()?;
    let latest = versions.last().map_or(0, |v| v.version);
    for version in [from, to] {
        if version > latest {
            return Err(Error::NoSuchVersion { version, latest });
        }
    }
    if from == to {
        return Err(Error::NothingToDo { version: from });
    }
    let control = ident(&repo.version_table);
    let repo_id = literal(&repo.repository_id);
    let repo_id_comment = one_line(&repo_id);
    let guard = "temp.dbm_offline_guard";
    let mut out = String::new();
    let verb = if to > from { "upgrade" } else { "downgrade" };
    // `.bail on` first: the shell's default goes on after an error, and a failed guard
    // followed by the script and COMMIT would apply a version twice.
    out.push_str(&format!(
        ".bail on\n\
         -- dbm offline {verb} of repository {repo_id_comment} from version {from} to {to}.\n\
         -- Run with: sqlite3 DATABASE < this-file.sql (it stops at the first error).\n\
         -- A failing guard stops with \"CHECK constraint failed: ...\" and rolls that version back.\n\n"
    ));
    out.push_str(
        "CREATE TEMP TABLE IF NOT EXISTS dbm_offline_guard (\n  \
         expected_version INTEGER CONSTRAINT \"database is not at the expected version\" CHECK (expected_version),\n  \
         applied_scripts_unchanged INTEGER CONSTRAINT \"applied scripts changed since this SQL was written\" CHECK (applied_scripts_unchanged),\n  \
         no_fk_violations INTEGER CONSTRAINT \"foreign key violations\" CHECK (no_fk_violations)\n);\n"
    );
    // The up scripts' checksums as the repository has them: a database whose history
    // records another script for an applied version is refused, not only one at another
    // version number.
    let mut sums: Vec<(u64, String)> = vec![];
    for v in versions.iter().filter(|v| v.version <= from.max(to)) {
        let bytes = std::fs::read(&v.up).map_err(|e| Error::File {
            path: v.up.clone(),
            message: e.to_string(),
        })?;
        sums.push((v.version, checksum(&bytes)));
    }
    let history = ident(HISTORY_TABLE);
    for step in pending(from, to, &versions)? {
        let (a, b) = (step.from, step.to);
        let path = step.files.script(step.direction);
        let sql = repo.read_script(step.files, step.direction)?;
        let sum = checksum(sql.as_bytes());
        // `versions()` refuses control characters in names; escaped again here because a
        // comment line that a newline ended would be read by the shell as a command.
        let name = one_line(
            &path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        );
        out.push_str(&format!(
            "\n-- {name}: version {a} -> {b}\nPRAGMA foreign_keys=OFF;\nBEGIN IMMEDIATE;\n"
        ));
        out.push_str(&format!(
            "INSERT INTO {guard} (expected_version) SELECT coalesce((SELECT version = {a} FROM {control} WHERE repository_id = {repo_id}), 0);\n"
        ));
        // Created only once the guard passed: an unmanaged database is left as it was.
        out.push_str(&history_ddl());
        out.push_str(";\n");
        let applied: Vec<String> = sums
            .iter()
            .filter(|(v, _)| *v <= a)
            .map(|(v, sum)| format!("({v}, {})", literal(sum)))
            .collect();
        if !applied.is_empty() && !allow_modified {
            out.push_str(&format!(
                "INSERT INTO {guard} (applied_scripts_unchanged) SELECT NOT EXISTS (SELECT 1 FROM (VALUES {}) AS f \
                 WHERE (SELECT h.checksum FROM {history} AS h WHERE h.repository_id = {repo_id} AND h.version = f.column1 \
                 AND h.direction = 'up' ORDER BY h.id DESC LIMIT 1) <> f.column2);\n",
                applied.join(", ")
            ));
        }
        let body = sql.trim_end();
        // What `upgrade` refuses (text that does not split, transaction control) is
        // refused here too, before anything is printed.
        let terminated = Statements::new(body, path)?.terminated();
        out.push_str(body);
        // A trailing `-- comment` line would swallow a `;` on the same line.
        out.push_str(if terminated { "\n" } else { "\n;\n" });
        out.push_str(&format!(
            "INSERT INTO {guard} (no_fk_violations) SELECT count(*) = 0 FROM pragma_foreign_key_check AS v WHERE {};\n",
            super::fk_scope::PARENT_EXISTS
        ));
        out.push_str(&format!(
            "UPDATE {control} SET version = {b} WHERE repository_id = {repo_id};\n"
        ));
        out.push_str(&format!(
            "INSERT INTO {} (repository_id, version, direction, checksum, applied_at, duration_ms) VALUES ({repo_id}, {}, {}, {}, {UTC_NOW}, 0);\n",
            ident(HISTORY_TABLE),
            a.max(b),
            literal(step.direction.as_str()),
            literal(&sum)
        ));
        out.push_str("COMMIT;\nPRAGMA foreign_keys=ON;\n");
    }
    out.push_str(&format!("\nDROP TABLE IF EXISTS {guard};\n"));
    Ok(out)
}
