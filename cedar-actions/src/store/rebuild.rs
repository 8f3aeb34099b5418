//! The rebuild action: writes this week's staging directories (today back to the starting
//! day, from `<store><source_dir>`) to a new disc, then marks each with `cback.store`.

use cedar_core::{Config, Progress, Today};

use super::check_media::check_media;
use super::disc_run::{check_and_mark, run_recorded, write_labelled};
use super::error::StoreError;
use super::iso::Entry;
use super::select;
use super::settings::StoreSettings;
use super::tools::Tools;
use super::writer::Writer;

/// Runs the rebuild action for `today`, its progress shown on `progress`.
pub fn rebuild(config: &Config, today: &Today, progress: &Progress) -> Result<(), StoreError> {
    let settings = StoreSettings::load(config, "rebuild")?;
    let tools = Tools::new(config);
    run_recorded("rebuild", &settings, progress, |recorder, display| {
        check_media(&tools, &settings)?;
        let dirs = select::rebuild_dirs(&settings.source_dir, *today, settings.starting_day)?;
        recorder.directories(dirs.iter().map(select::DailyDir::rel).collect());
        let writer = Writer::open(&settings, tools.clone())?;
        let entries: Vec<Entry> = dirs
            .iter()
            .map(|d| Entry::daily(&d.rel(), &d.path))
            .collect();
        write_labelled(&writer, &entries, true, today, recorder, display)?;
        let written: Vec<_> = dirs.iter().map(|d| (d.rel(), d.path.clone())).collect();
        check_and_mark(&tools, &settings, &written, recorder, display)
    })
}
