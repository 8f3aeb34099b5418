//! "Refreshing" the media: open and close the tray so the drive reads the disc again, then
//! unlock it and wait. Runs after every blank, after every successful write and at the start
//! of initialize.
//!
//! 1. `eject DEV` when the drive has a tray, can eject and `no_eject` is N; when it fails,
//!    `eject -i off DEV` and `eject DEV` once more. Then eject_delay seconds.
//! 2. `eject -t DEV`, under the same condition.
//! 3. Always `eject -i off DEV`.
//! 4. refresh_media_delay seconds.
//!
//! Unlike the original, the open-tray call honours an `<override>` for eject on CD writers
//! too.

use std::time::{Duration, Instant};

use super::error::StoreError;
use super::settings::StoreSettings;
use super::tools::Tools;

/// What the drive can do with its tray.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tray {
    pub has_tray: bool,
    pub can_eject: bool,
}

/// Opens, closes and unlocks the tray, with the configured delays.
pub fn refresh(tools: &Tools<'_>, settings: &StoreSettings, tray: Tray) -> Result<(), StoreError> {
    let device = settings.device.as_os_str();
    if tray.has_tray && tray.can_eject && !settings.no_eject {
        let open = tools.run("eject", &[device])?;
        if !open.status.success() {
            tracing::debug!("Opening the tray failed; unlocking it and trying again.");
            tools.run("eject", &["-i".as_ref(), "off".as_ref(), device])?;
            tools.run_ok("eject", &[device])?;
        }
        sleep(settings.eject_delay)?;
        tools.run_ok("eject", &["-t".as_ref(), device])?;
    }
    tools.run_ok("eject", &["-i".as_ref(), "off".as_ref(), device])?;
    sleep(settings.refresh_media_delay)
}

/// Waits `seconds`, stopping early on an interrupt.
pub fn sleep(seconds: u64) -> Result<(), StoreError> {
    let end = Instant::now() + Duration::from_secs(seconds);
    while Instant::now() < end {
        if cedar_core::interrupt_requested() {
            return Err(StoreError::Interrupted);
        }
        std::thread::sleep(Duration::from_millis(50).min(end - Instant::now()));
    }
    Ok(())
}
