//! Incremental selection with memory that does not grow with the tree.
//!
//! The original keeps every path and digest of an entry in memory (a Python dict). Here every
//! per-file list lives in unnamed temporary files in working_dir (a killed run leaves none),
//! and memory holds only bounded buffers: sort chunks ([`Limits`]), channel windows and one
//! read buffer per file.
//!
//! 1. [`scan`]: the walk's items are numbered in walk order and logged; files are hashed on
//!    all cores and their digests go into a sorter by path; links, and files that cannot be
//!    read (so that the archive step reports them), go in without a digest: they are always
//!    selected.
//! 2. [`previous`]: the previous state (a pickle, in whatever order) goes into a sorter by path.
//! 3. [`compare`]: the two sorted lists are merged. A path whose digest is new or differs
//!    from the previous one is selected, and the new state is written in path order (the last
//!    occurrence of a path wins, as in the original's dict). A path the walk met more than
//!    once (through a directory link and a file link) is selected once, at its first
//!    occurrence: the original rebuilds its list from the dict's keys.
//! 4. [`Replay`]: the log is read back in walk order and yields the selected items, so the
//!    archive lists them in the order the original does.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Seek, SeekFrom, Write};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};

use super::digest::hash_file;
use super::error::CollectError;
use super::sort::{
    read_bytes, read_first_bytes, read_start, read_u64, write_bytes, Limits, Record, Sorted, Sorter,
};
use super::walk::{self, Item, ItemKind, WalkReport};
use cedar_core::{PickleDictReader, PickleError};

const LOG_BUFFER: usize = 256 << 10;

/// A file's digest as the sorters carry it, ordered by path, then by walk number.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Digested {
    /// Raw path bytes.
    pub path: Vec<u8>,
    /// The item's number in walk order (for the previous state: the pair's position).
    pub seq: u64,
    /// Lowercase hex SHA-1; empty for a link or a file that could not be read, which is
    /// always selected and kept out of the state.
    pub digest: Vec<u8>,
    /// Bytes read while hashing.
    pub size: u64,
}

impl Digested {
    /// A link, or a file that could not be read: always selected, kept out of the state.
    fn undigested(path: PathBuf, seq: u64) -> Digested {
        Digested {
            path: path.into_os_string().into_vec(),
            seq,
            digest: Vec::new(),
            size: 0,
        }
    }
}

impl Record for Digested {
    fn encode(&self, out: &mut Vec<u8>) {
        write_bytes(&self.path, out);
        out.extend_from_slice(&self.seq.to_le_bytes());
        write_bytes(&self.digest, out);
        out.extend_from_slice(&self.size.to_le_bytes());
    }
    fn decode(input: &mut impl BufRead) -> io::Result<Option<Self>> {
        let Some(path) = read_first_bytes(input)? else {
            return Ok(None);
        };
        let seq = read_u64(input)?;
        let digest = read_bytes(input)?;
        let size = read_u64(input)?;
        Ok(Some(Digested {
            path,
            seq,
            digest,
            size,
        }))
    }
    fn heap_bytes(&self) -> usize {
        self.path.capacity() + self.digest.capacity()
    }
}

fn write_item(item: &Item, out: &mut impl Write) -> io::Result<()> {
    let kind = match item.kind {
        ItemKind::File => 0u8,
        ItemKind::Link => 1u8,
    };
    let mut record = vec![kind];
    write_bytes(item.path.as_os_str().as_bytes(), &mut record);
    out.write_all(&record)
}

fn read_item(input: &mut impl BufRead) -> io::Result<Option<Item>> {
    let mut kind = [0u8; 1];
    if !read_start(input, &mut kind)? {
        return Ok(None);
    }
    let kind = match kind[0] {
        0 => ItemKind::File,
        1 => ItemKind::Link,
        other => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("unknown item kind {other} in the walk log"),
            ))
        }
    };
    let path = PathBuf::from(std::ffi::OsString::from_vec(read_bytes(input)?));
    Ok(Some(Item { path, kind }))
}

/// What the walk found, on disk.
#[derive(Debug)]
pub struct Scan {
    /// Every selected item, in walk order (for [`Replay::new`]).
    pub log: File,
    /// Every item by path: files with their digest, links and files that could not be
    /// read without one.
    pub digests: Sorted<Digested>,
    /// The walk's report (unreadable directories, whether it was stopped).
    pub report: WalkReport,
}

