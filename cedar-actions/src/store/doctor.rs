//! What `cback doctor` checks for store, without writing anything: the device is one store can
//! write to (the writer opened as store opens it: not mounted, present, writable, and for a CD
//! `cdrecord -prcap` answers), and the newest staged day fits on a new disc of the configured
//! media type (mkisofs's estimate, as store measures a day, against the space the writer
//! counts on a new disc), with the doctor's [`MARGIN`]. Every command within
//! [`CHECK_TIME_LIMIT`].

use cedar_core::{
    display_bytes, error_chain, section_check_failure, CheckResult, ConfigFile, DeviceType,
    CHECK_TIME_LIMIT,
};

use super::iso::Entry;
use super::select::newest_staged;
use super::settings::StoreSettings;
use super::tools::Tools;
use super::writer::Writer;
use crate::doctor::MARGIN;

const DEVICE: &str = "store device";
const CAPACITY: &str = "store capacity";

/// The device's result, then (when it opened) the capacity's; none without a `<store>`
/// section.
pub fn check(config: &ConfigFile) -> Vec<CheckResult> {
    if config.config.store.is_none() {
        return Vec::new();
    }
    let settings = match StoreSettings::load(&config.config, "store") {
        Ok(settings) => settings,
        Err(err) => return vec![section_check_failure("store", &config.path, &err)],
    };
    let subject = settings.device.display().to_string();
    let tools = Tools::new(&config.config).within(CHECK_TIME_LIMIT);
    let writer = match Writer::open(&settings, tools) {
        Ok(writer) => writer,
        Err(err) => {
            return vec![CheckResult::fail(
                DEVICE,
                subject,
                format!(
                    "{}; the capacity check needs the writer and was not run",
                    one_line(&err)
                ),
            )]
        }
    };
    let answered = match settings.device_type {
        DeviceType::Cdwriter => "; the CD writer answers `cdrecord -prcap`",
        DeviceType::Dvdwriter => "",
    };
    vec![
        CheckResult::pass(
            DEVICE,
            subject.clone(),
            format!("present, not mounted and writable{answered}"),
        ),
        capacity(config, &settings, &writer, subject),
    ]
}

/// The newest staged day against a new disc.
fn capacity(
    config: &ConfigFile,
    settings: &StoreSettings,
    writer: &Writer<'_>,
    subject: String,
) -> CheckResult {
    let staging = match StoreSettings::staging_dir(&config.config) {
        Ok(dir) => dir,
        Err(err) => return CheckResult::fail(CAPACITY, subject, err.to_string()),
    };
    let Some((rel, path)) = newest_staged(&staging) else {
        return CheckResult::pass(
            CAPACITY,
            subject,
            format!(
                "no staged day below {} yet, nothing to measure",
                staging.display()
            ),
        );
    };
    let bytes = match writer.required_bytes(&[Entry::daily(&rel, &path)]) {
        Ok(bytes) => bytes,
        Err(err) => {
            return CheckResult::fail(
                CAPACITY,
                subject,
                format!(
                    "cannot measure the staged day {}: {}",
                    path.display(),
                    one_line(&err)
                ),
            )
        }
    };
    let disc = writer.new_disc_capacity();
    let sizes = format!(
        "the newest staged day {rel} needs {} and a new {} disc holds {}",
        display_bytes(bytes),
        settings.media_info().name,
        display_bytes(disc.available)
    );
    if !disc.holds(bytes) {
        CheckResult::fail(
            CAPACITY,
            subject,
            format!("{sizes}: store cannot write a day that large; use larger media (<store><media_type>, e.g. dvd+r), split large files before store (the split extension), or write the days over several discs with cback-span"),
        )
    } else if !disc.holds(bytes * MARGIN) {
        CheckResult::warn(
            CAPACITY,
            subject,
            format!("{sizes}, less than {}% to spare: a night that grows will not fit; plan for larger media (<store><media_type>) or the split extension", ((MARGIN - 1.0) * 100.0).round()),
        )
    } else {
        CheckResult::pass(CAPACITY, subject, sizes)
    }
}

/// An error and its causes on one line.
fn one_line(err: &dyn std::error::Error) -> String {
    error_chain(err).replace('\n', " ")
}
