//! Putting one object: a file as it is on disk ([`upload_file`]), or a stream whose length is
//! not known in advance, such as an encrypted file ([`StreamUpload`]).
//!
//! Every request carries the SHA-256 checksum of its bytes, which the server checks. Up to the
//! part size an object goes up in one request; above it, as a multipart upload whose parts
//! are sent one after the other. A file's parts stream from the file itself (a part is read
//! once to compute its checksum, then sent), a stream's parts from a spool file of one part
//! in a private directory: memory stays the same whatever the size. A part that fails is
//! retried by the client; a multipart upload that fails is aborted, so that nothing is left
//! under the key and no part stays stored.

use std::fs::File;
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};

use aws_sdk_s3::types::CompletedPart;
use sha2::{Digest, Sha256};

use crate::client::{checksum_b64, ErrorKind, S3Error, S3};

/// The most parts S3 accepts in one upload.
pub const MAX_PARTS: u64 = 10_000;

/// What was stored under one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub key: String,
    pub bytes: u64,
    /// The SHA-256 checksum the server should keep: `BASE64` of the object's digest, or
    /// `BASE64-N` of the digest of its N part digests (S3's composite checksum).
    pub checksum: String,
    /// `BASE64` of the whole object's SHA-256, which a server-side copy may keep instead of
    /// the composite checksum of a multipart object.
    pub full: String,
    /// The size of the parts of a multipart object (the last may be smaller); `None` for an
    /// object sent in one request.
    pub part_size: Option<u64>,
    /// Whether the server's answer echoed a checksum this object may have
    /// ([`checksum_accepted`]): the server checked the bytes against it and keeps it, so the
    /// run need not ask again with a HeadObject. `false` when the server echoed none.
    pub confirmed: bool,
}

/// Whether `kept`, the checksum a server keeps (or echoes) for an object, is one the object
/// may have: the one sent (`checksum`), the whole object's (`full`, which a server may keep
/// for a multipart object or a copy), or the composite one without its `-N`.
pub fn checksum_accepted(checksum: &str, full: &str, kept: &str) -> bool {
    kept == checksum || kept == full || checksum.split('-').next() == Some(kept)
}

/// The composite checksum of a multipart object from its parts' raw digests.
pub fn composite(part_digests: &[Vec<u8>]) -> String {
    let mut hasher = Sha256::new();
    for digest in part_digests {
        hasher.update(digest);
    }
    format!(
        "{}-{}",
        checksum_b64(&hasher.finalize()),
        part_digests.len()
    )
}

/// Why one object could not be stored.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error(transparent)]
    S3(Box<S3Error>),
    #[error("cannot read {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot use the spool file {} (check the free space of working_dir)", path.display())]
    Spool {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("interrupted; the unfinished upload was aborted")]
    Interrupted,
}

impl From<S3Error> for UploadError {
    fn from(err: S3Error) -> Self {
        if err.kind == ErrorKind::Interrupted {
            UploadError::Interrupted
        } else {
            UploadError::S3(Box::new(err))
        }
    }
}

/// The part size for `size` bytes: `part_size`, raised (to whole MiB) when the object would
/// need more than [`MAX_PARTS`] parts.
pub fn part_size_for(size: u64, part_size: u64) -> u64 {
    let needed = size.div_ceil(MAX_PARTS);
    part_size.max(needed.div_ceil(1 << 20) << 20)
}

/// The SHA-256 of `length` bytes of `file` from `offset`; `whole` is fed the same bytes.
fn digest_region(
    file: &mut File,
    offset: u64,
    length: u64,
    whole: &mut Sha256,
) -> io::Result<Vec<u8>> {
    file.seek(io::SeekFrom::Start(offset))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 256 << 10];
    let mut left = length;
    while left > 0 {
        let want = left.min(buffer.len() as u64) as usize;
        let n = file.read(&mut buffer[..want])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the file shrank while it was being uploaded",
            ));
        }
        hasher.update(&buffer[..n]);
        whole.update(&buffer[..n]);
        left -= n as u64;
    }
    Ok(hasher.finalize().to_vec())
}

/// Aborts `upload_id`, logging (not returning) a failure: the next run aborts what is left.
pub(crate) fn abort_quietly(s3: &S3, key: &str, upload_id: &str) {
    match s3.abort(key, upload_id) {
        Ok(()) => tracing::info!("Aborted the unfinished multipart upload of [{key}]."),
        Err(e) => tracing::warn!(
            "{e}; the next amazons3 run aborts the unfinished upload of [{key}], or remove it with a bucket lifecycle rule"
        ),
    }
}