/// State shared by the hashing threads.
struct Shared {
    digests: Sorter<Digested>,
    error: Option<io::Error>,
}

impl Shared {
    fn failed(&mut self, err: io::Error) {
        self.error.get_or_insert(err);
    }
}

/// Walks on a thread of its own (`walk_fn`, handed the sink of selected paths), logs every
/// item and hashes the files on `threads` threads. `scratch` holds the temporary files.
pub fn scan<W>(
    scratch: &Path,
    limits: Limits,
    threads: usize,
    root: &Path,
    walk_fn: W,
) -> Result<Scan, CollectError>
where
    W: walk::WalkFn,
{
    let fail = |source| CollectError::Scratch {
        dir: scratch.to_path_buf(),
        source,
    };
    let mut log =
        BufWriter::with_capacity(LOG_BUFFER, tempfile::tempfile_in(scratch).map_err(fail)?);
    let shared = Arc::new(Mutex::new(Shared {
        digests: Sorter::new(scratch, limits),
        error: None,
    }));
    let mut log_error = None;
    let report = std::thread::scope(|scope| {
        let (item_rx, walker) = walk::spawn(scope, root, walk_fn)?;
        let threads = threads.max(1);
        let (job_tx, job_rx) = mpsc::sync_channel::<(u64, PathBuf)>(threads * 64);
        // Only the hashers own the receiver: when they all stop, sending fails instead of
        // blocking.
        let job_rx = Arc::new(Mutex::new(job_rx));
        let hashers: Vec<_> = (0..threads)
            .map(|_| {
                let jobs = Arc::clone(&job_rx);
                let shared = Arc::clone(&shared);
                scope.spawn(move || hash_jobs(&jobs, &shared))
            })
            .collect();
        drop(job_rx);
        for (number, item) in (0u64..).zip(item_rx.iter()) {
            if let Err(err) = write_item(&item, &mut log) {
                log_error = Some(err);
                break;
            }
            match item.kind {
                ItemKind::File => {
                    if job_tx.send((number, item.path)).is_err() {
                        break;
                    }
                }
                ItemKind::Link => {
                    let Ok(mut shared) = shared.lock() else { break };
                    let link = Digested::undigested(item.path, number);
                    if let Err(err) = shared.digests.push(link) {
                        shared.failed(err);
                        break;
                    }
                }
            }
        }
        // Stops the walker (its sends fail) and lets the hashers finish the queue.
        drop(item_rx);
        drop(job_tx);
        let mut hasher_panic = None;
        for hasher in hashers {
            if let Err(payload) = hasher.join() {
                hasher_panic.get_or_insert_with(|| super::panic_message(payload.as_ref()));
            }
        }
        let report = walker.join()?;
        // A file a panicking hasher held would be missing from both the archive and the state.
        match hasher_panic {
            Some(message) => Err(CollectError::WalkPanicked {
                path: root.to_path_buf(),
                message: format!("a hashing thread panicked: {message}"),
            }),
            None => Ok(report),
        }
    })?;
    if let Some(err) = log_error {
        return Err(fail(err));
    }
    let shared = Arc::try_unwrap(shared)
        .ok()
        .and_then(|m| m.into_inner().ok())
        .ok_or_else(|| fail(io::Error::other("a hashing thread failed")))?;
    if let Some(err) = shared.error {
        return Err(fail(err));
    }
    if cedar_core::interrupt_requested() || report.stopped {
        return Err(CollectError::Interrupted);
    }
    let mut log = log.into_inner().map_err(|e| fail(e.into_error()))?;
    log.seek(SeekFrom::Start(0)).map_err(fail)?;
    Ok(Scan {
        log,
        digests: shared.digests.finish().map_err(fail)?,
        report,
    })
}

/// A hashing thread: takes (number, path) jobs until there are none or the run is stopped.
fn hash_jobs(jobs: &Mutex<Receiver<(u64, PathBuf)>>, shared: &Mutex<Shared>) {
    let mut buf = vec![0u8; 256 << 10];
    loop {
        if cedar_core::interrupt_requested() {
            return;
        }
        let job = match jobs.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok((seq, path)) = job else { return };
        let hashed = hash_file(&path, &mut buf);
        let Ok(mut shared) = shared.lock() else {
            return;
        };
        if shared.error.is_some() {
            return;
        }
        let pushed = match hashed {
            Ok((digest, size)) => shared.digests.push(Digested {
                path: path.into_os_string().into_vec(),
                seq,
                digest,
                size,
            }),
            Err(err) => {
                tracing::debug!("Cannot compute the digest of [{}]: {err}.", path.display());
                shared.digests.push(Digested::undigested(path, seq))
            }
        };
        if let Err(err) = pushed {
            shared.failed(err);
            return;
        }
    }
}

