//! The day's upload marker in the bucket, `PREFIX/YYYY/MM/DD/.cback-upload.json`
//! ([`cedar_core::UploadMarker`]): unencrypted, hidden from the copies (its name starts with
//! `.cback-`), written `started` before any object of the day changes and `complete`, with the
//! day's stage record outcomes, once every object was sent and checked. `cback purge` reads it
//! to tell a complete day from one cut short or partly failed.

use std::io::Read;

use cedar_core::{UploadMarker, UPLOAD_MARKER_FILE};

use crate::client::{S3Error, S3};

/// `DAYPREFIX/.cback-upload.json`.
pub fn key(day_prefix: &str) -> String {
    format!("{day_prefix}/{UPLOAD_MARKER_FILE}")
}

/// Whether `key` is the marker of the day `day_prefix`.
pub fn is_marker(day_prefix: &str, key: &str) -> bool {
    crate::hidden::rel(day_prefix, key) == Some(UPLOAD_MARKER_FILE)
}

/// Writes (or replaces) the marker of `day_prefix`.
pub fn write(s3: &S3, day_prefix: &str, marker: &UploadMarker) -> Result<(), S3Error> {
    s3.put_small(&key(day_prefix), &marker.to_json())
}

/// The marker of `day_prefix`, `None` when it has none; the error in words.
pub fn read(s3: &S3, day_prefix: &str) -> Result<Option<UploadMarker>, String> {
    let key = key(day_prefix);
    let listed = s3.list(&key).map_err(|e| e.to_string())?;
    if !listed.iter().any(|l| l.key == key) {
        return Ok(None);
    }
    let location = format!("s3://{}/{key}", s3.bucket());
    let mut text = Vec::new();
    s3.get(&key)
        .map_err(|e| e.to_string())?
        .read_to_end(&mut text)
        .map_err(|e| format!("cannot read {location}: {e}"))?;
    UploadMarker::from_json(&text, &location)
        .map(Some)
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_marker_sits_in_the_day_and_is_hidden() {
        assert_eq!(
            key("staging/2026/03/04"),
            "staging/2026/03/04/.cback-upload.json"
        );
        assert!(is_marker(
            "staging/2026/03/04",
            "staging/2026/03/04/.cback-upload.json"
        ));
        assert!(!is_marker(
            "staging/2026/03/04",
            "staging/2026/03/04/h/.cback-upload.json"
        ));
        assert!(cedar_core::is_hidden_path(UPLOAD_MARKER_FILE));
        assert!(!cedar_core::is_reserved(std::ffi::OsStr::new(
            UPLOAD_MARKER_FILE
        )));
    }
}
