//! Reading a finished dump back before it takes its final name.
//!
//! - A plain dump is read through its decompressor (gzip members, bzip2 streams, zstd frames,
//!   or nothing) in 64 KiB steps, so memory stays constant whatever the size. It must
//!   decompress without error and end with the completion marker pg_dump or pg_dumpall writes
//!   last ([`DUMP_MARKER`], [`CLUSTER_MARKER`]). Only comment lines, blank lines and the
//!   `\unrestrict KEY` line that PostgreSQL releases since August 2025 add may follow it.
//! - A custom-format archive is checked with `pg_restore --list` (the table of contents) and
//!   then `pg_restore --file=/dev/null`, which reads every data block: `--list` alone does not
//!   notice an archive cut short after its table of contents.
//!
//! The same read computes the file's size and SHA-256 for the manifest; [`hash_file`] does only
//! that when verification is turned off.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::process::Stdio;

use cedar_core::compress::Codec;
use sha2::{Digest, Sha256};

/// The last comment pg_dump writes into a plain dump of one database.
pub const DUMP_MARKER: &str = "-- PostgreSQL database dump complete";
/// The last comment pg_dumpall writes (also with `--globals-only`).
pub const CLUSTER_MARKER: &str = "-- PostgreSQL database cluster dump complete";

/// How many decompressed bytes at the end are kept to look for the marker.
const TAIL: usize = 16 * 1024;
const BUF: usize = 64 * 1024;
/// How many decompressed bytes at the start are kept to read the versions in the header.
const HEAD: usize = 4 * 1024;

/// What kind of file is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Plain SQL from pg_dump.
    Dump,
    /// Plain SQL from pg_dumpall (a whole cluster, or `--globals-only`).
    Cluster,
    /// A `pg_dump -Fc` archive.
    Custom,
}

impl Kind {
    fn marker(self) -> &'static str {
        match self {
            Kind::Dump | Kind::Custom => DUMP_MARKER,
            Kind::Cluster => CLUSTER_MARKER,
        }
    }
}

/// Size and SHA-256 of a file as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digested {
    pub size: u64,
    /// Lowercase hex.
    pub sha256: String,
}

/// A file that passed verification: its digest, and the versions its header names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub digest: Digested,
    /// `15.18 (Debian 15.18-0+deb12u1)` from `-- Dumped by pg_dump version ...`.
    pub dumped_by: Option<String>,
    /// From `-- Dumped from database version ...`.
    pub dumped_from: Option<String>,
}

/// Finds `Dumped by pg_dump version` and `Dumped from database version` in the header of a
/// plain dump (`-- ... version X`) or in `pg_restore --list` output (`;     ... version: X`).
pub fn header_versions(head: &[u8]) -> (Option<String>, Option<String>) {
    let text = String::from_utf8_lossy(head);
    let find = |what: &str| {
        text.lines().find_map(|line| {
            let line = line.trim_start_matches([';', '-', ' ']);
            let rest = line.strip_prefix(what)?;
            let rest = rest.strip_prefix(':').unwrap_or(rest).trim();
            (!rest.is_empty()).then(|| rest.to_string())
        })
    };
    (
        find("Dumped by pg_dump version"),
        find("Dumped from database version"),
    )
}

/// Why a file failed verification.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("cannot read {} back", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{} does not decompress ({codec}); the file is damaged or cut short", path.display())]
    Decompress {
        path: PathBuf,
        codec: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("{} is incomplete: it does not end with `{marker}`, so {program} stopped early although it reported success{}", path.display(), last_line(last))]
    Incomplete {
        path: PathBuf,
        marker: &'static str,
        program: &'static str,
        /// The last non-empty line found, for the message.
        last: String,
    },
    #[error("cannot run `{}` to check the archive (install the PostgreSQL client programs, or point an <override> in <options> at pg_restore)", program.display())]
    Spawn {
        program: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("`{} {step}` rejects the archive {}: {}", program.display(), path.display(), stderr.trim())]
    Restore {
        program: PathBuf,
        step: &'static str,
        path: PathBuf,
        stderr: String,
    },
}