/// The previous state in `path` (a pickle; missing means empty), sorted by path. A file that
/// cannot be read or decoded is logged as an error and taken as empty, as the original does:
/// every file of the entry then counts as changed. Only a failure of the temporary files in
/// `scratch` is an error.
///
/// The pickle is read without a memo (no copy of its strings on disk), which is enough for
/// what the original and we write; one that refers back to a memoized value is read again
/// with the memo spilled to `scratch`.
pub fn previous(path: &Path, scratch: &Path, limits: Limits) -> io::Result<Sorted<Digested>> {
    let empty = || Sorter::new(scratch, limits).finish();
    let open = || match File::open(path) {
        Ok(file) => Ok(Some(BufReader::with_capacity(LOG_BUFFER, file))),
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            tracing::debug!("Digest [{}] does not exist yet.", path.display());
            Ok(None)
        }
        Err(err) => Err(err),
    };
    let mut memo = false;
    loop {
        let reader = match open() {
            Ok(Some(reader)) => reader,
            Ok(None) => return empty(),
            Err(err) => {
                unreadable_state(path, &err);
                return empty();
            }
        };
        let reader = if memo {
            PickleDictReader::new(reader, scratch)
        } else {
            PickleDictReader::without_memo(reader)
        };
        match load_pairs(reader, scratch, limits) {
            Ok((sorted, entries)) => {
                tracing::debug!(
                    "Loaded digest [{}] from disk: {entries} entries.",
                    path.display()
                );
                return Ok(sorted);
            }
            Err(Load::Scratch(err)) => return Err(err),
            Err(Load::Pickle(PickleError::NeedsMemo { .. })) if !memo => {
                tracing::debug!(
                    "Digest [{}] refers back to memoized values; reading it again with a memo.",
                    path.display()
                );
                memo = true;
            }
            Err(Load::Pickle(err)) => {
                unreadable_state(path, &err);
                return empty();
            }
        }
    }
}

/// Why [`load_pairs`] failed.
enum Load {
    /// The temporary files in working_dir failed: the run fails.
    Scratch(io::Error),
    /// The state cannot be read: it is taken as empty.
    Pickle(PickleError),
}

/// Every pair of `reader`, sorted by path, and their number.
fn load_pairs<R: BufRead>(
    mut reader: PickleDictReader<R>,
    scratch: &Path,
    limits: Limits,
) -> Result<(Sorted<Digested>, u64), Load> {
    let mut sorter = Sorter::new(scratch, limits);
    let mut seq = 0u64;
    loop {
        if seq % 65_536 == 65_535 && cedar_core::interrupt_requested() {
            return Err(Load::Scratch(interrupted()));
        }
        match reader.next_pair() {
            Ok(Some((path, digest))) => {
                sorter
                    .push(Digested {
                        path,
                        seq,
                        digest,
                        size: 0,
                    })
                    .map_err(Load::Scratch)?;
                seq += 1;
            }
            Ok(None) => break,
            // The memo could not be kept in `scratch`: working_dir's failure, not the state's.
            // Taking the state as empty would archive the whole entry and let the run succeed.
            Err(PickleError::Spill(err)) => return Err(Load::Scratch(err)),
            Err(err) => return Err(Load::Pickle(err)),
        }
    }
    Ok((sorter.finish().map_err(Load::Scratch)?, seq))
}

/// The error that stands for an interrupt requested while the bookkeeping was read or merged;
/// see [`is_interrupt`].
fn interrupted() -> io::Error {
    io::Error::new(io::ErrorKind::Interrupted, "interrupted")
}

/// Whether `err` stopped the work because an interrupt was requested.
pub fn is_interrupt(err: &io::Error) -> bool {
    err.kind() == io::ErrorKind::Interrupted && cedar_core::interrupt_requested()
}

fn unreadable_state(path: &Path, cause: &dyn std::fmt::Display) {
    tracing::error!(
        "Failed loading digest [{}] from disk: {cause}; every file of this entry is taken as \
         changed (the file is replaced when the run succeeds).",
        path.display()
    );
}

