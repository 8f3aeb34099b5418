//! The compressing writer: none, gzip level 9 or bzip2 level 9, as the original writes them.
//!
//! The decompressed content is exactly the bytes written. Errors of the compressor or of the
//! file underneath come back from `write` and from [`Compressor::finish`]; nothing is dropped.

use std::io::{self, Write};

use bzip2::write::BzEncoder;
use flate2::write::GzEncoder;

use crate::config::CompressMode;

/// A writer that compresses into `W` according to a [`CompressMode`].
pub enum Compressor<W: Write> {
    Plain(W),
    Gzip(GzEncoder<W>),
    Bzip2(BzEncoder<W>),
}

impl<W: Write> std::fmt::Debug for Compressor<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Compressor::Plain(_) => "Compressor::Plain",
            Compressor::Gzip(_) => "Compressor::Gzip",
            Compressor::Bzip2(_) => "Compressor::Bzip2",
        })
    }
}

impl<W: Write> Compressor<W> {
    pub fn new(mode: CompressMode, inner: W) -> Self {
        match mode {
            CompressMode::None => Compressor::Plain(inner),
            CompressMode::Gzip => {
                Compressor::Gzip(GzEncoder::new(inner, flate2::Compression::best()))
            }
            CompressMode::Bzip2 => {
                Compressor::Bzip2(BzEncoder::new(inner, bzip2::Compression::best()))
            }
        }
    }

    /// Writes the compressed stream's trailer, flushes, and returns the inner writer.
    pub fn finish(self) -> io::Result<W> {
        let mut inner = match self {
            Compressor::Plain(inner) => inner,
            Compressor::Gzip(encoder) => encoder.finish()?,
            Compressor::Bzip2(encoder) => encoder.finish()?,
        };
        inner.flush()?;
        Ok(inner)
    }
}

impl<W: Write> Write for Compressor<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Compressor::Plain(w) => w.write(buf),
            Compressor::Gzip(w) => w.write(buf),
            Compressor::Bzip2(w) => w.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Compressor::Plain(w) => w.flush(),
            Compressor::Gzip(w) => w.flush(),
            Compressor::Bzip2(w) => w.flush(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn round_trip(mode: CompressMode, data: &[u8]) -> Vec<u8> {
        let mut c = Compressor::new(mode, Vec::new());
        c.write_all(data).unwrap();
        let bytes = c.finish().unwrap();
        let mut out = Vec::new();
        match mode {
            CompressMode::None => out = bytes,
            CompressMode::Gzip => {
                flate2::read::GzDecoder::new(&bytes[..])
                    .read_to_end(&mut out)
                    .unwrap();
            }
            CompressMode::Bzip2 => {
                bzip2::read::BzDecoder::new(&bytes[..])
                    .read_to_end(&mut out)
                    .unwrap();
            }
        }
        out
    }

    #[test]
    fn every_mode_round_trips() {
        let data: Vec<u8> = (0..200_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        for mode in [CompressMode::None, CompressMode::Gzip, CompressMode::Bzip2] {
            assert_eq!(round_trip(mode, &data), data, "{mode:?}");
            assert_eq!(round_trip(mode, b""), b"", "{mode:?}");
        }
    }

    #[test]
    fn gzip_uses_the_best_level() {
        let mut c = Compressor::new(CompressMode::Gzip, Vec::new());
        c.write_all(b"x").unwrap();
        let bytes = c.finish().unwrap();
        // XFL = 2: the compressor used maximum compression (level 9).
        assert_eq!(&bytes[..3], &[0x1f, 0x8b, 8]);
        assert_eq!(bytes[8], 2);
    }

    #[test]
    fn bzip2_uses_900k_blocks() {
        let mut c = Compressor::new(CompressMode::Bzip2, Vec::new());
        c.write_all(b"x").unwrap();
        let bytes = c.finish().unwrap();
        assert_eq!(&bytes[..4], b"BZh9");
    }

    /// A writer that accepts `room` bytes, then fails like a full disk.
    struct Full {
        room: usize,
    }
    impl Write for Full {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.room == 0 {
                return Err(io::Error::from_raw_os_error(28));
            }
            let n = buf.len().min(self.room);
            self.room -= n;
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn disk_errors_are_reported_in_every_mode() {
        let data: Vec<u8> = (0..300_000u32).flat_map(|i| i.to_le_bytes()).collect();
        for mode in [CompressMode::None, CompressMode::Gzip, CompressMode::Bzip2] {
            let mut c = Compressor::new(mode, Full { room: 10 });
            let result = c.write_all(&data).and_then(|()| c.finish().map(|_| ()));
            let err = result.expect_err("a full disk must be reported");
            assert_eq!(err.raw_os_error(), Some(28), "{mode:?}: {err}");
        }
    }
}
