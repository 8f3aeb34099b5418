//! The subversion action: for each repository, the revisions to dump (all of them, or those
//! after the last run's for `incr`), `svnadmin dump` into collect_dir, and the state file.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use cedar_core::{
    capture_command, child_command, last_lines, list_entries, load_state_int,
    load_state_or_start_over, normalize_name, run_supervised, validate_extension, write_state,
    Action, ActionContext, ActionError, CollectMode, EntryKind, ExitRule, ExtensionSection,
    ListingExclusions, StandardSections, StreamCommand, SupervisedError, Tally, TallyItem,
};

use crate::config::{Repository, SubversionSection, SECTION};
use crate::error::RepositoryError;

/// The action registered as `subversion`.
#[derive(Debug, Clone, Copy, Default)]
pub struct SubversionAction;

impl Action for SubversionAction {
    fn execute(&self, ctx: &ActionContext<'_>) -> Result<(), ActionError> {
        run(ctx, &cedar_core::interrupt_requested)
    }

    fn validate(&self, ctx: &ActionContext<'_>) -> Vec<String> {
        validate_extension::<SubversionSection>(ctx.config, ctx.options)
    }
}

/// What a run shares between repositories.
struct Run<'a> {
    site: StandardSections<'a>,
    work: PathBuf,
    dry_run: bool,
    interrupted: &'a (dyn Fn() -> bool + Sync),
}

/// Runs the action: every repository is attempted; the failures are named together.
pub fn run(
    ctx: &ActionContext<'_>,
    interrupted: &(dyn Fn() -> bool + Sync),
) -> Result<(), ActionError> {
    let site = StandardSections::load(SECTION, ctx.config, ctx.options)
        .map_err(|e| ActionError::failed(e.to_string()))?;
    let settings =
        SubversionSection::load(ctx.config).map_err(|e| ActionError::failed(e.to_string()))?;
    let work = site
        .working_dir("subversion")
        .map_err(|e| ActionError::failed(e.to_string()))?
        .to_path_buf();
    tracing::debug!("Full backup flag is [{}]", site.full);
    if !ctx.options.dry_run {
        cedar_core::remove_stale_captures(&site.collect_dir, &|n| n.starts_with("svndump-"));
        cedar_core::remove_stale_captures(&work, &|n| n.ends_with(".svnlast"));
    }
    let run = Run {
        site,
        work,
        dry_run: ctx.options.dry_run,
        interrupted,
    };
    let mut tally = Tally::new("subversion", "Subversion repositories");
    for repository in &settings.repositories {
        back_up(&run, repository, &mut tally)?;
    }
    for dir in &settings.repository_dirs {
        let item = TallyItem::new(
            dir.path.clone(),
            format!("repository directory [{}]", dir.path),
        );
        let entries = match list_repositories(&dir.path, &dir.exclusions) {
            Ok(entries) => entries,
            Err(err) => {
                tally.failed(&item, &err);
                continue;
            }
        };
        for path in entries {
            let repository = Repository {
                path,
                collect_mode: dir.collect_mode,
                compress_mode: dir.compress_mode,
            };
            back_up(&run, &repository, &mut tally)?;
        }
        tracing::info!(
            "Completed backing up Subversion repository directory [{}].",
            dir.path
        );
    }
    tally.finish()?;
    tracing::info!("Executed the Subversion extended action successfully.");
    Ok(())
}

/// The subdirectories of a `<repository_dir>`, in listing order (plain files and soft links
/// are skipped, as by the original).
fn list_repositories(
    path: &str,
    exclusions: &ListingExclusions,
) -> Result<Vec<PathBuf>, RepositoryError> {
    if !Path::new(path).is_dir() {
        return Err(RepositoryError::NotADirectory { path: path.into() });
    }
    let entries = list_entries(path, exclusions).map_err(|source| RepositoryError::List {
        path: path.into(),
        source,
    })?;
    Ok(entries
        .into_iter()
        .filter(|e| e.kind == EntryKind::Dir)
        .map(|e| e.path)
        .collect())
}

/// Backs up one repository and records the outcome; only an interrupt stops the run.
fn back_up(run: &Run<'_>, repository: &Repository, tally: &mut Tally) -> Result<(), ActionError> {
    let path = repository.path.to_string_lossy().into_owned();
    if !repository
        .collect_mode
        .backs_up_today(run.site.full, run.site.start_of_week)
    {
        tracing::debug!("Repository [{path}] is not backed up today.");
        return Ok(());
    }
    let item = TallyItem::new(path.clone(), format!("repository [{path}]"));
    match dump(run, repository, &path) {
        Ok(captured) => tally.ok(&item, captured.as_ref()),
        Err(RepositoryError::Interrupted) => return Err(ActionError::Interrupted),
        Err(err) => tally.failed(&item, &err),
    }
    Ok(())
}

/// The state file of a repository: `WORKING_DIR/NORMALIZED.svnlast`.
pub fn state_name(path: &str) -> String {
    format!("{}.svnlast", normalize_name(path))
}

