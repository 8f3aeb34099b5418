//! Collects what an optical action did to one disc and records it for the status file, also
//! when the action fails.

use super::settings::StoreSettings;
use super::writer::Written;
use cedar_core::{record_disc, StoredDisc};

/// One disc's record, filled in as the action goes.
#[derive(Debug)]
pub struct Recorder {
    disc: StoredDisc,
}

impl Recorder {
    pub fn new(action: &str, settings: &StoreSettings) -> Recorder {
        Recorder {
            disc: StoredDisc {
                action: action.to_string(),
                media: settings.media_info().name.to_string(),
                device: settings.device.display().to_string(),
                label: None,
                new_disc: false,
                bytes: 0,
                directories: Vec::new(),
                verified: false,
                success: false,
                error: None,
                finished: 0,
            },
        }
    }

    pub fn directories(&mut self, dirs: Vec<String>) {
        self.disc.directories = dirs;
    }

    pub fn written(&mut self, written: &Written, label: Option<&str>) {
        self.disc.bytes = written.bytes;
        self.disc.new_disc = written.new_disc;
        self.disc.label = label.map(str::to_string);
    }

    pub fn verified(&mut self) {
        self.disc.verified = true;
    }

    /// Records the disc with the action's result.
    pub fn finish<T, E: std::fmt::Display>(mut self, result: &Result<T, E>) {
        self.disc.success = result.is_ok();
        self.disc.error = result.as_ref().err().map(|e| e.to_string());
        self.disc.finished = cedar_core::now_secs();
        record_disc(self.disc);
    }
}
