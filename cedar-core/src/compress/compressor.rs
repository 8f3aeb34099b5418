//! The codecs, their settings, and the compressor that writes any of them while counting the
//! bytes that went in and came out.

use std::io::{self, Write};

use super::parallel::{ParallelWriter, Totals};

/// A compression format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    None,
    Gzip,
    Bzip2,
    /// cback only: zstd, written to `.zst` (the original knows none, gzip and bzip2).
    Zstd,
}

impl Codec {
    /// The names of the codecs as a configuration writes them, the original's three first.
    pub const NAMES: [&'static str; 4] = ["none", "gzip", "bzip2", "zstd"];

    /// The codec of a configuration value, taken as written (no trimming, no case folding).
    pub fn parse(text: &str) -> Option<Codec> {
        match text {
            "none" => Some(Codec::None),
            "gzip" => Some(Codec::Gzip),
            "bzip2" => Some(Codec::Bzip2),
            "zstd" => Some(Codec::Zstd),
            _ => None,
        }
    }

    /// The name used in the configuration.
    pub fn name(self) -> &'static str {
        match self {
            Codec::None => "none",
            Codec::Gzip => "gzip",
            Codec::Bzip2 => "bzip2",
            Codec::Zstd => "zstd",
        }
    }

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

/// How the compressed output is laid out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Framing {
    /// gzip and bzip2 as independent members of a block each ([`Totals::members`] notes them,
    /// so that a reader can decompress them independently): the extensions' output.
    #[default]
    Members,
    /// The collect action's archives, byte for byte as cback's collect has always written them:
    /// gzip as one member for the whole stream ([`ParallelWriter::one_gzip_member`], as the
    /// original's `tarfile` writes one member), bzip2 as independent streams of
    /// [`BZIP2_ARCHIVE_BLOCK`] bytes. zstd and plain output are laid out as with `Members`.
    Archive,
}

/// How to compress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    pub codec: Codec,
    pub level: u32,
    /// Compression threads; 0 means one per core.
    pub threads: usize,
    pub framing: Framing,
}

impl Settings {
    pub fn new(codec: Codec) -> Settings {
        Settings {
            codec,
            level: codec.default_level(),
            threads: 0,
            framing: Framing::Members,
        }
    }

    fn thread_count(&self) -> usize {
        if self.threads > 0 {
            self.threads
        } else {
            cores()
        }
    }
}

/// The cores available (at least one).
fn cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// The threads the collect action compresses and digests with: the cores available, at most 4.
pub fn worker_count() -> usize {
    cores().clamp(1, 4)
}

/// Gzip block size: large enough that independent members cost little ratio.
pub const GZIP_BLOCK: usize = 1 << 20;

/// The bzip2 block size of [`Framing::Archive`]: below bzip2's 900k block, so that each block
/// is one bzip2 block.
pub const BZIP2_ARCHIVE_BLOCK: usize = 850_000;

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
            Codec::Gzip => Compressor::Parallel(match settings.framing {
                Framing::Members => {
                    ParallelWriter::new(inner, gzip_block, settings.level, threads, GZIP_BLOCK)
                }
                Framing::Archive => {
                    ParallelWriter::one_gzip_member(inner, settings.level, threads, GZIP_BLOCK)
                }
            }),
            Codec::Bzip2 => Compressor::Parallel(ParallelWriter::new(
                inner,
                bzip2_block,
                settings.level,
                threads,
                match settings.framing {
                    // One bzip2 block per stream at this level (100k per level step, less
                    // slack for the run-length pre-pass).
                    Framing::Members => settings.level.clamp(1, 9) as usize * 100_000 - 10_000,
                    Framing::Archive => BZIP2_ARCHIVE_BLOCK,
                },
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
