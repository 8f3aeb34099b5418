//! PLACEHOLDER: the purge action is being written (issue #4).

use crate::action::{Action, ActionContext, ActionError, ActionKind, ActionRegistration, Placement};

#[derive(Debug)]
struct PurgeAction;

impl Action for PurgeAction {
    fn execute(&self, _ctx: &ActionContext<'_>) -> Result<(), ActionError> {
        Err(ActionError::NotImplemented { action: "purge".into() })
    }
}

inventory::submit! {
    ActionRegistration {
        name: "purge",
        kind: ActionKind::Builtin,
        placement: Placement { index: 400, run_before: &[], run_after: &[] },
        action: &PurgeAction,
    }
}
