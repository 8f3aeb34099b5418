//! Running external commands the way the original does: `<override>` paths, `LC_*` removed and
//! `LANG=C` set, everything else inherited.

use std::ffi::OsString;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;

use crate::config::Config;

/// The program to run for `name`: the `abs_path` of the first `<override>` whose `command` is
/// `name`, else `name` itself (looked up on PATH when run).
pub fn resolve_command(config: &Config, name: &str) -> PathBuf {
    config
        .options
        .as_ref()
        .and_then(|o| {
            o.overrides
                .iter()
                .find(|ov| ov.command.as_deref() == Some(name))
                .and_then(|ov| ov.abs_path.clone())
        })
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(name))
}

/// Whether an `<override>` pins `name` to an absolute path.
pub fn is_overridden(config: &Config, name: &str) -> bool {
    resolve_command(config, name).is_absolute()
}

/// A [`Command`] for `program` with the original's environment rules applied.
pub fn command(program: impl Into<OsString>) -> Command {
    let mut cmd = Command::new(program.into());
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("LC_") {
            cmd.env_remove(&key);
        }
    }
    cmd.env("LANG", "C");
    cmd
}

/// Why a supervised command did not produce an exit status.
#[derive(Debug, thiserror::Error)]
pub enum SupervisedError {
    #[error("cannot start: {0}")]
    Spawn(#[source] std::io::Error),
    #[error("interrupted; the command and its children were stopped")]
    Interrupted,
}

/// How long a stopped process group gets between SIGTERM and SIGKILL.
const KILL_GRACE: Duration = Duration::from_secs(3);

/// Runs `cmd` to completion with its output captured, in a process group of its own.
///
/// Both pipes are drained on threads so neither can fill up. The interrupt flag is polled:
/// on SIGINT/SIGTERM the whole group (the command and anything it started) gets SIGTERM, then
/// SIGKILL after a grace period, and [`SupervisedError::Interrupted`] is returned.
pub fn run_supervised(mut cmd: Command) -> Result<Output, SupervisedError> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(SupervisedError::Spawn)?;
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let group = Pid::from_raw(child.id() as i32);
    let status = loop {
        if let Some(status) = child.try_wait().map_err(SupervisedError::Spawn)? {
            break status;
        }
        if crate::interrupt::requested() {
            let _ = killpg(group, Signal::SIGTERM);
            let deadline = Instant::now() + KILL_GRACE;
            while Instant::now() < deadline {
                if matches!(child.try_wait(), Ok(Some(_))) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            // Whatever of the group is left, the leader included.
            let _ = killpg(group, Signal::SIGKILL);
            let _ = child.wait();
            return Err(SupervisedError::Interrupted);
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Ok(Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    })
}

/// Reads a child's pipe to the end on its own thread.
fn drain<R: Read + Send + 'static>(pipe: Option<R>) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut buf);
        }
        buf
    })
}

/// Stdout then stderr of a finished command, as text.
pub fn combined_text(output: &Output) -> String {
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    text
}

/// The last `max_lines` non-empty lines of `text`, trimmed, for error messages.
pub fn tail(text: &str, max_lines: usize) -> String {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.trim().is_empty())
        .collect();
    let start = lines.len().saturating_sub(max_lines);
    lines[start..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{CommandOverride, OptionsConfig};

    #[test]
    fn override_wins_over_path() {
        let mut config = Config::default();
        assert_eq!(
            resolve_command(&config, "pg_dump"),
            PathBuf::from("pg_dump")
        );
        config.options = Some(OptionsConfig {
            overrides: vec![CommandOverride {
                command: Some("pg_dump".into()),
                abs_path: Some("/opt/pg/bin/pg_dump".into()),
            }],
            ..Default::default()
        });
        assert_eq!(
            resolve_command(&config, "pg_dump"),
            PathBuf::from("/opt/pg/bin/pg_dump")
        );
        assert!(is_overridden(&config, "pg_dump"));
        assert!(!is_overridden(&config, "pg_dumpall"));
    }

    #[test]
    fn command_sets_lang_c() {
        let cmd = command("true");
        let envs: Vec<_> = cmd.get_envs().collect();
        assert!(envs
            .iter()
            .any(|(k, v)| *k == "LANG" && v.map(|v| v == "C").unwrap_or(false)));
    }

    #[test]
    fn tail_keeps_last_lines() {
        assert_eq!(tail("a\n\nb\nc\n", 2), "b\nc");
        assert_eq!(tail("", 3), "");
    }
}
