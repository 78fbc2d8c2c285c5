//! The command line's arguments (clap).

use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "dbm",
    version,
    about = "Schema migrations for SQLite: declare the schema, dbm writes reviewable up/down SQL",
    after_help = "Exit codes: 0 success; 1 a check found something (check: differences; status --check: drift or edited scripts; lint --deny: findings); 2 any error."
)]
pub(super) struct Cli {
    /// The SQLite database: a path, or a URL `sqlite:PATH`, `sqlite://PATH`, `sqlite:///PATH`
    /// (`?mode=ro` for read-only). Overrides DATABASE_URL and dbm.toml.
    #[arg(
        short = 'D',
        long,
        visible_alias = "database-url",
        global = true,
        value_name = "PATH|URL"
    )]
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
    /// Print only results and errors: no progress lines, notes, hints or warnings.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub(super) quiet: bool,
    /// Also say which database, repository and model the command works on (on stderr).
    #[arg(short, long, global = true)]
    pub(super) verbose: bool,
    /// Machine-readable output: one JSON document on stdout (one object per database over
    /// many), errors as `{"error": "...", "exit": 2}` on stderr; exit codes unchanged.
    #[arg(long, global = true)]
    pub(super) json: bool,
    /// When to colour the output (`--json` never is).
    #[arg(long, global = true, value_name = "WHEN", default_value = "auto")]
    pub(super) color: super::style::When,
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

/// `migrate`: review before applying, or apply without being asked.
#[derive(Debug, clap::Args, Default)]
pub(super) struct ReviewArgs {
    /// Write the scripts (verified as usual) and apply nothing; `dbm upgrade` applies them.
    #[arg(long, conflicts_with = "dry_run")]
    pub(super) no_apply: bool,
    /// Print the up and down scripts that would be written; write nothing, apply nothing.
    #[arg(long)]
    pub(super) dry_run: bool,
    /// Apply a destructive migration without asking (in a terminal dbm asks first).
    #[arg(short = 'y', long)]
    pub(super) yes: bool,
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
}

impl RolloutArgs {
    /// Refuses rollout flags on a command for one database.
    pub(super) fn single(&self) -> anyhow::Result<()> {
        if self.canary.is_some() || self.max_failures.is_some() || self.continue_on_error {
            anyhow::bail!("--canary, --max-failures and --continue-on-error apply to many databases: add --databases GLOB or --databases-from FILE");
        }
        Ok(())
    }
}

