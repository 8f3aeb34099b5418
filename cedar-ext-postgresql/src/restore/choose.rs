//! Choosing the copy to restore: the newest whose manifest says ok (or kept) and whose SHA-256
//! still matches, among the copies of the database, optionally of one day (`--from DATE`);
//! or the file given (`--from PATH`), checked the same way when the manifest lists it.
//! Copies from a day that holds a good copy of their peer ([`DayState`]: its stage record or
//! upload marker says so, or it has none) come first; one from a day that is not good is
//! taken only when none of those passes the check, with a warning.

use std::path::{Path, PathBuf};

use super::catalog::{describe_path, DumpCopy, Kind, Listed};
use super::error::RestoreError;

/// Which copy the user asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum From {
    /// The newest good one.
    Newest,
    /// The newest good one made on this day (`YYYY-MM-DD`, UTC) or at this time prefix.
    Date(String),
    /// This file.
    Path(PathBuf),
}

impl From {
    /// `--from` as given: a date when it looks like one, else a path.
    pub fn parse(text: Option<&str>) -> From {
        match text {
            None => From::Newest,
            Some(t) if looks_like_date(t) => From::Date(t.to_string()),
            Some(t) => From::Path(PathBuf::from(t)),
        }
    }
}

fn looks_like_date(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() >= 10
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5..7].iter().all(u8::is_ascii_digit)
        && b[7] == b'-'
        && !Path::new(text).exists()
}

/// Why `copy` cannot be trusted, or `None` when it can: the manifest must call it ok or kept,
/// and its size and SHA-256 must still be what the manifest says (this reads the whole file;
/// a remote copy is streamed from its place, decrypted, and hashed on the way).
pub fn rejection(copy: &DumpCopy) -> Option<String> {
    match &copy.listed {
        Listed::Unlisted => return Some("no manifest lists it, so it cannot be checked".into()),
        Listed::BadManifest(reason) => return Some(format!("its manifest is unusable: {reason}")),
        Listed::Sealed(reason) => return Some(reason.clone()),
        Listed::Entry { .. } if !copy.manifest_good() => {
            return Some(format!("the manifest says {}", copy.status_word()))
        }
        Listed::Entry { sha256, .. } => {
            if let Some(expected) = sha256 {
                let digest = copy.stored().and_then(cedar_core::hash_reader);
                match digest {
                    Err(e) => return Some(format!("cannot read it: {e}")),
                    Ok(found) if &found.sha256 != expected => {
                        return Some(format!(
                            "its SHA-256 is {}, the manifest says {expected}: the file is damaged",
                            found.sha256
                        ))
                    }
                    Ok(_) => {}
                }
            }
        }
    }
    None
}

