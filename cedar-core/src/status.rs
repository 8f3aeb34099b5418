//! Run status for monitoring: actions record per-item results while they run ([`record`]: one
//! [`DatabaseResult`] per dump, one [`PeerResult`] per staged peer, one [`UploadResult`] per
//! upload to object storage), and at the end of every run
//! (successful or not) the binary writes `cback-status.json` and a node_exporter textfile
//! (`cback.prom`) into working_dir, each replaced atomically. Each kind of result has its own
//! list in the JSON and its own gauge families in the textfile, labelled by the item's name.
//!
//! Restore drills (`cback-restore drill`) go into the same two files: the status carries a
//! `drills` list that a cback run keeps from the previous file ([`write_run`]), and a drill
//! keeps the previous run's entries and replaces only the drill ones ([`write_drills`]). Both
//! read, modify and write the files under the status lock (`cback-status.lock` in
//! working_dir, [`StatusLock`]), so that a drill and a cback run ending at the same moment do
//! not lose each other's entries.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use nix::fcntl::{Flock, FlockArg};

use serde::{Deserialize, Serialize};

/// The status file's name inside working_dir.
pub const STATUS_FILE: &str = "cback-status.json";
/// The default textfile name inside working_dir.
pub const PROM_FILE: &str = "cback.prom";
/// The lock guarding the read-modify-write of the status files, inside working_dir.
pub const STATUS_LOCK_FILE: &str = "cback-status.lock";

/// The result of dumping one database (or one `pg_dumpall`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatabaseResult {
    /// The action that made it, e.g. `postgresql`.
    pub action: String,
    /// The database name; `all` for a single pg_dumpall, `globals` for roles and tablespaces.
    pub database: String,
    /// The file written, when one was.
    pub file: Option<String>,
    /// Bytes the dump command produced.
    pub raw_bytes: u64,
    /// Bytes of the finished file.
    pub bytes: u64,
    pub success: bool,
    pub seconds: f64,
    pub error: Option<String>,
    /// What a reader of the file must know although the dump succeeded (e.g. "role passwords
    /// were left out").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// The result of staging one peer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeerResult {
    /// The action that staged it, `stage`.
    pub action: String,
    /// The peer's name.
    pub peer: String,
    /// Files put into the peer's staging directory by this run.
    pub files: u64,
    /// Their bytes.
    pub bytes: u64,
    /// False when the peer failed in a way that was not ignored.
    pub success: bool,
    /// The peer was not ready and `ignore_failures` says that is not an error.
    #[serde(default)]
    pub skipped: bool,
    pub seconds: f64,
    pub error: Option<String>,
}

/// The result of one upload of a directory to object storage (an amazons3 run, a sync).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UploadResult {
    /// The action or tool that uploaded, e.g. `amazons3`.
    pub action: String,
    /// Where it went, e.g. `s3://bucket/prefix/2026/03/04`.
    pub destination: String,
    /// The local directory uploaded.
    pub source: String,
    /// Objects written by this run.
    pub objects: u64,
    /// Their bytes, as sent.
    pub bytes: u64,
    /// Objects removed from the destination because the source no longer has them.
    #[serde(default)]
    pub removed: u64,
    pub success: bool,
    pub seconds: f64,
    pub error: Option<String>,
}

/// The result of the last restore drill of one database (`cback-restore drill`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DrillResult {
    /// The database; `all` when no database of a cluster-wide dump could be drilled (the
    /// dump was not found, could not be read, or holds none).
    pub database: String,
    /// The copy restored (a path, or `s3://bucket/key`), when one was chosen.
    pub file: Option<String>,
    pub success: bool,
    /// Tables and rows checked in the scratch database.
    pub tables: usize,
    pub rows: u64,
    pub seconds: f64,
    /// End of the drill, seconds since the epoch.
    pub end: i64,
    pub error: Option<String>,
}

/// The newest successful upload of a staged day to object storage, kept across the runs that
/// upload nothing (for `cback status`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CopyRecord {
    /// Where it went, e.g. `s3://bucket/prefix/2026/03/04`.
    pub destination: String,
    /// End of the run that uploaded it, seconds since the epoch.
    pub end: i64,
}

/// How many runs with dumps the status history keeps.
pub const HISTORY_RUNS: usize = 14;

/// One dump's uncompressed size, as the status history keeps it (see [`crate::shrink`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DumpSize {
    pub action: String,
    pub database: String,
    pub raw_bytes: u64,
    /// Its tables, when the action counted them ([`record_dump_stats`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tables: Option<u64>,
    /// The server's row-count estimate of its tables, summed (PostgreSQL's `reltuples`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
}

/// The tables and estimated rows of one dumped database, as an action counted them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DumpStats {
    pub tables: u64,
    pub rows: u64,
}

static DUMP_STATS: Mutex<Vec<(String, String, DumpStats)>> = Mutex::new(Vec::new());

