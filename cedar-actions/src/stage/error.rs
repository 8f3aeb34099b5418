//! Errors of the stage action: [`PeerError`] says why one peer failed, [`StageError`] is what the
//! action reports. Messages name the peer, the path or the command, and say what to do next.

use std::path::PathBuf;

use cedar_core::{
    AtomicError, ManifestError, ManifestKind, ManifestProblem, OwnershipError, RemoteCallError,
};

/// Why one peer was not staged (or not completely).
#[derive(Debug, thiserror::Error)]
pub enum PeerError {
    #[error("peer [{peer}]: its name cannot be the name of its staging directory (it holds `/` or is `.` or `..`); rename the peer")]
    BadName { peer: String },
    #[error("peer [{peer}] was not ready to be staged: {reason}")]
    NotReady { peer: String, reason: String },
    #[error("peer [{peer}]: {} is not a regular file; stage copies only the regular files directly in collect_dir, so move it out of there", path.display())]
    NotRegular { peer: String, path: PathBuf },
    #[error("peer [{peer}]: cannot read {}; check its permissions", path.display())]
    Read {
        peer: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("peer [{peer}]: cannot stage {name}")]
    Write {
        peer: String,
        name: String,
        #[source]
        source: AtomicError,
    },
    #[error("peer [{peer}]: the copy failed, nothing of this run was staged for it; check that the host is reachable with the rcp command as the backup user")]
    Copy {
        peer: String,
        #[source]
        source: RemoteCallError,
    },
    #[error("peer [{peer}]: the copy skipped what is not a regular file in the peer's collect_dir (stage copies no directory); the {files} regular file(s) it brought were staged, as the original does, and no cback.stage was pushed. Move the subdirectory out of collect_dir and stage again. `{command}` said: {said}")]
    CopySkipped {
        peer: String,
        files: u64,
        command: String,
        /// What the copy program said about the entries it skipped.
        said: String,
    },
    #[error("peer [{peer}]: {}; nothing of this run was staged for it", partial_message(*vanished))]
    CopyPartial {
        peer: String,
        /// rsync's exit status 24 (files vanished), else 23 (partial transfer).
        vanished: bool,
        #[source]
        source: RemoteCallError,
    },
    #[error("peer [{peer}]: the copy `{command}` brought no file; check the peer's collect_dir")]
    NothingCopied { peer: String, command: String },
    #[error("peer [{peer}]: {}", manifest_message(kind, problems))]
    Manifest {
        peer: String,
        kind: &'static ManifestKind,
        problems: Vec<ManifestProblem>,
    },
    #[error("peer [{peer}]: the staged {} cannot be used, so its dumps cannot be checked; nothing of this run was staged for it", kind.file)]
    ManifestUnreadable {
        peer: String,
        kind: &'static ManifestKind,
        #[source]
        source: ManifestError,
    },
    #[error("peer [{peer}]: cannot create the directory its copy lands in, inside {}; nothing was copied for it. Check that the daily staging directory is writable by this user and has free space", daily.display())]
    CopyDir {
        peer: String,
        daily: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("peer [{peer}]: cannot create the directory its indicator files pass through, inside {}; nothing was copied for it. Check that working_dir exists and is writable by this user", working_dir.display())]
    Scratch {
        peer: String,
        working_dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("peer [{peer}]: cannot put {} in place; check the staging directory's permissions and free space", path.display())]
    Install {
        peer: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("peer [{peer}]: cannot hand the staged files to the backup user")]
    Owner {
        peer: String,
        #[source]
        source: OwnershipError,
    },
    #[error(
        "peer [{peer}]: its files were staged, but its cback.stage indicator could not be written"
    )]
    Indicator {
        peer: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },
    #[error("interrupted")]
    Interrupted,
}

/// What an rsync copy that exited 23 or 24 means, and what to do.
fn partial_message(vanished: bool) -> &'static str {
    if vanished {
        "files vanished from the peer's collect_dir during the copy (rsync's exit status 24): something changed the directory meanwhile, its collect action or a clean-up still running; stage again once the peer's collect action has finished"
    } else {
        "the copy could not transfer every file (rsync's exit status 23, a partial transfer); its words below name which and why (often a file the backup user cannot read on the peer): fix that on the peer and stage again"
    }
}

/// Names the manifest's file and, from its kind, the action that writes it.
fn manifest_message(kind: &ManifestKind, problems: &[ManifestProblem]) -> String {
    let mut text = format!(
        "{} staged file(s) do not match the {} staged with them, so nothing of this run was staged for it; run the peer's {} and collect actions again, then stage again",
        problems.len(),
        kind.file,
        kind.action
    );
    for problem in problems {
        text.push_str("\n  - ");
        text.push_str(&problem.to_string());
    }
    text
}

impl PeerError {
    /// The peer the error is about (none for an interrupt).
    pub fn peer(&self) -> Option<&str> {
        match self {
            PeerError::BadName { peer }
            | PeerError::NotReady { peer, .. }
            | PeerError::NotRegular { peer, .. }
            | PeerError::Read { peer, .. }
            | PeerError::Write { peer, .. }
            | PeerError::Copy { peer, .. }
            | PeerError::CopySkipped { peer, .. }
            | PeerError::CopyPartial { peer, .. }
            | PeerError::NothingCopied { peer, .. }
            | PeerError::Manifest { peer, .. }
            | PeerError::ManifestUnreadable { peer, .. }
            | PeerError::CopyDir { peer, .. }
            | PeerError::Scratch { peer, .. }
            | PeerError::Install { peer, .. }
            | PeerError::Owner { peer, .. }
            | PeerError::Indicator { peer, .. } => Some(peer),
            PeerError::Interrupted => None,
        }
    }

