//! One object copied inside the server, never through this host: `CopyObject` up to
//! [`SINGLE_COPY_MAX`], above it a multipart upload of `UploadPartCopy` parts, both with
//! SHA-256 checksums kept by the server.
//!
//! A multipart copy cuts its parts where the upload cut them when the part size is known, so
//! that the copy's composite checksum is the one the upload sent. A multipart copy that fails
//! is aborted.

use crate::client::{S3Error, S3};
use crate::upload::{abort_quietly, part_size_for};

/// The largest object `CopyObject` copies in one request (S3's limit).
pub const SINGLE_COPY_MAX: u64 = 5 << 30;

/// Copies the object `source` (`size` bytes) to `key`. Objects larger than `single_max` go
/// as a multipart copy with parts of `part_size` (raised when more than 10,000 would be
/// needed).
pub fn copy(
    s3: &S3,
    source: &str,
    key: &str,
    size: u64,
    part_size: u64,
    single_max: u64,
) -> Result<(), S3Error> {
    if size <= single_max {
        s3.copy_object(source, key)?;
        return Ok(());
    }
    let part = part_size_for(size, part_size);
    let upload_id = s3.create_multipart(key)?;
    let result = (|| {
        let mut parts = Vec::new();
        let mut offset = 0;
        while offset < size {
            let length = part.min(size - offset);
            let number = parts.len() as i32 + 1;
            parts.push(s3.upload_part_copy(
                key,
                &upload_id,
                number,
                source,
                offset,
                offset + length - 1,
            )?);
            tracing::debug!("Copied part {number} of [{source}] to [{key}] ({length} bytes).");
            offset += length;
        }
        s3.complete(key, &upload_id, parts).map(drop)
    })();
    if result.is_err() {
        abort_quietly(s3, key, &upload_id);
    }
    result
}
