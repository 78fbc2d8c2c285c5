//! The command line: clap arguments → resolved settings → library calls → output.
//! Exit codes: 0 success, 1 `dbm check` found differences, 2 any error.

use crate::apply::{self, ApplyOptions, BackupPolicy, Direction};
use crate::config::{Overrides, Settings};
use crate::diff::{self, Risk};
use crate::model::{file as model_file, Schema};
use crate::plan::PlanOptions;
use crate::repository::{self, Repository};
use crate::{inspect, workflow};
use anyhow::{anyhow, bail, Context, Result};
use clap::{Parser, Subcommand};
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(
    name = "dbm",
    version,
    about = "Schema migrations for SQLite: declare the schema, dbm writes reviewable up/down SQL"
)]
struct Cli {
    /// The SQLite database (a path, or a sqlite:///path URL). Overrides DATABASE_URL and dbm.toml.
    #[arg(long, global = true, value_name = "PATH")]
    database: Option<String>,
    /// The migration repository folder (default db_repository).
    #[arg(long, global = true, value_name = "DIR")]
    repository: Option<PathBuf>,
    /// The declared schema model, TOML (default models.toml).
    #[arg(long, global = true, value_name = "FILE")]
    model: Option<PathBuf>,
    /// The config file (default ./dbm.toml).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Args, Default)]
struct ApplyArgs {
    /// Print the SQL (transactions and control-table updates included) instead of running it.
    #[arg(long)]
    sql: bool,
    /// Run even though an applied script was edited afterwards.
    #[arg(long)]
    allow_modified: bool,
    /// Take a backup before running, whatever the scripts contain.
    #[arg(long, conflicts_with = "no_backup")]
    backup: bool,
    /// Never take a backup, even before destructive steps.
    #[arg(long)]
    no_backup: bool,
    /// Seconds to wait for another migrator's lock.
    #[arg(long, value_name = "SECONDS")]
    timeout: Option<u64>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create the repository (if absent) and put the database under version control at version 0.
    Create,
    /// Diff the model against the database, write the next up/down scripts, apply the up script.
    Migrate {
        /// Describes the migration; its slug names the files.
        #[arg(short, long)]
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
    },
    /// Downgrade the database to VERSION (default: one step down).
    Downgrade {
        #[arg(allow_hyphen_values = true)]
        version: Option<String>,
        #[command(flatten)]
        opts: ApplyArgs,
    },
    /// Print the repository's latest version.
    Version,
    /// Print the database's version.
    DbVersion,
    /// Write a new empty up/down pair for hand-written SQL.
    Script { message: String },
    /// Print the live database's schema as model TOML.
    CreateModel,
    /// Print the differences between the model and the database (exit 0).
    Diff {
        /// Also print the SQL that `migrate` would write.
        #[arg(long)]
        sql: bool,
    },
    /// Exit 0 when the model and the database match, 1 when they differ (for CI).
    Check,
    /// Database version, repository latest, pending versions, edited scripts, drift.
    Status,
    /// The applied-scripts history recorded in the database.
    History,
    /// Up to the latest, down to 0 and up again, comparing schemas: from empty, then on an in-memory copy of the data.
    Test,
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

/// Runs the `dbm` command line with the model from the TOML file.
pub fn run() -> ExitCode {
    main_with(None)
}

/// Runs the dbm command line with a model declared in Rust instead of a TOML file, so an
/// app can ship its own migration binary.
pub fn run_with_model(model: Schema) -> anyhow::Result<()> {
    match main_with(Some(model)) {
        c if c == ExitCode::SUCCESS => Ok(()),
        _ => std::process::exit(2),
    }
}

fn main_with(model: Option<Schema>) -> ExitCode {
    let cli = Cli::parse();
    match execute(cli, model) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

struct Ctx {
    settings: Settings,
    model: Option<Schema>,
}

fn parse_version(s: &str) -> Result<u64> {
    let t = s.trim();
    t.parse::<u64>().map_err(|_| {
        if t.starts_with('-') && t[1..].chars().all(|c| c.is_ascii_digit()) && t.len() > 1 {
            anyhow!("version `{s}` is negative: versions are whole numbers from 0")
        } else if !t.is_empty() && t.chars().all(|c| c.is_ascii_digit()) {
            anyhow!("version `{s}` is too large")
        } else {
            anyhow!("version `{s}` is not a number: versions are whole numbers from 0")
        }
    })
}

impl Ctx {
    fn repo(&self) -> Result<Repository> {
        Ok(Repository::open(&self.settings.repository)?)
    }

    fn db_path(&self) -> &Path {
        &self.settings.database
    }

    /// Opens an existing database; never creates one.
    fn open_db(&self, write: bool) -> Result<Connection> {
        let path = self.db_path();
        if !path.exists() {
            bail!(
                "database {} does not exist; run `dbm create` (or `dbm upgrade --create`) first",
                path.display()
            );
        }
        if path.is_dir() {
            bail!("database {} is a folder, not a SQLite file", path.display());
        }
        let flags = if write {
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX
        } else {
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
        };
        let conn = Connection::open_with_flags(path, flags)
            .with_context(|| format!("cannot open database {}", path.display()))?;
        conn.busy_timeout(Duration::from_secs(self.settings.lock_timeout))?;
        // Reading the schema tells a SQLite file from anything else without writing.
        conn.query_row("SELECT count(*) FROM sqlite_schema", [], |r| {
            r.get::<_, i64>(0)
        })
        .map_err(|e| {
            if matches!(
                e.sqlite_error_code(),
                Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
            ) {
                anyhow!(
                    "database {} is locked by another connection (waited {} s); retry later, or raise --timeout / lock_timeout",
                    path.display(),
                    self.settings.lock_timeout
                )
            } else {
                anyhow!("{} is not a usable SQLite database: {e}", path.display())
            }
        })?;
        Ok(conn)
    }

    fn create_db(&self) -> Result<(Connection, bool)> {
        let path = self.db_path();
        let existed = path.exists();
        if existed {
            return Ok((self.open_db(true)?, false));
        }
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            if !parent.is_dir() {
                bail!(
                    "cannot create database {}: folder {} does not exist",
                    path.display(),
                    parent.display()
                );
            }
        }
        let conn = Connection::open(path)
            .with_context(|| format!("cannot create database {}", path.display()))?;
        conn.busy_timeout(Duration::from_secs(self.settings.lock_timeout))?;
        Ok((conn, true))
    }

    fn model(&self) -> Result<Schema> {
        if let Some(m) = &self.model {
            return Ok(m.clone());
        }
        let p = &self.settings.model;
        if !p.exists() {
            bail!(
                "model file {} not found (set `model` in dbm.toml or pass --model)",
                p.display()
            );
        }
        Ok(model_file::load(p)?)
    }

    fn plan_options(&self) -> PlanOptions {
        PlanOptions {
            min_sqlite: self.settings.min_sqlite,
        }
    }

    fn apply_options(&self, a: &ApplyArgs) -> ApplyOptions {
        let backup = if a.no_backup {
            BackupPolicy::Never
        } else if a.backup {
            BackupPolicy::Always
        } else {
            match self.settings.backup.as_str() {
                "always" => BackupPolicy::Always,
                "never" => BackupPolicy::Never,
                _ => BackupPolicy::Auto,
            }
        };
        ApplyOptions {
            allow_modified: a.allow_modified,
            busy_timeout: Duration::from_secs(a.timeout.unwrap_or(self.settings.lock_timeout)),
            backup,
        }
    }

    fn require_version(&self, conn: &Connection, repo: &Repository) -> Result<u64> {
        apply::db_version(conn, repo)?.ok_or_else(|| {
            anyhow!(
                "database {} is not under version control; run `dbm create` (or `dbm version-control`) first",
                self.db_path().display()
            )
        })
    }
}

fn execute(cli: Cli, model: Option<Schema>) -> Result<ExitCode> {
    let overrides = Overrides {
        database: cli.database.clone(),
        repository: cli.repository.clone(),
        model: cli.model.clone(),
        config: cli.config.clone(),
    };
    let mut settings = Settings::resolve(&overrides, std::env::var("DATABASE_URL").ok())?;
    // `--timeout` also bounds the wait while opening the database, not only the migration
    // transaction (otherwise a held lock made `--timeout 1` wait the default 30 s).
    if let Command::Upgrade { opts, .. } | Command::Downgrade { opts, .. } = &cli.command {
        if let Some(t) = opts.timeout {
            settings.lock_timeout = t;
        }
    }
    let ctx = Ctx { settings, model };
    match cli.command {
        Command::Create => cmd_create(&ctx),
        Command::Migrate { message } => cmd_migrate(&ctx, message.as_deref()),
        Command::Upgrade {
            version,
            create,
            opts,
        } => cmd_upgrade(&ctx, version.as_deref(), create, &opts),
        Command::Downgrade { version, opts } => cmd_downgrade(&ctx, version.as_deref(), &opts),
        Command::Version => {
            println!("{}", ctx.repo()?.latest()?);
            Ok(ExitCode::SUCCESS)
        }
        Command::DbVersion => {
            let repo = ctx.repo()?;
            let conn = ctx.open_db(false)?;
            println!("{}", ctx.require_version(&conn, &repo)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Script { message } => cmd_script(&ctx, &message),
        Command::CreateModel => {
            let conn = ctx.open_db(false)?;
            let schema = inspect::inspect(&conn)?;
            print!("{}", model_file::write(&schema));
            Ok(ExitCode::SUCCESS)
        }
        Command::Diff { sql } => cmd_diff(&ctx, false, sql),
        Command::Check => cmd_diff(&ctx, true, false),
        Command::Status => cmd_status(&ctx),
        Command::History => cmd_history(&ctx),
        Command::Test => cmd_test(&ctx),
        Command::VersionControl { version } => {
            let v = version
                .as_deref()
                .map(parse_version)
                .transpose()?
                .unwrap_or(0);
            let repo = ctx.repo()?;
            let latest = repo.latest()?;
            if v > latest {
                bail!("version {v} does not exist: the repository's latest version is {latest}");
            }
            let (conn, _) = ctx.create_db()?;
            if apply::version_control(&conn, &repo, v)? {
                println!(
                    "Database {} is now under version control at version {v}",
                    ctx.db_path().display()
                );
            } else {
                let cur = apply::db_version(&conn, &repo)?.unwrap_or(0);
                println!(
                    "Database {} is already under version control (version {cur})",
                    ctx.db_path().display()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::DropVersionControl => {
            let repo = ctx.repo()?;
            let conn = ctx.open_db(true)?;
            ctx.require_version(&conn, &repo)?;
            apply::drop_version_control(&conn, &repo)?;
            println!(
                "Database {} is no longer under version control",
                ctx.db_path().display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Lint { versions, json } => cmd_lint(&ctx, &versions, json),
    }
}

fn cmd_create(ctx: &Ctx) -> Result<ExitCode> {
    let (repo, created) = Repository::create(&ctx.settings.repository, "database repository")?;
    if created {
        println!("Created repository {}", ctx.settings.repository.display());
    } else {
        println!(
            "Repository {} already exists (latest version {})",
            ctx.settings.repository.display(),
            repo.latest()?
        );
    }
    let (conn, new_file) = ctx.create_db()?;
    let tables = inspect::inspect(&conn).map(|s| s.tables.len()).unwrap_or(0);
    if apply::version_control(&conn, &repo, 0)? {
        if new_file {
            println!("Created database {} at version 0", ctx.db_path().display());
        } else {
            println!(
                "Database {} ({tables} existing table{}) is now under version control at version 0",
                ctx.db_path().display(),
                if tables == 1 { "" } else { "s" }
            );
        }
    } else {
        let v = apply::db_version(&conn, &repo)?.unwrap_or(0);
        println!(
            "Database {} is already under version control at version {v}",
            ctx.db_path().display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn display_path(repo_dir: &Path, file: &Path) -> String {
    match file.file_name() {
        Some(name) => repo_dir.join("versions").join(name).display().to_string(),
        None => file.display().to_string(),
    }
}

fn cmd_migrate(ctx: &Ctx, message: Option<&str>) -> Result<ExitCode> {
    let model = ctx.model()?;
    let repo = ctx.repo()?;
    let mut conn = ctx.open_db(true)?;
    let current = ctx.require_version(&conn, &repo)?;
    let latest = repo.latest()?;
    if current < latest {
        bail!(
            "database {} is at version {current} but the repository has version {latest}; run `dbm upgrade` first",
            ctx.db_path().display()
        );
    }
    if current > latest {
        bail!(
            "database {} is at version {current}, above the repository's latest version {latest}: is this the right repository?",
            ctx.db_path().display()
        );
    }
    let next = latest + 1;
    let Some(mig) = workflow::generate(&conn, &model, next, &ctx.plan_options())? else {
        println!("No changes: the database matches the model (version {current}); nothing written");
        return Ok(ExitCode::SUCCESS);
    };
    for h in &mig.hints {
        eprintln!("hint: {h}");
    }
    let offences = workflow::offenders(&conn, &mig.changes, &mig.target);
    if !offences.is_empty() {
        let lines: Vec<String> = offences
            .iter()
            .map(|o| {
                format!(
                    "  {}: {} row{} would fail",
                    o.change,
                    o.rows,
                    if o.rows == 1 { "" } else { "s" }
                )
            })
            .collect();
        bail!(
            "the existing data does not fit the new schema; no script written:\n{}\nFix the rows (or the model), or write a data migration with `dbm script`.",
            lines.join("\n")
        );
    }
    for c in &mig.changes {
        for d in c.describe() {
            match d.risk {
                Risk::Destructive => eprintln!("warning: destructive: {}", d.why.unwrap_or(d.text)),
                Risk::MayFail => eprintln!(
                    "note: checked against existing rows: {}",
                    d.why.unwrap_or(d.text)
                ),
                Risk::Safe => {}
            }
        }
    }
    let slug = message
        .map(repository::slugify)
        .unwrap_or_else(|| mig.slug.clone());
    let mut written: Option<repository::VersionFiles> = None;
    let checksum = repository::checksum(mig.up_sql.as_bytes());
    let planned_up = repo
        .root
        .join("versions")
        .join(format!("{next:03}_{slug}.up.sql"));
    let result = apply::apply_version(
        &mut conn,
        &repo,
        &mig.up_sql,
        &planned_up,
        current,
        next,
        Direction::Up,
        &checksum,
        &mut || {
            written = Some(repo.write_version(&slug, &mig.up_sql, &mig.down_sql)?);
            Ok(())
        },
    );
    if let Err(e) = result {
        if let Some(w) = &written {
            let _ = repo.remove_version(w);
        }
        return Err(anyhow!(e).context("the migration was not applied and no script was written"));
    }
    let files = written.ok_or_else(|| anyhow!("internal error: scripts not written"))?;
    println!(
        "New migration saved as {}",
        display_path(&ctx.settings.repository, &files.up)
    );
    println!(
        "Current database version: {}",
        apply::db_version(&conn, &repo)?.unwrap_or(next)
    );
    Ok(ExitCode::SUCCESS)
}

fn print_report(
    ctx: &Ctx,
    conn: &Connection,
    repo: &Repository,
    report: &apply::ApplyReport,
) -> Result<()> {
    if let Some(b) = &report.backup {
        println!("Backup written to {}", b.display());
    }
    for (from, to) in &report.steps {
        println!(
            "{} {from} -> {to}",
            if to > from { "Upgraded" } else { "Downgraded" }
        );
    }
    println!(
        "Current database version: {}",
        ctx.require_version(conn, repo)?
    );
    Ok(())
}

fn cmd_upgrade(ctx: &Ctx, version: Option<&str>, create: bool, a: &ApplyArgs) -> Result<ExitCode> {
    let repo = ctx.repo()?;
    let versions = repo.versions()?;
    let latest = versions.last().map(|v| v.version).unwrap_or(0);
    let target = match version {
        Some(v) => parse_version(v)?,
        None => latest,
    };
    if target > latest {
        bail!("version {target} does not exist: the repository's latest version is {latest}");
    }
    if a.sql {
        let from = if ctx.db_path().exists() {
            let conn = ctx.open_db(false)?;
            let from = apply::db_version(&conn, &repo)?.unwrap_or(0);
            apply::check_applied(&conn, &repo, a.allow_modified)?;
            from
        } else {
            0
        };
        if target < from {
            bail!("the database is at version {from}, above {target}: use `dbm downgrade --sql {target}`");
        }
        print!("{}", apply::offline_sql(&repo, from, target)?);
        return Ok(ExitCode::SUCCESS);
    }
    let mut conn = if create {
        // Another `upgrade --create` may have made the file a moment ago and not yet put it
        // under version control: an empty, unversioned database is taken as ours.
        // `version_control` decides under the write lock, so only one process records it.
        let (conn, created) = ctx.create_db()?;
        if apply::db_version(&conn, &repo)?.is_none()
            && (created || inspect::inspect(&conn)?.tables.is_empty())
            && apply::version_control(&conn, &repo, 0)?
        {
            println!("Created database {} at version 0", ctx.db_path().display());
        }
        conn
    } else {
        ctx.open_db(true)?
    };
    let current = ctx.require_version(&conn, &repo)?;
    if current > target {
        bail!("the database is at version {current}, above {target}: use `dbm downgrade {target}`");
    }
    let report = apply::upgrade(&mut conn, &repo, Some(target), &ctx.apply_options(a))?;
    print_report(ctx, &conn, &repo, &report)?;
    Ok(ExitCode::SUCCESS)
}

fn cmd_downgrade(ctx: &Ctx, version: Option<&str>, a: &ApplyArgs) -> Result<ExitCode> {
    let repo = ctx.repo()?;
    let requested = version.map(parse_version).transpose()?;
    if a.sql {
        let conn = ctx.open_db(false)?;
        let from = ctx.require_version(&conn, &repo)?;
        apply::check_applied(&conn, &repo, a.allow_modified)?;
        let target = match requested {
            Some(t) => t,
            None => from
                .checked_sub(1)
                .ok_or_else(|| anyhow!("the database is at version 0: nothing to downgrade"))?,
        };
        if target > from {
            bail!("the database is at version {from}, below {target}: use `dbm upgrade --sql {target}`");
        }
        print!("{}", apply::offline_sql(&repo, from, target)?);
        return Ok(ExitCode::SUCCESS);
    }
    let mut conn = ctx.open_db(true)?;
    let current = ctx.require_version(&conn, &repo)?;
    let target = match requested {
        Some(t) => t,
        None => current.checked_sub(1).ok_or_else(|| {
            anyhow!("the database is at version 0: there is nothing below it to downgrade to")
        })?,
    };
    if target > current {
        bail!("the database is at version {current}, below {target}: use `dbm upgrade {target}`");
    }
    let report = apply::downgrade(&mut conn, &repo, target, &ctx.apply_options(a))?;
    print_report(ctx, &conn, &repo, &report)?;
    Ok(ExitCode::SUCCESS)
}

fn cmd_script(ctx: &Ctx, message: &str) -> Result<ExitCode> {
    let repo = ctx.repo()?;
    let next = repo.latest()? + 1;
    let up = format!(
        "-- dbm migration {next:03} (up): {message}\n-- Hand-written SQL: it runs in one transaction with the version update.\n\n"
    );
    let down = format!(
        "-- dbm migration {next:03} (down): {message}\n-- Undo what the up script does.\n\n"
    );
    let files = repo.write_version(&repository::slugify(message), &up, &down)?;
    println!(
        "New script saved as {}",
        display_path(&ctx.settings.repository, &files.up)
    );
    println!(
        "and {}",
        display_path(&ctx.settings.repository, &files.down)
    );
    Ok(ExitCode::SUCCESS)
}

fn cmd_diff(ctx: &Ctx, check: bool, with_sql: bool) -> Result<ExitCode> {
    let model = ctx.model()?;
    let conn = ctx.open_db(false)?;
    let live = inspect::inspect(&conn)?;
    let target = diff::canonical(&model)?;
    let renames = diff::Renames::from_hints(&model);
    let changes = diff::diff(&live, &target, &renames);
    if changes.is_empty() {
        if !check {
            println!("No differences: the database matches the model.");
        }
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "Differences between database {} and model:",
        ctx.db_path().display()
    );
    for c in &changes {
        for d in c.describe() {
            let tag = match d.risk {
                Risk::Destructive => "  [destructive]",
                Risk::MayFail => "  [may fail on existing rows]",
                Risk::Safe => "",
            };
            println!("  {}{tag}", d.text);
        }
    }
    for h in diff::rename_hints(&changes) {
        println!("hint: {h}");
    }
    if !check {
        // The same two schemas as model text, line by line, for a reviewer's eye.
        let (a, b) = (model_file::write(&live), model_file::write(&target));
        let text = similar::TextDiff::configure()
            .algorithm(similar::Algorithm::Patience)
            .diff_lines(&a, &b);
        println!();
        print!(
            "{}",
            text.unified_diff().context_radius(2).header(
                &format!("database ({})", ctx.db_path().display()),
                &format!("model ({})", ctx.settings.model.display())
            )
        );
    }
    if with_sql {
        let stmts = crate::plan::plan(&changes, &live, &target, &ctx.plan_options())?;
        println!();
        print!("{}", crate::plan::script::render_script(&[], &stmts));
    }
    Ok(if check {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn cmd_status(ctx: &Ctx) -> Result<ExitCode> {
    let repo = ctx.repo()?;
    let versions = repo.versions()?;
    let latest = versions.last().map(|v| v.version).unwrap_or(0);
    let conn = ctx.open_db(false)?;
    let current = ctx.require_version(&conn, &repo)?;
    println!(
        "database:   {} at version {current}",
        ctx.db_path().display()
    );
    println!(
        "repository: {} latest version {latest}",
        ctx.settings.repository.display()
    );
    if current > latest {
        println!(
            "problem:    the database version {current} is above the repository's latest version {latest} (wrong repository, or missing scripts?)"
        );
    }
    let pending: Vec<String> = versions
        .iter()
        .filter(|v| v.version > current)
        .map(|v| display_path(&ctx.settings.repository, &v.up))
        .collect();
    if pending.is_empty() {
        println!("pending:    none");
    } else {
        println!("pending:    {}", pending.join(", "));
    }
    let mut edited = vec![];
    for v in versions.iter().filter(|v| v.version <= current) {
        let bytes = std::fs::read(&v.up)?;
        if let Some(recorded) = apply::applied_checksum(&conn, &repo, v.version)? {
            if recorded != repository::checksum(&bytes) {
                edited.push(display_path(&ctx.settings.repository, &v.up));
            }
        }
    }
    if edited.is_empty() {
        println!("edited:     none");
    } else {
        println!(
            "edited:     {} (changed after it was applied)",
            edited.join(", ")
        );
    }
    // Drift: replay the applied scripts on an empty in-memory database and compare.
    let replay = Connection::open_in_memory()?;
    replay.execute_batch("PRAGMA foreign_keys=OFF")?;
    let mut replay_error = None;
    for v in versions.iter().filter(|v| v.version <= current) {
        let sql = std::fs::read_to_string(&v.up)?;
        if let Err(e) = replay.execute_batch(&sql) {
            replay_error = Some(format!(
                "{}: {e}",
                display_path(&ctx.settings.repository, &v.up)
            ));
            break;
        }
    }
    match replay_error {
        Some(e) => println!("drift:      unknown (replaying the scripts failed at {e})"),
        None => {
            let expected = inspect::inspect(&replay)?;
            let live = inspect::inspect(&conn)?;
            let d = workflow::differences(&expected, &live);
            if d.is_empty() {
                println!("drift:      none (the schema is what the applied scripts make)");
            } else {
                println!("drift:      the live schema differs from what the applied scripts make:");
                for line in d {
                    println!("  {line}");
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn cmd_history(ctx: &Ctx) -> Result<ExitCode> {
    let repo = ctx.repo()?;
    let conn = ctx.open_db(false)?;
    ctx.require_version(&conn, &repo)?;
    let rows = apply::history(&conn, &repo)?;
    if rows.is_empty() {
        println!("No scripts applied yet.");
    }
    for r in rows {
        println!(
            "{}  {:>4} {:<4}  {} ms  sha256:{}",
            r.applied_at,
            r.version,
            r.direction.as_str(),
            r.duration_ms,
            &r.checksum[..r.checksum.len().min(12)]
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Upgrades to `latest`, downgrades to 0 and upgrades again, comparing each version's
/// schema with `refs` (filled in where a version has none yet).
fn round_trip(
    conn: &mut Connection,
    repo: &Repository,
    latest: u64,
    refs: &mut std::collections::BTreeMap<u64, Schema>,
    label: &str,
) -> Result<()> {
    let opts = ApplyOptions {
        backup: BackupPolicy::Never,
        ..ApplyOptions::default()
    };
    let mut check = |conn: &Connection, v: u64, step: String| -> Result<()> {
        let now = inspect::inspect(conn)?;
        match refs.get(&v) {
            Some(expected) => {
                let d = workflow::differences(&now, expected);
                if !d.is_empty() {
                    bail!(
                        "{label}: {step} does not give the schema of version {v}:\n  {}",
                        d.join("\n  ")
                    );
                }
            }
            None => {
                refs.insert(v, now);
            }
        }
        println!("{label}: {step}: ok");
        Ok(())
    };
    let start = apply::db_version(conn, repo)?.unwrap_or(0);
    check(conn, start, format!("version {start}"))?;
    for v in start + 1..=latest {
        apply::upgrade(conn, repo, Some(v), &opts)?;
        check(conn, v, format!("upgrade {} -> {v}", v - 1))?;
    }
    for v in (0..latest).rev() {
        apply::downgrade(conn, repo, v, &opts)?;
        check(conn, v, format!("downgrade {} -> {v}", v + 1))?;
    }
    for v in 1..=latest {
        apply::upgrade(conn, repo, Some(v), &opts)?;
        check(conn, v, format!("upgrade {} -> {v} again", v - 1))?;
    }
    Ok(())
}

fn cmd_test(ctx: &Ctx) -> Result<ExitCode> {
    let repo = ctx.repo()?;
    let versions = repo.versions()?;
    let latest = versions.last().map(|v| v.version).unwrap_or(0);
    let src = ctx.open_db(false)?;
    ctx.require_version(&src, &repo)?;
    // 1. The scripts alone, from an empty database: every version's schema is recorded on
    //    the way up, and every down and second up must give it back exactly.
    let mut refs = std::collections::BTreeMap::new();
    let mut empty = Connection::open_in_memory()?;
    apply::version_control(&empty, &repo, 0)?;
    round_trip(&mut empty, &repo, latest, &mut refs, "scripts")?;
    // 2. A copy of the database with its rows, in memory (the real file is never written):
    //    the scripts must also work on the real data.
    let mut scratch = Connection::open_in_memory()?;
    {
        let backup = rusqlite::backup::Backup::new(&src, &mut scratch)?;
        backup.run_to_completion(256, Duration::from_millis(0), None)?;
    }
    let start = apply::db_version(&scratch, &repo)?.unwrap_or(0);
    let live = inspect::inspect(&scratch)?;
    if let Some(expected) = refs.get(&start) {
        if !workflow::differences(&live, expected).is_empty() {
            println!(
                "note: the database's schema differs from what the scripts make at version {start} (see `dbm status`); comparing the copy with itself"
            );
            refs.clear();
        }
    }
    round_trip(&mut scratch, &repo, latest, &mut refs, "data copy")?;
    println!(
        "test: ok ({latest} version{} up, down and up again, from empty and on a copy of the data; database untouched)",
        if latest == 1 { "" } else { "s" }
    );
    Ok(ExitCode::SUCCESS)
}

fn cmd_lint(ctx: &Ctx, versions: &[String], json: bool) -> Result<ExitCode> {
    let repo = ctx.repo()?;
    let all = repo.versions()?;
    let wanted: Vec<u64> = if versions.is_empty() {
        all.iter().map(|v| v.version).collect()
    } else {
        versions
            .iter()
            .map(|s| parse_version(s))
            .collect::<Result<_>>()?
    };
    let mut findings = vec![];
    for w in wanted {
        let v = all.iter().find(|v| v.version == w).ok_or_else(|| {
            anyhow!(
                "version {w} does not exist in {}",
                ctx.settings.repository.display()
            )
        })?;
        let sql = std::fs::read_to_string(&v.up)
            .with_context(|| format!("cannot read {}", v.up.display()))?;
        for f in crate::lint::lint_script(&sql) {
            findings.push((w, display_path(&ctx.settings.repository, &v.up), f));
        }
    }
    if json {
        let items: Vec<serde_json::Value> = findings
            .iter()
            .map(|(v, file, f)| {
                // Stable lowercase names for CI scripts (not the Rust variant names).
                let risk = match f.risk {
                    Risk::Destructive => "destructive",
                    Risk::MayFail => "may_fail",
                    Risk::Safe => "safe",
                };
                serde_json::json!({"version": v, "file": file, "risk": risk, "message": f.message, "line": f.line})
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&items)?);
    } else if findings.is_empty() {
        println!("No risky changes found.");
    } else {
        for (_, file, f) in &findings {
            let tag = match f.risk {
                Risk::Destructive => "destructive",
                Risk::MayFail => "may fail",
                Risk::Safe => "ok",
            };
            println!("{file}:{}: {tag}: {}", f.line, f.message);
        }
    }
    Ok(ExitCode::SUCCESS)
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
