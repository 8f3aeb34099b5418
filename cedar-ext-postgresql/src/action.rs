//! The postgresql action: check the configuration, then make every configured dump.
//!
//! Up to `<jobs>` dumps run at once, each on its own thread, the cores shared between their
//! compressors. Each dump streams pg_dump's output through the compressor of
//! [`cedar_core::Compressor`] into its hidden temporary file (memory bounded whatever the size of
//! the database), is renamed when complete, logs a summary line and is recorded for the run
//! status. Every dump is attempted; an interrupt stops them all.
//!
//! Before the first dump, [`crate::prepare`] matches pg_dump to the server and, for
//! `<split>Y`, lists the databases. Each finished file is read back ([`crate::verify`]) before
//! it takes its final name, and `postgresqldump.manifest` lists what collect_dir holds
//! ([`crate::manifest`]) at every instant: it is rewritten just before each rename (listing
//! the new dump and accepting the file it replaces) and just after (the new dump only), then
//! once more after the last dump.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use cedar_core::{
    error_chain, stream_command, Action, ActionContext, ActionError, AtomicFile, CompressSettings,
    CompressTotals, Compressor, ConfigFile, DatabaseResult, DigestWriter, Digested,
    ExtensionSection, FileMode, FileOwner, Seal, SealWriter, SectionError, StreamCommand,
};

use crate::config::{check_password_file, Format, PostgresqlSection, Settings, Target, SECTION};
use crate::error::{failure_message, DumpError, DumpFailure, PgError};
use crate::manifest;
use crate::prepare::{self, Prepared};
use crate::standby;
use crate::tables;
use crate::verify::{self, Kind, Written};
use cedar_core::{
    carry_over_failed_entries, rfc3339, DumpStatus, Manifest, ManifestEntry, ManifestError,
    ReplacedEntry,
};
use cedar_core::{Progress, ProgressMeasure};

/// The action registered as `postgresql` (`CedarBackup3.extend.postgresql.executeAction`).
#[derive(Debug, Clone, Copy, Default)]
pub struct PostgresqlAction;

impl Action for PostgresqlAction {
    fn execute(&self, ctx: &ActionContext<'_>) -> Result<(), ActionError> {
        run(ctx.config, ctx.options, &cedar_core::interrupt_requested).map_err(ActionError::from)
    }

    fn validate(&self, ctx: &ActionContext<'_>) -> Vec<String> {
        let mut problems = Vec::new();
        if let Err(err) = collect_dir(ctx.config) {
            problems.push(err.to_string());
        }
        problems.extend(PostgresqlSection::validate(ctx.config));
        if let Err(err) = cedar_core::ShrinkLimits::from_config(&ctx.config.config) {
            problems.push(err.to_string());
        }
        problems
    }

    fn doctor(&self, ctx: &ActionContext<'_>) -> Vec<cedar_core::CheckResult> {
        crate::doctor::check(ctx.config)
    }
}

/// Reads and checks the `<postgresql>` section of `config`.
pub fn load_settings(config: &ConfigFile) -> Result<Settings, PgError> {
    Ok(PostgresqlSection::load(config)?)
}

/// The collect directory; the action needs the options and collect sections, as the original.
fn collect_dir(config: &ConfigFile) -> Result<PathBuf, SectionError> {
    let incomplete = |missing| SectionError::Incomplete {
        action: SECTION,
        missing,
        path: config.path.clone(),
    };
    if config.config.options.is_none() {
        return Err(incomplete("the <options> section"));
    }
    let collect = config
        .config
        .collect
        .as_ref()
        .ok_or_else(|| incomplete("the <collect> section"))?;
    collect
        .collect_dir
        .as_deref()
        .map(PathBuf::from)
        .ok_or_else(|| incomplete("<collect><collect_dir>"))
}