/// Records the tables and rows of a database an action dumped in this run; the status history
/// keeps them beside the dump's size.
pub fn record_dump_stats(action: &str, database: &str, stats: DumpStats) {
    DUMP_STATS.lock().unwrap_or_else(|e| e.into_inner()).push((
        action.to_string(),
        database.to_string(),
        stats,
    ));
}

fn recorded_dump_stats(action: &str, database: &str) -> Option<DumpStats> {
    DUMP_STATS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .rev()
        .find(|(a, d, _)| a == action && d == database)
        .map(|(_, _, stats)| *stats)
}

/// The successful dumps of one run, in the status history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DumpHistory {
    /// End of the run, seconds since the epoch.
    pub end: i64,
    pub dumps: Vec<DumpSize>,
}

/// One recorded result.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    Database(DatabaseResult),
    Peer(PeerResult),
    Upload(UploadResult),
}

impl From<UploadResult> for Record {
    fn from(result: UploadResult) -> Self {
        Record::Upload(result)
    }
}

impl From<DatabaseResult> for Record {
    fn from(result: DatabaseResult) -> Self {
        Record::Database(result)
    }
}

impl From<PeerResult> for Record {
    fn from(result: PeerResult) -> Self {
        Record::Peer(result)
    }
}

static RESULTS: Mutex<Vec<Record>> = Mutex::new(Vec::new());
static WARNINGS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// At most this many warnings of a run are kept in its status (the log has them all).
pub const MAX_WARNINGS: usize = 50;

/// Records a warning the run logged (the logger calls it for every warning), keeping the first
/// [`MAX_WARNINGS`], each clipped to a line of at most 500 characters.
pub fn record_warning(message: &str) {
    let mut warnings = WARNINGS.lock().unwrap_or_else(|e| e.into_inner());
    if warnings.len() < MAX_WARNINGS {
        let line = message.lines().next().unwrap_or_default();
        let clipped: String = line.chars().take(500).collect();
        warnings.push(clipped);
    }
}

/// The warnings recorded so far in this process, in order.
pub fn recorded_warnings() -> Vec<String> {
    WARNINGS.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// Records one result (called by actions while they run).
pub fn record(result: impl Into<Record>) {
    RESULTS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(result.into());
}

/// Every result recorded so far in this process, in order.
pub fn recorded() -> Vec<Record> {
    RESULTS.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// The whole run, as written to `cback-status.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunStatus {
    /// Seconds since the epoch.
    pub start: i64,
    pub end: i64,
    pub actions: Vec<String>,
    pub exit_code: i32,
    /// The end of the last run that exited 0 (this one or an earlier one).
    pub last_success: Option<i64>,
    #[serde(default)]
    pub databases: Vec<DatabaseResult>,
    #[serde(default)]
    pub peers: Vec<PeerResult>,
    /// Discs written by store, rebuild, initialize (see [`crate::disc_record`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stored: Vec<crate::disc_record::StoredDisc>,
    #[serde(default)]
    pub uploads: Vec<UploadResult>,
    /// The last restore drill, kept across cback runs.
    #[serde(default)]
    pub drills: Vec<DrillResult>,
    pub cback_version: String,
    /// One id per cback run, also given to its hooks as `CBACK_RUN_ID`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// Why the run failed, as the log words it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The warnings the run logged (the first [`MAX_WARNINGS`]).
    #[serde(default)]
    pub warnings: Vec<String>,
    /// The newest successful upload to object storage, kept across runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub newest_copy: Option<CopyRecord>,
    /// The successful dumps of the last [`HISTORY_RUNS`] runs that made any, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<DumpHistory>,
}

/// How a cback run ended, as its status records it.
#[derive(Debug, Clone, Copy)]
pub struct RunEnd<'a> {
    /// Seconds since the epoch.
    pub start: i64,
    pub end: i64,
    pub actions: &'a [String],
    pub exit_code: i32,
    pub run_id: Option<&'a str>,
    /// The error that failed the run, when it failed.
    pub error: Option<&'a str>,
}

impl RunStatus {
    /// A status without any cback run yet (what a drill writes when it comes first).
    pub fn no_run() -> RunStatus {
        RunStatus {
            start: 0,
            end: 0,
            actions: Vec::new(),
            exit_code: 0,
            last_success: None,
            databases: Vec::new(),
            peers: Vec::new(),
            stored: Vec::new(),
            uploads: Vec::new(),
            drills: Vec::new(),
            cback_version: env!("CARGO_PKG_VERSION").to_string(),
            run_id: None,
            error: None,
            warnings: Vec::new(),
            newest_copy: None,
            history: Vec::new(),
        }
    }

    /// Whether a cback run wrote it (and not only a drill).
    pub fn has_run(&self) -> bool {
        !(self.actions.is_empty() && self.start == 0 && self.end == 0)
    }
}

