//! The start of every run: what an earlier run left behind is put right before anything else.
//!
//! 1. An aside copy with its `.ready` marker ([`crate::hidden`]) is the intact previous copy
//!    of a day whose switch did not finish and could not be rolled back (the server went
//!    away, the host went down). It is put back: copied onto the day's prefix, the keys it
//!    does not have removed, the day checked against it; then its marker and the copy are
//!    removed. A failure stops the run: nothing else is done while a day is not whole.
//! 2. An aside copy without its marker (the switch never started) and every incoming copy
//!    are removed.
//! 3. Unfinished multipart uploads under the day's prefix and under the hidden prefixes are
//!    aborted, so that no part stays stored and billed.

use crate::client::{ErrorKind, S3};
use crate::copy::SINGLE_COPY_MAX;
use crate::error::AmazonS3Error;
use crate::hidden::{self, INCOMING, PREVIOUS};
use crate::plan;
use crate::replace::{put_back, remove_prefix};

fn s3_error(source: crate::client::S3Error) -> AmazonS3Error {
    AmazonS3Error::S3 {
        source: Box::new(source),
    }
}

/// Steps 1 to 3 of the module documentation, for s3_bucket's `prefix` and the prefix of the
/// day this run stores.
pub fn recover(
    s3: &S3,
    prefix: &str,
    day_prefix: &str,
    part_size: u64,
) -> Result<(), AmazonS3Error> {
    put_back_left(s3, prefix, part_size, SINGLE_COPY_MAX)?;
    let incoming = hidden::root(prefix, INCOMING);
    match remove_prefix(s3, &incoming).map_err(s3_error)? {
        0 => {}
        n => tracing::warn!(
            "Removed {n} object(s) of s3://{}/{incoming}/ that an earlier run left.",
            s3.bucket()
        ),
    }
    for under in [
        format!("{day_prefix}/"),
        format!("{incoming}/"),
        format!("{}/", hidden::root(prefix, PREVIOUS)),
    ] {
        abort_leftovers(s3, &under)?;
    }
    Ok(())
}

/// Step 1 and the aside half of step 2.
pub fn put_back_left(
    s3: &S3,
    prefix: &str,
    part_size: u64,
    single_copy_max: u64,
) -> Result<(), AmazonS3Error> {
    let root = hidden::root(prefix, PREVIOUS);
    let listed = s3.list(&format!("{root}/")).map_err(s3_error)?;
    for left in hidden::left_asides(&root, &listed) {
        if left.ready {
            let day_prefix = plan::day_prefix(prefix, &left.date);
            tracing::warn!(
                "s3://{}/{}/ holds the intact previous copy of s3://{}/{day_prefix}/, left by a run whose switch did not finish: putting it back first.",
                s3.bucket(),
                left.aside,
                s3.bucket()
            );
            put_back(
                s3,
                &day_prefix,
                &left.aside,
                &left.objects,
                part_size,
                single_copy_max,
            )
            .map_err(|source| AmazonS3Error::PutBack {
                bucket: s3.bucket().to_string(),
                day_prefix: day_prefix.clone(),
                aside: left.aside.clone(),
                source: Box::new(source),
            })?;
            tracing::warn!(
                "Put back the previous copy of s3://{}/{day_prefix}/ ({} object(s)) from s3://{}/{}/.",
                s3.bucket(),
                left.objects.len(),
                s3.bucket(),
                left.aside
            );
            // The marker first: an aside copy without it is never put back.
            let marker = format!("{}{}", left.aside, hidden::READY);
            s3.delete(&[marker]).map_err(s3_error)?;
        } else {
            tracing::warn!(
                "Removing s3://{}/{}/, an incomplete aside copy an earlier run left (the day it belongs to was not touched).",
                s3.bucket(),
                left.aside
            );
        }
        s3.delete(&left.keys).map_err(s3_error)?;
    }
    Ok(())
}

/// Aborts the unfinished multipart uploads of keys starting with `under`. A server that cannot
/// list them (some S3-compatible ones do not implement ListMultipartUploads) is told in a
/// warning: such an upload never shows under its key, it only takes space until the server
/// drops it.
fn abort_leftovers(s3: &S3, under: &str) -> Result<(), AmazonS3Error> {
    let pending = match s3.pending_uploads(under) {
        Ok(pending) => pending,
        Err(err) if err.kind == ErrorKind::Unsupported => {
            tracing::warn!(
                "{err}; unfinished multipart uploads that an earlier run could not abort are not looked for: remove them with the server's own tools if it keeps any"
            );
            return Ok(());
        }
        Err(err) => return Err(s3_error(err)),
    };
    for upload in pending {
        s3.abort(&upload.key, &upload.upload_id).map_err(s3_error)?;
        tracing::warn!(
            "Aborted an unfinished multipart upload of s3://{}/{} left by an earlier run.",
            s3.bucket(),
            upload.key
        );
    }
    Ok(())
}
