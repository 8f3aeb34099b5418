//! What every action that writes a disc (store, rebuild, initialize) does around its own
//! steps: the disc is recorded for the status file whatever the outcome, the image gets the
//! day's media label, and the written directories are checked and marked with `cback.store`.

use std::path::PathBuf;

use cedar_core::Today;

use super::check_data;
use super::error::StoreError;
use super::indicator::write_store_indicators;
use super::iso::Entry;
use super::media::media_label;
use super::recorder::Recorder;
use super::settings::StoreSettings;
use super::tools::Tools;
use super::writer::Writer;

/// Runs `steps` of the action `action`, then records the disc with their result and, when
/// they succeeded, logs the original's success line.
pub fn run_recorded(
    action: &'static str,
    settings: &StoreSettings,
    steps: impl FnOnce(&mut Recorder) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let mut recorder = Recorder::new(action, settings);
    let result = steps(&mut recorder);
    recorder.finish(&result);
    result?;
    tracing::info!("Executed the '{action}' action successfully.");
    Ok(())
}

/// Writes `entries` (on a new disc or appended) under today's media label, and records it;
/// returns the label.
pub fn write_labelled(
    writer: &Writer<'_>,
    entries: &[Entry],
    new_disc: bool,
    today: &Today,
    recorder: &mut Recorder,
) -> Result<String, StoreError> {
    let label = media_label(today);
    let written = writer.write(entries, Some(&label), new_disc)?;
    recorder.written(&written, Some(&label));
    Ok(label)
}

/// After a write: with `<check_data>`, compares the disc with the daily directories `dirs`
/// (each with its path on the disc); then marks each directory as stored.
pub fn check_and_mark(
    tools: &Tools<'_>,
    settings: &StoreSettings,
    dirs: &[(String, PathBuf)],
    recorder: &mut Recorder,
) -> Result<(), StoreError> {
    if settings.check_data {
        check_data::check_dirs(tools, settings, dirs)?;
        recorder.verified();
    }
    write_store_indicators(settings, dirs.iter().map(|(_, path)| path.as_path()))
}
