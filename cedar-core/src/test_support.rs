//! A registered extension for unit tests of the registry and the plan.

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
