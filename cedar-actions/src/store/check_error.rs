//! How the consistency check of a written disc fails, and how the disc differs from what was
//! written (apart from `check_data`, which reports through the store error).

use std::path::PathBuf;

/// How many differing files a message lists (all of them are logged).
const LISTED: usize = 20;

#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("Error [{status}] mounting [{}] at [{}] as [iso9660]{detail}; check that the disc can be read and that mount works here, or set <store><check_data>N", device.display(), mount_point.display())]
    Mount {
        status: String,
        device: PathBuf,
        mount_point: PathBuf,
        detail: String,
    },
    #[error("consistency check failed: the disc in {} does not match {}: {}; the disc was written but cback.store was not, so the next run writes this data again; check the drive and the disc", device.display(), dir.display(), list_differences(.differences))]
    Differs {
        device: PathBuf,
        dir: PathBuf,
        differences: Vec<Difference>,
    },
    #[error("{} is still mounted after 5 tries of umount; unmount it by hand and remove the directory", mount_point.display())]
    StillMounted { mount_point: PathBuf },
    #[error("cannot read {} for the consistency check: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// One way the disc differs from what was written. Paths start with `/`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Difference {
    /// The file is in the staging tree but not on the disc.
    Missing(String),
    /// The file is on the disc but not in the staging tree.
    Extra(String),
    /// The contents differ.
    Content(String),
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Difference::Missing(p) => write!(f, "{p} is missing on the disc"),
            Difference::Extra(p) => write!(f, "{p} is on the disc only"),
            Difference::Content(p) => write!(f, "{p} differs (SHA-256)"),
        }
    }
}

fn list_differences(differences: &[Difference]) -> String {
    let mut parts: Vec<String> = differences
        .iter()
        .take(LISTED)
        .map(|d| d.to_string())
        .collect();
    if differences.len() > LISTED {
        parts.push(format!(
            "and {} more (see the log)",
            differences.len() - LISTED
        ));
    }
    format!("{} file(s): {}", differences.len(), parts.join(", "))
}