/// Runs the action: every configured dump is attempted, up to `<jobs>` at once; the failures
/// are reported together. `interrupted` is polled (the binary passes
/// [`cedar_core::interrupt_requested`]).
pub fn run(
    config: &ConfigFile,
    options: &cedar_core::Options,
    interrupted: &(dyn Fn() -> bool + Sync),
) -> Result<(), PgError> {
    let dir = collect_dir(config)?;
    let settings = load_settings(config)?;
    // Checked before any dump, though used after them.
    cedar_core::ShrinkLimits::from_config(&config.config)?;
    if let Some(file) = &settings.password_file {
        check_password_file(file).map_err(|reason| PgError::PasswordFile {
            path: file.clone(),
            reason,
        })?;
    }
    if let Some(path) = settings
        .encrypt
        .as_ref()
        .and_then(|e| e.verify_identity.as_ref())
    {
        crate::encrypt::check_identity(path).map_err(|reason| PgError::VerifyIdentity {
            path: path.clone(),
            reason,
        })?;
    }
    let owner = config.config.options.as_ref().and_then(|o| {
        Some(FileOwner {
            user: o.backup_user.as_deref()?,
            group: o.backup_group.as_deref()?,
        })
    });
    // As root every file is handed to the backup user: find out now that it exists, not after
    // a long dump.
    if let Some(owner) = owner.filter(|_| cedar_core::running_as_root()) {
        cedar_core::lookup_owner(owner.user, owner.group).map_err(|source| {
            SectionError::Owner {
                action: SECTION,
                source,
            }
        })?;
    }

    if options.dry_run {
        if settings.split {
            tracing::info!(
                "Dry run: would list the databases, then write {} and one file per database.",
                dir.join(Target::Globals.file_name(settings.compress_mode))
                    .display()
            );
            return Ok(());
        }
        for target in &settings.targets {
            log_start(target);
            tracing::info!(
                "Dry run: would write {} with {}.",
                dir.join(settings.file_name(target)).display(),
                target.command_name()
            );
        }
        return Ok(());
    }

    // The run holds the run lock: a temporary file here is what a killed run left.
    crate::atomic::remove_stale_temps(&dir);
    let server = standby::Server::new(config, &settings, &prepare::connect_databases(&settings));
    standby::resume_recorded(&server);
    let prepared = match prepare::prepare(config, &settings) {
        Ok(prepared) => prepared,
        Err(err) => return Err(failed_before_dumps(&settings.targets, err)),
    };
    let version = prepared.server.as_ref().map(|s| s.version);
    let paused = match standby::hold(&server, &settings, version, interrupted) {
        Ok(paused) => paused,
        Err(standby::StandbyError::Interrupted) => return Err(PgError::Interrupted),
        Err(err) => {
            return Err(failed_before_dumps(
                &prepared.targets,
                PgError::Standby(err),
            ))
        }
    };
    let settings = Settings {
        targets: prepared.targets.clone(),
        ..settings
    };

    let jobs = settings.jobs.clamp(1, settings.targets.len().max(1));
    let site = DumpRun {
        config,
        settings: &settings,
        dir: &dir,
        owner,
        compression: compression_settings(&settings, jobs),
        progress: Progress::for_run(options),
        interrupted,
        prepared: &prepared,
        previous: manifest::read(&dir).ok(),
        entries: Mutex::new(Vec::new()),
        publishing: Mutex::new(()),
    };
    if jobs > 1 {
        tracing::info!(
            "Running up to {jobs} dumps at once, {} compression thread(s) each.",
            site.compression.threads
        );
    }
    let outcomes = run_all(&site, jobs);
    // After the last dump, whatever happened.
    let resumed = paused.map_or(Ok(()), standby::Paused::release);
    let manifest_written = if settings.manifest {
        write_manifest(&site, None).map(|written| {
            if let Some(path) = written {
                tracing::info!("Wrote the manifest {}.", path.display());
            }
        })
    } else {
        Ok(())
    };

    let mut failures = Vec::new();
    let mut stopped = interrupted();
    for (target, outcome) in settings.targets.iter().zip(outcomes) {
        match outcome {
            // Not started: the run was interrupted first.
            None => stopped = true,
            Some(Ok(_)) => {}
            Some(Err(DumpError::Interrupted)) => stopped = true,
            Some(Err(error)) => failures.push(DumpFailure {
                target: target.clone(),
                error,
            }),
        }
    }
    // Said here when the action fails for another reason, else it is the action's error.
    let other_failure = stopped || !failures.is_empty() || manifest_written.is_err();
    if let (Err(err), true) = (&resumed, other_failure) {
        tracing::error!("{}", error_chain(err));
    }
    if stopped {
        return Err(PgError::Interrupted);
    }
    if !failures.is_empty() {
        if let Err(err) = manifest_written {
            tracing::error!("{}", error_chain(&err));
        }
        return Err(PgError::Dumps {
            attempted: settings.targets.len(),
            failures,
        });
    }
    manifest_written.map_err(PgError::Manifest)?;
    resumed.map_err(PgError::Standby)?;
    check_shrink(config, &settings)?;
    tracing::info!("Executed the PostgreSQL extended action successfully.");
    Ok(())
}

/// `err`, which stopped the run before any dump: the run status still shows each of `targets`
/// as failed (nothing was written).
fn failed_before_dumps(targets: &[Target], err: PgError) -> PgError {
    for target in targets {
        cedar_core::record_result(DatabaseResult {
            action: "postgresql".to_string(),
            database: target.label().to_string(),
            file: None,
            raw_bytes: 0,
            bytes: 0,
            success: false,
            seconds: 0.0,
            error: Some(err.to_string()),
            warnings: Vec::new(),
        });
    }
    err
}

/// Compares this run's dumps with the status history ([`cedar_core::check_dump_sizes`]):
/// each database dumped on its own is counted first (tables, estimated rows: kept in the
/// history). The databases came from the server's list with `<all>Y` and `<split>Y`.
fn check_shrink(config: &ConfigFile, settings: &Settings) -> Result<(), PgError> {
    let psql = cedar_core::resolve_command(&config.config, "psql");
    let env = prepare::libpq_env(settings);
    let count = |database: &str| {
        let per_database = settings
            .targets
            .iter()
            .any(|t| matches!(t, Target::Database(name) if name == database));
        if !per_database {
            return None;
        }
        match tables::table_stats(&psql, &env, database) {
            Ok(stats) => Some(stats),
            Err(err) => {
                tracing::debug!("Not counting the tables of [{database}]: {err}");
                None
            }
        }
    };
    cedar_core::check_dump_sizes(config, SECTION, settings.split, &count)?;
    Ok(())
}

/// Renames a finished dump into place; handed to the `publish` function of [`dump_one`].
pub type Rename<'a> = Box<dyn FnOnce() -> Result<PathBuf, DumpError> + 'a>;

/// What every dump of a run shares.
struct DumpRun<'a> {
    config: &'a ConfigFile,
    settings: &'a Settings,
    dir: &'a Path,
    owner: Option<FileOwner<'a>>,
    compression: CompressSettings,
    progress: Progress,
    interrupted: &'a (dyn Fn() -> bool + Sync),
    prepared: &'a Prepared,
    /// The manifest collect_dir held when the run started.
    previous: Option<Manifest>,
    /// This run's manifest entries, with the position of their target.
    entries: Mutex<Vec<(usize, ManifestEntry)>>,
    /// Held from the manifest write before a rename to the one after it.
    publishing: Mutex<()>,
}

