//! Live database → [`Schema`]. Reads `sqlite_schema` (parsed with `sqlite3-parser`) and
//! cross-checks with the `pragma_*` table-valued functions.

use crate::model::Schema;
use crate::Result;
use rusqlite::Connection;

/// Whether a table name belongs to SQLite or to dbm's bookkeeping, not the user's schema.
pub fn is_internal(name: &str) -> bool {
    let l = name.to_ascii_lowercase();
    l.starts_with("sqlite_") || l.starts_with("migrate_")
}

/// Reads the user's schema from a live database.
pub fn inspect(conn: &Connection) -> Result<Schema> {
    let _ = conn;
    Err(crate::Error::Unsupported("inspect is not written yet".into()))
}
