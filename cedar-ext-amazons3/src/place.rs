//! The bucket of the `<amazons3>` section as a remote place holding copies of staged files
//! ([`cedar_core::RemotePlace`]), for `cback-restore`: the same client, credentials,
//! endpoint and region rules as the upload ([`crate::client`]); days found by listing
//! `PREFIX/YYYY/MM/DD/` with the delimiter `/`; a day's objects listed with their sizes; an
//! object read with a streaming GetObject (bounded memory) and decrypted as it arrives: with
//! an age identity (`--identity FILE`) when the section encrypts with age recipients, through
//! `gpg --decrypt` when it has an `<encrypt>` command. Empty files are stored unencrypted, so
//! they are read as they are. A day's upload marker (`DAY/.cback-upload.json`, written by
//! the upload, [`crate::marker`]) is read for `cback purge` ([`RemotePlace::day_state`]) and
//! never listed as a copy.

use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use cedar_core::{
    is_day_path, is_hidden_path, ConfigFile, RemoteCopyError, RemoteKeys, RemotePlace,
    RetentionPolicy, Sealing, StagedObject, UnsealError, UploadMarker,
};

use crate::action::{home_of, load_settings};
use crate::client::{ConnectOptions, S3Error, S3};
use crate::config::{AmazonS3Section, Encryption, SECTION};
use crate::marker;
use crate::plan::day_prefix;

/// The configured bucket and prefix.
#[derive(Debug)]
pub struct S3Place {
    s3: Arc<S3>,
    prefix: String,
    sealing: Sealing,
    policy: Option<RetentionPolicy>,
}

/// The place the configuration sets up: `None` without an `<amazons3>` section.
pub fn build(config: &ConfigFile) -> Option<Result<Box<dyn RemotePlace>, String>> {
    match config.section::<AmazonS3Section>(SECTION) {
        Ok(None) => return None,
        Ok(Some(_)) => {}
        Err(e) => return Some(Err(e.to_string())),
    }
    Some(connect(config).map(|place| Box::new(place) as Box<dyn RemotePlace>))
}

fn connect(config: &ConfigFile) -> Result<S3Place, String> {
    let settings = load_settings(config).map_err(|e| e.to_string())?;
    let user = config
        .config
        .options
        .as_ref()
        .and_then(|o| o.backup_user.as_deref());
    let options = ConnectOptions {
        endpoint: settings.endpoint.clone(),
        region: settings.region.clone(),
        home: user.and_then(home_of),
    };
    let s3 = S3::connect(&options, settings.bucket()).map_err(|e| e.to_string())?;
    Ok(S3Place {
        s3: Arc::new(s3),
        prefix: settings.prefix().to_string(),
        policy: settings.policy,
        sealing: match settings.encryption {
            Encryption::None => Sealing::None,
            Encryption::Age(_) => Sealing::Age,
            Encryption::Command(_) => Sealing::Gpg,
        },
    })
}

impl S3Place {
    fn key(&self, object: &StagedObject) -> String {
        format!(
            "{}/{}",
            day_prefix(&self.prefix, &object.day),
            object.relative
        )
    }

    fn failed(&self, e: S3Error) -> RemoteCopyError {
        RemoteCopyError::Place {
            place: self.describe(),
            message: e.to_string(),
        }
    }

    /// The numbered directories of `digits` digits below `prefix`.
    fn numbered(&self, prefix: &str, digits: usize) -> Result<Vec<String>, RemoteCopyError> {
        let mut dirs: Vec<String> = self
            .s3
            .list_dirs(prefix)
            .map_err(|e| self.failed(e))?
            .into_iter()
            .filter(|d| d.len() == digits && d.bytes().all(|b| b.is_ascii_digit()))
            .collect();
        dirs.sort();
        Ok(dirs)
    }
}

impl RemotePlace for S3Place {
    fn describe(&self) -> String {
        if self.prefix.is_empty() {
            format!("amazons3 s3://{}", self.s3.bucket())
        } else {
            format!("amazons3 s3://{}/{}", self.s3.bucket(), self.prefix)
        }
    }

