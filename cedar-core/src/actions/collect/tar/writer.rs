//! Appending files and links to a tar stream, GNU tar style when the source misbehaves.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use super::header::{encode_member, pad_to_block, HeaderFields, BLOCK, RECORD};
use super::owners::Owners;

const COPY_BUFFER: usize = 1 << 20;

/// What happened to one path. Failures to *write* the archive are `Err` instead.
#[derive(Debug)]
pub enum Appended {
    /// Added; `bytes` is the file's size (also for a hard-link member, as the original
    /// counts it).
    Added { bytes: u64 },
    /// The path disappeared before it could be read: warned and skipped.
    Vanished,
    /// The path could not be read: warned, skipped (or zero-filled when it failed midway).
    Unreadable(io::Error),
    /// The path is no longer what the selection saw (e.g. a file became a directory).
    Skipped,
}

/// A tar stream over `W`, tracking hard links and bytes written.
#[derive(Debug)]
pub struct TarWriter<W: Write> {
    out: W,
    owners: Owners,
    /// (dev, ino) → member name of the first member of a multiply-linked file.
    inodes: HashMap<(u64, u64), Vec<u8>>,
    header: Vec<u8>,
    buffer: Vec<u8>,
    written: u64,
}

/// The member name of `path`: its bytes without leading `/`.
fn member_name(path: &Path) -> &[u8] {
    let bytes = path.as_os_str().as_bytes();
    let start = bytes.iter().position(|&b| b != b'/').unwrap_or(bytes.len());
    &bytes[start..]
}

/// `mtime` as `tarfile` stores it: the float timestamp truncated toward zero.
fn mtime_of(meta: &fs::Metadata) -> i64 {
    let secs = meta.mtime();
    if secs < 0 && meta.mtime_nsec() > 0 {
        secs + 1
    } else {
        secs
    }
}

impl<W: Write> TarWriter<W> {
    pub fn new(out: W) -> Self {
        TarWriter {
            out,
            owners: Owners::default(),
            inodes: HashMap::new(),
            header: Vec::with_capacity(4 * BLOCK),
            buffer: vec![0; COPY_BUFFER],
            written: 0,
        }
    }

    fn emit_header(
        &mut self,
        meta: &fs::Metadata,
        name: &[u8],
        size: u64,
        typeflag: u8,
        linkname: &[u8],
    ) -> io::Result<()> {
        self.header.clear();
        let uname = self.owners.user(meta.uid()).to_vec();
        let gname = self.owners.group(meta.gid()).to_vec();
        encode_member(
            &mut self.header,
            &HeaderFields {
                name,
                mode: meta.mode(),
                uid: u64::from(meta.uid()),
                gid: u64::from(meta.gid()),
                size,
                mtime: mtime_of(meta),
                typeflag,
                linkname,
                uname: &uname,
                gname: &gname,
            },
        );
        self.out.write_all(&self.header)?;
        self.written += self.header.len() as u64;
        Ok(())
    }

