//! Interrupt handling: SIGINT, SIGTERM, SIGHUP and SIGQUIT set a flag that long-running
//! actions check (a closed terminal or a `kill -QUIT` stops a run as cleanly as Ctrl-C).
//!
//! The binary calls [`install`] once at start-up. An action that runs for a while checks
//! [`requested`] (for example from a watcher thread that kills its child process), cleans up
//! what it wrote, and returns [`crate::ActionError::Interrupted`]; the run then exits 5.
//!
//! A thread that must react at once without polling blocks in [`wait_until`]: every interrupt
//! rings a bell that wakes it (from a thread of its own that [`install`] starts, since a signal
//! handler cannot wake a waiting thread), and so does [`ring`], called by whoever changes what
//! such a thread waits for (the supervisor of a child process, when it has reaped it).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock};
use std::time::Instant;

static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();

fn flag() -> &'static Arc<AtomicBool> {
    FLAG.get_or_init(|| Arc::new(AtomicBool::new(false)))
}

/// The exit status of an interrupted run.
pub const EXIT_INTERRUPTED: i32 = 5;

/// Installs the SIGINT / SIGTERM / SIGHUP / SIGQUIT handlers. The first signal sets the flag, so the running
/// action can stop its children and remove what it was writing; a second signal ends the
/// process at once with status 5 (for a stage that does not poll the flag). Call once.
pub fn install() -> std::io::Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM};
    for signal in [SIGINT, SIGTERM, SIGHUP, SIGQUIT] {
        // Registered first, so it sees the flag as the previous signal left it.
        signal_hook::flag::register_conditional_shutdown(
            signal,
            EXIT_INTERRUPTED,
            Arc::clone(flag()),
        )?;
        signal_hook::flag::register(signal, Arc::clone(flag()))?;
    }
    // Registered after the flag, so that a woken thread sees it set.
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP, SIGQUIT])?;
    std::thread::Builder::new()
        .name("cback-interrupt".into())
        .spawn(move || {
            for _ in signals.forever() {
                ring();
            }
        })?;
    Ok(())
}

/// The bell [`wait_until`] waits on.
fn bell() -> &'static (Mutex<()>, Condvar) {
    static BELL: OnceLock<(Mutex<()>, Condvar)> = OnceLock::new();
    BELL.get_or_init(|| (Mutex::new(()), Condvar::new()))
}

fn lock_bell() -> MutexGuard<'static, ()> {
    bell().0.lock().unwrap_or_else(|e| e.into_inner())
}

/// Wakes every thread blocked in [`wait_until`], so that it checks its condition again. An
/// interrupt rings it; so must code that changes what a waiting thread's condition reads.
pub fn ring() {
    let _bell = lock_bell();
    bell().1.notify_all();
}

/// Blocks until `done` returns true or `deadline` (if any) passes; returns `done`'s last
/// answer. `done` is asked at the start and after every [`ring`] (and every interrupt), while
/// the bell is held, so a ring between its answer and the wait is never lost; it must not ring
/// itself. Without a deadline it waits for as long as it takes.
pub fn wait_until(deadline: Option<Instant>, done: &mut dyn FnMut() -> bool) -> bool {
    let (_, rung) = bell();
    let mut guard = lock_bell();
    loop {
        if done() {
            return true;
        }
        guard = match deadline {
            None => rung.wait(guard).unwrap_or_else(|e| e.into_inner()),
            Some(at) => {
                let Some(left) = at.checked_duration_since(Instant::now()) else {
                    return false;
                };
                rung.wait_timeout(guard, left)
                    .map(|(guard, _)| guard)
                    .unwrap_or_else(|e| e.into_inner().0)
            }
        };
    }
}

/// Whether an interrupt has arrived.
pub fn requested() -> bool {
    flag().load(Ordering::SeqCst)
}

/// Marks the run as interrupted (used by tests and by code that detects an interrupt itself).
pub fn request() {
    flag().store(true, Ordering::SeqCst);
    ring();
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;
    use std::time::Duration;

    #[test]
    fn a_waiter_wakes_when_rung_and_gives_up_at_its_deadline() {
        let done = AtomicBool::new(false);
        let started = Instant::now();
        let woke = std::thread::scope(|s| {
            s.spawn(|| {
                std::thread::sleep(Duration::from_millis(100));
                done.store(true, Ordering::SeqCst);
                ring();
            });
            // No deadline: only the ring can end the wait.
            wait_until(None, &mut || done.load(Ordering::SeqCst))
        });
        assert!(woke);
        assert!(started.elapsed() >= Duration::from_millis(100));
        let deadline = Instant::now() + Duration::from_millis(50);
        let mut asked = 0;
        assert!(!wait_until(Some(deadline), &mut || {
            asked += 1;
            false
        }));
        assert!(Instant::now() >= deadline && asked >= 1);
    }
}
