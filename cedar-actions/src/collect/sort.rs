//! An external merge sort with bounded memory, for incremental state of any size.
//!
//! Records are gathered in memory up to [`Limits::chunk_bytes`]; a full chunk is sorted and
//! written to an unnamed temporary file (a "run"), so nothing is left behind by a killed run.
//! Runs are merged at most [`Limits::fan_in`] at a time: as they are written (whenever the
//! last `fan_in` runs are of the same level, they become one run of the next level), so that
//! the runs open at once stay few (at most `fan_in - 1` a level) however many are written, and
//! in [`Sorter::finish`], which merges what is left. Memory and open files stay bounded
//! whatever the number of records. When everything fits in one chunk nothing touches the disk.
//!
//! The sort is stable: records that compare equal come out in the order they were pushed.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// A record that can be written to and read back from a run.
pub trait Record: Ord + Sized {
    /// Appends the record's encoding to `out`.
    fn encode(&self, out: &mut Vec<u8>);
    /// Reads one record; `Ok(None)` at a clean end of the input.
    fn decode(input: &mut impl BufRead) -> io::Result<Option<Self>>;
    /// The heap memory the record holds, beyond its own size.
    fn heap_bytes(&self) -> usize;
}

/// How much memory a sort may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of records gathered in memory before a run is written.
    pub chunk_bytes: usize,
    /// Runs merged at once (each holds a read buffer of [`RUN_BUFFER`] bytes).
    pub fan_in: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            chunk_bytes: 4 << 20,
            fan_in: 32,
        }
    }
}

/// The read buffer of one run during a merge.
pub const RUN_BUFFER: usize = 64 << 10;

/// Gathers records and sorts them, spilling to `dir` when they do not fit in memory.
#[derive(Debug)]
pub struct Sorter<T> {
    dir: PathBuf,
    limits: Limits,
    chunk: Vec<T>,
    chunk_bytes: usize,
    /// The open runs in push order, each with its level (a run of level `n + 1` is `fan_in`
    /// runs of level `n` merged); levels never increase from one run to the next.
    runs: Vec<(u32, File)>,
    /// Chunks written as runs so far.
    spilled: usize,
    pushed: u64,
}

impl<T: Record> Sorter<T> {
    /// A sorter whose runs, if any, are unnamed temporary files in `dir`.
    pub fn new(dir: &Path, limits: Limits) -> Self {
        Sorter {
            dir: dir.to_path_buf(),
            limits: Limits {
                chunk_bytes: limits.chunk_bytes.max(1),
                fan_in: limits.fan_in.max(2),
            },
            chunk: Vec::new(),
            chunk_bytes: 0,
            runs: Vec::new(),
            spilled: 0,
            pushed: 0,
        }
    }

    /// Adds a record; writes a run when the chunk is full.
    pub fn push(&mut self, record: T) -> io::Result<()> {
        self.chunk_bytes += record.heap_bytes() + std::mem::size_of::<T>();
        self.chunk.push(record);
        self.pushed += 1;
        if self.chunk_bytes >= self.limits.chunk_bytes {
            self.spill()?;
        }
        Ok(())
    }

    /// The number of records pushed so far.
    pub fn len(&self) -> u64 {
        self.pushed
    }

    /// The number of chunks written to disk as runs so far.
    #[cfg(test)]
    pub fn runs(&self) -> usize {
        self.spilled
    }

    /// The number of runs open now (written runs merged as they go count as one).
    #[cfg(test)]
    pub fn open_runs(&self) -> usize {
        self.runs.len()
    }

    fn spill(&mut self) -> io::Result<()> {
        if self.chunk.is_empty() {
            return Ok(());
        }
        let mut chunk = std::mem::take(&mut self.chunk);
        self.chunk_bytes = 0;
        chunk.sort();
        let run = write_run(&self.dir, chunk.into_iter().map(Ok))?;
        self.runs.push((0, run));
        self.spilled += 1;
        // While the last `fan_in` runs are of one level, they become one run of the next
        // (they are the latest records, so the merged run takes their place in push order).
        let fan_in = self.limits.fan_in;
        while let Some(start) = self.runs.len().checked_sub(fan_in) {
            let level = self.runs[start].0;
            if self.runs[start..].iter().any(|(l, _)| *l != level) {
                break;
            }
            let group: Vec<File> = self.runs.drain(start..).map(|(_, run)| run).collect();
            let merged = write_run(&self.dir, Merge::<T>::new(group)?)?;
            self.runs.push((level + 1, merged));
        }
        Ok(())
    }