#[derive(Debug, Subcommand)]
pub(super) enum Command {
    /// Create the repository (if absent) and put the database under version control at version 0.
    #[command(after_help = "Example:\n  dbm --database app.db --repository db_repository create")]
    Create,
    /// Diff the model against the database, write the next up/down scripts, apply the up script.
    #[command(
        after_help = "Examples:\n  dbm migrate -m \"add user email\"\n  dbm migrate --dry-run\n  dbm migrate --no-apply && git diff && dbm upgrade\n  dbm --model-command \"cargo run -q --bin schema\" migrate"
    )]
    Migrate {
        /// Describes the migration; its slug names the files.
        #[arg(short, long, value_parser = one_line)]
        message: Option<String>,
        /// Take a backup before applying, whatever the script contains.
        #[arg(long, conflicts_with = "no_backup")]
        backup: bool,
        /// Never take a backup, even before a destructive script.
        #[arg(long)]
        no_backup: bool,
        /// Apply even though a table holding rows is dropped while a table of the same
        /// columns is created (a rename not declared with renamed_from): its rows are lost.
        #[arg(long)]
        accept_data_loss: bool,
        #[command(flatten)]
        review: ReviewArgs,
    },
    /// Remove the latest version's scripts while the database does not have it applied, so the
    /// next `migrate` writes it again (after a `downgrade`, to redo it from an edited model).
    #[command(
        after_help = "Example:\n  dbm downgrade && dbm discard && dbm migrate -m \"add user email\""
    )]
    Discard {
        /// The version to discard; must be the latest (default: the latest).
        #[arg(allow_hyphen_values = true, value_name = "VERSION")]
        version: Option<String>,
    },
    /// Upgrade the database to VERSION (default: the latest).
    #[command(
        after_help = "Examples:\n  dbm upgrade\n  dbm upgrade 3 --sql > upgrade.sql\n  dbm upgrade --databases 'tenants/*.db' --canary 2"
    )]
    Upgrade {
        /// The version to reach (default: the repository's latest).
        #[arg(allow_hyphen_values = true, value_name = "VERSION")]
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
    #[command(after_help = "Examples:\n  dbm downgrade\n  dbm downgrade 0 --sql")]
    Downgrade {
        /// The version to go down to (default: one below the database's).
        #[arg(allow_hyphen_values = true, value_name = "VERSION")]
        version: Option<String>,
        #[command(flatten)]
        opts: ApplyArgs,
        #[command(flatten)]
        many: ManyArgs,
        #[command(flatten)]
        rollout: RolloutArgs,
    },
    /// Print the repository's latest version.
    #[command(after_help = "Example:\n  dbm version")]
    Version,
    /// Print the database's version.
    #[command(
        after_help = "Examples:\n  dbm db-version\n  dbm db-version --databases 'tenants/*.db'"
    )]
    DbVersion {
        #[command(flatten)]
        many: ManyArgs,
    },
    /// Write a new empty up/down pair for hand-written SQL.
    #[command(after_help = "Example:\n  dbm script \"backfill user names\"")]
    Script {
        /// Describes the script; its slug names the files.
        #[arg(value_parser = one_line, value_name = "MESSAGE")]
        message: String,
    },
    /// Print the live database's schema as model TOML.
    #[command(after_help = "Example:\n  dbm --database app.db create-model > models.toml")]
    CreateModel,
    /// Print the differences between the model and the database (exit 0).
    #[command(after_help = "Examples:\n  dbm diff\n  dbm diff --sql")]
    Diff {
        /// Also print the SQL that `migrate` would write.
        #[arg(long)]
        sql: bool,
    },
    /// Exit 0 when the model and the database match, 1 when they differ (for CI).
    #[command(after_help = "Example:\n  dbm check || echo \"run dbm migrate\"")]
    Check {
        #[command(flatten)]
        many: ManyArgs,
    },
    /// Database version, repository latest, pending versions, edited scripts, drift.
    #[command(
        after_help = "Exit codes: 0 done; 1 with --check when the schema drifted or an applied script was edited; 2 error.\n\nExamples:\n  dbm status\n  dbm status --check --json"
    )]
    Status {
        /// Exit 1 when the live schema differs from what the applied scripts make (or that
        /// cannot be told) or an applied script was edited since (for CI).
        #[arg(long)]
        check: bool,
        #[command(flatten)]
        many: ManyArgs,
    },
    /// The applied-scripts history recorded in the database.
    #[command(after_help = "Example:\n  dbm history")]
    History,
    /// Up to the latest, down to 0 and up again, comparing schemas: from empty, then on an in-memory copy of the data.
    #[command(after_help = "Example:\n  dbm test")]
    Test {
        #[command(flatten)]
        many: ManyArgs,
    },
    /// Put an existing database under version control at VERSION (default 0).
    #[command(after_help = "Example:\n  dbm --database legacy.db version-control 4")]
    VersionControl {
        /// The version the database's schema already is at (default 0).
        #[arg(allow_hyphen_values = true, value_name = "VERSION")]
        version: Option<String>,
    },
    /// Remove the database from version control (drops the control tables only).
    #[command(after_help = "Example:\n  dbm drop-version-control")]
    DropVersionControl,
    /// Report destructive and risky changes of existing scripts.
    #[command(
        after_help = "Exit codes: 0 done; 1 with --deny when a finding has a denied risk; 2 error.\n\nExamples:\n  dbm lint\n  dbm lint 3 4 --json\n  dbm lint --deny destructive,may_fail"
    )]
    Lint {
        /// The versions to lint (default: all).
        #[arg(allow_hyphen_values = true, value_name = "VERSION")]
        versions: Vec<String>,
        /// Exit 1 when a finding has one of these risks (for CI).
        #[arg(long, value_delimiter = ',', value_name = "RISK,...")]
        deny: Vec<DenyRisk>,
    },
    /// Print a completion script for SHELL on stdout.
    #[command(
        after_help = "Examples:\n  dbm completions bash > ~/.local/share/bash-completion/completions/dbm\n  dbm completions zsh > ~/.zfunc/_dbm\n  dbm completions fish > ~/.config/fish/completions/dbm.fish"
    )]
    Completions {
        /// The shell to complete in.
        #[arg(value_name = "SHELL")]
        shell: Shell,
    },
    /// Print dbm's man page (roff) on stdout.
    #[command(after_help = "Example:\n  dbm man > dbm.1 && man ./dbm.1")]
    Man,
}

/// A risk `lint --deny` fails on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(super) enum DenyRisk {
    Destructive,
    #[value(name = "may_fail", alias = "may-fail")]
    MayFail,
}

/// The shells `dbm completions` writes for.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(super) enum Shell {
    Bash,
    Zsh,
    Fish,
    Powershell,
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
