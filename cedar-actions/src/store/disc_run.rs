//! What every action that writes a disc (store, rebuild, initialize) does around its own
//! steps: the disc is recorded for the status file whatever the outcome, the image gets the
//! day's media label, and the written directories are checked and marked with `cback.store`.

use std::path::PathBuf;
use std::sync::Arc;

use cedar_core::{summary_line, Progress, ProgressBar, ProgressMeasure, ProgressTally, Today};

use super::check_data;
use super::error::StoreError;
use super::indicator::write_store_indicators;
use super::iso::Entry;
use super::media::media_label;
use super::recorder::Recorder;
use super::settings::StoreSettings;
use super::tools::Tools;
use super::write_progress::WriteWatch;
use super::writer::Writer;

/// Runs `steps` of the action `action`, handing them the display of their progress, then
/// records the disc with their result and, when they succeeded, logs the original's success
/// line.
pub fn run_recorded(
    action: &'static str,
    settings: &StoreSettings,
    progress: &Progress,
    steps: impl FnOnce(&mut Recorder, &Progress) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let mut recorder = Recorder::new(action, settings);
    let result = steps(&mut recorder, progress);
    recorder.finish(&result);
    result?;
    tracing::info!("Executed the '{action}' action successfully.");
    Ok(())
}

/// A line of `progress` for work on the disc in `device` that counts nothing while it runs
/// (the check): it says what is being done, and for how long.
fn disc_line(progress: &Progress, device: &std::path::Path, doing: &str) -> ProgressBar {
    let bar = progress.start(ProgressMeasure::phase(format!("[{}]", device.display())));
    bar.now_on(doing);
    bar
}

/// Writes `entries` (on a new disc or appended) under today's media label, and records it;
/// shows the write on `progress`, and logs the summary line of the write (the image's size,
/// the device, time and rate). Returns the label.
pub fn write_labelled(
    writer: &Writer<'_>,
    entries: &[Entry],
    new_disc: bool,
    today: &Today,
    recorder: &mut Recorder,
    progress: &Progress,
) -> Result<String, StoreError> {
    let label = media_label(today);
    let device = writer.device().display().to_string();
    let doing = format!("writing the image [{label}]");
    // On a terminal: the bytes the writer reports, of the image's size as the writer
    // estimates it for the write (its one `mkisofs -print-size`), set once it is known.
    let bar = Arc::new(progress.start(ProgressMeasure::bytes(format!("[{device}]"), "written")));
    bar.now_on(&doing);
    let tally = Arc::new(ProgressTally::default());
    // Off a terminal the writer's output is not read while it runs.
    let watch = bar.is_drawn().then(|| {
        let sized = Arc::clone(&bar);
        let (bar, tally) = (Arc::clone(&bar), Arc::clone(&tally));
        WriteWatch {
            sized: Arc::new(move |bytes: u64| sized.set_total_bytes(bytes)),
            written: Arc::new(move |bytes: u64| tally.grow_to(&bar, bytes)),
        }
    });
    let started = std::time::Instant::now();
    let written = writer.write(entries, Some(&label), new_disc, watch)?;
    tally.settle(&bar, written.bytes);
    recorder.written(&written, Some(&label));
    bar.conclude(&summary_line(
        &format!("Wrote the image [{label}] to [{device}]:"),
        None,
        written.bytes,
        started.elapsed().as_secs_f64(),
    ));
    Ok(label)
}

/// After a write: with `<check_data>`, compares the disc with the daily directories `dirs`
/// (each with its path on the disc); then marks each directory as stored.
pub fn check_and_mark(
    tools: &Tools<'_>,
    settings: &StoreSettings,
    dirs: &[(String, PathBuf)],
    recorder: &mut Recorder,
    progress: &Progress,
) -> Result<(), StoreError> {
    if settings.check_data {
        let bar = disc_line(
            progress,
            &settings.device,
            "checking the disc against the staged directories",
        );
        check_data::check_dirs(tools, settings, dirs)?;
        bar.clear();
        recorder.verified();
    }
    write_store_indicators(settings, dirs.iter().map(|(_, path)| path.as_path()))
}
