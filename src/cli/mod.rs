//! The command line: clap arguments → resolved settings → one library call → output.
//! Exit codes: 0 success, 1 a check found something (`check`, `status --check`, `lint --deny`),
//! 2 any error (JSON on stderr with `--json`). Only this module
//! uses clap and anyhow (the `cli` feature).

/// `println!` for the command line's output. A reader that went away (`dbm status | head -1`)
/// is not an error: the work is done, and the exit code must say how the work went. Any
/// other write error is remembered and makes the exit code 2. Written through anstream
/// ([`style::stdout`]): styles reach a terminal, a pipe gets the plain text.
macro_rules! say {
    () => {
        $crate::cli::emit(&mut $crate::cli::style::stdout(), format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::cli::emit(&mut $crate::cli::style::stdout(), format_args!("{}\n", format_args!($($arg)*)))
    };
}
/// [`say!`] without the newline.
macro_rules! say_part {
    ($($arg:tt)*) => {
        $crate::cli::emit(&mut $crate::cli::style::stdout(), format_args!($($arg)*))
    };
}
/// [`say_part!`] for results that are data (SQL, TOML, JSON, roff, completion scripts):
/// written byte for byte, never styled. anstream's plain path drops control characters,
/// which would change a script's string literals on their way to `sqlite3`.
macro_rules! say_data {
    ($($arg:tt)*) => {
        $crate::cli::emit(&mut std::io::stdout(), format_args!($($arg)*))
    };
}
/// A progress or outcome line on stdout ("Upgraded 1 -> 2"), left out with `--quiet`;
/// results (versions, TOML, SQL) use [`say!`].
macro_rules! tell {
    ($($arg:tt)*) => {
        if !$crate::cli::quiet() {
            say!($($arg)*)
        }
    };
}
/// A note, hint or warning on stderr, left out with `--quiet`.
macro_rules! note {
    ($($arg:tt)*) => {
        if !$crate::cli::quiet() {
            fail!($($arg)*)
        }
    };
}
/// `eprintln!` that never panics (stderr piped into a reader that went away): errors.
/// Through anstream, as [`say!`].
macro_rules! fail {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!($crate::cli::style::stderr(), $($arg)*);
    }};
}

mod args;
mod cache;
mod change;
mod config;
mod json;
mod many;
mod progress;
mod read;
mod style;

use crate::model::{file as model_file, Schema};
use crate::{
    ApplyOptions, BackupPolicy, Error, MigrateOptions, ModelError, PlanOptions, Repository,
};
use anyhow::{anyhow, bail, Context, Result};
use args::{ApplyArgs, Cli, Command};
use clap::{CommandFactory as _, FromArgMatches as _};
use config::{ModelSource, Overrides, Settings};
use rusqlite::{Connection, OpenFlags};
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

/// Runs the `dbm` command line with the model from the TOML file.
pub fn run() -> ExitCode {
    main_with(None, None)
}

/// Runs the dbm command line with a model declared in Rust instead of a TOML file, so an
/// app can ship its own migration binary (`fn main() -> ExitCode { run_with_model(schema) }`).
/// Its help and `--version` name the program as it was started (`microblog (dbm 0.2.0)`);
/// [`run_app`] gives the app's own name and version.
pub fn run_with_model(model: Schema) -> ExitCode {
    let name = std::env::args_os()
        .next()
        .and_then(|a| {
            Path::new(&a)
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
        })
        .filter(|s| !s.is_empty());
    main_with(Some(model), name.map(|n| (n, None)))
}

/// [`run_with_model`] under the app's own name and version, as its help and `--version`
/// show them: `run_app(env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"), schema)` prints
/// `myapp 1.4.0 (dbm 0.2.0)`.
pub fn run_app(name: &str, version: &str, model: Schema) -> ExitCode {
    main_with(
        Some(model),
        Some((name.to_string(), Some(version.to_string()))),
    )
}

/// The version line of a migration binary named `name` (`--version` prints the name first).
fn app_version(version: Option<&str>) -> String {
    let dbm = concat!("dbm ", env!("CARGO_PKG_VERSION"));
    match version {
        Some(v) => format!("{v} ({dbm})"),
        None => format!("({dbm})"),
    }
}

/// `--quiet`: set once, before the command runs.
static QUIET: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn quiet() -> bool {
    QUIET.load(std::sync::atomic::Ordering::Relaxed)
}

/// `--verbose`: set once, before the command runs.
static VERBOSE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn verbose() -> bool {
    VERBOSE.load(std::sync::atomic::Ordering::Relaxed)
}

/// `--json`: set once, before the command runs.
static JSON: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn json_mode() -> bool {
    JSON.load(std::sync::atomic::Ordering::Relaxed)
}

