//! Whole-process `dbm check` and `dbm migrate` (one added column) at 100 to 10,000 tables,
//! against the `sqlite3` shell doing the least the same job needs on the same database:
//! `sqlite3 db .schema` (reading the schema) and `sqlite3 db "ALTER TABLE .. ADD COLUMN .."`.
//!
//! `cargo bench --bench check_scale` (`DBM_BENCH_TABLES=100,1000,5000,10000`,
//! `DBM_BENCH_REPS=5`; `DBM_BIN` picks the dbm binary, default this build's
//! `target/release/dbm`, so an older build can be measured on the same fixtures).
//!
//! Each table: 6 columns (a DEFAULT, a CHECK), an index, a foreign key to the next table
//! (a chain against name order). Two databases per size: `dbm-made`, created from the
//! model's own DDL (as `dbm migrate` from empty leaves it), and `hand-made`, the same
//! schema written by hand (so no stored text matches dbm's rendering and every table takes
//! the round trip through scratch SQLite). Peak RSS from `/usr/bin/time -f %M`.
//! Every run has the check cache off (`DBM_CACHE_DIR=`) except `cached check`: the same
//! check after one run filled the cache.

#[path = "util/mod.rs"]
mod util;

use dbm::model::Column;
use dbm::{Reserved, Schema};
use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use util::*;

fn name(i: usize) -> String {
    format!("t{i:05}")
}

fn hand_ddl(n: usize) -> String {
    let mut s = String::from("BEGIN;\n");
    for i in 0..n {
        let parent = name(if i + 1 < n { i + 1 } else { i });
        let t = name(i);
        s.push_str(&format!(
            "CREATE TABLE {t} (\n  id INTEGER PRIMARY KEY,\n  name TEXT NOT NULL,\n  \
             qty INTEGER NOT NULL DEFAULT 0 CHECK (qty >= 0),\n  price REAL,\n  \
             created TEXT DEFAULT CURRENT_TIMESTAMP,\n  \
             parent_id INTEGER REFERENCES {parent} (id) ON DELETE CASCADE\n);\n\
             CREATE INDEX ix_{t}_name ON {t} (name);\n"
        ));
    }
    s.push_str("COMMIT;\n");
    s
}

/// One run of `cmd`: wall time and peak RSS in kB; `ok` says which exit codes are fine.
/// dbm's check cache is off unless `cache` names its folder.
fn run(cmd: &[&str], ok: &[i32]) -> (Duration, u64) {
    run_cached(cmd, ok, None)
}

