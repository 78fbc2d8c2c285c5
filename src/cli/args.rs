//! The command line's arguments (clap).

use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "dbm",
    version,
    about = "Schema migrations for SQLite: declare the schema, dbm writes reviewable up/down SQL"
)]
pub(super) struct Cli {
    /// The SQLite database (a path, or a sqlite:///path URL). Overrides DATABASE_URL and dbm.toml.
    #[arg(long, global = true, value_name = "PATH")]
    pub(super) database: Option<String>,
    /// The migration repository folder (default db_repository).
    #[arg(long, global = true, value_name = "DIR")]
    pub(super) repository: Option<PathBuf>,
    /// The declared schema model, TOML (default models.toml).
    #[arg(long, global = true, value_name = "FILE")]
    pub(super) model: Option<PathBuf>,
    /// A program that prints the model as TOML, e.g. "cargo run -q --bin schema" (split as a
    /// shell would, run without one, in the current folder).
    #[arg(long, global = true, value_name = "COMMAND", conflicts_with = "model")]
    pub(super) model_command: Option<String>,
    /// The config file (default ./dbm.toml).
    #[arg(long, global = true, value_name = "FILE")]
    pub(super) config: Option<PathBuf>,
    #[command(subcommand)]
    pub(super) command: Command,
}

#[derive(Debug, clap::Args, Default)]
pub(super) struct ApplyArgs {
    /// Print the SQL (transactions and control-table updates included) instead of running it.
    #[arg(long)]
    pub(super) sql: bool,
    /// Run even though an applied script was edited afterwards.
    #[arg(long)]
    pub(super) allow_modified: bool,
    /// Take a backup before running, whatever the scripts contain.
    #[arg(long, conflicts_with = "no_backup")]
    pub(super) backup: bool,
    /// Never take a backup, even before destructive steps.
    #[arg(long)]
    pub(super) no_backup: bool,
    /// Seconds to wait, in all, for other connections' locks.
    #[arg(long, value_name = "SECONDS", value_parser = timeout_secs)]
    pub(super) timeout: Option<u64>,
    /// All pending versions in one transaction: any failure rolls back every one of them.
    #[arg(long, conflicts_with = "sql")]
    pub(super) single_transaction: bool,
}

/// Many databases instead of one (`upgrade`, `downgrade`, `status`, `check`, `db-version`, `test`).
#[derive(Debug, clap::Args, Default)]
pub(super) struct ManyArgs {
    /// Every database matching GLOB (e.g. 'tenants/*.db'; repeatable) instead of --database.
    #[arg(long, value_name = "GLOB")]
    pub(super) databases: Vec<String>,
    /// Every database listed in FILE, one path per line (`-` for standard input).
    #[arg(long, value_name = "FILE")]
    pub(super) databases_from: Option<PathBuf>,
    /// Databases worked on at the same time (default: the number of cores).
    #[arg(short = 'j', long = "jobs", value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub(super) jobs: Option<u64>,
}

/// How a rollout over many databases goes.
#[derive(Debug, clap::Args, Default)]
pub(super) struct RolloutArgs {
    /// Migrate N databases first; stop if any of them fails.
    #[arg(long, value_name = "N")]
    pub(super) canary: Option<usize>,
    /// Stop starting databases after K failures (default 1).
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u64).range(1..), conflicts_with = "continue_on_error")]
    pub(super) max_failures: Option<u64>,
    /// Go on whatever fails (the failures are reported at the end).
    #[arg(long)]
    pub(super) continue_on_error: bool,
    /// One JSON object per database on standard output, as each finishes.
    #[arg(long)]
    pub(super) json: bool,
}

impl RolloutArgs {
    /// Refuses rollout flags on a command for one database.
    pub(super) fn single(&self) -> anyhow::Result<()> {
        if self.canary.is_some()
            || self.max_failures.is_some()
            || self.continue_on_error
            || self.json
        {
            anyhow::bail!("--canary, --max-failures, --continue-on-error and --json apply to many databases: add --databases GLOB or --databases-from FILE");
        }
        Ok(())
    }
}