/// The dump file of a repository for revisions `start` to `end`.
pub fn dump_name(path: &str, start: i64, end: i64, repository: &Repository) -> String {
    format!(
        "svndump-{start}:{end}-{}.txt{}",
        normalize_name(path),
        repository.compress_mode.extension()
    )
}

fn dump(
    run: &Run<'_>,
    repository: &Repository,
    path: &str,
) -> Result<Option<cedar_core::Captured>, RepositoryError> {
    let incremental = repository.collect_mode == CollectMode::Incr;
    let state_path = run.work.join(state_name(path));
    let (last, unreadable) = if incremental && !run.site.full {
        load_state_or_start_over(&state_path, load_state_int)
    } else {
        (None, None)
    };
    let start = last.map_or(0, |revision| revision + 1);
    let youngest = youngest(run, &repository.path)?;
    if start > youngest {
        tracing::info!("No need to back up repository [{path}]; no new revisions.");
        return Ok(None);
    }
    let name = dump_name(path, start, youngest, repository);
    if run.dry_run {
        tracing::info!(
            "Dry run: would write {} with svnadmin dump of revisions {start} to {youngest}.",
            run.site.collect_dir.join(&name).display()
        );
        return Ok(None);
    }
    let mut command = StreamCommand::new(
        "svnadmin",
        run.site.program("svnadmin"),
        vec![
            OsString::from("dump"),
            OsString::from("--quiet"),
            OsString::from(format!("-r{start}:{youngest}")),
            OsString::from("--incremental"),
            repository.path.clone().into_os_string(),
        ],
    );
    command.label = format!("svnadmin dump of repository [{path}]");
    let captured = capture_command(
        &command,
        &run.site.collect_dir,
        &name,
        repository.compress_mode,
        run.site.owner,
        ExitRule::MustSucceed,
        run.interrupted,
    )
    .map_err(|err| {
        if err.is_interrupt() {
            RepositoryError::Interrupted
        } else {
            RepositoryError::Dump(err)
        }
    })?;
    tracing::info!("Wrote {}.", captured.path.display());
    if incremental {
        write_state(
            &run.work,
            &state_name(path),
            &cedar_core::int_pickle(youngest),
            run.site.owner,
        )
        .map_err(|source| RepositoryError::WriteState {
            path: state_path.clone(),
            source,
        })?;
    }
    if let Some(source) = unreadable {
        return Err(RepositoryError::StateReplaced {
            path: state_path,
            dump: captured.path,
            source: Box::new(source),
        });
    }
    tracing::info!("Completed backing up Subversion repository [{path}].");
    Ok(Some(captured))
}

/// `svnlook youngest PATH`: the repository's newest revision.
fn youngest(run: &Run<'_>, repository: &Path) -> Result<i64, RepositoryError> {
    let program = run.site.program("svnlook");
    let mut command = child_command(&program);
    command.arg("youngest").arg(repository);
    tracing::info!(
        target: cedar_core::LOG_OUTPUT_TARGET,
        "Executing command ['{}'] with args ['youngest', '{}'].",
        program.display(),
        repository.display()
    );
    let output = run_supervised(command).map_err(|err| match err {
        SupervisedError::Interrupted => RepositoryError::Interrupted,
        SupervisedError::Spawn(source) => RepositoryError::SvnlookSpawn {
            program: program.clone(),
            source,
        },
    })?;
    if !output.status.success() {
        return Err(RepositoryError::Svnlook {
            program,
            status: cedar_core::describe_exit_status(&output.status),
            stderr_tail: last_lines(&String::from_utf8_lossy(&output.stderr), 12),
        });
    }
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    cedar_core::log_command_output(&text);
    parse_youngest(&text).ok_or(RepositoryError::Youngest { output: text })
}

/// The revision of `svnlook youngest`'s output: exactly one line holding an integer.
pub fn parse_youngest(text: &str) -> Option<i64> {
    let mut lines = text.lines();
    let line = lines.next()?;
    if lines.next().is_some() {
        return None;
    }
    line.trim().parse::<i64>().ok().filter(|n| *n >= 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cedar_core::Codec;

    #[test]
    fn names_follow_the_original() {
        let repository = Repository {
            path: "/srv/svn/be ta".into(),
            collect_mode: CollectMode::Incr,
            compress_mode: Codec::Gzip,
        };
        assert_eq!(
            dump_name("/srv/svn/be ta", 0, 2, &repository),
            "svndump-0:2-srv-svn-be_ta.txt.gz"
        );
        assert_eq!(state_name("/srv/svn/be ta"), "srv-svn-be_ta.svnlast");
        assert_eq!(state_name("/srv/svn/alpha/"), "srv-svn-alpha-.svnlast");
    }

    #[test]
    fn youngest_is_one_line_with_a_number() {
        assert_eq!(parse_youngest("5\n"), Some(5));
        assert_eq!(parse_youngest("0"), Some(0));
        assert_eq!(parse_youngest("5\n6\n"), None);
        assert_eq!(parse_youngest(""), None);
        assert_eq!(parse_youngest("five\n"), None);
    }
}