fn run_cached(cmd: &[&str], ok: &[i32], cache: Option<&Path>) -> (Duration, u64) {
    let rss_file = std::env::temp_dir().join(format!("check_scale_rss_{}", std::process::id()));
    let t = Instant::now();
    let out = Command::new("/usr/bin/time")
        .env("DBM_CACHE_DIR", cache.unwrap_or(Path::new("")))
        .args(["-f", "%M", "-o"])
        .arg(&rss_file)
        .args(cmd)
        .output()
        .expect("spawn /usr/bin/time");
    let wall = t.elapsed();
    let code = out.status.code().unwrap_or(-1);
    assert!(
        ok.contains(&code),
        "{cmd:?} exited {code}:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let rss = std::fs::read_to_string(&rss_file)
        .ok()
        .and_then(|s| s.lines().last().and_then(|l| l.trim().parse().ok()))
        .unwrap_or(0);
    (wall, rss)
}

fn sh(cmd: &mut Command) {
    let out = cmd.output().expect("spawn");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

struct Fixture {
    db: PathBuf,
    repo: PathBuf,
    model: PathBuf,
    model_plus: PathBuf,
}

/// A database (under version control at 0), its repository, its model and the model with
/// one more column on the middle table.
fn fixture(dir: &Path, n: usize, dbm_made: bool, dbm: &str) -> Fixture {
    let scratch = Connection::open_in_memory().expect("open");
    scratch.execute_batch(&hand_ddl(n)).expect("hand DDL");
    let model: Schema = dbm::inspect(&scratch, &Reserved::default()).expect("inspect");
    drop(scratch);
    let tag = if dbm_made { "dbm" } else { "hand" };
    let db = dir.join(format!("{tag}.db"));
    let conn = Connection::open(&db).expect("open db");
    if dbm_made {
        let mut ddl = String::from("BEGIN;\n");
        for stmt in model.to_ddl() {
            ddl.push_str(&stmt);
            ddl.push_str(";\n");
        }
        ddl.push_str("COMMIT;\n");
        conn.execute_batch(&ddl).expect("dbm DDL");
    } else {
        conn.execute_batch(&hand_ddl(n)).expect("hand DDL");
    }
    drop(conn);
    let repo = dir.join(format!("{tag}_repo"));
    sh(Command::new(dbm)
        .arg("-D")
        .arg(&db)
        .arg("--repository")
        .arg(&repo)
        .args(["-q", "create"]));
    let model_path = dir.join(format!("{tag}.toml"));
    std::fs::write(&model_path, model.to_toml()).expect("write model");
    let mut plus = model.clone();
    plus.tables
        .iter_mut()
        .find(|t| t.name == name(n / 2))
        .expect("middle table")
        .columns
        .push(Column {
            name: "extra".into(),
            sql_type: "TEXT".into(),
            default: Some("'x'".into()),
            ..Default::default()
        });
    let model_plus = dir.join(format!("{tag}_plus.toml"));
    std::fs::write(&model_plus, plus.to_toml()).expect("write model");
    Fixture {
        db,
        repo,
        model: model_path,
        model_plus,
    }
}

/// The fixtures' folder, deleted on drop unless kept.
struct Kept((Option<tempfile::TempDir>, PathBuf));

impl Kept {
    fn path(&self) -> &Path {
        &self.0 .1
    }
}

fn median_run(reps: usize, mut f: impl FnMut() -> (Duration, u64)) -> (Duration, u64) {
    let mut times = vec![];
    let mut rss = 0;
    for _ in 0..reps {
        let (t, r) = f();
        times.push(t);
        rss = rss.max(r);
    }
    (median(times), rss)
}

fn main() {
    if child_args().is_some() {
        return;
    }
    let sizes = env_list("DBM_BENCH_TABLES", &[100, 1_000, 5_000, 10_000]);
    let reps = env_list("DBM_BENCH_REPS", &[5])[0];
    let dbm = std::env::var("DBM_BIN").unwrap_or_else(|_| {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("target/release/dbm")
            .display()
            .to_string()
    });
    println!("check_scale: whole process, median of {reps}, dbm = {dbm}\n");
    println!(
        "| N | database | `.schema` ms | `check` ms | check / .schema | RSS kB .schema | RSS kB check | \
         cached `check` ms | cached / .schema | RSS kB cached | \
         ALTER ms | `migrate` ms | migrate / ALTER | RSS kB migrate |"
    );
    println!("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for &n in &sizes {
        let dir = tempfile::tempdir().expect("tempdir");
        // For profiling: `DBM_BENCH_KEEP=1` leaves the fixtures behind and says where.
        let dir = Kept(if std::env::var_os("DBM_BENCH_KEEP").is_some() {
            let kept = dir.keep();
            eprintln!("fixtures kept in {}", kept.display());
            (None, kept)
        } else {
            let path = dir.path().to_path_buf();
            (Some(dir), path)
        });
        for dbm_made in [true, false] {
            let f = fixture(dir.path(), n, dbm_made, &dbm);
            let db = f.db.display().to_string();
            let (schema_t, schema_rss) =
                median_run(reps, || run(&["sqlite3", &db, ".schema"], &[0]));
            let check = [
                dbm.as_str(),
                "-q",
                "-D",
                &db,
                "--repository",
                f.repo.to_str().expect("utf-8"),
                "--model",
                f.model.to_str().expect("utf-8"),
                "check",
            ];
            let (check_t, check_rss) = median_run(reps, || run(&check, &[0]));
            // The same check answered from the cache its first run fills.
            let cache = dir.path().join(format!("cache-{dbm_made}"));
            run_cached(&check, &[0], Some(&cache));
            assert!(
                cache.read_dir().is_ok_and(|mut d| d.next().is_some()),
                "cache not filled"
            );
            let (cached_t, cached_rss) =
                median_run(reps, || run_cached(&check, &[0], Some(&cache)));
            let (mut alter_t, mut migrate_t, mut migrate_rss) = (Duration::ZERO, Duration::ZERO, 0);
            if dbm_made {
                let copy = dir.path().join("copy.db");
                let repo_copy = dir.path().join("copy_repo");
                let fresh = || {
                    std::fs::copy(&f.db, &copy).expect("copy db");
                    let _ = std::fs::remove_dir_all(&repo_copy);
                    sh(Command::new("cp").arg("-r").arg(&f.repo).arg(&repo_copy));
                };
                let copy_s = copy.display().to_string();
                let alter = format!(
                    "ALTER TABLE {} ADD COLUMN extra TEXT DEFAULT 'x'",
                    name(n / 2)
                );
                (alter_t, _) = median_run(reps, || {
                    fresh();
                    run(&["sqlite3", &copy_s, &alter], &[0])
                });
                let migrate = [
                    dbm.as_str(),
                    "-q",
                    "-D",
                    &copy_s,
                    "--repository",
                    repo_copy.to_str().expect("utf-8"),
                    "--model",
                    f.model_plus.to_str().expect("utf-8"),
                    "migrate",
                ];
                (migrate_t, migrate_rss) = median_run(reps, || {
                    fresh();
                    run(&migrate, &[0])
                });
            }
            let cells = if dbm_made {
                format!(
                    "{:.1} | {:.1} | {:.2} | {migrate_rss}",
                    ms(alter_t),
                    ms(migrate_t),
                    migrate_t.as_secs_f64() / alter_t.as_secs_f64()
                )
            } else {
                "- | - | - | -".to_string()
            };
            println!(
                "| {n} | {} | {:.1} | {:.1} | {:.2} | {schema_rss} | {check_rss} | {:.1} | {:.2} | \
                 {cached_rss} | {cells} |",
                if dbm_made { "dbm-made" } else { "hand-made" },
                ms(schema_t),
                ms(check_t),
                check_t.as_secs_f64() / schema_t.as_secs_f64(),
                ms(cached_t),
                cached_t.as_secs_f64() / schema_t.as_secs_f64(),
            );
        }
    }
}
