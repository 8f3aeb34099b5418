//! What a dump file is, from its name and the manifest beside it: the database, the layout
//! (one database, the globals of a split dump, or a cluster-wide pg_dumpall), the format, the
//! compression, whether it is encrypted, its date and the manifest's word on it. A copy in a
//! remote place ([`Remote`]) is described the same way, from its object and the manifest
//! object beside it.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::day_state::DayState;
use crate::manifest::{self, DUMP_PREFIX};
use cedar_core::{DumpStatus, Manifest, RemoteKeys, RemotePlace, Sealing, StagedObject};

/// What a dump covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// One database (`postgresqldump-NAME.txt…` or `postgresqldump-NAME.dump`).
    Database,
    /// Roles and tablespaces of a `<split>Y` run (`postgresqldump-globals.txt…`).
    Globals,
    /// A pg_dumpall of the whole cluster (`postgresqldump.txt…`, `<all>Y` without split).
    Cluster,
    /// The server's configuration files and settings (`postgresqldump-config.txt…`,
    /// `<config_files>Y`): listed, never restored (it is put back by hand).
    ServerConfig,
}

/// How the dump was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DumpFormat {
    /// SQL, restored with psql.
    Plain,
    /// `pg_dump -Fc`, restored with pg_restore.
    Custom,
}

impl DumpFormat {
    pub fn name(self) -> &'static str {
        match self {
            DumpFormat::Plain => "plain",
            DumpFormat::Custom => "custom",
        }
    }
}

/// The compression of the file, from its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Bzip2,
    Zstd,
}

impl Compression {
    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Bzip2 => "bzip2",
            Compression::Zstd => "zstd",
        }
    }
}

/// The manifest's word on a copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listed {
    /// The manifest lists it with this status, size and SHA-256.
    Entry {
        status: DumpStatus,
        size: Option<u64>,
        sha256: Option<String>,
    },
    /// There is no manifest beside it, or it does not list the file.
    Unlisted,
    /// The manifest beside it cannot be read (the reason).
    BadManifest(String),
    /// The copy and its manifest are encrypted in a remote place and cannot be decrypted
    /// here (the reason, which says what to give).
    Sealed(String),
}

/// Where a copy in a remote place is, and how to read it.
#[derive(Clone)]
pub struct Remote {
    pub place: Arc<dyn RemotePlace>,
    pub object: StagedObject,
    pub keys: Arc<RemoteKeys>,
}

impl Remote {
    /// The staged file's content (decrypted by the place when it encrypts), as it arrives.
    pub fn open(&self) -> std::io::Result<Box<dyn Read + Send>> {
        self.place
            .open(&self.object, &self.keys)
            .map_err(|e| std::io::Error::other(e.to_string()))
    }
}

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remote")
            .field("location", &self.object.location)
            .finish_non_exhaustive()
    }
}

impl PartialEq for Remote {
    fn eq(&self, other: &Self) -> bool {
        self.object == other.object
    }
}

impl Eq for Remote {}

/// One copy of a dump somewhere cback can read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DumpCopy {
    /// The source it was found in, e.g. `collect`, `staging 2026/12/01/db1` or
    /// `s3 2026/12/01/db1`.
    pub source: String,
    /// The file; for a remote copy its location (`s3://bucket/key`).
    pub path: PathBuf,
    /// The database; `globals` or `all` for the other kinds.
    pub database: String,
    pub kind: Kind,
    pub format: DumpFormat,
    pub compression: Compression,
    /// How the file is encrypted, from its name: `.age` or `.gpg` (`<postgresql><encrypt>`,
    /// or the encrypt extension's staged copies), or not.
    pub sealing: Sealing,
    /// Bytes of the file as stored.
    pub size: u64,
    /// When the dump was made: the manifest's end time, else the file's modification time
    /// (UTC, RFC 3339).
    pub date: String,
    pub listed: Listed,
    /// What its day (a staged day, a bucket's day) says of its peer's copy there.
    pub day_state: DayState,
    /// Set for a copy in a remote place.
    pub remote: Option<Remote>,
}

/// The name's meaning: (database or label, kind, format, compression, encryption), or `None`
/// for a file that is not a dump (the manifest, a temporary file, anything else).
pub fn parse_name(name: &str) -> Option<(String, Kind, DumpFormat, Compression, Sealing)> {
    if name.starts_with('.') {
        return None;
    }
    let (name, encrypted) = Sealing::of_name(name);
    let rest = name.strip_prefix(DUMP_PREFIX)?;
    if let Some(db) = rest.strip_prefix('-').and_then(|r| r.strip_suffix(".dump")) {
        if db.is_empty() {
            return None;
        }
        return Some((
            db.to_string(),
            Kind::Database,
            DumpFormat::Custom,
            Compression::None,
            encrypted,
        ));
    }
    let (stem, compression) = [
        (".gz", Compression::Gzip),
        (".bz2", Compression::Bzip2),
        (".zst", Compression::Zstd),
        ("", Compression::None),
    ]
    .into_iter()
    .find_map(|(ext, c)| rest.strip_suffix(ext).map(|s| (s, c)))?;
    let stem = stem.strip_suffix(".txt")?;
    let (label, kind) = if stem.is_empty() {
        ("all".to_string(), Kind::Cluster)
    } else {
        let db = stem.strip_prefix('-')?;
        if db.is_empty() {
            return None;
        }
        if db == "globals" {
            (db.to_string(), Kind::Globals)
        } else if db == "config" {
            (db.to_string(), Kind::ServerConfig)
        } else {
            (db.to_string(), Kind::Database)
        }
    };
    Some((label, kind, DumpFormat::Plain, compression, encrypted))
}

