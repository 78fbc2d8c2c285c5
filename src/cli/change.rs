//! Commands that change the database or the repository.

use super::args::{parse_version, ApplyArgs, ReviewArgs};
use super::progress::Render;
use super::{json, json_mode, style, Ctx};
use crate::{ApplyReport, Error, MigrateOptions, Repository, Risk};
use anyhow::{anyhow, Result};
use rusqlite::Connection;
use std::io::IsTerminal as _;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

pub(super) fn create(ctx: &Ctx) -> Result<ExitCode> {
    let (repo, created) = Repository::create(&ctx.settings.repository, "database repository")?;
    if created {
        tell!("Created repository {}", ctx.settings.repository.display());
    } else {
        tell!(
            "Repository {} already exists (latest version {})",
            ctx.settings.repository.display(),
            repo.latest()?
        );
    }
    let (conn, new_file) = ctx.create_db()?;
    let tables = crate::inspect(&conn, &crate::reserved(&repo)).map(|s| s.tables.len());
    if crate::version_control(&conn, &repo, 0)? {
        if new_file {
            tell!("Created database {} at version 0", ctx.db_path().display());
        } else {
            match tables {
                Ok(n) => tell!(
                    "Database {} ({n} existing table{}) is now under version control at version 0",
                    ctx.db_path().display(),
                    if n == 1 { "" } else { "s" }
                ),
                Err(e) => {
                    tell!(
                        "Database {} is now under version control at version 0",
                        ctx.db_path().display()
                    );
                    note!("{} dbm cannot read the existing schema, so `dbm migrate` and `dbm create-model` will refuse until it is fixed: {e}", style::warning());
                }
            }
        }
    } else {
        let v = crate::db_version(&conn, &repo)?.unwrap_or(0);
        tell!(
            "Database {} is already under version control at version {v}",
            ctx.db_path().display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) fn migrate(
    ctx: &Ctx,
    mut opts: MigrateOptions,
    review: &ReviewArgs,
) -> Result<ExitCode> {
    let model = ctx.model()?;
    let repo = ctx.repo()?;
    let mut conn = ctx.open_db(!review.dry_run)?;
    // Ctrl-C: the running statement is interrupted and a lock wait ends, so the version
    // rolls back and its scripts are removed; a second Ctrl-C exits at once (the next
    // command cleans up what that leaves).
    let stop = on_ctrl_c(&conn);
    opts.stop = Some(Arc::clone(&stop));
    let render = Render::new(ctx.db_path());
    opts.progress = Render::observer(&render);
    let draft = crate::draft(&conn, &repo, &model, &opts.plan).map_err(|e| ctx.explain(e))?;
    let Some(migration) = &draft.migration else {
        if json_mode() {
            json::print(&json::Migrate {
                version: draft.current,
                migration: None,
                written: false,
                applied: false,
                backup: None,
            })?;
        }
        tell!(
            "No changes: the database matches the model (version {}); nothing written",
            draft.current
        );
        return Ok(ExitCode::SUCCESS);
    };
    for h in &migration.hints {
        note!("{} {h}", style::hint());
    }
    if draft.offences.is_empty() {
        for d in draft.warnings() {
            let why = d
                .hazard
                .as_ref()
                .map_or(d.text.clone(), ToString::to_string);
            match d.risk() {
                Risk::Destructive => note!(
                    "{} {}",
                    style::warning(),
                    style::paint(style::DESTRUCTIVE, format_args!("destructive: {why}"))
                ),
                _ => note!("{} checked against existing rows: {why}", style::note()),
            }
        }
    }
    if review.dry_run || review.no_apply {
        return review_only(ctx, draft, &repo, &opts, review.dry_run);
    }
    // `--json` is for programs: like a pipe, it is never asked.
    if !review.yes && draft.offences.is_empty() && std::io::stdin().is_terminal() && !json_mode() {
        // A `y` at the prompt is the terminal's --accept-data-loss.
        opts.accept_data_loss |= confirm(ctx, &draft.at_stake(&conn))?;
    }
    if stop.load(Ordering::SeqCst) {
        return Err(anyhow!(Error::Interrupted));
    }
    let applied = draft.apply(&mut conn, &repo, &opts);
    Render::clear(&render);
    let done = match applied {
        Ok(done) => done,
        Err(
            e @ (Error::DataDoesNotFit { .. } | Error::WouldLoseRows { .. } | Error::Interrupted),
        ) => return Err(anyhow!(e)),
        Err(e) => {
            return Err(ctx
                .explain(e)
                .context("the migration was not applied and no script was written"))
        }
    };
    if json_mode() {
        return json::print(&json::Migrate {
            version: ctx.require_version(&conn, &repo)?,
            backup: done
                .as_ref()
                .and_then(|d| d.backup.as_ref())
                .map(|b| b.display().to_string()),
            written: done.is_some(),
            applied: done.is_some(),
            migration: done
                .as_ref()
                .map(|d| json::NewVersion::new(ctx, &d.migration, &d.files, false)),
        })
        .map(|()| ExitCode::SUCCESS);
    }
    if let Some(done) = done {
        if let Some(b) = &done.backup {
            tell!("Backup written to {}", b.display());
        }
        tell!(
            "New migration saved as {}",
            ctx.display_path(&done.files.up)
        );
    }
    tell!(
        "Current database version: {}",
        ctx.require_version(&conn, &repo)?
    );
    Ok(ExitCode::SUCCESS)
}

/// Ctrl-C: the running statement is interrupted and a lock wait ends, so the version rolls
/// back; a second Ctrl-C exits at once (130; SQLite rolls back what that leaves, and the
/// next command cleans up a migrate's scripts). Returns the flag the handler sets.
fn on_ctrl_c(conn: &Connection) -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    let (flag, interrupt) = (Arc::clone(&stop), conn.get_interrupt_handle());
    let _ = ctrlc::set_handler(move || {
        if flag.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
        interrupt.interrupt();
    });
    stop
}

/// `upgrade` / `downgrade` on one database: progress on stderr, Ctrl-C rolls back.
fn apply_one(
    ctx: &Ctx,
    conn: &mut Connection,
    repo: &Repository,
    a: &ApplyArgs,
    run: impl FnOnce(&mut Connection, &Repository, &crate::ApplyOptions) -> crate::Result<ApplyReport>,
) -> Result<ExitCode> {
    let render = Render::new(ctx.db_path());
    let opts = crate::ApplyOptions {
        progress: Render::observer(&render),
        stop: Some(on_ctrl_c(conn)),
        ..ctx.apply_options(a)
    };
    let result = run(conn, repo, &opts);
    Render::clear(&render);
    report_or_fail(ctx, conn, repo, result)
}

/// `migrate --dry-run` (print the scripts) and `--no-apply` (write them): nothing applied.
fn review_only(
    ctx: &Ctx,
    draft: crate::Draft,
    repo: &Repository,
    opts: &MigrateOptions,
    dry_run: bool,
) -> Result<ExitCode> {
    let message = opts.message.as_deref();
    if !dry_run {
        let (current, migration) = (draft.current, draft.migration.clone());
        let Some(files) = draft.write(repo, opts)? else {
            return Ok(ExitCode::SUCCESS);
        };
        if let (true, Some(m)) = (json_mode(), &migration) {
            json::print(&json::Migrate {
                version: current,
                migration: Some(json::NewVersion::new(ctx, m, &files, false)),
                written: true,
                applied: false,
                backup: None,
            })?;
        }
        tell!(
            "New migration saved as {} (not applied; `dbm upgrade` applies it)",
            ctx.display_path(&files.up)
        );
        return Ok(ExitCode::SUCCESS);
    }
    let (Some(files), Some(m)) = (draft.planned_files(repo, message), &draft.migration) else {
        return Ok(ExitCode::SUCCESS);
    };
    // A dry run shows an undeclared rename's scripts: only rows that do not fit stop it.
    if let Some(e) = draft.refusal(true) {
        return Err(anyhow!(e));
    }
    if json_mode() {
        json::print(&json::Migrate {
            version: draft.current,
            migration: Some(json::NewVersion::new(ctx, m, &files, true)),
            written: false,
            applied: false,
            backup: None,
        })?;
        return Ok(ExitCode::SUCCESS);
    }
    say_data!("-- {}\n", ctx.display_path(&files.up));
    say_data!("{}", m.up_sql);
    say_data!("\n");
    say_data!("-- {}\n", ctx.display_path(&files.down));
    say_data!("{}", m.down_sql);
    tell!("(dry run: nothing written, nothing applied)");
    Ok(ExitCode::SUCCESS)
}

/// In a terminal, a destructive migration is applied only after a `y`; the rows at stake
/// are shown first. Anything else, or end of input, declines.
/// `Ok(true)` when the user said yes, `Ok(false)` when there was nothing to ask.
fn confirm(ctx: &Ctx, stakes: &[crate::AtStake]) -> Result<bool> {
    if stakes.is_empty() {
        return Ok(false);
    }
    fail!(
        "{}",
        style::paint(style::DESTRUCTIVE, "This migration is destructive:")
    );
    for s in stakes {
        let change = style::paint(style::DESTRUCTIVE, &s.change);
        match s.rows {
            Some(n) => fail!(
                "  {change}: {n} row{} at stake",
                if n == 1 { "" } else { "s" }
            ),
            None => fail!("  {change} (rows not counted)"),
        }
    }
    {
        use std::io::Write as _;
        let mut err = style::stderr();
        let _ = write!(err, "Apply it to {}? [y/N] ", ctx.db_path().display());
        let _ = err.flush();
    }
    let mut answer = String::new();
    let _ = std::io::stdin().read_line(&mut answer);
    match answer.trim().to_ascii_lowercase().as_str() {
        "y" | "yes" => Ok(true),
        _ => Err(anyhow!(
            "not applied: declined at the prompt; nothing written (pass --yes to apply without asking)"
        )),
    }
}

fn print_report(
    ctx: &Ctx,
    conn: &Connection,
    repo: &Repository,
    report: &ApplyReport,
) -> Result<()> {
    if json_mode() {
        return json::print(&json::Applied::new(
            report,
            ctx.require_version(conn, repo)?,
        ));
    }
    if let Some(b) = &report.backup {
        tell!("Backup written to {}", b.display());
    }
    for (from, to) in &report.steps {
        tell!(
            "{} {from} -> {to}",
            if to > from { "Upgraded" } else { "Downgraded" }
        );
    }
    tell!(
        "Current database version: {}",
        ctx.require_version(conn, repo)?
    );
    Ok(())
}

/// Prints what a stopped run did before the error, then fails with it.
fn report_or_fail(
    ctx: &Ctx,
    conn: &Connection,
    repo: &Repository,
    result: crate::Result<ApplyReport>,
) -> Result<ExitCode> {
    match result {
        Ok(report) => {
            print_report(ctx, conn, repo, &report)?;
            Ok(ExitCode::SUCCESS)
        }
        Err(Error::Stopped { report, source }) => {
            print_report(ctx, conn, repo, &report)?;
            Err(ctx.explain(*source))
        }
        Err(e) => Err(ctx.explain(e)),
    }
}

/// `--sql`: the script; nothing at all when the database is already at the target (as
/// `upgrade` then does nothing and exits 0).
fn print_sql(ctx: &Ctx, sql: crate::Result<String>) -> Result<ExitCode> {
    let sql = match sql {
        Ok(sql) => sql,
        Err(Error::NothingToDo { .. }) => String::new(),
        Err(e) => return Err(ctx.explain(e)),
    };
    if json_mode() {
        json::print(&json::Sql { sql })?;
    } else {
        say_data!("{sql}");
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) fn upgrade(
    ctx: &Ctx,
    version: Option<&str>,
    create: bool,
    a: &ApplyArgs,
) -> Result<ExitCode> {
    let repo = ctx.repo()?;
    let target = version.map(parse_version).transpose()?;
    if a.sql {
        let conn = match ctx.db_path().exists() {
            true => Some(ctx.open_db(false)?),
            false => None,
        };
        let sql = crate::upgrade_sql(conn.as_ref(), &repo, target, a.allow_modified);
        return print_sql(ctx, sql);
    }
    let mut conn = if create {
        // A target the repository lacks is refused before a file is made for it.
        let latest = repo.latest()?;
        if let Some(t) = target.filter(|t| *t > latest) {
            return Err(anyhow!(Error::UpgradeTargetMissing { target: t, latest }));
        }
        let (conn, _) = ctx.create_db()?;
        if crate::adopt_if_empty(&conn, &repo)? {
            tell!("Created database {} at version 0", ctx.db_path().display());
        }
        conn
    } else {
        ctx.open_db(true)?
    };
    apply_one(ctx, &mut conn, &repo, a, move |c, r, o| {
        crate::upgrade(c, r, target, o)
    })
}

pub(super) fn downgrade(ctx: &Ctx, version: Option<&str>, a: &ApplyArgs) -> Result<ExitCode> {
    let repo = ctx.repo()?;
    let target = version.map(parse_version).transpose()?;
    if a.sql {
        let conn = ctx.open_db(false)?;
        let sql = crate::downgrade_sql(&conn, &repo, target, a.allow_modified);
        return print_sql(ctx, sql);
    }
    let mut conn = ctx.open_db(true)?;
    apply_one(ctx, &mut conn, &repo, a, move |c, r, o| {
        crate::downgrade(c, r, target, o)
    })
}

pub(super) fn script(ctx: &Ctx, message: &str) -> Result<ExitCode> {
    let repo = ctx.repo()?;
    let next = repo.latest()? + 1;
    // The parser refuses a message with control characters; commenting every line as well
    // keeps a message from ever reaching the template as SQL.
    let title = message.lines().collect::<Vec<_>>().join("\n--   ");
    let up = format!(
        "-- dbm migration {next:03} (up): {title}\n-- Hand-written SQL: it runs in one transaction with the version update.\n\n"
    );
    let down =
        format!("-- dbm migration {next:03} (down): {title}\n-- Undo what the up script does.\n\n");
    let files = repo.write_version(message, &up, &down)?;
    tell!("New script saved as {}", ctx.display_path(&files.up));
    tell!("and {}", ctx.display_path(&files.down));
    Ok(ExitCode::SUCCESS)
}

pub(super) fn version_control(ctx: &Ctx, version: Option<&str>) -> Result<ExitCode> {
    let v = version.map(parse_version).transpose()?.unwrap_or(0);
    let repo = ctx.repo()?;
    let latest = repo.latest()?;
    // A version the repository lacks is refused before a file is made for it.
    if v > latest {
        return Err(anyhow!(Error::NoSuchVersion { version: v, latest }));
    }
    let (conn, _) = ctx.create_db()?;
    if crate::version_control(&conn, &repo, v)? {
        tell!(
            "Database {} is now under version control at version {v}",
            ctx.db_path().display()
        );
    } else {
        let cur = crate::db_version(&conn, &repo)?.unwrap_or(0);
        tell!(
            "Database {} is already under version control (version {cur})",
            ctx.db_path().display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) fn drop_version_control(ctx: &Ctx) -> Result<ExitCode> {
    let repo = ctx.repo()?;
    let conn = ctx.open_db(true)?;
    ctx.require_version(&conn, &repo)?;
    crate::drop_version_control(&conn, &repo)?;
    tell!(
        "Database {} is no longer under version control",
        ctx.db_path().display()
    );
    Ok(ExitCode::SUCCESS)
}

pub(super) fn discard(ctx: &Ctx, version: Option<&str>) -> Result<ExitCode> {
    let target = version.map(parse_version).transpose()?;
    let repo = ctx.repo()?;
    let conn = ctx.open_db(true)?;
    let files = crate::discard(&conn, &repo, target).map_err(|e| ctx.explain(e))?;
    tell!(
        "Discarded version {}: removed {} and {}",
        files.version,
        ctx.display_path(&files.up),
        ctx.display_path(&files.down)
    );
    tell!(
        "The next `dbm migrate` writes version {} again",
        files.version
    );
    Ok(ExitCode::SUCCESS)
}
