//! Staging a remote peer with its rcp command, in the original's form (see [`cedar_core::RemoteCall`]):
//!
//! - ready check: `RCP USER@HOST:COLLECT_DIR/cback.collect SCRATCH/cback.collect`;
//! - copy: `RCP USER@HOST:COLLECT_DIR/* DAILY/.PEER.XXXXXX`, into a fresh hidden directory
//!   beside the peer's staging directory (the original copies into `DAILY/PEER` itself);
//! - indicator: `RCP "SCRATCH/cback.stage" "USER@HOST:COLLECT_DIR/cback.stage"`.
//!
//! SCRATCH is `WORKING_DIR/.PEER.XXXXXX`, the peer's own (the original uses `WORKING_DIR`
//! itself), so that peers staged at the same time never share an indicator file.
//!
//! After the copy exits 0, every file it brought is checked (a regular file; against a staged
//! manifest when there is one), made durable by one `syncfs` of the staging filesystem (where
//! an fsync of each file, one after another, spent most of a run of small files waiting for the
//! disk), handed to the backup user (as root), and renamed into `DAILY/PEER`, which is synced. A copy that fails or is interrupted leaves only the hidden directory, which is
//! removed; no final name ever holds a partial file.
//!
//! The rcp command may be rsync (`rsync -t`, see doc/stage.md): the same three calls, in the
//! same form, work with it. What differs is how it reports: rsync without `-r` skips a
//! subdirectory saying `skipping directory NAME` on standard output and exits 0, where scp
//! exits 1 saying `NAME: not a regular file`; both are [`PeerError::CopySkipped`] after the
//! regular files are staged. rsync's exit statuses 23 (partial transfer) and 24 (files vanished
//! during the copy) fail the peer with nothing staged ([`PeerError::CopyPartial`]): a peer's
//! set of files is staged whole or not at all.

use std::fs::File;
use std::path::{Path, PathBuf};

use nix::unistd::{Gid, Uid};

use super::error::PeerError;
use super::peer::{Peer, Remote};
use super::verify::{check_manifests, manifest_kind};
use super::{Staged, INDICATOR};
use crate::collect::INDICATOR as COLLECT_INDICATOR;
use cedar_core::{
    apply_ownership, command_words, interrupt_requested, ProgressBar, ProgressTally, RemoteCall,
    RemoteCallError, RemoteWord, SharedConnection,
};

/// How the peer's copies are run on this machine.
#[derive(Debug, Clone)]
pub struct Runner<'a> {
    /// `Some(user)` when running as root: every call goes through `su USER -c`.
    pub su_user: Option<&'a str>,
    /// The `su` program.
    pub su_program: &'a str,
    /// Where the indicator files pass through (options working_dir).
    pub working_dir: &'a Path,
    /// backup_user:backup_group for staged files and the copy directory, as root.
    pub owner: Option<(Uid, Gid)>,
    /// The ssh connection the peer's calls share, when its rcp command can share one.
    pub connection: Option<&'a SharedConnection>,
}

