//! The amazons3 action: one day's staging directory stored in an S3 bucket, natively.
//!
//! In this order:
//! 1. the checks of the original: options and stage sections, the `<amazons3>` section, root;
//! 2. the directory ([`crate::plan::pick_day`]) and the size limit, before S3 is touched;
//! 3. the bucket is checked, and unfinished multipart uploads under the day's prefix (left by
//!    a run that could not abort them) are aborted;
//! 4. every backup file is stored under its key ([`crate::upload`]), encrypted on the way when
//!    configured ([`crate::command`]);
//! 5. the prefix is listed: every key sent must be there with the size sent;
//! 6. only then the day's objects that this run did not send are removed, and the prefix is
//!    listed again: it must hold exactly what was sent;
//! 7. `cback.amazons3` is written into the directory and chowned.
//!
//! A failure at any step before 6 leaves every object of the day's earlier copy in place (an
//! object this run replaced holds this run's complete content: a PUT or a completed multipart
//! upload replaces a key at once), and exits 6. The run records objects, bytes, seconds and
//! success in the run status.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use nix::unistd::{Gid, Uid, User};

use cedar_core::actions::collect::Today;
use cedar_core::status::{self, UploadResult};
use cedar_core::{staged, Action, ActionContext, ActionError, ConfigFile, Options};

use crate::client::{ConnectOptions, ErrorKind, S3};
use crate::command::{self, Scratch};
use crate::config::{AmazonS3Section, Encryption, Settings, SECTION};
use crate::error::AmazonS3Error;
use crate::plan::{self, Day, Item, INDICATOR};
use crate::upload::{self, Sent, StreamUpload, UploadError};

/// The action registered as `amazons3` (`CedarBackup3.extend.amazons3.executeAction`).
#[derive(Debug, Clone, Copy, Default)]
pub struct AmazonS3Action;

impl Action for AmazonS3Action {
    fn execute(&self, ctx: &ActionContext<'_>) -> Result<(), ActionError> {
        run(ctx.config, ctx.options).map_err(ActionError::from)
    }

    fn validate(&self, ctx: &ActionContext<'_>) -> Vec<String> {
        match load_settings(ctx.config) {
            Ok(_) => Vec::new(),
            Err(err) => vec![err.to_string()],
        }
    }
}

/// Reads and checks the `<amazons3>` section.
pub fn load_settings(config: &ConfigFile) -> Result<Settings, AmazonS3Error> {
    let section = config
        .section::<AmazonS3Section>(SECTION)
        .map_err(|source| AmazonS3Error::Read {
            path: config.path.clone(),
            source: Box::new(source),
        })?;
    Settings::from_section(section.as_ref()).map_err(|message| AmazonS3Error::Invalid {
        path: config.path.clone(),
        message,
    })
}

/// The home directory of `user`, whose `.aws/` files hold its AWS configuration.
pub fn home_of(user: &str) -> Option<PathBuf> {
    User::from_name(user).ok().flatten().map(|u| u.dir)
}

/// What the upload of one day needs.
struct Site<'a> {
    settings: &'a Settings,
    s3: &'a S3,
    user: &'a str,
    ids: Option<(Uid, Gid)>,
    su: PathBuf,
    scratch: Option<Scratch>,
}

