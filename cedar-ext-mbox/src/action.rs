//! The mbox action: each mbox file through grepmail into collect_dir, each mbox directory's
//! files into one tar file, with the stamp of the run saved for the next incremental run.

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use cedar_core::{
    capture_command, list_entries, load_state_or_start_over, load_state_stamp, normalize_name,
    stamp_pickle, validate_extension, write_state, Action, ActionContext, ActionError, Appended,
    CaptureError, Captured, Codec, CollectMode, CompressedFile, EntryKind, ExitRule,
    ExtensionSection, StandardSections, StateStamp, StreamCommand, Tally, TallyItem, TarWriter,
};

use crate::config::{Item, MboxSection, SECTION};
use crate::error::MboxError;

/// The action registered as `mbox`.
#[derive(Debug, Clone, Copy, Default)]
pub struct MboxAction;

impl Action for MboxAction {
    fn execute(&self, ctx: &ActionContext<'_>) -> Result<(), ActionError> {
        run(ctx, &cedar_core::interrupt_requested)
    }

    fn validate(&self, ctx: &ActionContext<'_>) -> Vec<String> {
        validate_extension::<MboxSection>(ctx.config, ctx.options)
    }
}

/// What a run shares between items.
struct Run<'a> {
    site: StandardSections<'a>,
    work: PathBuf,
    /// The start of this run: in every file name, and saved as the next run's "since".
    stamp: StateStamp,
    dry_run: bool,
    interrupted: &'a (dyn Fn() -> bool + Sync),
}

/// Runs the action: every item is attempted; the failures are named together.
pub fn run(
    ctx: &ActionContext<'_>,
    interrupted: &(dyn Fn() -> bool + Sync),
) -> Result<(), ActionError> {
    let stamp = StateStamp::now();
    let site = StandardSections::load(SECTION, ctx.config, ctx.options)
        .map_err(|e| ActionError::failed(e.to_string()))?;
    let settings = MboxSection::load(ctx.config).map_err(|e| ActionError::failed(e.to_string()))?;
    let work = site
        .working_dir("mbox")
        .map_err(|e| ActionError::failed(e.to_string()))?
        .to_path_buf();
    if !ctx.options.dry_run {
        cedar_core::remove_stale_captures(&site.collect_dir, &|n| n.starts_with("mbox-"));
        cedar_core::remove_stale_captures(&work, &|n| n.ends_with(".mboxlast"));
        remove_stale_dirs(&work);
    }
    let run = Run {
        site,
        work,
        stamp,
        dry_run: ctx.options.dry_run,
        interrupted,
    };
    let mut tally = Tally::new("mbox", "mbox items");
    for (item, is_dir) in settings
        .files
        .iter()
        .map(|i| (i, false))
        .chain(settings.dirs.iter().map(|i| (i, true)))
    {
        if !item
            .collect_mode
            .backs_up_today(run.site.full, run.site.start_of_week)
        {
            tracing::debug!("Mbox [{}] is not backed up today.", item.path);
            continue;
        }
        let what = if is_dir {
            "mbox directory"
        } else {
            "mbox file"
        };
        let record = TallyItem::new(item.path.clone(), format!("{what} [{}]", item.path));
        match back_up(&run, item, is_dir) {
            Ok(captured) => tally.ok(&record, captured.as_ref()),
            Err(MboxError::Interrupted) => return Err(ActionError::Interrupted),
            Err(err) => tally.failed(&record, &err),
        }
    }
    tally.finish()?;
    tracing::info!("Executed the mbox extended action successfully.");
    Ok(())
}

/// The prefix of the temporary directories of [`back_up_dir`] in working_dir.
const TEMP_PREFIX: &str = "cback-mbox-";

/// Removes the temporary directories a killed run left in working_dir (under the run lock, no
/// other run uses them).
fn remove_stale_dirs(work: &Path) {
    let Ok(entries) = std::fs::read_dir(work) else {
        return;
    };
    for entry in entries.flatten() {
        let is_ours = entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX)
            && entry.file_type().is_ok_and(|t| t.is_dir());
        if !is_ours {
            continue;
        }
        match std::fs::remove_dir_all(entry.path()) {
            Ok(()) => tracing::warn!(
                "Removed {}, left by an earlier run that was killed or crashed.",
                entry.path().display()
            ),
            Err(err) => tracing::warn!(
                "Cannot remove {}, left by an earlier run: {err}; remove it by hand.",
                entry.path().display()
            ),
        }
    }
}

/// The state file of an item: `WORKING_DIR/NORMALIZED.mboxlast`.
pub fn state_name(path: &str) -> String {
    format!("{}.mboxlast", normalize_name(path))
}

/// The output of a file (`mbox-YYYYMMDD-NORMALIZED[.gz|.bz2]`) or a directory (`.tar` before
/// the compression suffix).
pub fn output_name(stamp: &StateStamp, path: &str, is_dir: bool, mode: Codec) -> String {
    format!(
        "mbox-{}-{}{}{}",
        stamp.date_digits(),
        normalize_name(path),
        if is_dir { ".tar" } else { "" },
        mode.extension()
    )
}

