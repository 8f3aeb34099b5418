//! Reading a finished dump back before it takes its final name.
//!
//! The writer hashes the bytes as they go to the file ([`DigestWriter`]), so the manifest's
//! size and SHA-256 need no second read, and knows how many bytes it wrote before and after
//! compression, and where each gzip member or bzip2 stream lies ([`Written`]). The check:
//!
//! - The file must hold exactly the bytes written (its size).
//! - A gzip or bzip2 dump with a member map is decompressed member by member on a small pool of
//!   threads: each member must decompress cleanly and end exactly where the next begins, the
//!   members must cover the whole file, and each must give back exactly its block's length.
//!   Without a map (zstd, whose multithreaded encoder writes one frame) the file is decompressed
//!   in one pass, in 64 KiB steps, and must end with its last frame. Either way memory stays
//!   constant whatever the size, and the decompressed total must equal the bytes pg_dump wrote.
//! - An uncompressed dump needs no decoding: its content was hashed as it was written.
//! - The decompressed stream must end with the completion marker pg_dump or pg_dumpall writes
//!   last ([`DUMP_MARKER`], [`CLUSTER_MARKER`]). Only comment lines, blank lines and the
//!   `\unrestrict KEY` line that PostgreSQL releases since August 2025 add may follow it.
//! - A custom-format archive is checked with `pg_restore --list` (the table of contents) and
//!   then `pg_restore --file=/dev/null`, which reads every data block: `--list` alone does not
//!   notice an archive cut short after its table of contents.
//!
//! The hashing (`DigestWriter`, and `hash_file` for `cback pgverify`) lives in
//! [`cedar_core::Digested`], shared with the stage action.

use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use cedar_core::{Codec, CompressedMember, Digested};

/// The last comment pg_dump writes into a plain dump of one database.
pub const DUMP_MARKER: &str = "-- PostgreSQL database dump complete";
/// The last comment pg_dumpall writes (also with `--globals-only`).
pub const CLUSTER_MARKER: &str = "-- PostgreSQL database cluster dump complete";

/// How many decompressed bytes at the end are kept to look for the marker.
const TAIL: usize = 16 * 1024;
/// How many bytes at the end of an uncompressed dump are read to look for the marker.
const PLAIN_TAIL: usize = 64 * 1024;
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
    #[error("the check of {} was stopped: the run was interrupted", path.display())]
    Interrupted { path: PathBuf },
    #[error("cannot read {} back", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{} holds {found} bytes, but {expected} were written to it", path.display())]
    Size {
        path: PathBuf,
        expected: u64,
        found: u64,
    },
    #[error("{} decompresses ({codec}) to {found} bytes, but {expected} were dumped into it", path.display())]
    Length {
        path: PathBuf,
        codec: &'static str,
        expected: u64,
        found: u64,
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

/// The codec of a file, from its name (`.gz`, `.bz2`, `.zst`, else none; for the tests).
#[cfg(test)]
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

/// What the writer of a file knows about it: checked against the file, not recomputed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// Size and SHA-256 of the bytes written to the file.
    pub digest: Digested,
    /// The bytes that went into the compressor (pg_dump's output).
    pub raw: u64,
    /// The gzip members or bzip2 streams written, in order (empty when unknown).
    pub members: Vec<CompressedMember>,
}

/// What a plain dump decompressed to: its first [`HEAD`] and last [`TAIL`] bytes, and its length.
#[derive(Debug)]
struct Decoded {
    head: Vec<u8>,
    tail: Vec<u8>,
    raw: u64,
}

fn read_error(path: &Path) -> impl FnOnce(io::Error) -> VerifyError + '_ {
    move |source| VerifyError::Read {
        path: path.to_path_buf(),
        source,
    }
}

fn decompress_error(path: &Path, codec: Codec, source: io::Error) -> VerifyError {
    VerifyError::Decompress {
        path: path.to_path_buf(),
        codec: codec_name(codec),
        source,
    }
}

