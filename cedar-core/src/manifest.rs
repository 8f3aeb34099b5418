//! Dump manifests: what a dumping extension wrote into collect_dir, and checking a directory
//! against it.
//!
//! The format lives in core because two parts read it: the extension that dumps writes it and
//! checks collect_dir against it (the postgresql extension's `cback pgverify`), and the stage
//! action checks every staged dump of a peer against the manifest staged with them
//! ([`ManifestKind::check_listed`]). The kernel knows no manifest by name: the extension describes its own
//! with a [`ManifestKind`] (file name, dump prefix, the action named in messages), passes it to
//! [`ManifestKind::read`], [`ManifestKind::write`] and [`ManifestKind::check`], and registers it
//! with [`RegisteredManifest`] so that stage recognizes it among a peer's files ([`kind_of`]).
//!
//! The manifest is JSON, written atomically (hidden temporary file, fsync, rename, directory
//! fsync) with the same owner and mode as the dumps: around each dump's rename and after the
//! action, so that every file under a final name matches its entry at every instant (while a
//! dump is renamed its entry also lists, in `replacing`, what the name held before; a run
//! killed at that moment leaves it, and the checks accept either). For each configured
//! dump it lists the file name, its size and SHA-256, the database (`all` for one pg_dumpall,
//! `globals` for roles and tablespaces), the pg_dump and server versions, the start and end
//! times (UTC, RFC 3339) and the status:
//!
//! - `ok`: written (and verified, unless `<verify>N`) by this run;
//! - `kept`: this run's dump failed, and the file under the name is the previous good dump,
//!   listed as the previous manifest described it (with this run's `error`);
//! - `failed`: this run's dump failed and there is no previous good dump (`error` says why).
//!
//! [`check`] compares a directory with its manifest: every `ok` and `kept` file must exist
//! with the listed size and SHA-256; a `failed` entry is a problem too, since the directory
//! holds no good dump of that database.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::atomic::{AtomicError, AtomicFile, Owner};
pub use crate::calendar::rfc3339;
use crate::sha256::{hash_file, Digested};

/// One kind of dump manifest, described by the extension that writes it.
#[derive(Debug)]
pub struct ManifestKind {
    /// The manifest's file name in collect_dir, e.g. `postgresqldump.manifest`.
    pub file: &'static str,
    /// How the names of the dump files (and of the manifest) start, e.g. `postgresqldump`.
    pub dump_prefix: &'static str,
    /// The action that writes the manifest and its dumps, named in messages.
    pub action: &'static str,
    /// How messages name the database (or other item) of an entry, e.g. `database [shop]`.
    pub describe: fn(&str) -> String,
}

/// A manifest kind that the stage action recognizes among a peer's files. Submit one with
/// `inventory::submit!` beside the extension's action registration.
#[derive(Debug)]
pub struct RegisteredManifest(pub &'static ManifestKind);

inventory::collect!(RegisteredManifest);

/// The registered manifest kind whose file is named `name`.
pub fn kind_of(name: &str) -> Option<&'static ManifestKind> {
    inventory::iter::<RegisteredManifest>
        .into_iter()
        .map(|r| r.0)
        .find(|kind| kind.file == name)
}

/// The layout version written in `format`.
pub const FORMAT: u32 = 1;

/// Outcome of one dump.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Kept,
    Failed,
}

/// One file of the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The file name in collect_dir.
    pub name: String,
    /// The database; `all` for a pg_dumpall of the cluster, `globals` for roles and
    /// tablespaces.
    pub database: String,
    pub status: Status,
    /// Bytes of the file (absent when there is no good file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// Lowercase hex SHA-256 of the file as stored (compressed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Whether the file was read back and found complete.
    #[serde(default)]
    pub verified: bool,
    /// `pg_dump --version` (or pg_dumpall's) of the program that wrote it, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pg_dump_version: Option<String>,
    /// The server's `server_version`, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_version: Option<String>,
    /// When the dump started and ended (UTC, RFC 3339).
    pub start: String,
    pub end: String,
    /// Why this run's dump failed (`kept` and `failed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Set while this entry's dump is being renamed into place: what the name may hold
    /// before, which the checks accept as well. A run that is killed between the two manifest
    /// writes around the rename leaves it; the next run's manifest drops it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replacing: Vec<Replaced>,
    /// What the dump leaves out on purpose (`schema audit`, `table public.log`), as the
    /// configuration chose it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub left_out: Vec<String>,
    /// What a reader of the file must know although the dump succeeded (e.g. "role passwords
    /// were left out"). A file's entry carries the warnings of the run that wrote it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// What a name held before the dump that is being renamed onto it ([`Entry::replacing`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Replaced {
    /// Bytes of the earlier file; absent when there was no good file under the name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// Its SHA-256; absent when there was no good file under the name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

