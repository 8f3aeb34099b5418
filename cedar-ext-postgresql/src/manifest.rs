//! `postgresqldump.manifest`: this extension's dump manifest. The format, its writer and its
//! checks live in [`cedar_core::Manifest`], since the stage action checks staged dumps against
//! it too; the name, the dumps' prefix and the action named in messages are this extension's,
//! passed to the kernel as [`KIND`] and registered so that stage recognizes the file.

use std::path::{Path, PathBuf};

use cedar_core::{FileOwner, Manifest, ManifestError, ManifestKind, RegisteredManifest};

/// The manifest's file name in collect_dir.
pub const MANIFEST: &str = "postgresqldump.manifest";
/// How the names of the dump files (and of the manifest) start.
pub const DUMP_PREFIX: &str = "postgresqldump";

/// This extension's manifest, as the kernel's manifest functions take it.
pub static KIND: ManifestKind = ManifestKind {
    file: MANIFEST,
    dump_prefix: DUMP_PREFIX,
    action: "postgresql",
    describe,
};

cedar_core::inventory::submit! {
    RegisteredManifest(&KIND)
}

/// Reads the manifest of `dir`.
pub fn read(dir: &Path) -> Result<Manifest, ManifestError> {
    KIND.read(dir)
}

/// Reads a manifest from `path` (a staged or restored copy may have another name).
pub fn read_file(path: &Path) -> Result<Manifest, ManifestError> {
    KIND.read_file(path)
}

/// Writes `manifest` into `dir` atomically, owned like the dumps.
pub fn write(
    dir: &Path,
    manifest: &Manifest,
    owner: Option<FileOwner<'_>>,
) -> Result<PathBuf, ManifestError> {
    KIND.write(dir, manifest, owner)
}

/// Checks `dir` against its manifest (see [`ManifestKind::check`]).
pub fn check(dir: &Path) -> Result<Manifest, ManifestError> {
    KIND.check(dir)
}

/// `database [x]`, `all databases`, `the globals` for messages.
pub fn describe(database: &str) -> String {
    match database {
        "all" => "all databases".to_string(),
        "globals" => "the globals (roles and tablespaces)".to_string(),
        name => format!("database [{name}]"),
    }
}