#[derive(Debug, Subcommand)]
pub(super) enum Command {
    /// Create the repository (if absent) and put the database under version control at version 0.
    Create,
    /// Diff the model against the database, write the next up/down scripts, apply the up script.
    Migrate {
        /// Describes the migration; its slug names the files.
        #[arg(short, long, value_parser = one_line)]
        message: Option<String>,
    },
    /// Upgrade the database to VERSION (default: the latest).
    Upgrade {
        #[arg(allow_hyphen_values = true)]
        version: Option<String>,
        /// Create the database file (and put it under version control) if it does not exist.
        #[arg(long)]
        create: bool,
        #[command(flatten)]
        opts: ApplyArgs,
        #[command(flatten)]
        many: ManyArgs,
        #[command(flatten)]
        rollout: RolloutArgs,
    },
    /// Downgrade the database to VERSION (default: one step down; required with --databases).
    Downgrade {
        #[arg(allow_hyphen_values = true)]
        version: Option<String>,
        #[command(flatten)]
        opts: ApplyArgs,
        #[command(flatten)]
        many: ManyArgs,
        #[command(flatten)]
        rollout: RolloutArgs,
    },
    /// Print the repository's latest version.
    Version,
    /// Print the database's version.
    DbVersion {
        #[command(flatten)]
        many: ManyArgs,
    },
    /// Write a new empty up/down pair for hand-written SQL.
    Script {
        #[arg(value_parser = one_line)]
        message: String,
    },
    /// Print the live database's schema as model TOML.
    CreateModel,
    /// Print the differences between the model and the database (exit 0).
    Diff {
        /// Also print the SQL that `migrate` would write.
        #[arg(long)]
        sql: bool,
    },
    /// Exit 0 when the model and the database match, 1 when they differ (for CI).
    Check {
        #[command(flatten)]
        many: ManyArgs,
    },
    /// Database version, repository latest, pending versions, edited scripts, drift.
    Status {
        #[command(flatten)]
        many: ManyArgs,
    },
    /// The applied-scripts history recorded in the database.
    History,
    /// Up to the latest, down to 0 and up again, comparing schemas: from empty, then on an in-memory copy of the data.
    Test {
        #[command(flatten)]
        many: ManyArgs,
    },
    /// Put an existing database under version control at VERSION (default 0).
    VersionControl {
        #[arg(allow_hyphen_values = true)]
        version: Option<String>,
    },
    /// Remove the database from version control (drops the control tables only).
    DropVersionControl,
    /// Report destructive and risky changes of existing scripts.
    Lint {
        #[arg(allow_hyphen_values = true)]
        versions: Vec<String>,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
}

/// A migration message: one line of text. It becomes a file name's slug and a comment line
/// of the script's header, where a newline would end the comment and turn the rest of the
/// message into live SQL; refusing it says so, where rewriting it would silently change it.
fn one_line(s: &str) -> Result<String, String> {
    match s.chars().find(|c| c.is_control()) {
        Some(c) => Err(format!(
            "a message must be one line of text; it contains the control character {:?} (U+{:04X})",
            c, c as u32
        )),
        None => Ok(s.to_string()),
    }
}

fn timeout_secs(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let secs = match t.parse::<u64>() {
        Ok(n) => n,
        Err(_) if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) => u64::MAX,
        Err(_) => return Err(format!("`{s}` is not a whole number of seconds")),
    };
    super::config::check_lock_timeout(secs, "--timeout").map_err(|e| e.to_string())
}

/// A version number from the command line, with a clear error for what is not one.
pub(super) fn parse_version(s: &str) -> anyhow::Result<u64> {
    let t = s.trim();
    t.parse::<u64>().map_err(|_| {
        if t.starts_with('-') && t[1..].chars().all(|c| c.is_ascii_digit()) && t.len() > 1 {
            anyhow::anyhow!("version `{s}` is negative: versions are whole numbers from 0")
        } else if !t.is_empty() && t.chars().all(|c| c.is_ascii_digit()) {
            anyhow::anyhow!("version `{s}` is too large")
        } else {
            anyhow::anyhow!("version `{s}` is not a number: versions are whole numbers from 0")
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_with_clear_errors() {
        assert_eq!(parse_version("3").unwrap(), 3);
        assert!(parse_version("-1")
            .unwrap_err()
            .to_string()
            .contains("negative"));
        assert!(parse_version("abc")
            .unwrap_err()
            .to_string()
            .contains("not a number"));
        assert!(parse_version("99999999999999999999999")
            .unwrap_err()
            .to_string()
            .contains("too large"));
    }

    #[test]
    fn cli_definition_is_valid() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
