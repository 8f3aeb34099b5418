//! A child process in a process group of its own, stopped with everything it started: the one
//! supervisor behind [`crate::process::run_supervised`], [`crate::stream`] and the restore's
//! psql / pg_restore.
//!
//! On an interrupt the whole group gets SIGTERM, then SIGKILL after [`KILL_GRACE`]. The leader
//! is reaped only under a lock that every signal also takes, so a signal never reaches a
//! recycled process id.

use std::process::{Child, ChildStderr, ChildStdin, ChildStdout, Command, ExitStatus};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use nix::sys::signal::{killpg, Signal};
use nix::sys::wait::{waitid, Id, WaitPidFlag};
use nix::unistd::Pid;

/// How long a stopped process group gets between SIGTERM and SIGKILL.
pub const KILL_GRACE: Duration = Duration::from_secs(3);

/// How often [`ProcessGroup::watch`] asks its stop condition again without a ring: a time limit
/// is met within this much.
pub const RECHECK: Duration = Duration::from_millis(200);

/// How far [`ProcessGroup::watch`] has gone in stopping the group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stopping {
    Not,
    /// SIGTERM sent at this instant.
    Termed(Instant),
    Killed,
}

/// A spawned command leading a process group of its own.
#[derive(Debug)]
pub struct ProcessGroup {
    leader: Pid,
    state: Mutex<Leader>,
}

#[derive(Debug)]
struct Leader {
    child: Child,
    reaped: bool,
}

