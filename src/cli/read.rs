//! Commands that only read: versions, the model of a database, diff/check, status, history,
//! the round-trip test, lint.

use super::args::{parse_version, Cli, DenyRisk, Shell};
use super::cache::CheckCache;
use super::{json, json_mode, style, verbose, Ctx};
use crate::model::file as model_file;
use crate::{Drift, Repository, Risk, TestEvent};
use anyhow::Result;
use clap::CommandFactory;
use std::process::ExitCode;

/// `dbm completions SHELL`: the completion script, from the same clap definition.
pub(super) fn completions(shell: Shell) -> Result<ExitCode> {
    use clap_complete::Shell as S;
    let shell = match shell {
        Shell::Bash => S::Bash,
        Shell::Zsh => S::Zsh,
        Shell::Fish => S::Fish,
        Shell::Powershell => S::PowerShell,
    };
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "dbm", &mut out);
    say_data!("{}", String::from_utf8_lossy(&out));
    Ok(ExitCode::SUCCESS)
}

/// `dbm man`: the man page (roff), from the same clap definition.
pub(super) fn man() -> Result<ExitCode> {
    let mut out = Vec::new();
    clap_mangen::Man::new(Cli::command()).render(&mut out)?;
    // Each command's page follows the overview, so one file documents them all.
    for sub in Cli::command().get_subcommands() {
        let name = format!("dbm-{}", sub.get_name());
        let page = sub.clone().name(name);
        clap_mangen::Man::new(page).render(&mut out)?;
    }
    say_data!("{}", String::from_utf8_lossy(&out));
    Ok(ExitCode::SUCCESS)
}