impl Replaced {
    /// What `previous` (the earlier manifest's entry for the name, if any) says the name may
    /// hold: its file, or any it was itself replacing when its run was killed.
    pub fn from_previous(previous: Option<&Entry>) -> Vec<Replaced> {
        match previous.filter(|e| e.status != Status::Failed) {
            Some(entry) => {
                let mut all = vec![Replaced {
                    size: entry.size,
                    sha256: entry.sha256.clone(),
                }];
                all.extend(entry.replacing.iter().cloned());
                all
            }
            None => vec![Replaced {
                size: None,
                sha256: None,
            }],
        }
    }

    /// Whether `found` (`None`: no file; else its size and SHA-256 or why it could not be
    /// read) is what the name held before.
    fn matches(&self, found: Option<&std::io::Result<Digested>>) -> bool {
        match (found, self.size, self.sha256.as_ref()) {
            (None, None, _) | (None, _, None) => true,
            (Some(Ok(got)), Some(size), Some(sha256)) => got.size == size && got.sha256 == *sha256,
            _ => false,
        }
    }
}

/// The whole manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    /// When it was written (UTC, RFC 3339).
    pub written: String,
    pub cback_version: String,
    pub files: Vec<Entry>,
}

/// Errors of writing, reading and checking a manifest.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("cannot write the {} into {}", kind.file, dir.display())]
    Write {
        kind: &'static ManifestKind,
        dir: PathBuf,
        #[source]
        source: AtomicError,
    },
    #[error("there is no manifest {}; run the {} action first (it writes one after every run unless <manifest> is N)", path.display(), kind.action)]
    Missing {
        kind: &'static ManifestKind,
        path: PathBuf,
    },
    #[error("cannot read the manifest {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the manifest {} is not valid (not written by cback, or damaged); run the {} action again to replace it", path.display(), kind.action)]
    Parse {
        kind: &'static ManifestKind,
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("{}", mismatch_message(kind, dir, problems, *checked))]
    Mismatch {
        kind: &'static ManifestKind,
        dir: PathBuf,
        checked: usize,
        problems: Vec<Problem>,
    },
}

fn mismatch_message(
    kind: &ManifestKind,
    dir: &Path,
    problems: &[Problem],
    checked: usize,
) -> String {
    let (manifest, action) = (kind.file, kind.action);
    let extra = problems
        .iter()
        .filter(|p| matches!(p, Problem::Unlisted { .. } | Problem::StaleTemp { .. }))
        .count();
    let listed = problems.len() - extra;
    let mut text = if listed > 0 {
        format!(
            "{listed} of {checked} files in {} do not match {manifest}; restore them from another copy or run the {action} action again",
            dir.display()
        )
    } else {
        format!("{} holds files {manifest} does not list", dir.display())
    };
    if listed > 0 && extra > 0 {
        text.push_str(&format!(
            "; it also holds {extra} file(s) {manifest} does not list"
        ));
    }
    for problem in problems {
        text.push_str("\n- ");
        text.push_str(&problem.to_string());
    }
    text
}

/// One way a directory differs from its manifest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error("{name}: missing (the manifest lists {size} bytes)")]
    Missing { name: String, size: u64 },
    #[error("{name}: {found} bytes, the manifest says {expected}")]
    Size {
        name: String,
        expected: u64,
        found: u64,
    },
    #[error("{name}: sha256 {found}, the manifest says {expected}")]
    Sha256 {
        name: String,
        expected: String,
        found: String,
    },
    #[error("{name}: cannot read it: {reason}")]
    Unreadable { name: String, reason: String },
    #[error("{name}: a dump file the manifest does not list (left from an earlier configuration, or put there by hand); remove it or move it out of collect_dir")]
    Unlisted { name: String },
    #[error("{name}: a partial dump left by a run that was killed or crashed; the next {action} run removes it, or remove it by hand")]
    StaleTemp { name: String, action: &'static str },
    #[error("{name}: the dump of {database} failed in the run that wrote the manifest, and there is no good dump of it: {error}")]
    Failed {
        name: String,
        database: String,
        error: String,
    },
}

