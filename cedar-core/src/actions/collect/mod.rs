//! PLACEHOLDER: the collect action is being written (issue #4).

use crate::action::{Action, ActionContext, ActionError, ActionKind, ActionRegistration, Placement};

#[derive(Debug)]
struct CollectAction;

impl Action for CollectAction {
    fn execute(&self, _ctx: &ActionContext<'_>) -> Result<(), ActionError> {
        Err(ActionError::NotImplemented { action: "collect".into() })
    }
}

inventory::submit! {
    ActionRegistration {
        name: "collect",
        kind: ActionKind::Builtin,
        placement: Placement { index: 100, run_before: &[], run_after: &[] },
        action: &CollectAction,
    }
}
