//! The `<store>` and `<options>` values the optical actions use, checked for the action that
//! asks: the options and store sections are required, as in the original.

use std::path::PathBuf;

use cedar_core::{BlankMode, Config, DeviceType, MediaType, Weekday};

use super::error::StoreError;
use super::media::MediaInfo;

/// `<store><blank_behavior>` as store uses it.
#[derive(Debug, Clone, PartialEq)]
pub struct Blanking {
    pub mode: Option<BlankMode>,
    /// The factor, parsed; `None` when absent.
    pub factor: Option<f64>,
}

/// Everything the writers and actions read from the configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct StoreSettings {
    pub source_dir: PathBuf,
    pub media: MediaType,
    pub device_type: DeviceType,
    pub device: PathBuf,
    /// As written, blanks included.
    pub scsi_id: Option<String>,
    pub drive_speed: Option<i64>,
    pub check_data: bool,
    pub check_media: bool,
    pub warn_midnite: bool,
    pub no_eject: bool,
    pub blanking: Option<Blanking>,
    /// Seconds; 0 when absent.
    pub refresh_media_delay: u64,
    pub eject_delay: u64,
    pub working_dir: PathBuf,
    pub starting_day: Weekday,
    pub backup_user: Option<String>,
    pub backup_group: Option<String>,
}

impl StoreSettings {
    /// Reads the settings for `action`; fails when the options or store section, or one of
    /// their required values, is missing.
    pub fn load(config: &Config, action: &'static str) -> Result<StoreSettings, StoreError> {
        let options = config.options.as_ref().ok_or(StoreError::Incomplete {
            action,
            section: "options",
        })?;
        let store = config.store.as_ref().ok_or(StoreError::Incomplete {
            action,
            section: "store",
        })?;
        let missing = |element| StoreError::MissingValue { action, element };
        let blanking = store.blank_behavior.as_ref().map(|b| Blanking {
            mode: b.mode,
            factor: b.factor.as_deref().and_then(cedar_core::parse_float),
        });
        Ok(StoreSettings {
            source_dir: store
                .source_dir
                .as_deref()
                .map(PathBuf::from)
                .ok_or_else(|| missing("store><source_dir"))?,
            media: store
                .media_type
                .ok_or_else(|| missing("store><media_type"))?,
            device_type: store.device_type.unwrap_or(DeviceType::Cdwriter),
            device: store
                .target_device
                .as_deref()
                .map(PathBuf::from)
                .ok_or_else(|| missing("store><target_device"))?,
            scsi_id: store.target_scsi_id.clone(),
            drive_speed: store.drive_speed,
            check_data: store.check_data.unwrap_or(false),
            check_media: store.check_media.unwrap_or(false),
            warn_midnite: store.warn_midnite.unwrap_or(false),
            no_eject: store.no_eject.unwrap_or(false),
            blanking,
            refresh_media_delay: store.refresh_media_delay.unwrap_or(0).max(0) as u64,
            eject_delay: store.eject_delay.unwrap_or(0).max(0) as u64,
            working_dir: options
                .working_dir
                .as_deref()
                .map(PathBuf::from)
                .ok_or_else(|| missing("options><working_dir"))?,
            starting_day: options.starting_day.unwrap_or(Weekday::Monday),
            backup_user: options.backup_user.clone(),
            backup_group: options.backup_group.clone(),
        })
    }

    pub fn media_info(&self) -> MediaInfo {
        MediaInfo::of(self.media)
    }

    /// How cdrecord addresses the drive: the SCSI id when set, else the device path. A DVD
    /// writer always uses the device path.
    pub fn hardware_id(&self) -> String {
        match (&self.scsi_id, self.device_type) {
            (Some(id), DeviceType::Cdwriter) => id.clone(),
            _ => self.device.to_string_lossy().into_owned(),
        }
    }

    /// The directory store reads: `<stage><staging_dir>` (not `<store><source_dir>`, as in
    /// the original).
    pub fn staging_dir(config: &Config) -> Result<PathBuf, StoreError> {
        config
            .stage
            .as_ref()
            .and_then(|s| s.staging_dir.as_deref())
            .map(PathBuf::from)
            .ok_or(StoreError::NoStageSection)
    }
}
