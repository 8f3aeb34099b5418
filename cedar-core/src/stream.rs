//! Running one command and streaming its standard output into a writer: the dumps of the
//! collect-time extensions (pg_dump, mysqldump, svnadmin, grepmail, ...).
//!
//! The command runs in its own process group with standard input closed. Its standard output
//! is copied into the writer as it comes, through one reused buffer of [`READ_BUFFER`] bytes
//! (the pipe is enlarged to match where the kernel allows), so memory does not grow with the
//! size of the dump; its standard error is drained on a thread, logged
//! line by line (at WARNING, or DEBUG for a command whose complaints are routine) and its tail
//! kept for the error. A watcher thread, woken by an interrupt, stops the whole process group
//! ([`ProcessGroup::watch`]: SIGTERM, then SIGKILL).

use std::collections::VecDeque;
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use crate::process_group::ProcessGroup;

/// Why a streamed command failed.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    /// The command could not be started (not installed, not executable, ...).
    #[error("cannot run `{}` (install it, or point an <override> in <options> at {command_name})", program.display())]
    Spawn {
        program: PathBuf,
        command_name: &'static str,
        #[source]
        source: std::io::Error,
    },

    /// The command ran and failed.
    #[error("`{}` {}{}", program.display(), describe_status(status), stderr_suffix(stderr_tail))]
    Exit {
        program: PathBuf,
        status: ExitStatus,
        /// The last lines the command wrote on standard error.
        stderr_tail: String,
    },

    /// Reading the command's standard output failed.
    #[error("cannot read the output of `{}`", program.display())]
    ReadOutput {
        program: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// Writing the output failed (a full disk, an I/O error, a compressor error).
    #[error("cannot write to {} (check the free space and the health of its filesystem)", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The command was stopped by SIGINT or SIGTERM.
    #[error("interrupted")]
    Interrupted,
}

/// `failed with exit status N`, or `was killed by SIGNAME`.
pub fn describe_status(status: &ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    if let Some(code) = status.code() {
        format!("failed with exit status {code}")
    } else if let Some(signal) = status.signal() {
        let name = nix::sys::signal::Signal::try_from(signal)
            .map(|s| s.as_str().to_string())
            .unwrap_or_else(|_| format!("signal {signal}"));
        format!("was killed by {name}")
    } else {
        format!("failed ({status})")
    }
}

/// What follows the status in an error: the command's last messages, or that it said nothing.
pub fn stderr_suffix(tail: &str) -> String {
    if tail.is_empty() {
        "; it printed nothing on standard error".to_string()
    } else {
        format!("; its last messages:\n{tail}")
    }
}

/// The copy buffer, and the pipe size asked for: large reads mean few system calls and
/// context switches between pg_dump and cback.
pub const READ_BUFFER: usize = 1 << 20;
/// The pause after a short read (see [`copy`]).
const NAP: Duration = Duration::from_millis(1);
/// The smallest pipe for which reads pause (a smaller one could fill up meanwhile).
const NAP_MIN_PIPE: usize = 512 * 1024;
/// How many lines of standard error are kept for the error message.
pub const STDERR_TAIL_LINES: usize = 12;
/// Longest standard error line kept (longer lines are cut).
const STDERR_LINE_MAX: usize = 2000;

