//! The command line (clap).

use crate::model::Schema;

/// Runs the dbm command line with a model declared in Rust instead of a TOML file.
pub fn run_with_model(model: Schema) -> anyhow::Result<()> {
    let _ = model;
    Ok(())
}
