//! Checking what was staged for a peer before it takes its final names: when the peer's
//! collect directory held a dump manifest (a file named like one an extension registered, e.g.
//! the postgresql extension's `postgresqldump.manifest`), every dump it lists as good must have
//! been staged with the listed size and SHA-256.

use std::path::Path;

use super::error::PeerError;
use cedar_core::{manifest_kind_of, Digested, ManifestKind};

/// The registered manifest kind a staged file named `name` is, if any.
pub fn manifest_kind(name: &str) -> Option<&'static ManifestKind> {
    manifest_kind_of(name)
}

/// Checks the staged files of `peer` against each staged manifest in `manifests` (its kind and
/// where the staged copy is). `found` gives the size and SHA-256 of a staged file by name.
pub fn check_manifests(
    peer: &str,
    manifests: &[(&'static ManifestKind, &Path)],
    found: &dyn Fn(&str) -> Option<std::io::Result<Digested>>,
) -> Result<(), PeerError> {
    for (kind, path) in manifests {
        check_manifest(peer, kind, path, found)?;
    }
    Ok(())
}

fn check_manifest(
    peer: &str,
    kind: &'static ManifestKind,
    path: &Path,
    found: &dyn Fn(&str) -> Option<std::io::Result<Digested>>,
) -> Result<(), PeerError> {
    let manifest = kind
        .read_file(path)
        .map_err(|source| PeerError::ManifestUnreadable {
            peer: peer.to_string(),
            kind,
            source,
        })?;
    let problems = kind.check_listed(&manifest, found);
    if problems.is_empty() {
        tracing::debug!(
            "Peer [{peer}]: {} files match the staged {}.",
            manifest.files.len(),
            kind.file
        );
        Ok(())
    } else {
        Err(PeerError::Manifest {
            peer: peer.to_string(),
            kind,
            problems,
        })
    }
}
