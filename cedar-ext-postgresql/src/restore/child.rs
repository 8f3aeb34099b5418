//! Running psql / pg_restore for a restore: in a process group of their own, standard input
//! fed from the dump as it is read, standard output handed to a callback on a thread,
//! standard error drained on a thread (each line logged, the tail kept for the error). When the
//! input fails the whole group is killed before its input is closed: psql then never reads the
//! end of its input and never commits. On an interrupt the group is stopped like every other
//! command ([`ProcessGroup::watch`]).

use std::ffi::OsString;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};

use cedar_core::{drain_stderr, ProcessGroup};

/// A client command.
#[derive(Debug, Clone)]
pub struct Client {
    /// `psql` or `pg_restore`, for messages.
    pub name: &'static str,
    pub program: PathBuf,
    pub args: Vec<OsString>,
    /// libpq variables (PGUSER, PGPASSFILE, PGHOST, PGPORT, PGDATABASE).
    pub env: Vec<(String, OsString)>,
    /// Cleaning up after a failure or an interrupt (dropping a scratch database): runs to
    /// its end even when an interrupt was requested.
    pub cleanup: bool,
}

/// How a command ended.
#[derive(Debug)]
pub struct Ended {
    pub status: ExitStatus,
    /// The last lines of its standard error.
    pub stderr_tail: String,
    /// Its `ERROR:` lines.
    pub errors: Vec<String>,
}

