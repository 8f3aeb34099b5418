//! The sysinfo action: three system listings, each into its bzip2 file.

use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use cedar_core::{
    capture_command, capture_command_logged, Action, ActionContext, ActionError, Codec, ExitRule,
    StandardSections, StreamCommand, Tally, TallyItem,
};

/// The action registered as `sysinfo`.
#[derive(Debug, Clone, Copy, Default)]
pub struct SysinfoAction;

/// One listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// How the original's messages name it: `Debian package dump`.
    pub what: &'static str,
    /// The `<override>` key, and the path that must hold an executable (absent for ls).
    pub command: &'static str,
    pub fixed_path: Option<&'static str>,
    pub args: &'static [&'static str],
    pub file: &'static str,
    /// Whether a non-zero exit fails the step (`ls` complains about what it cannot read).
    pub rule: ExitRule,
}

/// The three steps, in the original's order.
pub fn steps() -> [Step; 3] {
    [
        Step {
            what: "Debian package dump",
            command: "/usr/bin/dpkg",
            fixed_path: Some("/usr/bin/dpkg"),
            args: &["--get-selections"],
            file: "dpkg-selections.txt.bz2",
            rule: ExitRule::MustSucceed,
        },
        Step {
            what: "partition table dump",
            command: "/sbin/fdisk",
            fixed_path: Some("/sbin/fdisk"),
            args: &["-l"],
            file: "fdisk-l.txt.bz2",
            rule: ExitRule::MustSucceed,
        },
        Step {
            what: "filesystem listing",
            command: "ls",
            fixed_path: None,
            args: &["-laR", "/"],
            file: "ls-laR.txt.bz2",
            rule: ExitRule::AnyCode,
        },
    ]
}

/// Why a step is skipped: its fixed path holds no executable.
pub fn unavailable(path: &Path) -> Option<&'static str> {
    match std::fs::metadata(path) {
        Err(_) => Some("doesn't seem to exist"),
        Ok(meta) if !meta.is_file() || meta.permissions().mode() & 0o111 == 0 => {
            Some("cannot be executed")
        }
        Ok(_) => None,
    }
}

impl Action for SysinfoAction {
    fn execute(&self, ctx: &ActionContext<'_>) -> Result<(), ActionError> {
        run(ctx, &cedar_core::interrupt_requested)
    }

    fn validate(&self, ctx: &ActionContext<'_>) -> Vec<String> {
        match StandardSections::load("sysinfo", ctx.config, ctx.options) {
            Ok(_) => Vec::new(),
            Err(err) => vec![err.to_string()],
        }
    }
}

/// Runs every step; `interrupted` is polled.
pub fn run(
    ctx: &ActionContext<'_>,
    interrupted: &(dyn Fn() -> bool + Sync),
) -> Result<(), ActionError> {
    let site = StandardSections::load("sysinfo", ctx.config, ctx.options)
        .map_err(|e| ActionError::failed(e.to_string()))?;
    if !ctx.options.dry_run {
        cedar_core::remove_stale_captures(&site.collect_dir, &|name| {
            steps().iter().any(|s| s.file == name)
        });
    }
    let mut tally = Tally::new("sysinfo", "sysinfo steps");
    for step in steps() {
        if let Some(reason) = step.fixed_path.and_then(|p| unavailable(Path::new(p))) {
            tracing::info!(
                "Not executing {} since {} {reason}.",
                step.what,
                step.fixed_path.unwrap_or_default()
            );
            continue;
        }
        let program = site.program(step.command);
        if ctx.options.dry_run {
            tracing::info!(
                "Dry run: would write {} with {} {}.",
                site.collect_dir.join(step.file).display(),
                program.display(),
                step.args.join(" ")
            );
            continue;
        }
        let item = TallyItem::new(step.file, step.what);
        let command = command(&step, program);
        // The original copies the partition table into the log (shown with --output).
        let run = if step.command == "/sbin/fdisk" {
            capture_command_logged
        } else {
            capture_command
        };
        match run(
            &command,
            &site.collect_dir,
            step.file,
            Codec::Bzip2,
            site.owner,
            step.rule,
            interrupted,
        ) {
            Ok(done) => {
                tracing::info!("Wrote {} ({}).", done.path.display(), step.what);
                tally.ok(&item, Some(&done));
            }
            Err(err) if err.is_interrupt() => return Err(ActionError::Interrupted),
            Err(err) => tally.failed(&item, &err),
        }
    }
    tally.finish()?;
    tracing::info!("Executed the sysinfo extended action successfully.");
    Ok(())
}

fn command(step: &Step, program: PathBuf) -> StreamCommand {
    let mut command = StreamCommand::new(
        step.command,
        program,
        step.args.iter().map(OsString::from).collect(),
    );
    command.label = format!("{} of the {}", step.command, step.what);
    // `ls -laR /` complains about every entry of /proc that vanished: routine.
    command.warn_stderr = step.rule == ExitRule::MustSucceed;
    command
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_and_unexecutable_tools_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let tool = dir.path().join("fdisk");
        assert_eq!(unavailable(&tool), Some("doesn't seem to exist"));
        std::fs::write(&tool, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(unavailable(&tool), Some("cannot be executed"));
        assert_eq!(unavailable(dir.path()), Some("cannot be executed"));
        std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(unavailable(&tool), None);
    }

    #[test]
    fn the_steps_are_the_originals() {
        let names: Vec<_> = steps().iter().map(|s| s.file).collect();
        assert_eq!(
            names,
            [
                "dpkg-selections.txt.bz2",
                "fdisk-l.txt.bz2",
                "ls-laR.txt.bz2"
            ]
        );
        assert_eq!(steps()[2].fixed_path, None);
    }
}