/// An error on stderr, as text or (with `--json`) as the one JSON error shape; its exit code.
fn error_exit(text: &str) -> ExitCode {
    if json_mode() {
        fail!("{}", json::error(text, 2));
    } else {
        fail!("{} {text}", style::error());
    }
    ExitCode::from(2)
}

/// The first error writing the output, other than a closed pipe.
static OUTPUT_ERROR: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

fn emit(out: &mut impl std::io::Write, args: std::fmt::Arguments<'_>) {
    match out.write_fmt(args) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            if let Ok(mut first) = OUTPUT_ERROR.lock() {
                first.get_or_insert_with(|| e.to_string());
            }
        }
        _ => {}
    }
}

/// An error and its causes, each said once: a library [`Error`]'s message is complete (its
/// sources, SQLite's error and its code, would repeat it), so the chain stops there.
fn message(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if !out.contains(&text) {
            if !out.is_empty() {
                out.push_str(": ");
            }
            out.push_str(&text);
        }
        if cause.downcast_ref::<Error>().is_some() {
            break;
        }
    }
    out
}

/// The model-file error an error is, if it is one that knows its place in the text.
fn model_error(e: &anyhow::Error) -> Option<&ModelError> {
    e.chain()
        .find_map(|c| {
            c.downcast_ref::<ModelError>()
                .or(match c.downcast_ref::<Error>() {
                    Some(Error::Model(m)) => Some(m),
                    _ => None,
                })
        })
        .filter(|m| m.snippet.is_some())
}

/// A model error as rustc shows one: the message, `--> file:line:column`, the source line
/// and a caret under the problem.
fn render_model_error(m: &ModelError) -> String {
    use annotate_snippets::{AnnotationKind, Level, Renderer, Snippet};
    let Some(snip) = &m.snippet else {
        return format!("{} {m}", style::error());
    };
    let report = [Level::ERROR.primary_title(&m.message).element(
        Snippet::source(&snip.text)
            .line_start(snip.first_line)
            .path(&m.file)
            .annotation(AnnotationKind::Primary.span(snip.span.clone())),
    )];
    // Styled always: stderr's stream strips the styles when it is not colouring.
    Renderer::styled().render(&report).to_string()
}

/// `app`: the name (and version) of an app's own migration binary, shown by `--help` and
/// `--version` instead of dbm's.
fn main_with(model: Option<Schema>, app: Option<(String, Option<String>)>) -> ExitCode {
    // clap prints help and usage errors while it parses: they follow `--color` as given.
    let when = style::When::from_args(std::env::args_os());
    style::init(when);
    let mut command = Cli::command().color(when.clap());
    if let Some((name, version)) = app {
        command = command.name(name).version(app_version(version.as_deref()));
    }
    let parsed = command
        .try_get_matches()
        .and_then(|mut m| Cli::from_arg_matches_mut(&mut m));
    let cli = match parsed {
        Ok(cli) => cli,
        // A usage error is JSON too when `--json` was asked for; `--help` and `--version`
        // print as usual.
        Err(e) if e.use_stderr() && std::env::args_os().any(|a| a == "--json") => {
            JSON.store(true, std::sync::atomic::Ordering::Relaxed);
            let text = e.to_string();
            let first = text.split("\n\n").next().unwrap_or(&text);
            return error_exit(first.trim().trim_start_matches("error: "));
        }
        Err(e) => e.exit(),
    };
    let code = match execute(cli, model) {
        Ok(code) => code,
        // A model error shows its source line and caret, except as JSON (one line).
        Err(e) => match model_error(&e) {
            Some(m) if !json_mode() => {
                fail!("{}", render_model_error(m));
                return ExitCode::from(2);
            }
            _ => return error_exit(&message(&e)),
        },
    };
    use std::io::Write as _;
    if let Err(e) = std::io::stdout().flush() {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            return error_exit(&format!("cannot write the output: {e}"));
        }
    }
    match OUTPUT_ERROR.lock().ok().and_then(|mut e| e.take()) {
        Some(e) => error_exit(&format!("cannot write the output: {e}")),
        None => code,
    }
}

