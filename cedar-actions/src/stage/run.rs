use super::{daily, error, local, peer, remote};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use nix::unistd::{Gid, Uid};

use cedar_core::{
    apply_ownership, interrupt_requested, lookup_owner, record_result, running_as_root, Action,
    ActionContext, ActionError, ActionKind, ActionRegistration, Config, FileOwner, PeerOutcome,
    PeerResult, Placement, Progress, ProgressBar, ProgressMeasure, StageConfig, StageRecord, Today,
};

use error::{PeerError, StageError};
use peer::{not_ready_ignored, stage_peers, Peer};

/// The indicator written into each staged peer's collect_dir and into the daily directory.
pub const INDICATOR: &str = "cback.stage";

/// How a run is asked for.
#[derive(Debug, Clone, Copy)]
pub struct StageRequest {
    /// `--full` (decides, with the starting day, which peers' failures are ignored).
    pub full: bool,
    pub today: Today,
}

/// What was put into one peer's staging directory.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Staged {
    pub files: u64,
    pub bytes: u64,
}

/// Settings every peer shares, read from the configuration.
#[derive(Debug)]
struct PeerSettings<'a> {
    staging_dir: PathBuf,
    working_dir: PathBuf,
    user: &'a str,
    group: &'a str,
    /// Looked up once, as root.
    ids: Option<(Uid, Gid)>,
    su_program: String,
    starting_day: bool,
}

fn peer_settings<'a>(config: &'a Config, today: &Today) -> Result<PeerSettings<'a>, StageError> {
    let options = config.options.as_ref().ok_or(StageError::Incomplete {
        missing: "an <options> section",
    })?;
    let staging_dir = config
        .stage
        .as_ref()
        .and_then(|s| s.staging_dir.as_deref())
        .ok_or(StageError::Incomplete {
            missing: "a <stage> section with a <staging_dir>",
        })?;
    let working_dir = options
        .working_dir
        .as_deref()
        .ok_or(StageError::Incomplete {
            missing: "<options><working_dir>",
        })?;
    let user = options.backup_user.as_deref().unwrap_or_default();
    let group = options.backup_group.as_deref().unwrap_or_default();
    let ids = if running_as_root() {
        Some(lookup_owner(user, group).map_err(StageError::Owner)?)
    } else {
        None
    };
    Ok(PeerSettings {
        staging_dir: PathBuf::from(staging_dir),
        working_dir: PathBuf::from(working_dir),
        user,
        group,
        ids,
        su_program: cedar_core::resolve_command(config, "su")
            .display()
            .to_string(),
        starting_day: options
            .starting_day
            .is_some_and(|day| today.is_starting_day(day)),
    })
}

impl PeerSettings<'_> {
    fn owner(&self) -> Option<FileOwner<'_>> {
        self.ids.map(|_| FileOwner {
            user: self.user,
            group: self.group,
        })
    }

    /// The runner of a peer whose indicator files pass through `scratch`.
    fn runner<'s>(&'s self, scratch: &'s Path) -> remote::Runner<'s> {
        remote::Runner {
            su_user: self.ids.map(|_| self.user),
            su_program: &self.su_program,
            working_dir: scratch,
            owner: self.ids,
            connection: None,
        }
    }
}