/// Opens `path` and checks that it holds exactly the bytes `written` says went into it.
fn open_written(path: &Path, written: &Written) -> Result<File, VerifyError> {
    let file = File::open(path).map_err(read_error(path))?;
    let found = file.metadata().map_err(read_error(path))?.len();
    if found != written.digest.size {
        return Err(VerifyError::Size {
            path: path.to_path_buf(),
            expected: written.digest.size,
            found,
        });
    }
    Ok(file)
}

/// Checks a plain dump that `written` describes: the file holds the bytes written, it
/// decompresses with `codec` to exactly the bytes dumped, and it ends with `kind`'s marker.
///
/// gzip and bzip2 files with a member map are decompressed member by member on up to
/// `threads` threads; other compressed files in one pass; an uncompressed file is not read
/// in full (its content was hashed as it was written): only its head and its last 64 KiB.
/// The digest returned is that of `written`.
pub fn verify_plain(
    path: &Path,
    codec: Codec,
    kind: Kind,
    written: &Written,
    threads: usize,
) -> Result<Verified, VerifyError> {
    let file = open_written(path, written)?;
    let decoded = match codec {
        Codec::None => read_uncompressed(path, &file, written.digest.size)?,
        Codec::Gzip | Codec::Bzip2 if !written.members.is_empty() => decode_members(
            path,
            &file,
            codec,
            written.digest.size,
            &written.members,
            threads,
        )?,
        Codec::Gzip | Codec::Bzip2 | Codec::Zstd => decode_sequential(path, file, codec)?,
    };
    if decoded.raw != written.raw {
        return Err(VerifyError::Length {
            path: path.to_path_buf(),
            codec: codec_name(codec),
            expected: written.raw,
            found: decoded.raw,
        });
    }
    if !ends_with_marker(&decoded.tail, kind.marker()) {
        let text = String::from_utf8_lossy(&decoded.tail);
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
    let (dumped_by, dumped_from) = header_versions(&decoded.head);
    Ok(Verified {
        digest: written.digest.clone(),
        dumped_by,
        dumped_from,
    })
}

/// The head and the last [`PLAIN_TAIL`] bytes of an uncompressed file of `size` bytes.
fn read_uncompressed(path: &Path, file: &File, size: u64) -> Result<Decoded, VerifyError> {
    let mut head = vec![0u8; HEAD.min(size as usize)];
    file.read_exact_at(&mut head, 0).map_err(read_error(path))?;
    let from = size.saturating_sub(PLAIN_TAIL as u64);
    let mut tail = vec![0u8; (size - from) as usize];
    file.read_exact_at(&mut tail, from)
        .map_err(read_error(path))?;
    Ok(Decoded {
        head,
        tail,
        raw: size,
    })
}

/// Decompresses the whole file in one pass (zstd, or a file without a member map).
fn decode_sequential(path: &Path, file: File, codec: Codec) -> Result<Decoded, VerifyError> {
    let mut raw = io::BufReader::with_capacity(BUF, file);
    let decoded = {
        let decoder: Box<dyn Read + '_> = match codec {
            Codec::None => Box::new(&mut raw),
            Codec::Gzip => Box::new(flate2::read::MultiGzDecoder::new(&mut raw)),
            Codec::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(&mut raw)),
            Codec::Zstd => Box::new(
                zstd::stream::read::Decoder::with_buffer(io::BufReader::new(&mut raw))
                    .map_err(read_error(path))?,
            ),
        };
        read_tail(decoder).map_err(|source| decompress_error(path, codec, source))?
    };
    // The decoders stop at the end of the last complete stream; what follows is not theirs.
    let trailing = io::copy(&mut raw, &mut io::sink()).map_err(read_error(path))?;
    if trailing > 0 {
        return Err(decompress_error(
            path,
            codec,
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{trailing} bytes of garbage after the compressed data"),
            ),
        ));
    }
    Ok(decoded)
}

