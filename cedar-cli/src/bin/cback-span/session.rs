//! One cback-span session: confirm the configuration, index the staging tree, choose a
//! cushion and an algorithm, then write the discs one by one (each a new disc without a
//! label, checked with check_data when it is on) and mark the directories with cback.store.
//!
//! The questions and their defaults are the original's cback3-span's, so a script that
//! answered it answers cback-span.

use std::io::{BufRead, Write};

use cedar_actions::knapsack::{self, Algorithm};
use cedar_actions::{
    span_inventory as inventory, write_disc, write_store_indicators, SpanFile, StoreError,
    StoreSettings, Tools, Writer,
};
use cedar_core::{display_bytes, record_disc, Config, DeviceType, StoredDisc};

use crate::ask::{AskError, Asker};

/// The default cushion, in percent of the media's capacity.
pub const DEFAULT_CUSHION: f64 = 4.5;

/// Why a session stopped.
#[derive(Debug, thiserror::Error)]
pub enum SpanError {
    #[error(transparent)]
    Ask(#[from] AskError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{} ({}) is larger than a disc ({} with the cushion); it cannot be spanned: write it to disc another way, or split it", path, size, capacity)]
    TooLarge {
        path: String,
        size: String,
        capacity: String,
    },
    #[error("a disc holds nothing with this cushion; choose a smaller cushion")]
    NoRoom,
}

/// How a session ended without an error.
#[derive(Debug, PartialEq, Eq)]
pub enum Ended {
    Written,
    /// The user said no, or there was nothing to do.
    Stopped,
}

const ALGORITHMS: [(&str, &str); 4] = [
    ("first", "takes the files in the order they are listed"),
    ("best", "takes the largest files first"),
    ("worst", "takes the smallest files first"),
    ("alternate", "takes small and large files in turn"),
];

fn flag(value: bool) -> &'static str {
    if value {
        "True"
    } else {
        "False"
    }
}

/// Runs a session on `config`, asking through `asker`.
pub fn run<R: BufRead, W: Write>(
    config: &Config,
    asker: &mut Asker<R, W>,
) -> Result<Ended, SpanError> {
    asker
        .say("\ncback-span: write staged data that does not fit on one disc to several discs.\n")?;
    asker.say("The <store> section of the configuration tells which staging directory to read,")?;
    asker.say("which writer to use and which media is in it.\n")?;
    if !asker.yes("Continue?")? {
        return Ok(Ended::Stopped);
    }
    let settings = StoreSettings::load(config, "span")?;
    asker.say("\nThe store configuration:\n")?;
    let device_type = match settings.device_type {
        DeviceType::Cdwriter => "cdwriter",
        DeviceType::Dvdwriter => "dvdwriter",
    };
    for (name, value) in [
        (
            "Source Directory",
            settings.source_dir.display().to_string(),
        ),
        ("Media Type", settings.media_info().name.to_string()),
        ("Device Type", device_type.to_string()),
        ("Device Path", settings.device.display().to_string()),
        (
            "Device SCSI ID",
            settings.scsi_id.clone().unwrap_or_else(|| "None".into()),
        ),
        (
            "Drive Speed",
            settings
                .drive_speed
                .map_or_else(|| "None".into(), |s| s.to_string()),
        ),
        ("Check Data Flag", flag(settings.check_data).to_string()),
        ("No Eject Flag", flag(settings.no_eject).to_string()),
    ] {
        asker.say(&format!("   {:.<19}: {value}", format!("{name}.")))?;
    }
    asker.say("")?;
    if !asker.yes("Is this OK?")? {
        return Ok(Ended::Stopped);
    }
    let tools = Tools::new(config);
    let writer = Writer::open(&settings, tools.clone())?;

    asker.say("\nIndexing the source directory; this may take a while...")?;
    let found = inventory(&settings.source_dir)?;
    if found.dirs.is_empty() {
        asker.say(&format!(
            "\nEvery daily directory below {} is already on disc (has cback.store); nothing to do.",
            settings.source_dir.display()
        ))?;
        return Ok(Ended::Stopped);
    }
    asker.say("\nThese daily staging directories are not yet on disc:\n")?;
    for dir in &found.dirs {
        asker.say(&format!("   {}", dir.display()))?;
    }
    for link in &found.links {
        tracing::warn!("Symbolic link [{}] is not written by span.", link.display());
        asker.say(&format!("   (symbolic link left out: {})", link.display()))?;
    }
    let total = found.total_bytes();
    asker.say(&format!(
        "\nTheir files hold {} in all.\n",
        display_bytes(total as f64)
    ))?;
    if !asker.yes("Continue?")? {
        return Ok(Ended::Stopped);
    }

    let nominal = settings.media_info().capacity_bytes();
    asker.say(&format!("\nThe media holds {}.", display_bytes(nominal)))?;
    asker.say("Estimates are not exact, so keep a cushion: a share of the capacity left free.")?;
    asker.say("A 1.5% cushion uses 98.5% of the disc.\n")?;
    let cushion = asker.number("What cushion percentage?", DEFAULT_CUSHION, 0.0..100.0)?;
    let capacity = nominal * (100.0 - cushion) / 100.0;
    let at_least = ((total as f64) / capacity).ceil().max(1.0);
    asker.say(&format!(
        "\nWith a {cushion:.2}% cushion a disc holds {}.",
        display_bytes(capacity)
    ))?;
    asker.say(&format!(
        "It will take at least {at_least} disc(s) to store your {} of data.\n",
        display_bytes(total as f64)
    ))?;
    if !asker.yes("Continue?")? {
        return Ok(Ended::Stopped);
    }

    let sizes: Vec<u64> = found.files.iter().map(|f| f.size).collect();
    let discs = loop {
        asker.say("\nHow should the files be spread over the discs? The fitting algorithms:\n")?;
        for (name, what) in ALGORITHMS {
            asker.say(&format!(
                "   {name:.<9}: the \"{name}-fit\" algorithm, which {what}"
            ))?;
        }
        asker.say("\nYou can try another one if you do not like the result.\n")?;
        let names: Vec<&str> = ALGORITHMS.iter().map(|(n, _)| *n).collect();
        let name = asker.choice("Which algorithm?", &names, "worst")?;
        let algorithm = Algorithm::parse(&name).unwrap_or(Algorithm::Worst);
        asker.say("\nBuilding the file lists; this may take a while...")?;
        let discs = knapsack::split(algorithm, &sizes, capacity).map_err(|e| match e {
            knapsack::SplitError::TooLarge { index, size, .. } => SpanError::TooLarge {
                path: found.files[index].path.display().to_string(),
                size: display_bytes(size as f64),
                capacity: display_bytes(capacity),
            },
            knapsack::SplitError::NoRoom { .. } => SpanError::NoRoom,
        })?;
        asker.say(&format!(
            "\nThe \"{name}-fit\" algorithm puts your data on {} disc(s):\n",
            discs.len()
        ))?;
        for (i, disc) in discs.iter().enumerate() {
            let bytes: u64 = disc.iter().map(|&f| sizes[f]).sum();
            asker.say(&format!(
                "Disc {}: {} files, {}, {:.2}% utilization",
                i + 1,
                disc.len(),
                display_bytes(bytes as f64),
                bytes as f64 / capacity * 100.0
            ))?;
        }
        asker.say("")?;
        if asker.yes("Accept this solution?")? {
            break discs;
        }
    };

    for (i, disc) in discs.iter().enumerate() {
        let files: Vec<&SpanFile> = disc.iter().map(|&f| &found.files[f]).collect();
        let message = if i == 0 {
            "\nPlease place the first disc in your backup device."
        } else {
            "\nPlease replace the disc in your backup device."
        };
        asker.pause(message)?;
        write_with_retries(&writer, &tools, &settings, &files, asker)?;
    }
    write_store_indicators(&settings, found.dirs.iter().map(|d| d.as_path()))?;
    asker.say("\nCompleted writing all discs.")?;
    Ok(Ended::Written)
}

