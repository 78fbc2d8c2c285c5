//! Model errors as rustc shows them (issue 11 item 6): the message, `--> file:line:column`,
//! the source line and a caret under the problem, for TOML syntax errors and for errors
//! found in the model's meaning alike. Exit code 2, database untouched; the rendered
//! error of each case is snapshotted (tests/snapshots/model_errors__*.snap).

mod common;
use common::*;

/// (case, model file text, what stderr must hold besides the snapshot)
#[rustfmt::skip]
const CASES: &[(&str, &str, &[&str])] = &[
    ("syntax_missing_comma",
     "[tables.user]\ncolumns = [\n  { name = \"id\", type = \"integer\" },\n  { name = \"x\" type = \"text\" },\n]\n",
     &["syntax_missing_comma.toml:4:16", "^"]),
    ("unknown_type",
     "[tables.user]\ncolumns = [\n  { name = \"id\", type = \"integr\" },\n]\n",
     &["unknown_type.toml:3:25", "unknown type `integr`", "^^^^^^^^"]),
    ("missing_fk_column",
     "[tables.user]\ncolumns = [{ name = \"id\", type = \"integer\" }]\n\n[tables.post]\ncolumns = [\n  { name = \"id\", type = \"integer\" },\n  { name = \"user_id\", type = \"integer\", references = \"user(uid)\" },\n]\n",
     &["missing_fk_column.toml:7:3", "missing column `user.uid`"]),
    ("duplicate_column",
     "[tables.user]\ncolumns = [\n  { name = \"id\", type = \"integer\" },\n  { name = \"ID\", type = \"text\" },\n]\n",
     &["duplicate_column.toml:4:3", "duplicate column `ID`"]),
];

#[test]
fn model_errors_show_the_line_and_a_caret() {
    let p = Project::new();
    p.model_from_ddl("good.toml", "CREATE TABLE user (id INTEGER PRIMARY KEY);");
    p.ok(&["create"]);
    p.ok(&["--model", "good.toml", "migrate"]);
    for (case, text, needles) in CASES {
        let file = format!("{case}.toml");
        p.write(&file, text);
        for cmd in [&["migrate"][..], &["check"], &["diff"]] {
            let args = [&["--model", file.as_str()][..], cmd].concat();
            let err = p.refused(&args, needles);
            insta::assert_snapshot!(*case, err);
        }
    }
}
