//! Compressing writers shared by the actions: plain, gzip and bzip2 on all cores (independent
//! members written in order, see [`parallel`]), and zstd with its own multithreaded encoder.
//! Every variant reports how many bytes went in and came out.

pub mod parallel;

use std::io::{self, Write};

pub use parallel::{Member, ParallelWriter, Totals};

/// A compression format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    None,
    Gzip,
    Bzip2,
    Zstd,
}

impl Codec {
    /// The file name suffix, with its dot (empty for none).
    pub fn extension(self) -> &'static str {
        match self {
            Codec::None => "",
            Codec::Gzip => ".gz",
            Codec::Bzip2 => ".bz2",
            Codec::Zstd => ".zst",
        }
    }

    /// cback's default level: gzip 6, bzip2 9, zstd 3.
    pub fn default_level(self) -> u32 {
        match self {
            Codec::None => 0,
            Codec::Gzip => 6,
            Codec::Bzip2 => 9,
            Codec::Zstd => 3,
        }
    }

    /// The levels the format accepts.
    pub fn levels(self) -> std::ops::RangeInclusive<u32> {
        match self {
            Codec::None => 0..=0,
            Codec::Gzip => 0..=9,
            Codec::Bzip2 => 1..=9,
            Codec::Zstd => 1..=19,
        }
    }
}

/// How to compress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    pub codec: Codec,
    pub level: u32,
    /// Compression threads; 0 means one per core.
    pub threads: usize,
}

impl Settings {
    pub fn new(codec: Codec) -> Settings {
        Settings {
            codec,
            level: codec.default_level(),
            threads: 0,
        }
    }

    fn thread_count(&self) -> usize {
        if self.threads > 0 {
            self.threads
        } else {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        }
    }
}

/// Gzip block size: large enough that independent members cost little ratio.
pub const GZIP_BLOCK: usize = 1 << 20;

/// zstd's job size with more than one thread. The library's default at level 3 is 8 MiB, and
/// it keeps several jobs' input and output per worker: about 48 MiB of memory on two threads.
/// 2 MiB jobs keep it under 18 MiB for a ratio within 3% (pgbench dump, scale 50).
pub const ZSTD_JOB: u32 = 2 << 20;

/// One gzip member for a block.
pub fn gzip_block(data: &[u8], level: u32) -> io::Result<Vec<u8>> {
    let mut enc = flate2::write::GzEncoder::new(
        Vec::with_capacity(data.len() / 3 + 64),
        flate2::Compression::new(level),
    );
    enc.write_all(data)?;
    enc.finish()
}

/// One bzip2 stream for a block.
pub fn bzip2_block(data: &[u8], level: u32) -> io::Result<Vec<u8>> {
    let mut enc = bzip2::write::BzEncoder::new(
        Vec::with_capacity(data.len() / 3 + 64),
        bzip2::Compression::new(level),
    );
    enc.write_all(data)?;
    enc.finish()
}

/// Counts bytes written through it.
#[derive(Debug)]
pub struct Counting<W> {
    inner: W,
    count: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.count += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A compressing writer of any [`Codec`].
pub enum Compressor<W: Write + Send + 'static> {
    Plain(Counting<W>),
    Parallel(ParallelWriter<W>),
    Zstd(zstd::stream::write::Encoder<'static, Counting<W>>, u64),
}

impl<W: Write + Send + 'static> std::fmt::Debug for Compressor<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Compressor::Plain(_) => "Compressor::Plain",
            Compressor::Parallel(_) => "Compressor::Parallel",
            Compressor::Zstd(..) => "Compressor::Zstd",
        })
    }
}

impl<W: Write + Send + 'static> Compressor<W> {
    /// A compressor writing into `inner`.
    pub fn new(inner: W, settings: Settings) -> io::Result<Compressor<W>> {
        let threads = settings.thread_count();
        Ok(match settings.codec {
            Codec::None => Compressor::Plain(Counting { inner, count: 0 }),
            Codec::Gzip => Compressor::Parallel(ParallelWriter::new(
                inner,
                gzip_block,
                settings.level,
                threads,
                GZIP_BLOCK,
            )),
            Codec::Bzip2 => Compressor::Parallel(ParallelWriter::new(
                inner,
                bzip2_block,
                settings.level,
                threads,
                // One bzip2 block per stream at this level (100k per level step, less slack
                // for the run-length pre-pass).
                settings.level.clamp(1, 9) as usize * 100_000 - 10_000,
            )),
            Codec::Zstd => {
                let mut enc = zstd::stream::write::Encoder::new(
                    Counting { inner, count: 0 },
                    settings.level as i32,
                )?;
                if threads > 1 {
                    enc.multithread(threads as u32)?;
                    enc.set_parameter(zstd::stream::raw::CParameter::JobSize(ZSTD_JOB))?;
                }
                Compressor::Zstd(enc, 0)
            }
        })
    }

    /// Finishes the stream and returns the inner writer with the totals.
    pub fn finish(self) -> io::Result<(W, Totals)> {
        match self {
            Compressor::Plain(mut c) => {
                c.flush()?;
                Ok((
                    c.inner,
                    Totals {
                        raw: c.count,
                        compressed: c.count,
                        members: Vec::new(),
                    },
                ))
            }
            Compressor::Parallel(p) => p.finish(),
            Compressor::Zstd(enc, raw) => {
                let mut c = enc.finish()?;
                c.flush()?;
                Ok((
                    c.inner,
                    Totals {
                        raw,
                        compressed: c.count,
                        members: Vec::new(),
                    },
                ))
            }
        }
    }
}

impl<W: Write + Send + 'static> Write for Compressor<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Compressor::Plain(c) => c.write(buf),
            Compressor::Parallel(p) => p.write(buf),
            Compressor::Zstd(enc, raw) => {
                let n = enc.write(buf)?;
                *raw += n as u64;
                Ok(n)
            }
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Compressor::Plain(c) => c.flush(),
            Compressor::Parallel(p) => p.flush(),
            Compressor::Zstd(enc, _) => enc.flush(),
        }
    }
}

#[cfg(test)]
mod tests;
