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

/// The default command a managed peer runs.
pub const DEFAULT_CBACK_COMMAND: &str = "/usr/bin/cback3";
/// The default remote shell.
pub const DEFAULT_RSH_COMMAND: &str = "/usr/bin/ssh";

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
            RunError::Interrupted(_) => 5,
            RunError::Action {
                source: ActionError::Interrupted,
                ..
            } => 5,
            _ => 6,
        }
    }
}

/// Runs every step in order; the first failure stops the run.
pub fn execute(plan: &Plan, config: &ConfigFile, options: &Options) -> Result<(), RunError> {
    for step in &plan.steps {
        if interrupt::requested() {
            return Err(RunError::Interrupted(step.action.clone()));
        }
        match step.kind {
            StepKind::Local => run_local(step, config, options)?,
            StepKind::Managed => run_managed(step, config, options)?,
        }
    }
    Ok(())
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

/// Runs the action on each managed peer in turn. A failing peer is logged as an error and the
/// next peer goes on, as in the original.
fn run_managed(step: &Step, config: &ConfigFile, options: &Options) -> Result<(), RunError> {
    for name in &step.peers {
        if interrupt::requested() {
            return Err(RunError::Interrupted(step.action.clone()));
        }
        let Some(peer) = config.config.peers.as_ref().and_then(|p| {
            p.peers
                .iter()
                .find(|p| p.is_remote() && p.name.as_ref() == Some(name))
        }) else {
            continue;
        };
        tracing::info!(
            "Executing managed action [{}] on peer [{name}].",
            step.action
        );
        if let Err(message) = run_on_peer(peer, &step.action, config, options) {
            if interrupt::requested() {
                return Err(RunError::Interrupted(step.action.clone()));
            }
            tracing::error!(
                "Managed action [{}] failed on peer [{name}]: {message}",
                step.action
            );
        }
    }
    Ok(())
}

/// The command line that runs `action` on a managed peer: the rsh command's fields, then
/// `USER@HOST` and the remote cback command.
pub fn managed_command(
    peer: &PeerConfig,
    action: &str,
    config: &ConfigFile,
    full: bool,
) -> Vec<String> {
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
    let mut argv = hooks::split_command(&rsh);
    argv.push(format!("{user}@{}", peer.name.clone().unwrap_or_default()));
    let full = if full { " --full" } else { "" };
    argv.push(format!("{cback}{full} {action}"));
    argv
}

fn run_on_peer(
    peer: &PeerConfig,
    action: &str,
    config: &ConfigFile,
    options: &Options,
) -> Result<(), String> {
    let argv = managed_command(peer, action, config, options.full);
    let local_user = config
        .config
        .options
        .as_ref()
        .and_then(|o| o.backup_user.clone())
        .unwrap_or_default();
    let cmd = if ownership::running_as_root() && !local_user.is_empty() {
        // As root, run as the backup user so that user's ssh keys are used.
        let quoted: Vec<String> = argv.iter().map(|a| shell_quote(a)).collect();
        let mut c = process::command("su");
        c.arg(&local_user).arg("-c").arg(quoted.join(" "));
        c
    } else {
        let (program, args) = argv.split_first().ok_or("the rsh command is empty")?;
        let mut c = process::command(program);
        c.args(args);
        c
    };
    let output = process::run_supervised(cmd).map_err(|e| format!("{}: {e}", argv[0]))?;
    let text = process::combined_text(&output);
    logging::log_command_output(&text);
    if output.status.success() {
        Ok(())
    } else {
        Err(format!("{}: {}", output.status, process::tail(&text, 5)))
    }
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Whether a plan only validates (and so needs no lock and may run without a working_dir).
pub fn needs_lock(plan: &Plan) -> bool {
    plan.steps.iter().any(|s| s.action != "validate")
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
    fn managed_command_uses_peer_then_options_then_defaults() {
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
        assert_eq!(
            managed_command(&peer, "collect", &file, true),
            [
                "/usr/bin/ssh",
                "-q",
                "backup@host1",
                "/usr/bin/cback3 --full collect"
            ]
        );
        let peer = PeerConfig {
            backup_user: Some("remote".into()),
            cback_command: Some("/opt/cback".into()),
            rsh_command: Some("rsh".into()),
            ..peer
        };
        assert_eq!(
            managed_command(&peer, "purge", &file, false),
            ["rsh", "remote@host1", "/opt/cback purge"]
        );
    }
}
