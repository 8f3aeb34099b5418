//! The `validate` action: the original's runtime checks of a loaded configuration, plus each
//! registered extension checking its own section. Unlike the original it fails (exit 6) when
//! anything is wrong, after reporting every problem.

use std::path::Path;

use nix::unistd::{access, AccessFlags};

use cedar_core::{
    action_registrations, available_extension_modules, clip_text, extension_by_module, Action,
    ActionContext, ActionError, ActionKind, ActionRegistration, OwnershipError, Placement,
};

#[derive(Debug)]
struct ValidateAction;

/// Every problem found, in a stable order.
pub fn problems(ctx: &ActionContext<'_>) -> Vec<String> {
    let config = &ctx.config.config;
    let mut found = Vec::new();
    if config.reference.is_none() {
        found.push("the <reference> section is missing".to_string());
    }
    if let Some(options) = &config.options {
        if let Some(dir) = &options.working_dir {
            check_dir(&mut found, "<options><working_dir>", dir, true);
        }
        if let Some(user) = &options.backup_user {
            if nix::unistd::User::from_name(user).ok().flatten().is_none() {
                found.push(OwnershipError::UnknownUser(user.clone()).to_string());
            }
        }
        if let Some(group) = &options.backup_group {
            if nix::unistd::Group::from_name(group)
                .ok()
                .flatten()
                .is_none()
            {
                found.push(OwnershipError::UnknownGroup(group.clone()).to_string());
            }
        }
    }
    if let Some(collect) = &config.collect {
        if let Some(dir) = &collect.collect_dir {
            check_dir(&mut found, "<collect><collect_dir>", dir, true);
        }
        for dir in collect.dirs.iter().filter_map(|d| d.abs_path.as_ref()) {
            check_dir(&mut found, "<collect><dir><abs_path>", dir, false);
        }
    }
    if let Some(dir) = config.stage.as_ref().and_then(|s| s.staging_dir.as_ref()) {
        check_dir(&mut found, "<stage><staging_dir>", dir, false);
    }
    if let Some(dir) = config.store.as_ref().and_then(|s| s.source_dir.as_ref()) {
        check_dir(&mut found, "<store><source_dir>", dir, false);
    }
    found.extend(crate::store::writer_problem(config));
    if let Some(purge) = &config.purge {
        for dir in purge.dirs.iter().filter_map(|d| d.abs_path.as_ref()) {
            check_dir(&mut found, "<purge><dir><abs_path>", dir, false);
        }
    }
    let declared = config
        .extensions
        .as_ref()
        .map(|e| e.actions.as_slice())
        .unwrap_or_default();
    for decl in declared {
        let module = decl.module.as_deref().unwrap_or_default();
        let function = decl.function.as_deref().unwrap_or_default();
        if extension_by_module(module, function).is_none() {
            found.push(format!(
                "extended action {}: module {} with function {} is not built into this cback; available modules: {}",
                clip_text(decl.name.as_deref().unwrap_or_default()),
                clip_text(module),
                clip_text(function),
                available_extension_modules().join(", ")
            ));
        }
    }
    // Each registered extension that is declared, or whose section is present, checks its section.
    for reg in action_registrations() {
        let ActionKind::Extension { module, .. } = reg.kind else {
            continue;
        };
        let is_declared = declared.iter().any(|d| d.module.as_deref() == Some(module));
        if is_declared || ctx.config.has_section(reg.name) {
            let ext_ctx = ActionContext {
                action_name: reg.name,
                ..*ctx
            };
            found.extend(
                reg.action
                    .validate(&ext_ctx)
                    .into_iter()
                    .map(|p| format!("<{}>: {p}", reg.name)),
            );
        }
    }
    found
}

fn check_dir(found: &mut Vec<String>, element: &str, dir: &str, writable: bool) {
    let path = Path::new(dir);
    if !path.is_dir() {
        found.push(format!(
            "{element}: directory {} does not exist; create it or fix the path",
            clip_text(dir)
        ));
    } else if writable && access(path, AccessFlags::W_OK).is_err() {
        found.push(format!(
            "{element}: directory {} is not writable; fix its permissions",
            clip_text(dir)
        ));
    }
}

impl Action for ValidateAction {
    fn execute(&self, ctx: &ActionContext<'_>) -> Result<(), ActionError> {
        let found = problems(ctx);
        if found.is_empty() {
            tracing::info!("Configuration is valid.");
            // The original always shows this line on screen, even without --verbose.
            if !ctx.options.quiet && !ctx.options.verbose {
                println!("Configuration is valid.");
            }
            return Ok(());
        }
        for problem in &found {
            tracing::error!("{problem}");
        }
        Err(ActionError::failed(format!(
            "configuration {} is not valid: {} problem(s) found:\n{}",
            ctx.config_path.display(),
            found.len(),
            found.join("\n")
        )))
    }
}

cedar_core::inventory::submit! {
    ActionRegistration {
        name: "validate",
        kind: ActionKind::Builtin,
        placement: Placement { index: 0, run_before: &[], run_after: &[] },
        action: &ValidateAction,
    }
}
