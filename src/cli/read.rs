//! Commands that only read: versions, the model of a database, diff/check, status, history,
//! the round-trip test, lint.

use super::args::parse_version;
use super::Ctx;
use crate::model::file as model_file;
use crate::{Drift, Repository, Risk, TestEvent};
use anyhow::Result;
use std::process::ExitCode;

pub(super) fn version(ctx: &Ctx) -> Result<ExitCode> {
    println!("{}", ctx.repo()?.latest()?);
    Ok(ExitCode::SUCCESS)
}

pub(super) fn db_version(ctx: &Ctx) -> Result<ExitCode> {
    let repo = ctx.repo()?;
    let conn = ctx.open_db(false)?;
    println!("{}", ctx.require_version(&conn, &repo)?);
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
    print!(
        "{}",
        model_file::write(&crate::inspect(&conn, &reserved(ctx))?)
    );
    Ok(ExitCode::SUCCESS)
}

fn risk_tag(risk: Risk) -> &'static str {
    match risk {
        Risk::Destructive => "  [destructive]",
        Risk::MayFail => "  [may fail on existing rows]",
        Risk::Safe => "",
    }
}

pub(super) fn diff(ctx: &Ctx, check: bool, with_sql: bool) -> Result<ExitCode> {
    let model = ctx.model()?;
    let conn = ctx.open_db(false)?;
    let reserved = reserved(ctx);
    let cmp = crate::compare(&conn, &reserved, &model)?;
    if cmp.is_empty() {
        if !check {
            println!("No differences: the database matches the model.");
        }
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "Differences between database {} and model:",
        ctx.db_path().display()
    );
    for d in cmp.changes() {
        println!("  {}{}", d.text, risk_tag(d.risk()));
    }
    for h in &cmp.hints {
        println!("hint: {h}");
    }
    if check {
        return Ok(ExitCode::from(1));
    }
    println!();
    print!(
        "{}",
        cmp.model_diff(
            &format!("database ({})", ctx.db_path().display()),
            &format!("model ({})", ctx.settings.model)
        )
    );
    if with_sql {
        // Exactly what `migrate` would write, verified the same way.
        let next = Repository::open(&ctx.settings.repository)
            .and_then(|r| r.latest())
            .map_or(1, |v| v + 1);
        if let Some(m) = crate::generate(&conn, &reserved, &model, next, &ctx.plan_options())? {
            println!();
            print!("{}", m.up_sql);
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) fn status(ctx: &Ctx) -> Result<ExitCode> {
    let repo = ctx.repo()?;
    let conn = ctx.open_db(false)?;
    let s = crate::status(&conn, &repo).map_err(|e| ctx.explain(e))?;
    println!(
        "database:   {} at version {}",
        ctx.db_path().display(),
        s.version
    );
    println!(
        "repository: {} latest version {}",
        ctx.settings.repository.display(),
        s.latest
    );
    if s.version > s.latest {
        println!(
            "problem:    the database version {} is above the repository's latest version {} (wrong repository, or missing scripts?)",
            s.version, s.latest
        );
    }
    let list = |files: Vec<String>| files.join(", ");
    if s.pending.is_empty() {
        println!("pending:    none");
    } else {
        let files = s.pending.iter().map(|v| ctx.display_path(&v.up)).collect();
        println!("pending:    {}", list(files));
    }
    if s.edited.is_empty() {
        println!("edited:     none");
    } else {
        let files = s.edited.iter().map(|f| ctx.display_path(f)).collect();
        println!("edited:     {} (changed after it was applied)", list(files));
    }
    match s.drift {
        Drift::None => println!("drift:      none (the schema is what the applied scripts make)"),
        Drift::Unknown { file, error } => println!(
            "drift:      unknown (replaying the scripts stopped at {}: {error})",
            ctx.display_path(&file)
        ),
        Drift::Differs(lines) => {
            println!("drift:      the live schema differs from what the applied scripts make:");
            for line in lines {
                println!("  {line}");
            }
        }
    }
    // The model, when there is one (a missing default models.toml is no error here).
    if ctx.model_declared() {
        let cmp = crate::compare(&conn, &reserved(ctx), &ctx.model()?)?;
        match cmp.changes().len() {
            0 => println!("model:      matches the database"),
            n => println!(
                "model:      {n} difference(s) from the database; `dbm diff` shows them, `dbm migrate` writes them"
            ),
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) fn history(ctx: &Ctx) -> Result<ExitCode> {
    let repo = ctx.repo()?;
    let conn = ctx.open_db(false)?;
    ctx.require_version(&conn, &repo)?;
    let rows = crate::history(&conn, &repo)?;
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

pub(super) fn test(ctx: &Ctx) -> Result<ExitCode> {
    let repo = ctx.repo()?;
    let conn = ctx.open_db(false)?;
    ctx.require_version(&conn, &repo)?;
    let latest = crate::round_trip(&conn, &repo, &mut |event| {
        match event {
        TestEvent::Passed { label, step } => println!("{label}: {step}: ok"),
        TestEvent::Drifted { version } => println!(
            "note: the database's schema differs from what the scripts make at version {version} (see `dbm status`); comparing the copy with itself"
        ),
    }
    })?;
    println!(
        "test: ok ({latest} version{} up, down and up again, from empty and on a copy of the data; database untouched)",
        if latest == 1 { "" } else { "s" }
    );
    Ok(ExitCode::SUCCESS)
}

pub(super) fn lint(ctx: &Ctx, versions: &[String], json: bool) -> Result<ExitCode> {
    let repo = ctx.repo()?;
    let wanted = versions
        .iter()
        .map(|s| parse_version(s))
        .collect::<Result<Vec<_>>>()?;
    let mut findings = crate::lint(&repo, &wanted)?;
    for f in &mut findings {
        f.file = ctx.display_path(&f.file).into();
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&findings)?);
    } else if findings.is_empty() {
        println!("No risky changes found.");
    } else {
        for f in &findings {
            let tag = match f.finding.risk {
                Risk::Destructive => "destructive",
                Risk::MayFail => "may fail",
                Risk::Safe => "ok",
            };
            println!(
                "{}:{}: {tag}: {}",
                f.file.display(),
                f.finding.line,
                f.finding.message
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