/// Stages every peer of `config`, `<stage><jobs>` at a time (taken in configuration order),
/// showing the peers done and those being staged on `progress`; logs the summary line when
/// every peer was staged.
pub fn stage(
    config: &Config,
    request: StageRequest,
    progress: &Progress,
) -> Result<(), StageError> {
    let site = peer_settings(config, &request.today)?;
    let peers = stage_peers(config);
    for p in &peers {
        tracing::debug!("Found {} peer: [{}]", p.kind(), p.name);
    }
    let daily = daily::prepare(&site.staging_dir, &request.today, site.ids)?;
    let mut targets = Vec::with_capacity(peers.len());
    for p in &peers {
        targets.push(if usable_name(&p.name) {
            Some(daily::peer_dir(&daily, &p.name, site.ids)?)
        } else {
            None
        });
    }
    // Each peer's outcome in the day, for purge: pending until known, so that a stage run
    // stopped half way leaves a day that is not good. Rewritten as each peer ends.
    let record = Mutex::new(StageRecord::all(
        peers.iter().map(|p| p.name.as_str()),
        PeerOutcome::Pending,
    ));
    // A record that cannot be written fails the run at the end, after the peers were staged.
    let record_error = Mutex::new(None);
    let write_record = |record: &StageRecord| {
        if let Err(source) = record.write(&daily, site.owner()) {
            let err = StageError::Record { source };
            tracing::error!("{}", cedar_core::error_chain(&err));
            lock(&record_error).get_or_insert(err);
        }
    };
    write_record(&lock(&record));
    let jobs = config
        .stage
        .as_ref()
        .map_or(StageConfig::DEFAULT_JOBS, StageConfig::jobs);
    // The bytes of a peer are known when it is staged (a remote copy does not report them).
    let bar = progress.start(
        ProgressMeasure::items("stage", "peers", "copied").of(Some(peers.len() as u64), None),
    );
    let runs = cedar_core::run_bounded(peers.len(), jobs, &interrupt_requested, &|index| {
        bar.begin(&peers[index].name);
        let ran = stage_and_log(
            &peers[index],
            targets[index].as_deref(),
            &daily,
            &site,
            request.full,
            &bar,
        );
        bar.end(&peers[index].name);
        if let Ran::Ended { result, .. } = &ran {
            // Its bytes were counted as they were copied.
            bar.add_item(0);
            let outcome = match (result.success, result.skipped) {
                (false, _) => PeerOutcome::Failed,
                (true, true) => PeerOutcome::Skipped,
                (true, false) => PeerOutcome::Good,
            };
            let mut record = lock(&record);
            record.peers.insert(peers[index].name.clone(), outcome);
            write_record(&record);
        }
        ran
    });
    // Reported in configuration order, whatever order the peers ended in.
    let mut failures = Vec::new();
    let mut finished = Vec::new();
    let mut interrupted = Vec::new();
    let mut not_started = Vec::new();
    let mut files = 0;
    for ((p, run), index) in peers.iter().zip(runs).zip(0..) {
        match run {
            None => not_started.push(index),
            Some(Ran::Interrupted) => interrupted.push(index),
            Some(Ran::Ended { result, failure }) => {
                files += result.files;
                record_result(result);
                finished.push(p.name.clone());
                failures.extend(failure);
            }
        }
    }
    let names = |list: &[usize]| list.iter().map(|&i| peers[i].name.clone()).collect();
    let stopped = match (interrupted.split_first(), not_started.split_first()) {
        // Stopped while copying (with others copied at the same time); the rest never began.
        (Some((&first, others)), _) => Some((first, names(others), true, names(&not_started))),
        // Stopped just before it began.
        (None, Some((&first, rest))) => Some((first, Vec::new(), false, names(rest))),
        (None, None) => None,
    };
    if let Some((first, also, copying, after)) = stopped {
        return Err(StageError::Interrupted {
            peer: peers[first].name.clone(),
            also,
            copying,
            before: finished,
            after,
        });
    }
    // The peers' failures are reported even when the daily indicator cannot be written too.
    let daily_indicator = write_daily_indicator(&daily, site.ids);
    if failures.is_empty() {
        daily_indicator?;
        bar.conclude(&cedar_core::summary_line(
            &format!("Staged {} peer(s):", peers.len()),
            Some((files, "files")),
            bar.bytes(),
            bar.seconds(),
        ));
        return record_error
            .into_inner()
            .unwrap_or_else(|e| e.into_inner())
            .map_or(Ok(()), Err);
    }
    Err(StageError::Peers {
        attempted: peers.len(),
        failures,
        daily_indicator: daily_indicator.err().map(Box::new),
    })
}

/// How one peer's turn ended.
// One per peer, moved once: the size of the variants does not matter.
#[allow(clippy::large_enum_variant)]
enum Ran {
    /// Staged, ignored or failed: its status entry, and its failure if it failed.
    Ended {
        result: PeerResult,
        failure: Option<PeerError>,
    },
    /// Stopped by SIGINT or SIGTERM while it was being staged.
    Interrupted,
}

/// Stages one peer and logs how it went; every line names the peer, so that the lines of
/// peers staged at the same time can be told apart.
fn stage_and_log(
    p: &Peer,
    target: Option<&Path>,
    daily: &Path,
    site: &PeerSettings<'_>,
    full: bool,
    bar: &ProgressBar,
) -> Ran {
    tracing::info!("Staging peer [{}].", p.name);
    let started = Instant::now();
    let outcome = match target {
        Some(target) => stage_one(p, daily, target, site, full, bar),
        None => Err(PeerError::BadName {
            peer: p.name.clone(),
        }),
    };
    let mut result = PeerResult {
        action: "stage".into(),
        peer: p.name.clone(),
        files: 0,
        bytes: 0,
        success: true,
        skipped: false,
        seconds: 0.0,
        error: None,
    };
    let mut failure = None;
    match outcome {
        Ok(Outcome::Staged(staged)) => {
            tracing::info!("Staged {} files for peer [{}].", staged.files, p.name);
            result.files = staged.files;
            result.bytes = staged.bytes;
        }
        Ok(Outcome::Ignored(reason)) => {
            tracing::info!("Peer [{}] was not ready to be staged.", p.name);
            tracing::debug!("Peer [{}]: {reason}", p.name);
            result.skipped = true;
        }
        Err(PeerError::Interrupted) => return Ran::Interrupted,
        Err(err) => {
            let message = err.full_message();
            match &err {
                PeerError::NotReady { reason, .. } => {
                    tracing::error!("Peer [{}] was not ready to be staged: {reason}", p.name)
                }
                _ => {
                    let own = format!("peer [{}]: ", p.name);
                    let text = message.strip_prefix(&own).unwrap_or(&message);
                    tracing::error!("Error staging [{}]: {text}", p.name)
                }
            }
            result.success = false;
            result.error = Some(message);
            failure = Some(err);
        }
    }
    result.seconds = started.elapsed().as_secs_f64();
    Ran::Ended { result, failure }
}

