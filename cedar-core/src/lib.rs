//! cedar-core: the kernel of `cback`, a Rust port of the Cedar Backup 3 action framework. It
//! knows no action and no extension: the built-in actions live in `cedar-actions`, the
//! extensions in `cedar-ext-*`, and all of them register through [`ActionRegistration`] (see
//! `ARCHITECTURE.md`).
//!
//! Every module is private: the `pub use` block below is the kernel's whole interface, one group
//! per theme, and other crates name an item at the root (`cedar_core::AtomicFile`, never
//! `cedar_core::atomic::AtomicFile`). Where an item's own name is only clear inside its module
//! (a free function such as `interrupt::requested`, a type such as `manifest::Entry`, two
//! `RemoteError`s), it is re-exported under a name that says what it is
//! (`interrupt_requested`, `ManifestEntry`, `RemoteCallError` / `RemoteCopyError`).
//!
//! The modules: the `<cb_config>` document (`config/`: read with the original's rules,
//! validated, written back), `options` (the command line as actions see it), the registry
//! (`action.rs`), the plan (`plan/`) and its run (`run.rs`, `hooks`, `lock`), logging, child
//! processes (`process.rs`, `process_group.rs`: the one supervisor; `stream.rs`: a command's
//! output streamed into a writer), atomic files (`atomic.rs`), compression (`compress/`: one
//! `Codec`), the original's pickles (`pickle/`), the one error-chain formatter (`chain.rs`), and
//! what more than one action or extension shares: the one progress display (`progress.rs`), the one calendar (`calendar.rs`), byte
//! quantities (`quantity.rs`), the tar writer (`tar/`), archive names (`normalize.rs`), the
//! status file and textfile (`status.rs`, `disc_record.rs`), dump manifests (`manifest.rs`),
//! the staging tree (`staged.rs`, `remote_copies.rs`), age recipients (`recipients.rs`) and
//! the extensions' shared pieces (`ext/`).

mod action;
mod atomic;
mod calendar;
mod chain;
mod clip;
mod clock;
mod compress;
mod config;
mod dir_names;
mod disc_record;
mod doctor;
mod duration;
mod ext;
mod fsutil;
mod gpg;
mod hooks;
mod interrupt;
mod lock;
mod logging;
mod manifest;
mod normalize;
mod options;
mod ownership;
mod pickle;
mod plan;
mod process;
mod process_group;
mod progress;
mod quantity;
mod recipients;
mod remote;
mod remote_copies;
mod retention;
mod run;
mod seal;
mod sha256;
mod shared_connection;
mod shrink;
mod staged;
mod status;
mod stream;
mod tar;
mod work_queue;

// The registry of actions, the plan and its run.
pub use action::{
    available_modules as available_extension_modules, extension_by_module, extension_by_name,
    registrations as action_registrations, Action, ActionContext, ActionError, ActionKind,
    ActionRegistration, Placement,
};
pub use interrupt::{
    install as install_interrupt_handler, request as request_interrupt,
    requested as interrupt_requested, ring as ring_interrupt_waiters,
    wait_until as wait_until_rung, EXIT_INTERRUPTED,
};
/// Re-exported so extensions register with the same `inventory` version.
pub use inventory;
pub use lock::{LockError, RunLock};
pub use options::{Options, DEFAULT_CONFIG, DEFAULT_LOGFILE, DEFAULT_MODE as DEFAULT_LOGFILE_MODE};
pub use plan::{
    build as build_plan, dependency_mode, managed_peer_configs, Plan, StepKind,
    BUILTIN_NAMES as BUILTIN_ACTION_NAMES,
};
pub use run::{
    describe_managed, execute as execute_plan, managed_peer_call, needs_lock, run_failure_hook,
    working_dir as run_lock_dir, RunError, RunInfo,
};

