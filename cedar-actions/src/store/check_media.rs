//! `check_media`: before anything else, the disc's label (from `volname DEV`) must show that
//! `cback initialize` prepared it. Write-once media without a label is accepted.

use super::error::StoreError;
use super::media::LABEL_PREFIX;
use super::settings::StoreSettings;
use super::tools::Tools;

/// The label `volname` reads, `None` when it fails or prints nothing.
pub fn read_label(
    tools: &Tools<'_>,
    settings: &StoreSettings,
) -> Result<Option<String>, StoreError> {
    let ran = tools.run("volname", &[settings.device.as_os_str()])?;
    if !ran.status.success() || ran.stdout.is_empty() {
        return Ok(None);
    }
    Ok(ran.stdout.lines().next().map(|l| l.trim_end().to_string()))
}

/// Runs the media check when `<check_media>` is Y.
pub fn check_media(tools: &Tools<'_>, settings: &StoreSettings) -> Result<(), StoreError> {
    if !settings.check_media {
        return Ok(());
    }
    let label = read_label(tools, settings)?;
    judge(settings, label.as_deref())
}

fn judge(settings: &StoreSettings, label: Option<&str>) -> Result<(), StoreError> {
    let problem = match label {
        Some(label) if label.starts_with(LABEL_PREFIX) => {
            tracing::info!("Media label is [{label}].");
            return Ok(());
        }
        Some(label) => format!("unrecognized media label [{label}]"),
        None if settings.media_info().rewritable => "no media label available".to_string(),
        None => {
            tracing::info!("Media has no media label; assuming OK since media is not rewritable.");
            return Ok(());
        }
    };
    Err(StoreError::MediaNotInitialized {
        device: settings.device.clone(),
        problem,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use cedar_core::MediaType;

    fn settings(media: MediaType) -> StoreSettings {
        StoreSettings {
            source_dir: "/s".into(),
            media,
            device_type: cedar_core::DeviceType::Cdwriter,
            device: "/dev/cdrw".into(),
            scsi_id: None,
            drive_speed: None,
            check_data: false,
            check_media: true,
            warn_midnite: false,
            no_eject: false,
            blanking: None,
            refresh_media_delay: 0,
            eject_delay: 0,
            working_dir: "/w".into(),
            starting_day: cedar_core::Weekday::Monday,
            backup_user: None,
            backup_group: None,
        }
    }

    #[test]
    fn labels() {
        let rw = settings(MediaType::Cdrw74);
        let r = settings(MediaType::Cdr74);
        assert!(judge(&rw, Some("CEDAR BACKUP 01-DEC-2026")).is_ok());
        assert!(judge(&rw, None)
            .unwrap_err()
            .to_string()
            .contains("no media label available"));
        assert!(judge(&r, None).is_ok());
        let err = judge(&r, Some("HOLIDAY PHOTOS")).unwrap_err().to_string();
        assert!(
            err.contains("unrecognized media label [HOLIDAY PHOTOS]"),
            "{err}"
        );
    }
}
