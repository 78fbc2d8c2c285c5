//! The use cases, one function each, composing the stages: generate and migrate, compare
//! (`diff`/`check`), status, the round-trip test, lint, discarding an unapplied version. Upgrade and downgrade are the run
//! half's own (`apply`). The command line calls these and prints; so can an app.

pub(crate) mod compare;
pub(crate) mod discard;
pub(crate) mod generate;
pub(crate) mod lint;
pub(crate) mod migrate;
pub(crate) mod roundtrip;
pub(crate) mod status;

use crate::error::{Error, Result};
use crate::model::{Reserved, Schema};

/// Refuses a model that declares a table the repository keeps for itself.
fn check_reserved(model: &Schema, reserved: &Reserved) -> Result<()> {
    for t in &model.tables {
        if let Some(why) = reserved.reason(&t.name) {
            return Err(Error::InvalidModel {
                table: Some(t.name.clone()),
                message: format!("table `{}`: {why}", t.name),
            });
        }
    }
    Ok(())
}