impl Runner<'_> {
    fn call(&self, remote: &Remote, tail: Vec<RemoteWord>) -> RemoteCall {
        let mut words = command_words(&remote.rcp_command);
        if let Some(connection) = self.connection {
            words = connection.apply(words);
        }
        words.extend(tail);
        RemoteCall::new(words, self.su_user, self.su_program)
    }

    /// One ssh connection for the calls toward `peer`, its socket in working_dir (the peer's
    /// own directory), when the rcp command is `scp`, `ssh` or rsync over ssh (see
    /// [`cedar_core::SharedConnection`]).
    pub fn shared_connection(&self, peer: &Peer, remote: &Remote) -> Option<SharedConnection> {
        SharedConnection::for_command(
            &command_words(&remote.rcp_command),
            self.working_dir,
            &remote.address(&peer.name),
            self.su_user,
            self.su_program,
        )
    }

    /// The ready-check call for `peer`.
    pub fn ready_call(&self, peer: &Peer, remote: &Remote) -> RemoteCall {
        let source = peer.collect_dir.join(COLLECT_INDICATOR);
        self.call(
            remote,
            vec![
                RemoteWord::Plain(format!(
                    "{}:{}",
                    remote.address(&peer.name),
                    source.display()
                )),
                RemoteWord::Plain(
                    self.working_dir
                        .join(COLLECT_INDICATOR)
                        .display()
                        .to_string(),
                ),
            ],
        )
    }

    /// The copy call for `peer` into `target`.
    pub fn copy_call(&self, peer: &Peer, remote: &Remote, target: &Path) -> RemoteCall {
        self.call(
            remote,
            vec![
                RemoteWord::Glob(remote_collect_dir(peer, remote)),
                RemoteWord::Plain(target.display().to_string()),
            ],
        )
    }

    /// The indicator push for `peer`.
    pub fn push_call(&self, peer: &Peer, remote: &Remote) -> RemoteCall {
        self.call(
            remote,
            vec![
                RemoteWord::Double(self.working_dir.join(INDICATOR).display().to_string()),
                RemoteWord::Double(format!(
                    "{}:{}",
                    remote.address(&peer.name),
                    peer.collect_dir.join(INDICATOR).display()
                )),
            ],
        )
    }
}

/// `USER@HOST:COLLECT_DIR`, the peer's collect directory as the copy and the doctor's probe
/// name it.
fn remote_collect_dir(peer: &Peer, remote: &Remote) -> String {
    format!(
        "{}:{}",
        remote.address(&peer.name),
        peer.collect_dir.display()
    )
}

fn remote_of(peer: &Peer) -> &Remote {
    peer.remote
        .as_ref()
        .expect("the remote stage functions are called for remote peers")
}

/// Why a remote peer is not ready, if it is not: its `cback.collect` cannot be copied (an
/// unreachable host counts as not ready). Interrupted is an error of its own.
pub fn not_ready(peer: &Peer, runner: &Runner<'_>) -> Result<Option<String>, PeerError> {
    let remote = remote_of(peer);
    let local = runner.working_dir.join(COLLECT_INDICATOR);
    let _ = std::fs::remove_file(&local);
    let call = runner.ready_call(peer, remote);
    let result = call.run();
    let copied = local.is_file();
    let _ = std::fs::remove_file(&local);
    match result {
        Ok(_) if copied => Ok(None),
        Ok(_) => Ok(Some(format!(
            "`{}` exited 0 but brought no {COLLECT_INDICATOR}",
            call.display()
        ))),
        Err(RemoteCallError::Interrupted { .. }) => Err(PeerError::Interrupted),
        Err(err) => Ok(Some(format!(
            "cannot copy its {COLLECT_INDICATOR}: {err}; check that the host is reachable with the rcp command as the backup user, and that the peer's collect action has finished"
        ))),
    }
}

/// How `cback doctor` reaches a remote peer without leaving anything on it: the rcp command
/// copies the peer's collect directory itself, without `-r`, into a scratch directory of this
/// machine (`WORKING_DIR/.PEER.XXXXXX`, removed afterwards). scp refuses a directory with
/// "not a regular file" and copies nothing, which proves the host, the login and the
/// directory; a missing directory says "No such file or directory" (rsync: exit status 23); a
/// copy program that skips a directory and exits 0 (rsync, "skipping directory") copies
/// nothing either, and creates no target. Nothing is written on the peer.
/// Within `limit`.
pub fn probe(peer: &Peer, runner: &Runner<'_>, limit: std::time::Duration) -> Result<(), String> {
    let remote = remote_of(peer);
    let scratch = peer_dir_in(peer, runner.working_dir, runner.owner, |source| {
        PeerError::Scratch {
            peer: peer.name.clone(),
            working_dir: runner.working_dir.to_path_buf(),
            source,
        }
    })
    .map_err(|err| err.to_string())?;
    let target = scratch.path().join("probe");
    let call = runner.call(
        remote,
        vec![
            RemoteWord::Plain(remote_collect_dir(peer, remote)),
            RemoteWord::Plain(target.display().to_string()),
        ],
    );
    let result = call.run_within(limit);
    let copied_a_file = target.exists();
    drop(scratch);
    match result {
        Ok(_) if copied_a_file => Err(format!(
            "`{}` copied a file: its collect directory {} is not a directory",
            call.display(),
            peer.collect_dir.display()
        )),
        Ok(_) => Ok(()),
        Err(RemoteCallError::Exit { stderr_tail, .. })
            if only_non_regular_skipped(&stderr_tail) =>
        {
            Ok(())
        }
        Err(err) => Err(err.to_string()),
    }
}