impl DumpRun<'_> {
    /// The position of `target` among the run's targets.
    fn index_of(&self, target: &Target) -> usize {
        self.settings
            .targets
            .iter()
            .position(|t| t == target)
            .unwrap_or(usize::MAX)
    }

    /// Notes the manifest entry of the target at `index`.
    fn record(&self, index: usize, entry: ManifestEntry) {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((index, entry));
    }
}

/// A finished dump.
#[derive(Debug, Clone, PartialEq)]
pub struct Dumped {
    pub path: PathBuf,
    pub totals: CompressTotals,
    /// Size and SHA-256 of the file (absent with `<verify>N` and `<manifest>N`).
    pub digest: Option<Digested>,
    /// Whether the file was read back and found complete.
    pub verified: bool,
    /// The pg_dump and server versions the file's header names.
    pub dumped_by: Option<String>,
    pub dumped_from: Option<String>,
}

/// Writes the manifest of this run's dumps so far (and of the earlier good files kept where a
/// dump failed or has not finished) into collect_dir; `pending` is the entry of a dump about
/// to be renamed into place.
fn write_manifest(
    site: &DumpRun<'_>,
    pending: Option<(usize, ManifestEntry)>,
) -> Result<Option<PathBuf>, ManifestError> {
    let mut ours = site
        .entries
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    ours.extend(pending);
    if ours.is_empty() {
        return Ok(None);
    }
    ours.sort_by_key(|(index, _)| *index);
    let previous = site.previous.as_ref();
    let mut entries = Vec::new();
    for (index, target) in site.settings.targets.iter().enumerate() {
        if let Some((_, entry)) = ours.iter().find(|(i, _)| *i == index) {
            entries.push(entry.clone());
            continue;
        }
        // Not started (interrupted): the previous entry still describes the file.
        let name = site.settings.file_name(target);
        if let Some(old) = previous.and_then(|m| m.entry(&name)) {
            if site.dir.join(&name).is_file() {
                entries.push(old.clone());
            }
        }
    }
    let entries = carry_over_failed_entries(entries, previous, site.dir);
    manifest::write(site.dir, &Manifest::new(entries), site.owner).map(Some)
}

/// Renames a finished dump into place (`rename`) so that the manifest matches the name at
/// every instant: before the rename it lists the new dump and accepts what the name held, after
/// it the new dump only. The entry is recorded for the final manifest.
fn publish(
    site: &DumpRun<'_>,
    target: &Target,
    start: i64,
    dumped: &Dumped,
    rename: Rename<'_>,
) -> Result<PathBuf, DumpError> {
    let index = site.index_of(target);
    let Some(entry) = entry_of(site, target, start, Ok(dumped)) else {
        return rename();
    };
    if !site.settings.manifest {
        let path = rename()?;
        site.record(index, entry);
        return Ok(path);
    }
    let _publishing = site.publishing.lock().unwrap_or_else(|e| e.into_inner());
    let listed = site
        .entries
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .rev()
        .find(|(_, e)| e.name == entry.name)
        .map(|(_, e)| e.clone());
    let before = listed.or_else(|| site.previous.as_ref()?.entry(&entry.name).cloned());
    let pending = ManifestEntry {
        replacing: ReplacedEntry::from_previous(before.as_ref()),
        ..entry.clone()
    };
    // A manifest that cannot be written now cannot be written after the last dump either:
    // that write reports it.
    if let Err(err) = write_manifest(site, Some((index, pending))) {
        tracing::warn!("{}", error_chain(&err));
    }
    let path = rename()?;
    site.record(index, entry);
    if let Err(err) = write_manifest(site, None) {
        tracing::warn!("{}", error_chain(&err));
    }
    Ok(path)
}

/// The compressor settings of one dump when `jobs` dumps run at once: the cores are shared
/// between the dumps (at least one compression thread each).
fn compression_settings(settings: &Settings, jobs: usize) -> CompressSettings {
    let mut compression = CompressSettings::new(settings.compress_mode);
    compression.level = settings.compress_level;
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    compression.threads = (cores / jobs.max(1)).max(1);
    compression
}

/// Makes every dump of `site`, `jobs` at a time, in configuration order. The outcome of each
/// target is at its index; `None` for a target not started because of an interrupt.
fn run_all(site: &DumpRun<'_>, jobs: usize) -> Vec<Option<Result<Dumped, DumpError>>> {
    let targets = &site.settings.targets;
    cedar_core::run_bounded(targets.len(), jobs, site.interrupted, &|index| {
        dump_and_report(site, &targets[index])
    })
}

fn log_start(target: &Target) {
    match target {
        Target::All => tracing::info!("Backing up all databases."),
        Target::Database(name) => tracing::info!("Backing up database [{name}]."),
        Target::Globals => tracing::info!("Backing up the globals (roles and tablespaces)."),
        Target::Config => tracing::info!("Backing up the server's configuration."),
    }
}

