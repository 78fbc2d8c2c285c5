//! Colour: the named styles every message uses, and the two streams they are written to.
//!
//! Call sites always write styled text; the streams ([`stdout`], [`stderr`]) are anstream's
//! `AutoStream`s, which pass the escapes to a terminal and strip them everywhere else. So
//! the plain text a pipe gets is the styled text minus its escapes, byte for byte, and no
//! call site asks whether to colour. `--color` and the environment (`NO_COLOR`,
//! `CLICOLOR_FORCE`, `CLICOLOR`, `TERM`) are read once, in [`init`].

use crate::{Described, Risk};
use anstream::{AutoStream, ColorChoice};
use anstyle::{AnsiColor, Style};
use std::fmt;
use std::sync::atomic::{AtomicU8, Ordering};

/// A line or object that the change adds (`+ table post`, a `+` line of a diff).
pub(super) const ADDED: Style = AnsiColor::Green.on_default();
/// What the change removes without losing data (`- view v`, a `-` line of a diff).
pub(super) const REMOVED: Style = AnsiColor::Red.on_default();
/// What the change alters in place (`~ user: ...`, `> table a -> b`).
pub(super) const CHANGED: Style = AnsiColor::Yellow.on_default();
/// A change that loses data (its hazard says so): a dropped table or column, a converting type.
pub(super) const DESTRUCTIVE: Style = AnsiColor::Red.on_default().bold();
/// `warning:`, and a change that may fail on existing rows.
pub(super) const WARNING: Style = AnsiColor::Yellow.on_default().bold();
/// `error:`.
pub(super) const ERROR: Style = AnsiColor::Red.on_default().bold();
/// `hint:` and `note:`, and a unified diff's `@@` lines.
pub(super) const HINT: Style = AnsiColor::Cyan.on_default();
/// The line a list or diff starts with.
pub(super) const HEADING: Style = Style::new().bold();
/// No style: context lines, a finding that is safe.
pub(super) const PLAIN: Style = Style::new();

/// `--color`: whether to colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub(super) enum When {
    /// On a terminal, unless NO_COLOR is set (CLICOLOR_FORCE: a pipe too).
    #[default]
    Auto,
    /// Even in a pipe.
    Always,
    /// Never colour.
    Never,
}

impl When {
    fn choice(self) -> ColorChoice {
        match self {
            When::Auto => ColorChoice::Auto,
            When::Always => ColorChoice::Always,
            When::Never => ColorChoice::Never,
        }
    }

    /// The same choice for clap's own output (help, usage errors).
    pub(super) fn clap(self) -> clap::ColorChoice {
        match self {
            When::Auto => clap::ColorChoice::Auto,
            When::Always => clap::ColorChoice::Always,
            When::Never => clap::ColorChoice::Never,
        }
    }

    /// `--color` as the raw arguments give it, for clap's own output before they are
    /// parsed (help and usage errors are printed while parsing). The last one wins, as in
    /// clap; anything clap would refuse is left to clap.
    pub(super) fn from_args(args: impl IntoIterator<Item = std::ffi::OsString>) -> When {
        let mut when = When::Auto;
        let mut args = args.into_iter().skip(1);
        while let Some(a) = args.next() {
            let value = match a.to_str() {
                Some("--") => break,
                Some("--color") => args.next(),
                Some(s) => match s.strip_prefix("--color=") {
                    Some(v) => Some(v.into()),
                    None => continue,
                },
                None => continue,
            };
            match value.as_ref().and_then(|v| v.to_str()) {
                Some("auto") => when = When::Auto,
                Some("always") => when = When::Always,
                Some("never") => when = When::Never,
                _ => {}
            }
        }
        when
    }
}

/// The resolved choice per stream (`ColorChoice` as a number; 0: not resolved yet).
static STDOUT: AtomicU8 = AtomicU8::new(0);
static STDERR: AtomicU8 = AtomicU8::new(0);

fn encode(c: ColorChoice) -> u8 {
    match c {
        ColorChoice::Auto => 0,
        ColorChoice::AlwaysAnsi => 1,
        ColorChoice::Always => 2,
        ColorChoice::Never => 3,
    }
}

fn decode(n: u8) -> ColorChoice {
    match n {
        1 => ColorChoice::AlwaysAnsi,
        2 => ColorChoice::Always,
        3 => ColorChoice::Never,
        _ => ColorChoice::Auto,
    }
}

/// Sets the choice for this process (clap follows anstream's global choice too) and
/// resolves `auto` for stdout and stderr once, each by whether it is a terminal.
pub(super) fn init(when: When) {
    when.choice().write_global();
    let out = AutoStream::choice(&std::io::stdout());
    let err = AutoStream::choice(&std::io::stderr());
    STDOUT.store(encode(out), Ordering::Relaxed);
    STDERR.store(encode(err), Ordering::Relaxed);
}

/// Standard output, colouring as resolved by [`init`] (before it: as `auto` decides).
pub(super) fn stdout() -> AutoStream<std::io::Stdout> {
    AutoStream::new(std::io::stdout(), decode(STDOUT.load(Ordering::Relaxed)))
}

/// Standard error, colouring as resolved by [`init`] (before it: as `auto` decides).
pub(super) fn stderr() -> AutoStream<std::io::Stderr> {
    AutoStream::new(std::io::stderr(), decode(STDERR.load(Ordering::Relaxed)))
}

/// Text in a style; the reset follows it.
pub(super) struct Painted<T>(Style, T);

impl<T: fmt::Display> fmt::Display for Painted<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0;
        write!(f, "{s}{}{s:#}", self.1)
    }
}

