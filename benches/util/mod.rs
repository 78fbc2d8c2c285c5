//! Shared helpers of the bench targets: medians, peak RSS, child-process runs.
#![allow(dead_code)]

use std::process::Command;
use std::time::{Duration, Instant};

/// Median of a non-empty list of numbers (ratios, sizes).
pub fn median_f64(mut v: Vec<f64>) -> f64 {
    assert!(!v.is_empty(), "median of nothing");
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Median of a non-empty list of durations.
pub fn median(mut v: Vec<Duration>) -> Duration {
    assert!(!v.is_empty(), "median of nothing");
    v.sort();
    v[v.len() / 2]
}

/// Runs `f` `reps` times and returns the median wall time.
pub fn time_median(reps: usize, mut f: impl FnMut()) -> Duration {
    let mut v = Vec::with_capacity(reps);
    for _ in 0..reps {
        let t = Instant::now();
        f();
        v.push(t.elapsed());
    }
    median(v)
}

/// Milliseconds with two decimals.
pub fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 100_000.0).round() / 100.0
}

/// A field of /proc/self/status in kB (`VmHWM` = peak resident set, `VmRSS` = now).
pub fn proc_status_kb(field: &str) -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/status").ok()?;
    text.lines()
        .find(|l| l.starts_with(field) && l[field.len()..].starts_with(':'))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Runs this bench binary again as `--child <args..>` and returns the `key=value` pairs of
/// its last `RESULT` line.
pub fn run_child(args: &[&str]) -> Vec<(String, String)> {
    let exe = std::env::current_exe().expect("current_exe");
    let out = Command::new(exe)
        .arg("--child")
        .args(args)
        .output()
        .expect("spawn child");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "child {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with("RESULT "))
        .unwrap_or_else(|| panic!("child {args:?} printed no RESULT line:\n{stdout}"));
    line["RESULT ".len()..]
        .split_whitespace()
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The value of `key` in a child's result, parsed as f64.
pub fn field(r: &[(String, String)], key: &str) -> f64 {
    r.iter()
        .find(|(k, _)| k == key)
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or_else(|| panic!("no numeric {key} in {r:?}"))
}

/// Whether `DBM_BENCH_QUICK` is set (to anything but `0` or nothing): every bench then
/// defaults to its small sizes ([`QUICK`]), so that `DBM_BENCH_QUICK=1 cargo bench
/// --features internals --benches` runs every case in a few minutes. An explicit variable
/// (`DBM_BENCH_ROWS=..`) still wins.
pub fn quick() -> bool {
    std::env::var("DBM_BENCH_QUICK").is_ok_and(|v| !v.trim().is_empty() && v.trim() != "0")
}

/// The quick-mode defaults, per variable: the smaller sizes of each bench, enough to show
/// the ratios and a first growth step. `DBM_BENCH_REPS` is capped at 3 instead.
const QUICK: &[(&str, &[usize])] = &[
    ("DBM_BENCH_ROWS", &[100_000]),
    ("DBM_BENCH_TABLES", &[10, 100, 1_000]),
    ("DBM_BENCH_DBS", &[300]),
    ("DBM_BENCH_STATEMENTS", &[10_000, 100_000]),
    ("DBM_BENCH_VERSIONS", &[100]),
    ("DBM_BENCH_MB", &[10, 60]),
];

/// Comma-separated numbers from an environment variable, or the defaults (the quick ones
/// under `DBM_BENCH_QUICK`).
pub fn env_list(var: &str, default: &[usize]) -> Vec<usize> {
    match std::env::var(var) {
        Ok(s) if !s.trim().is_empty() => s
            .split(',')
            .map(|x| x.trim().replace('_', "").parse().expect("number list"))
            .collect(),
        _ if quick() && var == "DBM_BENCH_REPS" => default.iter().map(|&r| r.min(3)).collect(),
        _ if quick() => QUICK
            .iter()
            .find(|(v, _)| *v == var)
            .map_or_else(|| default.to_vec(), |(_, q)| q.to_vec()),
        _ => default.to_vec(),
    }
}

/// Child-mode arguments (`--child a b c` → `[a, b, c]`), if this process is a child.
pub fn child_args() -> Option<Vec<String>> {
    let args: Vec<String> = std::env::args().collect();
    let pos = args.iter().position(|a| a == "--child")?;
    Some(args[pos + 1..].to_vec())
}

/// Copies a database file and flushes the copy to disk, so that a measured COMMIT does not
/// pay for writing back the copy's dirty pages.
pub fn copy_synced(from: &std::path::Path, to: &std::path::Path) {
    std::fs::copy(from, to).expect("copy template");
    std::fs::File::open(to)
        .and_then(|f| f.sync_all())
        .expect("sync copy");
}