    /// The error with its causes, on one line per cause chain, for logs and the final report.
    pub fn full_message(&self) -> String {
        cedar_core::error_chain(self)
    }
}

/// Why the stage action failed.
#[derive(Debug, thiserror::Error)]
pub enum StageError {
    #[error("the stage action needs {missing} in the configuration; add it and run again")]
    Incomplete { missing: &'static str },
    #[error("cannot hand the staging directories to their owner: {0}")]
    Owner(#[source] OwnershipError),
    #[error("cannot create the daily staging directory {}; check that staging_dir exists and is writable", path.display())]
    Daily {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write the indicator {}; check the staging directory's permissions", path.display())]
    DailyIndicator {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot record the peers' outcomes in the daily directory; check the staging directory's permissions")]
    Record {
        #[source]
        source: cedar_core::StageRecordError,
    },
    #[error("{}", peers_message(failures, *attempted, daily_indicator.as_deref()))]
    Peers {
        attempted: usize,
        failures: Vec<PeerError>,
        /// The daily `cback.stage` could not be written either.
        daily_indicator: Option<Box<StageError>>,
    },
    /// Stopped by SIGINT or SIGTERM at `peer` (and `also`, staged at the same time); `before`
    /// had ended, `after` never started.
    #[error("{}", interrupted_message(peer, also, *copying, before, after))]
    Interrupted {
        peer: String,
        also: Vec<String>,
        /// Whether the peer's copy had begun (else the signal came just before it).
        copying: bool,
        before: Vec<String>,
        after: Vec<String>,
    },
}

/// What an interrupt left as it was, as a phrase that follows "interrupted while".
fn interrupted_message(
    peer: &str,
    also: &[String],
    copying: bool,
    before: &[String],
    after: &[String],
) -> String {
    let mut text = if copying && also.is_empty() {
        format!(
            "staging peer [{peer}]: what this run had copied for it and not yet put in place was removed (files already put in place stay, each complete), and its cback.stage was not written, so it is staged again next time"
        )
    } else if copying {
        let others: Vec<String> = also.iter().map(|p| format!("[{p}]")).collect();
        format!(
            "staging peer [{peer}] and, at the same time, {}: what this run had copied for each of them and not yet put in place was removed (files already put in place stay, each complete), and their cback.stage was not written, so they are staged again next time",
            others.join(", ")
        )
    } else {
        format!("about to stage peer [{peer}]: nothing of this run was copied for it")
    };
    if before.is_empty() {
        text.push_str("; it was the first peer");
    } else {
        text.push_str(&format!(
            "; the peers before it were staged or failed as logged ({})",
            before.join(", ")
        ));
    }
    if !after.is_empty() {
        text.push_str(&format!("; not started: {}", after.join(", ")));
    }
    text.push_str("; the daily cback.stage was not written. Run stage again to finish");
    text
}

fn peers_message(
    failures: &[PeerError],
    attempted: usize,
    daily_indicator: Option<&StageError>,
) -> String {
    let names: Vec<&str> = failures.iter().filter_map(PeerError::peer).collect();
    let mut text = if failures.len() == attempted {
        format!("all {attempted} peers failed ({})", names.join(", "))
    } else {
        format!(
            "{} of {attempted} peers failed ({}); the other peers were staged",
            failures.len(),
            names.join(", ")
        )
    };
    for failure in failures {
        text.push_str("\n- ");
        text.push_str(&failure.full_message());
    }
    if let Some(err) = daily_indicator {
        text.push_str("\n- ");
        text.push_str(&cedar_core::error_chain(err));
    }
    text
}

impl From<StageError> for cedar_core::ActionError {
    fn from(err: StageError) -> Self {
        match err {
            StageError::Interrupted { .. } => {
                cedar_core::ActionError::InterruptedWhile(err.to_string())
            }
            StageError::Peers { .. } => cedar_core::ActionError::failed(err.to_string()),
            other => {
                let message = other.to_string();
                cedar_core::ActionError::with_source(message, other)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_interrupt_names_every_peer_it_stopped() {
        let names = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let message = |peer: &str, also: &[&str], before: &[&str], after: &[&str]| {
            StageError::Interrupted {
                peer: peer.into(),
                also: names(also),
                copying: true,
                before: names(before),
                after: names(after),
            }
            .to_string()
        };
        let one = message("b", &[], &["a"], &["c"]);
        assert!(
            one.starts_with("staging peer [b]: what this run had copied for it")
                && one.contains("the peers before it were staged or failed as logged (a)")
                && one.contains("not started: c"),
            "{one}"
        );
        let several = message("a", &["b", "c"], &[], &["d"]);
        assert!(
            several.starts_with("staging peer [a] and, at the same time, [b], [c]: what this run had copied for each of them")
                && several.contains("it was the first peer")
                && several.contains("not started: d"),
            "{several}"
        );
    }
}
