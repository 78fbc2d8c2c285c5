//! Words for changes.
/// Risk class of a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Risk { Safe, MayFail, Destructive }