/// Errors from writing the status files.
#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    #[error("cannot write the status file {}: {source}; check that working_dir is writable", path.display())]
    Replace {
        path: PathBuf,
        #[source]
        source: Box<crate::atomic::AtomicError>,
    },
    #[error("cannot lock the status files with {}: {source}; check that working_dir is writable", path.display())]
    Lock {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The held status lock: an exclusive `flock` on `WORKING_DIR/cback-status.lock`, taken for the
/// moment of a read-modify-write of the status files (waiting for another holder) and released
/// when dropped, or by the kernel when the process ends.
#[derive(Debug)]
pub struct StatusLock {
    _lock: Flock<File>,
}

impl StatusLock {
    /// Takes the lock, waiting while another process holds it.
    pub fn acquire(working_dir: &Path) -> Result<StatusLock, StatusError> {
        let path = working_dir.join(STATUS_LOCK_FILE);
        let fail = |source| StatusError::Lock {
            path: path.clone(),
            source,
        };
        let file = crate::lock::open_lock_file(&path).map_err(fail)?;
        let lock = Flock::lock(file, FlockArg::LockExclusive)
            .map_err(|(_, errno)| fail(std::io::Error::from(errno)))?;
        Ok(StatusLock { _lock: lock })
    }
}

/// Where the textfile goes: `<options><metrics_file>` when set, else `cback.prom` in
/// working_dir.
pub fn prom_path(working_dir: &Path, metrics_file: Option<&str>) -> PathBuf {
    metrics_file
        .map(PathBuf::from)
        .unwrap_or_else(|| working_dir.join(PROM_FILE))
}

/// Where the status file of `working_dir` is.
pub fn status_path(working_dir: &Path) -> PathBuf {
    working_dir.join(STATUS_FILE)
}

/// Why a status file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("there is no status file {}: cback has not finished a run with this working_dir yet, or working_dir is not the one the runs use", path.display())]
    Missing { path: PathBuf },
    #[error("cannot read the status file {}: {source}; check its permissions", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the status file {} is not a cback status: {source}; the next cback run replaces it", path.display())]
    Parse {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

/// Reads a status file.
pub fn read(path: &Path) -> Result<RunStatus, ReadError> {
    let text = std::fs::read_to_string(path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            ReadError::Missing {
                path: path.to_path_buf(),
            }
        } else {
            ReadError::Read {
                path: path.to_path_buf(),
                source,
            }
        }
    })?;
    serde_json::from_str(&text).map_err(|source| ReadError::Parse {
        path: path.to_path_buf(),
        source,
    })
}

/// Reads the previous run's status, if any.
pub fn read_previous(working_dir: &Path) -> Option<RunStatus> {
    read(&status_path(working_dir)).ok()
}

/// Builds this run's status, carrying the last success, the drills and the newest copy over
/// from the previous run.
pub fn finish_run(working_dir: &Path, run: &RunEnd<'_>) -> RunStatus {
    let RunEnd {
        start,
        end,
        actions,
        exit_code,
        ..
    } = *run;
    let previous = read_previous(working_dir);
    let last_success = if exit_code == 0 {
        Some(end)
    } else {
        previous.as_ref().and_then(|s| s.last_success)
    };
    let previous_copy = previous.as_ref().and_then(|s| s.newest_copy.clone());
    let mut history = previous
        .as_ref()
        .map(|s| s.history.clone())
        .unwrap_or_default();
    let drills = previous.map(|s| s.drills).unwrap_or_default();
    let mut databases = Vec::new();
    let mut peers = Vec::new();
    let mut uploads = Vec::new();
    for record in recorded() {
        match record {
            Record::Database(r) => databases.push(r),
            Record::Peer(r) => peers.push(r),
            Record::Upload(r) => uploads.push(r),
        }
    }
    let dumps: Vec<DumpSize> = databases
        .iter()
        .filter(|d| d.success)
        .map(|d| {
            let stats = recorded_dump_stats(&d.action, &d.database);
            DumpSize {
                action: d.action.clone(),
                database: d.database.clone(),
                raw_bytes: d.raw_bytes,
                tables: stats.map(|s| s.tables),
                rows: stats.map(|s| s.rows),
            }
        })
        .collect();
    if !dumps.is_empty() {
        history.push(DumpHistory { end, dumps });
        let excess = history.len().saturating_sub(HISTORY_RUNS);
        history.drain(..excess);
    }
    let newest_copy = uploads
        .iter()
        .rev()
        .find(|u| u.success)
        .map(|u| CopyRecord {
            destination: u.destination.clone(),
            end,
        })
        .or(previous_copy);
    RunStatus {
        start,
        end,
        actions: actions.to_vec(),
        exit_code,
        last_success,
        databases,
        peers,
        stored: crate::disc_record::recorded(),
        uploads,
        drills,
        cback_version: env!("CARGO_PKG_VERSION").to_string(),
        run_id: run.run_id.map(str::to_string),
        error: run.error.map(str::to_string),
        warnings: recorded_warnings(),
        newest_copy,
        history,
    }
}

