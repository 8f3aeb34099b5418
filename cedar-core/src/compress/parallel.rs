//! A block-parallel compressing writer: the stream is cut into blocks, a pool of threads
//! compresses each block into a self-contained member (a gzip member or a bzip2 stream), and
//! the members are written in order. Concatenated members are a valid file for `gzip -d`,
//! `zcat`, `bzip2 -d` and the flate2 / bzip2 multi-member readers.
//!
//! Memory is bounded: at most `2 × threads + 1` blocks are in flight at once, whatever the size
//! of the stream. The writer thread notes the compressed and raw length of every member it
//! writes ([`Totals::members`], 16 bytes per block), so that a reader can find each member
//! and decompress them independently.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

/// Compresses one block into one self-contained member.
pub type BlockFn = fn(&[u8], u32) -> io::Result<Vec<u8>>;

/// Counts blocks sent but not yet written, so the producer waits instead of piling up memory,
/// and carries the writer thread's failure so that the producer stops early.
#[derive(Default)]
struct Pipeline {
    state: Mutex<(usize, Option<io::ErrorKind>)>,
    changed: Condvar,
}

impl Pipeline {
    /// Waits for room for one more block; fails once the writer has failed.
    fn acquire(&self, max: usize) -> io::Result<()> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(kind) = state.1 {
                return Err(failure(kind));
            }
            if state.0 < max {
                state.0 += 1;
                return Ok(());
            }
            state = self.changed.wait(state).unwrap_or_else(|e| e.into_inner());
        }
    }
    fn release(&self) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.0 = state.0.saturating_sub(1);
        self.changed.notify_all();
    }
    fn fail(&self, kind: io::ErrorKind) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.1 = Some(kind);
        self.changed.notify_all();
    }
    fn check(&self) -> io::Result<()> {
        match self.state.lock().unwrap_or_else(|e| e.into_inner()).1 {
            Some(kind) => Err(failure(kind)),
            None => Ok(()),
        }
    }
}

fn failure(kind: io::ErrorKind) -> io::Error {
    io::Error::new(kind, "the compressed output could not be written")
}

/// One self-contained member of the output, as written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Member {
    /// Its length in the output.
    pub compressed: u64,
    /// How many bytes it decompresses to (the length of its block).
    pub raw: u64,
}

/// Statistics of a finished stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Totals {
    /// Bytes written into the compressor.
    pub raw: u64,
    /// Bytes the compressor wrote out.
    pub compressed: u64,
    /// The members written, in order, when the format is made of independent members (gzip,
    /// bzip2 from [`ParallelWriter`]): they follow each other without a gap from offset 0, and
    /// their lengths add up to `compressed` and `raw`. Empty for other formats.
    pub members: Vec<Member>,
}

/// The parallel writer. Call [`ParallelWriter::finish`] to flush the last block and get the
/// inner writer back; dropping it without `finish` abandons the output.
pub struct ParallelWriter<W: Write + Send + 'static> {
    block: Vec<u8>,
    block_size: usize,
    next_seq: u64,
    max_in_flight: usize,
    pipeline: Arc<Pipeline>,
    jobs: Option<SyncSender<(u64, Vec<u8>)>>,
    workers: Vec<JoinHandle<()>>,
    writer: Option<JoinHandle<io::Result<Written<W>>>>,
    raw: u64,
}

impl<W: Write + Send + 'static> std::fmt::Debug for ParallelWriter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParallelWriter")
            .field("block_size", &self.block_size)
            .field("workers", &self.workers.len())
            .field("raw", &self.raw)
            .finish_non_exhaustive()
    }
}

