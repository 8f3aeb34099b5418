//! Clean-up that outlives the test process: a server kept in a `static` (one per test binary,
//! started once) is never dropped, so a small shell process waits on a pipe from the test
//! process and runs the clean-up when the pipe closes: on [`Reaper::reap`], or when the test
//! process ends in any way.

use std::ffi::OsStr;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;

/// A waiting clean-up; [`Reaper::reap`] runs it now.
#[derive(Debug)]
pub struct Reaper(Mutex<Option<Child>>);

impl Reaper {
    /// Starts `cleanup`, a shell command run with `env` (names and values) once the pipe
    /// closes; in its own process group, so a signal to the tests does not cut it short.
    pub fn spawn<'a>(
        what: &str,
        cleanup: &str,
        env: impl IntoIterator<Item = (&'a str, &'a OsStr)>,
    ) -> Reaper {
        let child = Command::new("/bin/sh")
            .arg("-c")
            .arg(format!(
                "trap '' INT TERM HUP; read -r _ || true; {cleanup}"
            ))
            .envs(env)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("start the {what} reaper: {e}"));
        Reaper(Mutex::new(Some(child)))
    }

    /// Runs the clean-up now and waits for it (once; later calls do nothing).
    pub fn reap(&self) {
        let child = self.0.lock().ok().and_then(|mut c| c.take());
        if let Some(mut child) = child {
            drop(child.stdin.take());
            let _ = child.wait();
        }
    }
}