/// What [`compare`] found.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Compared {
    /// Paths of files selected because their digest is new or differs.
    pub changed: u64,
    /// Bytes of those files.
    pub changed_bytes: u64,
    /// Paths of files left out because their digest is unchanged.
    pub unchanged: u64,
    /// Entries of the new state.
    pub entries: u64,
}

/// Why [`compare`] failed: reading the sorted lists, or writing the new state.
#[derive(Debug)]
pub enum CompareError {
    Scratch(io::Error),
    State(io::Error),
}

/// Merges the new digests with the previous state (both sorted by path, then number): pushes
/// into `selected` the first number of every path that is changed (its newest digest is new or
/// differs, or it has none: a link or an unreadable file), and hands each path's newest
/// digest, in path order, to `state`. A path met more than once is selected once, as the
/// original's list rebuilt from its dict's keys.
pub fn compare(
    digests: impl Iterator<Item = io::Result<Digested>>,
    previous: impl Iterator<Item = io::Result<Digested>>,
    mut state: impl FnMut(&[u8], &[u8]) -> io::Result<()>,
    selected: &mut Sorter<u64>,
) -> Result<Compared, CompareError> {
    let mut previous = previous.peekable();
    let mut out = Compared::default();
    let mut current: Option<Current> = None;
    for (n, next) in digests.enumerate() {
        if n % 65_536 == 65_535 && cedar_core::interrupt_requested() {
            return Err(CompareError::Scratch(interrupted()));
        }
        let Digested {
            path,
            seq,
            digest,
            size,
        } = next.map_err(CompareError::Scratch)?;
        if let Some(current) = current.as_mut().filter(|c| c.path == path) {
            current.add(digest, size);
            continue;
        }
        if let Some(done) = current.take() {
            done.finish(&mut state, selected, &mut out)?;
        }
        let old = previous_digest(&mut previous, &path).map_err(CompareError::Scratch)?;
        let mut started = Current {
            path,
            old,
            first_seq: seq,
            newest: None,
            undigested: false,
        };
        started.add(digest, size);
        current = Some(started);
    }
    if let Some(done) = current {
        done.finish(&mut state, selected, &mut out)?;
    }
    Ok(out)
}

/// The path being merged: its previous digest, its first number and its newest digest.
struct Current {
    path: Vec<u8>,
    old: Option<Vec<u8>>,
    first_seq: u64,
    /// The newest digest and size of the path as a file.
    newest: Option<(Vec<u8>, u64)>,
    /// Whether the walk met it as a link or an unreadable file.
    undigested: bool,
}

impl Current {
    fn add(&mut self, digest: Vec<u8>, size: u64) {
        if digest.is_empty() {
            self.undigested = true;
        } else {
            self.newest = Some((digest, size));
        }
    }

    /// Selects the path if it changed and hands its newest digest to `state`.
    fn finish(
        self,
        state: &mut impl FnMut(&[u8], &[u8]) -> io::Result<()>,
        selected: &mut Sorter<u64>,
        out: &mut Compared,
    ) -> Result<(), CompareError> {
        let changed = match &self.newest {
            Some((digest, size)) if self.old.as_deref() != Some(digest.as_slice()) => {
                out.changed += 1;
                out.changed_bytes += size;
                true
            }
            Some(_) => {
                out.unchanged += 1;
                false
            }
            None => false,
        };
        if changed || self.undigested {
            selected
                .push(self.first_seq)
                .map_err(CompareError::Scratch)?;
        }
        if let Some((digest, _)) = &self.newest {
            state(&self.path, digest).map_err(CompareError::State)?;
            out.entries += 1;
        }
        Ok(())
    }
}

/// The previous digest of `path` (the last of its pairs), skipping the paths before it.
fn previous_digest(
    previous: &mut std::iter::Peekable<impl Iterator<Item = io::Result<Digested>>>,
    path: &[u8],
) -> io::Result<Option<Vec<u8>>> {
    let mut found = None;
    loop {
        let order = match previous.peek() {
            None => return Ok(found),
            Some(Ok(entry)) => entry.path.as_slice().cmp(path),
            Some(Err(_)) => match previous.next() {
                Some(Err(err)) => return Err(err),
                _ => continue,
            },
        };
        match order {
            std::cmp::Ordering::Less => {
                previous.next();
            }
            std::cmp::Ordering::Equal => {
                if let Some(Ok(entry)) = previous.next() {
                    found = Some(entry.digest);
                }
            }
            std::cmp::Ordering::Greater => return Ok(found),
        }
    }
}

