//! Remote places holding copies of staged files (an S3 bucket the amazons3 extension uploads
//! to, for instance), for the tools that read copies back (`cback-restore`). The core knows no
//! such place: an extension implements [`RemotePlace`] and registers a builder with
//! [`RemotePlaceRegistration`] through `inventory`, as actions register themselves;
//! [`remote_places`] builds every place the configuration sets up.
//!
//! A place holds days of the staging tree (`YYYY/MM/DD`) and below each day the staged files
//! by their path relative to the day's directory (`PEER/FILE`). It lists a day's objects with
//! their sizes and opens one as a streaming [`Read`] of the staged file's content: decrypted
//! when the place encrypts on the way, with the [`Keys`] given. Objects below a path component
//! starting with `.cback-` (in-flight or previous copies of a re-upload) are never listed
//! ([`is_hidden`]).

use std::io::Read;
use std::path::PathBuf;

use crate::retention::Policy;
use crate::ConfigFile;

/// One staged file's copy in a remote place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StagedObject {
    /// Where it is, for listings and messages, e.g. `s3://bucket/prefix/2026/12/01/db1/FILE`.
    pub location: String,
    /// The day of the staging tree it copies, `YYYY/MM/DD`.
    pub day: String,
    /// Its path below the day's directory, `/`-separated, e.g. `db1/FILE`.
    pub relative: String,
    /// Bytes as stored (of the encrypted form when the place encrypts).
    pub size: u64,
    /// Last modification, seconds since the epoch, when the place knows it.
    pub modified: Option<i64>,
}

impl StagedObject {
    /// The file name (the last component of [`StagedObject::relative`]).
    pub fn name(&self) -> &str {
        self.relative.rsplit('/').next().unwrap_or(&self.relative)
    }

    /// The directory below the day (`PEER`, or empty).
    pub fn dir(&self) -> &str {
        self.relative.rsplit_once('/').map_or("", |(dir, _)| dir)
    }
}

/// What reading encrypted copies may need. Never a secret itself: a path to one.
#[derive(Debug, Clone)]
pub struct Keys {
    /// An age identity file (`--identity FILE`), for places that encrypt with age.
    pub identity: Option<PathBuf>,
    /// The gpg program (or its `<override>`), for places that encrypt with a gpg command;
    /// the secret key comes from the user's keyring (`GNUPGHOME`).
    pub gpg: PathBuf,
}

/// How a place encrypts the copies it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sealing {
    None,
    /// age recipients: reading needs an identity file.
    Age,
    /// An encrypt command (gpg): reading needs the secret key in the keyring.
    Gpg,
}

impl Sealing {
    pub fn name(self) -> &'static str {
        match self {
            Sealing::None => "none",
            Sealing::Age => "age",
            Sealing::Gpg => "gpg",
        }
    }

    /// The suffix of a file it encrypted: `.age`, `.gpg`, or none.
    pub fn extension(self) -> &'static str {
        match self {
            Sealing::None => "",
            Sealing::Age => ".age",
            Sealing::Gpg => ".gpg",
        }
    }

    /// A file name without its `.age` / `.gpg` suffix, and what the suffix says.
    pub fn of_name(name: &str) -> (&str, Sealing) {
        for sealing in [Sealing::Age, Sealing::Gpg] {
            if let Some(stem) = name.strip_suffix(sealing.extension()) {
                return (stem, sealing);
            }
        }
        (name, Sealing::None)
    }
}

/// A failure reading a remote place.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    #[error("{place}: {message}")]
    Place { place: String, message: String },
    #[error("{location} is encrypted for age recipients and no age identity was given; give --identity FILE naming an age identity of one of its recipients to decrypt it")]
    NeedIdentity { location: String },
    #[error("cannot decrypt {location}: {message}")]
    Decrypt { location: String, message: String },
    #[error("cannot read {location}: {source}")]
    Read {
        location: String,
        #[source]
        source: std::io::Error,
    },
}

