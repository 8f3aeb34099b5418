//! The amazons3 action: one day's staging directory stored in an S3 bucket, natively.
//!
//! In this order:
//! 1. the checks of the original: options and stage sections, the `<amazons3>` section, root;
//! 2. the directory ([`crate::plan::pick_day`]) and the size limit, before S3 is touched;
//! 3. the bucket is checked, and what an earlier run left is put right first
//!    ([`crate::recover`]): a previous copy it had set aside and could not put back is put
//!    back, its leftover hidden copies are removed, its unfinished multipart uploads aborted;
//! 4. the day's prefix is listed. When it holds nothing, every backup file is stored under
//!    its final key ([`crate::upload`]), encrypted on the way when configured
//!    ([`crate::command`]). When it holds an earlier copy, the files are stored under the
//!    run's incoming prefix instead, beside the day ([`crate::hidden`]);
//! 5. that prefix is listed and checked: exactly the keys sent, with the sizes sent and the
//!    SHA-256 checksums sent ([`crate::verify`]);
//! 6. with an earlier copy, only now the day is switched to the new one by server-side
//!    copies, with the earlier copy set aside first, and checked again ([`crate::replace`]);
//! 7. the day's upload marker is written `complete` with the stage record's outcomes
//!    ([`crate::marker`]; it was written `started` before the first object of the day was
//!    sent, or, with an earlier copy, before the switch), then `cback.amazons3` is written into
//!    the directory and chowned.
//!
//! A failure before step 6 leaves the day's earlier copy untouched (the incoming copy is
//! removed); a failure in step 6 puts the earlier copy back, or, when the server is gone,
//! leaves it intact aside for the next run to put back. Either way the run exits 6, or 5
//! when interrupted. The run records objects, bytes, seconds and success in the run status.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use nix::unistd::{Gid, Uid, User};

use cedar_core::{
    record_result, total_size, write_indicator, Action, ActionContext, ActionError, AfterStage,
    ConfigFile, ExtensionSection, Options, Progress, SectionError, StageRecord, Today,
    UploadMarker, UploadResult,
};

use crate::client::{ConnectOptions, S3};
use crate::command::{self, Scratch};
use crate::config::{AmazonS3Section, Encryption, Settings, SECTION};
use crate::copy::SINGLE_COPY_MAX;
use crate::error::AmazonS3Error;
use crate::hidden::{self, Places};
use crate::marker;
use crate::objects_line::ObjectsLine;
use crate::pipeline;
use crate::plan::{self, Day, Item, INDICATOR};
use crate::recover;
use crate::replace::{self, Replace};
use crate::upload::{self, Sent, StreamUpload, UploadError};
use crate::verify::{self, Stored};

/// The action registered as `amazons3` (`CedarBackup3.extend.amazons3.executeAction`).
#[derive(Debug, Clone, Copy, Default)]
pub struct AmazonS3Action;

impl Action for AmazonS3Action {
    fn execute(&self, ctx: &ActionContext<'_>) -> Result<(), ActionError> {
        run(ctx.config, ctx.options).map_err(ActionError::from)
    }

    fn validate(&self, ctx: &ActionContext<'_>) -> Vec<String> {
        AmazonS3Section::validate(ctx.config)
    }

    fn doctor(&self, ctx: &ActionContext<'_>) -> Vec<cedar_core::CheckResult> {
        crate::doctor::check(ctx.config)
    }
}

/// Reads and checks the `<amazons3>` section.
pub fn load_settings(config: &ConfigFile) -> Result<Settings, SectionError> {
    AmazonS3Section::load(config)
}

/// The home directory of `user`, whose `.aws/` files hold its AWS configuration.
pub fn home_of(user: &str) -> Option<PathBuf> {
    User::from_name(user).ok().flatten().map(|u| u.dir)
}

/// What the upload of one day needs.
struct UploadRun {
    settings: Settings,
    s3: S3,
    user: String,
    ids: Option<(Uid, Gid)>,
    su: PathBuf,
    scratch: Option<Scratch>,
}