/// Runs the action.
pub fn run(config: &ConfigFile, options: &Options) -> Result<(), AmazonS3Error> {
    let incomplete = |missing| AmazonS3Error::Incomplete {
        path: config.path.clone(),
        missing,
    };
    let opts = config
        .config
        .options
        .as_ref()
        .ok_or_else(|| incomplete("an <options> section"))?;
    let staging_dir = config
        .config
        .stage
        .as_ref()
        .ok_or_else(|| incomplete("a <stage> section"))?
        .staging_dir
        .as_deref()
        .ok_or_else(|| incomplete("<stage><staging_dir>"))?;
    let settings = load_settings(config)?;
    if !cedar_core::ownership::running_as_root() {
        tracing::error!("Error: the amazons3 extended action must be run as root.");
        return Err(AmazonS3Error::NotRoot);
    }
    let user = opts.backup_user.as_deref().unwrap_or_default();
    let group = opts.backup_group.as_deref().unwrap_or_default();
    let ids = cedar_core::ownership::lookup(user, group).map_err(AmazonS3Error::Owner)?;

    let today = Today::current();
    let day = plan::pick_day(
        Path::new(staging_dir),
        &today,
        options.full,
        settings.warn_midnite,
    )?;
    check_size(
        &settings,
        &day,
        options,
        opts.starting_day.is_some_and(|d| today.is_starting_day(d)),
    )?;

    let destination = format!("s3://{}/{}", settings.s3_bucket, day.date);
    let start = Instant::now();
    let mut sent_total = (0u64, 0u64, 0u64);
    let result = store_day(
        config,
        &settings,
        &day,
        user,
        ids,
        opts.working_dir.as_deref(),
        &mut sent_total,
    );
    status::record(UploadResult {
        action: "amazons3".to_string(),
        destination,
        source: day.dir.display().to_string(),
        objects: sent_total.0,
        bytes: sent_total.1,
        removed: sent_total.2,
        success: result.is_ok(),
        seconds: start.elapsed().as_secs_f64(),
        error: result.as_ref().err().map(|e| e.to_string()),
    });
    result?;
    tracing::info!("Executed the amazons3 extended action successfully.");
    Ok(())
}

/// Refuses a day larger than its limit, before S3 is touched.
fn check_size(
    settings: &Settings,
    day: &Day,
    options: &Options,
    starting_day: bool,
) -> Result<(), AmazonS3Error> {
    let (limit, element) = if options.full || starting_day {
        (settings.full_size_limit, "full_size_limit")
    } else {
        (settings.incr_size_limit, "incr_size_limit")
    };
    let Some(limit) = limit else {
        return Ok(());
    };
    let total = staged::total_size(&day.dir)? as f64;
    tracing::debug!(
        "Amazon S3 backup size is: {}",
        cedar_core::quantity::display_bytes(total)
    );
    if total > limit {
        let total = cedar_core::quantity::display_bytes(total);
        let limit = cedar_core::quantity::display_bytes(limit);
        tracing::error!("Amazon S3 size limit exceeded: {total} > {limit}");
        return Err(AmazonS3Error::TooLarge {
            total,
            limit,
            element,
        });
    }
    tracing::info!("Total size does not exceed Amazon S3 size limit, so backup can continue.");
    Ok(())
}