    fn kind(&self) -> &'static str {
        "s3"
    }

    fn sealing(&self) -> Sealing {
        self.sealing
    }

    fn days(&self) -> Result<Vec<String>, RemoteCopyError> {
        // `PREFIX/` (or the bucket's root): the days are `PREFIX/YYYY/MM/DD/`.
        let root = day_prefix(&self.prefix, "");
        let mut days = Vec::new();
        for year in self.numbered(&root, 4)? {
            for month in self.numbered(&format!("{root}{year}/"), 2)? {
                for day in self.numbered(&format!("{root}{year}/{month}/"), 2)? {
                    let date = format!("{year}/{month}/{day}");
                    if is_day_path(&date) {
                        days.push(date);
                    }
                }
            }
        }
        Ok(days)
    }

    fn objects(&self, day: &str) -> Result<Vec<StagedObject>, RemoteCopyError> {
        let prefix = format!("{}/", day_prefix(&self.prefix, day));
        let listed = self.s3.list(&prefix).map_err(|e| self.failed(e))?;
        Ok(listed
            .into_iter()
            .filter_map(|l| {
                let relative = l.key.strip_prefix(&prefix)?.to_string();
                if relative.is_empty() || relative.ends_with('/') || is_hidden_path(&relative) {
                    return None;
                }
                Some(StagedObject {
                    location: format!("s3://{}/{}", self.s3.bucket(), l.key),
                    day: day.to_string(),
                    relative,
                    size: l.size,
                    modified: l.modified,
                })
            })
            .collect())
    }

    fn day_state(&self, day: &str) -> Result<Option<UploadMarker>, RemoteCopyError> {
        let day_prefix = day_prefix(&self.prefix, day);
        marker::read(&self.s3, &day_prefix).map_err(|message| RemoteCopyError::Place {
            place: self.describe(),
            message,
        })
    }

    fn policy(&self) -> Option<RetentionPolicy> {
        self.policy
    }

    fn remove_day(&self, day: &str) -> Result<usize, RemoteCopyError> {
        if !is_day_path(day) {
            return Err(RemoteCopyError::Place {
                place: self.describe(),
                message: format!("refusing to remove [{day}]: not a day YYYY/MM/DD"),
            });
        }
        // Only keys below `PREFIX/YYYY/MM/DD/`, and never an object being uploaded (`.cback-`);
        // the day's upload marker last, so a removal cut short leaves the day marked.
        let prefix = format!("{}/", day_prefix(&self.prefix, day));
        let listed = self.s3.list(&prefix).map_err(|e| self.failed(e))?;
        let marker_key = marker::key(&day_prefix(&self.prefix, day));
        let mut keys: Vec<String> = listed
            .iter()
            .map(|l| l.key.clone())
            .filter(|key| {
                key.strip_prefix(&prefix)
                    .is_some_and(|relative| !is_hidden_path(relative))
            })
            .collect();
        if listed.iter().any(|l| l.key == marker_key) {
            keys.push(marker_key);
        }
        self.s3.delete(&keys).map_err(|e| RemoteCopyError::Place {
            place: self.describe(),
            message: format!(
                "cannot remove the day {day}; these keys may remain: {}: {e}",
                keys.join(", ")
            ),
        })?;
        Ok(keys.len())
    }

    fn open(
        &self,
        object: &StagedObject,
        keys: &RemoteKeys,
    ) -> Result<Box<dyn Read + Send>, RemoteCopyError> {
        let location = object.location.clone();
        let decrypt_error = |e: UnsealError| match e {
            UnsealError::NeedIdentity => RemoteCopyError::NeedIdentity {
                location: location.clone(),
            },
            other => RemoteCopyError::Decrypt {
                location: location.clone(),
                message: other.to_string(),
            },
        };
        // Checked before the request: a copy that cannot be decrypted is said so at once.
        let identities = match self.sealing {
            Sealing::Age if object.size > 0 => {
                Some(cedar_core::age_identities(keys).map_err(decrypt_error)?)
            }
            _ => None,
        };
        let raw = self.s3.get(&self.key(object)).map_err(|e| self.failed(e))?;
        if object.size == 0 {
            return Ok(Box::new(raw));
        }
        match identities {
            Some(identities) => cedar_core::open_age(
                raw,
                &identities,
                keys.identity.as_deref().unwrap_or(Path::new("")),
            )
            .map_err(|e| match e {
                UnsealError::NotAge(why) => RemoteCopyError::Decrypt {
                    location: location.clone(),
                    message: format!(
                        "it is not an age file ({why}); was it uploaded with <encrypt_mode>age?"
                    ),
                },
                other => decrypt_error(other),
            }),
            None => cedar_core::unseal(self.sealing, Box::new(raw), keys).map_err(decrypt_error),
        }
    }
}
