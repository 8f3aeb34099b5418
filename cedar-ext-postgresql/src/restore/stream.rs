//! Opening a dump copy as the stream of its content: read from its file or its remote place
//! (decrypted there when the place encrypts), checked against the manifest's SHA-256 on the
//! way, decrypted (`.gpg`, through `gpg --decrypt`) and decompressed (gzip members, bzip2
//! streams, zstd frames) while it is read, never written out. Every read error names the file.

use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

use cedar_core::{DigestReader, GpgDecrypting, GpgInput};

use super::catalog::{Compression, DumpCopy, Listed};

/// A dump's content as it is read.
pub struct Content {
    inner: Box<dyn Read + Send>,
    path: PathBuf,
}

impl std::fmt::Debug for Content {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Content").field("path", &self.path).finish()
    }
}

impl Read for Content {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!(
                    "{}: {e} (the file is damaged or cut short)",
                    self.path.display()
                ),
            )
        })
    }
}

/// Opens `copy` for reading its decrypted, decompressed content. `gpg` is the program that
/// decrypts (`gpg`, or an `<override>`). When the manifest gives the copy's SHA-256, the bytes
/// are hashed as they stream and the read fails at their end if they differ (a copy changed
/// or damaged since it was checked), before the client can commit.
pub fn open(copy: &DumpCopy, gpg: &Path) -> io::Result<Content> {
    let stored = copy.stored()?;
    let stored: Box<dyn Read + Send> = match &copy.listed {
        Listed::Entry {
            sha256: Some(sha256),
            ..
        } => Box::new(Verifying {
            inner: DigestReader::new(stored),
            expected: sha256.clone(),
        }),
        _ => stored,
    };
    let raw: Box<dyn Read + Send> = if copy.encrypted {
        let input = match &copy.remote {
            None => GpgInput::File(copy.path.clone()),
            Some(_) => GpgInput::Reader(stored),
        };
        Box::new(GpgDecrypting::start(gpg, input)?)
    } else {
        stored
    };
    let raw = BufReader::with_capacity(1 << 20, raw);
    let inner: Box<dyn Read + Send> = match copy.compression {
        Compression::None => Box::new(raw),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(raw)),
        Compression::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(raw)),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(raw)?),
    };
    Ok(Content {
        inner,
        path: copy.path.clone(),
    })
}

/// The stored bytes, checked against the manifest's SHA-256 at their end.
struct Verifying<R> {
    inner: DigestReader<R>,
    expected: String,
}

impl<R: Read> Read for Verifying<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && !buf.is_empty() {
            let found = self.inner.digest();
            if found.sha256 != self.expected {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "its SHA-256 is {}, the manifest says {}: the copy changed or was damaged while it was read",
                        found.sha256, self.expected
                    ),
                ));
            }
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::restore::catalog::describe_path;
    use std::io::Write;

    fn round_trip(name: &str, bytes: Vec<u8>) -> io::Result<Vec<u8>> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let copy = describe_path(&path).unwrap();
        let mut out = Vec::new();
        open(&copy, Path::new("gpg"))?.read_to_end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn every_compression_streams_back() {
        let text = b"COPY public.t (a) FROM stdin;\n1\n\\.\n".repeat(1000);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&text).unwrap();
        let mut gz = gz.finish().unwrap();
        // A second member, as the parallel compressor writes.
        let mut second = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        second.write_all(b"more\n").unwrap();
        gz.extend(second.finish().unwrap());
        let mut expected = text.clone();
        expected.extend_from_slice(b"more\n");
        assert_eq!(round_trip("postgresqldump-a.txt.gz", gz).unwrap(), expected);

        let mut bz = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
        bz.write_all(&text).unwrap();
        assert_eq!(
            round_trip("postgresqldump-a.txt.bz2", bz.finish().unwrap()).unwrap(),
            text
        );
        let zst = zstd::encode_all(&text[..], 3).unwrap();
        assert_eq!(round_trip("postgresqldump-a.txt.zst", zst).unwrap(), text);
        assert_eq!(
            round_trip("postgresqldump-a.txt", text.clone()).unwrap(),
            text
        );
    }

    #[test]
    fn a_cut_gzip_file_is_an_error_naming_it() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&b"x".repeat(100_000)).unwrap();
        let gz = gz.finish().unwrap();
        let err = round_trip("postgresqldump-a.txt.gz", gz[..gz.len() / 2].to_vec()).unwrap_err();
        assert!(err.to_string().contains("postgresqldump-a.txt.gz"), "{err}");
    }
}