/// Ends a cback run: under the status lock, builds its status (keeping the previous file's
/// last success and drills, see [`finish_run`]) and writes both files.
pub fn write_run(
    working_dir: &Path,
    prom_path: &Path,
    run: &RunEnd<'_>,
) -> Result<RunStatus, StatusError> {
    let _lock = StatusLock::acquire(working_dir)?;
    let status = finish_run(working_dir, run);
    write_all(working_dir, prom_path, &status)?;
    Ok(status)
}

/// Records a drill: under the status lock, the previous status (or [`RunStatus::no_run`])
/// with its drill entries replaced by `drills`, written to both files.
pub fn write_drills(
    working_dir: &Path,
    prom_path: &Path,
    drills: Vec<DrillResult>,
) -> Result<RunStatus, StatusError> {
    let _lock = StatusLock::acquire(working_dir)?;
    let mut status = read_previous(working_dir).unwrap_or_else(RunStatus::no_run);
    status.drills = drills;
    write_all(working_dir, prom_path, &status)?;
    Ok(status)
}

/// Replaces `path` with `contents` atomically ([`crate::atomic::replace_file`]), mode 0644:
/// monitoring agents read these files, which hold no secrets.
pub fn write_atomically(path: &Path, contents: &[u8]) -> Result<(), StatusError> {
    crate::atomic::replace_file(path, contents, crate::atomic::Mode::Exact(0o644))
        .map(|_| ())
        .map_err(|source| StatusError::Replace {
            path: path.to_path_buf(),
            source: Box::new(source),
        })
}

/// Escapes a Prometheus label value.
fn label(value: &str) -> String {
    value
        .replace('\\', r"\\")
        .replace('"', "\\\"")
        .replace('\n', r"\n")
}

/// One gauge family of the textfile: per-item samples labelled `label="NAME"`.
struct Family<'a, T> {
    name: &'static str,
    help: &'static str,
    label: &'static str,
    items: &'a [&'a T],
    key: fn(&T) -> &str,
    value: fn(&T) -> String,
}

impl<T> Family<'_, T> {
    fn lines(&self) -> Vec<String> {
        self.items
            .iter()
            .map(|item| {
                format!(
                    "{}{{{}=\"{}\"}} {}",
                    self.name,
                    self.label,
                    label((self.key)(item)),
                    (self.value)(item)
                )
            })
            .collect()
    }
}

/// One gauge family an action writes for its own results ([`DatabaseResult`]s whose `action`
/// is the action's), labelled `label="ITEM"` with the result's item (`database`).
#[derive(Debug)]
pub struct ResultFamily {
    pub name: &'static str,
    pub help: &'static str,
    /// The label naming the item, e.g. `database`.
    pub label: &'static str,
    pub value: fn(&DatabaseResult) -> String,
}

/// The gauge families an action contributes to the textfile for its own results, in place of
/// the generic `cback_extension_item_*` families. They are written on every run of a binary
/// that links the action (with no samples when it recorded nothing), right after the run's
/// own gauges. Submit one with `inventory::submit!` beside the action's registration.
#[derive(Debug)]
pub struct ResultMetrics {
    /// The action whose results these families describe, e.g. `postgresql`.
    pub action: &'static str,
    pub families: &'static [ResultFamily],
}

inventory::collect!(ResultMetrics);

/// Every action's own result families linked into this binary, by action name.
fn result_metrics() -> Vec<&'static ResultMetrics> {
    let mut all: Vec<&'static ResultMetrics> =
        inventory::iter::<ResultMetrics>.into_iter().collect();
    all.sort_by_key(|m| m.action);
    all
}

