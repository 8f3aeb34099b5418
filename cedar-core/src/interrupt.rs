//! Interrupt handling: SIGINT and SIGTERM set a flag that long-running actions poll.
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

/// Installs the SIGINT / SIGTERM handlers. Safe to call more than once.
pub fn install() -> std::io::Result<()> {
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(flag()))?;
    }
    Ok(())
}

/// Whether an interrupt has arrived.
pub fn requested() -> bool {
    flag().load(Ordering::SeqCst)
}

/// Marks the run as interrupted (used by tests and by code that detects an interrupt itself).
pub fn request() {
    flag().store(true, Ordering::SeqCst);
}
