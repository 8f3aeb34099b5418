//! Executing a plan: hooks around local steps, actions, managed steps on remote peers.

use std::path::Path;

use crate::action::{ActionContext, ActionError};
use crate::clip::clip;
use crate::config::{ConfigFile, PeerConfig};
use crate::hooks::{self, HookError};
use crate::interrupt;
use crate::logging;
use crate::options::Options;
use crate::ownership;
use crate::plan::{Plan, Step, StepKind};
use crate::process;
use crate::remote::{config_words, RemoteCall, RemoteError, Word};

/// The default command a managed peer runs.
pub const DEFAULT_CBACK_COMMAND: &str = "/usr/bin/cback3";
/// The default remote shell.
pub const DEFAULT_RSH_COMMAND: &str = "/usr/bin/ssh";

/// One managed action that failed on one peer.
#[derive(Debug, thiserror::Error)]
#[error("action {action} on managed peer [{peer}]: {source}")]
pub struct ManagedFailure {
    pub action: String,
    pub peer: String,
    #[source]
    pub source: RemoteError,
}

/// Why a run stopped.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("action {} failed: {source}", clip(.action))]
    Action {
        action: String,
        #[source]
        source: ActionError,
    },
    #[error(transparent)]
    Hook(HookError),
    #[error("interrupted during action {}; nothing after it ran", clip(.0))]
    Interrupted(String),
    /// Interrupted while the action was doing something it named ([`ActionError::InterruptedWhile`]).
    #[error("interrupted during action {} while {what}; nothing after it ran", clip(.action))]
    InterruptedWhile { action: String, what: String },
    #[error("{}", managed_message(.0))]
    Managed(Vec<ManagedFailure>),
}

fn managed_message(failures: &[ManagedFailure]) -> String {
    let mut text = format!(
        "{} managed action(s) failed on their peers (every other step ran); check each peer's own log, and that the rsh command reaches it as the backup user",
        failures.len()
    );
    for failure in failures {
        text.push_str("\n- ");
        text.push_str(&failure.to_string());
    }
    text
}

impl From<HookError> for RunError {
    fn from(error: HookError) -> Self {
        match error {
            HookError::Interrupted { action, .. } => RunError::Interrupted(action),
            other => RunError::Hook(other),
        }
    }
}

impl RunError {
    /// The original's exit status for this error: 5 for an interrupt, 6 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            RunError::Interrupted(_) | RunError::InterruptedWhile { .. } => 5,
            RunError::Action {
                source: ActionError::Interrupted | ActionError::InterruptedWhile(_),
                ..
            } => 5,
            _ => 6,
        }
    }
}

/// Runs every step in order; the first failure of a local step stops the run. A managed action
/// that fails on a peer does not stop it (as in the original), but the run then ends with
/// [`RunError::Managed`] naming every such peer.
pub fn execute(plan: &Plan, config: &ConfigFile, options: &Options) -> Result<(), RunError> {
    let mut managed_failures = Vec::new();
    for step in &plan.steps {
        if interrupt::requested() {
            return Err(RunError::Interrupted(step.action.clone()));
        }
        match step.kind {
            StepKind::Local => run_local(step, config, options)?,
            StepKind::Managed => managed_failures.extend(run_managed(step, config, options)?),
        }
    }
    if managed_failures.is_empty() {
        Ok(())
    } else {
        Err(RunError::Managed(managed_failures))
    }
}

fn run_local(step: &Step, config: &ConfigFile, options: &Options) -> Result<(), RunError> {
    let action = step.action.as_str();
    for command in &step.pre_hooks {
        tracing::info!("Executing pre-action hook for action [{action}]: {command}");
        let output = hooks::run_hook("pre-action", action, command)?;
        logging::log_command_output(&output);
    }
    if interrupt::requested() {
        return Err(RunError::Interrupted(action.to_string()));
    }
    tracing::info!("Executing the '{action}' action.");
    let Some(registration) = step.registration else {
        return Err(RunError::Action {
            action: action.to_string(),
            source: ActionError::failed("no implementation was resolved for this action"),
        });
    };
    let ctx = ActionContext {
        action_name: action,
        config_path: &config.path,
        options,
        config,
    };
    match registration.action.execute(&ctx) {
        Ok(()) => {}
        Err(ActionError::Interrupted) => return Err(RunError::Interrupted(action.to_string())),
        Err(ActionError::InterruptedWhile(what)) => {
            return Err(RunError::InterruptedWhile {
                action: action.to_string(),
                what,
            })
        }
        Err(_) if interrupt::requested() => return Err(RunError::Interrupted(action.to_string())),
        Err(source) => {
            return Err(RunError::Action {
                action: action.to_string(),
                source,
            })
        }
    }
    for command in &step.post_hooks {
        tracing::info!("Executing post-action hook for action [{action}]: {command}");
        let output = hooks::run_hook("post-action", action, command)?;
        logging::log_command_output(&output);
    }
    Ok(())
}

/// The remote peer of `<peers>` named `name`.
fn managed_peer<'a>(config: &'a ConfigFile, name: &str) -> Option<&'a PeerConfig> {
    config.config.peers.as_ref().and_then(|p| {
        p.peers
            .iter()
            .find(|p| p.is_remote() && p.name.as_deref() == Some(name))
    })
}

