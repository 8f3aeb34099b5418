//! The initialize action: labels rewritable media so that `check_media` accepts it. The disc
//! gets a new image holding one empty directory, `/CedarBackup`, and the media label.

use cedar_core::{Config, Progress, Today};

use super::disc_run::{run_recorded, write_labelled};
use super::error::StoreError;
use super::iso::Entry;
use super::settings::StoreSettings;
use super::tools::Tools;
use super::writer::Writer;

/// The one directory on an initialized disc.
pub const INITIALIZED_DIR: &str = "CedarBackup";

/// Runs the initialize action for `today`, its progress shown on `progress`.
pub fn initialize(config: &Config, today: &Today, progress: &Progress) -> Result<(), StoreError> {
    let settings = StoreSettings::load(config, "initialize")?;
    let media = settings.media_info();
    if !media.rewritable {
        return Err(StoreError::NotRewritable { media: media.name });
    }
    run_recorded("initialize", &settings, progress, |recorder, display| {
        let writer = Writer::open(&settings, Tools::new(config))?;
        writer.refresh()?;
        let working_dir = &settings.working_dir;
        let empty = tempfile::Builder::new()
            .prefix("tmp")
            .rand_bytes(8)
            .tempdir_in(working_dir)
            .map_err(|e| StoreError::io("create an empty directory in", working_dir, e))?;
        let entries = [Entry {
            graft: format!("{INITIALIZED_DIR}/"),
            path: empty.path().to_path_buf(),
        }];
        let label = write_labelled(&writer, &entries, true, today, recorder, display)?;
        tracing::info!(
            "Media in [{}] is initialized as [{label}].",
            settings.device.display()
        );
        Ok(())
    })
}
