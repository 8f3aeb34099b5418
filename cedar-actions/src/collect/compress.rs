//! Compressing an archive on several cores.
//!
//! The stream is cut into chunks that worker threads compress independently; the results are
//! written in order. Memory stays bounded: at most a few chunks are in flight.
//!
//! - gzip: one gzip member. Each chunk is a raw deflate stream ending in a sync flush; an empty
//!   final block closes the stream and the CRC-32 of the chunks is combined, as pigz does.
//! - bzip2: one complete bzip2 stream per chunk of at most one 900k block. Concatenated
//!   streams are read by bzip2, GNU tar and Python's `tarfile` alike.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use flate2::{Compress, Compression, FlushCompress};

/// The compression of one archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    Gzip { level: u32 },
    Bzip2 { level: u32 },
}

impl Codec {
    fn chunk_size(self) -> usize {
        match self {
            Codec::Gzip { .. } => 1 << 20,
            // Below bzip2's 900k block so that each chunk is one block.
            Codec::Bzip2 { .. } => 850_000,
        }
    }
}

struct Compressed {
    data: Vec<u8>,
    crc: crc32fast::Hasher,
}

type Job = (u64, Vec<u8>);
type Done = (u64, io::Result<Compressed>);

fn deflate_chunk(level: u32, input: &[u8]) -> io::Result<Vec<u8>> {
    let mut c = Compress::new(Compression::new(level), false);
    let mut out = Vec::with_capacity(input.len() / 2 + 1024);
    loop {
        if out.len() == out.capacity() {
            out.reserve(out.capacity().max(64 * 1024));
        }
        let consumed = c.total_in() as usize;
        c.compress_vec(&input[consumed..], &mut out, FlushCompress::Sync)
            .map_err(io::Error::other)?;
        // The flush is complete once all input is in and output space is left over.
        if c.total_in() as usize == input.len() && out.len() < out.capacity() {
            return Ok(out);
        }
    }
}

fn bzip2_chunk(level: u32, input: &[u8]) -> io::Result<Vec<u8>> {
    let mut enc = bzip2::write::BzEncoder::new(
        Vec::with_capacity(input.len() / 3 + 1024),
        bzip2::Compression::new(level),
    );
    enc.write_all(input)?;
    enc.finish()
}

fn compress_chunk(codec: Codec, input: &[u8]) -> io::Result<Compressed> {
    let mut crc = crc32fast::Hasher::new();
    let data = match codec {
        Codec::Gzip { level } => {
            crc.update(input);
            deflate_chunk(level, input)?
        }
        Codec::Bzip2 { level } => bzip2_chunk(level, input)?,
    };
    Ok(Compressed { data, crc })
}

/// A writer that compresses with worker threads and writes the result to `W` in order.
pub struct ParallelWriter<W: Write> {
    out: W,
    codec: Codec,
    chunk: Vec<u8>,
    next_seq: u64,
    next_write: u64,
    jobs: Option<SyncSender<Job>>,
    done: Receiver<Done>,
    pending: BTreeMap<u64, Compressed>,
    max_in_flight: u64,
    workers: Vec<JoinHandle<()>>,
    crc: crc32fast::Hasher,
    total_in: u64,
}

impl<W: Write> std::fmt::Debug for ParallelWriter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParallelWriter")
            .field("codec", &self.codec)
            .field("workers", &self.workers.len())
            .finish_non_exhaustive()
    }
}

/// Worker threads to use: the cores available, at most 4.
pub fn worker_count() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 4)
}

