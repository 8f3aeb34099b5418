//! The initialize action: labels rewritable media so that `check_media` accepts it. The disc
//! gets a new image holding one empty directory, `/CedarBackup`, and the media label.

use cedar_core::{Config, Today};

use super::error::StoreError;
use super::iso::Entry;
use super::media::media_label;
use super::recorder::Recorder;
use super::settings::StoreSettings;
use super::tools::Tools;
use super::writer::Writer;

/// The one directory on an initialized disc.
pub const INITIALIZED_DIR: &str = "CedarBackup";

/// Runs the initialize action for `today`.
pub fn initialize(config: &Config, today: &Today) -> Result<(), StoreError> {
    let settings = StoreSettings::load(config, "initialize")?;
    let media = settings.media_info();
    if !media.rewritable {
        return Err(StoreError::NotRewritable { media: media.name });
    }
    let tools = Tools::new(config);
    let mut recorder = Recorder::new("initialize", &settings);
    let result = run(&settings, tools, today, &mut recorder);
    recorder.finish(&result);
    result?;
    tracing::info!("Executed the 'initialize' action successfully.");
    Ok(())
}

fn run(
    settings: &StoreSettings,
    tools: Tools<'_>,
    today: &Today,
    recorder: &mut Recorder,
) -> Result<(), StoreError> {
    let writer = Writer::open(settings, tools)?;
    writer.refresh()?;
    let empty = tempfile::Builder::new()
        .prefix("tmp")
        .rand_bytes(8)
        .tempdir_in(&settings.working_dir)
        .map_err(|e| StoreError::io("create an empty directory in", &settings.working_dir, e))?;
    let entries = [Entry {
        graft: format!("{INITIALIZED_DIR}/"),
        path: empty.path().to_path_buf(),
    }];
    let label = media_label(today);
    let written = writer.write(&entries, Some(&label), true)?;
    recorder.written(&written, Some(&label));
    tracing::info!(
        "Media in [{}] is initialized as [{label}].",
        settings.device.display()
    );
    Ok(())
}