/// Stores the file `path` as `key`; `sent` is told the bytes of each request as the server
/// accepts it (a part, or the whole object when it fits in one).
pub fn upload_file(
    s3: &S3,
    key: &str,
    path: &Path,
    part_size: u64,
    sent: &dyn Fn(u64),
) -> Result<Sent, UploadError> {
    let read_error = |source| UploadError::Read {
        path: path.to_path_buf(),
        source,
    };
    let mut file = File::open(path).map_err(read_error)?;
    let size = file.metadata().map_err(read_error)?.len();
    let mut whole = Sha256::new();
    if size <= part_size {
        let digest = digest_region(&mut file, 0, size, &mut whole).map_err(read_error)?;
        let checksum = checksum_b64(&digest);
        let confirmed = s3.put_file(key, path, 0, size, &checksum)?;
        sent(size);
        return Ok(Sent {
            key: key.to_string(),
            bytes: size,
            full: checksum.clone(),
            checksum,
            part_size: None,
            confirmed,
        });
    }
    let part = part_size_for(size, part_size);
    let upload_id = s3.create_multipart(key)?;
    let mut digests = Vec::new();
    let result = (|| {
        let mut parts = Vec::new();
        let mut offset = 0;
        let mut number = 1;
        while offset < size {
            if cedar_core::interrupt_requested() {
                return Err(UploadError::Interrupted);
            }
            let length = part.min(size - offset);
            let digest =
                digest_region(&mut file, offset, length, &mut whole).map_err(read_error)?;
            parts.push(s3.upload_part(
                key,
                &upload_id,
                number,
                path,
                offset,
                length,
                &checksum_b64(&digest),
            )?);
            digests.push(digest);
            sent(length);
            tracing::debug!("Sent part {number} of [{key}] ({length} bytes).");
            offset += length;
            number += 1;
        }
        Ok(s3.complete(key, &upload_id, parts)?)
    })();
    match result {
        Ok(echoed) => {
            let checksum = composite(&digests);
            let full = checksum_b64(&whole.finalize());
            Ok(Sent {
                key: key.to_string(),
                bytes: size,
                confirmed: echoed.is_some_and(|e| checksum_accepted(&checksum, &full, &e)),
                checksum,
                full,
                part_size: Some(part),
            })
        }
        Err(err) => {
            abort_quietly(s3, key, &upload_id);
            Err(err)
        }
    }
}

/// A stream stored as `key`: write into it, then [`StreamUpload::finish`]. Dropping it
/// without finishing aborts the multipart upload it may have started.
#[derive(Debug)]
pub struct StreamUpload<'a> {
    s3: &'a S3,
    key: String,
    part_size: u64,
    spool: File,
    spool_path: PathBuf,
    filled: u64,
    hasher: Sha256,
    whole: Sha256,
    upload_id: Option<String>,
    parts: Vec<CompletedPart>,
    digests: Vec<Vec<u8>>,
    total: u64,
    failure: Option<UploadError>,
    finished: bool,
}