/// A directory of the peer's own in working_dir (`WORKING_DIR/.PEER.XXXXXX`, the backup
/// user's as root) through which its indicator files pass, so that peers staged at the same
/// time never share one; removed when dropped.
pub fn scratch_dir(
    peer: &Peer,
    working_dir: &Path,
    owner: Option<(Uid, Gid)>,
) -> Result<tempfile::TempDir, PeerError> {
    remove_stale_dirs(working_dir, &peer.name, "an indicator directory");
    peer_dir_in(peer, working_dir, owner, |source| PeerError::Scratch {
        peer: peer.name.clone(),
        working_dir: working_dir.to_path_buf(),
        source,
    })
}

/// A fresh `PARENT/.PEER.XXXXXX`, the backup user's as root (the calls run as that user, who
/// must be able to write there); removed when dropped. `fail` words a failure to create it.
fn peer_dir_in(
    peer: &Peer,
    parent: &Path,
    owner: Option<(Uid, Gid)>,
    fail: impl FnOnce(std::io::Error) -> PeerError,
) -> Result<tempfile::TempDir, PeerError> {
    let dir = tempfile::Builder::new()
        .prefix(&format!(".{}.", peer.name))
        .rand_bytes(COPY_RANDOM)
        .tempdir_in(parent)
        .map_err(fail)?;
    if let Some((uid, gid)) = owner {
        apply_ownership(dir.path(), uid, gid).map_err(|source| PeerError::Owner {
            peer: peer.name.clone(),
            source,
        })?;
    }
    Ok(dir)
}

/// Removes the peer's directories (`DIR/.PEER.XXXXXX`: `what`) a killed run left behind.
fn remove_stale_dirs(dir: &Path, name: &str, what: &str) {
    let prefix = format!(".{name}.");
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name().to_string_lossy().into_owned();
        let is_ours = file_name.strip_prefix(&prefix).is_some_and(|random| {
            random.len() == COPY_RANDOM && random.bytes().all(|b| b.is_ascii_alphanumeric())
        });
        if is_ours && entry.file_type().is_ok_and(|t| t.is_dir()) {
            match std::fs::remove_dir_all(entry.path()) {
                Ok(()) => tracing::warn!(
                    "Removed {}, {what} left by an earlier run that was killed or crashed.",
                    entry.path().display()
                ),
                Err(err) => tracing::warn!(
                    "Cannot remove {}, {what} left by an earlier run: {err}; remove it by hand.",
                    entry.path().display()
                ),
            }
        }
    }
}

/// The length of the random part of a copy or indicator directory's name.
const COPY_RANDOM: usize = 6;

