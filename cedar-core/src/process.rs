//! Running external commands the way the original does: `<override>` paths, `LC_*` removed and
//! `LANG` changed to `C` where it is set, everything else inherited.

use std::ffi::OsString;
use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use crate::config::Config;
use crate::process_group::ProcessGroup;

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

/// A [`Command`] for `program` with the original's environment rule applied (see
/// [`apply_locale`]).
pub fn command(program: impl Into<OsString>) -> Command {
    let mut cmd = Command::new(program.into());
    apply_locale(&mut cmd);
    cmd
}

/// The original's environment rule for every external command (its
/// `util.sanitizeEnvironment`): the `LC_*` variables removed, `LANG` changed to `C` where it
/// is set; an unset `LANG` stays unset.
pub fn apply_locale(cmd: &mut Command) {
    apply_locale_from(cmd, std::env::vars_os());
}

/// [`apply_locale`] for a caller whose environment is `environment`.
fn apply_locale_from(
    cmd: &mut Command,
    environment: impl IntoIterator<Item = (OsString, OsString)>,
) {
    for (key, _) in environment {
        if key.to_string_lossy().starts_with("LC_") {
            cmd.env_remove(&key);
        } else if key == "LANG" {
            cmd.env("LANG", "C");
        }
    }
}

/// Why a supervised command did not produce an exit status.
#[derive(Debug, thiserror::Error)]
pub enum SupervisedError {
    #[error("cannot start: {0}")]
    Spawn(#[source] std::io::Error),
    #[error("interrupted; the command and its children were stopped")]
    Interrupted,
}

/// Why a command run with a time limit ([`run_supervised_within`]) gave no exit status.
#[derive(Debug, thiserror::Error)]
pub enum WithinError {
    #[error(transparent)]
    Supervised(#[from] SupervisedError),
    /// Still running when its time limit ran out; it was stopped with everything it started.
    #[error("no answer within {} s; the command and its children were stopped", .0.as_secs())]
    TimedOut(std::time::Duration),
}

/// Runs `cmd` to completion with its output captured, as a [`ProcessGroup`].
///
/// Both pipes are drained on threads so neither can fill up. On SIGINT/SIGTERM the whole group
/// (the command and anything it started) is stopped and [`SupervisedError::Interrupted`] is
/// returned.
pub fn run_supervised(cmd: Command) -> Result<Output, SupervisedError> {
    run_watched(cmd, &crate::interrupt::requested)
}

/// [`run_supervised`] with a time limit: a command still running after `limit` is stopped like
/// an interrupted one (SIGTERM to its group, SIGKILL after the grace) and
/// [`WithinError::TimedOut`] is returned. For checks that must not hang (`cback doctor`).
pub fn run_supervised_within(
    cmd: Command,
    limit: std::time::Duration,
) -> Result<Output, WithinError> {
    run_watched_within(cmd, &crate::interrupt::requested, Some(limit))
}

/// [`run_watched`] with an optional time limit: stopped when `interrupted` turns true
/// ([`SupervisedError::Interrupted`]) or once `limit` has passed ([`WithinError::TimedOut`]),
/// whichever comes first. The one time limit of the supervisor.
pub fn run_watched_within(
    cmd: Command,
    interrupted: &(dyn Fn() -> bool + Sync),
    limit: Option<std::time::Duration>,
) -> Result<Output, WithinError> {
    run_observed_within(cmd, interrupted, limit, None)
}

/// Told each line of a command's output as it arrives, standard output and error alike; a
/// line ends at a newline or a carriage return (progress lines rewrite themselves with `\r`).
pub type OutputObserver = std::sync::Arc<dyn Fn(&str) + Send + Sync>;

/// [`run_watched_within`] with `observer` told each line of the output as it arrives (the
/// output is captured whole all the same): for a command that reports how far it is, such as
/// a disc writer.
pub fn run_observed_within(
    cmd: Command,
    interrupted: &(dyn Fn() -> bool + Sync),
    limit: Option<std::time::Duration>,
    observer: Option<OutputObserver>,
) -> Result<Output, WithinError> {
    let started = std::time::Instant::now();
    let expired = || limit.is_some_and(|limit| started.elapsed() > limit);
    match run_watched_observed(cmd, &|| interrupted() || expired(), observer) {
        Err(SupervisedError::Interrupted) if !interrupted() => {
            Err(WithinError::TimedOut(limit.unwrap_or_default()))
        }
        other => Ok(other?),
    }
}

/// [`run_supervised`] stopped when `interrupted` turns true instead of on SIGINT/SIGTERM: for
/// the clean-up a run must still do once it was interrupted (give it a deadline), or for a time
/// limit ([`run_supervised_within`]).
pub fn run_watched(
    cmd: Command,
    interrupted: &(dyn Fn() -> bool + Sync),
) -> Result<Output, SupervisedError> {
    run_watched_observed(cmd, interrupted, None)
}

fn run_watched_observed(
    mut cmd: Command,
    interrupted: &(dyn Fn() -> bool + Sync),
    observer: Option<OutputObserver>,
) -> Result<Output, SupervisedError> {
    let group = ProcessGroup::spawn(
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    )
    .map_err(SupervisedError::Spawn)?;
    let stdout = drain(group.take_stdout(), observer.clone());
    let stderr = drain(group.take_stderr(), observer);
    let status = group
        .wait_watched(interrupted)
        .map_err(SupervisedError::Spawn)?;
    if interrupted() {
        return Err(SupervisedError::Interrupted);
    }
    Ok(Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    })
}

/// Reads a child's pipe to the end on its own thread.
fn drain<R: Read + Send + 'static>(
    pipe: Option<R>,
    observer: Option<OutputObserver>,
) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        match (pipe, observer) {
            (None, _) => {}
            (Some(mut pipe), None) => {
                let _ = pipe.read_to_end(&mut buf);
            }
            (Some(mut pipe), Some(observer)) => read_observed(&mut pipe, &mut buf, &*observer),
        }
        buf
    })
}

