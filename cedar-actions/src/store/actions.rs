use super::{doctor, initialize, rebuild, settings, store_action, tools, writer};
use cedar_core::{
    Action, ActionContext, ActionError, ActionKind, ActionRegistration, Placement, Progress, Today,
};

use settings::StoreSettings;

/// validate's store check: the writer can be opened (for a CD that runs `cdrecord -prcap`,
/// within the doctor's [`cedar_core::CHECK_TIME_LIMIT`]). `None` when it can, or when the store section is incomplete (the document rules report
/// that).
pub fn writer_problem(config: &cedar_core::Config) -> Option<String> {
    let settings = StoreSettings::load(config, "validate").ok()?;
    let tools = tools::Tools::new(config).within(cedar_core::CHECK_TIME_LIMIT);
    let error = writer::Writer::open(&settings, tools).err()?;
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
        store_action::store(
            &ctx.config.config,
            ctx.options.full,
            &Today::current(),
            &Progress::for_run(ctx.options),
        )
        .map_err(Into::into)
    }

    fn doctor(&self, ctx: &ActionContext<'_>) -> Vec<cedar_core::CheckResult> {
        doctor::check(ctx.config)
    }
}

#[derive(Debug)]
struct RebuildAction;

impl Action for RebuildAction {
    fn execute(&self, ctx: &ActionContext<'_>) -> Result<(), ActionError> {
        rebuild::rebuild(
            &ctx.config.config,
            &Today::current(),
            &Progress::for_run(ctx.options),
        )
        .map_err(Into::into)
    }
}

#[derive(Debug)]
struct InitializeAction;

impl Action for InitializeAction {
    fn execute(&self, ctx: &ActionContext<'_>) -> Result<(), ActionError> {
        initialize::initialize(
            &ctx.config.config,
            &Today::current(),
            &Progress::for_run(ctx.options),
        )
        .map_err(Into::into)
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