/// The files the copy brought into `dir`, sorted; anything but a regular file is an error.
fn copied_files(peer: &str, dir: &Path) -> Result<Vec<String>, PeerError> {
    let read_error = |path: &Path, source| PeerError::Read {
        peer: peer.to_string(),
        path: path.to_path_buf(),
        source,
    };
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| read_error(dir, e))? {
        let entry = entry.map_err(|e| read_error(dir, e))?;
        let meta = std::fs::symlink_metadata(entry.path()).map_err(|e| read_error(dir, e))?;
        if !meta.file_type().is_file() {
            return Err(PeerError::NotRegular {
                peer: peer.to_string(),
                path: entry.path(),
            });
        }
        names.push(entry.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    Ok(names)
}

/// Copies the peer's files into `target` (= `DAILY/PEER`) by way of a hidden directory in
/// `daily`.
pub fn stage(
    peer: &Peer,
    daily: &Path,
    target: &Path,
    runner: &Runner<'_>,
    progress: &ProgressBar,
) -> Result<Staged, PeerError> {
    let remote = remote_of(peer);
    remove_stale_dirs(daily, &peer.name, "a partial copy");
    let install_error = |path: &Path, source| PeerError::Install {
        peer: peer.name.clone(),
        path: path.to_path_buf(),
        source,
    };
    let temp = peer_dir_in(peer, daily, runner.owner, |source| PeerError::CopyDir {
        peer: peer.name.clone(),
        daily: daily.to_path_buf(),
        source,
    })?;
    let call = runner.copy_call(peer, remote, temp.path());
    // The bytes as the copy's files grow, for the line on a terminal; at the end otherwise.
    let tally = ProgressTally::default();
    let result = if progress.is_drawn() {
        watch_copy(
            temp.path(),
            &|so_far| tally.grow_to(progress, so_far),
            || call.run(),
        )
    } else {
        call.run()
    };
    // A copy that skipped only what is not a regular file brought every regular file whole:
    // those are staged, as by the original, and the peer still fails.
    let skipped = match result {
        Ok(output) => rsync_skipped(&output.stdout),
        Err(RemoteCallError::Interrupted { .. }) => return Err(PeerError::Interrupted),
        Err(RemoteCallError::Exit { stderr_tail, .. })
            if only_non_regular_skipped(&stderr_tail) =>
        {
            Some(stderr_tail)
        }
        Err(source) => {
            let peer = peer.name.clone();
            return Err(match rsync_partial(&source) {
                Some(code) => PeerError::CopyPartial {
                    peer,
                    vanished: code == RSYNC_VANISHED,
                    source,
                },
                None => PeerError::Copy { peer, source },
            });
        }
    };
    if interrupt_requested() {
        return Err(PeerError::Interrupted);
    }
    let names = copied_files(&peer.name, temp.path())?;
    if names.is_empty() {
        return Err(PeerError::NothingCopied {
            peer: peer.name.clone(),
            command: call.display(),
        });
    }
    let manifest_paths: Vec<_> = names
        .iter()
        .filter_map(|n| manifest_kind(n).map(|kind| (kind, temp.path().join(n))))
        .collect();
    let manifests: Vec<_> = manifest_paths
        .iter()
        .map(|(kind, path)| (*kind, path.as_path()))
        .collect();
    check_manifests(&peer.name, &manifests, &|name| {
        let path = temp.path().join(name);
        path.is_file().then(|| cedar_core::hash_file(&path))
    })?;
    let staged = install(
        &peer.name,
        temp.path(),
        &names,
        target,
        runner.owner,
        &cedar_core::sync_filesystem,
    )?;
    temp.close().map_err(|e| install_error(daily, e))?;
    tally.settle(progress, staged.bytes);
    match skipped {
        None => Ok(staged),
        Some(said) => Err(PeerError::CopySkipped {
            peer: peer.name.clone(),
            files: staged.files,
            command: call.display(),
            said,
        }),
    }
}

/// How often a running copy's directory is measured for the progress line.
const COPY_WATCH_INTERVAL: std::time::Duration = std::time::Duration::from_millis(250);

/// Runs `copy` (the rcp command writing into `dir`) while a thread measures `dir` every
/// [`COPY_WATCH_INTERVAL`], and once more when the copy has ended, and hands `measured` the
/// bytes there; returns the copy's result. The copy program reports nothing as it goes
/// (`scp -q`), so the files it writes are what tells how far it is.
fn watch_copy<R>(dir: &Path, measured: &(dyn Fn(u64) + Sync), copy: impl FnOnce() -> R) -> R {
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        scope.spawn(|| loop {
            // The kernel's one bell: rung when the copy ends (and on an interrupt).
            let ended = cedar_core::wait_until_rung(
                Some(std::time::Instant::now() + COPY_WATCH_INTERVAL),
                &mut || done.load(std::sync::atomic::Ordering::Acquire),
            );
            measured(dir_bytes(dir));
            if ended {
                return;
            }
        });
        let result = copy();
        done.store(true, std::sync::atomic::Ordering::Release);
        cedar_core::ring_interrupt_waiters();
        result
    })
}