/// `text` in `style`.
pub(super) fn paint<T: fmt::Display>(style: Style, text: T) -> Painted<T> {
    Painted(style, text)
}

/// `error:`, `warning:`, `hint:`, `note:`: the labels that open a message.
pub(super) fn error() -> Painted<&'static str> {
    paint(ERROR, "error:")
}
pub(super) fn warning() -> Painted<&'static str> {
    paint(WARNING, "warning:")
}
pub(super) fn hint() -> Painted<&'static str> {
    paint(HINT, "hint:")
}
pub(super) fn note() -> Painted<&'static str> {
    paint(HINT, "note:")
}

/// The style of a line in the library's change words, by its sign: `+` adds, `-` removes,
/// `~` alters a table, `>` renames.
fn by_sign(text: &str) -> Style {
    match text.as_bytes().first() {
        Some(b'+') => ADDED,
        Some(b'-') => REMOVED,
        Some(b'~' | b'>') => CHANGED,
        _ => PLAIN,
    }
}

/// A line of a change list that carries no hazard (drift: what differs, not what a step does).
pub(super) fn sign(text: &str) -> Painted<&str> {
    paint(by_sign(text), text)
}

/// One change of a list: by its sign, and in bold red when its hazard loses data (the
/// typed hazard decides, never the words).
pub(super) fn change(d: &Described) -> Painted<&str> {
    match d.risk() {
        Risk::Destructive => paint(DESTRUCTIVE, &d.text),
        _ => paint(by_sign(&d.text), &d.text),
    }
}

/// The tag after a risky change in a list (`  [destructive]`), `""` for a safe one.
pub(super) fn risk_tag(risk: Risk) -> String {
    match risk {
        Risk::Destructive => format!("  {}", paint(DESTRUCTIVE, "[destructive]")),
        Risk::MayFail => format!("  {}", paint(WARNING, "[may fail on existing rows]")),
        Risk::Safe => String::new(),
    }
}

/// A unified diff (as `similar` writes one): the `---`/`+++` header bold, `@@` lines cyan,
/// added lines green, removed lines red. A line's first byte is its kind in that format,
/// except that the header comes before the first hunk.
pub(super) fn unified_diff(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 4);
    let mut in_hunk = false;
    for line in text.split_inclusive('\n') {
        let (body, end) = match line.strip_suffix('\n') {
            Some(b) => (b, "\n"),
            None => (line, ""),
        };
        let style = if body.starts_with("@@") {
            in_hunk = true;
            HINT
        } else if !in_hunk && (body.starts_with("---") || body.starts_with("+++")) {
            HEADING
        } else {
            match body.as_bytes().first() {
                Some(b'+') => ADDED,
                Some(b'-') => REMOVED,
                _ => PLAIN,
            }
        };
        if style == PLAIN || body.is_empty() {
            out.push_str(line);
        } else {
            // The reset comes before the newline, so a terminal's next line starts plain.
            out.push_str(&format!("{}{end}", paint(style, body)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strip(s: &str) -> String {
        anstream::adapter::strip_str(s).to_string()
    }

    #[test]
    fn a_unified_diff_keeps_its_text_and_colours_each_kind_of_line() {
        let diff = "--- a\n+++ b\n@@ -1,2 +1,2 @@\n x = 1\n-y = 2\n+y = 3\n--- not a header\n";
        let styled = unified_diff(diff);
        assert_eq!(strip(&styled), diff);
        assert!(styled.contains(&format!("{}", paint(ADDED, "+y = 3"))));
        assert!(styled.contains(&format!("{}", paint(REMOVED, "-y = 2"))));
        assert!(styled.contains(&format!("{}", paint(HEADING, "--- a"))));
        assert!(styled.contains(&format!("{}", paint(HINT, "@@ -1,2 +1,2 @@"))));
        // Inside a hunk a line of `---` is a removed line, not a header.
        assert!(styled.contains(&format!("{}", paint(REMOVED, "--- not a header"))));
        assert!(styled.contains("\n x = 1\n"), "context lines stay plain");
    }

    #[test]
    fn a_destructive_change_is_bold_red_whatever_its_sign() {
        let dropped = Described {
            text: "~ user: - column email".into(),
            hazard: Some(crate::Hazard::DropsColumn {
                table: "user".into(),
                column: "email".into(),
            }),
        };
        assert_eq!(
            change(&dropped).to_string(),
            paint(DESTRUCTIVE, "~ user: - column email").to_string()
        );
        let added = Described {
            text: "+ table post".into(),
            hazard: None,
        };
        assert_eq!(
            change(&added).to_string(),
            paint(ADDED, "+ table post").to_string()
        );
        assert_eq!(strip(&risk_tag(Risk::Destructive)), "  [destructive]");
        assert_eq!(risk_tag(Risk::Safe), "");
    }

    #[test]
    fn the_color_flag_is_read_from_the_raw_arguments() {
        let args = |a: &[&str]| {
            When::from_args(
                std::iter::once("dbm")
                    .chain(a.iter().copied())
                    .map(Into::into),
            )
        };
        assert_eq!(args(&["status"]), When::Auto);
        assert_eq!(args(&["--color", "never", "status"]), When::Never);
        assert_eq!(args(&["status", "--color=always"]), When::Always);
        assert_eq!(args(&["--color=never", "--color", "always"]), When::Always);
        assert_eq!(args(&["--color", "bogus"]), When::Auto);
        assert_eq!(args(&["--", "--color", "never"]), When::Auto);
    }
}