fn last_line(last: &str) -> String {
    if last.is_empty() {
        "; it is empty".to_string()
    } else {
        format!("; its last line is `{last}`")
    }
}

fn codec_name(codec: Codec) -> &'static str {
    match codec {
        Codec::None => "none",
        Codec::Gzip => "gzip",
        Codec::Bzip2 => "bzip2",
        Codec::Zstd => "zstd",
    }
}

/// The codec of a file, from its name (`.gz`, `.bz2`, `.zst`, else none).
pub fn codec_of(name: &str) -> Codec {
    if name.ends_with(".gz") {
        Codec::Gzip
    } else if name.ends_with(".bz2") {
        Codec::Bzip2
    } else if name.ends_with(".zst") {
        Codec::Zstd
    } else {
        Codec::None
    }
}

/// A reader that hashes and counts what passes through it.
struct Hashing<R> {
    inner: R,
    hasher: Sha256,
    size: u64,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }
}

impl<R> Hashing<R> {
    fn digest(self) -> Digested {
        Digested {
            size: self.size,
            sha256: hex(&self.hasher.finalize()),
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Size and SHA-256 of `path`, read in constant memory.
pub fn hash_file(path: &Path) -> io::Result<Digested> {
    let mut reader = Hashing {
        inner: File::open(path)?,
        hasher: Sha256::new(),
        size: 0,
    };
    io::copy(&mut reader, &mut io::sink())?;
    Ok(reader.digest())
}

/// Checks a plain dump: decompresses `path` with `codec` and looks for `kind`'s marker at
/// its end. Returns the file's size and SHA-256.
pub fn verify_plain(path: &Path, codec: Codec, kind: Kind) -> Result<Verified, VerifyError> {
    let file = File::open(path).map_err(|source| VerifyError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let mut raw = Hashing {
        inner: io::BufReader::with_capacity(BUF, file),
        hasher: Sha256::new(),
        size: 0,
    };
    let (head, tail) = {
        let decoder: Box<dyn Read + '_> = match codec {
            Codec::None => Box::new(&mut raw),
            Codec::Gzip => Box::new(flate2::read::MultiGzDecoder::new(&mut raw)),
            Codec::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(&mut raw)),
            Codec::Zstd => Box::new(
                zstd::stream::read::Decoder::with_buffer(io::BufReader::new(&mut raw)).map_err(
                    |source| VerifyError::Read {
                        path: path.to_path_buf(),
                        source,
                    },
                )?,
            ),
        };
        read_tail(decoder).map_err(|source| {
            if codec == Codec::None {
                VerifyError::Read {
                    path: path.to_path_buf(),
                    source,
                }
            } else {
                VerifyError::Decompress {
                    path: path.to_path_buf(),
                    codec: codec_name(codec),
                    source,
                }
            }
        })?
    };
    // The decoders stop at the end of the last complete stream; what follows is not theirs.
    let trailing = io::copy(&mut raw, &mut io::sink()).map_err(|source| VerifyError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    if trailing > 0 && codec != Codec::None {
        return Err(VerifyError::Decompress {
            path: path.to_path_buf(),
            codec: codec_name(codec),
            source: io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{trailing} bytes of garbage after the compressed data"),
            ),
        });
    }
    if !ends_with_marker(&tail, kind.marker()) {
        let text = String::from_utf8_lossy(&tail);
        let last = text
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .chars()
            .take(120)
            .collect();
        return Err(VerifyError::Incomplete {
            path: path.to_path_buf(),
            marker: kind.marker(),
            program: if kind == Kind::Cluster {
                "pg_dumpall"
            } else {
                "pg_dump"
            },
            last,
        });
    }
    let (dumped_by, dumped_from) = header_versions(&head);
    Ok(Verified {
        digest: raw.digest(),
        dumped_by,
        dumped_from,
    })
}

/// Reads `reader` to its end; returns its first [`HEAD`] and last [`TAIL`] bytes.
fn read_tail(mut reader: impl Read) -> io::Result<(Vec<u8>, Vec<u8>)> {
    let mut buf = vec![0u8; BUF];
    let mut head: Vec<u8> = Vec::with_capacity(HEAD);
    let mut tail: Vec<u8> = Vec::with_capacity(TAIL + BUF);
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        };
        if head.len() < HEAD {
            let take = n.min(HEAD - head.len());
            head.extend_from_slice(&buf[..take]);
        }
        tail.extend_from_slice(&buf[..n]);
        if tail.len() > TAIL {
            tail.drain(..tail.len() - TAIL);
        }
    }
    Ok((head, tail))
}

