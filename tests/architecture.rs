//! The import rules of ARCHITECTURE.md hold in the code: every `crate::` path under `src/`
//! names only modules its own module may import. The rules are read from the document's
//! table, so the map and the code cannot drift apart silently.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// module → modules it may import, from the table between the `import-rules` markers.
fn rules() -> BTreeMap<String, BTreeSet<String>> {
    let doc = std::fs::read_to_string(root().join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let start = doc
        .find("<!-- import-rules -->")
        .expect("import-rules marker");
    let end = doc.find("<!-- /import-rules -->").expect("end marker");
    let names = |cell: &str| -> BTreeSet<String> {
        cell.split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect()
    };
    doc[start..end]
        .lines()
        .filter_map(|l| {
            let cells: Vec<&str> = l.trim().trim_matches('|').split('|').collect();
            match cells.as_slice() {
                [module, may] if module.contains('`') => {
                    Some((names(module).into_iter().next()?, names(may)))
                }
                _ => None,
            }
        })
        .collect()
}

/// The crate's top-level modules (files and folders of `src/`, but the crate roots).
fn modules() -> BTreeSet<String> {
    std::fs::read_dir(root().join("src"))
        .expect("src")
        .filter_map(|e| {
            let p = e.ok()?.path();
            let stem = p.file_stem()?.to_string_lossy().into_owned();
            (p.is_dir() || p.extension().is_some_and(|x| x == "rs")).then_some(stem)
        })
        .filter(|m| m != "lib" && m != "main")
        .collect()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("read_dir").flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The names a file reaches through `crate::`: `crate::a::…`, `use crate::a;` and the
/// leading names of the items of `use crate::{a, b::c}`, with their lines. A name followed
/// by `(` is a function of the facade, not a module.
fn crate_paths(source: &str) -> Vec<(String, usize)> {
    let code: Vec<&str> = source
        .lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect();
    let code = code.join("\n");
    let line_of = |offset: usize| code[..offset].matches('\n').count() + 1;
    let ident = |s: &str| -> String {
        s.trim_start()
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    let mut out = vec![];
    let mut from = 0;
    while let Some(at) = code[from..].find("crate::") {
        let start = from + at + "crate::".len();
        from = start;
        let rest = &code[start..];
        if let Some(list) = rest.strip_prefix('{') {
            let (mut depth, mut item, mut items) = (0, String::new(), vec![]);
            for c in list.chars() {
                match c {
                    '}' if depth == 0 => break,
                    ',' if depth == 0 => items.push(std::mem::take(&mut item)),
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    c if depth == 0 => item.push(c),
                    _ => {}
                }
            }
            items.push(item);
            out.extend(
                items
                    .iter()
                    .map(|i| ident(i))
                    .filter(|n| !n.is_empty())
                    .map(|n| (n, line_of(start))),
            );
        } else {
            let word = ident(rest);
            if !rest[word.len()..].starts_with('(') {
                out.push((word, line_of(start)));
            }
        }
    }
    out
}

#[test]
fn imports_follow_the_rules_in_architecture_md() {
    let rules = rules();
    let modules = modules();
    let unlisted: Vec<&String> = modules.iter().filter(|m| !rules.contains_key(*m)).collect();
    assert!(
        unlisted.is_empty(),
        "modules without a row in ARCHITECTURE.md's import rules: {unlisted:?}"
    );
    let mut broken = vec![];
    for module in &modules {
        let mut files = vec![];
        let dir = root().join("src").join(module);
        if dir.is_dir() {
            rust_files(&dir, &mut files);
        } else {
            files.push(root().join("src").join(format!("{module}.rs")));
        }
        let allowed = &rules[module];
        // A stage's test harness may reach further (plan tests run plans with the executor
        // apply uses); the rules are about the stages themselves.
        let is_test = |f: &Path| {
            let rel = f.strip_prefix(root().join("src")).unwrap_or(f);
            rel.file_name().is_some_and(|n| n == "tests.rs")
                || rel.components().any(|c| c.as_os_str() == "tests")
        };
        for file in files.into_iter().filter(|f| !is_test(f)) {
            let source = std::fs::read_to_string(&file).expect("read source");
            for (name, line) in crate_paths(&source) {
                // Every module may import `error`; names that are not modules are the
                // facade's re-exports (`crate::Result`, `crate::upgrade(..)`).
                if name == *module || name == "error" || !modules.contains(&name) {
                    continue;
                }
                if !allowed.contains(&name) {
                    broken.push(format!(
                        "{}:{line}: `{module}` imports `crate::{name}` (allowed: {allowed:?})",
                        file.strip_prefix(root()).unwrap_or(&file).display()
                    ));
                }
            }
        }
    }
    assert!(
        broken.is_empty(),
        "import rules broken:\n{}",
        broken.join("\n")
    );
}

#[test]
fn the_checker_sees_imports() {
    let found: Vec<String> = crate_paths(
        "use crate::plan::Plan;\nuse crate::{diff, model::Schema,\n  inspect};\nlet x = crate::inspect(&c);\n// crate::sql in a comment\nuse crate::risk;",
    )
    .into_iter()
    .map(|(n, _)| n)
    .collect();
    assert_eq!(found, ["plan", "diff", "model", "inspect", "risk"]);
}
