//! `embed_migrations!("db_repository")`: every script of the repository as `include_str!`
//! (so cargo rebuilds the app when one changes), checked here so that a repository dbm
//! would refuse at run time fails the build instead. The naming rules are dbm's own
//! (`NNN_slug.up.sql` / `NNN_slug.down.sql`, versions 1..=N); dbm checks them again when
//! the binary runs.

use std::collections::BTreeMap;
use std::path::Path;

use proc_macro2::TokenStream;
use quote::quote;

pub(crate) fn expand(lit: syn::LitStr) -> syn::Result<TokenStream> {
    let fail = |msg: String| syn::Error::new(lit.span(), msg);
    let manifest = std::env::var("CARGO_MANIFEST_DIR")
        .map_err(|_| fail("CARGO_MANIFEST_DIR is not set; build with cargo".into()))?;
    let root = Path::new(&manifest).join(lit.value());
    let config = root.join("migrate.cfg");
    if !config.is_file() {
        return Err(fail(format!(
            "{} is not a dbm repository: {} is missing (run `dbm create`)",
            root.display(),
            config.display()
        )));
    }
    let versions = root.join("versions");
    let names = script_names(&versions).map_err(fail)?;
    check(&names).map_err(|problems| {
        fail(format!(
            "invalid repository {}:\n  {}",
            root.display(),
            problems.join("\n  ")
        ))
    })?;
    let root_str = root.to_string_lossy().into_owned();
    let config_str = path_str(&config);
    let scripts = names.iter().map(|n| {
        let path = path_str(&versions.join(n));
        quote! { (#n, ::core::include_str!(#path)) }
    });
    Ok(quote! {
        ::dbm::EmbeddedMigrations::__new(
            #root_str,
            ::core::include_str!(#config_str),
            &[#(#scripts),*],
        )
    })
}

fn path_str(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// The `.sql` file names of `dir`, sorted.
fn script_names(dir: &Path) -> Result<Vec<String>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut names = vec![];
    for entry in entries {
        let entry = entry.map_err(|e| format!("{}: {e}", dir.display()))?;
        if entry.path().is_dir() {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.to_ascii_lowercase().ends_with(".sql") {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

/// (slug, file name) of one script.
type Named<'a> = (&'a str, &'a str);

/// `NNN_slug.up.sql` → (NNN, slug, true).
fn parse_name(name: &str) -> Option<(u64, &str, bool)> {
    let (stem, up) = match (name.strip_suffix(".up.sql"), name.strip_suffix(".down.sql")) {
        (Some(s), _) => (s, true),
        (None, Some(s)) => (s, false),
        (None, None) => return None,
    };
    let (num, slug) = stem.split_once('_')?;
    if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit()) || slug.is_empty() {
        return None;
    }
    let version: u64 = num.parse().ok()?;
    (version > 0).then_some((version, slug, up))
}

/// The rules dbm's repository enforces: good names, one up and one down per version with
/// the same slug, versions 1..=N.
fn check(names: &[String]) -> Result<(), Vec<String>> {
    let mut problems = vec![];
    // version -> (ups, downs), each as (slug, file name)
    let mut by_version: BTreeMap<u64, (Vec<Named>, Vec<Named>)> = BTreeMap::new();
    for name in names {
        match parse_name(name) {
            Some((v, slug, up)) => {
                let e = by_version.entry(v).or_default();
                if up { &mut e.0 } else { &mut e.1 }.push((slug, name));
            }
            None => problems.push(format!(
                "{name}: not named NNN_slug.up.sql or NNN_slug.down.sql"
            )),
        }
    }
    for (v, (ups, downs)) in &by_version {
        match (ups.as_slice(), downs.as_slice()) {
            ([(us, _)], [(ds, _)]) if us == ds => {}
            ([(_, un)], [(_, dn)]) => {
                problems.push(format!("version {v}: {un} and {dn} have different names"))
            }
            ([(_, un)], []) => problems.push(format!("version {v}: {un} has no down script")),
            ([], [(_, dn)]) => problems.push(format!("version {v}: {dn} has no up script")),
            _ => problems.push(format!(
                "version {v} has more than one script per direction: {}",
                ups.iter()
                    .chain(downs)
                    .map(|(_, n)| *n)
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }
    if let Some((expected, v)) = (1u64..)
        .zip(by_version.keys())
        .find(|(expected, v)| *expected != **v)
    {
        problems.push(format!(
            "version {expected} is missing (the next is {v}); versions are numbered 1, 2, 3, ... without gaps"
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::check;

    /// (file names, a word each problem must contain); empty: accepted.
    const CASES: &[(&[&str], &[&str])] = &[
        (&[], &[]),
        (
            &[
                "001_a.up.sql",
                "001_a.down.sql",
                "002_b.up.sql",
                "002_b.down.sql",
            ],
            &[],
        ),
        (
            &["001_a.up.sql"],
            &["version 1: 001_a.up.sql has no down script"],
        ),
        (&["001_a.down.sql"], &["no up script"]),
        (
            &[
                "001_a.up.sql",
                "001_a.down.sql",
                "003_c.up.sql",
                "003_c.down.sql",
            ],
            &["version 2 is missing (the next is 3)"],
        ),
        (
            &[
                "001_a.up.sql",
                "001_a.down.sql",
                "001_b.up.sql",
                "001_b.down.sql",
            ],
            &["version 1 has more than one script per direction"],
        ),
        (&["001_a.up.sql", "001_b.down.sql"], &["different names"]),
        (&["1.sql"], &["1.sql: not named"]),
        (
            &["000_zero.up.sql", "000_zero.down.sql"],
            &["not named", "not named"],
        ),
    ];

    #[test]
    fn the_repository_rules() {
        for (names, expected) in CASES {
            let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
            match check(&names) {
                Ok(()) => assert!(expected.is_empty(), "{names:?} accepted"),
                Err(problems) => {
                    assert_eq!(problems.len(), expected.len(), "{names:?}: {problems:?}");
                    for (p, e) in problems.iter().zip(*expected) {
                        assert!(p.contains(e), "{names:?}: {p:?} lacks {e:?}");
                    }
                }
            }
        }
    }
}
