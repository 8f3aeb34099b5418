//! The peak memory of one child process: `wait4` reports the resource usage of exactly the
//! child it reaps, where `getrusage(RUSAGE_CHILDREN)` in a test process would cover every
//! child of every test in it.

use std::io::{self, Read};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, ExitStatus, Output, Stdio};

/// Runs `cmd` as [`Command::output`] does (standard input from /dev/null, both outputs
/// captured) and returns its output with its peak resident set size in KiB.
pub fn output_with_peak_rss(cmd: &mut Command) -> io::Result<(Output, u64)> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut stdout_pipe = child.stdout.take().expect("stdout is piped");
    let mut stderr_pipe = child.stderr.take().expect("stderr is piped");
    let stderr_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        stderr_pipe.read_to_end(&mut buf).map(|_| buf)
    });
    let mut stdout = Vec::new();
    stdout_pipe.read_to_end(&mut stdout)?;
    let stderr = stderr_reader.join().expect("stderr reader")?;
    let pid = libc::pid_t::try_from(child.id()).expect("a pid fits pid_t");
    let (status, max_rss_kib) = wait4(pid)?;
    let output = Output {
        status: ExitStatus::from_raw(status),
        stdout,
        stderr,
    };
    Ok((output, max_rss_kib))
}

/// Reaps `pid` and returns its wait status and its `ru_maxrss` (KiB on Linux).
// Neither std nor nix offers wait4 with its rusage; the call writes only into the two locals.
#[allow(unsafe_code)]
fn wait4(pid: libc::pid_t) -> io::Result<(i32, u64)> {
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is a plain C struct of integers, for which all zeroes is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: both pointers are to live, writable locals of the types wait4 expects.
        let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if reaped == pid {
            return Ok((status, u64::try_from(usage.ru_maxrss).unwrap_or(0)));
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}
