//! The `doctor` action: the configuration (what `validate` checks), the directories of the
//! run ([`super::directories`]), then each configured action's and extension's own checks
//! ([`cedar_core::Action::doctor`]). Prints one `PASS`/`WARN`/`FAIL` line per check (or one
//! JSON document with `--json`) and fails (exit 6) when any check failed.

use cedar_core::{
    action_registrations, failed_checks, render_check_lines, render_checks_json, Action,
    ActionContext, ActionError, ActionKind, ActionRegistration, CheckResult, CheckStatus,
    Placement,
};

use super::directories;

#[derive(Debug)]
struct DoctorAction;

/// Every result, in the order printed: the configuration, the directories, then each action
/// (the built-ins in their order, then the extensions by name).
pub fn results(ctx: &ActionContext<'_>) -> Vec<CheckResult> {
    let config_path = ctx.config_path.display().to_string();
    let problems = crate::validate::problems(ctx);
    let mut results: Vec<CheckResult> = if problems.is_empty() {
        vec![CheckResult::pass(
            "configuration",
            &config_path,
            "valid (what `cback validate` checks)",
        )]
    } else {
        problems
            .iter()
            .map(|p| CheckResult::fail("configuration", &config_path, p))
            .collect()
    };
    results.extend(directories::check(ctx.config));
    let mut builtins: Vec<&'static ActionRegistration> = action_registrations()
        .filter(|r| r.kind == ActionKind::Builtin)
        .collect();
    builtins.sort_by_key(|r| (r.placement.index, r.name));
    for reg in builtins {
        let own = ActionContext {
            action_name: reg.name,
            ..*ctx
        };
        results.extend(reg.action.doctor(&own));
    }
    let mut extensions = crate::validate::configured_extensions(ctx);
    extensions.sort_by_key(|r| r.name);
    extensions.dedup_by_key(|r| r.name);
    for reg in extensions {
        let own = ActionContext {
            action_name: reg.name,
            ..*ctx
        };
        results.extend(reg.action.doctor(&own));
    }
    results
}

impl Action for DoctorAction {
    fn execute(&self, ctx: &ActionContext<'_>) -> Result<(), ActionError> {
        let results = results(ctx);
        for result in &results {
            match result.status {
                CheckStatus::Fail => {
                    tracing::error!(target: cedar_core::LOG_FILE_ONLY_TARGET, "{result}")
                }
                CheckStatus::Warn => {
                    tracing::warn!(target: cedar_core::LOG_FILE_ONLY_TARGET, "{result}")
                }
                CheckStatus::Pass => {
                    tracing::info!(target: cedar_core::LOG_FILE_ONLY_TARGET, "{result}")
                }
            }
        }
        // The report itself goes to standard output, whatever --quiet says: it is the answer.
        if ctx.options.json {
            print!("{}", render_checks_json(&results));
        } else {
            print!("{}", render_check_lines(&results));
        }
        match failed_checks(&results) {
            0 => Ok(()),
            failed => Err(ActionError::failed(format!(
                "{failed} of {} check(s) failed; fix what the FAIL lines say, then run `cback doctor` again",
                results.len()
            ))),
        }
    }
}

cedar_core::inventory::submit! {
    ActionRegistration {
        name: "doctor",
        kind: ActionKind::Builtin,
        placement: Placement { index: 0, run_before: &[], run_after: &[] },
        action: &DoctorAction,
    }
}
