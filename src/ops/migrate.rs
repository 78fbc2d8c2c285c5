//! `migrate`: generate the next version from the model, check the live rows against it,
//! then write its scripts and apply the up script in one step: the files are written inside
//! the version's transaction and removed again if it does not commit.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use rusqlite::Connection;

use super::generate::{generate, Migration};
use crate::apply::backup::{self, BackupPolicy};
use crate::apply::control::{current_version, reserved};
use crate::apply::interrupted;
use crate::apply::step::{apply_version_hooked, Step, StepOutcome};
use crate::diff::Described;
use crate::error::{Error, Result};
use crate::model::Schema;
use crate::plan::PlanOptions;
use crate::precheck::{at_stake, offenders, undeclared_renames, AtStake, LostTable, Offence};
use crate::progress::{Progress, Watch};
use crate::repository::{checksum, PendingVersion, Repository, VersionFiles};
use crate::risk::Risk;
use crate::script::Direction;

/// Options of [`migrate`] and [`Draft::apply`].
#[derive(Debug, Clone, Default)]
pub struct MigrateOptions {
    /// How the scripts are planned (e.g. the oldest SQLite they must run on).
    pub plan: PlanOptions,
    /// Describes the migration; its slug names the files (default: from the changes).
    pub message: Option<String>,
    /// When to take a copy of the database before the up script runs (as for `upgrade`;
    /// `Auto`: when it destroys data). Taken under the write lock, once there is work.
    pub backup: BackupPolicy,
    /// Apply even though a table holding rows is dropped while a table of the same shape is
    /// created (a rename the model does not declare with `renamed_from`).
    pub accept_data_loss: bool,
    /// Set it (from a Ctrl-C handler, say) to stop: a wait for a lock ends, and a version
    /// not committed yet is rolled back and its scripts removed ([`Error::Interrupted`]).
    pub stop: Option<Arc<AtomicBool>>,
    /// Told as each part starts (backup, the version, rebuilds) and as rows and bytes are
    /// copied, as for `upgrade`. `None` (the default) installs nothing.
    pub progress: Option<Arc<dyn Progress>>,
}

/// The next migration, generated and checked against the rows, not yet written.
#[derive(Debug, Clone)]
pub struct Draft {
    /// The database's version now.
    pub current: u64,
    /// `None` when the database already matches the model.
    pub migration: Option<Migration>,
    /// Live rows the migration's new constraints would reject; [`Draft::apply`] refuses
    /// while there are any.
    pub offences: Vec<Offence>,
    /// Tables dropped with their rows while a twin is created (undeclared renames);
    /// [`Draft::apply`] refuses while there are any, unless data loss is accepted.
    pub lost: Vec<LostTable>,
}

impl Draft {
    /// Why this draft must not be written or applied: rows that do not fit its new
    /// constraints, or (unless data loss is accepted) tables lost to undeclared renames.
    pub fn refusal(&self, accept_data_loss: bool) -> Option<Error> {
        let migration = self.migration.as_ref()?;
        if !self.offences.is_empty() {
            return Some(Error::DataDoesNotFit {
                offences: self.offences.clone(),
                hints: migration.hints.clone(),
            });
        }
        if !self.lost.is_empty() && !accept_data_loss {
            return Some(Error::WouldLoseRows {
                lost: self.lost.clone(),
            });
        }
        None
    }

    /// The risky changes (destructive, or checked against the rows), for warnings.
    pub fn warnings(&self) -> Vec<Described> {
        self.migration
            .iter()
            .flat_map(Migration::changes)
            .filter(|d| d.risk() != Risk::Safe)
            .collect()
    }