/// Why a command could not be run to its end.
#[derive(Debug, thiserror::Error)]
pub enum ChildError {
    #[error("cannot start {}: {source}; install the PostgreSQL client programs or set an <override> for {name}", program.display())]
    Spawn {
        name: &'static str,
        program: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Input(#[source] std::io::Error),
    #[error("interrupted; {0} was stopped")]
    Interrupted(&'static str),
    #[error("{name} stopped before reading all of its input ({status}); its standard error ends with:\n{tail}")]
    Exited {
        name: &'static str,
        status: ExitStatus,
        tail: String,
    },
}

/// What the caller does with each piece of input before it goes to the command (the SQL
/// scan); it appends what the command is to get.
pub type Filter<'a> = &'a mut dyn FnMut(&[u8], &mut Vec<u8>);

/// Runs `client` with `input` (or nothing) on its standard input, passed through `filter`;
/// `stdout` gets its standard output; `progress` the bytes read from `input`.
/// `at_end` is asked, once the input is read, whether to let the command finish (closing its
/// input) or to kill it (`Err` with the reason).
pub fn run(
    client: &Client,
    input: Option<&mut (dyn Read + Send)>,
    filter: Option<Filter<'_>>,
    stdout: &mut (dyn FnMut(&[u8]) + Send),
    progress: &dyn Fn(u64),
    at_end: &mut dyn FnMut() -> Result<(), std::io::Error>,
) -> Result<Ended, ChildError> {
    let mut cmd = cedar_core::child_command(&client.program);
    cmd.args(&client.args)
        .envs(client.env.iter().map(|(k, v)| (k, v)))
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let group = ProcessGroup::spawn(&mut cmd).map_err(|source| ChildError::Spawn {
        name: client.name,
        program: client.program.clone(),
        source,
    })?;
    let mut out = group.take_stdout().expect("piped");
    let err = group.take_stderr().expect("piped");
    let stdin = group.take_stdin();
    let name = client.name;
    let interrupted = || !client.cleanup && cedar_core::interrupt_requested();

    std::thread::scope(|scope| {
        let errors = scope.spawn(move || {
            let mut errors = Vec::new();
            let tail = drain_stderr(err, name, true, &mut |line| {
                if line.contains("ERROR:") {
                    errors.push(line.to_string());
                }
            });
            (tail, errors)
        });
        let reader = scope.spawn(move || {
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                match out.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => stdout(&buf[..n]),
                }
            }
        });
        let watcher = scope.spawn(|| group.watch(&interrupted));
        let fed = match (input, stdin) {
            (Some(input), Some(mut stdin)) => {
                let fed = feed(input, &mut stdin, filter, progress, at_end, &interrupted);
                if fed.is_err() {
                    // Killed before its input is closed: it never sees the end and never
                    // commits.
                    group.kill();
                }
                fed
            }
            _ => Ok(()),
        };
        let status = group.wait();
        let _ = watcher.join();
        let _ = reader.join();
        let (tail, error_lines) = errors.join().unwrap_or_default();
        if interrupted() {
            return Err(ChildError::Interrupted(name));
        }
        let status = status.map_err(ChildError::Input)?;
        match fed {
            Err(Fed::Input(e)) => Err(ChildError::Input(e)),
            Err(Fed::Closed) if !status.success() => Ok(Ended {
                status,
                stderr_tail: tail,
                errors: error_lines,
            }),
            Err(Fed::Closed) => Err(ChildError::Exited { name, status, tail }),
            Ok(()) => Ok(Ended {
                status,
                stderr_tail: tail,
                errors: error_lines,
            }),
        }
    })
}

enum Fed {
    /// Reading the input failed, or `at_end` refused it.
    Input(std::io::Error),
    /// The command closed its input early (it stopped on an error).
    Closed,
}

fn feed(
    input: &mut (dyn Read + Send),
    stdin: &mut std::process::ChildStdin,
    mut filter: Option<Filter<'_>>,
    progress: &dyn Fn(u64),
    at_end: &mut dyn FnMut() -> Result<(), std::io::Error>,
    interrupted: &dyn Fn() -> bool,
) -> Result<(), Fed> {
    let mut buf = vec![0u8; 1 << 20];
    let mut filtered = Vec::with_capacity(1 << 20);
    loop {
        if interrupted() {
            return Err(Fed::Input(std::io::Error::other("interrupted")));
        }
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Fed::Input(e)),
        };
        progress(n as u64);
        let piece: &[u8] = match filter.as_mut() {
            Some(f) => {
                filtered.clear();
                f(&buf[..n], &mut filtered);
                &filtered
            }
            None => &buf[..n],
        };
        if stdin.write_all(piece).is_err() {
            return Err(Fed::Closed);
        }
    }
    if let Some(f) = filter.as_mut() {
        filtered.clear();
        f(&[], &mut filtered);
        if stdin.write_all(&filtered).is_err() {
            return Err(Fed::Closed);
        }
    }
    at_end().map_err(Fed::Input)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Client {
        Client {
            name: "psql",
            program: PathBuf::from("/bin/sh"),
            args: vec!["-c".into(), script.into()],
            env: vec![("PGDATABASE".into(), "x".into())],
            cleanup: false,
        }
    }

    #[test]
    fn input_is_filtered_and_output_collected() {
        let mut input: &[u8] = b"a\nb\n";
        let mut out = Vec::new();
        let mut upper = |data: &[u8], to: &mut Vec<u8>| to.extend(data.to_ascii_uppercase());
        let ended = run(
            &sh("cat; echo \"$PGDATABASE\"; echo 'ERROR:  boom' >&2"),
            Some(&mut input),
            Some(&mut upper),
            &mut |piece| out.extend_from_slice(piece),
            &|_| {},
            &mut || Ok(()),
        )
        .unwrap();
        assert!(ended.status.success());
        assert_eq!(out, b"A\nB\nx\n");
        assert_eq!(ended.errors, vec!["ERROR:  boom".to_string()]);
    }

    #[test]
    fn a_refused_end_kills_the_command_before_it_sees_the_end_of_its_input() {
        let dir = tempfile::tempdir().unwrap();
        let committed = dir.path().join("committed");
        let script = format!("cat >/dev/null; touch '{}'", committed.display());
        let mut input: &[u8] = b"BEGIN;\n";
        let err = run(
            &sh(&script),
            Some(&mut input),
            None,
            &mut |_| {},
            &|_| {},
            &mut || Err(std::io::Error::other("cut short")),
        )
        .unwrap_err();
        assert!(err.to_string().contains("cut short"), "{err}");
        std::thread::sleep(std::time::Duration::from_millis(200));
        assert!(!committed.exists(), "the command saw the end of its input");
    }

    #[test]
    fn a_command_that_stops_reading_is_reported_with_its_stderr() {
        let big = vec![b'x'; 4 << 20];
        let mut input: &[u8] = &big;
        let ended = run(
            &sh("echo 'ERROR:  syntax error' >&2; exit 3"),
            Some(&mut input),
            None,
            &mut |_| {},
            &|_| {},
            &mut || Ok(()),
        )
        .unwrap();
        assert_eq!(ended.status.code(), Some(3));
        assert!(ended.stderr_tail.contains("syntax error"));
    }
}
