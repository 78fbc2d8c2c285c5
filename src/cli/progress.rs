//! Progress on stderr: a line as each long step starts ("Backing up app.db…", "Applying 003
//! add_x…", "Rebuilding post (2,000,000 rows)…"), and while stderr is a terminal, a bar
//! under it for the rows a rebuild copies and the bytes a backup writes. Made only when
//! the output is not quiet (`--quiet`, `--json`), so those print nothing here.

use crate::{Direction, Progress, ProgressEvent};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal as _;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The renderer of one command's [`ProgressEvent`]s.
pub(super) struct Render {
    /// The database as the user named it.
    database: String,
    /// Bars only on a terminal: a pipe or a log gets the lines alone.
    terminal: bool,
    bar: Mutex<Option<ProgressBar>>,
}

impl Render {
    /// `None` when the output is quiet: nothing to render.
    pub(super) fn new(database: &Path) -> Option<Arc<Render>> {
        if super::quiet() {
            return None;
        }
        Some(Arc::new(Render {
            database: database.display().to_string(),
            terminal: std::io::stderr().is_terminal(),
            bar: Mutex::new(None),
        }))
    }

    /// For the library's options.
    pub(super) fn observer(render: &Option<Arc<Render>>) -> Option<Arc<dyn Progress>> {
        render.clone().map(|r| r as Arc<dyn Progress>)
    }

    /// Removes a bar still drawn (the run failed or was interrupted mid-copy), so the
    /// error that follows starts on a clean line.
    pub(super) fn clear(render: &Option<Arc<Render>>) {
        if let Some(r) = render {
            r.end_bar();
        }
    }

    fn start_bar(&self, len: u64, template: &str) {
        if !self.terminal {
            return;
        }
        let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style);
        }
        bar.enable_steady_tick(Duration::from_millis(200));
        if let Ok(mut b) = self.bar.lock() {
            if let Some(old) = b.replace(bar) {
                old.finish_and_clear();
            }
        }
    }

    fn set_position(&self, done: u64) {
        if let Ok(b) = self.bar.lock() {
            if let Some(bar) = b.as_ref() {
                bar.set_position(done);
            }
        }
    }

    fn end_bar(&self) {
        if let Ok(mut b) = self.bar.lock() {
            if let Some(bar) = b.take() {
                bar.finish_and_clear();
            }
        }
    }
}

impl Progress for Render {
    fn event(&self, event: &ProgressEvent) {
        match event {
            ProgressEvent::BackupStarted { bytes, .. } => {
                note!("Backing up {}…", self.database);
                self.start_bar(*bytes, "  {bar:30} {bytes}/{total_bytes} {bytes_per_sec}");
            }
            ProgressEvent::BackupBytes { done, .. } | ProgressEvent::RowsCopied { done, .. } => {
                self.set_position(*done)
            }
            ProgressEvent::BackupDone { .. } | ProgressEvent::RebuildDone { .. } => self.end_bar(),
            ProgressEvent::VersionStarted {
                direction, file, ..
            } => note!(
                "{} {}…",
                match direction {
                    Direction::Up => "Applying",
                    Direction::Down => "Reverting",
                },
                version_label(file)
            ),
            ProgressEvent::RebuildStarted { table, rows } => {
                note!(
                    "Rebuilding {table} ({} row{})…",
                    thousands(*rows),
                    if *rows == 1 { "" } else { "s" }
                );
                self.start_bar(*rows, "  {bar:30} {human_pos}/{human_len} rows, ETA {eta}");
            }
            _ => {}
        }
    }
}

/// `003 add_x` for `…/003_add_x.up.sql`.
fn version_label(file: &Path) -> String {
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = name
        .strip_suffix(".up.sql")
        .or_else(|| name.strip_suffix(".down.sql"))
        .unwrap_or(&name);
    match stem.split_once('_') {
        Some((number, slug)) => format!("{number} {slug}"),
        None => stem.to_string(),
    }
}

/// `2,000,000` for 2000000.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_counts() {
        assert_eq!(
            version_label(Path::new("r/versions/003_add_x.up.sql")),
            "003 add_x"
        );
        assert_eq!(version_label(Path::new("003_add_x.down.sql")), "003 add_x");
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(2_000_000), "2,000,000");
    }
}