/// The node_exporter textfile for a run.
pub fn prometheus_text(status: &RunStatus) -> String {
    let mut out = String::new();
    let mut metric = |name: &str, help: &str, lines: Vec<String>| {
        out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} gauge\n"));
        for line in lines {
            out.push_str(&line);
            out.push('\n');
        }
    };
    if status.has_run() {
        metric(
            "cback_last_run_timestamp_seconds",
            "End of the last cback run, successful or not.",
            vec![format!("cback_last_run_timestamp_seconds {}", status.end)],
        );
        metric(
            "cback_last_success_timestamp_seconds",
            "End of the last cback run that exited 0 (0 if none is known).",
            vec![format!(
                "cback_last_success_timestamp_seconds {}",
                status.last_success.unwrap_or(0)
            )],
        );
        metric(
            "cback_run_exit_code",
            "Exit status of the last cback run.",
            vec![format!("cback_run_exit_code {}", status.exit_code)],
        );
        metric(
            "cback_run_warnings",
            "Warnings the last cback run logged (counted up to 50).",
            vec![format!("cback_run_warnings {}", status.warnings.len())],
        );
    }
    let owned = result_metrics();
    let peers: Vec<&PeerResult> = status.peers.iter().collect();
    fn database(d: &DatabaseResult) -> &str {
        &d.database
    }
    fn peer(p: &PeerResult) -> &str {
        &p.peer
    }
    let families_peer = [
        Family {
            name: "cback_stage_peer_files",
            help: "Files the last stage run put into the peer's staging directory.",
            label: "peer",
            items: &peers,
            key: peer,
            value: |p| p.files.to_string(),
        },
        Family {
            name: "cback_stage_peer_bytes",
            help: "Bytes the last stage run put into the peer's staging directory.",
            label: "peer",
            items: &peers,
            key: peer,
            value: |p| p.bytes.to_string(),
        },
        Family {
            name: "cback_stage_peer_success",
            help: "1 if the last stage of the peer succeeded (or its failure is ignored), else 0.",
            label: "peer",
            items: &peers,
            key: peer,
            value: |p| u8::from(p.success).to_string(),
        },
    ];
    let uploads: Vec<&UploadResult> = status.uploads.iter().collect();
    fn destination(u: &UploadResult) -> &str {
        &u.destination
    }
    let families_upload = [
        Family {
            name: "cback_upload_objects",
            help: "Objects the last upload to the destination wrote.",
            label: "destination",
            items: &uploads,
            key: destination,
            value: |u| u.objects.to_string(),
        },
        Family {
            name: "cback_upload_bytes",
            help: "Bytes the last upload to the destination sent.",
            label: "destination",
            items: &uploads,
            key: destination,
            value: |u| u.bytes.to_string(),
        },
        Family {
            name: "cback_upload_seconds",
            help: "Duration of the last upload to the destination.",
            label: "destination",
            items: &uploads,
            key: destination,
            value: |u| format!("{:.3}", u.seconds),
        },
        Family {
            name: "cback_upload_success",
            help: "1 if the last upload to the destination succeeded and was verified, else 0.",
            label: "destination",
            items: &uploads,
            key: destination,
            value: |u| u8::from(u.success).to_string(),
        },
    ];
    for metrics in &owned {
        let results: Vec<&DatabaseResult> = status
            .databases
            .iter()
            .filter(|d| d.action == metrics.action)
            .collect();
        for family in metrics.families {
            let family = Family {
                name: family.name,
                help: family.help,
                label: family.label,
                items: &results,
                key: database,
                value: family.value,
            };
            metric(family.name, family.help, family.lines());
        }
    }
    // The items of the actions without families of their own (mysql, sysinfo, subversion,
    // mbox), by action and item.
    let items: Vec<&DatabaseResult> = status
        .databases
        .iter()
        .filter(|d| !owned.iter().any(|m| m.action == d.action))
        .collect();
    if !items.is_empty() {
        let item_lines = |value: fn(&DatabaseResult) -> String| -> Vec<String> {
            items
                .iter()
                .map(|d| {
                    format!(
                        "{{action=\"{}\",item=\"{}\"}} {}",
                        label(&d.action),
                        label(&d.database),
                        value(d)
                    )
                })
                .collect()
        };
        let bytes = item_lines(|d| d.bytes.to_string());
        let success = item_lines(|d| u8::from(d.success).to_string());
        for (name, help, lines) in [
            (
                "cback_extension_item_bytes",
                "Size of the file the last run of an extension wrote for the item.",
                bytes,
            ),
            (
                "cback_extension_item_success",
                "1 if the last run of the extension succeeded for the item, else 0.",
                success,
            ),
        ] {
            metric(
                name,
                help,
                lines.into_iter().map(|l| format!("{name}{l}")).collect(),
            );
        }
    }
    if !peers.is_empty() {
        for family in &families_peer {
            metric(family.name, family.help, family.lines());
        }
    }
    if !uploads.is_empty() {
        for family in &families_upload {
            metric(family.name, family.help, family.lines());
        }
    }
    if !status.stored.is_empty() {
        out.push_str(&crate::disc_record::prometheus_text(&status.stored));
    }
    if !status.drills.is_empty() {
        let drills: Vec<&DrillResult> = status.drills.iter().collect();
        let success = Family {
            name: "cback_restore_drill_success",
            help: "1 if the last restore drill of the database passed, else 0.",
            label: "database",
            items: &drills,
            key: |d: &DrillResult| d.database.as_str(),
            value: |d| u8::from(d.success).to_string(),
        };
        out.push_str(&format!(
            "# HELP {0} {1}\n# TYPE {0} gauge\n",
            success.name, success.help
        ));
        for line in success.lines() {
            out.push_str(&line);
            out.push('\n');
        }
        let end = status.drills.iter().map(|d| d.end).max().unwrap_or(0);
        out.push_str(&format!(
            "# HELP cback_restore_drill_timestamp_seconds End of the last restore drill.\n\
             # TYPE cback_restore_drill_timestamp_seconds gauge\n\
             cback_restore_drill_timestamp_seconds {end}\n"
        ));
    }
    out
}