    /// Writes the scripts and applies the up script, in the version's transaction.
    /// `Ok(None)` when there was nothing to do.
    ///
    /// Under the write lock, before the script: scripts an interrupted `migrate` of this
    /// database left are removed, the folder must still end where the draft started, the
    /// number is claimed with a marker (no other file may hold it), and the backup is taken
    /// (the database as the step finds it). The scripts are written after the script ran,
    /// before COMMIT; the marker goes once the version committed. On any failure the
    /// scripts, the marker and the backup (a copy of an unchanged database) are removed.
    pub fn apply(
        self,
        conn: &mut Connection,
        repo: &Repository,
        opts: &MigrateOptions,
    ) -> Result<Option<Migrated>> {
        if let Some(e) = self.refusal(opts.accept_data_loss) {
            return Err(e);
        }
        let Some(migration) = self.migration else {
            return Ok(None);
        };
        let files = repo.planned(
            migration.version,
            opts.message.as_deref().unwrap_or(&migration.slug),
        );
        let (up, down) = (&migration.up_sql, &migration.down_sql);
        let step = Step {
            repo,
            sql: up,
            file: &files.up,
            from: self.current,
            to: migration.version,
            direction: Direction::Up,
            checksum: &checksum(up.as_bytes()),
            down_checksum: Some(&checksum(down.as_bytes())),
        };
        let stopped = || {
            opts.stop
                .as_ref()
                .is_some_and(|s| s.load(Ordering::Relaxed))
        };
        let want_backup = backup::wanted(opts.backup, || backup::destroys_data(up));
        let mut claimed: Option<PendingVersion> = None;
        let mut copy: Option<PathBuf> = None;
        let watch = Watch::new(opts.progress.clone(), opts.stop.clone());
        let result = apply_version_hooked(
            conn,
            &step,
            watch.clone(),
            opts.stop.clone(),
            &mut |tx| {
                interrupted::discard_interrupted(tx, repo)?;
                let latest = repo.latest()?;
                if latest != self.current {
                    return Err(Error::RepositoryChanged {
                        expected: self.current,
                        latest,
                    });
                }
                claimed = Some(repo.claim(&files, up, down, &interrupted::database_id(tx))?);
                if want_backup {
                    copy = backup::take_while_writing(tx, self.current, watch.as_ref())?;
                }
                Ok(())
            },
            &mut || {
                repo.write_planned(&files, up, down)?;
                if stopped() {
                    return Err(Error::Interrupted);
                }
                Ok(())
            },
        );
        match result {
            Ok(StepOutcome::Applied { .. }) => {
                if let Some(p) = &claimed {
                    // Should this fail, the next command settles the marker.
                    let _ = repo.settle(p);
                }
                Ok(Some(Migrated {
                    files,
                    migration,
                    backup: copy,
                }))
            }
            Ok(StepOutcome::AlreadyApplied) => Err(Error::AtVersion {
                found: migration.version,
                expected: self.current,
            }),
            Err(e) => {
                if let Some(p) = &claimed {
                    let _ = interrupted::undo(conn, repo, p);
                }
                if let Some(b) = &copy {
                    let _ = std::fs::remove_file(b);
                }
                Err(if stopped() { Error::Interrupted } else { e })
            }
        }
    }
}

/// A migration written and applied.
#[derive(Debug, Clone)]
pub struct Migrated {
    /// Where the two scripts were written.
    pub files: VersionFiles,
    /// The scripts and the changes they make.
    pub migration: Migration,
    /// The copy taken before the up script ran, if any.
    pub backup: Option<PathBuf>,
}

/// Generates the next version of `repo` from `model` and checks the live rows against it.
/// The database must be at the repository's latest version.
pub fn draft(
    conn: &Connection,
    repo: &Repository,
    model: &Schema,
    opts: &PlanOptions,
) -> Result<Draft> {
    interrupted::settle(conn, repo)?;
    let current = current_version(conn, repo)?;
    let latest = repo.latest()?;
    if current < latest {
        return Err(Error::Behind { current, latest });
    }
    if current > latest {
        return Err(Error::AboveLatest {
            current,
            latest,
            root: repo.root.clone(),
        });
    }
    let migration = generate(conn, &reserved(repo), model, latest + 1, opts)?;
    let offences = migration
        .as_ref()
        .map(|m| offenders(conn, &m.changes, &m.target))
        .unwrap_or_default();
    let lost = match &migration {
        Some(m) => undeclared_renames(conn, &m.changes)?,
        None => vec![],
    };
    Ok(Draft {
        current,
        migration,
        offences,
        lost,
    })
}

/// `dbm migrate` in one call: [`draft`], then [`Draft::apply`]. `Ok(None)` when the
/// database already matches the model.
pub fn migrate(
    conn: &mut Connection,
    repo: &Repository,
    model: &Schema,
    opts: &MigrateOptions,
) -> Result<Option<Migrated>> {
    draft(conn, repo, model, &opts.plan)?.apply(conn, repo, opts)
}

/// Review first: the draft's files without applying them (`migrate --no-apply`,
/// `--dry-run`), and what a destructive draft puts at stake (the prompt).
impl Draft {
    /// Where [`Draft::apply`] or [`Draft::write`] would write the scripts.
    pub fn planned_files(&self, repo: &Repository, message: Option<&str>) -> Option<VersionFiles> {
        let m = self.migration.as_ref()?;
        Some(repo.planned(m.version, message.unwrap_or(&m.slug)))
    }

    /// Writes the scripts and applies nothing: a later `upgrade` applies them. Refused like
    /// [`Draft::apply`] when rows do not fit or the repository moved on. `Ok(None)` when there
    /// was nothing to do.
    pub fn write(self, repo: &Repository, opts: &MigrateOptions) -> Result<Option<VersionFiles>> {
        let Some(files) = self.planned_files(repo, opts.message.as_deref()) else {
            return Ok(None);
        };
        if let Some(e) = self.refusal(opts.accept_data_loss) {
            return Err(e);
        }
        let Some(migration) = self.migration else {
            return Ok(None);
        };
        let latest = repo.latest()?;
        if latest != self.current {
            return Err(Error::RepositoryChanged {
                expected: self.current,
                latest,
            });
        }
        repo.write_planned(&files, &migration.up_sql, &migration.down_sql)?;
        Ok(Some(files))
    }