pub(super) fn version(ctx: &Ctx) -> Result<ExitCode> {
    let latest = ctx.repo()?.latest()?;
    if json_mode() {
        json::print(&json::Version { latest })?;
    } else {
        say!("{latest}");
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) fn db_version(ctx: &Ctx) -> Result<ExitCode> {
    let repo = ctx.repo()?;
    let conn = ctx.open_db(false)?;
    let version = ctx.require_version(&conn, &repo)?;
    if json_mode() {
        json::print(&json::DbVersion { version })?;
    } else {
        say!("{version}");
    }
    Ok(ExitCode::SUCCESS)
}

/// The names dbm keeps for itself: the repository's, when there is one to ask.
fn reserved(ctx: &Ctx) -> crate::Reserved {
    Repository::open(&ctx.settings.repository)
        .map(|r| crate::reserved(&r))
        .unwrap_or_default()
}

pub(super) fn create_model(ctx: &Ctx) -> Result<ExitCode> {
    let conn = ctx.open_db(false)?;
    let schema = crate::inspect(&conn, &reserved(ctx))?;
    super::warn_missing_parents(&schema);
    say_data!("{}", model_file::write(&schema));
    Ok(ExitCode::SUCCESS)
}

pub(super) fn diff(ctx: &Ctx, check: bool, with_sql: bool) -> Result<ExitCode> {
    let reserved = reserved(ctx);
    // The cache key and the comparison read one snapshot of the database. A database that
    // cannot be opened here is reported below, after the model (the order without a cache).
    let opened = ctx.open_db(false).ok().and_then(|conn| {
        conn.execute_batch("BEGIN DEFERRED").ok()?;
        let cache = CheckCache::new(ctx, &conn, &reserved);
        Some((conn, cache))
    });
    let (conn, cache) = opened.unzip();
    let cache = cache.flatten();
    if let Some(cache) = cache.as_ref().filter(|c| c.hit()) {
        if verbose() {
            fail!("answered from the cache ({})", cache.path().display());
        }
        let matched = crate::Comparison {
            live: crate::Schema::default(),
            target: crate::Schema::default(),
            hints: Vec::new(),
            changes: Vec::new(),
        };
        return report(
            ctx,
            None,
            &reserved,
            &matched.target,
            &matched,
            check,
            with_sql,
        );
    }
    let model = ctx.model_read(cache.as_ref().and_then(CheckCache::model_text))?;
    let conn = match conn {
        Some(conn) => conn,
        None => ctx.open_db(false)?,
    };
    let cmp = crate::compare(&conn, &reserved, &model)?;
    if let Some(cache) = &cache {
        if cmp.is_empty() && cmp.hints.is_empty() && model.missing_parents().is_empty() {
            cache.store();
        }
    }
    if !conn.is_autocommit() {
        conn.execute_batch("COMMIT")?;
    }
    report(ctx, Some(&conn), &reserved, &model, &cmp, check, with_sql)
}

/// Prints a comparison (`conn` is `None` for a match answered from the cache, which needs
/// no up script).
fn report(
    ctx: &Ctx,
    conn: Option<&rusqlite::Connection>,
    reserved: &crate::Reserved,
    model: &crate::Schema,
    cmp: &crate::Comparison,
    check: bool,
    with_sql: bool,
) -> Result<ExitCode> {
    // Only a difference has an up script to show, so a cached match needs no connection.
    let up_sql = || match conn {
        Some(conn) if !cmp.is_empty() => next_up_sql(ctx, conn, reserved, model),
        _ => Ok(None),
    };
    if json_mode() {
        return diff_json(ctx, cmp, check, with_sql.then(up_sql).transpose()?);
    }
    if cmp.is_empty() {
        if !check {
            say!("No differences: the database matches the model.");
        }
        return Ok(ExitCode::SUCCESS);
    }
    say!(
        "{}",
        style::paint(
            style::HEADING,
            format_args!(
                "Differences between database {} and model:",
                ctx.db_path().display()
            )
        )
    );
    for d in cmp.changes() {
        say!("  {}{}", style::change(&d), style::risk_tag(d.risk()));
    }
    for h in &cmp.hints {
        say!("{} {h}", style::hint());
    }
    if check {
        return Ok(ExitCode::from(1));
    }
    say!();
    say_part!("{}", style::unified_diff(&model_diff(ctx, cmp)));
    if with_sql {
        if let Some(up_sql) = up_sql()? {
            say!();
            say_data!("{up_sql}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `diff --json` / `check --json`: the same comparison as one document (`up_sql` is
/// `Some` when asked for).
fn diff_json(
    ctx: &Ctx,
    cmp: &crate::Comparison,
    check: bool,
    up_sql: Option<Option<String>>,
) -> Result<ExitCode> {
    json::print(&json::Diff {
        database: ctx.db_path().display().to_string(),
        matches: cmp.is_empty(),
        changes: json::changes(cmp.changes()),
        hints: cmp.hints.clone(),
        model_diff: (!check).then(|| model_diff(ctx, cmp)),
        up_sql,
    })?;
    Ok(if check && !cmp.is_empty() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn model_diff(ctx: &Ctx, cmp: &crate::Comparison) -> String {
    if cmp.is_empty() {
        return String::new();
    }
    cmp.model_diff(
        &format!("database ({})", ctx.db_path().display()),
        &format!("model ({})", ctx.settings.model),
    )
}

/// Exactly the up script `migrate` would write, verified the same way.
fn next_up_sql(
    ctx: &Ctx,
    conn: &rusqlite::Connection,
    reserved: &crate::Reserved,
    model: &crate::Schema,
) -> Result<Option<String>> {
    let next = Repository::open(&ctx.settings.repository)
        .and_then(|r| r.latest())
        .map_or(1, |v| v + 1);
    Ok(crate::generate(conn, reserved, model, next, &ctx.plan_options())?.map(|m| m.up_sql))
}

pub(super) fn status(ctx: &Ctx, check: bool) -> Result<ExitCode> {
    let repo = ctx.repo()?;
    let conn = ctx.open_db(false)?;
    let s = crate::status(&conn, &repo).map_err(|e| ctx.explain(e))?;
    let exit = if check && !json::status_ok(&s) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    };
    if json_mode() {
        let model_changes = if ctx.model_declared() {
            Some(
                crate::compare(&conn, &reserved(ctx), &ctx.model()?)?
                    .changes()
                    .len(),
            )
        } else {
            None
        };
        json::print(&json::StatusOut::new(ctx, s, model_changes))?;
        return Ok(exit);
    }
    say!(
        "database:   {} at version {}",
        ctx.db_path().display(),
        s.version
    );
    say!(
        "repository: {} latest version {}",
        ctx.settings.repository.display(),
        s.latest
    );
    if s.version > s.latest {
        say!(
            "{}    the database version {} is above the repository's latest version {} (wrong repository, or missing scripts?)",
            style::paint(style::WARNING, "problem:"), s.version, s.latest
        );
    }
    let list = |files: Vec<String>| files.join(", ");
    if s.pending.is_empty() {
        say!("pending:    none");
    } else {
        let files = s.pending.iter().map(|v| ctx.display_path(&v.up)).collect();
        say!("pending:    {}", list(files));
    }
    for u in &s.uncommitted {
        let files: Vec<String> = u.files.iter().map(|(f, _)| ctx.display_path(f)).collect();
        say!(
            "uncommitted: version {} ({}) is left out of the repository: a `dbm migrate` on {} is writing it, or was interrupted before COMMIT (the next `dbm migrate` on that database removes it)",
            u.version,
            list(files),
            if u.database.is_empty() { "an in-memory database" } else { &u.database }
        );
    }
    if s.edited.is_empty() {
        say!("edited:     none");
    } else {
        let files = s.edited.iter().map(|f| ctx.display_path(f)).collect();
        say!(
            "edited:     {}",
            style::paint(
                style::WARNING,
                format_args!("{} (changed after it was applied)", list(files))
            )
        );
    }
    match s.drift {
        Drift::None => say!("drift:      none (the schema is what the applied scripts make)"),
        Drift::Unknown { file, error } => say!(
            "drift:      unknown (replaying the scripts stopped at {}: {error})",
            ctx.display_path(&file)
        ),
        Drift::Differs(lines) => {
            say!("drift:      the live schema differs from what the applied scripts make:");
            for line in lines {
                say!("  {}", style::sign(&line));
            }
        }
    }
    // The model, when there is one (a missing default models.toml is no error here).
    if ctx.model_declared() {
        let cmp = crate::compare(&conn, &reserved(ctx), &ctx.model()?)?;
        match cmp.changes().len() {
            0 => say!("model:      matches the database"),
            n => say!(
                "model:      {n} difference(s) from the database; `dbm diff` shows them, `dbm migrate` writes them"
            ),
        }
    }
    Ok(exit)
}

pub(super) fn history(ctx: &Ctx) -> Result<ExitCode> {
    let repo = ctx.repo()?;
    let conn = ctx.open_db(false)?;
    ctx.require_version(&conn, &repo)?;
    let rows = crate::history(&conn, &repo)?;
    if json_mode() {
        json::print(&json::history(rows))?;
        return Ok(ExitCode::SUCCESS);
    }
    if rows.is_empty() {
        say!("No scripts applied yet.");
    }
    for r in rows {
        say!(
            "{}  {:>4} {:<4}  {} ms  sha256:{}",
            r.applied_at,
            r.version,
            r.direction.as_str(),
            r.duration_ms,
            r.checksum.chars().take(12).collect::<String>()
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) fn test(ctx: &Ctx) -> Result<ExitCode> {
    let repo = ctx.repo()?;
    let conn = ctx.open_db(false)?;
    ctx.require_version(&conn, &repo)?;
    let latest = crate::round_trip(&conn, &repo, &mut |event| {
        match event {
        TestEvent::Passed { label, step } => say!("{label}: {step}: ok"),
        TestEvent::Drifted { version } => say!(
            "{} the database's schema differs from what the scripts make at version {version} (see `dbm status`); comparing the copy with itself",
            style::note()
        ),
    }
    })?;
    say!(
        "test: ok ({latest} version{} up, down and up again, from empty and on a copy of the data; database untouched)",
        if latest == 1 { "" } else { "s" }
    );
    Ok(ExitCode::SUCCESS)
}

pub(super) fn lint(ctx: &Ctx, versions: &[String], deny: &[DenyRisk]) -> Result<ExitCode> {
    let repo = ctx.repo()?;
    let wanted = versions
        .iter()
        .map(|s| parse_version(s))
        .collect::<Result<Vec<_>>>()?;
    let mut findings = crate::lint(&repo, &wanted)?;
    for f in &mut findings {
        f.file = ctx.display_path(&f.file).into();
    }
    let denied = findings.iter().any(|f| {
        deny.iter().any(|d| match d {
            DenyRisk::Destructive => f.finding.risk == Risk::Destructive,
            DenyRisk::MayFail => f.finding.risk == Risk::MayFail,
        })
    });
    let exit = if denied {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    };
    if json_mode() {
        json::print(&findings)?;
    } else if findings.is_empty() {
        say!("No risky changes found.");
    } else {
        for f in &findings {
            let tag = match f.finding.risk {
                Risk::Destructive => style::paint(style::DESTRUCTIVE, "destructive"),
                Risk::MayFail => style::paint(style::WARNING, "may fail"),
                Risk::Safe => style::paint(style::PLAIN, "ok"),
            };
            say!(
                "{}:{}: {tag}: {}",
                f.file.display(),
                f.finding.line,
                f.finding.message
            );
        }
    }
    Ok(exit)
}