    /// Every record pushed, in order.
    pub fn finish(mut self) -> io::Result<Sorted<T>> {
        if self.runs.is_empty() {
            let mut chunk = std::mem::take(&mut self.chunk);
            chunk.sort();
            return Ok(Sorted(Source::Memory(chunk.into_iter())));
        }
        self.spill()?;
        let mut runs: Vec<File> = std::mem::take(&mut self.runs)
            .into_iter()
            .map(|(_, run)| run)
            .collect();
        while runs.len() > self.limits.fan_in {
            let mut longer = Vec::with_capacity(runs.len().div_ceil(self.limits.fan_in));
            let mut rest = runs.into_iter().peekable();
            while rest.peek().is_some() {
                let group: Vec<File> = rest.by_ref().take(self.limits.fan_in).collect();
                let merged = Merge::<T>::new(group)?;
                longer.push(write_run(&self.dir, merged)?);
            }
            runs = longer;
        }
        Ok(Sorted(Source::Merge(Merge::new(runs)?)))
    }
}

/// Writes records (already in order) to a new unnamed file in `dir`, rewound for reading.
fn write_run<T: Record>(
    dir: &Path,
    records: impl Iterator<Item = io::Result<T>>,
) -> io::Result<File> {
    let file = tempfile::tempfile_in(dir)?;
    let mut out = BufWriter::with_capacity(RUN_BUFFER, file);
    let mut buf = Vec::new();
    for record in records {
        buf.clear();
        record?.encode(&mut buf);
        out.write_all(&buf)?;
    }
    let mut file = out.into_inner().map_err(|e| e.into_error())?;
    file.seek(SeekFrom::Start(0))?;
    Ok(file)
}

/// The records of a finished sort, in order. An I/O error reading a run ends the sequence
/// with that error.
#[derive(Debug)]
pub struct Sorted<T>(Source<T>);

#[derive(Debug)]
enum Source<T> {
    Memory(std::vec::IntoIter<T>),
    Merge(Merge<T>),
}

impl<T: Record> Iterator for Sorted<T> {
    type Item = io::Result<T>;

    fn next(&mut self) -> Option<io::Result<T>> {
        match &mut self.0 {
            Source::Memory(records) => records.next().map(Ok),
            Source::Merge(merge) => merge.next(),
        }
    }
}

/// The head record of one run, ordered by record and then by run (earlier runs first, which
/// keeps the sort stable).
#[derive(Debug)]
struct Head<T> {
    record: T,
    run: usize,
}

impl<T: Ord> PartialEq for Head<T> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl<T: Ord> Eq for Head<T> {}
impl<T: Ord> PartialOrd for Head<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<T: Ord> Ord for Head<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.record
            .cmp(&other.record)
            .then(self.run.cmp(&other.run))
    }
}

/// A k-way merge of sorted runs.
#[derive(Debug)]
struct Merge<T> {
    readers: Vec<BufReader<File>>,
    heap: BinaryHeap<Reverse<Head<T>>>,
    failed: bool,
}

impl<T: Record> Merge<T> {
    fn new(runs: Vec<File>) -> io::Result<Self> {
        let mut readers: Vec<BufReader<File>> = runs
            .into_iter()
            .map(|f| BufReader::with_capacity(RUN_BUFFER, f))
            .collect();
        let mut heap = BinaryHeap::with_capacity(readers.len());
        for (run, reader) in readers.iter_mut().enumerate() {
            if let Some(record) = T::decode(reader)? {
                heap.push(Reverse(Head { record, run }));
            }
        }
        Ok(Merge {
            readers,
            heap,
            failed: false,
        })
    }
}

