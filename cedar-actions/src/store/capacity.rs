//! The space on a disc and whether an image fits in it: what the CD and DVD writers measure,
//! and what store, span and capacity compare with.

use super::error::{Shortfall, StoreError};
use super::settings::StoreSettings;
use cedar_core::display_bytes;

/// The space on a disc, in bytes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Capacity {
    pub used: f64,
    /// What is left; negative on a DVD fuller than its nominal capacity.
    pub available: f64,
    /// The CD's `-msinfo` boundaries, when they were read.
    pub boundaries: Option<(u64, u64)>,
}

impl Capacity {
    /// Whether an image of `bytes` fits in what is available.
    pub fn holds(&self, bytes: f64) -> bool {
        bytes <= self.available
    }

    /// used / (used + available) × 100; 100 when nothing is available, 0 when nothing is used.
    pub fn utilized_percent(&self) -> f64 {
        if self.available <= 0.0 {
            100.0
        } else if self.used <= 0.0 {
            0.0
        } else {
            self.used / (self.used + self.available) * 100.0
        }
    }
}

/// Fails when the image of `bytes` is larger than what is available.
pub fn check_fits(
    settings: &StoreSettings,
    bytes: f64,
    capacity: &Capacity,
) -> Result<(), StoreError> {
    if capacity.holds(bytes) {
        return Ok(());
    }
    tracing::error!(
        "Image [{}] does not fit in available capacity [{}].",
        display_bytes(bytes),
        display_bytes(capacity.available)
    );
    let media = settings.media_info();
    Err(StoreError::DoesNotFit(Box::new(Shortfall {
        device: settings.device.clone(),
        media: media.name,
        image: display_bytes(bytes),
        available: display_bytes(capacity.available),
        capacity: display_bytes(media.capacity_bytes()),
        used: display_bytes(capacity.used),
    })))
}