/// The guarded value, even when a thread panicked while holding it (the record stays usable).
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// Whether `name` can name a directory in the daily directory.
fn usable_name(name: &str) -> bool {
    !name.is_empty() && !name.contains('/') && name != "." && name != ".."
}

enum Outcome {
    Staged(Staged),
    /// Not ready, and its `ignore_failures` says that is fine today.
    Ignored(String),
}

fn stage_one(
    p: &Peer,
    daily: &Path,
    target: &Path,
    site: &PeerSettings<'_>,
    full: bool,
    bar: &ProgressBar,
) -> Result<Outcome, PeerError> {
    tracing::debug!(
        "Ignore failure mode for peer [{}]: {:?}",
        p.name,
        p.ignore_failures
    );
    // Each remote peer's indicator files pass through a directory of its own.
    let scratch = match &p.remote {
        None => None,
        Some(_) => Some(remote::scratch_dir(p, &site.working_dir, site.ids)?),
    };
    let runner = site.runner(scratch.as_ref().map_or(&site.working_dir, |d| d.path()));
    // The ready check, the copy and the push share one ssh connection where they can; it
    // ends (dropped) before the scratch directory that holds its socket is removed.
    let connection = p
        .remote
        .as_ref()
        .and_then(|r| runner.shared_connection(p, r));
    let runner = remote::Runner {
        connection: connection.as_ref(),
        ..runner
    };
    let not_ready = match &p.remote {
        None => local::not_ready(&p.collect_dir),
        Some(_) => remote::not_ready(p, &runner)?,
    };
    if let Some(reason) = not_ready {
        if not_ready_ignored(p.ignore_failures, full, site.starting_day) {
            return Ok(Outcome::Ignored(reason));
        }
        return Err(PeerError::NotReady {
            peer: p.name.clone(),
            reason,
        });
    }
    tracing::debug!("Found collect indicator for peer [{}].", p.name);
    let staged = match &p.remote {
        // A local copy counts its bytes file by file; a remote one as its files grow.
        None => local::stage(p, target, site.owner(), &|n| bar.add_bytes(n))?,
        Some(_) => remote::stage(p, daily, target, &runner, bar)?,
    };
    match &p.remote {
        None => local::write_indicator(p)?,
        Some(_) => remote::push_indicator(p, &runner)?,
    }
    Ok(Outcome::Staged(staged))
}

/// Writes the empty `cback.stage` into the daily directory (owned by the backup user as root).
fn write_daily_indicator(daily: &Path, ids: Option<(Uid, Gid)>) -> Result<(), StageError> {
    let path = daily.join(INDICATOR);
    tracing::debug!("Writing indicator file [{}].", path.display());
    let fail = |source| StageError::DailyIndicator {
        path: path.clone(),
        source,
    };
    std::fs::File::create(&path).map_err(fail)?;
    if let Some((uid, gid)) = ids {
        apply_ownership(&path, uid, gid).map_err(StageError::Owner)?;
    }
    Ok(())
}

/// The stage action.
#[derive(Debug)]
pub struct StageAction;

impl Action for StageAction {
    fn execute(&self, ctx: &ActionContext<'_>) -> Result<(), ActionError> {
        tracing::debug!("Executing the 'stage' action.");
        let request = StageRequest {
            full: ctx.options.full,
            today: Today::current(),
        };
        stage(&ctx.config.config, request, &Progress::for_run(ctx.options))?;
        tracing::info!("Executed the 'stage' action successfully.");
        Ok(())
    }

    fn doctor(&self, ctx: &ActionContext<'_>) -> Vec<cedar_core::CheckResult> {
        let config = &ctx.config.config;
        // Without its settings stage cannot run; the configuration check says why.
        let settings = peer_settings(config, &Today::current()).ok();
        let runner = settings.as_ref().map(|s| s.runner(&s.working_dir));
        super::doctor::check(ctx.config, runner.as_ref())
    }
}

cedar_core::inventory::submit! {
    ActionRegistration {
        name: "stage",
        kind: ActionKind::Builtin,
        placement: Placement { index: 200, run_before: &[], run_after: &[] },
        action: &StageAction,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_peer_name_must_be_a_plain_directory_name() {
        for good in ["host1", "web1.example.com", "127.0.0.1", ".hidden"] {
            assert!(usable_name(good), "{good}");
        }
        for bad in ["", ".", "..", "a/b", "/etc", "../up"] {
            assert!(!usable_name(bad), "{bad}");
        }
    }
}