/// Runs the action.
pub fn run(config: &ConfigFile, options: &Options) -> Result<(), AmazonS3Error> {
    // As root (the only way this action runs) the backup owner is looked up here.
    let standard = AfterStage::load(SECTION, config)?;
    let settings = load_settings(config)?;
    let (true, Some(ids)) = (cedar_core::running_as_root(), standard.ids) else {
        tracing::error!("Error: the amazons3 extended action must be run as root.");
        return Err(AmazonS3Error::NotRoot);
    };
    let user = standard.user;
    let opts = config.config.options.as_ref();

    let today = Today::current();
    let day = plan::pick_day(
        standard.staging_dir,
        &today,
        options.full,
        settings.warn_midnite,
    )?;
    check_size(
        &settings,
        &day,
        options,
        opts.and_then(|o| o.starting_day)
            .is_some_and(|d| today.is_starting_day(d)),
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
        opts.and_then(|o| o.working_dir.as_deref()),
        &mut sent_total,
        &Progress::for_run(options),
    );
    record_result(UploadResult {
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
    let total = total_size(&day.dir)? as f64;
    tracing::debug!(
        "Amazon S3 backup size is: {}",
        cedar_core::display_bytes(total)
    );
    if total > limit {
        let total = cedar_core::display_bytes(total);
        let limit = cedar_core::display_bytes(limit);
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
/// objects as they happen; `progress` shows the objects and bytes sent of the day's, and the
/// objects being sent. Logs the summary line when the day is stored.
#[allow(clippy::too_many_arguments)]
fn store_day(
    config: &ConfigFile,
    settings: &Settings,
    day: &Day,
    user: &str,
    ids: (Uid, Gid),
    working_dir: Option<&str>,
    totals: &mut (u64, u64, u64),
    progress: &Progress,
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
    let places = Places::new(settings.prefix(), &day.date, &hidden::run_id());
    tracing::info!(
        "Storing [{}] as s3://{bucket}/{}/ at {}.",
        day.dir.display(),
        places.day,
        s3.endpoint()
    );
    s3.check_bucket().map_err(s3_error)?;
    recover::recover(&s3, settings.prefix(), &places.day, settings.part_size)?;
    let previous = s3.list(&format!("{}/", places.day)).map_err(s3_error)?;
    // A marker alone (an upload stopped before its first object) is no earlier copy.
    let earlier_copy = previous
        .iter()
        .any(|l| !marker::is_marker(&places.day, &l.key));

    let items = plan::files(&day.dir)?;
    // The stage record is read before anything is sent: a damaged one stops the run here.
    let record = StageRecord::read(&day.dir)?;
    let started = UploadMarker::started(peers_of(record.as_ref(), &items));
    let line = Arc::new(ObjectsLine::start(
        progress,
        "amazons3",
        items.iter().map(|item| item.size),
    ));
    let needs_scratch = !matches!(settings.encryption, Encryption::None);
    let scratch = if needs_scratch {
        let dir = working_dir
            .map(PathBuf::from)
            .unwrap_or_else(std::env::temp_dir);
        Some(Scratch::create(&dir, Some(ids))?)
    } else {
        None
    };
    let site = Arc::new(UploadRun {
        settings: settings.clone(),
        s3: s3.clone(),
        user: user.to_string(),
        ids: Some(ids),
        su: cedar_core::resolve_command(&config.config, "su"),
        scratch,
    });

    if !earlier_copy {
        // Nothing to keep: straight to the final keys, marked started first.
        marker::write(&s3, &places.day, &started).map_err(s3_error)?;
        let objects = store_all(&site, &items, &places.day, &places.day, totals, &line)?;
        log_verified(&bucket, &places.day, &objects, totals.1);
    } else {
        tracing::info!(
            "s3://{bucket}/{}/ holds an earlier copy ({} object(s)): the new copy goes to s3://{bucket}/{}/ first, and replaces it only once checked.",
            places.day,
            previous.len(),
            places.incoming
        );
        let objects = match store_all(&site, &items, &places.incoming, &places.day, totals, &line) {
            Ok(objects) => objects,
            Err(err) => {
                if let Err(e) = replace::remove_prefix(&s3, &places.incoming) {
                    tracing::warn!("{e}; the next amazons3 run removes what is left of it");
                }
                return Err(AmazonS3Error::NotSwitched {
                    bucket,
                    day_prefix: places.day.clone(),
                    source: Box::new(err),
                });
            }
        };
        totals.2 = Replace {
            s3: &s3,
            places: &places,
            previous: &previous,
            objects: &objects,
            part_size: settings.part_size,
            single_copy_max: SINGLE_COPY_MAX,
            started: Some(&started),
        }
        .run()?;
        log_verified(&bucket, &places.day, &objects, totals.1);
    }
    marker::write(&s3, &places.day, &UploadMarker::complete(record)).map_err(s3_error)?;
    write_indicator(&day.dir, INDICATOR, Some(ids))?;
    line.conclude();
    Ok(())
}

/// The peers a day's upload holds: those of its stage record, or else the first components
/// of its files' paths.
fn peers_of<'a>(record: Option<&'a StageRecord>, items: &'a [Item]) -> Vec<&'a str> {
    match record {
        Some(record) => record.peers.keys().map(String::as_str).collect(),
        None => {
            let mut peers: Vec<&str> = items
                .iter()
                .filter_map(|item| item.relative.split_once('/').map(|(peer, _)| peer))
                .collect();
            peers.dedup();
            peers
        }
    }
}

fn s3_error(source: crate::client::S3Error) -> AmazonS3Error {
    AmazonS3Error::S3 {
        source: Box::new(source),
    }
}

fn log_verified(bucket: &str, day_prefix: &str, objects: &[Stored], bytes: u64) {
    tracing::info!(
        "Verified s3://{bucket}/{day_prefix}/: {} object(s), {bytes} bytes, as sent.",
        objects.len()
    );
}

/// Stores every item as `base/REL`, then checks `base/`: exactly these keys, their sizes,
/// their checksums. `day_prefix` is named in errors.
fn store_all(
    site: &Arc<UploadRun>,
    items: &[Item],
    base: &str,
    day_prefix: &str,
    totals: &mut (u64, u64, u64),
    line: &Arc<ObjectsLine>,
) -> Result<Vec<Stored>, AmazonS3Error> {
    let bucket = site.s3.bucket();
    let work = {
        let site = Arc::clone(site);
        let line = Arc::clone(line);
        let (base, day_prefix) = (base.to_string(), day_prefix.to_string());
        move |item: Item| {
            let key = hidden::key(&base, &item.relative);
            let bucket = site.s3.bucket();
            // The bytes of each part as it is sent (a plain file's), the rest at the end.
            let stored = line.send(&item.relative, |sent| store_item(&site, &item, &key, sent));
            let stored = stored.map_err(|e| with_key(e, bucket, &key, &day_prefix))?;
            tracing::debug!(
                "Stored [{}] as s3://{bucket}/{key} ({} bytes).",
                item.path.display(),
                stored.bytes
            );
            Ok(Stored::new(&item.relative, item.path, &stored))
        }
    };
    let objects = pipeline::run(
        &site.s3,
        site.settings.upload_jobs,
        items.to_vec(),
        work,
        |stored: &Stored| {
            totals.0 += 1;
            totals.1 += stored.bytes;
            line.stored();
        },
        |_: &Item| AmazonS3Error::Interrupted,
    )?;
    let listed = site.s3.list(&format!("{base}/")).map_err(s3_error)?;
    verify::listing(bucket, base, &objects, &listed)?;
    let checked = verify::checksums(&site.s3, base, &objects, true)?;
    tracing::info!(
        "SHA-256 checksums kept by the server match for {} of {} object(s) in s3://{bucket}/{base}/ ({} echoed by the upload, {} asked for).",
        checked.matched(),
        objects.len(),
        checked.echoed,
        checked.asked
    );
    Ok(objects)
}

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
fn store_item(
    site: &UploadRun,
    item: &Item,
    key: &str,
    sent: &dyn Fn(u64),
) -> Result<Sent, AmazonS3Error> {
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
        return upload::upload_file(&site.s3, key, &item.path, part, sent).map_err(upload_error);
    };
    // Encrypted output is a little larger than its input; the guess only sizes the parts.
    let expected = item.size + item.size / 64 + (1 << 20);
    let sink = StreamUpload::new(&site.s3, key, scratch.unique("part"), part, expected)
        .map_err(upload_error)?;
    match &site.settings.encryption {
        Encryption::Command(command) => command::through_command(
            &site.su, &site.user, command, &item.path, scratch, site.ids, sink,
        ),
        Encryption::Age(recipients) => command::through_age(recipients, &item.path, sink),
        Encryption::None => unreachable!("plain files are stored above"),
    }
}
