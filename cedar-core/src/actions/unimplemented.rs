//! Built-in actions that cback plans and orders like the original but does not run yet:
//! stage. It fails with "not implemented yet" (exit 6).

use crate::action::{
    Action, ActionContext, ActionError, ActionKind, ActionRegistration, Placement,
};

/// A built-in action that is registered for planning but not yet implemented.
#[derive(Debug)]
struct NotYet(&'static str);

impl Action for NotYet {
    fn execute(&self, _ctx: &ActionContext<'_>) -> Result<(), ActionError> {
        Err(ActionError::NotImplemented {
            action: self.0.to_string(),
        })
    }
}

macro_rules! not_yet {
    ($name:literal, $index:literal) => {
        inventory::submit! {
            ActionRegistration {
                name: $name,
                kind: ActionKind::Builtin,
                placement: Placement { index: $index, run_before: &[], run_after: &[] },
                action: &NotYet($name),
            }
        }
    };
}

not_yet!("stage", 200);
