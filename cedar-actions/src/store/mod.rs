//! The optical-media actions of the original: store (write the day's staging directory to CD
//! or DVD), rebuild (write this week's directories to a new disc) and initialize (label
//! rewritable media), plus the pieces the capacity extension and the span tool share with
//! them. `shared/spec/store.md` describes the original; cback issues the same command lines
//! in the same order (see [`tools`], [`iso`], [`cdwriter`], [`dvdwriter`], [`tray`]).
//!
//! Where cback differs, deliberately:
//! - data that does not fit is refused before anything is written, with the sizes and the
//!   media's capacity in the message ([`writer::check_fits`]);
//! - check_data compares every file by SHA-256 and names each one that differs
//!   ([`check_data`]); a failed check leaves no `cback.store`;
//! - a blank_behavior mode without a factor, or a store without `<stage>`, fails with a
//!   message saying what to add instead of crashing ([`error::StoreError`]);
//! - the CD writer's open-tray `eject` honours an `<override>` ([`tray`]);
//! - every disc is recorded in the status file and the metrics textfile ([`cedar_core::disc_record`]).

pub mod cdwriter;
pub mod check_data;
pub mod check_media;
pub mod dvdwriter;
pub mod error;
pub mod indicator;
pub mod initialize;
pub mod iso;
pub mod knapsack;
pub mod media;
pub mod rebuild;
pub mod recorder;
pub mod select;
pub mod settings;
pub mod span;
pub mod store_action;
pub mod tools;
pub mod tray;
pub mod writer;

use cedar_core::action::{
    Action, ActionContext, ActionError, ActionKind, ActionRegistration, Placement,
};
use cedar_core::calendar::Today;

pub use error::StoreError;
pub use settings::StoreSettings;

/// validate's store check: the writer can be opened (for a CD that runs `cdrecord -prcap`).
/// `None` when it can, or when the store section is incomplete (the document rules report
/// that).
pub fn writer_problem(config: &cedar_core::config::Config) -> Option<String> {
    let settings = StoreSettings::load(config, "validate").ok()?;
    let error = writer::Writer::open(&settings, tools::Tools::new(config)).err()?;
    Some(format!(
        "<store>: Backup device [{}] [{}] is not valid: {error}",
        settings.device.display(),
        settings.scsi_id.as_deref().unwrap_or("None")
    ))
}

#[derive(Debug)]
struct StoreAction;

impl Action for StoreAction {
    fn execute(&self, ctx: &ActionContext<'_>) -> Result<(), ActionError> {
        store_action::store(&ctx.config.config, ctx.options.full, &Today::current())
            .map_err(Into::into)
    }
}

#[derive(Debug)]
struct RebuildAction;

impl Action for RebuildAction {
    fn execute(&self, ctx: &ActionContext<'_>) -> Result<(), ActionError> {
        rebuild::rebuild(&ctx.config.config, &Today::current()).map_err(Into::into)
    }
}

#[derive(Debug)]
struct InitializeAction;

impl Action for InitializeAction {
    fn execute(&self, ctx: &ActionContext<'_>) -> Result<(), ActionError> {
        initialize::initialize(&ctx.config.config, &Today::current()).map_err(Into::into)
    }
}

cedar_core::inventory::submit! {
    ActionRegistration {
        name: "store",
        kind: ActionKind::Builtin,
        placement: Placement { index: 300, run_before: &[], run_after: &[] },
        action: &StoreAction,
    }
}

cedar_core::inventory::submit! {
    ActionRegistration {
        name: "rebuild",
        kind: ActionKind::Builtin,
        placement: Placement { index: 0, run_before: &[], run_after: &[] },
        action: &RebuildAction,
    }
}

cedar_core::inventory::submit! {
    ActionRegistration {
        name: "initialize",
        kind: ActionKind::Builtin,
        placement: Placement { index: 0, run_before: &[], run_after: &[] },
        action: &InitializeAction,
    }
}
