//! Registrations for unit tests of the registry and the plan: an extension, and stand-ins for
//! the built-in actions (the real ones live in cedar-actions, which the kernel does not link).

use crate::action::{
    Action, ActionContext, ActionError, ActionKind, ActionRegistration, Placement,
};

pub const TEST_MODULE: &str = "cedar.test.testext";

#[derive(Debug)]
struct TestExt;

impl Action for TestExt {
    fn execute(&self, _ctx: &ActionContext<'_>) -> Result<(), ActionError> {
        Ok(())
    }
}

inventory::submit! {
    ActionRegistration {
        name: "testext",
        kind: ActionKind::Extension { module: TEST_MODULE, functions: &["executeAction"] },
        placement: Placement { index: 150, run_before: &["stage"], run_after: &["collect"] },
        action: &TestExt,
    }
}

/// Stands in for a built-in action: the plan only needs its name and placement.
#[derive(Debug)]
struct BuiltinStandIn;

impl Action for BuiltinStandIn {
    fn execute(&self, _ctx: &ActionContext<'_>) -> Result<(), ActionError> {
        Ok(())
    }
}

/// The built-ins' fixed indices, as cedar-actions registers them.
macro_rules! builtin_stand_in {
    ($name:literal, $index:literal) => {
        inventory::submit! {
            ActionRegistration {
                name: $name,
                kind: ActionKind::Builtin,
                placement: Placement { index: $index, run_before: &[], run_after: &[] },
                action: &BuiltinStandIn,
            }
        }
    };
}

builtin_stand_in!("collect", 100);
builtin_stand_in!("stage", 200);
builtin_stand_in!("store", 300);
builtin_stand_in!("purge", 400);
builtin_stand_in!("rebuild", 0);
builtin_stand_in!("validate", 0);
builtin_stand_in!("doctor", 0);
builtin_stand_in!("initialize", 0);