/// Runs the action on each managed peer in turn. A failing peer is logged as an error and the
/// next peer goes on, as in the original; the failures are returned.
fn run_managed(
    step: &Step,
    config: &ConfigFile,
    options: &Options,
) -> Result<Vec<ManagedFailure>, RunError> {
    let mut failures = Vec::new();
    for name in &step.peers {
        if interrupt::requested() {
            return Err(RunError::Interrupted(step.action.clone()));
        }
        let Some(peer) = managed_peer(config, name) else {
            continue;
        };
        tracing::info!(
            "Executing managed action [{}] on peer [{name}].",
            step.action
        );
        match managed_call(peer, &step.action, config, options.full).run() {
            Ok(_) => {}
            Err(RemoteError::Interrupted { .. }) => {
                return Err(RunError::Interrupted(step.action.clone()))
            }
            Err(source) => {
                tracing::error!(
                    "Failed to execute action [{}] on managed client [{name}]: {source}",
                    step.action
                );
                failures.push(ManagedFailure {
                    action: step.action.clone(),
                    peer: name.clone(),
                    source,
                });
            }
        }
    }
    Ok(failures)
}

/// The call that runs `action` on a managed peer, in the original's form:
/// `RSH REMOTEUSER@HOST 'CBACK_COMMAND [--full] ACTION'`, through `su BACKUP_USER -c` as root.
pub fn managed_call(
    peer: &PeerConfig,
    action: &str,
    config: &ConfigFile,
    full: bool,
) -> RemoteCall {
    let opts = config.config.options.clone().unwrap_or_default();
    let user = peer
        .backup_user
        .clone()
        .or(opts.backup_user.clone())
        .unwrap_or_default();
    let rsh = peer
        .rsh_command
        .clone()
        .or(opts.rsh_command.clone())
        .unwrap_or_else(|| DEFAULT_RSH_COMMAND.to_string());
    let cback = peer
        .cback_command
        .clone()
        .or(opts.cback_command.clone())
        .unwrap_or_else(|| DEFAULT_CBACK_COMMAND.to_string());
    let mut words = config_words(&rsh);
    words.push(Word::Plain(format!(
        "{user}@{}",
        peer.name.clone().unwrap_or_default()
    )));
    let full = if full { " --full" } else { "" };
    words.push(Word::Single(format!("{cback}{full} {action}")));
    let local_user = opts
        .backup_user
        .as_deref()
        .filter(|u| ownership::running_as_root() && !u.is_empty());
    let su = process::resolve_command(&config.config, "su");
    RemoteCall::new(words, local_user, &su.display().to_string())
}

/// The managed calls of a managed step, one line per peer (for `--dry-run`).
pub fn describe_managed(step: &Step, config: &ConfigFile, full: bool) -> Vec<String> {
    step.peers
        .iter()
        .filter_map(|name| {
            let peer = managed_peer(config, name)?;
            Some(format!(
                "  on {name}: {}",
                managed_call(peer, &step.action, config, full).display()
            ))
        })
        .collect()
}

/// Whether a plan does more than check (`validate`, `doctor`): a plan that only checks needs no
/// lock, may run without a working_dir and leaves the status file of the last run as it is.
pub fn needs_lock(plan: &Plan) -> bool {
    plan.steps
        .iter()
        .any(|s| s.action != "validate" && s.action != "doctor")
}

/// The working directory the run lock lives in.
pub fn working_dir(config: &ConfigFile) -> Option<&Path> {
    config
        .config
        .options
        .as_ref()
        .and_then(|o| o.working_dir.as_deref())
        .map(Path::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_interrupt_that_says_where_exits_5_and_names_the_action_and_the_place() {
        let err = RunError::InterruptedWhile {
            action: "stage".into(),
            what: "staging peer [a]".into(),
        };
        assert_eq!(err.exit_code(), 5);
        assert_eq!(
            err.to_string(),
            "interrupted during action stage while staging peer [a]; nothing after it ran"
        );
        let err = RunError::Action {
            action: "stage".into(),
            source: ActionError::InterruptedWhile("staging peer [a]".into()),
        };
        assert_eq!(err.exit_code(), 5);
    }

    #[test]
    fn managed_call_uses_peer_then_options_then_defaults() {
        let mut file = ConfigFile {
            path: "/etc/cback3.conf".into(),
            config: Default::default(),
        };
        file.config.options = Some(crate::config::OptionsConfig {
            backup_user: Some("backup".into()),
            rsh_command: Some("/usr/bin/ssh -q".into()),
            ..Default::default()
        });
        let peer = PeerConfig {
            name: Some("host1".into()),
            peer_type: Some("remote".into()),
            ..Default::default()
        };
        let call = managed_call(&peer, "collect", &file, true);
        let words: Vec<String> = call.words.iter().map(Word::arg).collect();
        assert_eq!(
            words,
            [
                "/usr/bin/ssh",
                "-q",
                "backup@host1",
                "/usr/bin/cback3 --full collect"
            ]
        );
        assert_eq!(
            call.shell_text(),
            "/usr/bin/ssh -q backup@host1 '/usr/bin/cback3 --full collect'"
        );
        assert_eq!(call.su_user.is_some(), ownership::running_as_root());
        let peer = PeerConfig {
            backup_user: Some("remote".into()),
            cback_command: Some("/opt/cback".into()),
            rsh_command: Some("rsh".into()),
            ..peer
        };
        assert_eq!(
            managed_call(&peer, "purge", &file, false).shell_text(),
            "rsh remote@host1 '/opt/cback purge'"
        );
    }
}