/// The copies in `dir` (not recursive), described with the manifest beside them.
pub fn scan_dir(dir: &Path, source: &str) -> std::io::Result<Vec<DumpCopy>> {
    let manifest = read_manifest(dir);
    let mut copies = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let Ok(meta) = entry.metadata() else { continue };
        if !meta.is_file() {
            continue;
        }
        let file = File {
            name: &name,
            size: meta.len(),
            mtime: mtime(&meta),
            path: dir.join(&name),
            sealed: false,
        };
        if let Some(copy) = describe(&file, &manifest, source) {
            copies.push(copy);
        }
    }
    Ok(copies)
}

/// One file given by its path (`--from PATH`), described with the manifest beside it.
pub fn describe_path(path: &Path) -> Option<DumpCopy> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name()?.to_string_lossy().into_owned();
    let meta = std::fs::metadata(path).ok()?;
    let manifest = read_manifest(dir);
    let file = File {
        name: &name,
        size: meta.len(),
        mtime: mtime(&meta),
        path: path.to_path_buf(),
        sealed: false,
    };
    describe(&file, &manifest, "path")
}

/// The manifest of one directory: absent, unreadable (why) or read.
pub type ManifestRead = Option<Result<Manifest, String>>;

fn read_manifest(dir: &Path) -> ManifestRead {
    let path = dir.join(manifest::MANIFEST);
    if !path.exists() {
        return None;
    }
    Some(manifest::read_file(&path).map_err(|e| e.to_string()))
}

fn mtime(meta: &std::fs::Metadata) -> i64 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// The largest manifest read from a remote place.
const MANIFEST_LIMIT: u64 = 64 << 20;

/// The copies among one directory's `objects` in a remote place (a day's peer directory),
/// described with the manifest object among them, read (and decrypted) from the place.
/// A manifest that cannot be decrypted makes every copy [`Listed::Sealed`].
pub fn scan_remote(
    place: &Arc<dyn RemotePlace>,
    keys: &Arc<RemoteKeys>,
    objects: &[StagedObject],
    source: &str,
) -> Vec<DumpCopy> {
    let sealed = place.sealing() != Sealing::None;
    let mut sealed_reason = None;
    let manifest: ManifestRead =
        objects
            .iter()
            .find(|o| o.name() == manifest::MANIFEST)
            .map(|object| {
                let mut text = String::new();
                match place.open(object, keys) {
                    Err(e) => {
                        if matches!(
                            e,
                            cedar_core::RemoteCopyError::NeedIdentity { .. }
                                | cedar_core::RemoteCopyError::Decrypt { .. }
                        ) {
                            sealed_reason = Some(e.to_string());
                        }
                        Err(e.to_string())
                    }
                    Ok(reader) => match reader.take(MANIFEST_LIMIT).read_to_string(&mut text) {
                        Err(e) if sealed => {
                            let reason = format!("cannot decrypt {}: {e}", object.location);
                            sealed_reason = Some(reason.clone());
                            Err(reason)
                        }
                        Err(e) => Err(format!("cannot read {}: {e}", object.location)),
                        Ok(_) => serde_json::from_str::<Manifest>(&text)
                            .map_err(|e| format!("{}: {e}", object.location)),
                    },
                }
            });
    objects
        .iter()
        .filter_map(|object| {
            let file = File {
                name: object.name(),
                size: object.size,
                mtime: object.modified.unwrap_or(0),
                path: PathBuf::from(&object.location),
                sealed,
            };
            let mut copy = describe(&file, &manifest, source)?;
            if let Some(reason) = &sealed_reason {
                copy.listed = Listed::Sealed(reason.clone());
            }
            copy.remote = Some(Remote {
                place: place.clone(),
                object: object.clone(),
                keys: keys.clone(),
            });
            Some(copy)
        })
        .collect()
}

/// What [`describe`] needs of a file.
struct File<'a> {
    name: &'a str,
    /// Bytes as stored.
    size: u64,
    mtime: i64,
    path: PathBuf,
    /// Encrypted by its place (the name does not say so; the content read back is the
    /// staged file, so the manifest's SHA-256 applies to it but its size does not).
    sealed: bool,
}