fn back_up(run: &Run<'_>, item: &Item, is_dir: bool) -> Result<Option<Captured>, MboxError> {
    let incremental = item.collect_mode == CollectMode::Incr;
    let state_path = run.work.join(state_name(&item.path));
    let (since, unreadable) = if incremental && !run.site.full {
        load_state_or_start_over(&state_path, load_state_stamp)
    } else {
        (None, None)
    };
    let name = output_name(&run.stamp, &item.path, is_dir, item.compress_mode);
    if run.dry_run {
        tracing::info!(
            "Dry run: would write {} with grepmail{}.",
            run.site.collect_dir.join(&name).display(),
            since.map_or(String::new(), |s| format!(" (messages since {s})"))
        );
        return Ok(None);
    }
    let captured = if is_dir {
        back_up_dir(run, item, since.as_ref(), &name)?
    } else {
        let path = item.path_buf();
        if !path.is_file() {
            return Err(MboxError::MissingFile { path });
        }
        grepmail(
            run,
            &path,
            since.as_ref(),
            &run.site.collect_dir,
            &name,
            item.compress_mode,
            run.site.owner,
        )?
    };
    tracing::info!("Wrote {}.", captured.path.display());
    if incremental {
        write_state(
            &run.work,
            &state_name(&item.path),
            &stamp_pickle(&run.stamp),
            run.site.owner,
        )
        .map_err(|source| MboxError::WriteState {
            path: state_path.clone(),
            source,
        })?;
    }
    if let Some(source) = unreadable {
        return Err(MboxError::StateReplaced {
            path: state_path,
            output: captured.path,
            source: Box::new(source),
        });
    }
    Ok(Some(captured))
}

/// `grepmail -a -u [-d "since STAMP"] PATH` into `dir/name`.
fn grepmail(
    run: &Run<'_>,
    path: &Path,
    since: Option<&StateStamp>,
    dir: &Path,
    name: &str,
    mode: Codec,
    owner: Option<cedar_core::FileOwner<'_>>,
) -> Result<Captured, MboxError> {
    let mut args = vec![OsString::from("-a"), OsString::from("-u")];
    if let Some(since) = since {
        args.push("-d".into());
        args.push(format!("since {}", since.iso_seconds()).into());
    }
    args.push(path.as_os_str().to_owned());
    let mut command = StreamCommand::new("grepmail", run.site.program("grepmail"), args);
    command.label = format!("grepmail on {}", path.display());
    capture_command(
        &command,
        dir,
        name,
        mode,
        owner,
        ExitRule::MustSucceed,
        run.interrupted,
    )
    .map_err(|source| grepmail_error(path, source))
}

fn grepmail_error(path: &Path, source: CaptureError) -> MboxError {
    if source.is_interrupt() {
        MboxError::Interrupted
    } else {
        MboxError::Grepmail {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Every file directly in the directory through grepmail into a temporary directory of
/// working_dir (removed afterwards, whatever happens), then one tar file of them.
fn back_up_dir(
    run: &Run<'_>,
    item: &Item,
    since: Option<&StateStamp>,
    name: &str,
) -> Result<Captured, MboxError> {
    let dir = item.path_buf();
    if !dir.is_dir() {
        return Err(MboxError::NotADirectory { path: dir });
    }
    let entries = list_entries(&item.path, &item.exclusions).map_err(|source| MboxError::List {
        path: dir.clone(),
        source,
    })?;
    let files: Vec<_> = entries
        .into_iter()
        .filter(|e| matches!(e.kind, EntryKind::File | EntryKind::LinkToFile))
        .collect();
    if files.is_empty() {
        return Err(MboxError::EmptyDirectory { path: dir });
    }
    let temp = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .tempdir_in(&run.work)
        .map_err(|source| MboxError::TempDir {
            dir: run.work.clone(),
            source,
        })?;
    let mut members = Vec::new();
    for file in &files {
        let member_name = file.name.to_string_lossy().into_owned();
        grepmail(
            run,
            &file.path,
            since,
            temp.path(),
            &member_name,
            Codec::None,
            None,
        )?;
        members.push((temp.path().join(&file.name), file));
    }
    let mut out = CompressedFile::create(&run.site.collect_dir, name, item.compress_mode)?;
    let tar_path = out.temp_path().to_path_buf();
    let tar_error = |source| MboxError::Tar {
        path: tar_path.clone(),
        source,
    };
    let mut tar = TarWriter::new(out.writer());
    for (member, file) in &members {
        match tar
            .append_file_as(member, file.name.as_bytes())
            .map_err(tar_error)?
        {
            Appended::Added { .. } => {}
            _ => tracing::info!(
                "Unable to add file [{}]; going on anyway.",
                file.path.display()
            ),
        }
    }
    tar.finish().map_err(tar_error)?;
    let captured = out.commit(run.site.owner)?;
    tracing::debug!("Completed backing up mbox directory [{}].", dir.display());
    Ok(captured)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_original() {
        let stamp = StateStamp {
            year: 2026,
            month: 12,
            day: 1,
            hour: 1,
            minute: 2,
            second: 3,
            micro: 4,
        };
        assert_eq!(
            output_name(&stamp, "/home/u/mail/my box", false, Codec::None),
            "mbox-20261201-home-u-mail-my_box"
        );
        assert_eq!(
            output_name(&stamp, "/home/u/Mail", true, Codec::Bzip2),
            "mbox-20261201-home-u-Mail.tar.bz2"
        );
        assert_eq!(state_name("/home/u/Mail"), "home-u-Mail.mboxlast");
    }
}
