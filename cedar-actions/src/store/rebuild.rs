//! The rebuild action: writes this week's staging directories (today back to the starting
//! day, from `<store><source_dir>`) to a new disc, then marks each with `cback.store`.

use cedar_core::{Config, Today};

use super::check_data;
use super::check_media::check_media;
use super::error::StoreError;
use super::indicator::write_store_indicators;
use super::iso::Entry;
use super::media::media_label;
use super::recorder::Recorder;
use super::select;
use super::settings::StoreSettings;
use super::tools::Tools;
use super::writer::Writer;

/// Runs the rebuild action for `today`.
pub fn rebuild(config: &Config, today: &Today) -> Result<(), StoreError> {
    let settings = StoreSettings::load(config, "rebuild")?;
    let tools = Tools::new(config);
    let mut recorder = Recorder::new("rebuild", &settings);
    let result = run(&settings, tools, today, &mut recorder);
    recorder.finish(&result);
    result?;
    tracing::info!("Executed the 'rebuild' action successfully.");
    Ok(())
}

fn run(
    settings: &StoreSettings,
    tools: Tools<'_>,
    today: &Today,
    recorder: &mut Recorder,
) -> Result<(), StoreError> {
    check_media(&tools, settings)?;
    let dirs = select::rebuild_dirs(&settings.source_dir, *today, settings.starting_day)?;
    recorder.directories(dirs.iter().map(select::DailyDir::rel).collect());
    let writer = Writer::open(settings, tools)?;
    let entries: Vec<Entry> = dirs
        .iter()
        .map(|d| Entry::daily(&d.rel(), &d.path))
        .collect();
    let label = media_label(today);
    let written = writer.write(&entries, Some(&label), true)?;
    recorder.written(&written, Some(&label));
    if settings.check_data {
        let pairs: Vec<(String, std::path::PathBuf)> =
            dirs.iter().map(|d| (d.rel(), d.path.clone())).collect();
        check_data::check_dirs(&tools, settings, &pairs)?;
        recorder.verified();
    }
    write_store_indicators(settings, dirs.iter().map(|d| d.path.as_path()))
}