impl<'a> StreamUpload<'a> {
    /// Starts a stream for `key`, spooling parts in `spool_path` (a file of a private
    /// directory, this stream's own; removed when the stream is dropped). `expected` is a
    /// guess of the stream's length, to size the parts.
    pub fn new(
        s3: &'a S3,
        key: &str,
        spool_path: PathBuf,
        part_size: u64,
        expected: u64,
    ) -> Result<StreamUpload<'a>, UploadError> {
        let spool = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&spool_path)
            .map_err(|source| UploadError::Spool {
                path: spool_path.clone(),
                source,
            })?;
        Ok(StreamUpload {
            s3,
            key: key.to_string(),
            part_size: part_size_for(expected, part_size),
            spool,
            spool_path,
            filled: 0,
            hasher: Sha256::new(),
            whole: Sha256::new(),
            upload_id: None,
            parts: Vec::new(),
            digests: Vec::new(),
            total: 0,
            failure: None,
            finished: false,
        })
    }

    fn spool_error(&self, source: io::Error) -> UploadError {
        UploadError::Spool {
            path: self.spool_path.clone(),
            source,
        }
    }

    /// Sends the spooled part and empties the spool.
    fn send_part(&mut self) -> Result<(), UploadError> {
        if cedar_core::interrupt_requested() {
            return Err(UploadError::Interrupted);
        }
        self.spool.flush().map_err(|e| self.spool_error(e))?;
        let upload_id = match &self.upload_id {
            Some(id) => id.clone(),
            None => {
                let id = self.s3.create_multipart(&self.key)?;
                self.upload_id = Some(id.clone());
                id
            }
        };
        let digest = std::mem::take(&mut self.hasher).finalize().to_vec();
        let number = self.parts.len() as i32 + 1;
        let part = self.s3.upload_part(
            &self.key,
            &upload_id,
            number,
            &self.spool_path,
            0,
            self.filled,
            &checksum_b64(&digest),
        )?;
        self.parts.push(part);
        self.digests.push(digest);
        tracing::debug!(
            "Sent part {number} of [{}] ({} bytes).",
            self.key,
            self.filled
        );
        self.spool.set_len(0).map_err(|e| self.spool_error(e))?;
        self.spool
            .seek(io::SeekFrom::Start(0))
            .map_err(|e| self.spool_error(e))?;
        self.filled = 0;
        Ok(())
    }

    /// Stores what was written (the object appears under its key only now); returns it.
    pub fn finish(mut self) -> Result<Sent, UploadError> {
        if let Some(failure) = self.failure.take() {
            return Err(failure);
        }
        self.finished = true;
        let checksum;
        let full = checksum_b64(&std::mem::take(&mut self.whole).finalize());
        let result = if self.upload_id.is_none() {
            let digest = std::mem::take(&mut self.hasher).finalize();
            self.spool.flush().map_err(|e| self.spool_error(e))?;
            checksum = checksum_b64(&digest);
            self.s3
                .put_file(&self.key, &self.spool_path, 0, self.filled, &checksum)
                .map_err(UploadError::from)
        } else {
            let sent = if self.filled > 0 {
                self.send_part()
            } else {
                Ok(())
            };
            checksum = composite(&self.digests);
            sent.and_then(|()| {
                let parts = std::mem::take(&mut self.parts);
                let id = self.upload_id.clone().unwrap_or_default();
                self.s3
                    .complete(&self.key, &id, parts)
                    .map(|echoed| echoed.is_some_and(|e| checksum_accepted(&checksum, &full, &e)))
                    .map_err(UploadError::from)
            })
        };
        match result {
            Ok(confirmed) => {
                let part_size = self.upload_id.take().map(|_| self.part_size);
                Ok(Sent {
                    key: self.key.clone(),
                    bytes: self.total,
                    checksum,
                    full,
                    part_size,
                    confirmed,
                })
            }
            Err(err) => {
                self.finished = false;
                Err(err)
            }
        }
    }

    /// The error that stopped the stream, if one did.
    pub fn take_failure(&mut self) -> Option<UploadError> {
        self.failure.take()
    }
}

impl Write for StreamUpload<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.failure.is_some() {
            return Err(io::Error::other("the upload failed"));
        }
        if buf.is_empty() {
            return Ok(0);
        }
        if self.filled == self.part_size {
            if let Err(err) = self.send_part() {
                self.failure = Some(err);
                return Err(io::Error::other("the upload failed"));
            }
        }
        let room = (self.part_size - self.filled) as usize;
        let n = buf.len().min(room);
        if let Err(e) = self.spool.write_all(&buf[..n]) {
            self.failure = Some(self.spool_error(e));
            return Err(io::Error::other("the upload failed"));
        }
        self.hasher.update(&buf[..n]);
        self.whole.update(&buf[..n]);
        self.filled += n as u64;
        self.total += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for StreamUpload<'_> {
    fn drop(&mut self) {
        if let (false, Some(id)) = (self.finished, self.upload_id.take()) {
            abort_quietly(self.s3, &self.key, &id);
        }
        let _ = std::fs::remove_file(&self.spool_path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_grow_only_past_ten_thousand() {
        assert_eq!(part_size_for(0, 8 << 20), 8 << 20);
        assert_eq!(part_size_for(80_000 << 20, 8 << 20), 8 << 20);
        let huge = 1u64 << 40;
        let part = part_size_for(huge, 8 << 20);
        assert!(huge.div_ceil(part) <= MAX_PARTS);
        assert_eq!(part % (1 << 20), 0);
    }

    #[test]
    fn composite_checksums_as_s3_computes_them() {
        let a = Sha256::digest(b"a").to_vec();
        let b = Sha256::digest(b"b").to_vec();
        let mut joined = a.clone();
        joined.extend_from_slice(&b);
        let expected = format!("{}-2", checksum_b64(&Sha256::digest(&joined)));
        assert_eq!(composite(&[a, b]), expected);
    }

    #[test]
    fn a_region_digest_reads_exactly_the_region() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"0123456789").unwrap();
        let mut file = File::open(&path).unwrap();
        let mut whole = Sha256::new();
        let digest = digest_region(&mut file, 2, 3, &mut whole).unwrap();
        assert_eq!(digest, Sha256::digest(b"234").to_vec());
        let digest = digest_region(&mut file, 5, 2, &mut whole).unwrap();
        assert_eq!(digest, Sha256::digest(b"56").to_vec());
        assert_eq!(whole.finalize().to_vec(), Sha256::digest(b"23456").to_vec());
        assert!(digest_region(&mut file, 8, 5, &mut Sha256::new()).is_err());
    }
}
