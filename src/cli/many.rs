//! Commands over many databases (`--databases`, `--databases-from`, `databases` in dbm.toml):
//! the rollout (`upgrade`, `downgrade`) and the reads (`status`, `db-version`, `check`,
//! `test`). Each calls one library function over the stream of paths and prints.

use super::args::{parse_version, ApplyArgs, ManyArgs, RolloutArgs};
use super::Ctx;
use crate::{
    DatabaseReport, Databases, Drift, Goal, Outcome, RolloutOptions, RolloutReport, StopReason,
    SurveyOptions,
};
use anyhow::{anyhow, bail, Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::BTreeMap;
use std::io::{BufReader, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Where the databases come from: patterns and a list file (`-`: standard input).
pub(super) struct Targets {
    patterns: Vec<String>,
    from: Option<PathBuf>,
    jobs: usize,
}

impl Targets {
    /// The databases a command works on, when it works on many: `--databases` /
    /// `--databases-from`, else dbm.toml's `databases`; `None` for the single database.
    pub(super) fn of(ctx: &Ctx, many: &ManyArgs, database_flag: bool) -> Result<Option<Targets>> {
        let given = !many.databases.is_empty() || many.databases_from.is_some();
        if given && database_flag {
            bail!("--database names one database and --databases many: give one of them");
        }
        let patterns = if given {
            many.databases.clone()
        } else {
            ctx.settings.databases.clone()
        };
        if patterns.is_empty() && many.databases_from.is_none() {
            if many.jobs.is_some() {
                bail!(
                    "-j applies to many databases: add --databases GLOB or --databases-from FILE"
                );
            }
            return Ok(None);
        }
        let t = Targets {
            patterns,
            from: many.databases_from.clone(),
            jobs: many.jobs.map_or(0, |j| j as usize),
        };
        // A pattern that matches nothing is refused before anything else is looked at.
        t.globs()?;
        Ok(Some(t))
    }

    fn globs(&self) -> Result<Databases> {
        let mut dbs = Databases::new();
        for p in &self.patterns {
            dbs = dbs.glob(p)?;
        }
        Ok(dbs)
    }

    /// The stream of paths (every pattern is checked to match something first).
    fn open(&self) -> Result<Databases> {
        let mut dbs = self.globs()?;
        match self.from.as_deref() {
            Some(p) if p == Path::new("-") => {
                dbs = dbs.list(BufReader::new(std::io::stdin()));
            }
            Some(p) => {
                let f = std::fs::File::open(p).with_context(|| {
                    format!("cannot read the list of databases {}", p.display())
                })?;
                dbs = dbs.list(BufReader::new(f));
            }
            None => {}
        }
        Ok(dbs)
    }

    /// How many databases there are, when that can be known without consuming the stream.
    fn count(&self) -> Option<u64> {
        if self.from.as_deref() == Some(Path::new("-")) {
            return None;
        }
        Some(self.open().ok()?.count() as u64)
    }

    /// Runs `f` over the paths; a list that breaks off midway is an error after it.
    fn stream<T>(&self, f: impl FnOnce(&mut dyn Iterator<Item = PathBuf>) -> T) -> Result<T> {
        let mut broken = None;
        let mut paths = self.open()?.map_while(|r| match r {
            Ok(p) => Some(p),
            Err(e) => {
                broken = Some(e);
                None
            }
        });
        let out = f(&mut paths);
        drop(paths);
        match broken {
            Some(e) => Err(anyhow!(e).context("reading the list of databases")),
            None => Ok(out),
        }
    }
}

/// A database's error under its path: indented, without the path again in front.
fn indent(path: &Path, e: &crate::Error) -> String {
    let text = e.to_string();
    let text = text
        .strip_prefix(&format!("{}: ", path.display()))
        .unwrap_or(&text);
    text.lines().collect::<Vec<_>>().join("\n      ")
}

/// `upgrade` / `downgrade` over many databases.
pub(super) fn rollout(
    ctx: &Ctx,
    targets: &Targets,
    version: Option<&str>,
    up: bool,
    a: &ApplyArgs,
    r: &RolloutArgs,
) -> Result<ExitCode> {
    if a.sql {
        bail!("--sql prints the SQL for one database: give --database instead of --databases");
    }
    let repo = ctx.repo()?;
    let target = version.map(parse_version).transpose()?;
    let goal = match (up, target) {
        (true, None) => Goal::Latest,
        (true, Some(t)) => Goal::Upgrade(t),
        (false, Some(t)) => Goal::Downgrade(t),
        (false, None) => bail!(
            "downgrade over many databases needs a VERSION: they may be at different versions, and one step down from each would mix them"
        ),
    };
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    // A second Ctrl-C exits at once: every version is one transaction, so even that leaves
    // each database at a version.
    let _ = ctrlc::set_handler(move || {
        if flag.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
        eprintln!("stopping: no more databases are started; running ones finish their current version (Ctrl-C again to quit now)");
    });
    let opts = RolloutOptions {
        goal,
        jobs: targets.jobs,
        canary: r.canary.unwrap_or(0),
        max_failures: if r.continue_on_error {
            None
        } else {
            Some(r.max_failures.unwrap_or(1) as usize)
        },
        apply: ctx.apply_options(a),
        stop: Some(stop),
    };
    let bar = progress(targets);
    let failed = AtomicUsize::new(0);
    let on_database = |db: &DatabaseReport| {
        if db.outcome == Outcome::Failed {
            failed.fetch_add(1, Ordering::Relaxed);
        }
        if super::json_mode() {
            let line = json_line(db);
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{line}");
        }
        if db.outcome != Outcome::NotStarted {
            bar.inc(1);
            bar.set_message(format!("failed {}", failed.load(Ordering::Relaxed)));
        }
    };
    let report =
        targets.stream(|paths| crate::rollout_with(paths, &repo, &opts, &on_database))??;
    bar.finish_and_clear();
    let summary = summary(&report, up, jobs_used(opts.jobs));
    if super::json_mode() {
        eprint!("{summary}");
    } else {
        print!("{summary}");
    }
    Ok(if report.failed == 0 && report.stopped.is_none() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

fn jobs_used(jobs: usize) -> usize {
    match jobs {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    }
}

/// A bar on standard error while it is a terminal (never in a pipe or a log).
fn progress(targets: &Targets) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = match targets.count() {
        Some(n) => ProgressBar::with_draw_target(Some(n), ProgressDrawTarget::stderr()),
        None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()),
    };
    if let Ok(style) =
        ProgressStyle::with_template("{bar:30} {pos}/{len} done, {msg}, {per_sec}, ETA {eta}")
    {
        bar.set_style(style);
    }
    bar.set_message("failed 0");
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

fn json_line(db: &DatabaseReport) -> serde_json::Value {
    serde_json::json!({
        "path": db.path.display().to_string(),
        "before": db.before,
        "after": db.after,
        "status": db.outcome.as_str(),
        "error": db.error.as_ref().map(ToString::to_string),
        "backup": db.backup.as_ref().map(|b| b.display().to_string()),
        "canary": db.canary,
        "seconds": db.elapsed.as_secs_f64(),
    })
}

fn plural(n: usize, one: &str) -> String {
    format!("{n} {one}{}", if n == 1 { "" } else { "s" })
}

/// The table at the end: counts, databases per version, the failures with their errors.
fn summary(r: &RolloutReport, up: bool, jobs: usize) -> String {
    let mut out = String::new();
    let verb = if up { "Upgraded" } else { "Downgraded" };
    let mut parts = vec![
        format!("{} migrated", r.migrated),
        format!("{} already at version {}", r.up_to_date, r.target),
    ];
    for (n, what) in [
        (r.failed, "failed"),
        (r.interrupted, "interrupted between versions"),
        (r.not_started, "not started"),
    ] {
        if n > 0 {
            parts.push(format!("{n} {what}"));
        }
    }
    out += &format!(
        "{verb} {} to version {} in {:.2} s ({} at a time): {}\n",
        plural(r.databases(), "database"),
        r.target,
        r.elapsed.as_secs_f64(),
        jobs,
        parts.join(", ")
    );
    if !r.versions.is_empty() {
        out += "  version  databases\n";
        for (v, n) in r.versions.iter().rev() {
            out += &format!("  {v:>7}  {n:>9}\n");
        }
    }
    if !r.failures.is_empty() {
        out += &format!("Failed ({}):\n", r.failures.len());
        for f in &r.failures {
            let at = f
                .version
                .map_or(String::new(), |v| format!(" (at version {v})"));
            out += &format!(
                "  {}{at}\n      {}\n",
                f.path.display(),
                indent(&f.path, &f.error)
            );
        }
    }
    match r.stopped {
        Some(StopReason::Canary) => {
            out += "Stopped: a canary failed, so no other database was started.\n"
        }
        Some(StopReason::MaxFailures(k)) => {
            out += &format!(
                "Stopped after {}: no more databases were started (--max-failures, --continue-on-error).\n",
                plural(k, "failure")
            )
        }
        Some(StopReason::Requested) => {
            out += "Stopped on request: no more databases were started.\n"
        }
        None => {}
    }
    if r.stopped.is_some() || r.interrupted > 0 {
        out += "Run the same command again to finish the rest: databases already at the target are left as they are.\n";
    }
    out
}

fn survey_options(ctx: &Ctx, t: &Targets) -> SurveyOptions {
    SurveyOptions {
        jobs: t.jobs,
        busy_timeout: Duration::from_secs(ctx.settings.lock_timeout),
    }
}

/// Prints a read's result per database; counts the failures.
struct Reads {
    errors: AtomicUsize,
}

impl Reads {
    fn new() -> Reads {
        Reads {
            errors: AtomicUsize::new(0),
        }
    }

    /// A database that could not be read: on stderr, or with `--json` its line on stdout.
    fn error(&self, path: &Path, e: &crate::Error) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        if super::json_mode() {
            say_data!("{}\n", super::json::many_line(path, Err(&e.to_string())));
        } else {
            fail!(
                "{}: {} {}",
                path.display(),
                super::style::error(),
                indent(path, e)
            );
        }
    }

    fn exit(&self, otherwise: ExitCode) -> ExitCode {
        if self.errors.load(Ordering::Relaxed) > 0 {
            ExitCode::from(2)
        } else {
            otherwise
        }
    }
}

pub(super) fn db_version(ctx: &Ctx, targets: &Targets) -> Result<ExitCode> {
    let repo = ctx.repo()?;
    let reads = Reads::new();
    targets.stream(|paths| {
        crate::survey(
            paths,
            &survey_options(ctx, targets),
            &|conn| crate::db_version(conn, &repo),
            &|path, r| match r {
                Ok(Some(v)) if super::json_mode() => say_data!(
                    "{}\n",
                    super::json::many_line(path, Ok(serde_json::json!({ "version": v })))
                ),
                Ok(Some(v)) => say!("{}\t{v}", path.display()),
                Ok(None) => reads.error(
                    path,
                    &crate::Error::NotControlled {
                        repository_id: repo.repository_id.clone(),
                        table: repo.version_table.clone(),
                    },
                ),
                Err(e) => reads.error(path, &e),
            },
        )
    })?;
    Ok(reads.exit(ExitCode::SUCCESS))
}

pub(super) fn status(ctx: &Ctx, targets: &Targets, check: bool) -> Result<ExitCode> {
    let repo = ctx.repo()?;
    let json = super::json_mode();
    let latest = repo.latest()?;
    let reads = Reads::new();
    let skew: Mutex<BTreeMap<u64, usize>> = Mutex::default();
    let drifted = AtomicUsize::new(0);
    // For `--check`: databases with drift (or unknown drift) or an edited script.
    let failing = AtomicUsize::new(0);
    // With `--json` stdout holds the lines alone and the summary goes to stderr.
    let line = |text: String| {
        if json {
            fail!("{text}");
        } else {
            say!("{text}");
        }
    };
    if !json {
        say!(
            "{:>7}  {:>7}  {:>6}  drift      database",
            "version",
            "pending",
            "edited"
        );
    }
    let n = targets.stream(|paths| {
        crate::survey(
            paths,
            &survey_options(ctx, targets),
            &|conn| crate::status(conn, &repo),
            &|path, r| match r {
                Ok(s) => {
                    if !super::json::status_ok(&s) {
                        failing.fetch_add(1, Ordering::Relaxed);
                    }
                    *skew
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .entry(s.version)
                        .or_default() += 1;
                    if json {
                        if matches!(s.drift, Drift::Differs(_)) {
                            drifted.fetch_add(1, Ordering::Relaxed);
                        }
                        let doc = super::json::StatusOut::of(ctx, path, s, None);
                        match serde_json::to_value(doc) {
                            Ok(v) => say_data!("{}\n", super::json::many_line(path, Ok(v))),
                            Err(e) => reads.error(path, &crate::Error::Io(e.into())),
                        }
                        return;
                    }
                    let drift = match &s.drift {
                        Drift::None => "none".to_string(),
                        Drift::Differs(lines) => {
                            drifted.fetch_add(1, Ordering::Relaxed);
                            format!("DIFFERS ({})", lines.join("; "))
                        }
                        Drift::Unknown { error, .. } => format!("unknown ({error})"),
                    };
                    let mark = if s.version > s.latest {
                        " (above the repository!)"
                    } else {
                        ""
                    };
                    say!(
                        "{:>7}  {:>7}  {:>6}  {:<9}  {}{mark}",
                        s.version,
                        s.pending.len(),
                        s.edited.len(),
                        if matches!(s.drift, Drift::None) {
                            "none"
                        } else {
                            "see below"
                        },
                        path.display()
                    );
                    if !matches!(s.drift, Drift::None) {
                        say!("{:>29}drift: {drift}", "");
                    }
                }
                Err(e) => reads.error(path, &e),
            },
        )
    })?;
    let skew = skew.into_inner().unwrap_or_else(|e| e.into_inner());
    line(format!(
        "{} read; repository {} latest version {latest}",
        plural(n, "database"),
        ctx.settings.repository.display()
    ));
    line("  version  databases".to_string());
    for (v, count) in skew.iter().rev() {
        let note = if *v == latest { "  (latest)" } else { "" };
        line(format!("  {v:>7}  {count:>9}{note}"));
    }
    line(format!(
        "drift: {}",
        match drifted.load(Ordering::Relaxed) {
            0 => "none".to_string(),
            d => format!(
                "{} whose schema differs from what the scripts make",
                plural(d, "database")
            ),
        }
    ));
    Ok(reads.exit(if check && failing.load(Ordering::Relaxed) > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }))
}

pub(super) fn check(ctx: &Ctx, targets: &Targets) -> Result<ExitCode> {
    let model = ctx.model()?;
    let reserved = crate::Repository::open(&ctx.settings.repository)
        .map(|r| crate::reserved(&r))
        .unwrap_or_default();
    let reads = Reads::new();
    let differ = AtomicUsize::new(0);
    targets.stream(|paths| {
        crate::survey(
            paths,
            &survey_options(ctx, targets),
            &|conn| crate::compare(conn, &reserved, &model).map(|c| c.changes()),
            &|path, r| match r {
                Ok(changes) if super::json_mode() => {
                    if !changes.is_empty() {
                        differ.fetch_add(1, Ordering::Relaxed);
                    }
                    let doc = serde_json::json!({
                        "matches": changes.is_empty(),
                        "changes": super::json::changes(changes),
                    });
                    say_data!("{}\n", super::json::many_line(path, Ok(doc)));
                }
                Ok(changes) if changes.is_empty() => {}
                Ok(changes) => {
                    differ.fetch_add(1, Ordering::Relaxed);
                    let text: Vec<String> = changes
                        .iter()
                        .map(|d| super::style::change(d).to_string())
                        .collect();
                    say!(
                        "{}: differs from the model:\n  {}",
                        path.display(),
                        text.join("\n  ")
                    );
                }
                Err(e) => reads.error(path, &e),
            },
        )
    })?;
    Ok(reads.exit(if differ.load(Ordering::Relaxed) > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }))
}

pub(super) fn test(ctx: &Ctx, targets: &Targets) -> Result<ExitCode> {
    let repo = ctx.repo()?;
    let reads = Reads::new();
    targets.stream(|paths| {
        crate::survey(
            paths,
            &survey_options(ctx, targets),
            &|conn| crate::round_trip(conn, &repo, &mut |_| {}),
            &|path, r| match r {
                Ok(n) => say!(
                    "{}: ok ({} up, down and up again)",
                    path.display(),
                    plural(n as usize, "version")
                ),
                Err(e) => reads.error(path, &e),
            },
        )
    })?;
    Ok(reads.exit(ExitCode::SUCCESS))
}