impl ProcessGroup {
    /// Spawns `cmd` as the leader of a new process group.
    pub fn spawn(cmd: &mut Command) -> std::io::Result<ProcessGroup> {
        use std::os::unix::process::CommandExt;
        let child = cmd.process_group(0).spawn()?;
        Ok(ProcessGroup {
            leader: Pid::from_raw(child.id() as i32),
            state: Mutex::new(Leader {
                child,
                reaped: false,
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Leader> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The leader's standard input, if it was piped and not taken yet.
    pub fn take_stdin(&self) -> Option<ChildStdin> {
        self.lock().child.stdin.take()
    }

    /// The leader's standard output, if it was piped and not taken yet.
    pub fn take_stdout(&self) -> Option<ChildStdout> {
        self.lock().child.stdout.take()
    }

    /// The leader's standard error, if it was piped and not taken yet.
    pub fn take_stderr(&self) -> Option<ChildStderr> {
        self.lock().child.stderr.take()
    }

    /// Sends `signal` to the whole group, unless the leader was reaped already.
    fn signal(&self, signal: Signal) {
        let leader = self.lock();
        if !leader.reaped {
            let _ = killpg(self.leader, signal);
        }
    }

    /// Kills the whole group now (SIGKILL): for a command whose output nobody reads any more,
    /// or whose input must never be seen to end.
    pub fn kill(&self) {
        self.signal(Signal::SIGKILL);
    }

    /// Waits for the leader to exit and reaps it.
    pub fn wait(&self) -> std::io::Result<ExitStatus> {
        loop {
            // Wait without reaping, so the process id stays ours while a signal may be sent.
            match waitid(
                Id::Pid(self.leader),
                WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT,
            ) {
                Ok(_) => break,
                Err(nix::errno::Errno::EINTR) => continue,
                // Fall through to the normal wait, which reports any real problem.
                Err(_) => break,
            }
        }
        let status = {
            let mut leader = self.lock();
            let status = leader.child.wait();
            leader.reaped = true;
            status
        };
        // Wakes the watcher, which returns now that the leader is reaped.
        crate::interrupt::ring();
        status
    }

    /// Waits until the leader is reaped; once `interrupted` turns true, stops the group:
    /// SIGTERM, then SIGKILL after [`KILL_GRACE`]. `interrupted` is asked again whenever
    /// [`crate::interrupt::ring`] rings (every interrupt does, and so does the reaping of the
    /// leader, so neither waits on a timer), and every [`RECHECK`] for a condition that turns
    /// true with time alone (a time limit). Run it on a thread of its own beside
    /// [`ProcessGroup::wait`], which rings once it has reaped the leader.
    pub fn watch(&self, interrupted: &(dyn Fn() -> bool + Sync)) {
        let mut stopping = Stopping::Not;
        loop {
            let deadline = match stopping {
                Stopping::Termed(at) => Some(at + KILL_GRACE),
                // A condition that turns true with time alone (a time limit, a deadline) rings
                // no bell: it is asked again every RECHECK as well.
                Stopping::Not => Some(Instant::now() + RECHECK),
                Stopping::Killed => None,
            };
            let woke = crate::interrupt::wait_until(deadline, &mut || {
                self.lock().reaped || (stopping == Stopping::Not && interrupted())
            });
            if !woke && stopping == Stopping::Not {
                continue;
            }
            let leader = self.lock();
            if leader.reaped {
                return;
            }
            match stopping {
                Stopping::Not => {
                    tracing::debug!("interrupt: stopping process group {}", self.leader);
                    let _ = killpg(self.leader, Signal::SIGTERM);
                    stopping = Stopping::Termed(Instant::now());
                }
                Stopping::Termed(at) if at.elapsed() >= KILL_GRACE => {
                    let _ = killpg(self.leader, Signal::SIGKILL);
                    stopping = Stopping::Killed;
                }
                Stopping::Termed(_) | Stopping::Killed => {}
            }
        }
    }

    /// [`ProcessGroup::wait`] with a [`ProcessGroup::watch`] beside it: the leader's exit
    /// status, the group stopped first if `interrupted` turned true meanwhile.
    pub fn wait_watched(
        &self,
        interrupted: &(dyn Fn() -> bool + Sync),
    ) -> std::io::Result<ExitStatus> {
        std::thread::scope(|scope| {
            let watcher = scope.spawn(|| self.watch(interrupted));
            let status = self.wait();
            let _ = watcher.join();
            status
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Stdio;
    use std::sync::atomic::{AtomicBool, Ordering};

    fn sh(script: &str) -> Command {
        let mut cmd = Command::new("/bin/sh");
        cmd.args(["-c", script]).stdin(Stdio::null());
        cmd
    }

    #[test]
    fn exit_status_is_returned() {
        let group = ProcessGroup::spawn(&mut sh("exit 4")).unwrap();
        let status = group.wait_watched(&|| false).unwrap();
        assert_eq!(status.code(), Some(4));
        // Reaped: signals are no longer sent.
        group.kill();
    }

    #[test]
    fn an_interrupt_stops_the_whole_group_also_one_ignoring_sigterm() {
        let flag = AtomicBool::new(false);
        let dir = tempfile::tempdir().unwrap();
        let survivor = dir.path().join("survivor");
        let script = format!(
            "trap '' TERM; (trap '' TERM; sleep 30; touch '{}') & sleep 30; wait",
            survivor.display()
        );
        let group = ProcessGroup::spawn(&mut sh(&script)).unwrap();
        let started = Instant::now();
        let status = std::thread::scope(|s| {
            s.spawn(|| {
                std::thread::sleep(Duration::from_millis(200));
                flag.store(true, Ordering::SeqCst);
                crate::interrupt::ring();
            });
            group.wait_watched(&|| flag.load(Ordering::SeqCst)).unwrap()
        });
        assert!(!status.success());
        let elapsed = started.elapsed();
        assert!(
            elapsed >= KILL_GRACE && elapsed < Duration::from_secs(15),
            "{elapsed:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
        assert!(!survivor.exists());
    }

    #[test]
    fn kill_stops_the_group_at_once() {
        let group = ProcessGroup::spawn(&mut sh("sleep 30 & sleep 30; wait")).unwrap();
        let started = Instant::now();
        group.kill();
        let status = group.wait().unwrap();
        assert!(!status.success());
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}
