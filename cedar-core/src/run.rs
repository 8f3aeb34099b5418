//! Executing a plan: hooks around local steps, actions, managed steps on remote peers; and
//! the failure hook once a run has failed.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::action::{ActionContext, ActionError};
use crate::clip::clip;
use crate::config::{ConfigFile, PeerConfig};
use crate::hooks::{self, HookEnv, HookError};
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
    /// The action the run stopped in (the first one, for managed failures).
    pub fn action(&self) -> &str {
        match self {
            RunError::Action { action, .. }
            | RunError::Interrupted(action)
            | RunError::InterruptedWhile { action, .. } => action,
            RunError::Hook(error) => error.action(),
            RunError::Managed(failures) => failures.first().map_or("", |f| f.action.as_str()),
        }
    }

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

/// What a run tells its hooks about itself: its id and where its status goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunInfo {
    /// One id per run: its start (UTC) and the process id, e.g. `2026-03-04T00:30:02Z-4242`.
    pub run_id: String,
    /// `WORKING_DIR/cback-status.json` (empty without a working_dir).
    pub status_file: PathBuf,
}

impl RunInfo {
    /// The run started at `start` (seconds since the epoch) by this process.
    pub fn new(config: &ConfigFile, start: i64) -> RunInfo {
        RunInfo {
            run_id: format!("{}-{}", crate::calendar::rfc3339(start), std::process::id()),
            status_file: working_dir(config)
                .map(crate::status::status_path)
                .unwrap_or_default(),
        }
    }

    fn hook_env(&self, action: &str, status: &'static str, error: &str) -> HookEnv {
        HookEnv {
            action: action.to_string(),
            status,
            error: error.to_string(),
            status_file: self.status_file.clone(),
            run_id: self.run_id.clone(),
        }
    }
}

/// How long the failure hook may run: it runs after an interrupt too, when nothing else would
/// stop it.
pub const FAILURE_HOOK_LIMIT: Duration = Duration::from_secs(120);

/// Runs `<options><failure_hook>`, if any, once for a run that failed with `error`, with the
/// hooks' environment (`CBACK_STATUS` `failed` or `interrupted`, `CBACK_ERROR` the error's first
/// line). A hook that fails, or runs past [`FAILURE_HOOK_LIMIT`], is logged as an error and
/// changes nothing else.
pub fn run_failure_hook(config: &ConfigFile, info: &RunInfo, error: &RunError) {
    let Some(command) = config
        .config
        .options
        .as_ref()
        .and_then(|o| o.failure_hook.as_deref())
        .filter(|c| !c.trim().is_empty())
    else {
        return;
    };
    let status = if error.exit_code() == interrupt::EXIT_INTERRUPTED {
        "interrupted"
    } else {
        "failed"
    };
    let text = crate::chain::chain(error);
    let first_line = text.lines().next().unwrap_or_default();
    let env = info.hook_env(error.action(), status, first_line);
    tracing::info!("Executing failure hook: {command}");
    // An interrupt that stopped the run does not stop its failure hook; a later one does.
    let interrupted_before = interrupt::requested();
    let stop = || !interrupted_before && interrupt::requested();
    match hooks::run_hook_until(
        "failure",
        error.action(),
        command,
        &env,
        &stop,
        Some(FAILURE_HOOK_LIMIT),
    ) {
        Ok(output) => logging::log_command_output(&output),
        Err(e) => tracing::error!("{e}; the run's exit status is unchanged"),
    }
}

/// Runs every step in order; the first failure of a local step stops the run. A managed action
/// that fails on a peer does not stop it (as in the original), but the run then ends with
/// [`RunError::Managed`] naming every such peer.
pub fn execute(
    plan: &Plan,
    config: &ConfigFile,
    options: &Options,
    info: &RunInfo,
) -> Result<(), RunError> {
    let mut managed_failures = Vec::new();
    for step in &plan.steps {
        if interrupt::requested() {
            return Err(RunError::Interrupted(step.action.clone()));
        }
        match step.kind {
            StepKind::Local => {
                let earlier: Vec<String> =
                    managed_failures.iter().map(ToString::to_string).collect();
                run_local(step, config, options, &earlier, info)?
            }
            StepKind::Managed => managed_failures.extend(run_managed(step, config, options)?),
        }
    }
    if managed_failures.is_empty() {
        Ok(())
    } else {
        Err(RunError::Managed(managed_failures))
    }
}

fn run_local(
    step: &Step,
    config: &ConfigFile,
    options: &Options,
    earlier_failures: &[String],
    info: &RunInfo,
) -> Result<(), RunError> {
    let action = step.action.as_str();
    for command in &step.pre_hooks {
        tracing::info!("Executing pre-action hook for action [{action}]: {command}");
        let env = info.hook_env(action, "running", "");
        let output = hooks::run_hook("pre-action", action, command, &env)?;
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
        earlier_failures,
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
        let env = info.hook_env(action, "ok", "");
        let output = hooks::run_hook("post-action", action, command, &env)?;
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
    let full = if full { " --full" } else { "" };
    managed_peer_call(peer, config, &format!("{full} {action}"))
}

/// The call that runs the peer's cback command followed by `args` (a leading blank included,
/// e.g. `" --version"`) on a managed peer: `RSH REMOTEUSER@HOST 'CBACK_COMMAND ARGS'`, through
/// `su BACKUP_USER -c` as root. Managed steps and `cback doctor` call peers through it.
pub fn managed_peer_call(peer: &PeerConfig, config: &ConfigFile, args: &str) -> RemoteCall {
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
    words.push(Word::Single(format!("{cback}{args}")));
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
