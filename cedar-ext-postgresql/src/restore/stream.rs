//! Opening a dump copy as the stream of its content: decrypted (`.gpg`, through `gpg
//! --decrypt`) and decompressed (gzip members, bzip2 streams, zstd frames) while it is read,
//! never written out. Every read error names the file.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};

use super::catalog::{Compression, DumpCopy};

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
/// decrypts (`gpg`, or an `<override>`).
pub fn open(copy: &DumpCopy, gpg: &Path) -> io::Result<Content> {
    let raw: Box<dyn Read + Send> = if copy.encrypted {
        Box::new(Decrypting::start(gpg, &copy.path)?)
    } else {
        Box::new(File::open(&copy.path)?)
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

/// `gpg --batch --decrypt FILE`'s standard output; at its end the exit status is checked.
struct Decrypting {
    child: Child,
    stdout: std::process::ChildStdout,
    stderr: Option<std::thread::JoinHandle<String>>,
    done: bool,
}

impl Decrypting {
    fn start(gpg: &Path, path: &Path) -> io::Result<Decrypting> {
        let mut child = cedar_core::process::command(gpg)
            .args(["--batch", "--quiet", "--no-tty", "--decrypt", "--"])
            .arg(path)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!(
                        "cannot start {} to decrypt it: {e}; install gnupg or set an <override> for gpg",
                        gpg.display()
                    ),
                )
            })?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut err = child.stderr.take().expect("stderr is piped");
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = err.read_to_string(&mut text);
            text
        });
        Ok(Decrypting {
            child,
            stdout,
            stderr: Some(stderr),
            done: false,
        })
    }
}

impl Read for Decrypting {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.done {
            return Ok(0);
        }
        let n = self.stdout.read(buf)?;
        if n == 0 && !buf.is_empty() {
            self.done = true;
            let status = self.child.wait()?;
            let text = self
                .stderr
                .take()
                .and_then(|h| h.join().ok())
                .unwrap_or_default();
            if !status.success() {
                return Err(io::Error::other(format!(
                    "gpg --decrypt failed ({status}): {}; check that the secret key is in the keyring of this user",
                    cedar_core::process::tail(&text, 5)
                )));
            }
        }
        Ok(n)
    }
}

impl Drop for Decrypting {
    fn drop(&mut self) {
        if !self.done {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
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