impl Manifest {
    /// A manifest of `files`, written now.
    pub fn new(files: Vec<Entry>) -> Manifest {
        Manifest {
            format: FORMAT,
            written: rfc3339(crate::clock::now_secs()),
            cback_version: env!("CARGO_PKG_VERSION").to_string(),
            files,
        }
    }

    /// The entry for file `name`.
    pub fn entry(&self, name: &str) -> Option<&Entry> {
        self.files.iter().find(|e| e.name == name)
    }
}

/// Turns this run's failed entries into `kept` entries when the previous manifest listed a
/// good file under the same name that is still there; the others stay `failed`.
pub fn carry_over(entries: Vec<Entry>, previous: Option<&Manifest>, dir: &Path) -> Vec<Entry> {
    entries
        .into_iter()
        .map(|entry| {
            if entry.status != Status::Failed {
                return entry;
            }
            let old = previous
                .and_then(|m| m.entry(&entry.name))
                .filter(|old| old.status != Status::Failed && old.sha256.is_some())
                .filter(|_| dir.join(&entry.name).is_file());
            match old {
                Some(old) => Entry {
                    status: Status::Kept,
                    error: entry.error.clone(),
                    ..old.clone()
                },
                None => entry,
            }
        })
        .collect()
}

impl ManifestKind {
    /// Reads the manifest of `dir`.
    pub fn read(&'static self, dir: &Path) -> Result<Manifest, ManifestError> {
        self.read_file(&dir.join(self.file))
    }