/// Reads `reader` to its end; returns its first [`HEAD`] and last [`TAIL`] bytes and length.
fn read_tail(mut reader: impl Read) -> io::Result<Decoded> {
    let mut buf = vec![0u8; BUF];
    let mut out = Decoded {
        head: Vec::with_capacity(HEAD),
        tail: Vec::with_capacity(TAIL + BUF),
        raw: 0,
    };
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        };
        out.keep(&buf[..n], true, true);
    }
    Ok(out)
}

impl Decoded {
    /// Counts `chunk`, keeping what belongs to the head and the tail.
    fn keep(&mut self, chunk: &[u8], head: bool, tail: bool) {
        self.raw += chunk.len() as u64;
        if head && self.head.len() < HEAD {
            let take = chunk.len().min(HEAD - self.head.len());
            self.head.extend_from_slice(&chunk[..take]);
        }
        if tail {
            if chunk.len() >= TAIL {
                // The chunk alone holds the whole tail: copy only that.
                self.tail.clear();
                self.tail.extend_from_slice(&chunk[chunk.len() - TAIL..]);
            } else {
                self.tail.extend_from_slice(chunk);
                if self.tail.len() > TAIL {
                    self.tail.drain(..self.tail.len() - TAIL);
                }
            }
        }
    }
}

/// Why one member failed.
enum MemberError {
    Read(io::Error),
    Decode(io::Error),
}

/// Decompresses the members of a gzip or bzip2 file of `size` bytes independently, on up to
/// `threads` threads. Each must decompress cleanly, end exactly where the next one begins and
/// give back its block's length; together they must cover the whole file. Memory: one
/// compressed member and a 64 KiB buffer per thread.
fn decode_members(
    path: &Path,
    file: &File,
    codec: Codec,
    size: u64,
    members: &[CompressedMember],
    threads: usize,
) -> Result<Decoded, VerifyError> {
    let covered: u64 = members.iter().map(|m| m.compressed).sum();
    if covered != size {
        return Err(decompress_error(
            path,
            codec,
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "the {} members written cover {covered} bytes of {size}",
                    members.len()
                ),
            ),
        ));
    }
    // Where each member starts, in the file and in the decompressed stream.
    let mut starts = Vec::with_capacity(members.len());
    let (mut at, mut raw_at) = (0u64, 0u64);
    for member in members {
        starts.push((at, raw_at));
        at += member.compressed;
        raw_at += member.raw;
    }
    let raw_total = raw_at;
    let tail_from = raw_total.saturating_sub(TAIL as u64);

    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let first_error: Mutex<Option<(usize, MemberError)>> = Mutex::new(None);
    // (index, head part, tail part) of the few members at either end.
    let parts: Mutex<Vec<(usize, Decoded)>> = Mutex::new(Vec::new());
    let work = || {
        let mut input = Vec::new();
        let mut out = vec![0u8; BUF];
        while !failed.load(Ordering::Relaxed) {
            let index = next.fetch_add(1, Ordering::Relaxed);
            let Some(member) = members.get(index) else {
                return;
            };
            let (offset, raw_start) = starts[index];
            let head = raw_start < HEAD as u64;
            let tail = raw_start + member.raw > tail_from;
            let mut decoded = Decoded {
                head: Vec::new(),
                tail: Vec::new(),
                raw: 0,
            };
            input.resize(member.compressed as usize, 0);
            let result = file
                .read_exact_at(&mut input, offset)
                .map_err(MemberError::Read)
                .and_then(|()| {
                    decode_member(codec, &input, &mut out, &mut |chunk| {
                        decoded.keep(chunk, head, tail)
                    })
                    .map_err(MemberError::Decode)
                })
                .and_then(|()| {
                    if decoded.raw == member.raw {
                        Ok(())
                    } else {
                        Err(MemberError::Decode(io::Error::new(
                            io::ErrorKind::InvalidData,
                            format!(
                                "it decompresses to {} bytes, its block held {}",
                                decoded.raw, member.raw
                            ),
                        )))
                    }
                });
            match result {
                Ok(()) if head || tail => parts
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push((index, decoded)),
                Ok(()) => {}
                Err(err) => {
                    failed.store(true, Ordering::Relaxed);
                    let mut first = first_error.lock().unwrap_or_else(|e| e.into_inner());
                    // The first failing member in file order is reported.
                    if !first.as_ref().is_some_and(|(i, _)| *i < index) {
                        *first = Some((index, err));
                    }
                }
            }
        }
    };
    let threads = threads.clamp(1, members.len());
    std::thread::scope(|scope| {
        for _ in 1..threads {
            scope.spawn(work);
        }
        work();
    });
    if let Some((index, err)) = first_error.into_inner().unwrap_or_else(|e| e.into_inner()) {
        let (offset, _) = starts[index];
        let place = format!(
            "member {} of {} (bytes {offset}..{})",
            index + 1,
            members.len(),
            offset + members[index].compressed
        );
        return Err(match err {
            MemberError::Read(source) => VerifyError::Read {
                path: path.to_path_buf(),
                source: io::Error::new(source.kind(), format!("{place}: {source}")),
            },
            MemberError::Decode(source) => decompress_error(
                path,
                codec,
                io::Error::new(source.kind(), format!("{place}: {source}")),
            ),
        });
    }
    let mut parts = parts.into_inner().unwrap_or_else(|e| e.into_inner());
    parts.sort_by_key(|(index, _)| *index);
    let mut out = Decoded {
        head: Vec::with_capacity(HEAD),
        tail: Vec::with_capacity(TAIL),
        raw: raw_total,
    };
    for (_, part) in &parts {
        if out.head.len() < HEAD {
            let take = part.head.len().min(HEAD - out.head.len());
            out.head.extend_from_slice(&part.head[..take]);
        }
        out.tail.extend_from_slice(&part.tail);
    }
    if out.tail.len() > TAIL {
        out.tail.drain(..out.tail.len() - TAIL);
    }
    Ok(out)
}

