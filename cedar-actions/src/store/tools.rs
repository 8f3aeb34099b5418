//! Running the optical tools (mkisofs, cdrecord, growisofs, eject, volname, mount, umount)
//! as the original runs them: each through its `<override>` when one is configured (for every
//! call, also the CD writer's open-tray `eject`, which the original looks up on PATH), with
//! the `LC_*` variables removed and `LANG` set to `C` only when it was set. The output is
//! captured, logged with `--output`, and a failure names the command line and its error
//! output.

use std::ffi::{OsStr, OsString};
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Output};

use cedar_core::{
    apply_locale, interrupt_requested, last_lines, log_command_output, resolve_command,
    run_observed_within, Config, OutputObserver, SupervisedError, WithinError,
};

/// Why a tool could not be run or failed.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    #[error("cannot run `{command}`: {source}; install {name} or point an <override> for `{name}` at it")]
    Start {
        command: String,
        name: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("`{command}` failed ({status}){detail}")]
    Failed {
        command: String,
        status: String,
        /// `: ` and the tail of the error output, or empty.
        detail: String,
    },
    #[error("interrupted while running `{command}`")]
    Interrupted { command: String },
    #[error("`{command}` gave no answer within {seconds} s and was stopped; check that the drive is connected and not busy with another program")]
    TimedOut { command: String, seconds: u64 },
}

/// A finished command.
#[derive(Debug)]
pub struct Ran {
    pub command: String,
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Ran {
    /// What `command` wrote, its output also copied into the log.
    fn logged(command: String, output: &Output) -> Ran {
        let ran = Ran {
            command,
            status: output.status,
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        };
        log_command_output(&ran.stdout);
        log_command_output(&ran.stderr);
        ran
    }

    /// The error for a command that did not exit 0.
    pub fn failure(&self) -> ToolError {
        let tail = last_lines(&format!("{}\n{}", self.stderr, self.stdout), 5);
        ToolError::Failed {
            command: self.command.clone(),
            status: match self.status.code() {
                Some(code) => format!("exit status {code}"),
                None => self.status.to_string(),
            },
            detail: if tail.is_empty() {
                String::new()
            } else {
                format!(": {tail}")
            },
        }
    }

    /// `Ok(self)` when it exited 0, else its [`Ran::failure`].
    pub fn ok(self) -> Result<Ran, ToolError> {
        if self.status.success() {
            Ok(self)
        } else {
            Err(self.failure())
        }
    }
}

/// Runs the tools of one configuration.
#[derive(Clone)]
pub struct Tools<'a> {
    config: &'a Config,
    /// Each command is stopped after this long (`cback doctor`); `None`: no limit.
    limit: Option<std::time::Duration>,
    /// Told each line of the commands' output as it arrives (a writer's progress).
    observer: Option<OutputObserver>,
}

impl std::fmt::Debug for Tools<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tools")
            .field("limit", &self.limit)
            .field("observed", &self.observer.is_some())
            .finish_non_exhaustive()
    }
}

impl<'a> Tools<'a> {
    pub fn new(config: &'a Config) -> Tools<'a> {
        Tools {
            config,
            limit: None,
            observer: None,
        }
    }

    /// These tools with every command stopped after `limit` ([`ToolError::TimedOut`]): for
    /// checks that must not hang on a drive that does not answer.
    pub fn within(self, limit: std::time::Duration) -> Tools<'a> {
        Tools {
            limit: Some(limit),
            ..self
        }
    }

    /// These tools with `observer` told each line of the commands' output as it arrives.
    pub fn observed(&self, observer: OutputObserver) -> Tools<'a> {
        Tools {
            observer: Some(observer),
            ..self.clone()
        }
    }

    /// The program that runs for `name`.
    pub fn program(&self, name: &str) -> PathBuf {
        resolve_command(self.config, name)
    }

    /// Runs `name` with `args` and waits for it (no longer than the limit of
    /// [`Tools::within`]); a non-zero exit is not an error here.
    pub fn run<S: AsRef<OsStr>>(&self, name: &'static str, args: &[S]) -> Result<Ran, ToolError> {
        let (cmd, command) = self.command(name, args);
        let output =
            run_observed_within(cmd, &interrupt_requested, self.limit, self.observer.clone())
                .map_err(|e| match e {
                    WithinError::Supervised(SupervisedError::Spawn(source)) => ToolError::Start {
                        command: command.clone(),
                        name,
                        source,
                    },
                    WithinError::Supervised(SupervisedError::Interrupted) => {
                        ToolError::Interrupted {
                            command: command.clone(),
                        }
                    }
                    WithinError::TimedOut(limit) => ToolError::TimedOut {
                        command: command.clone(),
                        seconds: limit.as_secs(),
                    },
                })?;
        Ok(Ran::logged(command, &output))
    }

    /// Runs `name` to the end even when an interrupt has arrived: for clean-up (unmounting
    /// the disc) that must not be cut short.
    pub fn run_cleanup<S: AsRef<OsStr>>(
        &self,
        name: &'static str,
        args: &[S],
    ) -> Result<Ran, ToolError> {
        let (mut cmd, command) = self.command(name, args);
        cmd.stdin(std::process::Stdio::null());
        let output = cmd.output().map_err(|source| ToolError::Start {
            command: command.clone(),
            name,
            source,
        })?;
        Ok(Ran::logged(command, &output))
    }

    /// The command running `name` with `args`, the original's environment rule applied, and
    /// its line for messages (`name` and the arguments); logs the line it executes.
    fn command<S: AsRef<OsStr>>(&self, name: &str, args: &[S]) -> (Command, String) {
        let program = self.program(name);
        let args: Vec<OsString> = args.iter().map(|a| a.as_ref().to_os_string()).collect();
        tracing::debug!(
            "Executing command [{}].",
            command_line(&program.to_string_lossy(), &args)
        );
        let mut cmd = Command::new(&program);
        cmd.args(&args);
        apply_locale(&mut cmd);
        (cmd, command_line(name, &args))
    }

    /// Runs `name` and fails unless it exits 0.
    pub fn run_ok<S: AsRef<OsStr>>(
        &self,
        name: &'static str,
        args: &[S],
    ) -> Result<Ran, ToolError> {
        self.run(name, args)?.ok()
    }
}

/// A command line for messages: words joined by blanks, a word with blanks quoted.
pub fn command_line(name: &str, args: &[OsString]) -> String {
    let mut out = name.to_string();
    for arg in args {
        let arg = arg.to_string_lossy();
        out.push(' ');
        if arg.is_empty() || arg.contains(char::is_whitespace) {
            out.push('\'');
            out.push_str(&arg.replace('\'', r"'\''"));
            out.push('\'');
        } else {
            out.push_str(&arg);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_lines_quote_blanks() {
        let args: Vec<OsString> = ["-V", "CEDAR BACKUP 01-DEC-2026", "-r"]
            .iter()
            .map(OsString::from)
            .collect();
        assert_eq!(
            command_line("mkisofs", &args),
            "mkisofs -V 'CEDAR BACKUP 01-DEC-2026' -r"
        );
    }

    #[test]
    fn failures_name_the_command_and_keep_stderr() {
        let config = Config::default();
        let tools = Tools::new(&config);
        let ran = tools
            .run("sh", &["-c", "echo boom >&2; exit 3"])
            .expect("sh runs");
        let err = ran.ok().unwrap_err().to_string();
        assert!(
            err.contains("`sh -c 'echo boom >&2; exit 3'` failed (exit status 3): boom"),
            "{err}"
        );
        let err = tools
            .run("cback-no-such-tool", &["x"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("install cback-no-such-tool"), "{err}");
    }
}