    /// Reads a manifest from `path` (a staged copy may have another name until it is renamed).
    pub fn read_file(&'static self, path: &Path) -> Result<Manifest, ManifestError> {
        let path = path.to_path_buf();
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                return Err(ManifestError::Missing { kind: self, path })
            }
            Err(source) => return Err(ManifestError::Read { path, source }),
        };
        serde_json::from_str(&text).map_err(|source| ManifestError::Parse {
            kind: self,
            path,
            source,
        })
    }

    /// Writes `manifest` into `dir` atomically, owned like the dumps.
    pub fn write(
        &'static self,
        dir: &Path,
        manifest: &Manifest,
        owner: Option<Owner<'_>>,
    ) -> Result<PathBuf, ManifestError> {
        let fail = |source| ManifestError::Write {
            kind: self,
            dir: dir.to_path_buf(),
            source,
        };
        let mut json = serde_json::to_string_pretty(manifest).expect("a manifest serializes");
        json.push('\n');
        let file = AtomicFile::create(dir, self.file).map_err(fail)?;
        let mut handle = file.file();
        handle
            .write_all(json.as_bytes())
            .map_err(|source| AtomicError::Write {
                path: file.temp_path().to_path_buf(),
                source,
            })
            .map_err(fail)?;
        file.commit(owner).map_err(fail)
    }

    /// Checks `dir` against its manifest: returns the manifest when every file matches, else
    /// every problem.
    pub fn check(&'static self, dir: &Path) -> Result<Manifest, ManifestError> {
        let manifest = self.read(dir)?;
        let mut problems = Vec::new();
        for entry in &manifest.files {
            if let Some(problem) = self.check_entry(dir, entry) {
                problems.push(problem);
            }
        }
        problems.extend(self.strays(dir, &manifest));
        let checked = manifest.files.len();
        if problems.is_empty() {
            Ok(manifest)
        } else {
            Err(ManifestError::Mismatch {
                kind: self,
                dir: dir.to_path_buf(),
                checked,
                problems,
            })
        }
    }

    /// The dump-like files (`DUMP_PREFIX*`) in `dir` that `manifest` does not list, and the
    /// temporary files a killed run left.
    fn strays(&self, dir: &Path, manifest: &Manifest) -> Vec<Problem> {
        let Ok(read) = std::fs::read_dir(dir) else {
            return Vec::new();
        };
        let mut names: Vec<String> = read
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        names.sort();
        names
            .into_iter()
            .filter_map(|name| {
                if self.is_dump_temp(&name) {
                    Some(Problem::StaleTemp {
                        name,
                        action: self.action,
                    })
                } else if name.starts_with(self.dump_prefix)
                    && name != self.file
                    && manifest.entry(&name).is_none()
                {
                    Some(Problem::Unlisted { name })
                } else {
                    None
                }
            })
            .collect()
    }

    /// Whether `name` is a temporary file of a dump or of the manifest
    /// (`.DUMP_PREFIX….XXXXXX.tmp`), such as a killed run leaves behind.
    pub fn is_dump_temp(&self, name: &str) -> bool {
        crate::atomic::is_temp_of(name).is_some_and(|n| n.starts_with(self.dump_prefix))
    }

    /// Checks the files `manifest` lists as good (`ok` and `kept`) against what `found` says of
    /// each name: `None` when there is no such file, else its size and SHA-256 (or why it could not
    /// be read). `failed` entries and unlisted files are not looked at: this answers "are the files
    /// that were copied the files that were written", for the stage action.
    pub fn check_listed(
        &self,
        manifest: &Manifest,
        found: &dyn Fn(&str) -> Option<std::io::Result<Digested>>,
    ) -> Vec<Problem> {
        manifest
            .files
            .iter()
            .filter(|e| e.status != Status::Failed)
            .filter_map(|entry| {
                let name = entry.name.clone();
                let (Some(size), Some(sha256)) = (entry.size, entry.sha256.as_ref()) else {
                    return Some(Problem::Failed {
                        name,
                        database: (self.describe)(&entry.database),
                        error: "the manifest lists no size or checksum for it".into(),
                    });
                };
                let found = found(&entry.name);
                if entry.replacing.iter().any(|r| r.matches(found.as_ref())) {
                    return None;
                }
                match found {
                    None => Some(Problem::Missing { name, size }),
                    Some(Err(err)) => Some(Problem::Unreadable {
                        name,
                        reason: err.to_string(),
                    }),
                    Some(Ok(got)) if got.size != size => Some(Problem::Size {
                        name,
                        expected: size,
                        found: got.size,
                    }),
                    Some(Ok(got)) if got.sha256 != *sha256 => Some(Problem::Sha256 {
                        name,
                        expected: sha256.clone(),
                        found: got.sha256,
                    }),
                    Some(Ok(_)) => None,
                }
            })
            .collect()
    }

    fn check_entry(&self, dir: &Path, entry: &Entry) -> Option<Problem> {
        let problem = self.check_listed_entry(dir, entry)?;
        if entry.replacing.is_empty() {
            return Some(problem);
        }
        let path = dir.join(&entry.name);
        let found = match std::fs::symlink_metadata(&path) {
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => None,
            _ => Some(hash_file(&path)),
        };
        if entry.replacing.iter().any(|r| r.matches(found.as_ref())) {
            None
        } else {
            Some(problem)
        }
    }

    /// [`Self::check_entry`] against the entry's own size and SHA-256.
    fn check_listed_entry(&self, dir: &Path, entry: &Entry) -> Option<Problem> {
        let name = entry.name.clone();
        let (Some(size), Some(sha256), false) = (
            entry.size,
            entry.sha256.as_ref(),
            entry.status == Status::Failed,
        ) else {
            return Some(Problem::Failed {
                name,
                database: (self.describe)(&entry.database),
                error: entry
                    .error
                    .clone()
                    .unwrap_or_else(|| "no checksum listed".into()),
            });
        };
        let path = dir.join(&entry.name);
        let meta = match std::fs::metadata(&path) {
            Ok(meta) => meta,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                return Some(Problem::Missing { name, size })
            }
            Err(err) => {
                return Some(Problem::Unreadable {
                    name,
                    reason: err.to_string(),
                })
            }
        };
        if meta.len() != size {
            return Some(Problem::Size {
                name,
                expected: size,
                found: meta.len(),
            });
        }
        match hash_file(&path) {
            Ok(found) if found.sha256 == *sha256 => None,
            Ok(found) => Some(Problem::Sha256 {
                name,
                expected: sha256.clone(),
                found: found.sha256,
            }),
            Err(err) => Some(Problem::Unreadable {
                name,
                reason: err.to_string(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    /// A manifest kind as a dumping extension describes its own.
    static KIND: ManifestKind = ManifestKind {
        file: "postgresqldump.manifest",
        dump_prefix: "postgresqldump",
        action: "postgresql",
        describe: |database| format!("database [{database}]"),
    };
    const MANIFEST: &str = KIND.file;

    fn entry(dir: &Path, name: &str, content: &[u8]) -> Entry {
        std::fs::write(dir.join(name), content).unwrap();
        let digest = hash_file(&dir.join(name)).unwrap();
        Entry {
            name: name.into(),
            database: name.trim_start_matches("postgresqldump-").into(),
            status: Status::Ok,
            size: Some(digest.size),
            sha256: Some(digest.sha256),
            verified: true,
            pg_dump_version: Some("pg_dump (PostgreSQL) 15.18".into()),
            server_version: Some("15.18".into()),
            start: rfc3339(0),
            end: rfc3339(1),
            error: None,
            replacing: Vec::new(),
            left_out: Vec::new(),
            warnings: Vec::new(),
        }
    }

    #[test]
    fn times_are_utc_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_795_620_572), "2026-11-25T15:29:32Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn written_atomically_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let manifest = Manifest::new(vec![entry(dir.path(), "a", b"aaa")]);
        let path = KIND.write(dir.path(), &manifest, None).unwrap();
        assert_eq!(path, dir.path().join(MANIFEST));
        assert_eq!(std::fs::metadata(&path).unwrap().mode() & 0o777, 0o600);
        assert_eq!(KIND.read(dir.path()).unwrap(), manifest);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("\"status\": \"ok\""), "{text}");
        assert!(
            text.contains(
                "\"sha256\": \"9834876dcfb05cb167a5c24953eba58c4ac89b1adf57f28f2f9d09af107ee8f0\""
            ),
            "{text}"
        );
        let hidden: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
            .collect();
        assert!(hidden.is_empty());
    }

    #[test]
    fn an_entry_being_renamed_accepts_the_file_it_replaces_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let old = entry(dir.path(), "postgresqldump-a", b"yesterday");
        let new = entry(dir.path(), "postgresqldump-a", b"today, longer");
        let replacing = Replaced::from_previous(Some(&old));
        let pending = Entry {
            replacing: replacing.clone(),
            ..new.clone()
        };
        let manifest = Manifest::new(vec![pending.clone()]);
        KIND.write(dir.path(), &manifest, None).unwrap();
        let path = dir.path().join("postgresqldump-a");
        assert!(KIND.check(dir.path()).is_ok(), "after the rename");
        std::fs::write(&path, b"yesterday").unwrap();
        assert!(KIND.check(dir.path()).is_ok(), "before the rename");
        std::fs::write(&path, b"yesterdaX").unwrap();
        assert!(
            KIND.check(dir.path()).is_err(),
            "a damaged file matches neither"
        );
        let found = |content: &[u8]| {
            let copy = dir.path().join("copy");
            std::fs::write(&copy, content).unwrap();
            let digest = hash_file(&copy).unwrap();
            move |_: &str| Some(Ok(digest.clone()))
        };
        assert!(KIND
            .check_listed(&manifest, &found(b"yesterday"))
            .is_empty());
        assert_eq!(KIND.check_listed(&manifest, &found(b"yesterdaX")).len(), 1);
        // No earlier file: missing is fine until the rename; so is what a killed run's own
        // pending entry was replacing.
        let first = Entry {
            replacing: Replaced::from_previous(None),
            warnings: Vec::new(),
            ..new.clone()
        };
        std::fs::remove_file(&path).unwrap();
        KIND.write(dir.path(), &Manifest::new(vec![first]), None)
            .unwrap();
        assert!(KIND.check(dir.path()).is_ok(), "nothing under the name yet");
        let again = Replaced::from_previous(Some(&pending));
        assert_eq!(again.len(), 2, "{again:?}");
        assert!(again.contains(&replacing[0]));
    }

    #[test]
    fn a_matching_directory_passes() {
        let dir = tempfile::tempdir().unwrap();
        let files = vec![
            entry(dir.path(), "a", b"one"),
            entry(dir.path(), "b", b"two"),
        ];
        KIND.write(dir.path(), &Manifest::new(files), None).unwrap();
        assert_eq!(KIND.check(dir.path()).unwrap().files.len(), 2);
    }

    #[test]
    fn every_mismatch_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let mut failed = entry(dir.path(), "f", b"");
        failed.status = Status::Failed;
        failed.size = None;
        failed.sha256 = None;
        failed.error = Some("pg_dump failed with exit status 1".into());
        let files = vec![
            entry(dir.path(), "gone", b"x"),
            entry(dir.path(), "short", b"12345"),
            entry(dir.path(), "flipped", b"abc"),
            entry(dir.path(), "fine", b"ok"),
            failed,
        ];
        KIND.write(dir.path(), &Manifest::new(files), None).unwrap();
        std::fs::remove_file(dir.path().join("gone")).unwrap();
        std::fs::write(dir.path().join("short"), b"123").unwrap();
        std::fs::write(dir.path().join("flipped"), b"abd").unwrap();
        let err = KIND.check(dir.path()).unwrap_err();
        let text = err.to_string();
        let ManifestError::Mismatch {
            problems, checked, ..
        } = &err
        else {
            panic!("{text}")
        };
        assert_eq!(*checked, 5);
        assert_eq!(problems.len(), 4, "{text}");
        assert!(text.starts_with("4 of 5 files in "), "{text}");
        assert!(
            text.contains("- gone: missing (the manifest lists 1 bytes)"),
            "{text}"
        );
        assert!(
            text.contains("- short: 3 bytes, the manifest says 5"),
            "{text}"
        );
        assert!(text.contains("- flipped: sha256 "), "{text}");
        assert!(
            text.contains("- f: the dump of database [f] failed") && text.contains("exit status 1"),
            "{text}"
        );
        assert!(!text.contains("fine"), "{text}");
    }

    #[test]
    fn missing_and_damaged_manifests_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let err = KIND.check(dir.path()).unwrap_err();
        assert!(matches!(err, ManifestError::Missing { .. }), "{err}");
        assert!(err.to_string().contains("run the postgresql action first"));
        std::fs::write(dir.path().join(MANIFEST), "{not json").unwrap();
        let err = KIND.check(dir.path()).unwrap_err();
        assert!(matches!(err, ManifestError::Parse { .. }), "{err}");
    }

    #[test]
    fn a_failed_dump_keeps_the_previous_good_entry() {
        let dir = tempfile::tempdir().unwrap();
        let old = entry(dir.path(), "postgresqldump-a.txt", b"yesterday");
        let previous = Manifest::new(vec![old.clone()]);
        let failed = |name: &str| Entry {
            name: name.into(),
            database: "a".into(),
            status: Status::Failed,
            size: None,
            sha256: None,
            verified: false,
            pg_dump_version: None,
            server_version: None,
            start: rfc3339(5),
            end: rfc3339(6),
            error: Some("boom".into()),
            replacing: Vec::new(),
            left_out: Vec::new(),
            warnings: Vec::new(),
        };
        let merged = carry_over(
            vec![
                failed("postgresqldump-a.txt"),
                failed("postgresqldump-b.txt"),
            ],
            Some(&previous),
            dir.path(),
        );
        assert_eq!(merged[0].status, Status::Kept);
        assert_eq!(merged[0].sha256, old.sha256);
        assert_eq!(merged[0].end, old.end);
        assert_eq!(merged[0].error.as_deref(), Some("boom"));
        assert_eq!(merged[1].status, Status::Failed);
        KIND.write(dir.path(), &Manifest::new(merged), None)
            .unwrap();
        let err = KIND.check(dir.path()).unwrap_err().to_string();
        assert!(err.starts_with("1 of 2 files"), "{err}");
        assert!(
            err.contains("postgresqldump-b.txt: the dump of database [a] failed"),
            "{err}"
        );
        // Without the file, nothing is carried over.
        std::fs::remove_file(dir.path().join("postgresqldump-a.txt")).unwrap();
        let merged = carry_over(
            vec![failed("postgresqldump-a.txt")],
            Some(&previous),
            dir.path(),
        );
        assert_eq!(merged[0].status, Status::Failed);
    }

    #[test]
    fn check_listed_names_each_bad_copy_and_skips_failed_entries() {
        let dir = tempfile::tempdir().unwrap();
        let mut failed = entry(dir.path(), "postgresqldump-f.txt", b"");
        failed.status = Status::Failed;
        let manifest = Manifest::new(vec![
            entry(dir.path(), "postgresqldump-a.txt", b"aaa"),
            entry(dir.path(), "postgresqldump-b.txt", b"bbb"),
            entry(dir.path(), "postgresqldump-c.txt", b"ccc"),
            failed,
        ]);
        std::fs::write(dir.path().join("postgresqldump-b.txt"), b"bbX").unwrap();
        std::fs::remove_file(dir.path().join("postgresqldump-c.txt")).unwrap();
        let found = |name: &str| {
            let path = dir.path().join(name);
            path.exists().then(|| hash_file(&path))
        };
        let problems = KIND.check_listed(&manifest, &found);
        let text: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
        assert_eq!(problems.len(), 2, "{text:?}");
        assert!(
            text[0].starts_with("postgresqldump-b.txt: sha256 "),
            "{text:?}"
        );
        assert!(
            text[1].starts_with("postgresqldump-c.txt: missing"),
            "{text:?}"
        );
    }
}