/// Whether `tail` holds `marker` as a whole line, followed only by blank lines, `--` comment
/// lines and `\unrestrict` lines.
pub fn ends_with_marker(tail: &[u8], marker: &str) -> bool {
    let text = String::from_utf8_lossy(tail);
    let mut lines: Vec<&str> = text.split('\n').collect();
    // The file must end with a line feed: a last line without one is cut short.
    if lines.pop() != Some("") {
        return false;
    }
    for line in lines.iter().rev() {
        let line = line.trim_end_matches('\r');
        if line == marker {
            return true;
        }
        let harmless =
            line.trim().is_empty() || line.starts_with("--") || line.starts_with("\\unrestrict ");
        if !harmless {
            return false;
        }
    }
    false
}

/// Checks a custom-format archive with `pg_restore --list`, then `pg_restore --file=/dev/null`
/// (every data block read), and hashes it.
pub fn verify_custom(path: &Path, pg_restore: &Path) -> Result<Verified, VerifyError> {
    let mut listing = Vec::new();
    for (step, args) in [
        ("--list", &["--list"][..]),
        ("--file=/dev/null", &["--file=/dev/null"][..]),
    ] {
        let output = cedar_core::process::command(pg_restore)
            .args(args)
            .arg(path)
            .stdin(Stdio::null())
            .stdout(if step == "--list" {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stderr(Stdio::piped())
            .output()
            .map_err(|source| VerifyError::Spawn {
                program: pg_restore.to_path_buf(),
                source,
            })?;
        if !output.status.success() {
            let mut stderr = cedar_core::process::tail(&String::from_utf8_lossy(&output.stderr), 6);
            if stderr.is_empty() {
                stderr = format!("it exited with {}", output.status);
            }
            return Err(VerifyError::Restore {
                program: pg_restore.to_path_buf(),
                step,
                path: path.to_path_buf(),
                stderr,
            });
        }
        if step == "--list" {
            listing = output.stdout;
            listing.truncate(HEAD);
        }
    }
    let digest = hash_file(path).map_err(|source| VerifyError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let (dumped_by, dumped_from) = header_versions(&listing);
    Ok(Verified {
        digest,
        dumped_by,
        dumped_from,
    })
}

/// Verifies `path` as `kind`, compressed with `codec` (plain kinds only).
pub fn verify(
    path: &Path,
    codec: Codec,
    kind: Kind,
    pg_restore: &Path,
) -> Result<Verified, VerifyError> {
    match kind {
        Kind::Custom => verify_custom(path, pg_restore),
        Kind::Dump | Kind::Cluster => verify_plain(path, codec, kind),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;

    const GOOD: &str = "--\n-- PostgreSQL database dump\n--\n\n\\restrict abc\nCREATE TABLE t ();\n\n--\n-- PostgreSQL database dump complete\n--\n\n\\unrestrict abc\n\n";
    const GOOD_CLUSTER: &str = "--\n-- PostgreSQL database cluster dump\n--\n\n\\unrestrict k\n\n--\n-- PostgreSQL database cluster dump complete\n--\n\n";

    fn compress(codec: Codec, data: &[u8]) -> Vec<u8> {
        match codec {
            Codec::None => data.to_vec(),
            Codec::Gzip => {
                // Two members, as the parallel writer makes them.
                let mut out = Vec::new();
                let half = data.len() / 2;
                for part in [&data[..half], &data[half..]] {
                    let mut e =
                        flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                    e.write_all(part).unwrap();
                    out.extend(e.finish().unwrap());
                }
                out
            }
            Codec::Bzip2 => {
                let mut out = Vec::new();
                let half = data.len() / 2;
                for part in [&data[..half], &data[half..]] {
                    let mut e =
                        bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
                    e.write_all(part).unwrap();
                    out.extend(e.finish().unwrap());
                }
                out
            }
            Codec::Zstd => zstd::encode_all(data, 3).unwrap(),
        }
    }

    fn file_with(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    const CODECS: [Codec; 4] = [Codec::None, Codec::Gzip, Codec::Bzip2, Codec::Zstd];

    #[test]
    fn the_marker_must_end_the_dump() {
        assert!(ends_with_marker(GOOD.as_bytes(), DUMP_MARKER));
        assert!(ends_with_marker(GOOD_CLUSTER.as_bytes(), CLUSTER_MARKER));
        assert!(!ends_with_marker(GOOD_CLUSTER.as_bytes(), DUMP_MARKER));
        // Without restrict lines (PostgreSQL before August 2025).
        assert!(ends_with_marker(
            b"x\n--\n-- PostgreSQL database dump complete\n--\n\n",
            DUMP_MARKER
        ));
        // Cut inside the marker, or after it in the middle of a line.
        assert!(!ends_with_marker(
            b"x\n--\n-- PostgreSQL database dump comp",
            DUMP_MARKER
        ));
        assert!(!ends_with_marker(
            b"-- PostgreSQL database dump complete\n--\n\n\\unrestrict ab",
            DUMP_MARKER
        ));
        // The marker in the middle (e.g. inside data) does not count.
        assert!(!ends_with_marker(
            b"-- PostgreSQL database dump complete\nCOPY t FROM stdin;\n",
            DUMP_MARKER
        ));
        assert!(!ends_with_marker(b"", DUMP_MARKER));
    }

    #[test]
    fn complete_dumps_pass_in_every_codec_and_are_hashed() {
        let dir = tempfile::tempdir().unwrap();
        let mut data = String::new();
        for i in 0..50_000 {
            data.push_str(&format!("{i}\trow {i}\n"));
        }
        let data = format!(
            "{}-- Dumped from database version 15.17\n-- Dumped by pg_dump version 15.18 (Debian 15.18-0+deb12u1)\n{data}{}",
            &GOOD[..35],
            &GOOD[35..]
        );
        for codec in CODECS {
            let bytes = compress(codec, data.as_bytes());
            let path = file_with(dir.path(), &format!("d{}", codec.extension()), &bytes);
            let got = verify(
                &path,
                codec_of(&path.to_string_lossy()),
                Kind::Dump,
                Path::new("x"),
            )
            .unwrap_or_else(|e| panic!("{codec:?}: {e}"));
            assert_eq!(got.digest, hash_file(&path).unwrap());
            assert_eq!(got.digest.size, bytes.len() as u64);
            assert_eq!(got.digest.sha256, hex(&Sha256::digest(&bytes)));
            assert_eq!(
                got.dumped_by.as_deref(),
                Some("15.18 (Debian 15.18-0+deb12u1)")
            );
            assert_eq!(got.dumped_from.as_deref(), Some("15.17"));
        }
        let path = file_with(dir.path(), "c.txt", GOOD_CLUSTER.as_bytes());
        verify(&path, Codec::None, Kind::Cluster, Path::new("x")).unwrap();
    }

    #[test]
    fn a_dump_cut_short_fails_in_every_codec() {
        let dir = tempfile::tempdir().unwrap();
        let cut = &GOOD[..GOOD.find("-- PostgreSQL database dump complete").unwrap()];
        for codec in CODECS {
            let bytes = compress(codec, cut.as_bytes());
            let path = file_with(dir.path(), &format!("cut{}", codec.extension()), &bytes);
            let err = verify(&path, codec, Kind::Dump, Path::new("x")).unwrap_err();
            let text = err.to_string();
            assert!(
                matches!(err, VerifyError::Incomplete { .. }),
                "{codec:?}: {text}"
            );
            assert!(
                text.contains("is incomplete") && text.contains(&*path.to_string_lossy()),
                "{text}"
            );
            assert!(text.contains("last line is `--`"), "{text}");
        }
    }

    #[test]
    fn a_damaged_or_truncated_compressed_file_fails() {
        let dir = tempfile::tempdir().unwrap();
        let data = GOOD.repeat(2000);
        for codec in [Codec::Gzip, Codec::Bzip2, Codec::Zstd] {
            let bytes = compress(codec, data.as_bytes());
            let path = file_with(dir.path(), "t", &bytes[..bytes.len() - 7]);
            let err = verify(&path, codec, Kind::Dump, Path::new("x")).unwrap_err();
            assert!(
                matches!(
                    err,
                    VerifyError::Decompress { .. } | VerifyError::Incomplete { .. }
                ),
                "{codec:?}: {err}"
            );
            let mut bad = bytes.clone();
            let middle = bad.len() / 2;
            bad[middle] ^= 0xff;
            bad[middle + 1] ^= 0x55;
            let path = file_with(dir.path(), "t", &bad);
            assert!(
                verify(&path, codec, Kind::Dump, Path::new("x")).is_err(),
                "{codec:?}: a flipped byte is noticed"
            );
            let mut garbage = bytes.clone();
            garbage.extend_from_slice(b"not compressed");
            let path = file_with(dir.path(), "t", &garbage);
            assert!(
                verify(&path, codec, Kind::Dump, Path::new("x")).is_err(),
                "{codec:?}"
            );
        }
        let err = verify(
            &dir.path().join("missing"),
            Codec::None,
            Kind::Dump,
            Path::new("x"),
        )
        .unwrap_err();
        assert!(matches!(err, VerifyError::Read { .. }), "{err}");
    }

    #[test]
    fn custom_archives_go_through_pg_restore() {
        let dir = tempfile::tempdir().unwrap();
        let fake = dir.path().join("pg_restore");
        std::fs::write(
            &fake,
            "#!/bin/sh\n# fails --file when the archive holds BAD\n\
             case \"$1\" in --list) echo ';     Dumped from database version: 16.1'; exit 0;; esac\n\
             if grep -q BAD \"$2\"; then echo 'pg_restore: error: could not read from input file: end of file' >&2; exit 1; fi\n",
        )
        .unwrap();
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
        let good = file_with(dir.path(), "good.dump", b"PGDMP....");
        let got = verify(&good, Codec::None, Kind::Custom, &fake).unwrap();
        assert_eq!(got.digest.size, 9);
        assert_eq!(got.dumped_from.as_deref(), Some("16.1"));
        assert_eq!(got.dumped_by, None);
        let bad = file_with(dir.path(), "bad.dump", b"PGDMP BAD");
        let err = verify(&bad, Codec::None, Kind::Custom, &fake).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("--file=/dev/null") && text.contains("end of file"),
            "{text}"
        );
        let err = verify(&good, Codec::None, Kind::Custom, &dir.path().join("none")).unwrap_err();
        assert!(matches!(err, VerifyError::Spawn { .. }), "{err}");
    }

    #[test]
    fn codecs_follow_the_file_name() {
        assert_eq!(codec_of("postgresqldump.txt.gz"), Codec::Gzip);
        assert_eq!(codec_of("postgresqldump.txt.bz2"), Codec::Bzip2);
        assert_eq!(codec_of("postgresqldump-a.txt.zst"), Codec::Zstd);
        assert_eq!(codec_of("postgresqldump-a.txt"), Codec::None);
        assert_eq!(codec_of("postgresqldump-a.dump"), Codec::None);
    }
}