    /// The live rows each destructive change would lose, for a prompt before applying.
    pub fn at_stake(&self, conn: &Connection) -> Vec<AtStake> {
        match &self.migration {
            Some(m) => at_stake(conn, &m.changes()),
            None => vec![],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::control::{db_version, version_control};
    use crate::model::builder::{col, table, SchemaBuilder};

    fn setup() -> (tempfile::TempDir, Repository, Connection, Schema) {
        let dir = tempfile::tempdir().unwrap();
        let (repo, _) = Repository::create(&dir.path().join("repo"), "app").unwrap();
        let conn = Connection::open(dir.path().join("app.db")).unwrap();
        version_control(&conn, &repo, 0).unwrap();
        let model = SchemaBuilder::new()
            .table(table("user").column(col("id", "integer").primary_key()))
            .build()
            .unwrap();
        (dir, repo, conn, model)
    }

    #[test]
    fn a_draft_is_written_and_applied_as_one_step() {
        let (_dir, repo, mut conn, model) = setup();
        let draft = draft(&conn, &repo, &model, &PlanOptions::default()).unwrap();
        assert_eq!(draft.current, 0);
        assert!(draft.offences.is_empty() && draft.warnings().is_empty());
        let done = draft
            .apply(
                &mut conn,
                &repo,
                &MigrateOptions {
                    message: Some("users".into()),
                    ..MigrateOptions::default()
                },
            )
            .unwrap()
            .unwrap();
        assert_eq!(done.files.version, 1);
        assert!(done.files.up.ends_with("001_users.up.sql"));
        assert_eq!(repo.versions().unwrap(), vec![done.files.clone()]);
        assert_eq!(db_version(&conn, &repo).unwrap(), Some(1));
        // Nothing more to do.
        let again = draft_or_none(&conn, &repo, &model);
        assert!(again.is_none());
    }

    fn draft_or_none(conn: &Connection, repo: &Repository, model: &Schema) -> Option<Migration> {
        draft(conn, repo, model, &PlanOptions::default())
            .unwrap()
            .migration
    }

    #[test]
    fn a_repository_that_changed_meanwhile_is_refused_and_nothing_is_written() {
        let (_dir, repo, mut conn, model) = setup();
        let draft = draft(&conn, &repo, &model, &PlanOptions::default()).unwrap();
        // Someone adds a version (a `dbm script`, a `git pull`) before the draft is applied.
        let other = repo
            .write_version("other", "SELECT 1;", "SELECT 1;")
            .unwrap();
        let e = draft
            .apply(&mut conn, &repo, &MigrateOptions::default())
            .unwrap_err();
        assert!(
            matches!(
                e,
                Error::RepositoryChanged {
                    expected: 0,
                    latest: 1
                }
            ),
            "{e}"
        );
        assert_eq!(repo.versions().unwrap(), vec![other]);
        assert_eq!(db_version(&conn, &repo).unwrap(), Some(0));
    }

    #[test]
    fn a_written_draft_is_applied_by_upgrade_and_its_stakes_are_counted() {
        let (_dir, repo, mut conn, model) = setup();
        let d = draft(&conn, &repo, &model, &PlanOptions::default()).unwrap();
        assert!(d.at_stake(&conn).is_empty());
        let files = d
            .write(
                &repo,
                &MigrateOptions {
                    message: Some("users".into()),
                    ..Default::default()
                },
            )
            .unwrap()
            .unwrap();
        assert!(files.up.ends_with("001_users.up.sql") && files.down.is_file());
        assert_eq!(db_version(&conn, &repo).unwrap(), Some(0));
        crate::apply::upgrade(&mut conn, &repo, None, &Default::default()).unwrap();
        assert_eq!(db_version(&conn, &repo).unwrap(), Some(1));
        conn.execute_batch("INSERT INTO user VALUES (1), (2), (3);")
            .unwrap();
        let empty = SchemaBuilder::new().build().unwrap();
        let d = draft(&conn, &repo, &empty, &PlanOptions::default()).unwrap();
        let stakes = d.at_stake(&conn);
        assert_eq!(stakes.len(), 1, "{stakes:?}");
        assert_eq!(stakes[0].rows, Some(3));
        assert!(stakes[0].change.contains("user"), "{stakes:?}");
    }

    #[test]
    fn rows_that_do_not_fit_are_refused_with_their_count() {
        let (_dir, repo, mut conn, model) = setup();
        migrate(&mut conn, &repo, &model, &MigrateOptions::default()).unwrap();
        conn.execute_batch("INSERT INTO user VALUES (1), (2);")
            .unwrap();
        let strict = SchemaBuilder::new()
            .table(
                table("user")
                    .column(col("id", "integer").primary_key())
                    .column(col("name", "text").not_null()),
            )
            .build()
            .unwrap();
        let e = migrate(&mut conn, &repo, &strict, &MigrateOptions::default()).unwrap_err();
        match &e {
            Error::DataDoesNotFit { offences, .. } => {
                assert_eq!(offences.len(), 1);
                assert_eq!((offences[0].table.as_str(), offences[0].rows), ("user", 2));
            }
            other => panic!("unexpected error {other}"),
        }
        assert_eq!(repo.latest().unwrap(), 1);
    }
}