impl<T: Record> Iterator for Merge<T> {
    type Item = io::Result<T>;

    fn next(&mut self) -> Option<io::Result<T>> {
        if self.failed {
            return None;
        }
        let Reverse(Head { record, run }) = self.heap.pop()?;
        match T::decode(&mut self.readers[run]) {
            Ok(Some(next)) => self.heap.push(Reverse(Head { record: next, run })),
            Ok(None) => {}
            Err(err) => {
                self.failed = true;
                return Some(Err(err));
            }
        }
        Some(Ok(record))
    }
}

/// Reads exactly `buf.len()` bytes; `Ok(false)` when the input ends before the first byte.
pub fn read_start(input: &mut impl BufRead, buf: &mut [u8]) -> io::Result<bool> {
    if input.fill_buf()?.is_empty() {
        return Ok(false);
    }
    input.read_exact(buf)?;
    Ok(true)
}

/// Reads a length-prefixed (u32 little-endian) byte string.
pub fn read_bytes(input: &mut impl BufRead) -> io::Result<Vec<u8>> {
    read_first_bytes(input)?.ok_or_else(|| io::ErrorKind::UnexpectedEof.into())
}

/// Reads a length-prefixed byte string that starts a record; `Ok(None)` when the input ends
/// before it.
pub fn read_first_bytes(input: &mut impl BufRead) -> io::Result<Option<Vec<u8>>> {
    let mut len = [0u8; 4];
    if !read_start(input, &mut len)? {
        return Ok(None);
    }
    let mut bytes = vec![0u8; u32::from_le_bytes(len) as usize];
    input.read_exact(&mut bytes)?;
    Ok(Some(bytes))
}

/// Writes a length-prefixed (u32 little-endian) byte string.
pub fn write_bytes(bytes: &[u8], out: &mut Vec<u8>) {
    let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&bytes[..len as usize]);
}

/// Reads a little-endian u64.
pub fn read_u64(input: &mut impl BufRead) -> io::Result<u64> {
    let mut b = [0u8; 8];
    input.read_exact(&mut b)?;
    Ok(u64::from_le_bytes(b))
}

impl Record for u64 {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
    fn decode(input: &mut impl BufRead) -> io::Result<Option<Self>> {
        let mut b = [0u8; 8];
        if !read_start(input, &mut b)? {
            return Ok(None);
        }
        Ok(Some(u64::from_le_bytes(b)))
    }
    fn heap_bytes(&self) -> usize {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record ordered by key only, carrying the push order to check stability.
    #[derive(Debug, Clone, PartialEq, Eq)]
    struct Keyed {
        key: Vec<u8>,
        order: u64,
    }
    impl PartialOrd for Keyed {
        fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
            Some(self.cmp(other))
        }
    }
    impl Ord for Keyed {
        fn cmp(&self, other: &Self) -> Ordering {
            self.key.cmp(&other.key)
        }
    }
    impl Record for Keyed {
        fn encode(&self, out: &mut Vec<u8>) {
            write_bytes(&self.key, out);
            out.extend_from_slice(&self.order.to_le_bytes());
        }
        fn decode(input: &mut impl BufRead) -> io::Result<Option<Self>> {
            let Some(key) = read_first_bytes(input)? else {
                return Ok(None);
            };
            let order = read_u64(input)?;
            Ok(Some(Keyed { key, order }))
        }
        fn heap_bytes(&self) -> usize {
            self.key.len()
        }
    }