/// Reads `pipe` to the end into `buf`, telling `observe` each non-blank line as it completes
/// (and the last one, unterminated, at the end).
fn read_observed(pipe: &mut dyn Read, buf: &mut Vec<u8>, observe: &dyn Fn(&str)) {
    let mut chunk = [0u8; 8192];
    let mut start = 0;
    let tell = |line: &[u8]| {
        let line = String::from_utf8_lossy(line);
        if !line.trim().is_empty() {
            observe(&line);
        }
    };
    loop {
        match pipe.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                while let Some(at) = buf[start..].iter().position(|&b| b == b'\n' || b == b'\r') {
                    tell(&buf[start..start + at]);
                    start += at + 1;
                }
            }
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        }
    }
    if start < buf.len() {
        tell(&buf[start..]);
    }
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

    #[test]
    fn an_observer_is_told_each_line_as_it_arrives_and_the_output_is_kept_whole() {
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
        let kept = std::sync::Arc::clone(&seen);
        let observer: OutputObserver =
            std::sync::Arc::new(move |line: &str| kept.lock().unwrap().push(line.to_string()));
        let mut cmd = command("sh");
        cmd.args([
            "-c",
            "printf 'Track 01: 1 of 3 MB\\rTrack 01: 3 of 3 MB\\n'; printf 'warn\\n\\n' >&2; printf 'last'",
        ]);
        let output = run_observed_within(cmd, &|| false, None, Some(observer)).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&output.stdout),
            "Track 01: 1 of 3 MB\rTrack 01: 3 of 3 MB\nlast"
        );
        let mut seen = seen.lock().unwrap().clone();
        seen.sort();
        assert_eq!(
            seen,
            ["Track 01: 1 of 3 MB", "Track 01: 3 of 3 MB", "last", "warn"]
        );
    }
    use crate::config::{CommandOverride, OptionsConfig};

    #[test]
    fn a_time_limit_stops_the_command_and_its_children() {
        let mut cmd = Command::new("/bin/sh");
        cmd.args(["-c", "sleep 30 & sleep 30; wait"]);
        let started = std::time::Instant::now();
        let err = run_supervised_within(cmd, std::time::Duration::from_millis(300)).unwrap_err();
        assert!(matches!(err, WithinError::TimedOut(_)), "{err}");
        assert!(err.to_string().contains("no answer within 0 s"), "{err}");
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
        let mut quick = Command::new("/bin/sh");
        quick.args(["-c", "echo ok"]);
        let output = run_supervised_within(quick, std::time::Duration::from_secs(10)).unwrap();
        assert_eq!(output.stdout, b"ok\n");
    }

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

    /// What `sh` started under the locale rule from `environment` sees of LANG and LC_ALL.
    fn seen_locale(environment: &[(&str, &str)]) -> String {
        let mut cmd = Command::new("/bin/sh");
        cmd.args([
            "-c",
            "echo \"${LANG-unset} ${LC_ALL-unset} ${LC_TIME-unset} $KEPT\"",
        ]);
        cmd.env_clear();
        cmd.envs(environment.iter().copied());
        apply_locale_from(
            &mut cmd,
            environment.iter().map(|(k, v)| (k.into(), v.into())),
        );
        let output = cmd.output().unwrap();
        String::from_utf8(output.stdout)
            .unwrap()
            .trim_end()
            .to_string()
    }

    #[test]
    fn lang_becomes_c_where_set_and_lc_variables_go() {
        let set = [
            ("LANG", "fr_FR.UTF-8"),
            ("LC_ALL", "fr_FR.UTF-8"),
            ("LC_TIME", "de_DE"),
            ("KEPT", "yes"),
        ];
        assert_eq!(seen_locale(&set), "C unset unset yes");
    }

    #[test]
    fn an_unset_lang_stays_unset() {
        let unset = [("LC_ALL", "fr_FR.UTF-8"), ("KEPT", "yes")];
        assert_eq!(seen_locale(&unset), "unset unset unset yes");
    }

    #[test]
    fn command_follows_the_callers_lang() {
        let cmd = command("true");
        let lang = cmd
            .get_envs()
            .find(|(k, _)| *k == "LANG")
            .and_then(|(_, v)| v);
        match std::env::var_os("LANG") {
            Some(_) => assert_eq!(lang, Some(std::ffi::OsStr::new("C"))),
            None => assert_eq!(lang, None),
        }
    }

    #[test]
    fn tail_keeps_last_lines() {
        assert_eq!(tail("a\n\nb\nc\n", 2), "b\nc");
        assert_eq!(tail("", 3), "");
    }
}
