//! `dbm.toml` and the precedence flags > DATABASE_URL > file > defaults.
