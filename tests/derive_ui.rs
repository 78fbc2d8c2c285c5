//! `#[derive(dbm::Table)]` misused: each case under tests/derive_ui/ fails to compile with
//! the error (.stderr beside it) pointing at what is wrong. Refresh the .stderr files with
//! `TRYBUILD=overwrite cargo test --release --test derive_ui`, then review them.

#![cfg(feature = "derive")]

#[test]
fn derive_errors_point_at_the_attribute() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/derive_ui/*.rs");
}
