//! Choosing the copy to restore: the newest whose manifest says ok (or kept) and whose SHA-256
//! still matches, among the copies of the database, optionally of one day (`--from DATE`);
//! or the file given (`--from PATH`), checked the same way when the manifest lists it.

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
/// and its size and SHA-256 must still be what the manifest says (this reads the whole file).
pub fn rejection(copy: &DumpCopy) -> Option<String> {
    match &copy.listed {
        Listed::Unlisted => return Some("no manifest lists it, so it cannot be checked".into()),
        Listed::BadManifest(reason) => return Some(format!("its manifest is unusable: {reason}")),
        Listed::Entry { .. } if !copy.manifest_good() => {
            return Some(format!("the manifest says {}", copy.status_word()))
        }
        Listed::Entry { sha256, .. } => {
            if let Some(expected) = sha256 {
                match cedar_core::sha256::hash_file(&copy.path) {
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
    if matching.is_empty() {
        if let Some(cluster) = copies.iter().find(|c| c.kind == Kind::Cluster) {
            return Err(RestoreError::ClusterDump {
                database: database.to_string(),
                path: cluster.path.clone(),
            });
        }
        return Err(RestoreError::NotFound {
            database: database.to_string(),
            filter: match from {
                From::Date(day) => format!(" made on {day}"),
                _ => String::new(),
            },
            searched: searched.to_string(),
        });
    }
    let mut reasons = Vec::new();
    for copy in matching {
        match rejection(copy) {
            None => return Ok(copy.clone()),
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
