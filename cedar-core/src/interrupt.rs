//! Interrupt handling: SIGINT, SIGTERM, SIGHUP and SIGQUIT set a flag that long-running
//! actions poll (a closed terminal or a `kill -QUIT` stops a run as cleanly as Ctrl-C).
//!
//! The binary calls [`install`] once at start-up. An action that runs for a while checks
//! [`requested`] (for example from a watcher thread that kills its child process), cleans up
//! what it wrote, and returns [`crate::ActionError::Interrupted`]; the run then exits 5.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::sync::OnceLock;

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
    Ok(())
}

/// Whether an interrupt has arrived.
pub fn requested() -> bool {
    flag().load(Ordering::SeqCst)
}
