//! Appending files and links to a tar stream, GNU tar style when the source misbehaves.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use super::header::{encode_member, pad_to_block, HeaderFields, BLOCK, RECORD};
use super::inodes::InodeMap;
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
    /// (dev, ino) → member name of the first member of a multiply-linked file; in memory up
    /// to a threshold, then in temporary files (memory bounded whatever the number of links).
    inodes: InodeMap,
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
    /// A writer whose hard-link table spills to `std::env::temp_dir()` when it grows large.
    pub fn new(out: W) -> Self {
        TarWriter::with_inodes(out, InodeMap::new())
    }

    /// A writer tracking hard links in `inodes` (e.g. [`InodeMap::in_dir`] with the collect
    /// working directory).
    pub fn with_inodes(out: W, inodes: InodeMap) -> Self {
        TarWriter {
            out,
            owners: Owners::default(),
            inodes,
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
        let name = member_name(path).to_vec();
        self.append_file_as(path, &name)
    }

    /// [`TarWriter::append_file`] under the member name `name` (the mbox extension names its
    /// members by base name).
    pub fn append_file_as(&mut self, path: &Path, name: &[u8]) -> io::Result<Appended> {
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
        let name = name.to_vec();
        if meta.nlink() > 1 {
            let (dev, ino) = (meta.dev(), meta.ino());
            // Errors of the table's temporary files are archive write errors.
            match self.inodes.get(dev, ino)? {
                Some(first) if first != name => {
                    self.emit_header(&meta, &name, 0, b'1', &first)?;
                    return Ok(Appended::Added { bytes: meta.len() });
                }
                // The same path again: already recorded, stored again as a regular member.
                Some(_) => {}
                None => self.inodes.insert(dev, ino, &name)?,
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
    use super::super::read::members;
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

    /// 200 inodes × 3 links plus some single files, appended in a shuffled order, then the
    /// first and the last linked path again (a regular member and a 401st link); returns the
    /// paths in append order and the links of each inode.
    fn linked_tree(root: &Path) -> (Vec<std::path::PathBuf>, Vec<Vec<std::path::PathBuf>>) {
        let mut groups = Vec::new();
        let mut paths = Vec::new();
        for k in 0..200 {
            let first = root.join(format!("i{k}_0"));
            std::fs::write(&first, format!("content {k}")).unwrap();
            let mut group = vec![first.clone()];
            for j in 1..3 {
                let link = root.join(format!("i{k}_{j}"));
                std::fs::hard_link(&first, &link).unwrap();
                group.push(link);
            }
            paths.extend(group.iter().cloned());
            groups.push(group);
        }
        for k in 0..20 {
            let single = root.join(format!("s{k}"));
            std::fs::write(&single, b"single").unwrap();
            paths.push(single);
        }
        let mut state: u64 = 12345;
        for i in (1..paths.len()).rev() {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            paths.swap(i, (state >> 33) as usize % (i + 1));
        }
        let linked = |p: &&std::path::PathBuf| p.file_name().unwrap().as_bytes()[0] == b'i';
        let first = paths.iter().find(linked).unwrap().clone();
        let last = paths.iter().rev().find(linked).unwrap().clone();
        paths.push(first);
        paths.push(last);
        (paths, groups)
    }

    fn archive(paths: &[std::path::PathBuf], inodes: InodeMap) -> Vec<u8> {
        let mut w = TarWriter::with_inodes(Vec::new(), inodes);
        for path in paths {
            assert!(matches!(
                w.append_file(path).unwrap(),
                Appended::Added { .. }
            ));
        }
        w.finish().unwrap()
    }

    #[test]
    fn hard_links_spilled_to_disk_match_the_in_memory_table() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("tree");
        std::fs::create_dir(&root).unwrap();
        let spill = dir.path().join("spill");
        std::fs::create_dir(&spill).unwrap();
        let (paths, groups) = linked_tree(&root);

        let default = archive(&paths, InodeMap::new());
        let small = InodeMap::with_threshold(8, &spill);
        let spilled = archive(&paths, small);
        assert_eq!(members(&spilled), members(&default));
        assert_eq!(spilled, default);

        // Each inode: its first appended path is a regular member, the others link to it.
        let list = members(&spilled);
        assert_eq!(list.len(), paths.len());
        let name = |p: &Path| member_name(p).to_vec();
        let mut links = 0;
        for group in &groups {
            let names: Vec<Vec<u8>> = group.iter().map(|p| name(p)).collect();
            let in_group: Vec<_> = list.iter().filter(|m| names.contains(&m.0)).collect();
            let first = &in_group[0];
            assert_eq!(first.1, b'0');
            for member in &in_group[1..] {
                if member.0 == first.0 {
                    assert_eq!(member.1, b'0');
                } else {
                    assert_eq!((member.1, &member.2), (b'1', &first.0));
                    links += 1;
                }
            }
        }
        assert_eq!(links, 401);
        assert_eq!(list.iter().filter(|m| m.1 == b'1').count(), 401);
        // The spill directory was used by unnamed files only.
        assert_eq!(std::fs::read_dir(&spill).unwrap().count(), 0);

        // GNU tar, when present, lists the links and restores them.
        let Ok(status) = std::process::Command::new("tar")
            .arg("--version")
            .stdout(std::process::Stdio::null())
            .status()
        else {
            return;
        };
        if !status.success() {
            return;
        }
        // Without the repeated paths: extracting a second regular member of a name would
        // replace that file and break its links (with any table).
        let plain = archive(
            &paths[..paths.len() - 2],
            InodeMap::with_threshold(8, &spill),
        );
        let tarball = dir.path().join("a.tar");
        std::fs::write(&tarball, &plain).unwrap();
        let listing = std::process::Command::new("tar")
            .arg("-tvf")
            .arg(&tarball)
            .output()
            .unwrap();
        assert!(listing.status.success());
        let text = String::from_utf8_lossy(&listing.stdout);
        assert_eq!(text.matches(" link to ").count(), 400, "{text}");
        let out = dir.path().join("out");
        std::fs::create_dir(&out).unwrap();
        let status = std::process::Command::new("tar")
            .arg("-xf")
            .arg(&tarball)
            .arg("-C")
            .arg(&out)
            .status()
            .unwrap();
        assert!(status.success());
        for group in &groups {
            let metas: Vec<_> = group
                .iter()
                .map(|p| {
                    let rel = std::str::from_utf8(member_name(p)).unwrap().to_owned();
                    std::fs::metadata(out.join(rel)).unwrap()
                })
                .collect();
            assert!(metas.iter().all(|m| m.ino() == metas[0].ino()));
            assert_eq!(metas[0].nlink(), 3);
        }
    }

    #[test]
    fn hard_link_table_failure_is_a_write_error() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        std::fs::write(&a, b"data").unwrap();
        std::fs::hard_link(&a, dir.path().join("b")).unwrap();
        let single = dir.path().join("single");
        std::fs::write(&single, b"one").unwrap();
        let inodes = InodeMap::with_threshold(0, dir.path().join("missing"));
        let mut w = TarWriter::with_inodes(Vec::new(), inodes);
        assert!(matches!(
            w.append_file(&single).unwrap(),
            Appended::Added { bytes: 3 }
        ));
        assert!(w.append_file(&a).is_err());
    }
}
