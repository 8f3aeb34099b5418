//! Pre- and post-action hooks: split like the original, run, and fail the action on a
//! non-zero exit with the tail of the hook's output.

use crate::clip::clip;
use crate::process::{self, SupervisedError};

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

/// Runs one hook. Its combined output is returned so the caller can log it.
pub fn run_hook(kind: &'static str, action: &str, command: &str) -> Result<String, HookError> {
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
    let output = process::run_supervised(cmd).map_err(|e| match e {
        SupervisedError::Spawn(source) => HookError::Spawn {
            kind,
            action: action.to_string(),
            command: command.to_string(),
            source,
        },
        SupervisedError::Interrupted => HookError::Interrupted {
            kind,
            action: action.to_string(),
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
        let err = run_hook("pre-action", "collect", "sh -c \"echo boom; exit 3\"").unwrap_err();
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
        let out = run_hook("post-action", "collect", "echo \"hello world\"").unwrap();
        assert_eq!(out, "hello world\n");
    }

    #[test]
    fn missing_program_is_a_spawn_error() {
        let err = run_hook("pre-action", "purge", "/nonexistent/prog").unwrap_err();
        assert!(matches!(err, HookError::Spawn { .. }));
    }
}
