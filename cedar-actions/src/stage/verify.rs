//! Checking what was staged for a peer before it takes its final names: when the peer's
//! collect directory held `postgresqldump.manifest`, every dump it lists as good must have been
//! staged with the listed size and SHA-256.

use std::path::Path;

use super::error::PeerError;
use cedar_core::manifest::{self, MANIFEST};
use cedar_core::sha256::Digested;

/// Checks the staged files of `peer` against the staged manifest at `manifest_path` (if the
/// peer had one). `found` gives the size and SHA-256 of a staged file by name.
pub fn check_manifest(
    peer: &str,
    manifest_path: Option<&Path>,
    found: &dyn Fn(&str) -> Option<std::io::Result<Digested>>,
) -> Result<(), PeerError> {
    let Some(path) = manifest_path else {
        return Ok(());
    };
    let manifest = manifest::read_file(path).map_err(|source| PeerError::ManifestUnreadable {
        peer: peer.to_string(),
        source,
    })?;
    let problems = manifest::check_listed(&manifest, found);
    if problems.is_empty() {
        tracing::debug!(
            "Peer [{peer}]: {} files match the staged {MANIFEST}.",
            manifest.files.len()
        );
        Ok(())
    } else {
        Err(PeerError::Manifest {
            peer: peer.to_string(),
            problems,
        })
    }
}