impl<W: Write> ParallelWriter<W> {
    pub fn new(mut out: W, codec: Codec, workers: usize) -> io::Result<Self> {
        if let Codec::Gzip { .. } = codec {
            // Magic, deflate, no flags, no mtime, no extra flags, OS Unix.
            out.write_all(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3])?;
        }
        let workers = workers.max(1);
        let (job_tx, job_rx) = mpsc::sync_channel::<Job>(workers);
        let (done_tx, done_rx) = mpsc::channel::<Done>();
        let job_rx = Arc::new(Mutex::new(job_rx));
        let handles = (0..workers)
            .map(|_| {
                let rx = Arc::clone(&job_rx);
                let tx = done_tx.clone();
                std::thread::spawn(move || loop {
                    let job = match rx.lock() {
                        Ok(guard) => guard.recv(),
                        Err(_) => return,
                    };
                    let Ok((seq, input)) = job else { return };
                    if tx.send((seq, compress_chunk(codec, &input))).is_err() {
                        return;
                    }
                })
            })
            .collect();
        Ok(ParallelWriter {
            out,
            codec,
            chunk: Vec::with_capacity(codec.chunk_size()),
            next_seq: 0,
            next_write: 0,
            jobs: Some(job_tx),
            done: done_rx,
            pending: BTreeMap::new(),
            max_in_flight: 2 * workers as u64 + 1,
            workers: handles,
            crc: crc32fast::Hasher::new(),
            total_in: 0,
        })
    }

    /// Writes every finished chunk that is next in order; waits for one when `block`.
    fn drain(&mut self, block: bool) -> io::Result<()> {
        loop {
            while let Some(c) = self.pending.remove(&self.next_write) {
                self.out.write_all(&c.data)?;
                self.crc.combine(&c.crc);
                self.next_write += 1;
            }
            let in_flight = self.next_seq - self.next_write;
            let must_wait = block && in_flight > 0 || in_flight >= self.max_in_flight;
            let received = if must_wait {
                self.done
                    .recv()
                    .map_err(|_| io::Error::other("a compression worker stopped unexpectedly"))?
            } else {
                match self.done.try_recv() {
                    Ok(done) => done,
                    Err(_) => return Ok(()),
                }
            };
            let (seq, result) = received;
            self.pending.insert(seq, result?);
        }
    }

    fn submit_chunk(&mut self) -> io::Result<()> {
        if self.chunk.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.chunk, Vec::with_capacity(self.codec.chunk_size()));
        self.total_in += chunk.len() as u64;
        let jobs = self
            .jobs
            .as_ref()
            .ok_or_else(|| io::Error::other("compression already finished"))?;
        jobs.send((self.next_seq, chunk))
            .map_err(|_| io::Error::other("a compression worker stopped unexpectedly"))?;
        self.next_seq += 1;
        self.drain(false)
    }

    /// Compresses what is left, writes the trailer and returns the underlying writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.submit_chunk()?;
        self.drain(true)?;
        self.jobs = None;
        for handle in self.workers.drain(..) {
            let _ = handle.join();
        }
        if let Codec::Gzip { .. } = self.codec {
            // An empty final block, then CRC-32 and length mod 2^32.
            self.out.write_all(&[0x03, 0x00])?;
            let crc = self.crc.clone().finalize();
            self.out.write_all(&crc.to_le_bytes())?;
            self.out.write_all(&(self.total_in as u32).to_le_bytes())?;
        }
        self.out.flush()?;
        Ok(self.out)
    }
}

impl<W: Write> Write for ParallelWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let room = self.codec.chunk_size() - self.chunk.len();
        let n = room.min(buf.len());
        self.chunk.extend_from_slice(&buf[..n]);
        if self.chunk.len() == self.codec.chunk_size() {
            self.submit_chunk()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn sample(len: usize) -> Vec<u8> {
        let mut x: u32 = 12345;
        (0..len)
            .map(|i| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                if i % 7 == 0 {
                    (x >> 24) as u8
                } else {
                    b'a' + (i % 13) as u8
                }
            })
            .collect()
    }

    #[test]
    fn gzip_round_trips_through_a_standard_decoder() {
        for len in [0, 10, (1 << 20) - 1, 1 << 20, 3 * (1 << 20) + 17] {
            let data = sample(len);
            let mut w = ParallelWriter::new(Vec::new(), Codec::Gzip { level: 6 }, 2).unwrap();
            w.write_all(&data).unwrap();
            let out = w.finish().unwrap();
            let mut back = Vec::new();
            flate2::read::GzDecoder::new(&out[..])
                .read_to_end(&mut back)
                .unwrap();
            assert_eq!(back, data, "len {len}");
        }
    }

    #[test]
    fn bzip2_round_trips_as_concatenated_streams() {
        let data = sample(2_000_000);
        let mut w = ParallelWriter::new(Vec::new(), Codec::Bzip2 { level: 9 }, 2).unwrap();
        w.write_all(&data).unwrap();
        let out = w.finish().unwrap();
        let mut back = Vec::new();
        bzip2::read::MultiBzDecoder::new(&out[..])
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, data);
    }
}