/// Makes one dump, logs its summary or its failure, and records it for the run status.
fn dump_and_report(site: &DumpRun<'_>, target: &Target) -> Result<Dumped, DumpError> {
    log_start(target);
    let started = Instant::now();
    let start_time = cedar_core::now_secs();
    let bar = site
        .progress
        .start(ProgressMeasure::bytes(target.to_string(), "dumped"));
    let publish =
        |dumped: &Dumped, rename: Rename<'_>| publish(site, target, start_time, dumped, rename);
    // A `<database_options>` entry may choose another compression for this dump.
    let mut compression = site.compression;
    compression.codec = site.settings.codec_of(target);
    compression.level = site.settings.level_of(target);
    let outcome = dump_one(
        site.config,
        site.settings,
        site.prepared,
        target,
        site.dir,
        site.owner,
        compression,
        site.interrupted,
        &|n| bar.add_bytes(n),
        &publish,
    );
    let seconds = started.elapsed().as_secs_f64();
    // A finished dump's entry was recorded when it took its final name.
    if let Err(error) = &outcome {
        if let Some(entry) = entry_of(site, target, start_time, Err(error)) {
            site.record(site.index_of(target), entry);
        }
    }
    let mut result = DatabaseResult {
        action: "postgresql".to_string(),
        database: target.label().to_string(),
        file: None,
        raw_bytes: bar.bytes(),
        bytes: 0,
        success: false,
        seconds,
        error: None,
        warnings: Vec::new(),
    };
    match &outcome {
        Ok(dumped) => {
            let summary = summary(target, &dumped.totals, seconds);
            tracing::info!("Wrote {} for {target}.", dumped.path.display());
            bar.conclude(&summary);
            result.file = dumped
                .path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned());
            result.raw_bytes = dumped.totals.raw;
            result.bytes = dumped.totals.compressed;
            result.success = true;
            result.warnings = site.prepared.role_passwords.warnings(target);
        }
        Err(error) => {
            bar.abandon(&format!(
                "the dump of {target} failed after {} bytes",
                bar.bytes()
            ));
            let message = match error {
                DumpError::Interrupted => format!("the dump of {target} was interrupted"),
                _ => {
                    // Logged now; the error that ends the action repeats it with the others.
                    let message = failure_message(target, error);
                    tracing::warn!("{message}");
                    message
                }
            };
            result.error = Some(message);
        }
    }
    cedar_core::record_result(result);
    outcome
}

/// The manifest entry of a finished or failed dump (none for an interrupted one).
fn entry_of(
    site: &DumpRun<'_>,
    target: &Target,
    start: i64,
    outcome: Result<&Dumped, &DumpError>,
) -> Option<ManifestEntry> {
    let tool = site.prepared.tool(target);
    let server = site.prepared.server.as_ref().map(|s| s.text.clone());
    let mut entry = ManifestEntry {
        name: site.settings.file_name(target),
        database: target.label().to_string(),
        status: DumpStatus::Failed,
        size: None,
        sha256: None,
        verified: false,
        // The server's configuration is read through psql, not dumped.
        pg_dump_version: if *target == Target::Config {
            None
        } else {
            tool.version_text.clone()
        },
        server_version: server,
        start: rfc3339(start),
        end: rfc3339(cedar_core::now_secs()),
        error: None,
        replacing: Vec::new(),
        left_out: site
            .settings
            .choices(target)
            .map(|c| c.left_out())
            .unwrap_or_default(),
        warnings: Vec::new(),
    };
    match outcome {
        // Interrupted: not finished. A clash: the name is the globals' (or the server
        // configuration's) file, described by its own entry.
        Err(
            DumpError::Interrupted | DumpError::NameClash { .. } | DumpError::ConfigClash { .. },
        ) => return None,
        Err(error) => entry.error = Some(failure_message(target, error)),
        Ok(dumped) => {
            entry.status = DumpStatus::Ok;
            entry.size = dumped.digest.as_ref().map(|d| d.size);
            entry.sha256 = dumped.digest.as_ref().map(|d| d.sha256.clone());
            entry.verified = dumped.verified;
            entry.warnings = site.prepared.role_passwords.warnings(target);
            if let Some(by) = &dumped.dumped_by {
                entry.pg_dump_version = Some(format!("pg_dump (PostgreSQL) {by}"));
            }
            if dumped.dumped_from.is_some() {
                entry.server_version = dumped.dumped_from.clone();
            }
        }
    }
    Some(entry)
}

/// The summary line of a finished dump: sizes, ratio, time and throughput.
pub fn summary(target: &Target, totals: &CompressTotals, seconds: f64) -> String {
    const MB: f64 = 1_000_000.0;
    let raw = totals.raw as f64 / MB;
    let written = totals.compressed as f64 / MB;
    let ratio = if totals.raw == 0 {
        1.0
    } else {
        totals.compressed as f64 / totals.raw as f64
    };
    let rate = if seconds > 0.0 { raw / seconds } else { 0.0 };
    format!(
        "Dumped {target}: {raw:.1} MB raw, {written:.1} MB written (ratio {ratio:.3}), {seconds:.2} s, {rate:.1} MB/s."
    )
}