    /// A deterministic pseudo-random sequence (xorshift).
    fn numbers(n: usize, mut state: u64) -> Vec<u64> {
        (0..n)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state
            })
            .collect()
    }

    fn sort_all<T: Record>(dir: &Path, limits: Limits, input: Vec<T>) -> (Vec<T>, usize) {
        let mut sorter = Sorter::new(dir, limits);
        for record in input {
            sorter.push(record).unwrap();
        }
        let runs = sorter.runs();
        let out = sorter
            .finish()
            .unwrap()
            .collect::<io::Result<Vec<T>>>()
            .unwrap();
        (out, runs)
    }

    #[test]
    fn in_memory_when_it_fits() {
        let dir = tempfile::tempdir().unwrap();
        let input = numbers(1000, 7);
        let (out, runs) = sort_all(dir.path(), Limits::default(), input.clone());
        assert_eq!(runs, 0);
        let mut expected = input;
        expected.sort();
        assert_eq!(out, expected);
    }

    #[test]
    fn spilled_runs_merge_in_several_levels() {
        let dir = tempfile::tempdir().unwrap();
        let input = numbers(50_000, 11);
        // 16 bytes a record: 1000 records a run, 50 runs, merged 3 at a time (4 levels).
        let limits = Limits {
            chunk_bytes: 8 * 1000,
            fan_in: 3,
        };
        let (out, runs) = sort_all(dir.path(), limits, input.clone());
        assert_eq!(runs, 50);
        let mut expected = input;
        expected.sort();
        assert_eq!(out, expected);
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "runs are unnamed files"
        );
    }

    #[test]
    fn equal_records_keep_their_push_order_across_runs() {
        let dir = tempfile::tempdir().unwrap();
        let input: Vec<Keyed> = numbers(20_000, 3)
            .into_iter()
            .enumerate()
            .map(|(i, n)| Keyed {
                key: format!("k{}", n % 97).into_bytes(),
                order: i as u64,
            })
            .collect();
        let limits = Limits {
            chunk_bytes: 4096,
            fan_in: 4,
        };
        let (out, runs) = sort_all(dir.path(), limits, input.clone());
        assert!(runs > 4, "{runs}");
        let mut expected = input;
        expected.sort(); // stable
        assert_eq!(out, expected);
    }

    #[test]
    fn open_runs_stay_bounded_however_many_are_written() {
        // Each run is an open file until the end: without merging as it goes, a large tree
        // (about 11 million files with the default limits) would exceed the usual limit of
        // 1024 open files. One record a run, merged 4 at a time.
        let dir = tempfile::tempdir().unwrap();
        let input: Vec<Keyed> = numbers(5_000, 5)
            .into_iter()
            .enumerate()
            .map(|(i, n)| Keyed {
                key: format!("k{}", n % 101).into_bytes(),
                order: i as u64,
            })
            .collect();
        let limits = Limits {
            chunk_bytes: 1,
            fan_in: 4,
        };
        let mut sorter = Sorter::new(dir.path(), limits);
        let mut most_open = 0;
        for record in input.clone() {
            sorter.push(record).unwrap();
            most_open = most_open.max(sorter.open_runs());
        }
        assert_eq!(sorter.runs(), 5_000);
        // (fan_in - 1) runs a level, log4(5000) < 7 levels.
        assert!(most_open <= 3 * 7, "{most_open} runs open at once");
        let out = sorter
            .finish()
            .unwrap()
            .collect::<io::Result<Vec<Keyed>>>()
            .unwrap();
        let mut expected = input;
        expected.sort(); // stable
        assert_eq!(out, expected);
    }

    #[test]
    fn empty_input_gives_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let (out, runs) = sort_all::<u64>(dir.path(), Limits::default(), Vec::new());
        assert!(out.is_empty());
        assert_eq!(runs, 0);
    }

    #[test]
    fn a_truncated_run_is_an_error_not_a_short_result() {
        let mut data = Vec::new();
        Keyed {
            key: b"abc".to_vec(),
            order: 1,
        }
        .encode(&mut data);
        data.truncate(data.len() - 2);
        let mut input = io::Cursor::new(data);
        assert!(Keyed::decode(&mut input).is_err());
        let mut empty = io::Cursor::new(Vec::new());
        assert!(Keyed::decode(&mut empty).unwrap().is_none());
    }

    #[test]
    fn a_spill_into_a_missing_directory_fails() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("gone");
        let mut sorter = Sorter::new(
            &missing,
            Limits {
                chunk_bytes: 8,
                fan_in: 2,
            },
        );
        assert!(sorter.push(1u64).is_err());
    }
}