/// The copy of `database` to restore from `copies` (newest first), as `from` asks.
pub fn choose(
    database: &str,
    copies: &[DumpCopy],
    from: &From,
    searched: &str,
) -> Result<DumpCopy, RestoreError> {
    if let From::Path(path) = from {
        let copy =
            describe_path(path).ok_or_else(|| RestoreError::NotADump { path: path.clone() })?;
        if copy.listed == Listed::Unlisted {
            // A file brought from elsewhere (another server, an off-site copy): restored as
            // it is; a cut or damaged one still fails, before anything is committed.
            tracing::warn!(
                "{}: no manifest lists it, so its SHA-256 cannot be checked; restoring it as it is.",
                copy.path.display()
            );
        } else if let Some(reason) = rejection(&copy) {
            return Err(RestoreError::Rejected {
                path: copy.path,
                reason,
            });
        }
        return Ok(copy);
    }
    let wanted_kind = if database == "globals" {
        Kind::Globals
    } else if database == "config" {
        Kind::ServerConfig
    } else {
        Kind::Database
    };
    let matching: Vec<&DumpCopy> = copies
        .iter()
        .filter(|c| c.kind == wanted_kind && c.database == database)
        .filter(|c| match from {
            From::Date(day) => c.date.starts_with(day.as_str()),
            _ => true,
        })
        .collect();
    // Without a file of its own, a database (and the globals) may be in a pg_dumpall of the
    // whole cluster.
    let matching = if matching.is_empty() {
        copies
            .iter()
            .filter(|c| c.kind == Kind::Cluster)
            .filter(|c| match from {
                From::Date(day) => c.date.starts_with(day.as_str()),
                _ => true,
            })
            .collect()
    } else {
        matching
    };
    if matching.is_empty() {
        return Err(RestoreError::NotFound {
            database: database.to_string(),
            filter: match from {
                From::Date(day) => format!(" made on {day}"),
                _ => String::new(),
            },
            searched: searched.to_string(),
        });
    }
    // Newest first among the good days' copies, then among the others.
    let (good_days, other_days): (Vec<&DumpCopy>, Vec<&DumpCopy>) =
        matching.into_iter().partition(|c| c.day_state.is_good());
    let mut reasons = Vec::new();
    for copy in good_days.into_iter().chain(other_days) {
        match rejection(copy) {
            None => {
                if let Some(warning) = copy.not_good_day() {
                    tracing::warn!("{warning}.");
                }
                return Ok(copy.clone());
            }
            Some(reason) => {
                tracing::warn!(
                    "Not restoring {} ({}): {reason}.",
                    copy.path.display(),
                    copy.date
                );
                reasons.push(format!("{} ({}): {reason}", copy.path.display(), copy.date));
            }
        }
    }
    Err(RestoreError::NoGoodCopy {
        database: database.to_string(),
        reasons,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::restore::catalog::scan_dir;
    use crate::restore::DayState;
    use cedar_core::{DumpStatus, Manifest, ManifestEntry};

    fn entry(
        name: &str,
        database: &str,
        status: DumpStatus,
        bytes: &[u8],
        end: &str,
    ) -> ManifestEntry {
        use sha2::Digest;
        ManifestEntry {
            name: name.into(),
            database: database.into(),
            status,
            size: Some(bytes.len() as u64),
            sha256: Some(cedar_core::lowercase_hex(&sha2::Sha256::digest(bytes))),
            verified: true,
            pg_dump_version: None,
            server_version: None,
            start: end.into(),
            end: end.into(),
            error: None,
            replacing: Vec::new(),
            left_out: Vec::new(),
            warnings: Vec::new(),
        }
    }

    fn write_dir(dir: &Path, files: &[(&str, &[u8], ManifestEntry)]) {
        std::fs::create_dir_all(dir).unwrap();
        for (name, bytes, _) in files {
            std::fs::write(dir.join(name), bytes).unwrap();
        }
        let manifest = Manifest::new(files.iter().map(|(_, _, e)| e.clone()).collect());
        std::fs::write(
            dir.join(crate::manifest::MANIFEST),
            serde_json::to_string(&manifest).unwrap(),
        )
        .unwrap();
    }

    #[test]
    fn the_newest_good_copy_is_chosen_and_every_rejection_named() {
        let root = tempfile::tempdir().unwrap();
        let (old, new) = (root.path().join("old"), root.path().join("new"));
        let name = "postgresqldump-shop.txt";
        write_dir(
            &old,
            &[(
                name,
                b"old dump",
                entry(
                    name,
                    "shop",
                    DumpStatus::Ok,
                    b"old dump",
                    "2026-11-30T01:00:00Z",
                ),
            )],
        );
        // The newest: its file no longer matches the digest.
        write_dir(
            &new,
            &[(
                name,
                b"new dumq",
                entry(
                    name,
                    "shop",
                    DumpStatus::Ok,
                    b"new dump",
                    "2026-12-01T01:00:00Z",
                ),
            )],
        );
        let mut copies = scan_dir(&old, "old").unwrap();
        copies.extend(scan_dir(&new, "new").unwrap());
        crate::restore::catalog::newest_first(&mut copies);
        assert_eq!(copies[0].source, "new");

        let chosen = choose("shop", &copies, &From::Newest, "here").unwrap();
        assert_eq!(chosen.source, "old");
        let chosen = choose("shop", &copies, &From::Date("2026-11-30".into()), "here").unwrap();
        assert_eq!(chosen.source, "old");
        let err = choose("shop", &copies, &From::Date("2026-12-01".into()), "here").unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("SHA-256") && text.contains("damaged"),
            "{text}"
        );
        let err = choose("other", &copies, &From::Newest, "collect_dir /c").unwrap_err();
        assert!(matches!(err, RestoreError::NotFound { .. }), "{err}");
        assert!(err.to_string().contains("collect_dir /c"), "{err}");
    }

    #[test]
    fn failed_copies_are_refused_and_cluster_dumps_stand_in() {
        let root = tempfile::tempdir().unwrap();
        let name = "postgresqldump-shop.txt.gz";
        let mut failed = entry(
            name,
            "shop",
            DumpStatus::Failed,
            b"x",
            "2026-12-01T01:00:00Z",
        );
        failed.error = Some("pg_dump failed".into());
        write_dir(root.path(), &[(name, b"x", failed)]);
        let copies = scan_dir(root.path(), "collect").unwrap();
        let err = choose("shop", &copies, &From::Newest, "here").unwrap_err();
        assert!(
            err.to_string().contains("the manifest says failed"),
            "{err}"
        );

        let cluster = tempfile::tempdir().unwrap();
        let all = "postgresqldump.txt.bz2";
        write_dir(
            cluster.path(),
            &[(
                all,
                b"y",
                entry(all, "all", DumpStatus::Ok, b"y", "2026-12-01T01:00:00Z"),
            )],
        );
        let copies = scan_dir(cluster.path(), "collect").unwrap();
        // Without a file of its own, a database is looked for in the cluster dump.
        let chosen = choose("shop", &copies, &From::Newest, "here").unwrap();
        assert_eq!(chosen.kind, Kind::Cluster);
        assert_eq!(chosen.path, cluster.path().join(all));
        let chosen = choose("globals", &copies, &From::Newest, "here").unwrap();
        assert_eq!(chosen.kind, Kind::Cluster);
        let err = choose("shop", &copies, &From::Date("2026-11-30".into()), "here").unwrap_err();
        assert!(matches!(err, RestoreError::NotFound { .. }), "{err}");
        // A damaged cluster dump is refused like any copy.
        std::fs::write(cluster.path().join(all), b"z").unwrap();
        let copies = scan_dir(cluster.path(), "collect").unwrap();
        let err = choose("shop", &copies, &From::Newest, "here").unwrap_err();
        assert!(matches!(err, RestoreError::NoGoodCopy { .. }), "{err}");
    }

    #[test]
    fn copies_from_good_days_come_first_and_the_others_only_when_none_passes() {
        let root = tempfile::tempdir().unwrap();
        let name = "postgresqldump-shop.txt.gz";
        // Newest to oldest: a failed peer, an incomplete upload, a good day.
        let days = [
            ("failed", "2026-12-03T01:00:00Z", DayState::PeerFailed),
            (
                "incomplete",
                "2026-12-02T01:00:00Z",
                DayState::UploadIncomplete,
            ),
            ("good", "2026-12-01T01:00:00Z", DayState::Good),
        ];
        let mut copies = Vec::new();
        for (label, end, state) in days {
            let dir = root.path().join(label);
            let bytes = label.as_bytes();
            write_dir(
                &dir,
                &[(name, bytes, entry(name, "shop", DumpStatus::Ok, bytes, end))],
            );
            let mut found = scan_dir(&dir, label).unwrap();
            found[0].day_state = state;
            copies.extend(found);
        }
        crate::restore::catalog::newest_first(&mut copies);
        assert_eq!(copies[0].source, "failed");
        let source = |from: &From, copies: &[DumpCopy]| {
            let chosen = choose("shop", copies, from, "here").unwrap();
            (chosen.source.clone(), chosen.not_good_day())
        };

        // The older good day's copy, though two newer ones pass the check.
        assert_eq!(source(&From::Newest, &copies), ("good".to_string(), None));
        // Asked for the failed day: its copy, with the warning naming it and the state.
        let (chosen, warning) = source(&From::Date("2026-12-03".into()), &copies);
        assert_eq!(chosen, "failed");
        let warning = warning.unwrap();
        assert!(
            warning.contains(&root.path().join("failed").join(name).display().to_string())
                && warning.contains("peer failed"),
            "{warning}"
        );

        // The good day's copy damaged: the newest of the others.
        std::fs::write(root.path().join("good").join(name), b"gooX").unwrap();
        let (chosen, warning) = source(&From::Newest, &copies);
        assert_eq!(chosen, "failed");
        assert!(warning.is_some());
        // That one damaged too: the incomplete upload's.
        std::fs::write(root.path().join("failed").join(name), b"faileX").unwrap();
        let (chosen, warning) = source(&From::Newest, &copies);
        assert_eq!(chosen, "incomplete");
        assert!(warning.unwrap().contains("upload incomplete"));
        // Every one damaged: each rejection named, as before.
        std::fs::write(root.path().join("incomplete").join(name), b"incompletX").unwrap();
        let err = choose("shop", &copies, &From::Newest, "here").unwrap_err();
        match err {
            RestoreError::NoGoodCopy { reasons, .. } => assert_eq!(reasons.len(), 3, "{reasons:?}"),
            other => panic!("{other}"),
        }
    }

    #[test]
    fn from_tells_dates_from_paths() {
        assert_eq!(From::parse(None), From::Newest);
        assert_eq!(
            From::parse(Some("2026-12-01")),
            From::Date("2026-12-01".into())
        );
        assert_eq!(
            From::parse(Some("/x/postgresqldump-a.txt")),
            From::Path(PathBuf::from("/x/postgresqldump-a.txt"))
        );
    }
}