impl<W: Write + Send + 'static> ParallelWriter<W> {
    /// A writer compressing `block_size` blocks with `compress` at `level` on `threads` threads.
    pub fn new(
        inner: W,
        compress: BlockFn,
        level: u32,
        threads: usize,
        block_size: usize,
    ) -> ParallelWriter<W> {
        let threads = threads.max(1);
        let (job_tx, job_rx) = mpsc::sync_channel::<(u64, Vec<u8>)>(threads);
        let (done_tx, done_rx) = mpsc::sync_channel::<Done>(threads);
        let job_rx = Arc::new(Mutex::new(job_rx));
        let pipeline = Arc::new(Pipeline::default());
        let workers = (0..threads)
            .map(|_| {
                let job_rx = Arc::clone(&job_rx);
                let done_tx = done_tx.clone();
                std::thread::spawn(move || loop {
                    let job = job_rx.lock().unwrap_or_else(|e| e.into_inner()).recv();
                    let Ok((seq, data)) = job else { break };
                    let raw = data.len() as u64;
                    if done_tx.send((seq, raw, compress(&data, level))).is_err() {
                        break;
                    }
                })
            })
            .collect();
        drop(done_tx);
        let writer = {
            let pipeline = Arc::clone(&pipeline);
            std::thread::spawn(move || write_in_order(inner, done_rx, &pipeline))
        };
        ParallelWriter {
            block: Vec::with_capacity(block_size),
            block_size,
            next_seq: 0,
            max_in_flight: 2 * threads + 1,
            pipeline,
            jobs: Some(job_tx),
            workers,
            writer: Some(writer),
            raw: 0,
        }
    }

    fn send_block(&mut self) -> io::Result<()> {
        // An empty stream still gets one (empty) member, so the file is valid.
        if self.block.is_empty() && self.next_seq > 0 {
            return Ok(());
        }
        if let Err(e) = self.pipeline.acquire(self.max_in_flight) {
            // The writer thread holds the real error.
            return Err(self.stop().err().unwrap_or(e));
        }
        let data = std::mem::replace(&mut self.block, Vec::with_capacity(self.block_size));
        let sent = self
            .jobs
            .as_ref()
            .map(|jobs| jobs.send((self.next_seq, data)).is_ok())
            .unwrap_or(false);
        if !sent {
            self.pipeline.release();
            // The pipeline stopped: the writer thread holds the real error.
            return Err(self.stop().err().unwrap_or_else(|| {
                io::Error::other("the compression threads stopped unexpectedly")
            }));
        }
        self.next_seq += 1;
        Ok(())
    }

    /// Stops the pipeline and returns the writer thread's result.
    fn stop(&mut self) -> io::Result<Written<W>> {
        self.jobs = None;
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
        match self.writer.take() {
            Some(handle) => handle
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("the compressed-output writer panicked"))),
            None => Err(io::Error::other("the compressor was already finished")),
        }
    }

    /// Compresses what is left, waits for every block, and returns the inner writer and the
    /// totals.
    pub fn finish(mut self) -> io::Result<(W, Totals)> {
        self.send_block()?;
        let raw = self.raw;
        let written = self.stop()?;
        Ok((
            written.inner,
            Totals {
                raw,
                compressed: written.compressed,
                members: written.members,
            },
        ))
    }
}

impl<W: Write + Send + 'static> Write for ParallelWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let room = self.block_size - self.block.len();
        let n = room.min(buf.len());
        self.block.extend_from_slice(&buf[..n]);
        self.raw += n as u64;
        if self.block.len() == self.block_size {
            self.send_block()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        // Blocks are members of their own; flushing mid-block would only shrink them.
        self.pipeline.check()
    }
}

impl<W: Write + Send + 'static> Drop for ParallelWriter<W> {
    fn drop(&mut self) {
        if self.writer.is_some() {
            let _ = self.stop();
        }
    }
}

/// A compressed block from a worker: its sequence number, its raw length and the member.
type Done = (u64, u64, io::Result<Vec<u8>>);

/// What the writer thread hands back.
struct Written<W> {
    inner: W,
    compressed: u64,
    members: Vec<Member>,
}

fn write_in_order<W: Write>(
    mut inner: W,
    done: Receiver<Done>,
    pipeline: &Pipeline,
) -> io::Result<Written<W>> {
    let mut pending: BTreeMap<u64, (u64, Vec<u8>)> = BTreeMap::new();
    let mut next = 0u64;
    let mut compressed = 0u64;
    let mut members = Vec::new();
    let fail = |e: io::Error| {
        pipeline.fail(e.kind());
        e
    };
    for (seq, raw, result) in done {
        let member = result.map_err(fail)?;
        pending.insert(seq, (raw, member));
        while let Some((raw, member)) = pending.remove(&next) {
            inner.write_all(&member).map_err(fail)?;
            compressed += member.len() as u64;
            members.push(Member {
                compressed: member.len() as u64,
                raw,
            });
            next += 1;
            pipeline.release();
        }
    }
    inner.flush().map_err(fail)?;
    Ok(Written {
        inner,
        compressed,
        members,
    })
}
