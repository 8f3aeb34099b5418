//! The plan itself: its steps, their kinds and order, and the errors of building it.

use std::fmt;

use super::{managed_peers, resolve};
use crate::action::ActionRegistration;
use crate::clip::clip;
use crate::config::Config;
use crate::options::Options;

/// Actions that must stand alone on the command line.
pub const EXCLUSIVE_ACTIONS: [&str; 5] = ["rebuild", "validate", "doctor", "initialize", "all"];

/// The local steps `all` stands for.
pub const ALL_ACTIONS: [&str; 4] = ["collect", "stage", "store", "purge"];

/// Errors while building the plan; all are configuration-stage errors (exit 4).
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("action {} is not a valid action or extended action; run `cback --help` for the built-in actions, or declare it in <extensions>", clip(.0))]
    InvalidAction(String),
    #[error("action {} may not be combined with other actions; run it on its own", clip(.0))]
    CannotCombine(String),
    #[error("dependency {} on extension {} is unknown; fix <run_before>/<run_after> of that extension", clip(.dependency), clip(.extension))]
    UnknownDependency {
        dependency: String,
        extension: String,
    },
    #[error("unable to determine proper action order due to dependency recursion; remove the cycle from the <depends> entries in <extensions>")]
    Cycle,
    #[error("extended action {}: module {} with function {} is not built into this cback; available modules: {available}", clip(.action), clip(.module), clip(.function))]
    ModuleNotFound {
        action: String,
        module: String,
        function: String,
        available: String,
    },
    #[error("extended action {} has no <index>; give it one in <extensions>", clip(.0))]
    MissingIndex(String),
}

/// Whether a step runs here or on managed peers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum StepKind {
    Local,
    Managed,
}

/// One step of the plan.
#[derive(Debug, Clone)]
pub struct Step {
    pub action: String,
    pub kind: StepKind,
    /// The index the step was sorted by.
    pub index: i64,
    /// Hook commands run before a local step, in configuration order.
    pub pre_hooks: Vec<String>,
    /// Hook commands run after a local step succeeded, in configuration order.
    pub post_hooks: Vec<String>,
    /// Managed steps: the peer names, in configuration order.
    pub peers: Vec<String>,
    /// Local steps: the implementation.
    pub registration: Option<&'static ActionRegistration>,
}

/// The ordered steps of a run.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub steps: Vec<Step>,
}

impl Step {
    /// The step's `--dry-run` lines: its hooks and `run ACTION`, or `manage ACTION PEERS`.
    pub fn lines(&self) -> Vec<String> {
        match self.kind {
            StepKind::Local => {
                let mut lines: Vec<String> = self
                    .pre_hooks
                    .iter()
                    .map(|hook| format!("pre-hook {}: {hook}", self.action))
                    .collect();
                lines.push(format!("run {}", self.action));
                lines.extend(
                    self.post_hooks
                        .iter()
                        .map(|hook| format!("post-hook {}: {hook}", self.action)),
                );
                lines
            }
            StepKind::Managed => vec![format!("manage {} {}", self.action, self.peers.join(","))],
        }
    }
}

impl fmt::Display for Plan {
    /// The `--dry-run` listing: one line per step, in execution order.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for step in &self.steps {
            for line in step.lines() {
                writeln!(f, "{line}")?;
            }
        }
        Ok(())
    }
}

/// Checks the rules for combining actions on the command line.
pub fn check_combination(actions: &[String]) -> Result<(), PlanError> {
    for name in actions {
        if EXCLUSIVE_ACTIONS.contains(&name.as_str()) && actions.len() != 1 {
            return Err(PlanError::CannotCombine(name.clone()));
        }
    }
    Ok(())
}

/// Builds the plan for the command line's actions against the configuration.
pub fn build(config: &Config, options: &Options) -> Result<Plan, PlanError> {
    let actions = &options.actions;
    let resolved = resolve::resolve_all(config, actions)?;
    check_combination(actions)?;
    let indices = resolve::indices(config, &resolved)?;
    let managed = managed_peers(config);

    let hooks = |action: &str, pre: bool| -> Vec<String> {
        let Some(opts) = config.options.as_ref() else {
            return Vec::new();
        };
        let list = if pre {
            &opts.pre_action_hooks
        } else {
            &opts.post_action_hooks
        };
        list.iter()
            .filter(|h| h.action.as_deref() == Some(action))
            .filter_map(|h| h.command.clone())
            .collect()
    };

    let mut steps = Vec::new();
    for name in actions {
        let expanded: Vec<&str> = if name == "all" {
            ALL_ACTIONS.to_vec()
        } else {
            vec![name.as_str()]
        };
        for action in expanded {
            let res = &resolved[action];
            let index = indices[action];
            if options.local() {
                steps.push(Step {
                    action: action.to_string(),
                    kind: StepKind::Local,
                    index,
                    pre_hooks: hooks(action, true),
                    post_hooks: hooks(action, false),
                    peers: Vec::new(),
                    registration: Some(res.registration()?),
                });
            }
            if options.managed_execution() {
                if let Some(peers) = managed.get(action).filter(|p| !p.is_empty()) {
                    steps.push(Step {
                        action: action.to_string(),
                        kind: StepKind::Managed,
                        index,
                        pre_hooks: Vec::new(),
                        post_hooks: Vec::new(),
                        peers: peers.clone(),
                        registration: None,
                    });
                }
            }
        }
    }
    // Stable: equal keys keep command-line order.
    steps.sort_by_key(|s| (s.index, s.kind));
    Ok(Plan { steps })
}