    /// Appends the soft link `path`.
    pub fn append_link(&mut self, path: &Path) -> io::Result<Appended> {
        let meta = match fs::symlink_metadata(path) {
            Ok(meta) => meta,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Appended::Vanished),
            Err(err) => return Ok(Appended::Unreadable(err)),
        };
        if !meta.file_type().is_symlink() {
            return Ok(Appended::Skipped);
        }
        let target = match fs::read_link(path) {
            Ok(target) => target,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Appended::Vanished),
            Err(err) => return Ok(Appended::Unreadable(err)),
        };
        let name = member_name(path).to_vec();
        self.emit_header(&meta, &name, 0, b'2', target.as_os_str().as_bytes())?;
        Ok(Appended::Added { bytes: 0 })
    }

    /// Appends the regular file `path` (or a hard link to an earlier member of its inode).
    pub fn append_file(&mut self, path: &Path) -> io::Result<Appended> {
        let mut file = match File::open(path) {
            Ok(file) => file,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Appended::Vanished),
            Err(err) => return Ok(Appended::Unreadable(err)),
        };
        let meta = match file.metadata() {
            Ok(meta) => meta,
            Err(err) => return Ok(Appended::Unreadable(err)),
        };
        if !meta.file_type().is_file() {
            return Ok(Appended::Skipped);
        }
        let name = member_name(path).to_vec();
        if meta.nlink() > 1 {
            let key = (meta.dev(), meta.ino());
            match self.inodes.get(&key) {
                Some(first) if *first != name => {
                    let first = first.clone();
                    self.emit_header(&meta, &name, 0, b'1', &first)?;
                    return Ok(Appended::Added { bytes: meta.len() });
                }
                _ => {
                    self.inodes.insert(key, name.clone());
                }
            }
        }
        let size = meta.len();
        self.emit_header(&meta, &name, size, b'0', b"")?;
        let copied = self.copy_content(&mut file, size, path)?;
        if let Ok(after) = file.metadata() {
            if copied == size
                && (after.len() != size
                    || after.mtime() != meta.mtime()
                    || after.mtime_nsec() != meta.mtime_nsec())
            {
                tracing::warn!("File [{}] changed as we read it.", path.display());
            }
        }
        Ok(Appended::Added { bytes: copied })
    }

    /// Copies exactly `size` bytes of `file`, zero-filling whatever could not be read.
    /// Returns the bytes actually read.
    fn copy_content(&mut self, file: &mut File, size: u64, path: &Path) -> io::Result<u64> {
        let mut done: u64 = 0;
        while done < size {
            let want = (size - done).min(self.buffer.len() as u64) as usize;
            let n = match file.read(&mut self.buffer[..want]) {
                Ok(0) => {
                    tracing::warn!(
                        "File [{}] shrank by {} bytes while it was read; padded with zeros.",
                        path.display(),
                        size - done
                    );
                    break;
                }
                Ok(n) => n,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => {
                    tracing::warn!(
                        "Read error in [{}] after {done} bytes: {err}; the rest is padded with zeros.",
                        path.display()
                    );
                    break;
                }
            };
            self.out.write_all(&self.buffer[..n])?;
            done += n as u64;
        }
        let read = done;
        let mut missing = size - done;
        if missing > 0 {
            self.buffer.fill(0);
            while missing > 0 {
                let n = missing.min(self.buffer.len() as u64) as usize;
                self.out.write_all(&self.buffer[..n])?;
                missing -= n as u64;
            }
        }
        let rem = (size % BLOCK as u64) as usize;
        if rem != 0 {
            let zeros = [0u8; BLOCK];
            self.out.write_all(&zeros[..BLOCK - rem])?;
        }
        self.written += size.div_ceil(BLOCK as u64) * BLOCK as u64;
        Ok(read)
    }

    /// Writes the end-of-archive blocks and the record padding, and returns the stream.
    pub fn finish(mut self) -> io::Result<W> {
        let mut tail = vec![0u8; 2 * BLOCK];
        let total = self.written as usize + tail.len();
        let rem = total % RECORD;
        if rem != 0 {
            tail.resize(tail.len() + RECORD - rem, 0);
        }
        pad_to_block(&mut tail);
        self.out.write_all(&tail)?;
        self.out.flush()?;
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_drop_leading_slashes() {
        assert_eq!(
            member_name(Path::new("/usr/include/a.h")),
            b"usr/include/a.h"
        );
        assert_eq!(member_name(Path::new("//x")), b"x");
    }

    #[test]
    fn archive_is_padded_to_a_record() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("f");
        std::fs::write(&f, b"hello").unwrap();
        let mut w = TarWriter::new(Vec::new());
        assert!(matches!(
            w.append_file(&f).unwrap(),
            Appended::Added { bytes: 5 }
        ));
        assert!(matches!(
            w.append_file(&dir.path().join("missing")).unwrap(),
            Appended::Vanished
        ));
        let out = w.finish().unwrap();
        assert_eq!(out.len(), RECORD);
        assert_eq!(&out[BLOCK..BLOCK + 5], b"hello");
    }
}