/// Steps 3 to 7 of the module documentation. `totals` receives objects, bytes and removed
/// objects as they happen.
fn store_day(
    config: &ConfigFile,
    settings: &Settings,
    day: &Day,
    user: &str,
    ids: (Uid, Gid),
    working_dir: Option<&str>,
    totals: &mut (u64, u64, u64),
) -> Result<(), AmazonS3Error> {
    let connect = ConnectOptions {
        endpoint: settings.endpoint.clone(),
        region: settings.region.clone(),
        home: home_of(user),
    };
    let bucket = settings.bucket().to_string();
    let s3 = S3::connect(&connect, &bucket).map_err(|source| AmazonS3Error::Connect {
        bucket: bucket.clone(),
        source: Box::new(source),
    })?;
    let day_prefix = plan::day_prefix(settings.prefix(), &day.date);
    tracing::info!(
        "Storing [{}] as s3://{bucket}/{day_prefix}/ at {}.",
        day.dir.display(),
        s3.endpoint()
    );
    s3.check_bucket().map_err(|source| AmazonS3Error::S3 {
        source: Box::new(source),
    })?;
    abort_leftovers(&s3, &day_prefix)?;

    let items = plan::files(&day.dir)?;
    let needs_scratch = !matches!(settings.encryption, Encryption::None);
    let scratch = if needs_scratch {
        let dir = working_dir
            .map(PathBuf::from)
            .unwrap_or_else(std::env::temp_dir);
        Some(Scratch::create(&dir, Some(ids))?)
    } else {
        None
    };
    let site = Site {
        settings,
        s3: &s3,
        user,
        ids: Some(ids),
        su: cedar_core::process::resolve_command(&config.config, "su"),
        scratch,
    };

    let mut sent: BTreeMap<String, (u64, PathBuf)> = BTreeMap::new();
    // Key, composite (or single) checksum, whole-object checksum, file.
    let mut checksums: Vec<(String, String, String, PathBuf)> = Vec::new();
    for item in &items {
        if cedar_core::interrupt::requested() {
            return Err(AmazonS3Error::Interrupted);
        }
        let key = format!("{day_prefix}/{}", item.relative);
        let stored =
            store_item(&site, item, &key).map_err(|e| with_key(e, &bucket, &key, &day_prefix))?;
        tracing::debug!(
            "Stored [{}] as s3://{bucket}/{key} ({} bytes).",
            item.path.display(),
            stored.bytes
        );
        totals.0 += 1;
        totals.1 += stored.bytes;
        checksums.push((
            stored.key.clone(),
            stored.checksum.clone(),
            stored.full_checksum.clone(),
            item.path.clone(),
        ));
        sent.insert(stored.key, (stored.bytes, item.path.clone()));
    }

    // Everything new is in place: check it, then remove what the day no longer has.
    let listing_prefix = format!("{day_prefix}/");
    let listed = s3
        .list(&listing_prefix)
        .map_err(|source| AmazonS3Error::S3 {
            source: Box::new(source),
        })?;
    verify(&bucket, &sent, &listed)?;
    let stale: Vec<String> = listed
        .iter()
        .filter(|l| !sent.contains_key(&l.key))
        .map(|l| l.key.clone())
        .collect();
    if !stale.is_empty() {
        s3.delete(&stale).map_err(|source| AmazonS3Error::S3 {
            source: Box::new(source),
        })?;
        tracing::info!(
            "Removed {} object(s) of s3://{bucket}/{listing_prefix} that the day no longer has.",
            stale.len()
        );
        totals.2 = stale.len() as u64;
    }
    let listed = s3
        .list(&listing_prefix)
        .map_err(|source| AmazonS3Error::S3 {
            source: Box::new(source),
        })?;
    verify(&bucket, &sent, &listed)?;
    let expected: BTreeSet<&String> = sent.keys().collect();
    if let Some(extra) = listed.iter().find(|l| !expected.contains(&l.key)) {
        return Err(AmazonS3Error::Leftover {
            bucket,
            key: extra.key.clone(),
        });
    }
    let mut checked = 0;
    for (key, expected, full, path) in &checksums {
        match s3
            .stored_checksum(key)
            .map_err(|source| AmazonS3Error::S3 {
                source: Box::new(source),
            })? {
            // A multipart object's composite checksum ends in `-N`; some servers leave it out,
            // others keep the checksum of the whole object instead (FULL_OBJECT).
            Some(stored)
                if &stored != expected
                    && expected.split('-').next() != Some(stored.as_str())
                    && &stored != full =>
            {
                return Err(AmazonS3Error::ChecksumDiffers {
                    path: path.clone(),
                    bucket: bucket.clone(),
                    key: key.clone(),
                    expected: expected.clone(),
                    stored,
                })
            }
            Some(_) => checked += 1,
            None => tracing::debug!("s3://{bucket}/{key}: the server keeps no SHA-256 checksum."),
        }
    }
    tracing::info!(
        "SHA-256 checksums kept by the server match for {checked} of {} object(s).",
        checksums.len()
    );
    tracing::info!(
        "Verified s3://{bucket}/{listing_prefix}: {} object(s), {} bytes, as sent.",
        sent.len(),
        totals.1
    );
    staged::write_indicator(&day.dir, INDICATOR, Some(ids))?;
    Ok(())
}

