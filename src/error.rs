//! The library's typed error. The binary adds context with anyhow at its edge.

use std::path::PathBuf;

/// Everything that can go wrong in dbm's library.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Model(#[from] crate::model::file::ModelError),
    #[error("invalid model: {0}")]
    InvalidModel(String),
    #[error("{path}: {message}")]
    File { path: PathBuf, message: String },
    #[error("{0}")]
    Repository(String),
    #[error("cannot read the schema of the database: {0}")]
    Inspect(String),
    #[error("not supported: {0}")]
    Unsupported(String),
    #[error("{0}")]
    Verify(String),
    #[error("{0}")]
    Apply(String),
    /// A migration script failed; `statement` is 1-based, `line` is where it starts.
    #[error("{}: statement {statement} (line {line}) failed: {message}\n    {sql}", file.display())]
    Script {
        file: PathBuf,
        statement: usize,
        line: usize,
        sql: String,
        message: String,
    },
    /// Another connection held the write lock for longer than the busy timeout.
    #[error("database is locked by another migrator (waited {waited_secs} s)")]
    Locked { waited_secs: u64 },
    #[error("{0}")]
    Usage(String),
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// dbm's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