/// The bytes of the files directly in `dir` (0 for what cannot be read).
fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir).map_or(0, |entries| {
        entries
            .flatten()
            .filter_map(|e| e.metadata().ok())
            .filter(|m| m.is_file())
            .map(|m| m.len())
            .sum()
    })
}

/// Puts the checked files `names` of the copy directory `copy` in place in `target`: `sync`
/// makes every byte the copy wrote durable first (one `syncfs` of the staging filesystem,
/// rather than one fsync after another); then each file goes to the backup user (as root) and
/// is renamed into `target`, which is synced last.
fn install(
    peer: &str,
    copy: &Path,
    names: &[String],
    target: &Path,
    owner: Option<(Uid, Gid)>,
    sync: &dyn Fn(&Path) -> std::io::Result<()>,
) -> Result<Staged, PeerError> {
    let install_error = |path: &Path, source| PeerError::Install {
        peer: peer.to_string(),
        path: path.to_path_buf(),
        source,
    };
    // The data must be on disk before a name says it is complete.
    sync(copy).map_err(|e| install_error(copy, e))?;
    let mut staged = Staged::default();
    for name in names {
        if interrupt_requested() {
            return Err(PeerError::Interrupted);
        }
        let from = copy.join(name);
        let bytes = std::fs::symlink_metadata(&from)
            .map_err(|e| install_error(&from, e))?
            .len();
        if let Some((uid, gid)) = owner {
            apply_ownership(&from, uid, gid).map_err(|source| PeerError::Owner {
                peer: peer.to_string(),
                source,
            })?;
        }
        let to: PathBuf = target.join(name);
        std::fs::rename(&from, &to).map_err(|e| install_error(&to, e))?;
        staged.files += 1;
        staged.bytes += bytes;
    }
    cedar_core::sync_dir_lenient(target).map_err(|source| PeerError::Write {
        peer: peer.to_string(),
        name: target.display().to_string(),
        source,
    })?;
    Ok(staged)
}

/// Whether a copy that failed with standard error `stderr_tail` failed only because the
/// peer's collect_dir holds something that is not a regular file (scp without `-r` names each
/// such entry, `scp: PATH: not a regular file`, copies the rest whole and exits 1).
fn only_non_regular_skipped(stderr_tail: &str) -> bool {
    let mut lines = stderr_tail
        .split(" | ")
        .flat_map(str::lines)
        .filter(|l| !l.trim().is_empty())
        .peekable();
    lines.peek().is_some() && lines.all(|l| l.trim_end().ends_with(": not a regular file"))
}

/// What an rsync copy that exited 0 said about the entries it skipped (`skipping directory
/// NAME`, `skipping non-regular file "NAME"`, on standard output), joined by ` | `; `None`
/// when it skipped nothing (or was told to keep quiet, `-q`).
fn rsync_skipped(stdout: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(stdout);
    let skipped: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("skipping directory ") || l.starts_with("skipping non-regular "))
        .collect();
    (!skipped.is_empty()).then(|| skipped.join(" | "))
}

/// rsync's exit status for a partial transfer (some file could not be copied).
const RSYNC_PARTIAL: i32 = 23;
/// rsync's exit status for files that vanished from the source during the copy.
const RSYNC_VANISHED: i32 = 24;

/// rsync's exit status 23 or 24, when the copy ended with one of them (scp and ssh never do).
fn rsync_partial(err: &RemoteCallError) -> Option<i32> {
    let RemoteCallError::Exit { status, .. } = err else {
        return None;
    };
    status
        .code()
        .filter(|code| [RSYNC_PARTIAL, RSYNC_VANISHED].contains(code))
}

