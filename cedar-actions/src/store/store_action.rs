//! The store action: writes the day's staging directory to CD or DVD.
//!
//! Steps, as in the original: check_media; pick the daily directory (today, yesterday or
//! tomorrow; only today with `--full`); open the writer; decide new disc or append; check the
//! size, then write; check_data; `cback.store`. Any failure stops the action (exit 6) and
//! leaves no `cback.store`, so the next run writes the data again.

use cedar_core::{BlankMode, Config, Progress, Today};

use super::check_media::check_media;
use super::disc_run::{check_and_mark, run_recorded, write_labelled};
use super::error::StoreError;
use super::iso::Entry;
use super::recorder::Recorder;
use super::select;
use super::settings::StoreSettings;
use super::tools::Tools;
use super::writer::Writer;

/// How today's disc is chosen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DiscRule {
    New,
    Append,
    /// New disc when available / (1 + required) ≤ factor.
    Ratio(f64),
}

/// The rule for today: `--full` starts a new disc; without `<blank_behavior>` the starting day
/// does; with mode `daily`, or `weekly` on the starting day, the ratio decides; otherwise
/// append. A mode without a factor fails when the ratio would be needed.
pub fn disc_rule(
    settings: &StoreSettings,
    full: bool,
    starting_day: bool,
) -> Result<DiscRule, StoreError> {
    if full {
        return Ok(DiscRule::New);
    }
    let Some(blanking) = &settings.blanking else {
        return Ok(if starting_day {
            DiscRule::New
        } else {
            DiscRule::Append
        });
    };
    let mode = match blanking.mode {
        Some(BlankMode::Daily) => "daily",
        Some(BlankMode::Weekly) if starting_day => "weekly",
        _ => return Ok(DiscRule::Append),
    };
    blanking
        .factor
        .map(DiscRule::Ratio)
        .ok_or(StoreError::BlankFactorMissing { mode })
}

/// Whether today's write starts a new disc.
pub fn new_disc(
    writer: &Writer<'_>,
    entries: &[Entry],
    rule: DiscRule,
) -> Result<bool, StoreError> {
    let factor = match rule {
        DiscRule::New => return Ok(true),
        DiscRule::Append => return Ok(false),
        DiscRule::Ratio(factor) => factor,
    };
    let available = writer.append_capacity()?.available;
    let required = writer.required_bytes(entries)?;
    let ratio = available / (1.0 + required);
    let new = ratio <= factor;
    tracing::info!(
        "Media capacity ratio is [{ratio:.2}] against blanking factor [{factor}]: {}.",
        if new {
            "starting a new disc"
        } else {
            "appending"
        }
    );
    Ok(new)
}

/// Runs the store action for `today`, its progress shown on `progress`.
pub fn store(
    config: &Config,
    full: bool,
    today: &Today,
    progress: &Progress,
) -> Result<(), StoreError> {
    let settings = StoreSettings::load(config, "store")?;
    let staging = StoreSettings::staging_dir(config)?;
    let tools = Tools::new(config);
    let rule = disc_rule(
        &settings,
        full,
        today.is_starting_day(settings.starting_day),
    )?;
    run_recorded("store", &settings, progress, |recorder, display| {
        run(
            &settings, &staging, tools, rule, full, today, recorder, display,
        )
    })
}

// The action's settings, its day and the disc's record, as `run_recorded` hands them on.
#[allow(clippy::too_many_arguments)]
fn run(
    settings: &StoreSettings,
    staging: &std::path::Path,
    tools: Tools<'_>,
    rule: DiscRule,
    full: bool,
    today: &Today,
    recorder: &mut Recorder,
    display: &Progress,
) -> Result<(), StoreError> {
    check_media(&tools, settings)?;
    let dir = select::store_dir(staging, *today, full, settings.warn_midnite)?;
    recorder.directories(vec![dir.rel()]);
    let writer = Writer::open(settings, tools.clone())?;
    let entries = [Entry::daily(&dir.rel(), &dir.path)];
    let new = new_disc(&writer, &entries, rule)?;
    write_labelled(&writer, &entries, new, today, recorder, display)?;
    check_and_mark(
        &tools,
        settings,
        &[(dir.rel(), dir.path)],
        recorder,
        display,
    )
}