fn execute(cli: Cli, model: Option<Schema>) -> Result<ExitCode> {
    // A JSON document is for programs: never coloured, whatever `--color` says.
    style::init(if cli.json {
        style::When::Never
    } else {
        cli.color
    });
    // In JSON mode stdout holds the document alone, and what the text's progress lines,
    // notes and hints say is in it.
    QUIET.store(cli.quiet || cli.json, std::sync::atomic::Ordering::Relaxed);
    JSON.store(cli.json, std::sync::atomic::Ordering::Relaxed);
    VERBOSE.store(cli.verbose, std::sync::atomic::Ordering::Relaxed);
    if cli.json {
        json::supported(&cli.command)?;
    }
    // These need no settings: they work in any folder, even beside a broken dbm.toml.
    match cli.command {
        Command::Completions { shell } => return read::completions(shell),
        Command::Man => return read::man(),
        _ => {}
    }
    let overrides = Overrides {
        database: cli.database.clone(),
        repository: cli.repository.clone(),
        model: cli.model.clone(),
        model_command: cli.model_command.clone(),
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
    if cli.verbose {
        fail!(
            "database: {}{}\nrepository: {}\nmodel: {}",
            settings.database.display(),
            if settings.read_only {
                " (read-only)"
            } else {
                ""
            },
            settings.repository.display(),
            match &model {
                Some(_) => "declared in this program".to_string(),
                None => settings.model.to_string(),
            }
        );
    }
    let ctx = Ctx { settings, model };
    let database_flag = cli.database.is_some();
    let many = |m: &args::ManyArgs| many::Targets::of(&ctx, m, database_flag);
    match &cli.command {
        Command::Upgrade {
            version,
            create,
            opts,
            many: m,
            rollout,
        } => match many(m)? {
            Some(_) if *create => {
                bail!("--create makes one database: give --database instead of --databases")
            }
            Some(t) => return many::rollout(&ctx, &t, version.as_deref(), true, opts, rollout),
            None => rollout.single()?,
        },
        Command::Downgrade {
            version,
            opts,
            many: m,
            rollout,
        } => match many(m)? {
            Some(t) => return many::rollout(&ctx, &t, version.as_deref(), false, opts, rollout),
            None => rollout.single()?,
        },
        Command::DbVersion { many: m } => {
            if let Some(t) = many(m)? {
                return many::db_version(&ctx, &t);
            }
        }
        Command::Status { many: m, check } => {
            if let Some(t) = many(m)? {
                return many::status(&ctx, &t, *check);
            }
        }
        Command::Check { many: m } => {
            if let Some(t) = many(m)? {
                return many::check(&ctx, &t);
            }
        }
        Command::Test { many: m } => {
            if let Some(t) = many(m)? {
                return many::test(&ctx, &t);
            }
        }
        _ => {}
    }
    match cli.command {
        Command::Create => change::create(&ctx),
        Command::Migrate {
            message,
            backup,
            no_backup,
            accept_data_loss,
            review,
        } => {
            let opts = MigrateOptions {
                plan: ctx.plan_options(),
                message,
                backup: ctx.backup_policy(backup, no_backup),
                accept_data_loss,
                stop: None,
                progress: None,
            };
            change::migrate(&ctx, opts, &review)
        }
        Command::Upgrade {
            version,
            create,
            opts,
            ..
        } => change::upgrade(&ctx, version.as_deref(), create, &opts),
        Command::Downgrade { version, opts, .. } => {
            change::downgrade(&ctx, version.as_deref(), &opts)
        }
        Command::Script { message } => change::script(&ctx, &message),
        Command::Discard { version } => change::discard(&ctx, version.as_deref()),
        Command::VersionControl { version } => change::version_control(&ctx, version.as_deref()),
        Command::DropVersionControl => change::drop_version_control(&ctx),
        Command::Version => read::version(&ctx),
        Command::DbVersion { .. } => read::db_version(&ctx),
        Command::CreateModel => read::create_model(&ctx),
        Command::Diff { sql } => read::diff(&ctx, false, sql),
        Command::Check { .. } => read::diff(&ctx, true, false),
        Command::Status { check, .. } => read::status(&ctx, check),
        Command::History => read::history(&ctx),
        Command::Test { .. } => read::test(&ctx),
        Command::Lint { versions, deny } => read::lint(&ctx, &versions, &deny),
        Command::Completions { shell } => read::completions(shell),
        Command::Man => read::man(),
    }
}

/// Runs the model program and reads the TOML it prints. Its stderr passes through to ours,
/// so a `cargo run` shows its progress and its errors where the user looks.
fn model_from_command(argv: &[String]) -> Result<Schema> {
    let shown = argv.join(" ");
    let (program, args) = argv
        .split_first()
        .ok_or_else(|| anyhow!("the model command names no program"))?;
    let out = std::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .output()
        .with_context(|| format!("cannot run the model command `{shown}`"))?;
    if !out.status.success() {
        bail!(
            "the model command `{shown}` failed ({}); nothing was written",
            out.status
        );
    }
    let text = String::from_utf8(out.stdout)
        .map_err(|_| anyhow!("the model command `{shown}` printed something that is not UTF-8"))?;
    if text.trim().is_empty() {
        bail!("the model command `{shown}` printed nothing; it should print the model as TOML (dbm::print_model)");
    }
    Ok(model_file::parse(&text, &format!("<output of `{shown}`>"))?)
}

/// Foreign keys to tables that do not exist are legal, and kept: a warning, not an error.
fn warn_missing_parents(schema: &Schema) {
    for m in schema.missing_parents() {
        note!("{} {m}", style::warning());
    }
}

/// The resolved settings and what commands share: opening things, options, messages.
struct Ctx {
    settings: Settings,
    model: Option<Schema>,
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
        if write {
            self.writable()?;
        }
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

    /// Refuses to write to a database named with `?mode=ro`.
    fn writable(&self) -> Result<()> {
        if self.settings.read_only {
            bail!(
                "database {} was named read-only (mode=ro) and this command writes to it",
                self.db_path().display()
            );
        }
        Ok(())
    }

    /// Opens the database, creating the file if it does not exist; says whether it did.
    fn create_db(&self) -> Result<(Connection, bool)> {
        self.writable()?;
        let path = self.db_path();
        if path.exists() {
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

    /// Whether a model was given: in Rust, as a command, or as a file that exists.
    fn model_declared(&self) -> bool {
        self.model.is_some()
            || match &self.settings.model {
                ModelSource::File(p) => p.exists(),
                ModelSource::Command(_) => true,
            }
    }

    /// The model, its warnings said on stderr.
    fn model(&self) -> Result<Schema> {
        self.model_read(None)
    }

    /// [`Ctx::model`], parsing `text` when the caller has read the model file already.
    fn model_read(&self, text: Option<&str>) -> Result<Schema> {
        let model = self.load_model(text)?;
        warn_missing_parents(&model);
        Ok(model)
    }

    fn load_model(&self, text: Option<&str>) -> Result<Schema> {
        if let Some(m) = &self.model {
            return Ok(m.clone());
        }
        match &self.settings.model {
            ModelSource::File(p) => {
                if let Some(text) = text {
                    return Ok(model_file::parse(text, &p.display().to_string())?);
                }
                if !p.exists() {
                    bail!(
                        "model file {} not found (set `model` in dbm.toml or pass --model)",
                        p.display()
                    );
                }
                Ok(model_file::load(p)?)
            }
            ModelSource::Command(argv) => model_from_command(argv),
        }
    }

    fn plan_options(&self) -> PlanOptions {
        PlanOptions {
            min_sqlite: self.settings.min_sqlite,
        }
    }

    /// `--backup` / `--no-backup`, else dbm.toml's `backup`.
    fn backup_policy(&self, always: bool, never: bool) -> BackupPolicy {
        if never {
            BackupPolicy::Never
        } else if always {
            BackupPolicy::Always
        } else {
            self.settings.backup
        }
    }

    fn apply_options(&self, a: &ApplyArgs) -> ApplyOptions {
        ApplyOptions {
            allow_modified: a.allow_modified,
            busy_timeout: Duration::from_secs(a.timeout.unwrap_or(self.settings.lock_timeout)),
            backup: self.backup_policy(a.backup, a.no_backup),
            single_transaction: a.single_transaction,
            progress: None,
            stop: None,
        }
    }

    /// A library error in the command line's words, where they add what the library
    /// cannot know (the database's path, which command to run).
    fn explain(&self, e: Error) -> anyhow::Error {
        match e.root() {
            Error::NotControlled { .. } => self.not_controlled(),
            Error::InterruptedAt { version } => anyhow!(
                "interrupted: rolled back, {} still at version {version}",
                self.db_path().display()
            ),
            Error::Behind { current, latest } => anyhow!(
                "database {} is at version {current} but the repository has version {latest}; run `dbm upgrade` first",
                self.db_path().display()
            ),
            Error::Sqlite(s) => {
                let full = s.sqlite_error_code() == Some(rusqlite::ErrorCode::DiskFull);
                anyhow!(
                    "database {}: {s}{}",
                    self.db_path().display(),
                    if full {
                        " (the disk holding it, or its journal, is full); the step was rolled back: free some space and run the command again"
                    } else {
                        ""
                    }
                )
            }
            _ => anyhow!(e),
        }
    }

    fn not_controlled(&self) -> anyhow::Error {
        anyhow!(
            "database {} is not under version control; run `dbm create` (or `dbm version-control`) first",
            self.db_path().display()
        )
    }

    /// The database's version, which must be under version control.
    fn require_version(&self, conn: &Connection, repo: &Repository) -> Result<u64> {
        crate::db_version(conn, repo)?.ok_or_else(|| self.not_controlled())
    }

    /// `db_repository/versions/NAME` for a script of the repository, as the user named it.
    fn display_path(&self, file: &Path) -> String {
        match file.file_name() {
            Some(name) => self
                .settings
                .repository
                .join("versions")
                .join(name)
                .display()
                .to_string(),
            None => file.display().to_string(),
        }
    }
}