/// Aborts the unfinished multipart uploads under the day's prefix. A server that cannot list
/// them (some S3-compatible ones do not implement ListMultipartUploads) is told in a warning:
/// such an upload never shows under its key, it only takes space until the server drops it.
fn abort_leftovers(s3: &S3, day_prefix: &str) -> Result<(), AmazonS3Error> {
    let pending = match s3.pending_uploads(&format!("{day_prefix}/")) {
        Ok(pending) => pending,
        Err(err) if err.kind == ErrorKind::Unsupported => {
            tracing::warn!(
                "{err}; unfinished multipart uploads that an earlier run could not abort are not looked for: remove them with the server's own tools if it keeps any"
            );
            return Ok(());
        }
        Err(source) => {
            return Err(AmazonS3Error::S3 {
                source: Box::new(source),
            })
        }
    };
    for upload in pending {
        s3.abort(&upload.key, &upload.upload_id)
            .map_err(|source| AmazonS3Error::S3 {
                source: Box::new(source),
            })?;
        tracing::warn!(
            "Aborted an unfinished multipart upload of s3://{}/{} left by an earlier run.",
            s3.bucket(),
            upload.key
        );
    }
    Ok(())
}

/// Puts the key into an upload error that lacks it.
fn with_key(err: AmazonS3Error, bucket: &str, key: &str, day_prefix: &str) -> AmazonS3Error {
    match err {
        AmazonS3Error::Upload { path, source, .. } => AmazonS3Error::Upload {
            path,
            bucket: bucket.to_string(),
            key: key.to_string(),
            day_prefix: day_prefix.to_string(),
            source,
        },
        other => other,
    }
}

/// Stores one file as `key`, encrypted on the way when configured.
fn store_item(site: &Site<'_>, item: &Item, key: &str) -> Result<Sent, AmazonS3Error> {
    let upload_error = |source: UploadError| AmazonS3Error::Upload {
        path: item.path.clone(),
        bucket: String::new(),
        key: String::new(),
        day_prefix: String::new(),
        source: Box::new(source),
    };
    let part = site.settings.part_size;
    // Empty files stay empty objects, as the original stores them.
    let scratch = match (&site.settings.encryption, &site.scratch) {
        (Encryption::None, _) | (_, None) => None,
        (_, Some(_)) if item.size == 0 => None,
        (_, Some(scratch)) => Some(scratch),
    };
    let Some(scratch) = scratch else {
        return upload::upload_file(site.s3, key, &item.path, part).map_err(upload_error);
    };
    // Encrypted output is a little larger than its input; the guess only sizes the parts.
    let expected = item.size + item.size / 64 + (1 << 20);
    let sink =
        StreamUpload::new(site.s3, key, scratch.path(), part, expected).map_err(upload_error)?;
    match &site.settings.encryption {
        Encryption::Command(command) => command::through_command(
            &site.su, site.user, command, &item.path, scratch, site.ids, sink,
        ),
        Encryption::Age(recipients) => command::through_age(recipients, &item.path, sink),
        Encryption::None => unreachable!("plain files are stored above"),
    }
}

/// Every key sent must be listed with the size sent.
fn verify(
    bucket: &str,
    sent: &BTreeMap<String, (u64, PathBuf)>,
    listed: &[crate::client::Listed],
) -> Result<(), AmazonS3Error> {
    let sizes: BTreeMap<&str, u64> = listed.iter().map(|l| (l.key.as_str(), l.size)).collect();
    for (key, (bytes, path)) in sent {
        match sizes.get(key.as_str()) {
            None => {
                tracing::error!("File was apparently not uploaded: [{}]", path.display());
                return Err(AmazonS3Error::Missing {
                    path: path.clone(),
                    bucket: bucket.to_string(),
                    key: key.clone(),
                });
            }
            Some(size) if size != bytes => {
                return Err(AmazonS3Error::SizeDiffers {
                    path: path.clone(),
                    bucket: bucket.to_string(),
                    key: key.clone(),
                    expected: *bytes,
                    actual: *size,
                })
            }
            Some(_) => {}
        }
    }
    Ok(())
}
