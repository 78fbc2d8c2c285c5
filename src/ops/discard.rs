//! `discard`: remove the repository's latest version while no database has it applied, so
//! that the next `migrate` writes it again from the edited model (the development loop:
//! migrate, try, downgrade, edit the model, discard, migrate).

use std::time::Duration;

use rusqlite::{Connection, Transaction, TransactionBehavior};

use crate::apply::control::{current_version, outside_transaction};
use crate::error::{map_busy, Error, LockHolder, Result};
use crate::repository::{Repository, VersionFiles};

/// Removes the scripts of `version` (default: the repository's latest) after checking, under
/// the database's write lock so no upgrade applies it meanwhile, that it is the latest and
/// that `conn`'s database is below it. Refused, nothing removed, otherwise. Other databases
/// the repository serves are not checked: discard only what was never deployed.
pub fn discard(conn: &Connection, repo: &Repository, version: Option<u64>) -> Result<VersionFiles> {
    outside_transaction(conn)?;
    let latest = repo.latest()?;
    if latest == 0 {
        return Err(Error::NothingToDiscard);
    }
    let version = version.unwrap_or(latest);
    if version != latest {
        return Err(match version {
            v if v > latest => Error::NoSuchVersion { version, latest },
            _ => Error::DiscardNotLatest { version, latest },
        });
    }
    let files = repo.version(version)?;
    let tx = Transaction::new_unchecked(conn, TransactionBehavior::Immediate)
        .map_err(|e| map_busy(e, Duration::ZERO, LockHolder::Writer))?;
    let current = current_version(&tx, repo)?;
    if current > latest {
        return Err(Error::AboveLatest {
            current,
            latest,
            root: repo.root.clone(),
        });
    }
    if current >= version {
        return Err(Error::DiscardApplied { version, current });
    }
    repo.remove_version(&files)?;
    tx.rollback()?;
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::control::version_control;

    #[test]
    fn only_the_unapplied_latest_version_goes() {
        let dir = tempfile::tempdir().unwrap();
        let (repo, _) = Repository::create(&dir.path().join("repo"), "app").unwrap();
        let conn = Connection::open(dir.path().join("app.db")).unwrap();
        assert!(matches!(
            discard(&conn, &repo, None),
            Err(Error::NothingToDiscard)
        ));
        let one = repo.write_version("one", "SELECT 1;", "SELECT 1;").unwrap();
        let two = repo.write_version("two", "SELECT 2;", "SELECT 2;").unwrap();
        // Not under version control: refused.
        assert!(matches!(
            discard(&conn, &repo, None),
            Err(Error::NotControlled { .. })
        ));
        version_control(&conn, &repo, 2).unwrap();
        let e = discard(&conn, &repo, None).unwrap_err();
        assert!(
            matches!(
                e,
                Error::DiscardApplied {
                    version: 2,
                    current: 2
                }
            ),
            "{e}"
        );
        conn.execute("UPDATE migrate_version SET version = 0", [])
            .unwrap();
        let e = discard(&conn, &repo, Some(1)).unwrap_err();
        assert!(
            matches!(
                e,
                Error::DiscardNotLatest {
                    version: 1,
                    latest: 2
                }
            ),
            "{e}"
        );
        let e = discard(&conn, &repo, Some(3)).unwrap_err();
        assert!(matches!(e, Error::NoSuchVersion { version: 3, .. }), "{e}");
        assert_eq!(repo.versions().unwrap(), vec![one.clone(), two.clone()]);
        assert_eq!(discard(&conn, &repo, Some(2)).unwrap(), two);
        assert_eq!(repo.versions().unwrap(), vec![one.clone()]);
        assert_eq!(discard(&conn, &repo, None).unwrap(), one);
        assert!(repo.versions().unwrap().is_empty());
        // Inside the caller's transaction: refused.
        repo.write_version("again", "SELECT 1;", "SELECT 1;")
            .unwrap();
        conn.execute_batch("BEGIN").unwrap();
        assert!(matches!(
            discard(&conn, &repo, None),
            Err(Error::OpenTransaction)
        ));
        assert_eq!(repo.latest().unwrap(), 1);
    }
}