/// Decompresses one gzip member or bzip2 stream that must fill `input` exactly, handing the
/// output to `sink` in pieces of at most `out.len()` bytes.
fn decode_member(
    codec: Codec,
    input: &[u8],
    out: &mut [u8],
    sink: &mut dyn FnMut(&[u8]),
) -> io::Result<()> {
    let rest = match codec {
        Codec::Gzip => {
            let mut decoder = flate2::bufread::GzDecoder::new(input);
            loop {
                match decoder.read(out) {
                    Ok(0) => break,
                    Ok(n) => sink(&out[..n]),
                    Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                    Err(err) => return Err(err),
                }
            }
            decoder.into_inner().len()
        }
        Codec::Bzip2 => {
            let mut decoder = bzip2::Decompress::new(false);
            loop {
                let (took, gave) = (decoder.total_in(), decoder.total_out());
                let status = decoder
                    .decompress(&input[took as usize..], out)
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
                let n = (decoder.total_out() - gave) as usize;
                sink(&out[..n]);
                if status == bzip2::Status::StreamEnd {
                    break;
                }
                if n == 0 && decoder.total_in() == took {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the bzip2 stream is cut short",
                    ));
                }
            }
            input.len() - decoder.total_in() as usize
        }
        Codec::None | Codec::Zstd => {
            return Err(io::Error::other("no independent members in this format"))
        }
    };
    if rest > 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{rest} bytes follow the end of the member"),
        ));
    }
    Ok(())
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
/// (every data block read), after checking that it holds the bytes `written` describes.
pub fn verify_custom(
    path: &Path,
    pg_restore: &Path,
    written: &Written,
) -> Result<Verified, VerifyError> {
    drop(open_written(path, written)?);
    let mut listing = Vec::new();
    for (step, args) in [
        ("--list", &["--list"][..]),
        ("--file=/dev/null", &["--file=/dev/null"][..]),
    ] {
        let mut cmd = cedar_core::child_command(pg_restore);
        cmd.args(args).arg(path);
        // Supervised: reading a large archive takes a while, and a SIGTERM must stop it.
        let output = cedar_core::run_supervised(cmd).map_err(|err| match err {
            cedar_core::SupervisedError::Spawn(source) => VerifyError::Spawn {
                program: pg_restore.to_path_buf(),
                source,
            },
            cedar_core::SupervisedError::Interrupted => VerifyError::Interrupted {
                path: path.to_path_buf(),
            },
        })?;
        if !output.status.success() {
            let mut stderr = cedar_core::last_lines(&String::from_utf8_lossy(&output.stderr), 6);
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
    let (dumped_by, dumped_from) = header_versions(&listing);
    Ok(Verified {
        digest: written.digest.clone(),
        dumped_by,
        dumped_from,
    })
}

/// Verifies `path`, which `written` describes, as `kind`, compressed with `codec` (plain kinds
/// only), decompressing on up to `threads` threads.
pub fn verify(
    path: &Path,
    codec: Codec,
    kind: Kind,
    pg_restore: &Path,
    written: &Written,
    threads: usize,
) -> Result<Verified, VerifyError> {
    match kind {
        Kind::Custom => verify_custom(path, pg_restore, written),
        Kind::Dump | Kind::Cluster => verify_plain(path, codec, kind, written, threads),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cedar_core::{hash_file, lowercase_hex, DigestWriter};
    use sha2::{Digest, Sha256};
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

    fn digest_of(bytes: &[u8]) -> Digested {
        Digested {
            size: bytes.len() as u64,
            sha256: lowercase_hex(&Sha256::digest(bytes)),
        }
    }

    /// What a writer without a member map knows after writing `bytes` from `raw` dumped bytes.
    fn written(bytes: &[u8], raw: usize) -> Written {
        Written {
            digest: digest_of(bytes),
            raw: raw as u64,
            members: Vec::new(),
        }
    }

    /// Checks `path` the way the action does, on two threads.
    fn check(
        path: &Path,
        codec: Codec,
        kind: Kind,
        written: &Written,
    ) -> Result<Verified, VerifyError> {
        verify(path, codec, kind, Path::new("x"), written, 2)
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
            let got = check(
                &path,
                codec_of(&path.to_string_lossy()),
                Kind::Dump,
                &written(&bytes, data.len()),
            )
            .unwrap_or_else(|e| panic!("{codec:?}: {e}"));
            assert_eq!(got.digest, hash_file(&path).unwrap());
            assert_eq!(got.digest.size, bytes.len() as u64);
            assert_eq!(got.digest.sha256, lowercase_hex(&Sha256::digest(&bytes)));
            assert_eq!(
                got.dumped_by.as_deref(),
                Some("15.18 (Debian 15.18-0+deb12u1)")
            );
            assert_eq!(got.dumped_from.as_deref(), Some("15.17"));
        }
        let path = file_with(dir.path(), "c.txt", GOOD_CLUSTER.as_bytes());
        let known = written(GOOD_CLUSTER.as_bytes(), GOOD_CLUSTER.len());
        check(&path, Codec::None, Kind::Cluster, &known).unwrap();
    }

    #[test]
    fn a_dump_cut_short_fails_in_every_codec() {
        let dir = tempfile::tempdir().unwrap();
        let cut = &GOOD[..GOOD.find("-- PostgreSQL database dump complete").unwrap()];
        for codec in CODECS {
            let bytes = compress(codec, cut.as_bytes());
            let path = file_with(dir.path(), &format!("cut{}", codec.extension()), &bytes);
            let err = check(&path, codec, Kind::Dump, &written(&bytes, cut.len())).unwrap_err();
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
            // The file lost bytes after they were written: its size says so.
            let path = file_with(dir.path(), "t", &bytes[..bytes.len() - 7]);
            let err = check(&path, codec, Kind::Dump, &written(&bytes, data.len())).unwrap_err();
            assert!(matches!(err, VerifyError::Size { .. }), "{codec:?}: {err}");
            assert!(
                err.to_string().contains(&format!(
                    "holds {} bytes, but {}",
                    bytes.len() - 7,
                    bytes.len()
                )),
                "{err}"
            );
            // Bytes written cut short: the decompressor says so.
            let cut = &bytes[..bytes.len() - 7];
            let err = check(&path, codec, Kind::Dump, &written(cut, data.len())).unwrap_err();
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
                check(&path, codec, Kind::Dump, &written(&bad, data.len())).is_err(),
                "{codec:?}: a flipped byte is noticed"
            );
            let mut garbage = bytes.clone();
            garbage.extend_from_slice(b"not compressed");
            let path = file_with(dir.path(), "t", &garbage);
            assert!(
                check(&path, codec, Kind::Dump, &written(&garbage, data.len())).is_err(),
                "{codec:?}"
            );
            // Fewer bytes decompressed than pg_dump wrote.
            let path = file_with(dir.path(), "t", &bytes);
            let err =
                check(&path, codec, Kind::Dump, &written(&bytes, data.len() + 1)).unwrap_err();
            assert!(
                matches!(err, VerifyError::Length { .. }),
                "{codec:?}: {err}"
            );
        }
        let err = check(
            &dir.path().join("missing"),
            Codec::None,
            Kind::Dump,
            &written(b"", 0),
        )
        .unwrap_err();
        assert!(matches!(err, VerifyError::Read { .. }), "{err}");
    }

    /// A dump of about 2 MB with its completion marker (unless `complete` is false).
    fn big_dump(complete: bool) -> Vec<u8> {
        let mut data = GOOD[..35].to_string();
        data.push_str("-- Dumped by pg_dump version 16.4\n");
        let mut x = 1u64;
        while data.len() < 2_000_000 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            data.push_str(&format!("{}\trow {}\t{}\n", x >> 40, x % 977, x >> 13));
        }
        if complete {
            data.push_str(&GOOD[35..]);
        }
        data.into_bytes()
    }

    /// `data` compressed by the parallel writer in blocks of 100 kB, as the action writes it.
    fn parallel(codec: Codec, data: &[u8]) -> (Vec<u8>, Written) {
        let block = match codec {
            Codec::Gzip => cedar_core::gzip_block,
            _ => cedar_core::bzip2_block,
        };
        let mut writer =
            cedar_core::ParallelWriter::new(DigestWriter::new(Vec::new()), block, 1, 2, 100_000);
        writer.write_all(data).unwrap();
        let (out, totals) = writer.finish().unwrap();
        let (bytes, digest) = out.finish();
        assert!(totals.members.len() > 10);
        assert_eq!(digest, digest_of(&bytes));
        let written = Written {
            digest,
            raw: totals.raw,
            members: totals.members,
        };
        (bytes, written)
    }

    /// The byte range of member `index` in a file that `written` describes.
    fn member_range(written: &Written, index: usize) -> std::ops::Range<usize> {
        let start: u64 = written.members[..index].iter().map(|m| m.compressed).sum();
        start as usize..(start + written.members[index].compressed) as usize
    }

    #[test]
    fn members_are_checked_in_parallel_with_the_sequential_result() {
        let dir = tempfile::tempdir().unwrap();
        for codec in [Codec::Gzip, Codec::Bzip2] {
            let data = big_dump(true);
            let (bytes, known) = parallel(codec, &data);
            let path = file_with(dir.path(), "p", &bytes);
            let sequential = Written {
                members: Vec::new(),
                ..known.clone()
            };
            let one = verify_plain(&path, codec, Kind::Dump, &sequential, 1).unwrap();
            for threads in [1, 2, 4] {
                let got = verify_plain(&path, codec, Kind::Dump, &known, threads).unwrap();
                assert_eq!(got, one, "{codec:?} on {threads} threads");
            }
            assert_eq!(one.digest, digest_of(&bytes));
            assert_eq!(one.dumped_by.as_deref(), Some("16.4"));
            // The marker cut by a block boundary is still found.
            let tail = &GOOD.as_bytes()[35..];
            assert!(tail.len() > 30);
            let total = (data.len() / 100_000 + 1) * 100_000 + 30;
            let mut longer = data.clone();
            longer.truncate(data.len() - tail.len());
            longer.resize(total - tail.len(), b'\n');
            longer.extend_from_slice(tail);
            let (bytes, known) = parallel(codec, &longer);
            let path = file_with(dir.path(), "p", &bytes);
            assert!(
                known.members.last().unwrap().raw < 100,
                "{:?}",
                known.members.last()
            );
            verify_plain(&path, codec, Kind::Dump, &known, 2)
                .unwrap_or_else(|e| panic!("{codec:?}: {e}"));
        }
    }

    #[test]
    fn a_corrupted_middle_member_is_found_and_named() {
        let dir = tempfile::tempdir().unwrap();
        for codec in [Codec::Gzip, Codec::Bzip2] {
            let (mut bytes, known) = parallel(codec, &big_dump(true));
            let middle = known.members.len() / 2;
            let range = member_range(&known, middle);
            let at = (range.start + range.end) / 2;
            bytes[at] ^= 0x10;
            let path = file_with(dir.path(), "p", &bytes);
            // The file is as written (the compressor's output was bad): decompression notices.
            let known = Written {
                digest: digest_of(&bytes),
                ..known
            };
            for threads in [1, 2] {
                let err = verify_plain(&path, codec, Kind::Dump, &known, threads).unwrap_err();
                let text = format!("{err}: {}", std::error::Error::source(&err).unwrap());
                assert!(matches!(err, VerifyError::Decompress { .. }), "{text}");
                assert!(
                    text.contains(&format!("member {} of {}", middle + 1, known.members.len())),
                    "{codec:?}: {text}"
                );
            }
            let sequential = Written {
                members: Vec::new(),
                ..known
            };
            let err = verify_plain(&path, codec, Kind::Dump, &sequential, 1).unwrap_err();
            assert!(matches!(err, VerifyError::Decompress { .. }), "{err}");
        }
    }

    #[test]
    fn a_cut_last_member_is_found() {
        let dir = tempfile::tempdir().unwrap();
        for codec in [Codec::Gzip, Codec::Bzip2] {
            let (bytes, known) = parallel(codec, &big_dump(true));
            let cut = &bytes[..bytes.len() - 5];
            let path = file_with(dir.path(), "p", cut);
            // Cut after writing: the size differs from what was written.
            let err = verify_plain(&path, codec, Kind::Dump, &known, 2).unwrap_err();
            assert!(matches!(err, VerifyError::Size { .. }), "{err}");
            // Written cut short: the map no longer covers the file, or the member is incomplete.
            let mut short = Written {
                digest: digest_of(cut),
                ..known.clone()
            };
            let err = verify_plain(&path, codec, Kind::Dump, &short, 2).unwrap_err();
            let text = format!("{err}: {}", std::error::Error::source(&err).unwrap());
            assert!(matches!(err, VerifyError::Decompress { .. }), "{text}");
            assert!(text.contains("cover"), "{text}");
            short.members.last_mut().unwrap().compressed -= 5;
            let err = verify_plain(&path, codec, Kind::Dump, &short, 2).unwrap_err();
            let text = format!("{err}: {}", std::error::Error::source(&err).unwrap());
            assert!(matches!(err, VerifyError::Decompress { .. }), "{text}");
            let last = known.members.len();
            assert!(text.contains(&format!("member {last} of {last}")), "{text}");
            // A map that joins two members into one: bytes follow the end of the first.
            let mut joined = known.clone();
            let first = joined.members.remove(0);
            joined.members[0].compressed += first.compressed;
            joined.members[0].raw += first.raw;
            let path = file_with(dir.path(), "p", &bytes);
            let err = verify_plain(&path, codec, Kind::Dump, &joined, 2).unwrap_err();
            let text = format!("{err}: {}", std::error::Error::source(&err).unwrap());
            assert!(text.contains("member 1 of"), "{text}");
        }
    }

    #[test]
    fn a_missing_marker_is_found_on_every_path() {
        let dir = tempfile::tempdir().unwrap();
        let data = big_dump(false);
        for codec in [Codec::Gzip, Codec::Bzip2] {
            let (bytes, known) = parallel(codec, &data);
            let path = file_with(dir.path(), "p", &bytes);
            for written in [
                known.clone(),
                Written {
                    members: Vec::new(),
                    ..known.clone()
                },
            ] {
                let err = verify_plain(&path, codec, Kind::Dump, &written, 2).unwrap_err();
                assert!(matches!(err, VerifyError::Incomplete { .. }), "{err}");
            }
        }
        let path = file_with(dir.path(), "p", &data);
        let err = verify_plain(
            &path,
            Codec::None,
            Kind::Dump,
            &written(&data, data.len()),
            2,
        )
        .unwrap_err();
        assert!(matches!(err, VerifyError::Incomplete { .. }), "{err}");
        let mut complete = data.clone();
        complete.extend_from_slice(&GOOD.as_bytes()[35..]);
        let path = file_with(dir.path(), "p", &complete);
        let got = verify_plain(
            &path,
            Codec::None,
            Kind::Dump,
            &written(&complete, complete.len()),
            2,
        )
        .unwrap();
        assert_eq!(got.digest, digest_of(&complete));
        assert_eq!(got.dumped_by.as_deref(), Some("16.4"));
    }

    #[test]
    fn the_digest_writer_hashes_what_the_file_took() {
        let mut writer = DigestWriter::new(Vec::new());
        writer.write_all(b"hello ").unwrap();
        writer.write_all(b"world").unwrap();
        let (inner, digest) = writer.finish();
        assert_eq!(inner, b"hello world");
        assert_eq!(digest, digest_of(b"hello world"));
        let mut writer = DigestWriter::counting(Vec::new());
        writer.write_all(b"hello").unwrap();
        let (_, digest) = writer.finish();
        assert_eq!((digest.size, digest.sha256.as_str()), (5, ""));
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
        let known = written(b"PGDMP....", 9);
        let got = verify(&good, Codec::None, Kind::Custom, &fake, &known, 1).unwrap();
        assert_eq!(got.digest.size, 9);
        assert_eq!(got.dumped_from.as_deref(), Some("16.1"));
        assert_eq!(got.dumped_by, None);
        let bad = file_with(dir.path(), "bad.dump", b"PGDMP BAD");
        let err = verify(&bad, Codec::None, Kind::Custom, &fake, &known, 1).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("--file=/dev/null") && text.contains("end of file"),
            "{text}"
        );
        let err = verify(
            &good,
            Codec::None,
            Kind::Custom,
            &dir.path().join("none"),
            &known,
            1,
        )
        .unwrap_err();
        assert!(matches!(err, VerifyError::Spawn { .. }), "{err}");
        let err = verify(
            &good,
            Codec::None,
            Kind::Custom,
            &fake,
            &written(b"PGDMP", 5),
            1,
        )
        .unwrap_err();
        assert!(matches!(err, VerifyError::Size { .. }), "{err}");
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