/// Writes `cback-status.json` into working_dir and the textfile to `prom_path`.
pub fn write_all(
    working_dir: &Path,
    prom_path: &Path,
    status: &RunStatus,
) -> Result<(), StatusError> {
    let json = serde_json::to_string_pretty(status).unwrap_or_default();
    write_atomically(&status_path(working_dir), json.as_bytes())?;
    write_atomically(prom_path, prometheus_text(status).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Stands in for the postgresql extension's own families (the extension submits the real
    /// ones; the kernel does not link it): the tests below check that an action's families
    /// take its results out of the generic extension items.
    static DUMP_FAMILIES: [ResultFamily; 2] = [
        ResultFamily {
            name: "cback_postgresql_dump_bytes",
            help: "Size of the last dump file, per database.",
            label: "database",
            value: |d| d.bytes.to_string(),
        },
        ResultFamily {
            name: "cback_postgresql_dump_success",
            help: "1 if the last dump of the database succeeded, else 0.",
            label: "database",
            value: |d| u8::from(d.success).to_string(),
        },
    ];

    inventory::submit! {
        ResultMetrics { action: "postgresql", families: &DUMP_FAMILIES }
    }

    fn result(db: &str, success: bool) -> DatabaseResult {
        DatabaseResult {
            action: "postgresql".into(),
            database: db.into(),
            file: Some(format!("postgresqldump-{db}.txt.gz")),
            raw_bytes: 100,
            bytes: 40,
            success,
            seconds: 0.5,
            error: (!success).then(|| "boom".into()),
            warnings: Vec::new(),
        }
    }

    /// `warnings` is written only when there are some, and a file without it still reads.
    #[test]
    fn warnings_are_additive() {
        let plain = serde_json::to_string(&result("shop", true)).unwrap();
        assert!(!plain.contains("warnings"), "{plain}");
        let back: DatabaseResult = serde_json::from_str(&plain).unwrap();
        assert_eq!(back, result("shop", true));
        let warned = DatabaseResult {
            warnings: vec!["role passwords were left out".into()],
            ..result("globals", true)
        };
        let text = serde_json::to_string(&warned).unwrap();
        assert!(
            text.contains(r#""warnings":["role passwords were left out"]"#),
            "{text}"
        );
        assert_eq!(
            serde_json::from_str::<DatabaseResult>(&text).unwrap(),
            warned
        );
    }

    #[test]
    fn prometheus_text_has_every_metric_and_escapes_labels() {
        let status = RunStatus {
            start: 10,
            end: 20,
            actions: vec!["postgresql".into()],
            exit_code: 6,
            last_success: Some(5),
            databases: vec![result("good", true), result("we\"ird\\db", false)],
            peers: vec![PeerResult {
                action: "stage".into(),
                peer: "host-1".into(),
                files: 3,
                bytes: 1234,
                success: false,
                skipped: false,
                seconds: 1.5,
                error: Some("scp failed".into()),
            }],
            stored: Vec::new(),
            drills: Vec::new(),
            uploads: vec![UploadResult {
                action: "amazons3".into(),
                destination: "s3://bucket/2026/03/04".into(),
                source: "/stage/2026/03/04".into(),
                objects: 2,
                bytes: 99,
                removed: 1,
                success: true,
                seconds: 1.25,
                error: None,
            }],
            cback_version: "x".into(),
            ..RunStatus::no_run()
        };
        let text = prometheus_text(&status);
        assert!(text.contains("cback_last_run_timestamp_seconds 20\n"));
        assert!(text.contains("cback_last_success_timestamp_seconds 5\n"));
        assert!(text.contains("cback_run_exit_code 6\n"));
        assert!(text.contains("cback_postgresql_dump_bytes{database=\"good\"} 40\n"));
        assert!(text.contains("cback_postgresql_dump_success{database=\"good\"} 1\n"));
        assert!(text.contains("cback_postgresql_dump_success{database=\"we\\\"ird\\\\db\"} 0\n"));
        assert!(text.contains("cback_stage_peer_files{peer=\"host-1\"} 3\n"));
        assert!(text.contains("cback_stage_peer_bytes{peer=\"host-1\"} 1234\n"));
        assert!(text.contains("cback_stage_peer_success{peer=\"host-1\"} 0\n"));
        assert!(text.contains("# TYPE cback_stage_peer_success gauge\n"));
        let dest = "{destination=\"s3://bucket/2026/03/04\"}";
        assert!(text.contains(&format!("cback_upload_objects{dest} 2\n")));
        assert!(text.contains(&format!("cback_upload_bytes{dest} 99\n")));
        assert!(text.contains(&format!("cback_upload_seconds{dest} 1.250\n")));
        assert!(text.contains(&format!("cback_upload_success{dest} 1\n")));
        assert!(!text.contains("cback_extension_item"));
    }

    #[test]
    fn other_extensions_get_their_own_families() {
        let mut item = result("/srv/svn/a", false);
        item.action = "subversion".into();
        let status = RunStatus {
            start: 1,
            end: 2,
            actions: vec!["subversion".into()],
            exit_code: 6,
            last_success: None,
            databases: vec![result("shop", true), item],
            peers: Vec::new(),
            stored: Vec::new(),
            uploads: Vec::new(),
            drills: Vec::new(),
            cback_version: "x".into(),
            ..RunStatus::no_run()
        };
        let text = prometheus_text(&status);
        assert!(text.contains(
            "cback_extension_item_success{action=\"subversion\",item=\"/srv/svn/a\"} 0\n"
        ));
        assert!(text.contains(
            "cback_extension_item_bytes{action=\"subversion\",item=\"/srv/svn/a\"} 40\n"
        ));
        assert!(!text.contains("cback_postgresql_dump_success{database=\"/srv/svn/a\"}"));
        assert!(text.contains("cback_postgresql_dump_success{database=\"shop\"} 1\n"));
    }

    #[test]
    fn last_success_is_carried_over_a_failed_run() {
        let dir = tempfile::tempdir().unwrap();
        let actions = ["collect".to_string()];
        let end = |start, end, exit_code| RunEnd {
            start,
            end,
            actions: &actions,
            exit_code,
            run_id: Some("r1"),
            error: (exit_code != 0).then_some("action collect failed: boom"),
        };
        let ok = finish_run(dir.path(), &end(1, 2, 0));
        assert_eq!(ok.last_success, Some(2));
        write_all(dir.path(), &dir.path().join(PROM_FILE), &ok).unwrap();
        let failed = finish_run(dir.path(), &end(3, 4, 6));
        assert_eq!(failed.last_success, Some(2));
        write_all(dir.path(), &dir.path().join(PROM_FILE), &failed).unwrap();
        let back = read_previous(dir.path()).unwrap();
        assert_eq!(back.exit_code, 6);
        assert_eq!(back.last_success, Some(2));
        assert_eq!(back.run_id.as_deref(), Some("r1"));
        assert_eq!(back.error.as_deref(), Some("action collect failed: boom"));
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty());
    }

    fn drill(db: &str, success: bool, end: i64) -> DrillResult {
        DrillResult {
            database: db.into(),
            file: Some(format!("/c/postgresqldump-{db}.txt.gz")),
            success,
            tables: 2,
            rows: 7,
            seconds: 0.25,
            end,
            error: (!success).then(|| "cut short".into()),
        }
    }

    #[test]
    fn drills_survive_runs_and_runs_survive_drills() {
        let dir = tempfile::tempdir().unwrap();
        let prom = dir.path().join(PROM_FILE);
        // A drill before any run: its gauges, and no run gauges pretending a run exited 0.
        let first = write_drills(dir.path(), &prom, vec![drill("shop", true, 50)]).unwrap();
        assert!(!first.has_run());
        let text = std::fs::read_to_string(&prom).unwrap();
        assert!(
            text.contains("cback_restore_drill_success{database=\"shop\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("cback_restore_drill_timestamp_seconds 50\n"),
            "{text}"
        );
        assert!(!text.contains("cback_run_exit_code"), "{text}");

        // A run keeps the drill.
        record(result("shop", true));
        let actions = ["postgresql".to_string()];
        let end = RunEnd {
            start: 60,
            end: 70,
            actions: &actions,
            exit_code: 0,
            run_id: None,
            error: None,
        };
        let run = write_run(dir.path(), &prom, &end).unwrap();
        assert_eq!(run.drills, vec![drill("shop", true, 50)]);
        let text = std::fs::read_to_string(&prom).unwrap();
        assert!(text.contains("cback_run_exit_code 0\n"), "{text}");
        assert!(
            text.contains("cback_restore_drill_success{database=\"shop\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("cback_postgresql_dump_success{database=\"shop\"} 1\n"),
            "{text}"
        );

        // A drill keeps the run and replaces only the drill entries.
        write_drills(
            dir.path(),
            &prom,
            vec![drill("shop", false, 80), drill("inventory", true, 81)],
        )
        .unwrap();
        let back = read_previous(dir.path()).unwrap();
        assert_eq!((back.start, back.end, back.exit_code), (60, 70, 0));
        assert_eq!(back.actions, vec!["postgresql".to_string()]);
        assert!(back.databases.iter().any(|d| d.database == "shop"));
        assert_eq!(back.drills.len(), 2);
        let text = std::fs::read_to_string(&prom).unwrap();
        assert!(
            text.contains("cback_restore_drill_success{database=\"shop\"} 0\n"),
            "{text}"
        );
        assert!(
            text.contains("cback_restore_drill_success{database=\"inventory\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("cback_restore_drill_timestamp_seconds 81\n"),
            "{text}"
        );
        assert!(
            text.contains("cback_last_run_timestamp_seconds 70\n"),
            "{text}"
        );
        assert_eq!(
            text.matches("# TYPE cback_restore_drill_success gauge")
                .count(),
            1
        );
    }

    #[test]
    fn the_newest_copy_is_kept_over_runs_that_upload_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut status = RunStatus::no_run();
        status.newest_copy = Some(CopyRecord {
            destination: "s3://b/2026/03/04".into(),
            end: 40,
        });
        write_all(dir.path(), &dir.path().join(PROM_FILE), &status).unwrap();
        let actions = ["collect".to_string()];
        let run = finish_run(
            dir.path(),
            &RunEnd {
                start: 50,
                end: 60,
                actions: &actions,
                exit_code: 0,
                run_id: None,
                error: None,
            },
        );
        assert_eq!(run.newest_copy, status.newest_copy);
    }

    #[test]
    fn warnings_are_kept_up_to_the_limit_each_one_line() {
        // The recorder is process-wide: other tests may add theirs, never past the limit.
        record_warning("first line of a warning\nsecond line");
        for _ in 0..MAX_WARNINGS + 5 {
            record_warning(&"x".repeat(900));
        }
        let warnings = recorded_warnings();
        assert_eq!(warnings.len(), MAX_WARNINGS);
        assert!(warnings.contains(&"first line of a warning".to_string()));
        assert!(warnings
            .iter()
            .all(|w| w.chars().count() <= 500 && !w.contains('\n')));
        let mut status = RunStatus::no_run();
        status.start = 1;
        status.warnings = warnings;
        let text = prometheus_text(&status);
        assert!(
            text.contains(&format!("cback_run_warnings {MAX_WARNINGS}\n")),
            "{text}"
        );
    }

    #[test]
    fn the_history_keeps_the_successful_dumps_of_the_last_runs() {
        let dir = tempfile::tempdir().unwrap();
        let mut status = RunStatus::no_run();
        status.history = (0..HISTORY_RUNS as i64)
            .map(|end| DumpHistory {
                end,
                dumps: Vec::new(),
            })
            .collect();
        write_all(dir.path(), &dir.path().join(PROM_FILE), &status).unwrap();
        record(result("history-good", true));
        record_dump_stats(
            "postgresql",
            "history-good",
            DumpStats {
                tables: 3,
                rows: 70,
            },
        );
        record(result("history-bad", false));
        let actions = ["postgresql".to_string()];
        let run = finish_run(
            dir.path(),
            &RunEnd {
                start: 99,
                end: 100,
                actions: &actions,
                exit_code: 6,
                run_id: None,
                error: None,
            },
        );
        assert_eq!(run.history.len(), HISTORY_RUNS);
        assert_eq!(run.history[0].end, 1);
        let last = run.history.last().unwrap();
        assert_eq!(last.end, 100);
        assert!(last.dumps.iter().any(|d| d.database == "history-good"
            && d.raw_bytes == 100
            && d.tables == Some(3)
            && d.rows == Some(70)));
        assert!(!last.dumps.iter().any(|d| d.database == "history-bad"));
    }

    #[test]
    fn a_missing_or_broken_status_file_says_which() {
        let dir = tempfile::tempdir().unwrap();
        let path = status_path(dir.path());
        assert!(matches!(read(&path), Err(ReadError::Missing { .. })));
        std::fs::write(&path, "{not json").unwrap();
        let err = read(&path).unwrap_err();
        assert!(matches!(err, ReadError::Parse { .. }), "{err}");
        assert!(err.to_string().contains("cback-status.json"), "{err}");
    }

    #[test]
    fn the_status_lock_waits_for_its_holder() {
        let dir = tempfile::tempdir().unwrap();
        let held = StatusLock::acquire(dir.path()).unwrap();
        let path = dir.path().to_path_buf();
        let (tx, rx) = std::sync::mpsc::channel();
        let waiter = std::thread::spawn(move || {
            let _lock = StatusLock::acquire(&path).unwrap();
            tx.send(()).unwrap();
        });
        // flock locks belong to the open file: a second open in this process waits too.
        assert!(rx
            .recv_timeout(std::time::Duration::from_millis(300))
            .is_err());
        drop(held);
        rx.recv_timeout(std::time::Duration::from_secs(5)).unwrap();
        waiter.join().unwrap();
        let err = StatusLock::acquire(Path::new("/nonexistent/cback-wd")).unwrap_err();
        assert!(err.to_string().contains("cback-status.lock"), "{err}");
    }
}
