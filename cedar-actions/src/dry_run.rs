//! The `--dry-run` listing: the plan, one line per step as the original orders it (see
//! [`cedar_core::Plan`]), and under some steps indented lines that say what the step would do:
//!
//! - under `run stage`: each peer, where it would be staged from and to, and the copy command
//!   of a remote peer;
//! - under `manage ACTION PEERS`: the remote-shell call for each peer.
//!
//! Lines that start with a blank are these details; the others are the plan itself.

use crate::stage;
use cedar_core::{describe_managed, ConfigFile, Options, Plan, StepKind, Today};

/// The whole listing, each line ending with a newline.
pub fn render(plan: &Plan, config: &ConfigFile, options: &Options) -> String {
    let today = Today::current();
    let mut out = String::new();
    for step in &plan.steps {
        let mut lines = step.lines();
        match step.kind {
            StepKind::Local if step.action == "stage" => {
                // After `run stage`, before its post hooks.
                let at = lines
                    .iter()
                    .position(|l| l == "run stage")
                    .map_or(lines.len(), |i| i + 1);
                let details = stage::dry_run::describe(&config.config, &today);
                lines.splice(at..at, details);
            }
            StepKind::Managed => {
                lines.extend(describe_managed(step, config, options.full));
            }
            StepKind::Local => {}
        }
        for line in lines {
            out.push_str(&line);
            out.push('\n');
        }
    }
    out
}