/// A command: the program, its arguments and the environment it adds.
#[derive(Debug, Clone)]
pub struct StreamCommand {
    /// `pg_dump`, `mysqldump`, ...: the name an `<override>` matches, used in messages.
    pub name: &'static str,
    /// What is run: the override's absolute path, or `name` looked up on PATH.
    pub program: PathBuf,
    pub args: Vec<OsString>,
    /// Variables set for the child on top of the caller's environment (no LC_*, LANG=C where
    /// set: [`crate::process::apply_locale`]).
    pub env: Vec<(&'static str, OsString)>,
    /// Prefix for logged standard error lines, e.g. `pg_dump of database [shop]`.
    pub label: String,
    /// Whether standard error lines are logged at WARNING (else at DEBUG, for a command such
    /// as `ls -laR /` whose complaints are routine). The tail is kept for the error either way.
    pub warn_stderr: bool,
}

impl StreamCommand {
    /// `program` with `args`, named `name`, its standard error logged at WARNING.
    pub fn new(name: &'static str, program: PathBuf, args: Vec<OsString>) -> StreamCommand {
        StreamCommand {
            name,
            program,
            args,
            env: Vec::new(),
            label: name.to_string(),
            warn_stderr: true,
        }
    }
}

/// Runs `cmd`, copying its standard output into `out`, whose path `out_path` is used in
/// errors. `interrupted` is asked between reads and at every interrupt; when it returns true
/// the command is stopped and [`StreamError::Interrupted`] returned.
pub fn run<W: Write>(
    cmd: &StreamCommand,
    out: &mut W,
    out_path: &Path,
    interrupted: &(dyn Fn() -> bool + Sync),
) -> Result<(), StreamError> {
    stream(cmd, out, out_path, interrupted, &|_| {}).map(|_| ())
}

/// [`run`], calling `progress` with the size of every piece of output as it is copied;
/// returns the number of bytes the command wrote.
pub fn stream<W: Write>(
    cmd: &StreamCommand,
    out: &mut W,
    out_path: &Path,
    interrupted: &(dyn Fn() -> bool + Sync),
    progress: &dyn Fn(u64),
) -> Result<u64, StreamError> {
    let mut command = crate::process::command(&cmd.program);
    command
        .args(&cmd.args)
        .envs(cmd.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let group = ProcessGroup::spawn(&mut command).map_err(|source| StreamError::Spawn {
        program: cmd.program.clone(),
        command_name: cmd.name,
        source,
    })?;
    let mut stdout = group.take_stdout().expect("stdout is piped");
    let pipe_size = {
        use std::os::fd::AsRawFd;
        // Best effort: an unprivileged user may be limited by /proc/sys/fs/pipe-max-size.
        nix::fcntl::fcntl(
            stdout.as_raw_fd(),
            nix::fcntl::FcntlArg::F_SETPIPE_SZ(READ_BUFFER as i32),
        )
        .map(|size| size.max(0) as usize)
        .unwrap_or(0)
    };
    let stderr = group.take_stderr().expect("stderr is piped");

    std::thread::scope(|scope| {
        let stderr_reader =
            scope.spawn(|| drain_stderr(stderr, &cmd.label, cmd.warn_stderr, &mut |_| {}));
        let watcher = scope.spawn(|| group.watch(interrupted));

        let copied = copy(&mut stdout, out, interrupted, progress, pipe_size);
        if copied.is_err() {
            // Stop the command: nobody reads its output any more.
            group.kill();
        }
        drop(stdout);
        let status = group.wait();
        let _ = watcher.join();
        let tail = stderr_reader.join().unwrap_or_default();

        if interrupted() {
            return Err(StreamError::Interrupted);
        }
        match copied {
            Err(CopyError::Write(source)) => {
                return Err(StreamError::Write {
                    path: out_path.to_path_buf(),
                    source,
                })
            }
            Err(CopyError::Read(source)) => {
                return Err(StreamError::ReadOutput {
                    program: cmd.program.clone(),
                    source,
                })
            }
            Err(CopyError::Interrupted) => return Err(StreamError::Interrupted),
            Ok(_) => {}
        }
        let status = status.map_err(|source| StreamError::ReadOutput {
            program: cmd.program.clone(),
            source,
        })?;
        if !status.success() {
            return Err(StreamError::Exit {
                program: cmd.program.clone(),
                status,
                stderr_tail: tail,
            });
        }
        Ok(copied.unwrap_or(0))
    })
}

enum CopyError {
    Read(std::io::Error),
    Write(std::io::Error),
    Interrupted,
}

/// Copies `from` to its end into `to`; returns the number of bytes copied.
///
/// pg_dump writes a few kilobytes at a time. Reading each piece as it comes would wake this
/// thread tens of thousands of times per gigabyte, and on a machine with few cores those
/// wake-ups take CPU time from pg_dump, the server and the compressor. So when a read returned
/// less than a quarter of a pipe of at least [`NAP_MIN_PIPE`] bytes, the next one waits
/// [`NAP`]: at pg_dump's fastest this fills a quarter of a 1 MiB pipe, never all of it, so
/// pg_dump itself never waits.
fn copy<R: Read, W: Write>(
    from: &mut R,
    to: &mut W,
    interrupted: &(dyn Fn() -> bool + Sync),
    progress: &dyn Fn(u64),
    pipe_size: usize,
) -> Result<u64, CopyError> {
    let mut buf = vec![0u8; READ_BUFFER];
    let mut total = 0u64;
    let nap_below = if pipe_size >= NAP_MIN_PIPE {
        pipe_size / 4
    } else {
        0
    };
    loop {
        if interrupted() {
            return Err(CopyError::Interrupted);
        }
        let n = match from.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(CopyError::Read(err)),
        };
        to.write_all(&buf[..n]).map_err(CopyError::Write)?;
        total += n as u64;
        progress(n as u64);
        if n < nap_below {
            std::thread::sleep(NAP);
        }
    }
}

/// Reads a command's standard error to its end, logging each line (prefixed with `label`, at
/// WARNING when `warn`, else DEBUG) and handing it to `each_line`; returns the last
/// [`STDERR_TAIL_LINES`] lines.
pub fn drain_stderr(
    stderr: impl Read,
    label: &str,
    warn: bool,
    each_line: &mut dyn FnMut(&str),
) -> String {
    let mut reader = BufReader::new(stderr);
    let mut tail: VecDeque<String> = VecDeque::with_capacity(STDERR_TAIL_LINES);
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) => break,
            Ok(_) => {}
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(err) => {
                tracing::warn!("{label}: cannot read standard error: {err}");
                break;
            }
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end();
        if text.trim().is_empty() {
            continue;
        }
        if warn {
            tracing::warn!("{label}: {text}");
        } else {
            tracing::debug!("{label}: {text}");
        }
        each_line(text);
        let kept: String = text.chars().take(STDERR_LINE_MAX).collect();
        if tail.len() == STDERR_TAIL_LINES {
            tail.pop_front();
        }
        tail.push_back(kept);
    }
    Vec::from(tail).join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Instant;

    fn sh(script: &str) -> StreamCommand {
        StreamCommand {
            name: "pg_dump",
            program: PathBuf::from("/bin/sh"),
            args: vec!["-c".into(), script.into()],
            env: vec![("PGUSER", "someone".into())],
            label: "test".into(),
            warn_stderr: true,
        }
    }

    fn never() -> bool {
        false
    }

    #[test]
    fn stdout_is_copied_unchanged() {
        let mut out = Vec::new();
        run(
            &sh("printf 'a\\0b\\n'; seq 1 100000"),
            &mut out,
            Path::new("/x"),
            &never,
        )
        .unwrap();
        let mut expected = b"a\0b\n".to_vec();
        for i in 1..=100000 {
            expected.extend_from_slice(format!("{i}\n").as_bytes());
        }
        assert_eq!(out, expected);
    }

    #[test]
    fn stream_counts_and_reports_every_byte() {
        let seen = std::sync::atomic::AtomicU64::new(0);
        let mut out = Vec::new();
        let copied = stream(
            &sh("head -c 3000000 /dev/zero"),
            &mut out,
            Path::new("/x"),
            &never,
            &|n| {
                seen.fetch_add(n, Ordering::SeqCst);
            },
        )
        .unwrap();
        assert_eq!(copied, 3_000_000);
        assert_eq!(out.len(), 3_000_000);
        assert_eq!(seen.load(Ordering::SeqCst), 3_000_000);
    }

    #[test]
    fn environment_is_set() {
        let mut out = Vec::new();
        run(
            &sh("echo \"$PGUSER $LANG\""),
            &mut out,
            Path::new("/x"),
            &never,
        )
        .unwrap();
        assert_eq!(out, b"someone C\n");
    }

    #[test]
    fn exit_status_and_stderr_tail_are_reported() {
        let mut out = Vec::new();
        let script = "for i in $(seq 1 30); do echo line$i >&2; done; echo 'pg_dump: error: boom' >&2; exit 3";
        let err = run(&sh(script), &mut out, Path::new("/x"), &never).unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, StreamError::Exit { .. }), "{text}");
        assert!(text.contains("exit status 3"), "{text}");
        assert!(text.contains("pg_dump: error: boom"), "{text}");
        assert!(
            text.contains("line30") && !text.contains("line5\n"),
            "{text}"
        );
    }

    #[test]
    fn death_by_signal_is_reported() {
        let mut out = Vec::new();
        let err = run(
            &sh("echo partial; kill -9 $$"),
            &mut out,
            Path::new("/x"),
            &never,
        )
        .unwrap_err();
        assert!(err.to_string().contains("SIGKILL"), "{err}");
    }

    #[test]
    fn missing_program_is_reported() {
        let mut cmd = sh("");
        cmd.program = PathBuf::from("/nonexistent/pg_dump");
        let err = run(&cmd, &mut Vec::new(), Path::new("/x"), &never).unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, StreamError::Spawn { .. }), "{text}");
        assert!(
            text.contains("/nonexistent/pg_dump") && text.contains("<override>"),
            "{text}"
        );
    }

    struct FailingWriter;
    impl Write for FailingWriter {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::from_raw_os_error(28))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn write_failure_stops_the_command() {
        let started = Instant::now();
        let err = run(
            &sh("echo data; exec sleep 30"),
            &mut FailingWriter,
            Path::new("/collect/.tmp"),
            &never,
        )
        .unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(10));
        let text = err.to_string();
        assert!(text.contains("/collect/.tmp"), "{text}");
        match err {
            StreamError::Write { source, .. } => assert_eq!(source.raw_os_error(), Some(28)),
            other => panic!("{other}"),
        }
    }

    #[test]
    fn interrupt_stops_the_whole_process_group() {
        let flag = AtomicBool::new(false);
        let check = || flag.load(Ordering::SeqCst);
        let started = Instant::now();
        let err = std::thread::scope(|s| {
            s.spawn(|| {
                std::thread::sleep(Duration::from_millis(300));
                flag.store(true, Ordering::SeqCst);
                crate::interrupt::ring();
            });
            // The background sleep keeps stdout open: only killing the group ends it.
            run(
                &sh("echo partial; sleep 30 & sleep 30; wait"),
                &mut Vec::new(),
                Path::new("/x"),
                &check,
            )
        })
        .unwrap_err();
        assert!(matches!(err, StreamError::Interrupted), "{err}");
        assert!(started.elapsed() < Duration::from_secs(10));
    }
}