fn describe(file: &File<'_>, manifest: &ManifestRead, source: &str) -> Option<DumpCopy> {
    let name = file.name;
    let (label, kind, format, compression, sealing) = parse_name(name)?;
    let plain_name = Sealing::of_name(name).0;
    let mut date = cedar_core::rfc3339(file.mtime);
    let mut database = label;
    let listed = match manifest {
        None => Listed::Unlisted,
        Some(Err(reason)) => Listed::BadManifest(reason.clone()),
        // Encrypted as it was written (`<postgresql><encrypt>`), the file itself is listed;
        // encrypted afterwards (the encrypt extension), the dump it was made from.
        Some(Ok(m)) => match m
            .entry(name)
            .map(|e| (e, true))
            .or_else(|| m.entry(plain_name).map(|e| (e, false)))
        {
            None => Listed::Unlisted,
            Some((entry, as_stored)) => {
                date = entry.end.clone();
                if kind == Kind::Database {
                    database = entry.database.clone();
                }
                // An encrypted copy has another size and digest than the listed dump.
                let (size, sha256) = if !as_stored && sealing != Sealing::None {
                    (None, None)
                } else if file.sealed {
                    (None, entry.sha256.clone())
                } else {
                    (entry.size, entry.sha256.clone())
                };
                Listed::Entry {
                    status: entry.status,
                    size,
                    sha256,
                }
            }
        },
    };
    Some(DumpCopy {
        source: source.to_string(),
        path: file.path.clone(),
        database,
        kind,
        format,
        compression,
        sealing,
        size: file.size,
        date,
        listed,
        day_state: DayState::Good,
        remote: None,
    })
}

impl DumpCopy {
    /// The manifest's status as a word for `list`: ok, kept, failed, unlisted, bad-manifest,
    /// or `damaged` when the size differs from the manifest's.
    pub fn status_word(&self) -> &'static str {
        match &self.listed {
            Listed::Entry {
                size: Some(size), ..
            } if *size != self.size => "damaged",
            Listed::Entry { status, .. } => match status {
                DumpStatus::Ok => "ok",
                DumpStatus::Kept => "kept",
                DumpStatus::Failed => "failed",
            },
            Listed::Unlisted => "unlisted",
            Listed::BadManifest(_) => "bad-manifest",
            Listed::Sealed(_) => "no-key",
        }
    }

    /// The bytes as stored (for a remote copy: decrypted by its place), as they are read.
    pub fn stored(&self) -> std::io::Result<Box<dyn Read + Send>> {
        match &self.remote {
            Some(remote) => remote.open(),
            None => Ok(Box::new(std::fs::File::open(&self.path)?)),
        }
    }

    /// Whether the manifest calls it good (ok or kept, with the right size).
    pub fn manifest_good(&self) -> bool {
        matches!(self.status_word(), "ok" | "kept")
    }

    /// The warning for a copy chosen from a day that is not good (it is chosen only when no
    /// copy from a good day passed the check), `None` for a good day's.
    pub fn not_good_day(&self) -> Option<String> {
        self.day_state.problem().map(|state| {
            format!(
                "Taking {} ({}) although its day says {state}: no copy from a good day passed the check",
                self.path.display(),
                self.date
            )
        })
    }
}

/// Sorts newest first; of copies made at the same time the local ones first (faster to read,
/// so a remote copy is taken only when the local ones are missing or damaged); then by source
/// and path, for a stable listing.
pub fn newest_first(copies: &mut [DumpCopy]) {
    copies.sort_by(|a, b| {
        b.date
            .cmp(&a.date)
            .then_with(|| a.remote.is_some().cmp(&b.remote.is_some()))
            .then_with(|| a.source.cmp(&b.source))
            .then_with(|| a.path.cmp(&b.path))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_understood() {
        let p = parse_name;
        assert_eq!(
            p("postgresqldump-shop.txt.gz"),
            Some((
                "shop".into(),
                Kind::Database,
                DumpFormat::Plain,
                Compression::Gzip,
                Sealing::None
            ))
        );
        assert_eq!(
            p("postgresqldump-shop.dump.gpg"),
            Some((
                "shop".into(),
                Kind::Database,
                DumpFormat::Custom,
                Compression::None,
                Sealing::Gpg
            ))
        );
        assert_eq!(p("postgresqldump.txt.zst").unwrap().1, Kind::Cluster);
        let age = p("postgresqldump-shop.txt.gz.age").unwrap();
        assert_eq!((age.3, age.4), (Compression::Gzip, Sealing::Age));
        assert_eq!(
            p("postgresqldump-globals.txt.bz2").unwrap().1,
            Kind::Globals
        );
        assert_eq!(
            p("postgresqldump-config.txt.gz").unwrap().1,
            Kind::ServerConfig
        );
        assert_eq!(p("postgresqldump-a.b.txt").unwrap().0, "a.b");
        for other in [
            "postgresqldump.manifest",
            ".postgresqldump-a.txt.Ab12Z9.tmp",
            "postgresqldump-.txt",
            "mysqldump-a.txt",
            "postgresqldump-a.txt.xz",
        ] {
            assert_eq!(p(other), None, "{other}");
        }
    }
}
