//! A block-parallel compressing writer: the stream is cut into blocks, a pool of threads
//! compresses each block into a self-contained member (a gzip member or a bzip2 stream), and
//! the members are written in order. Concatenated members are a valid file for `gzip -d`,
//! `zcat`, `bzip2 -d` and the flate2 / bzip2 multi-member readers.
//!
//! One mode differs, for the collect action's `.tar.gz` archives
//! ([`ParallelWriter::one_gzip_member`]): the whole stream is one gzip member, as pigz writes it.
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

/// How the compressed blocks make up the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// Every block a self-contained member, noted in [`Totals::members`]; an empty stream is
    /// one empty member.
    Members,
    /// One gzip member: a header, the blocks as raw deflate pieces ending in a sync flush, an
    /// empty final block, and the CRC-32 of the blocks combined with the length. Empty blocks
    /// are not compressed; no members are noted.
    OneGzipMember,
}

/// The gzip header of [`ParallelWriter::one_gzip_member`]: magic, deflate, no flags, no mtime,
/// no extra flags, OS Unix.
const GZIP_HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3];

/// A block as a raw deflate piece ending in a sync flush, so that pieces concatenate into one
/// deflate stream.
fn deflate_block(input: &[u8], level: u32) -> io::Result<Vec<u8>> {
    let mut c = flate2::Compress::new(flate2::Compression::new(level), false);
    let mut out = Vec::with_capacity(input.len() / 2 + 1024);
    loop {
        if out.len() == out.capacity() {
            out.reserve(out.capacity().max(64 * 1024));
        }
        let consumed = c.total_in() as usize;
        c.compress_vec(&input[consumed..], &mut out, flate2::FlushCompress::Sync)
            .map_err(io::Error::other)?;
        // The flush is complete once all input is in and output space is left over.
        if c.total_in() as usize == input.len() && out.len() < out.capacity() {
            return Ok(out);
        }
    }
}

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
    /// their lengths add up to `compressed` and `raw`. Empty for other formats and for
    /// [`ParallelWriter::one_gzip_member`].
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
    layout: Layout,
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
    /// A writer compressing `block_size` blocks with `compress` at `level` on `threads` threads,
    /// each block a member of its own.
    pub fn new(
        inner: W,
        compress: BlockFn,
        level: u32,
        threads: usize,
        block_size: usize,
    ) -> ParallelWriter<W> {
        Self::start(inner, compress, Layout::Members, level, threads, block_size)
    }

    /// A writer of one gzip member for the whole stream, compressing `block_size` blocks at
    /// `level` on `threads` threads as pigz does (each block a raw deflate piece ending in a sync
    /// flush, the CRC-32 of the blocks combined). The collect action's `.tar.gz` archives are
    /// written so: one member, like the original's `tarfile` writes, and byte for byte what
    /// cback's collect has always written. No members are noted in [`Totals::members`].
    pub fn one_gzip_member(
        inner: W,
        level: u32,
        threads: usize,
        block_size: usize,
    ) -> ParallelWriter<W> {
        Self::start(
            inner,
            deflate_block,
            Layout::OneGzipMember,
            level,
            threads,
            block_size,
        )
    }

    fn start(
        inner: W,
        compress: BlockFn,
        layout: Layout,
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
                    let crc = (layout == Layout::OneGzipMember).then(|| {
                        let mut crc = crc32fast::Hasher::new();
                        crc.update(&data);
                        crc
                    });
                    let done = Done {
                        seq,
                        raw: data.len() as u64,
                        crc,
                        member: compress(&data, level),
                    };
                    if done_tx.send(done).is_err() {
                        break;
                    }
                })
            })
            .collect();
        drop(done_tx);
        let writer = {
            let pipeline = Arc::clone(&pipeline);
            std::thread::spawn(move || write_in_order(inner, layout, done_rx, &pipeline))
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
            layout,
        }
    }

    fn send_block(&mut self) -> io::Result<()> {
        // An empty stream still gets one (empty) member, so the file is valid; one gzip member
        // is valid without any block.
        if self.block.is_empty() && (self.next_seq > 0 || self.layout == Layout::OneGzipMember) {
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

/// A compressed block from a worker.
struct Done {
    seq: u64,
    /// The length of the block.
    raw: u64,
    /// The CRC-32 of the block, for [`Layout::OneGzipMember`].
    crc: Option<crc32fast::Hasher>,
    member: io::Result<Vec<u8>>,
}

/// What the writer thread hands back.
struct Written<W> {
    inner: W,
    compressed: u64,
    members: Vec<Member>,
}

fn write_in_order<W: Write>(
    mut inner: W,
    layout: Layout,
    done: Receiver<Done>,
    pipeline: &Pipeline,
) -> io::Result<Written<W>> {
    let mut pending: BTreeMap<u64, (u64, Option<crc32fast::Hasher>, Vec<u8>)> = BTreeMap::new();
    let mut next = 0u64;
    let mut compressed = 0u64;
    let mut members = Vec::new();
    let mut crc = crc32fast::Hasher::new();
    let mut raw_total = 0u64;
    let fail = |e: io::Error| {
        pipeline.fail(e.kind());
        e
    };
    let mut emit = |inner: &mut W, bytes: &[u8]| -> io::Result<()> {
        inner.write_all(bytes).map_err(fail)?;
        compressed += bytes.len() as u64;
        Ok(())
    };
    if layout == Layout::OneGzipMember {
        emit(&mut inner, &GZIP_HEADER)?;
    }
    for block in done {
        let member = block.member.map_err(fail)?;
        pending.insert(block.seq, (block.raw, block.crc, member));
        while let Some((raw, block_crc, member)) = pending.remove(&next) {
            emit(&mut inner, &member)?;
            match block_crc {
                Some(block_crc) => crc.combine(&block_crc),
                None => members.push(Member {
                    compressed: member.len() as u64,
                    raw,
                }),
            }
            raw_total += raw;
            next += 1;
            pipeline.release();
        }
    }
    if layout == Layout::OneGzipMember {
        // An empty final block, then the CRC-32 and the length mod 2^32.
        let mut trailer = vec![0x03, 0x00];
        trailer.extend_from_slice(&crc.finalize().to_le_bytes());
        trailer.extend_from_slice(&(raw_total as u32).to_le_bytes());
        emit(&mut inner, &trailer)?;
    }
    inner.flush().map_err(fail)?;
    Ok(Written {
        inner,
        compressed,
        members,
    })
}