/// The daily directories (`YYYY/MM/DD`) that `files` come from, sorted.
fn daily_dirs(files: &[&SpanFile]) -> Vec<String> {
    let days: std::collections::BTreeSet<String> = files
        .iter()
        .map(|f| f.rel_dir.split('/').take(3).collect::<Vec<_>>().join("/"))
        .collect();
    days.into_iter().collect()
}

/// Writes one disc, offering a retry when the write or the check fails.
fn write_with_retries<R: BufRead, W: Write>(
    writer: &Writer<'_>,
    tools: &Tools<'_>,
    settings: &StoreSettings,
    files: &[&SpanFile],
    asker: &mut Asker<R, W>,
) -> Result<(), SpanError> {
    loop {
        asker.say(&format!("\nWriting {} files to disc...", files.len()))?;
        let result = write_disc(writer, tools, settings, files);
        record_disc(StoredDisc {
            action: "span".into(),
            media: settings.media_info().name.into(),
            device: settings.device.display().to_string(),
            label: None,
            new_disc: true,
            bytes: result.as_ref().map_or(0, |w| w.bytes),
            directories: daily_dirs(files),
            verified: result.is_ok() && settings.check_data,
            success: result.is_ok(),
            error: result.as_ref().err().map(|e| e.to_string()),
            finished: cedar_core::now_secs(),
        });
        match result {
            Ok(_) => {
                if settings.check_data {
                    asker.say(
                        "Completed writing the disc; the consistency check found no problems.",
                    )?;
                } else {
                    asker.say("Completed writing the disc.")?;
                }
                return Ok(());
            }
            Err(StoreError::Interrupted) => return Err(StoreError::Interrupted.into()),
            Err(e) => {
                tracing::error!(target: cedar_core::LOG_FILE_ONLY_TARGET, "{e}");
                asker.say(&format!("Failed to write the disc: {e}"))?;
                if !asker.yes("Retry this step?")? {
                    return Err(e.into());
                }
                asker.say("Ok, attempting retry.")?;
                asker.pause("Please replace media if needed.")?;
            }
        }
    }
}
