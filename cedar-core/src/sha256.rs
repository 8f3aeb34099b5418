//! SHA-256 and size of files: [`DigestWriter`] hashes what is written through it, so a file's
//! digest needs no second read; [`hash_file`] reads a file in constant memory.
//!
//! Shared by the postgresql extension (its manifest) and the stage action (checking staged
//! dumps against that manifest).

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;

use sha2::{Digest, Sha256};

/// Size and SHA-256 of a file as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digested {
    pub size: u64,
    /// Lowercase hex.
    pub sha256: String,
}

/// A writer that hashes and counts the bytes it passes on to `inner`: put between the
/// compressor and the file, it gives the size and SHA-256 of the file without reading it back.
pub struct DigestWriter<W> {
    inner: W,
    /// None: only counting (nobody needs the hash).
    hasher: Option<Sha256>,
    size: u64,
}

impl<W: Write> DigestWriter<W> {
    /// Hashes and counts.
    pub fn new(inner: W) -> DigestWriter<W> {
        DigestWriter {
            inner,
            hasher: Some(Sha256::new()),
            size: 0,
        }
    }

    /// Only counts: [`DigestWriter::finish`] then gives an empty `sha256`.
    pub fn counting(inner: W) -> DigestWriter<W> {
        DigestWriter {
            inner,
            hasher: None,
            size: 0,
        }
    }

    /// The inner writer, and the size and SHA-256 of everything written through.
    pub fn finish(self) -> (W, Digested) {
        let digest = Digested {
            size: self.size,
            sha256: self.hasher.map(|h| hex(&h.finalize())).unwrap_or_default(),
        };
        (self.inner, digest)
    }
}

impl<W> std::fmt::Debug for DigestWriter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DigestWriter")
            .field("size", &self.size)
            .field("hashing", &self.hasher.is_some())
            .finish_non_exhaustive()
    }
}

impl<W: Write> Write for DigestWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // Only what the inner writer took is hashed.
        let n = self.inner.write(buf)?;
        if let Some(hasher) = &mut self.hasher {
            hasher.update(&buf[..n]);
        }
        self.size += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A reader that hashes and counts the bytes read through it (a copy checked while it
/// streams, without a second read).
pub struct DigestReader<R> {
    inner: R,
    hasher: Sha256,
    size: u64,
}

impl<R: Read> DigestReader<R> {
    pub fn new(inner: R) -> DigestReader<R> {
        DigestReader {
            inner,
            hasher: Sha256::new(),
            size: 0,
        }
    }

    /// The size and SHA-256 of everything read so far.
    pub fn digest(&self) -> Digested {
        Digested {
            size: self.size,
            sha256: hex(&self.hasher.clone().finalize()),
        }
    }
}

impl<R> std::fmt::Debug for DigestReader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DigestReader")
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

impl<R: Read> Read for DigestReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }
}

/// Size and SHA-256 of everything `reader` gives, read in constant memory.
pub fn hash_reader(reader: impl Read) -> io::Result<Digested> {
    let mut reader = DigestReader::new(reader);
    io::copy(&mut reader, &mut io::sink())?;
    Ok(reader.digest())
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Size and SHA-256 of `path`, read in constant memory.
pub fn hash_file(path: &Path) -> io::Result<Digested> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut size = 0u64;
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        };
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    Ok(Digested {
        size,
        sha256: hex(&hasher.finalize()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reader_is_hashed_as_it_is_read() {
        let data = b"abc".repeat(100_000);
        let digest = hash_reader(&data[..]).unwrap();
        assert_eq!(digest.size, 300_000);
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("f"), &data).unwrap();
        assert_eq!(hash_file(&dir.path().join("f")).unwrap(), digest);
        assert_eq!(
            hash_reader(&b"abc"[..]).unwrap().sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn writer_and_file_agree() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let mut writer = DigestWriter::new(File::create(&path).unwrap());
        writer.write_all(b"abc").unwrap();
        let (_, digest) = writer.finish();
        assert_eq!(digest.size, 3);
        assert_eq!(
            digest.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(hash_file(&path).unwrap(), digest);
        let (_, counted) = {
            let mut w = DigestWriter::counting(io::sink());
            w.write_all(b"abcd").unwrap();
            w.finish()
        };
        assert_eq!((counted.size, counted.sha256.as_str()), (4, ""));
    }
}