// The configuration document and the original's value rules.
pub use config::values::{parse_bool as parse_yes_no, parse_float, parse_int, ByteQuantity};
pub use config::{
    element_paths as section_element_paths, ArchiveMode, BlankMode, CollectConfig, CollectDir,
    CollectExclude, CollectFile, CollectMode, Config, ConfigError, ConfigFile, DeviceType,
    ExcludePattern, IgnoreFailures, MediaType, OptionsConfig, OrderMode, PatternError, PeerConfig,
    PeersConfig, Problem as ConfigProblem, PurgeConfig, PurgeDir, SectionCheck, StageConfig,
    Weekday,
};
pub use quantity::{display_bytes, parse_bytes};

// Logging and the wording of messages.
pub use chain::chain as error_chain;
pub use clip::clip as clip_text;
pub use logging::{
    init as init_logging, log_command_output, LogSettings, Screen as LogScreen,
    FILE_ONLY_TARGET as LOG_FILE_ONLY_TARGET, OUTPUT_TARGET as LOG_OUTPUT_TARGET,
};
pub use progress::{
    summary_line, Bar as ProgressBar, Measure as ProgressMeasure, Progress, Tally as ProgressTally,
};

// The date and the time.
pub use calendar::{rfc3339, Today};
pub use clock::{now as local_now, now_secs};

// Files: written atomically, owned, synced, hashed.
pub use atomic::{
    remove_stale_temps, sync_dir_lenient, temps_in, AtomicError, AtomicFile,
    Finished as FinishedFile, Mode as FileMode, Owner as FileOwner,
};
pub use fsutil::{sync_dir, sync_filesystem};
pub use ownership::{
    apply as apply_ownership, change_owner, lookup as lookup_owner, running_as_root, OwnershipError,
};
pub use sha256::{
    hash_file, hash_reader, hex as lowercase_hex, DigestReader, DigestWriter, Digested,
};

// Child processes: the environment rule, the supervisor, streamed output, gpg, remote shells
// (and the one ssh connection a peer's calls share).
pub use gpg::{Decrypting as GpgDecrypting, Input as GpgInput};
pub use process::{
    apply_locale, combined_text as combined_output, command as child_command,
    is_overridden as is_command_overridden, resolve_command, run_observed_within, run_supervised,
    run_supervised_within, run_watched, run_watched_within, tail as last_lines, OutputObserver,
    SupervisedError, WithinError,
};
pub use process_group::ProcessGroup;
pub use remote::{
    config_words as command_words, RemoteCall, RemoteError as RemoteCallError, Word as RemoteWord,
};
pub use seal::{
    check_private as check_identity_private, check_structure as check_sealed_structure,
    identities as age_identities, open_age, read_identities as read_age_identities, unseal,
    Identities as AgeIdentities, Seal, SealWriter, UnsealError,
};
pub use shared_connection::SharedConnection;
pub use stream::{
    describe_status as describe_exit_status, drain_stderr, stderr_suffix, stream as stream_command,
    StreamCommand, StreamError,
};
pub use work_queue::run_bounded;

// Compression and the file formats: tar, the original's pickles, archive names, age.
pub use compress::{
    bzip2_block, gzip_block, worker_count as compress_worker_count, Codec, Compressor,
    Framing as CompressFraming, Member as CompressedMember, ParallelWriter,
    Settings as CompressSettings, Totals as CompressTotals,
};
pub use normalize::normalize_name;
pub use pickle::{
    int_pickle, read_dict as read_pickle_dict, write_dict as write_pickle_dict,
    DictReader as PickleDictReader, DictWriter as PickleDictWriter, PickleError,
};
pub use recipients::{parse_all as parse_recipients, Recipients};
pub use tar::{Appended, InodeMap, TarWriter};

// The run status: `cback-status.json`, the metrics textfile, the discs written.
pub use disc_record::{record as record_disc, StoredDisc};
pub use status::{
    prom_path, prometheus_text as status_prometheus_text, read as read_status,
    read_previous as read_previous_status, record as record_result, record_dump_stats,
    recorded as recorded_results, status_path, write_atomically as write_file_atomically,
    write_drills, write_run, CopyRecord, DatabaseResult, DrillResult, DumpSize, DumpStats,
    PeerResult, Record as StatusRecord, ResultFamily, ResultMetrics, RunEnd, RunStatus,
    StatusError, UploadResult, STATUS_FILE,
};

