//! The action contract shared by built-in actions and extensions, and their registration.
//!
//! Every action, built in or extension, submits one [`ActionRegistration`] with
//! `inventory::submit!`. The registry resolves command-line names against the configuration's
//! `<extensions>` entries and these registrations.

use std::path::Path;

use crate::config::ConfigFile;
use crate::options::Options;

/// Everything an action receives: the configuration path, the command line and the document.
#[derive(Debug, Clone, Copy)]
pub struct ActionContext<'a> {
    /// The name the action was invoked under (an extension may be declared under several).
    pub action_name: &'a str,
    pub config_path: &'a Path,
    pub options: &'a Options,
    pub config: &'a ConfigFile,
    /// What failed earlier in this run without stopping it (a managed action on a peer), one
    /// line each; empty when nothing did. Purge removes nothing when it is not empty.
    pub earlier_failures: &'a [String],
}

/// Why an action failed. Every variant ends up as exit status 6.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    #[error("{0}")]
    Failed(String),
    #[error("{message}")]
    Source {
        message: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },
    #[error("interrupted")]
    Interrupted,
    /// Stopped by SIGINT or SIGTERM in the middle of something the user must know about: what
    /// was being done (the peer being copied, the device being written) and what was left as
    /// it was, as one phrase that follows "while".
    #[error("interrupted while {0}")]
    InterruptedWhile(String),
}

impl ActionError {
    pub fn failed(message: impl Into<String>) -> Self {
        ActionError::Failed(message.into())
    }
    pub fn with_source(
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        ActionError::Source {
            message: message.into(),
            source: Box::new(source),
        }
    }
}

/// An action that can run.
pub trait Action: Sync + Send + 'static {
    /// Runs the action.
    fn execute(&self, ctx: &ActionContext<'_>) -> Result<(), ActionError>;

    /// Checks the action's own configuration section without running anything. Returns every
    /// problem found (empty when valid). Used by the `validate` action.
    fn validate(&self, ctx: &ActionContext<'_>) -> Vec<String> {
        let _ = ctx;
        Vec::new()
    }

    /// Checks, without writing any backup, that tonight's run of this action can succeed: the
    /// servers, peers, keys and buckets its section names, each check within
    /// [`crate::doctor::CHECK_TIME_LIMIT`]. Returns one result per check; none when the action
    /// has nothing to check (the default) or its section is absent. Used by `cback doctor`.
    fn doctor(&self, ctx: &ActionContext<'_>) -> Vec<crate::doctor::CheckResult> {
        let _ = ctx;
        Vec::new()
    }
}

/// Where an action sits relative to the built-ins when the configuration does not say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    /// Index used in index mode.
    pub index: u32,
    /// Dependency mode: this action runs before these actions.
    pub run_before: &'static [&'static str],
    /// Dependency mode: this action runs after these actions.
    pub run_after: &'static [&'static str],
}

/// What kind of action a registration describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionKind {
    /// A built-in action of the original: collect, stage, store, purge, rebuild, validate,
    /// initialize.
    Builtin,
    /// An extension, found by its `<module>` and `<function>`.
    Extension {
        /// The original's Python module path, e.g. `CedarBackup3.extend.postgresql`.
        module: &'static str,
        /// The function names that select this action, e.g. `executeAction`.
        functions: &'static [&'static str],
    },
}

/// One registered action. Submit it with `inventory::submit!`.
pub struct ActionRegistration {
    /// The action's default name on the command line.
    pub name: &'static str,
    pub kind: ActionKind,
    /// Default placement (built-ins: their fixed index).
    pub placement: Placement,
    pub action: &'static dyn Action,
}

impl std::fmt::Debug for ActionRegistration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActionRegistration")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("placement", &self.placement)
            .finish_non_exhaustive()
    }
}

inventory::collect!(ActionRegistration);

/// Every registration linked into this binary.
pub fn registrations() -> impl Iterator<Item = &'static ActionRegistration> {
    inventory::iter::<ActionRegistration>.into_iter()
}

/// The registration of the built-in action `name`.
pub fn builtin(name: &str) -> Option<&'static ActionRegistration> {
    registrations().find(|r| r.kind == ActionKind::Builtin && r.name == name)
}

/// The extension registered for `module` / `function`.
pub fn extension_by_module(module: &str, function: &str) -> Option<&'static ActionRegistration> {
    registrations().find(|r| match r.kind {
        ActionKind::Extension {
            module: m,
            functions,
        } => m == module && functions.contains(&function),
        ActionKind::Builtin => false,
    })
}

/// The extension registered under the default name `name`.
pub fn extension_by_name(name: &str) -> Option<&'static ActionRegistration> {
    registrations().find(|r| matches!(r.kind, ActionKind::Extension { .. }) && r.name == name)
}

/// `module.function` of every registered extension, sorted, for error messages.
pub fn available_modules() -> Vec<String> {
    let mut list: Vec<String> = registrations()
        .filter_map(|r| match r.kind {
            ActionKind::Extension { module, functions } => {
                Some(functions.iter().map(move |f| format!("{module}.{f}")))
            }
            ActionKind::Builtin => None,
        })
        .flatten()
        .collect();
    list.sort();
    list
}