/// The selected items, read back from the log in walk order. A failure to read ends the
/// items early and is kept in [`Replay::error`]: the archive must then be discarded.
#[derive(Debug)]
pub struct Replay {
    log: BufReader<File>,
    selected: Sorted<u64>,
    next_selected: Option<u64>,
    seq: u64,
    /// Why the items ended early, if they did.
    pub error: Option<io::Error>,
}

impl Replay {
    /// The items of `scan`'s log whose numbers are in `selected`.
    pub fn new(log: File, mut selected: Sorted<u64>) -> io::Result<Replay> {
        let next_selected = selected.next().transpose()?;
        Ok(Replay {
            log: BufReader::with_capacity(LOG_BUFFER, log),
            selected,
            next_selected,
            seq: 0,
            error: None,
        })
    }
}

impl Iterator for Replay {
    type Item = Item;

    fn next(&mut self) -> Option<Item> {
        loop {
            let wanted = self.next_selected?;
            let item = match read_item(&mut self.log) {
                Ok(Some(item)) => item,
                Ok(None) => {
                    self.error = Some(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the walk log ended before a selected item",
                    ));
                    return None;
                }
                Err(err) => {
                    self.error = Some(err);
                    return None;
                }
            };
            let seq = self.seq;
            self.seq += 1;
            if seq < wanted {
                continue;
            }
            match self.selected.next().transpose() {
                Ok(next) => self.next_selected = next,
                Err(err) => {
                    self.error = Some(err);
                    return None;
                }
            }
            return Some(item);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ops::ControlFlow;

    fn d(path: &str, seq: u64, digest: &str) -> Digested {
        Digested {
            path: path.as_bytes().to_vec(),
            seq,
            digest: digest.as_bytes().to_vec(),
            size: 10,
        }
    }

    fn run_compare(
        new: Vec<Digested>,
        old: Vec<Digested>,
    ) -> (Compared, Vec<u64>, Vec<(String, String)>) {
        let dir = tempfile::tempdir().unwrap();
        let mut selected = Sorter::new(dir.path(), Limits::default());
        let mut state = Vec::new();
        let out = compare(
            new.into_iter().map(Ok),
            old.into_iter().map(Ok),
            |k, v| {
                state.push((
                    String::from_utf8(k.to_vec()).unwrap(),
                    String::from_utf8(v.to_vec()).unwrap(),
                ));
                Ok(())
            },
            &mut selected,
        )
        .unwrap();
        let selected = selected
            .finish()
            .unwrap()
            .collect::<io::Result<Vec<u64>>>()
            .unwrap();
        (out, selected, state)
    }

    #[test]
    fn new_and_changed_files_are_selected_and_the_state_is_in_path_order() {
        let (out, selected, state) = run_compare(
            vec![
                d("/a", 3, "1"),
                d("/b", 0, "2"),
                d("/c", 1, "3"),
                d("/e", 2, "5"),
            ],
            vec![
                d("/0", 0, "x"),
                d("/a", 1, "1"),
                d("/b", 2, "9"),
                d("/d", 3, "4"),
            ],
        );
        assert_eq!(selected, [0, 1, 2], "/b changed, /c and /e are new");
        assert_eq!(
            out,
            Compared {
                changed: 3,
                changed_bytes: 30,
                unchanged: 1,
                entries: 4
            }
        );
        let names: Vec<&str> = state.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            names,
            ["/a", "/b", "/c", "/e"],
            "gone paths leave the state"
        );
    }

    #[test]
    fn the_last_pair_of_a_path_wins_on_both_sides() {
        // The previous pickle held /a twice (the second wins, as in a Python dict); the walk
        // met /a twice (dereferenced), and its newest digest goes into the state.
        let (out, selected, state) = run_compare(
            vec![d("/a", 0, "new"), d("/a", 5, "new2")],
            vec![d("/a", 0, "old"), d("/a", 1, "new")],
        );
        assert_eq!(selected, [0], "once, at its first occurrence");
        assert_eq!((out.changed, out.unchanged), (1, 0));
        assert_eq!(state, [("/a".to_string(), "new2".to_string())]);
    }