/// The command that makes the dump of `target`.
pub fn dump_command(config: &ConfigFile, settings: &Settings, target: &Target) -> StreamCommand {
    let name = target.command_name();
    let mut env: Vec<(&'static str, OsString)> = prepare::libpq_env(settings);
    if let Target::Database(db) = target {
        // Through the environment, libpq takes the name literally: a name that starts with
        // `-` or looks like a connection string cannot be misread, and argv stays empty.
        env.push(("PGDATABASE", OsString::from(db)));
    }
    StreamCommand {
        name,
        program: cedar_core::resolve_command(&config.config, name),
        args: prepare::args(settings, target),
        env,
        label: format!("{name} of {target}"),
        warn_stderr: true,
    }
}

/// Makes one dump into its hidden temporary file and, when it is complete and synced, has
/// `publish` rename it (through the function it is handed, at the moment it chooses). The
/// output of the command streams through the compressor into the file; `progress` gets the
/// size of every piece of output read.
#[allow(clippy::too_many_arguments)]
pub fn dump_one(
    config: &ConfigFile,
    settings: &Settings,
    prepared: &Prepared,
    target: &Target,
    dir: &Path,
    owner: Option<FileOwner<'_>>,
    compression: CompressSettings,
    interrupted: &(dyn Fn() -> bool + Sync),
    progress: &dyn Fn(u64),
    publish: &dyn Fn(&Dumped, Rename<'_>) -> Result<PathBuf, DumpError>,
) -> Result<Dumped, DumpError> {
    if matches!(target, Target::Database(name) if name.contains('/')) {
        return Err(DumpError::UnusableName);
    }
    let file_name = settings.file_name(target);
    if settings.split
        && matches!(target, Target::Database(_))
        && file_name == settings.file_name(&Target::Globals)
    {
        return Err(DumpError::NameClash { file: file_name });
    }
    if settings.config_files
        && matches!(target, Target::Database(_))
        && file_name == settings.file_name(&Target::Config)
    {
        return Err(DumpError::ConfigClash { file: file_name });
    }
    // The server's configuration is gathered (small) before its file is created.
    let gathered = if *target == Target::Config {
        let psql = cedar_core::resolve_command(&config.config, "psql");
        let env = prepare::libpq_env(settings);
        let gathered =
            crate::server_config::gather(&psql, &env).map_err(|source| match source {
                crate::version::QueryError::Interrupted { .. } => DumpError::Interrupted,
                source => DumpError::ServerConfig { source },
            })?;
        Some(crate::server_config::render(&gathered))
    } else {
        None
    };
    let mut command = dump_command(config, settings, target);
    command.program = prepared.tool(target).program.clone();
    command
        .args
        .extend(prepared.role_passwords.arg(target).map(OsString::from));
    tracing::debug!(
        "Running {} for {target} with {} set.",
        command.program.display(),
        command
            .env
            .iter()
            .map(|(k, _)| *k)
            .collect::<Vec<_>>()
            .join(", ")
    );
    let file = AtomicFile::create(dir, &file_name)?;
    let source = match &gathered {
        Some(bytes) => Source::Bytes(bytes),
        None => Source::Command(&command),
    };
    // `<encrypt>`: encrypted between the compressor and the file.
    let seal = settings
        .encrypt
        .as_ref()
        .map(|e| e.seal(&cedar_core::resolve_command(&config.config, "gpg")));
    let written = write_dump(
        source,
        &file,
        settings,
        compression,
        seal.as_ref(),
        interrupted,
        progress,
    )
    .and_then(|(totals, digest)| {
        check_written(
            settings,
            prepared,
            target,
            file.temp_path(),
            totals,
            digest,
            compression.threads,
        )
    });
    match written {
        Ok(mut dumped) => {
            // Roles with their password hashes, and a configuration that may hold passwords
            // (primary_conninfo): never readable by the backup group.
            let mode = if matches!(target, Target::Globals | Target::Config) {
                FileMode::Private
            } else {
                FileMode::GroupReadable
            };
            let finished = file.finish()?;
            let rename: Rename<'_> = Box::new(move || Ok(finished.commit_with(owner, mode)?));
            dumped.path = publish(&dumped, rename)?;
            Ok(dumped)
        }
        Err(error) => {
            let temp = file.temp_path().to_path_buf();
            if let Err(err) = file.discard() {
                tracing::error!(
                    "Cannot remove the temporary file {}: {err}; remove it by hand.",
                    temp.display()
                );
            }
            Err(error)
        }
    }
}

/// Reads the written temporary file back (`<verify>`), decompressing on up to `threads`
/// threads. `digest` (size and SHA-256 of the bytes written, computed as they were written) is
/// what the manifest gets.
fn check_written(
    settings: &Settings,
    prepared: &Prepared,
    target: &Target,
    temp: &Path,
    mut totals: CompressTotals,
    digest: Digested,
    threads: usize,
) -> Result<Dumped, DumpError> {
    let written = Written {
        digest,
        raw: totals.raw,
        // Only the check needs the member map; the result keeps the sums.
        members: std::mem::take(&mut totals.members),
    };
    let compressed = totals.compressed;
    let mut dumped = Dumped {
        path: temp.to_path_buf(),
        totals,
        digest: None,
        verified: false,
        dumped_by: None,
        dumped_from: None,
    };
    if settings.verify {
        let kind = verify_kind(settings, target);
        let checked = match &settings.encrypt {
            Some(encryption) => crate::sealed::check(
                temp,
                encryption,
                settings.codec_of(target),
                kind,
                &written,
                compressed,
            ),
            None => verify::verify(
                temp,
                settings.codec_of(target),
                kind,
                &prepared.pg_restore,
                &written,
                threads,
            ),
        }
        .map_err(|source| DumpError::Verify {
            file: settings.file_name(target),
            source: Box::new(source),
        })?;
        tracing::debug!("{} passed verification.", temp.display());
        dumped.digest = Some(checked.digest);
        dumped.verified = true;
        dumped.dumped_by = checked.dumped_by;
        dumped.dumped_from = checked.dumped_from;
    } else if settings.manifest {
        dumped.digest = Some(written.digest);
    }
    Ok(dumped)
}

/// What the read-back check of `target`'s file looks for.
fn verify_kind(settings: &Settings, target: &Target) -> Kind {
    match (target, settings.format_of(target)) {
        (Target::All | Target::Globals, _) => Kind::Cluster,
        (Target::Config, _) => Kind::Config,
        (Target::Database(_), Format::Custom) => Kind::Custom,
        (Target::Database(_), Format::Plain) => Kind::Dump,
    }
}

/// What a file is written from.
#[derive(Clone, Copy)]
enum Source<'a> {
    /// The output of a dump command, streamed.
    Command(&'a StreamCommand),
    /// Text already in memory (the server's configuration).
    Bytes(&'a [u8]),
}

/// Streams `source` through the compressor (and the encryption of `seal`) into `file`; returns the totals and the size and
/// SHA-256 of the bytes written to the file.
fn write_dump(
    source: Source<'_>,
    file: &AtomicFile,
    settings: &Settings,
    compression: CompressSettings,
    seal: Option<&Seal>,
    interrupted: &(dyn Fn() -> bool + Sync),
    progress: &dyn Fn(u64),
) -> Result<(CompressTotals, Digested), DumpError> {
    let temp = file.temp_path();
    let write_error = |source| DumpError::Write {
        path: temp.to_path_buf(),
        source,
    };
    // The compressor's threads own their handle of the file; the original stays with the
    // AtomicFile, which syncs and renames it. What goes to the file is hashed on the way,
    // unless neither the check nor the manifest needs the hash.
    let handle = file.writer().map_err(write_error)?;
    let handle = if settings.verify || settings.manifest {
        DigestWriter::new(handle)
    } else {
        DigestWriter::counting(handle)
    };
    // No plaintext byte reaches the file: the encryption sits between compressor and file.
    let handle = SealWriter::new(seal, handle).map_err(|source| DumpError::Encrypt {
        path: temp.to_path_buf(),
        source,
    })?;
    let mut compressor =
        Compressor::new(handle, compression).map_err(|source| DumpError::Compressor {
            mode: compression.codec.name(),
            path: temp.to_path_buf(),
            source,
        })?;
    match source {
        Source::Command(command) => {
            stream_command(command, &mut compressor, temp, interrupted, progress)?;
        }
        Source::Bytes(bytes) => {
            std::io::Write::write_all(&mut compressor, bytes).map_err(write_error)?;
            progress(bytes.len() as u64);
        }
    }
    let (writer, totals) = compressor.finish().map_err(write_error)?;
    let writer = writer.finish().map_err(|source| DumpError::Encrypt {
        path: temp.to_path_buf(),
        source,
    })?;
    let (writer, digest) = writer.finish();
    writer.finish().map_err(write_error)?;
    Ok((totals, digest))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    /// A collect directory, a fake pg_dump / pg_dumpall, and a document using them.
    struct FakeDumpSetup {
        dir: tempfile::TempDir,
    }

    impl FakeDumpSetup {
        fn new() -> FakeDumpSetup {
            let dir = tempfile::tempdir().unwrap();
            std::fs::create_dir(dir.path().join("collect")).unwrap();
            // The fake dumps print their environment; database `bad` fails like pg_dump.
            let script = "#!/bin/sh\n\
                if [ \"$PGDATABASE\" = bad ]; then echo 'pg_dump: error: database \"bad\" does not exist' >&2; exit 1; fi\n\
                printf 'argc=%s args=%s user=%s db=%s host=%s port=%s pass=%s\\n' \"$#\" \"$*\" \"$PGUSER\" \"$PGDATABASE\" \"$PGHOST\" \"$PGPORT\" \"$PGPASSFILE\"\n";
            for name in ["pg_dump", "pg_dumpall"] {
                let path = dir.path().join(name);
                std::fs::write(&path, script).unwrap();
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
            }
            FakeDumpSetup { dir }
        }

        fn path(&self, name: &str) -> PathBuf {
            self.dir.path().join(name)
        }

        fn config(&self, section: &str) -> ConfigFile {
            // These fake dumps write no completion marker, and the tests list collect_dir
            // exactly: verification and the manifest are tested in `crate::trust_tests`.
            // psql is pinned to a missing path, so no test asks a real server anything.
            let section = section.replace(
                "</postgresql>",
                "<verify>N</verify><manifest>N</manifest></postgresql>",
            );
            let text = format!(
                "<cb_config><options><starting_day>monday</starting_day>\
                 <working_dir>/tmp</working_dir><backup_user>root</backup_user>\
                 <backup_group>root</backup_group><rcp_command>scp</rcp_command>\
                 <override><command>pg_dump</command><abs_path>{d}/pg_dump</abs_path></override>\
                 <override><command>pg_dumpall</command><abs_path>{d}/pg_dumpall</abs_path></override>\
                 <override><command>psql</command><abs_path>{d}/no-psql</abs_path></override>\
                 </options><collect><collect_dir>{d}/collect</collect_dir></collect>\
                 {section}</cb_config>",
                d = self.dir.path().display()
            );
            ConfigFile::parse(&text, &self.path("cback.conf")).unwrap()
        }

        fn collect(&self, name: &str) -> PathBuf {
            self.path("collect").join(name)
        }

        fn entries(&self) -> Vec<String> {
            let mut names: Vec<String> = std::fs::read_dir(self.path("collect"))
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            names
        }
    }

    fn never() -> bool {
        false
    }

    fn run_site(config: &ConfigFile) -> Result<(), PgError> {
        run(config, &cedar_core::Options::default(), &never)
    }

    #[test]
    fn settings_are_read_with_the_original_rules() {
        let site = FakeDumpSetup::new();
        let config = site.config(
            "<postgresql><user>backup</user><compress_mode>gzip</compress_mode><all>n</all>\
             <database>a</database><database/><database>b c</database>\
             <port>5433</port></postgresql>",
        );
        let settings = load_settings(&config).unwrap();
        assert_eq!(settings.compress_mode, cedar_core::Codec::Gzip);
        assert_eq!(
            settings.targets,
            vec![Target::Database("a".into()), Target::Database("b c".into())]
        );
        assert_eq!(settings.user.as_deref(), Some("backup"));
        assert_eq!(settings.port.as_deref(), Some("5433"));
    }

    #[test]
    fn a_bad_boolean_is_a_read_error() {
        let site = FakeDumpSetup::new();
        let config = site
            .config("<postgresql><compress_mode>none</compress_mode><all>yes</all></postgresql>");
        let err = load_settings(&config).unwrap_err();
        assert!(
            matches!(err, PgError::Section(SectionError::Read { .. })),
            "{err}"
        );
    }

    #[test]
    fn validate_reports_every_problem() {
        let site = FakeDumpSetup::new();
        let config = site.config(
            "<postgresql><compress_mode>zip</compress_mode><all>Y</all>\
             <database>a</database></postgresql>",
        );
        let options = cedar_core::Options::default();
        let ctx = ActionContext {
            action_name: "postgresql",
            config_path: &config.path,
            options: &options,
            config: &config,
            earlier_failures: &[],
        };
        let problems = PostgresqlAction.validate(&ctx);
        assert_eq!(problems.len(), 2, "{problems:?}");
        let err = run_site(&config).unwrap_err().to_string();
        assert!(err.contains("`zip`") && err.contains("<all> is Y"), "{err}");
        assert!(site.entries().is_empty());
    }

    #[test]
    fn the_section_and_the_collect_section_are_required() {
        let site = FakeDumpSetup::new();
        let err = run_site(&site.config("")).unwrap_err().to_string();
        assert!(err.contains("<postgresql> section is required"), "{err}");
        let text = "<cb_config><options/><postgresql><compress_mode>none</compress_mode>\
                    <all>Y</all></postgresql></cb_config>";
        let config = ConfigFile::parse(text, Path::new("/x.conf")).unwrap();
        let err = run_site(&config).unwrap_err().to_string();
        assert!(
            err.contains("not properly filled in") && err.contains("<collect>"),
            "{err}"
        );
    }

    #[test]
    fn named_databases_go_through_the_environment() {
        let site = FakeDumpSetup::new();
        let config = site.config(
            "<postgresql><user>backup</user><compress_mode>none</compress_mode>\
             <database>-x=y</database><host>/run/pg</host><port>6543</port></postgresql>",
        );
        run_site(&config).unwrap();
        let text = std::fs::read_to_string(site.collect("postgresqldump--x=y.txt")).unwrap();
        assert_eq!(
            text,
            "argc=1 args=--no-password user=backup db=-x=y host=/run/pg port=6543 pass=\n"
        );
        assert_eq!(site.entries(), vec!["postgresqldump--x=y.txt"]);
    }

    #[test]
    fn all_uses_pg_dumpall_and_compresses() {
        let site = FakeDumpSetup::new();
        let config = site
            .config("<postgresql><compress_mode>bzip2</compress_mode><all>Y</all></postgresql>");
        run_site(&config).unwrap();
        assert_eq!(site.entries(), vec!["postgresqldump.txt.bz2"]);
        let bytes = std::fs::read(site.collect("postgresqldump.txt.bz2")).unwrap();
        let mut text = String::new();
        std::io::Read::read_to_string(&mut bzip2::read::BzDecoder::new(&bytes[..]), &mut text)
            .unwrap();
        assert!(
            text.starts_with("argc=1 args=--no-password user= db= "),
            "{text}"
        );
    }

    #[test]
    fn every_database_is_attempted_and_failures_named() {
        let site = FakeDumpSetup::new();
        std::fs::write(site.collect("postgresqldump-bad.txt.gz"), "yesterday").unwrap();
        let config = site.config(
            "<postgresql><compress_mode>gzip</compress_mode><database>a</database>\
             <database>bad</database><database>x/y</database><database>b</database>\
             </postgresql>",
        );
        let err = run_site(&config).unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("2 of 4 PostgreSQL dumps failed (the others were written)"),
            "{text}"
        );
        assert!(
            text.contains("database [bad]") && text.contains("does not exist"),
            "{text}"
        );
        assert!(text.contains("exit status 1"), "{text}");
        assert!(
            text.contains("database [x/y]") && text.contains("`/`"),
            "{text}"
        );
        assert_eq!(
            site.entries(),
            vec![
                "postgresqldump-a.txt.gz",
                "postgresqldump-b.txt.gz",
                "postgresqldump-bad.txt.gz"
            ]
        );
        assert_eq!(
            std::fs::read(site.collect("postgresqldump-bad.txt.gz")).unwrap(),
            b"yesterday"
        );
        let mode = std::fs::metadata(site.collect("postgresqldump-a.txt.gz"))
            .unwrap()
            .mode();
        let expected = if cedar_core::running_as_root() {
            0o640
        } else {
            0o600
        };
        assert_eq!(mode & 0o777, expected);
    }

    /// Replaces the fake pg_dump of `site` by `body`.
    fn fake_pg_dump(site: &FakeDumpSetup, body: &str) {
        let path = site.path("pg_dump");
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    #[test]
    fn jobs_run_dumps_at_once_and_failures_are_still_named() {
        let site = FakeDumpSetup::new();
        // Each dump marks its start, then waits (up to 20 s) until three have started: with
        // three jobs they all see three, one after the other they could not.
        let marks = site.path("marks");
        std::fs::create_dir(&marks).unwrap();
        fake_pg_dump(
            &site,
            &format!(
                "touch '{m}'/\"$PGDATABASE\"\n\
                 i=0; while [ $(ls '{m}' | wc -l) -lt 3 ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done\n\
                 if [ \"$PGDATABASE\" = bad ]; then echo 'pg_dump: error: database \"bad\" does not exist' >&2; exit 1; fi\n\
                 echo \"db=$PGDATABASE started=$(ls '{m}' | wc -l)\"",
                m = marks.display()
            ),
        );
        std::fs::write(site.collect("postgresqldump-bad.txt.gz"), "yesterday").unwrap();
        let config = site.config(
            "<postgresql><compress_mode>gzip</compress_mode><jobs>3</jobs><database>a</database>\
             <database>bad</database><database>b</database></postgresql>",
        );
        let text = run_site(&config).unwrap_err().to_string();
        assert!(
            text.starts_with("1 of 3 PostgreSQL dumps failed (the others were written)"),
            "{text}"
        );
        assert!(
            text.contains("the dump of database [bad] failed") && text.contains("exit status 1"),
            "{text}"
        );
        assert!(
            !text.contains("database [a]") && !text.contains("database [b]"),
            "{text}"
        );
        assert_eq!(
            site.entries(),
            vec![
                "postgresqldump-a.txt.gz",
                "postgresqldump-b.txt.gz",
                "postgresqldump-bad.txt.gz"
            ]
        );
        for db in ["a", "b"] {
            let bytes =
                std::fs::read(site.collect(&format!("postgresqldump-{db}.txt.gz"))).unwrap();
            let mut text = String::new();
            std::io::Read::read_to_string(
                &mut flate2::read::MultiGzDecoder::new(&bytes[..]),
                &mut text,
            )
            .unwrap();
            assert_eq!(text, format!("db={db} started=3\n"));
        }
        assert_eq!(
            std::fs::read(site.collect("postgresqldump-bad.txt.gz")).unwrap(),
            b"yesterday"
        );
    }

    #[test]
    fn zstd_and_levels_reach_the_compressor() {
        let site = FakeDumpSetup::new();
        fake_pg_dump(&site, "seq 1 200000");
        let expected: String = (1..=200000).map(|i| format!("{i}\n")).collect();
        let config = site.config(
            "<postgresql><compress_mode>zstd</compress_mode><database>z</database></postgresql>",
        );
        run_site(&config).unwrap();
        let bytes = std::fs::read(site.collect("postgresqldump-z.txt.zst")).unwrap();
        assert_eq!(zstd::decode_all(&bytes[..]).unwrap(), expected.as_bytes());

        // The gzip header's XFL byte says which level made it: 2 for 9, 4 for 1, 0 between.
        for (level, xfl) in [
            ("", 0u8),
            ("<compress_level>9</compress_level>", 2),
            ("<compress_level>1</compress_level>", 4),
        ] {
            let config = site.config(&format!(
                "<postgresql><compress_mode>gzip</compress_mode>{level}<database>g</database></postgresql>"
            ));
            run_site(&config).unwrap();
            let bytes = std::fs::read(site.collect("postgresqldump-g.txt.gz")).unwrap();
            assert_eq!(bytes[8], xfl, "{level}");
            let mut text = String::new();
            std::io::Read::read_to_string(
                &mut flate2::read::MultiGzDecoder::new(&bytes[..]),
                &mut text,
            )
            .unwrap();
            assert!(text == expected, "{level}: the content changed");
        }
    }

    #[test]
    fn the_summary_gives_sizes_ratio_time_and_rate() {
        let totals = CompressTotals {
            raw: 488_000_000,
            compressed: 61_000_000,
            members: Vec::new(),
        };
        assert_eq!(
            summary(&Target::Database("bench".into()), &totals, 4.0),
            "Dumped database [bench]: 488.0 MB raw, 61.0 MB written (ratio 0.125), 4.00 s, 122.0 MB/s."
        );
        let empty = CompressTotals::default();
        assert_eq!(
            summary(&Target::All, &empty, 0.0),
            "Dumped all databases: 0.0 MB raw, 0.0 MB written (ratio 1.000), 0.00 s, 0.0 MB/s."
        );
    }

    #[test]
    fn compression_threads_are_shared_between_jobs() {
        let site = FakeDumpSetup::new();
        let config = site.config(
            "<postgresql><compress_mode>gzip</compress_mode><database>a</database></postgresql>",
        );
        let settings = load_settings(&config).unwrap();
        let cores = std::thread::available_parallelism().unwrap().get();
        assert_eq!(compression_settings(&settings, 1).threads, cores);
        assert_eq!(
            compression_settings(&settings, 2).threads,
            (cores / 2).max(1)
        );
        assert_eq!(compression_settings(&settings, 64).threads, 1);
        assert_eq!(compression_settings(&settings, 1).level, 6);
    }

    #[test]
    fn a_missing_command_names_the_override() {
        let site = FakeDumpSetup::new();
        std::fs::remove_file(site.path("pg_dump")).unwrap();
        let config = site.config(
            "<postgresql><compress_mode>none</compress_mode><database>a</database></postgresql>",
        );
        let text = run_site(&config).unwrap_err().to_string();
        assert!(
            text.contains("database [a]") && text.contains("cannot run"),
            "{text}"
        );
        assert!(site.entries().is_empty());
    }

    #[test]
    fn an_unusable_password_file_fails_before_any_dump() {
        let site = FakeDumpSetup::new();
        let pgpass = site.path("pgpass");
        std::fs::write(&pgpass, "*:*:*:*:hunter2\n").unwrap();
        std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o644)).unwrap();
        let config = site.config(&format!(
            "<postgresql><compress_mode>none</compress_mode><database>a</database>\
             <password_file>{}</password_file></postgresql>",
            pgpass.display()
        ));
        let text = run_site(&config).unwrap_err().to_string();
        assert!(
            text.contains("chmod 600") && !text.contains("hunter2"),
            "{text}"
        );
        std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o600)).unwrap();
        run_site(&config).unwrap();
        let text = std::fs::read_to_string(site.collect("postgresqldump-a.txt")).unwrap();
        assert!(
            text.contains(&format!("pass={}", pgpass.display())),
            "{text}"
        );
    }

    #[test]
    fn an_interrupt_stops_before_the_next_database() {
        let site = FakeDumpSetup::new();
        let config = site.config(
            "<postgresql><compress_mode>none</compress_mode><database>a</database></postgresql>",
        );
        let err = run(&config, &cedar_core::Options::default(), &|| true).unwrap_err();
        assert!(matches!(err, PgError::Interrupted));
        assert!(matches!(ActionError::from(err), ActionError::Interrupted));
        assert!(site.entries().is_empty());
    }
}
