//! Pre- and post-action hooks and the failure hook: split like the original, run with the
//! run's environment ([`HookEnv`]), and fail the action on a non-zero exit with the tail of the
//! hook's output.

use std::path::PathBuf;
use std::process::Command;

use crate::clip::clip;
use crate::process::{self, SupervisedError, WithinError};

/// What every hook is told about the run, as environment variables: `CBACK_ACTION`,
/// `CBACK_STATUS` (`running` before the action; `ok`, `failed` or `interrupted` after it),
/// `CBACK_ERROR` (the first line of the error, empty without one), `CBACK_STATUS_FILE` and
/// `CBACK_RUN_ID`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookEnv {
    pub action: String,
    pub status: &'static str,
    pub error: String,
    pub status_file: PathBuf,
    pub run_id: String,
}

impl HookEnv {
    fn apply(&self, cmd: &mut Command) {
        cmd.env("CBACK_ACTION", &self.action)
            .env("CBACK_STATUS", self.status)
            .env("CBACK_ERROR", &self.error)
            .env("CBACK_STATUS_FILE", &self.status_file)
            .env("CBACK_RUN_ID", &self.run_id);
    }
}

/// Errors from running a hook.
#[derive(Debug, thiserror::Error)]
pub enum HookError {
    #[error("{kind} hook for action {} is empty; give it a <command>", clip(.action))]
    Empty { kind: &'static str, action: String },
    #[error("{kind} hook for action {} (`{}`) could not be started: {source}; check that the program exists and is executable", clip(.action), clip(.command))]
    Spawn {
        kind: &'static str,
        action: String,
        command: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{kind} hook for action {} was interrupted; the hook was stopped", clip(.action))]
    Interrupted { kind: &'static str, action: String },
    #[error("{kind} hook for action {} (`{}`) ran longer than {seconds} s and was stopped; make it finish sooner, or start its slow work in the background", clip(.action), clip(.command))]
    TimedOut {
        kind: &'static str,
        action: String,
        command: String,
        seconds: u64,
    },
    #[error("{kind} hook for action {} (`{}`) failed with {status}{}", clip(.action), clip(.command), tail_suffix(.tail))]
    Failed {
        kind: &'static str,
        action: String,
        command: String,
        status: String,
        tail: String,
    },
}

fn tail_suffix(tail: &str) -> String {
    if tail.is_empty() {
        String::new()
    } else {
        format!("; its output ended with:\n{tail}")
    }
}

/// Splits a hook command the way the original does: fields are separated by spaces, double
/// quotes group words and are removed, single quotes mean nothing special, and empty fields
/// are dropped.
pub fn split_command(command: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let chars: Vec<char> = command.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            ' ' => i += 1,
            '"' => {
                // A quoted field needs its closing quote; a lone quote is skipped.
                if let Some(end) = chars[i + 1..].iter().position(|&c| c == '"') {
                    let field: String = chars[i + 1..i + 1 + end].iter().collect();
                    if !field.is_empty() {
                        fields.push(field);
                    }
                    i += end + 2;
                } else {
                    i += 1;
                }
            }
            _ => {
                let start = i;
                while i < chars.len() && chars[i] != ' ' && chars[i] != '"' {
                    i += 1;
                }
                fields.push(chars[start..i].iter().collect());
            }
        }
    }
    fields
}

impl HookError {
    /// The action the hook ran for.
    pub fn action(&self) -> &str {
        match self {
            HookError::Empty { action, .. }
            | HookError::Spawn { action, .. }
            | HookError::Interrupted { action, .. }
            | HookError::TimedOut { action, .. }
            | HookError::Failed { action, .. } => action,
        }
    }
}

/// Runs one hook, stopped by an interrupt. Its combined output is returned so the caller can
/// log it.
pub fn run_hook(
    kind: &'static str,
    action: &str,
    command: &str,
    env: &HookEnv,
) -> Result<String, HookError> {
    run_hook_until(
        kind,
        action,
        command,
        env,
        &crate::interrupt::requested,
        None,
    )
}

/// [`run_hook`], stopped when `stop` turns true instead ([`HookError::Interrupted`]) or once
/// `limit` has passed ([`HookError::TimedOut`]).
pub fn run_hook_until(
    kind: &'static str,
    action: &str,
    command: &str,
    env: &HookEnv,
    stop: &(dyn Fn() -> bool + Sync),
    limit: Option<std::time::Duration>,
) -> Result<String, HookError> {
    let fields = split_command(command);
    let Some((program, args)) = fields.split_first() else {
        return Err(HookError::Empty {
            kind,
            action: action.to_string(),
        });
    };
    let quoted: Vec<String> = args.iter().map(|a| format!("'{a}'")).collect();
    tracing::info!(
        target: crate::logging::OUTPUT_TARGET,
        "Executing command ['{program}'] with args [{}].",
        quoted.join(", ")
    );
    let mut cmd = process::command(program);
    cmd.args(args);
    env.apply(&mut cmd);
    let output = process::run_watched_within(cmd, stop, limit).map_err(|e| match e {
        WithinError::Supervised(SupervisedError::Spawn(source)) => HookError::Spawn {
            kind,
            action: action.to_string(),
            command: command.to_string(),
            source,
        },
        WithinError::Supervised(SupervisedError::Interrupted) => HookError::Interrupted {
            kind,
            action: action.to_string(),
        },
        WithinError::TimedOut(limit) => HookError::TimedOut {
            kind,
            action: action.to_string(),
            command: command.to_string(),
            seconds: limit.as_secs(),
        },
    })?;
    let text = process::combined_text(&output);
    if !output.status.success() {
        return Err(HookError::Failed {
            kind,
            action: action.to_string(),
            command: command.to_string(),
            status: output.status.to_string(),
            tail: process::tail(&text, 10),
        });
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(s: &str) -> Vec<String> {
        split_command(s)
    }

    fn env() -> HookEnv {
        HookEnv {
            action: "collect".into(),
            status: "running",
            error: String::new(),
            status_file: "/w/cback-status.json".into(),
            run_id: "r-1".into(),
        }
    }

    #[test]
    fn splits_like_the_original() {
        // Expectations observed from the original's splitter.
        assert_eq!(split("echo a b"), ["echo", "a", "b"]);
        assert_eq!(split("echo \"a b\" c"), ["echo", "a b", "c"]);
        assert_eq!(split("a\"b c\"d"), ["a", "b c", "d"]);
        assert_eq!(split("echo 'a b'"), ["echo", "'a", "b'"]);
        assert_eq!(split("  x   y  "), ["x", "y"]);
        assert_eq!(split("echo \"\" z"), ["echo", "z"]);
        assert_eq!(
            split("echo \"unterminated x"),
            ["echo", "unterminated", "x"]
        );
        assert_eq!(split("a\tb"), ["a\tb"]);
        assert!(split("").is_empty());
    }

    #[test]
    fn failing_hook_reports_output_tail() {
        let err = run_hook(
            "pre-action",
            "collect",
            "sh -c \"echo boom; exit 3\"",
            &env(),
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("pre-action hook for action collect"),
            "{text}"
        );
        assert!(text.contains("boom"), "{text}");
        assert!(text.contains("exit status: 3"), "{text}");
    }

    #[test]
    fn successful_hook_returns_output() {
        let out = run_hook("post-action", "collect", "echo \"hello world\"", &env()).unwrap();
        assert_eq!(out, "hello world\n");
    }

    #[test]
    fn the_hook_gets_the_run_in_its_environment() {
        let command = "sh -c \"echo $CBACK_ACTION $CBACK_STATUS [$CBACK_ERROR] $CBACK_STATUS_FILE $CBACK_RUN_ID\"";
        let out = run_hook("pre-action", "collect", command, &env()).unwrap();
        assert_eq!(out, "collect running [] /w/cback-status.json r-1\n");
    }

    #[test]
    fn a_hook_past_its_stop_is_stopped() {
        let started = std::time::Instant::now();
        let stop = || started.elapsed() > std::time::Duration::from_millis(300);
        let err =
            run_hook_until("failure", "collect", "sleep 30", &env(), &stop, None).unwrap_err();
        assert!(matches!(err, HookError::Interrupted { .. }), "{err}");
        assert!(started.elapsed() < std::time::Duration::from_secs(20));
        assert_eq!(err.action(), "collect");
    }

    #[test]
    fn a_hook_past_its_limit_is_stopped_and_says_so() {
        let started = std::time::Instant::now();
        let limit = Some(std::time::Duration::from_secs(1));
        let err =
            run_hook_until("failure", "collect", "sleep 30", &env(), &|| false, limit).unwrap_err();
        assert!(
            matches!(err, HookError::TimedOut { seconds: 1, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("ran longer than 1 s"), "{err}");
        assert!(started.elapsed() < std::time::Duration::from_secs(20));
    }

    #[test]
    fn missing_program_is_a_spawn_error() {
        let err = run_hook("pre-action", "purge", "/nonexistent/prog", &env()).unwrap_err();
        assert!(matches!(err, HookError::Spawn { .. }));
    }
}