    #[test]
    fn a_path_met_twice_is_selected_once_or_not_at_all() {
        let link = |path: &str, seq| Digested::undigested(PathBuf::from(path), seq);
        let (out, selected, state) = run_compare(
            vec![
                d("/a", 2, "1"),
                d("/a", 7, "1"),
                d("/b", 4, "2"),
                d("/b", 6, "2"),
                link("/l", 3),
                link("/l", 8),
                link("/u", 5),
            ],
            vec![d("/a", 0, "1"), d("/b", 1, "old")],
        );
        assert_eq!(selected, [3, 4, 5], "/a unchanged; /b, /l and /u once each");
        assert_eq!(
            out,
            Compared {
                changed: 1,
                changed_bytes: 10,
                unchanged: 1,
                entries: 2
            }
        );
        let names: Vec<&str> = state.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["/a", "/b"], "links stay out of the state");
    }

    #[test]
    fn an_error_in_the_previous_state_stops_the_compare() {
        let dir = tempfile::tempdir().unwrap();
        let mut selected = Sorter::new(dir.path(), Limits::default());
        let old = vec![Ok(d("/0", 0, "x")), Err(io::Error::other("disk"))];
        let err = compare(
            vec![Ok(d("/a", 0, "1"))].into_iter(),
            old.into_iter(),
            |_, _| Ok(()),
            &mut selected,
        )
        .unwrap_err();
        assert!(matches!(err, CompareError::Scratch(_)), "{err:?}");
    }

    #[test]
    fn replay_yields_the_selected_items_in_walk_order() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = tempfile::tempfile_in(dir.path()).unwrap();
        let items: Vec<Item> = (0..10)
            .map(|i| Item {
                path: PathBuf::from(format!("/p/{i}\n")),
                kind: if i % 3 == 0 {
                    ItemKind::Link
                } else {
                    ItemKind::File
                },
            })
            .collect();
        for item in &items {
            write_item(item, &mut log).unwrap();
        }
        log.seek(SeekFrom::Start(0)).unwrap();
        let mut selected = Sorter::new(
            dir.path(),
            Limits {
                chunk_bytes: 16,
                fan_in: 2,
            },
        );
        for n in [9u64, 0, 4, 5] {
            selected.push(n).unwrap();
        }
        let mut replay = Replay::new(log, selected.finish().unwrap()).unwrap();
        let got: Vec<Item> = replay.by_ref().collect();
        assert!(replay.error.is_none());
        assert_eq!(
            got,
            [
                items[0].clone(),
                items[4].clone(),
                items[5].clone(),
                items[9].clone()
            ]
        );
    }

    #[test]
    fn a_short_log_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = tempfile::tempfile_in(dir.path()).unwrap();
        write_item(
            &Item {
                path: PathBuf::from("/x"),
                kind: ItemKind::File,
            },
            &mut log,
        )
        .unwrap();
        log.seek(SeekFrom::Start(0)).unwrap();
        let mut selected = Sorter::new(dir.path(), Limits::default());
        selected.push(3).unwrap();
        let mut replay = Replay::new(log, selected.finish().unwrap()).unwrap();
        assert_eq!(replay.by_ref().count(), 0);
        assert!(replay.error.is_some());
    }

    #[test]
    fn scan_logs_hashes_and_leaves_links_and_unreadable_files_without_digest() {
        let dir = tempfile::tempdir().unwrap();
        let scratch = dir.path().join("scratch");
        std::fs::create_dir(&scratch).unwrap();
        let a = dir.path().join("a");
        std::fs::write(&a, b"hello\n").unwrap();
        let items = vec![
            Item {
                path: a.clone(),
                kind: ItemKind::File,
            },
            Item {
                path: dir.path().join("gone"),
                kind: ItemKind::File,
            },
            Item {
                path: dir.path().join("l"),
                kind: ItemKind::Link,
            },
        ];
        let feed = items.clone();
        let scan = scan(&scratch, Limits::default(), 2, dir.path(), move |emit| {
            for item in feed {
                let _ = emit(item);
            }
            WalkReport::default()
        })
        .unwrap();
        let Scan { log, digests, .. } = scan;
        let digests: Vec<Digested> = digests.collect::<io::Result<_>>().unwrap();
        assert_eq!(digests.len(), 3, "{digests:?}");
        assert_eq!(digests[0].path, a.as_os_str().as_bytes());
        assert_eq!(
            digests[0].digest,
            b"f572d396fae9206628714fb2ce00f72e94f2258f"
        );
        assert_eq!((digests[0].seq, digests[0].size), (0, 6));
        let undigested: Vec<u64> = digests[1..]
            .iter()
            .filter(|d| d.digest.is_empty())
            .map(|d| d.seq)
            .collect();
        assert_eq!(undigested, [1, 2], "the unreadable file and the link");
        // With `a` unchanged, the link and the unreadable file are what is selected.
        let mut selected = Sorter::new(&scratch, Limits::default());
        let previous = vec![Ok(digests[0].clone())];
        compare(
            digests.into_iter().map(Ok),
            previous.into_iter(),
            |_, _| Ok(()),
            &mut selected,
        )
        .unwrap();
        let mut replay = Replay::new(log, selected.finish().unwrap()).unwrap();
        let got: Vec<Item> = replay.by_ref().collect();
        assert_eq!(got, items[1..]);
        assert_eq!(
            std::fs::read_dir(&scratch).unwrap().count(),
            0,
            "temporary files are unnamed"
        );
    }

    #[test]
    fn a_missing_or_corrupt_previous_state_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        let missing = previous(&dir.path().join("none.sha"), dir.path(), Limits::default());
        assert_eq!(missing.unwrap().count(), 0);
        let bad = dir.path().join("bad.sha");
        std::fs::write(&bad, b"(dp0\nV/a\np1\nV00\np2\nsgarbage").unwrap();
        assert_eq!(
            previous(&bad, dir.path(), Limits::default())
                .unwrap()
                .count(),
            0,
            "a pickle that fails part way is unusable as a whole"
        );
    }

    /// Runs `scan` on a thread of its own and waits for it, at most 60 s (a hang fails).
    fn scan_with_watchdog<W>(scratch: &Path, limits: Limits, walk_fn: W) -> Result<(), CollectError>
    where
        W: FnOnce(&mut dyn FnMut(Item) -> ControlFlow<()>) -> WalkReport + Send + 'static,
    {
        let (tx, rx) = mpsc::channel();
        let scratch = scratch.to_path_buf();
        std::thread::spawn(move || {
            let result = scan(&scratch, limits, 2, &scratch, walk_fn).map(|_| ());
            let _ = tx.send(result);
        });
        rx.recv_timeout(std::time::Duration::from_secs(60))
            .expect("scan did not return: a thread is blocked")
    }

    /// A walker that first removes `scratch` (so that every later temporary file fails), then
    /// emits `count` items of `kind` for `file` until it is told to stop; reports how many it
    /// emitted through `emitted`.
    fn failing_walk(
        scratch: PathBuf,
        file: PathBuf,
        kind: ItemKind,
        count: usize,
        emitted: Arc<std::sync::atomic::AtomicUsize>,
    ) -> impl FnOnce(&mut dyn FnMut(Item) -> ControlFlow<()>) -> WalkReport + Send + 'static {
        move |emit| {
            // The log is an unnamed file: the directory is empty and can go.
            std::fs::remove_dir(&scratch).unwrap();
            let mut report = WalkReport::default();
            for _ in 0..count {
                let item = Item {
                    path: file.clone(),
                    kind,
                };
                if emit(item).is_break() {
                    report.stopped = true;
                    break;
                }
                emitted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
            report
        }
    }

    /// A walk of `count` items of `kind` whose bookkeeping fails at the first spill (the
    /// walker removes the scratch directory) must end with a scratch error, not a hang, and
    /// stop the walker early.
    fn assert_scratch_failure_stops_the_walk(kind: ItemKind) {
        let dir = tempfile::tempdir().unwrap();
        let scratch = dir.path().join("scratch");
        std::fs::create_dir(&scratch).unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, b"x").unwrap();
        let emitted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        // Every record spills at once: the first spill fails.
        let tiny = Limits {
            chunk_bytes: 1,
            fan_in: 2,
        };
        let count = 200_000;
        let err = scan_with_watchdog(
            &scratch,
            tiny,
            failing_walk(scratch.clone(), file, kind, count, Arc::clone(&emitted)),
        )
        .unwrap_err();
        assert!(
            matches!(&err, CollectError::Scratch { dir, .. } if *dir == scratch),
            "{err:?}"
        );
        assert!(
            emitted.load(std::sync::atomic::Ordering::SeqCst) < count,
            "the walker was not stopped"
        );
    }

    #[test]
    fn a_scratch_failure_of_the_hashers_stops_the_walk_without_a_hang() {
        // Files: their digests spill from the hashing threads.
        assert_scratch_failure_stops_the_walk(ItemKind::File);
    }

    #[test]
    fn a_scratch_failure_of_the_main_loop_stops_the_walk_without_a_hang() {
        // Links: selected by the main loop, which spills.
        assert_scratch_failure_stops_the_walk(ItemKind::Link);
    }

    #[test]
    fn a_panicking_walker_fails_the_scan() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, b"x").unwrap();
        // More items than the channels hold, then a panic.
        let err = scan_with_watchdog(dir.path(), Limits::default(), move |emit| {
            for i in 0..10_000 {
                let _ = emit(Item {
                    path: file.clone(),
                    kind: if i % 2 == 0 {
                        ItemKind::File
                    } else {
                        ItemKind::Link
                    },
                });
            }
            panic!("walker bug");
        })
        .unwrap_err();
        assert!(
            matches!(&err, CollectError::WalkPanicked { message, .. } if message == "walker bug"),
            "{err:?}"
        );
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "only f");
    }

    #[test]
    fn a_memo_that_cannot_be_spilled_is_a_scratch_error_not_an_empty_state() {
        // A state that refers back to memoized values is read with the memo spilled to
        // `scratch`. When that fails, the state is not corrupt: taking it as empty would
        // archive the whole entry and succeed, although working_dir cannot hold the
        // bookkeeping.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.sha");
        std::fs::write(&path, MEMO_GET).unwrap();
        let gone = dir.path().join("gone");
        assert!(
            previous(&path, &gone, Limits::default()).is_err(),
            "a scratch failure reading the state was taken for a corrupt state"
        );
        // A corrupt state is still empty, even with no usable scratch directory.
        std::fs::write(&path, b"garbage").unwrap();
        assert_eq!(
            previous(&path, &gone, Limits::default()).unwrap().count(),
            0
        );
    }

    /// A protocol 0 pickle whose third value is a get of the second (memo 2).
    const MEMO_GET: &[u8] = b"(dp0\nV/b\np1\nV094e\np2\nsV/a\np3\ng2\ns.";

    #[test]
    fn a_state_without_memo_gets_is_read_without_copying_it_and_one_with_them_is_read_again() {
        let dir = tempfile::tempdir().unwrap();
        let gone = dir.path().join("gone");
        // What the original and we write has no gets: read with no scratch space at all.
        let plain = dir.path().join("plain.sha");
        std::fs::write(
            &plain,
            cedar_core::write_pickle_dict([(&b"/b"[..], &b"1"[..]), (&b"/a"[..], &b"2"[..])]),
        )
        .unwrap();
        let got: Vec<Digested> = previous(&plain, &gone, Limits::default())
            .unwrap()
            .collect::<io::Result<_>>()
            .unwrap();
        assert_eq!(got, [d0("/a", 1, "2"), d0("/b", 0, "1")]);
        // With gets, the second reading resolves them through the spilled memo.
        let memo = dir.path().join("memo.sha");
        std::fs::write(&memo, MEMO_GET).unwrap();
        let got: Vec<Digested> = previous(&memo, dir.path(), Limits::default())
            .unwrap()
            .collect::<io::Result<_>>()
            .unwrap();
        assert_eq!(got, [d0("/a", 1, "094e"), d0("/b", 0, "094e")]);
    }

    fn d0(path: &str, seq: u64, digest: &str) -> Digested {
        Digested {
            path: path.as_bytes().to_vec(),
            seq,
            digest: digest.as_bytes().to_vec(),
            size: 0,
        }
    }

    #[test]
    fn previous_state_is_sorted_by_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.sha");
        let pairs: Vec<(Vec<u8>, Vec<u8>)> = (0..2000u32)
            .rev()
            .map(|i| (format!("/f/{i:05}").into_bytes(), b"d".to_vec()))
            .collect();
        std::fs::write(
            &path,
            cedar_core::write_pickle_dict(pairs.iter().map(|(k, v)| (k.as_slice(), v.as_slice()))),
        )
        .unwrap();
        let limits = Limits {
            chunk_bytes: 4096,
            fan_in: 3,
        };
        let got: Vec<Digested> = previous(&path, dir.path(), limits)
            .unwrap()
            .collect::<io::Result<_>>()
            .unwrap();
        assert_eq!(got.len(), 2000);
        assert!(got.windows(2).all(|w| w[0].path < w[1].path));
        assert_eq!(got[0].path, b"/f/00000");
    }
}