/// One remote place holding copies of staged files.
pub trait RemotePlace: std::fmt::Debug + Send + Sync {
    /// How the place is named in listings and messages, e.g. `amazons3 s3://bucket/prefix`.
    fn describe(&self) -> String;
    /// A short name for the copies' source column, e.g. `s3`.
    fn kind(&self) -> &'static str;
    /// How its copies are encrypted.
    fn sealing(&self) -> Sealing;
    /// The days it holds (`YYYY/MM/DD`), oldest first.
    fn days(&self) -> Result<Vec<String>, RemoteError>;
    /// The objects of `day` with their sizes, hidden ones left out, in key order.
    fn objects(&self, day: &str) -> Result<Vec<StagedObject>, RemoteError>;
    /// The staged file's content, decrypted as it is read, in bounded memory.
    fn open(&self, object: &StagedObject, keys: &Keys)
        -> Result<Box<dyn Read + Send>, RemoteError>;
    /// The upload marker of `day` ([`crate::UploadMarker`]): how far its upload got, with
    /// each peer's stage outcome. `None` when the day has none (uploaded before markers, or
    /// by the original), or the place keeps none; the day's peers then count as good.
    fn day_state(&self, _day: &str) -> Result<Option<crate::UploadMarker>, RemoteError> {
        Ok(None)
    }
    /// The retention policy of its days, which `cback purge` applies (`None`: it keeps all).
    fn policy(&self) -> Option<Policy> {
        None
    }
    /// Removes every object of `day` but the hidden ones (its upload marker is removed too,
    /// last), in batches, never a key outside the day; returns how many. Places without a policy need not implement it.
    fn remove_day(&self, day: &str) -> Result<usize, RemoteError> {
        Err(RemoteError::Place {
            place: self.describe(),
            message: format!("cannot remove the day {day}: this place does not remove copies"),
        })
    }
}

/// Builds the place an extension sets up from a configuration: `None` when the
/// configuration does not set it up, an error (in words) when it sets it up wrongly.
pub type BuildPlace = fn(&ConfigFile) -> Option<Result<Box<dyn RemotePlace>, String>>;

/// A kind of remote place, registered by its extension with `inventory::submit!`.
#[derive(Debug)]
pub struct RemotePlaceRegistration {
    /// The extension, e.g. `amazons3`.
    pub name: &'static str,
    pub build: BuildPlace,
}

inventory::collect!(RemotePlaceRegistration);

/// A place built, or the name of its extension and why it could not be.
pub type Built = Result<Box<dyn RemotePlace>, (&'static str, String)>;

/// Every registered place the configuration sets up, in the order of their names; each one
/// that cannot be built is its name and the reason.
pub fn remote_places(config: &ConfigFile) -> Vec<Built> {
    let mut registrations: Vec<&RemotePlaceRegistration> =
        inventory::iter::<RemotePlaceRegistration>
            .into_iter()
            .collect();
    registrations.sort_by_key(|r| r.name);
    registrations
        .into_iter()
        .filter_map(|r| (r.build)(config).map(|built| built.map_err(|e| (r.name, e))))
        .collect()
}

/// Whether a path below a day lies in a hidden part of the place (a component starting with
/// `.cback-`, such as `.cback-incoming/` or `.cback-previous/`).
pub fn is_hidden(relative: &str) -> bool {
    relative.split('/').any(|c| c.starts_with(".cback-"))
}

/// Whether `text` is `YYYY/MM/DD` in digits.
pub fn is_day(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 10
        && b[4] == b'/'
        && b[7] == b'/'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_parts_and_days() {
        assert!(is_hidden(".cback-incoming/db1/x"));
        assert!(is_hidden("db1/.cback-previous/x"));
        assert!(!is_hidden("db1/.hidden"));
        assert!(!is_hidden("db1/cback-x"));
        assert!(is_day("2026/12/01"));
        assert!(!is_day("2026/12/1x"));
        assert!(!is_day("2026-12-01"));
        let object = StagedObject {
            location: "s3://b/2026/12/01/db1/f".into(),
            day: "2026/12/01".into(),
            relative: "db1/f".into(),
            size: 1,
            modified: None,
        };
        assert_eq!((object.dir(), object.name()), ("db1", "f"));
    }
}