// Dumps that look wrong: a night compared with the nights before.
pub use shrink::{
    check_run as check_dump_sizes, compare as compare_dump_sizes, Finding as ShrinkFinding,
    ShrinkCheckError, ShrinkError, ShrinkLimits, DEFAULT_SHRINK_WARNING,
};

// Durations on a command line (`90m`, `26h`, `2d`) and ages as a person reads them.
pub use duration::{display_age, parse_duration, DurationError};

// Retention: the keep policies of the staged days and the bucket, and stage's record of each
// peer's outcome in a day.
pub use retention::{
    select as select_retained, uploaded_copies, Backup as DatedBackup, CopyState, Day as BackupDay,
    Decision as RetentionDecision, DurationError as KeepWithinError,
    MarkerError as UploadMarkerError, PeerOutcome, Policy as RetentionPolicy,
    PolicyError as RetentionPolicyError, PolicyValues as RetentionPolicyValues,
    Reason as RetentionReason, RecordError as StageRecordError, Rule as RetentionRule, StageRecord,
    UploadMarker, UploadState, Within as KeepWithin, MARKER_FILE as UPLOAD_MARKER_FILE, PIN_FILE,
    RECORD_FILE as STAGE_RECORD_FILE,
};

// `cback doctor`: the result of one check, which every action may contribute.
pub use doctor::{
    failures as failed_checks, program as check_program, readable as check_readable,
    render_json as render_checks_json, render_lines as render_check_lines,
    section_failure as section_check_failure, CheckResult, Status as CheckStatus, CHECK_TIME_LIMIT,
};

// Dump manifests, which an extension writes and stage checks.
pub use manifest::{
    carry_over as carry_over_failed_entries, kind_of as manifest_kind_of, Entry as ManifestEntry,
    Manifest, ManifestError, ManifestKind, Problem as ManifestProblem, RegisteredManifest,
    Replaced as ReplacedEntry, Status as DumpStatus,
};

// The staging tree as the extensions after stage see it, and the remote copies of it.
pub use remote_copies::{
    is_day as is_day_path, is_hidden as is_hidden_path, remote_places, Keys as RemoteKeys,
    RemoteError as RemoteCopyError, RemotePlace, RemotePlaceRegistration, Sealing, StagedObject,
};
pub use staged::{
    backup_files, daily_dirs, is_reserved, journal_safe, new_file_mode, real_subdirs, total_size,
    umask as current_umask, write_indicator, AfterStage, Journal as StagedJournal, StagedError,
    RESERVED_PREFIX,
};

// The extensions' shared pieces: the section, the standard sections, captured output,
// listings, state files, the tally of items.
pub use ext::capture::{
    capture as capture_command, capture_logged as capture_command_logged,
    remove_stale as remove_stale_captures, CaptureError, Captured, CompressedFile, ExitRule,
};
pub use ext::listing::{list as list_entries, Exclusions as ListingExclusions, Kind as EntryKind};
pub use ext::outcome::{Item as TallyItem, Tally};
pub use ext::rules::{
    inherited as inherited_mode, parse_bool as parse_section_bool, parse_collect_mode,
    parse_compress_mode,
};
pub use ext::section::{ExtensionSection, SectionError};
pub use ext::site::{validate as validate_extension, StandardSections};
pub use ext::state::{
    load_int as load_state_int, load_or_start_over as load_state_or_start_over,
    load_stamp as load_state_stamp, stamp_pickle, write as write_state, Stamp as StateStamp,
    StateError,
};

// Test support for other crates' unit tests.
#[doc(hidden)]
pub use dir_names::dir_names;
#[doc(hidden)]
pub use tar::read::members as tar_members;

#[cfg(test)]
mod test_support;