/// Pushes an empty `cback.stage` into the peer's collect_dir with the rcp command.
pub fn push_indicator(peer: &Peer, runner: &Runner<'_>) -> Result<(), PeerError> {
    let remote = remote_of(peer);
    let local = runner.working_dir.join(INDICATOR);
    let fail = |source: Box<dyn std::error::Error + Send + Sync>| PeerError::Indicator {
        peer: peer.name.clone(),
        source,
    };
    File::create(&local).map_err(|e| fail(Box::new(e)))?;
    let result = runner.push_call(peer, remote).run();
    let _ = std::fs::remove_file(&local);
    match result {
        Ok(_) => Ok(()),
        Err(RemoteCallError::Interrupted { .. }) => Err(PeerError::Interrupted),
        Err(err) => Err(fail(Box::new(err))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer() -> Peer {
        Peer {
            name: "host1".into(),
            collect_dir: "/var/backup/collect".into(),
            ignore_failures: None,
            remote: Some(Remote {
                user: "backup".into(),
                rcp_command: "/usr/bin/scp -B -q -C".into(),
            }),
        }
    }

    #[test]
    fn the_three_calls_have_the_originals_form() {
        let runner = Runner {
            su_user: Some("backup"),
            su_program: "su",
            working_dir: Path::new("/var/cback"),
            owner: None,
            connection: None,
        };
        let p = peer();
        let r = p.remote.as_ref().unwrap();
        assert_eq!(
            runner.ready_call(&p, r).argv()[3],
            "/usr/bin/scp -B -q -C backup@host1:/var/backup/collect/cback.collect /var/cback/cback.collect"
        );
        assert_eq!(
            runner
                .copy_call(&p, r, Path::new("/stage/2026/12/01/.host1.Ab12Z9"))
                .argv()[3],
            "/usr/bin/scp -B -q -C backup@host1:/var/backup/collect/* /stage/2026/12/01/.host1.Ab12Z9"
        );
        assert_eq!(
            runner.push_call(&p, r).argv()[3],
            r#"/usr/bin/scp -B -q -C "/var/cback/cback.stage" "backup@host1:/var/backup/collect/cback.stage""#
        );
    }

    #[test]
    fn a_running_copy_is_measured_as_its_files_grow() {
        let dir = tempfile::tempdir().unwrap();
        let line = ProgressBar::hidden(cedar_core::ProgressMeasure::bytes("stage", "copied"));
        let tally = ProgressTally::default();
        let steps = std::sync::Mutex::new(Vec::new());
        let measured = |so_far: u64| {
            tally.grow_to(&line, so_far);
            steps.lock().unwrap().push(so_far);
        };
        let result = watch_copy(dir.path(), &measured, || {
            for i in 0..4u8 {
                std::fs::write(dir.path().join(format!("f{i}")), vec![i; 1000]).unwrap();
                std::thread::sleep(COPY_WATCH_INTERVAL * 2);
            }
            "done"
        });
        assert_eq!(result, "done");
        let mut steps = steps.into_inner().unwrap();
        let counted = line.bytes();
        assert_eq!(Some(&counted), steps.iter().max());
        assert!(counted <= 4000, "{counted}");
        steps.dedup();
        assert!(
            steps.iter().filter(|&&n| n > 0).count() >= 2,
            "the bytes arrived in steps, while the copy ran: {steps:?}"
        );
    }

    #[test]
    fn a_copy_that_skipped_only_directories_is_told_apart() {
        // scp: exit 1, one line per entry (joined by ` | ` in the error's tail).
        assert!(only_non_regular_skipped(
            "scp: /c/nested: not a regular file | scp: /c/more: not a regular file"
        ));
        assert!(only_non_regular_skipped(
            "scp: /c/nested: not a regular file\nscp: /c/more: not a regular file"
        ));
        assert!(!only_non_regular_skipped(
            "scp: /c/nested: not a regular file | Connection closed by 127.0.0.1"
        ));
        assert!(!only_non_regular_skipped(""));
        // rsync: exit 0, one line per entry on standard output.
        assert_eq!(
            rsync_skipped(b"skipping directory nested\nskipping non-regular file \"link\"\n"),
            Some("skipping directory nested | skipping non-regular file \"link\"".into())
        );
        assert_eq!(rsync_skipped(b""), None);
        assert_eq!(rsync_skipped(b"a.tar\nb.tar\n"), None);
    }

    #[test]
    fn rsyncs_partial_transfers_are_told_apart() {
        let exit = |code: i32| RemoteCallError::Exit {
            command: "rsync".into(),
            status: std::os::unix::process::ExitStatusExt::from_raw(code << 8),
            stderr_tail: String::new(),
        };
        assert_eq!(rsync_partial(&exit(23)), Some(RSYNC_PARTIAL));
        assert_eq!(rsync_partial(&exit(24)), Some(RSYNC_VANISHED));
        assert_eq!(rsync_partial(&exit(1)), None);
        assert_eq!(rsync_partial(&exit(255)), None);
        assert_eq!(
            rsync_partial(&RemoteCallError::Interrupted {
                command: "rsync".into()
            }),
            None
        );
    }

    use cedar_core::dir_names as names_in;

    #[test]
    fn the_copy_is_synced_before_any_file_takes_its_final_name() {
        let copy = tempfile::tempdir().unwrap();
        let target = tempfile::tempdir().unwrap();
        std::fs::write(copy.path().join("a.tar"), b"alpha").unwrap();
        std::fs::write(copy.path().join("b.tar"), b"bravo!").unwrap();
        let names = vec!["a.tar".to_string(), "b.tar".to_string()];
        // What the sync saw: the directory it was given, and what was in place at that moment.
        let calls = std::sync::Mutex::new(Vec::new());
        let sync = |dir: &Path| {
            calls
                .lock()
                .unwrap()
                .push((dir.to_path_buf(), names_in(target.path()), names_in(dir)));
            Ok(())
        };
        let staged = install("p", copy.path(), &names, target.path(), None, &sync).unwrap();
        assert_eq!((staged.files, staged.bytes), (2, 11));
        assert_eq!(
            *calls.lock().unwrap(),
            [(
                copy.path().to_path_buf(),
                Vec::<String>::new(),
                names.clone()
            )]
        );
        assert_eq!(names_in(target.path()), names);
        assert_eq!(
            std::fs::read(target.path().join("a.tar")).unwrap(),
            b"alpha"
        );
        assert_eq!(
            std::fs::read(target.path().join("b.tar")).unwrap(),
            b"bravo!"
        );
        assert!(names_in(copy.path()).is_empty());
    }

    #[test]
    fn a_failed_sync_puts_nothing_in_place() {
        let copy = tempfile::tempdir().unwrap();
        let target = tempfile::tempdir().unwrap();
        std::fs::write(copy.path().join("a.tar"), b"alpha").unwrap();
        // EIO, what a failing disk gives.
        let failing = |_: &Path| Err(std::io::Error::from(nix::errno::Errno::EIO));
        let err = install(
            "p",
            copy.path(),
            &["a.tar".to_string()],
            target.path(),
            None,
            &failing,
        )
        .unwrap_err();
        assert!(matches!(err, PeerError::Install { .. }), "{err}");
        assert!(names_in(target.path()).is_empty());
        assert_eq!(names_in(copy.path()), ["a.tar"]);
        // The real sync works on a real directory.
        install(
            "p",
            copy.path(),
            &["a.tar".to_string()],
            target.path(),
            None,
            &cedar_core::sync_filesystem,
        )
        .unwrap();
        assert_eq!(names_in(target.path()), ["a.tar"]);
    }

    #[test]
    fn only_our_copy_directories_are_removed() {
        let daily = tempfile::tempdir().unwrap();
        for dir in [
            ".host1.Ab12Z9",
            ".host1.toolongname",
            "host1",
            ".host2.Ab12Z9",
        ] {
            std::fs::create_dir(daily.path().join(dir)).unwrap();
        }
        std::fs::write(daily.path().join(".host1.Ab12Z9/partial"), "x").unwrap();
        remove_stale_dirs(daily.path(), "host1", "a partial copy");
        let mut left: Vec<String> = std::fs::read_dir(daily.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(left, [".host1.toolongname", ".host2.Ab12Z9", "host1"]);
    }
}
