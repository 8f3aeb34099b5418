//! Run status for monitoring: actions record per-item results while they run ([`record`]: one
//! [`DatabaseResult`] per dump, one [`PeerResult`] per staged peer, one [`UploadResult`] per
//! upload to object storage), and at the end of every run
//! (successful or not) the binary writes `cback-status.json` and a node_exporter textfile
//! (`cback.prom`) into working_dir, each replaced atomically. Each kind of result has its own
//! list in the JSON and its own gauge families in the textfile, labelled by the item's name.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// The status file's name inside working_dir.
pub const STATUS_FILE: &str = "cback-status.json";
/// The default textfile name inside working_dir.
pub const PROM_FILE: &str = "cback.prom";

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
    /// Discs written by store, rebuild, initialize (see [`crate::actions::store::record`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stored: Vec<crate::actions::store::record::StoredDisc>,
    #[serde(default)]
    pub uploads: Vec<UploadResult>,
    pub cback_version: String,
}

/// Errors from writing the status files.
#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    #[error("cannot write the status file {}: {source}; check that working_dir is writable", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Reads the previous run's status, if any.
pub fn read_previous(working_dir: &Path) -> Option<RunStatus> {
    let text = std::fs::read_to_string(working_dir.join(STATUS_FILE)).ok()?;
    serde_json::from_str(&text).ok()
}

/// Builds this run's status, carrying the last success over from the previous run.
pub fn finish_run(
    working_dir: &Path,
    start: i64,
    end: i64,
    actions: &[String],
    exit_code: i32,
) -> RunStatus {
    let last_success = if exit_code == 0 {
        Some(end)
    } else {
        read_previous(working_dir).and_then(|s| s.last_success)
    };
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
    RunStatus {
        start,
        end,
        actions: actions.to_vec(),
        exit_code,
        last_success,
        databases,
        peers,
        stored: crate::actions::store::record::recorded(),
        uploads,
        cback_version: env!("CARGO_PKG_VERSION").to_string(),
    }
}

/// Replaces `path` with `contents` atomically (temporary file in the same directory, fsync,
/// rename, directory fsync).
pub fn write_atomically(path: &Path, contents: &[u8]) -> Result<(), StatusError> {
    let fail = |source| StatusError::Write {
        path: path.to_path_buf(),
        source,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut temp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(fail)?;
    temp.write_all(contents).map_err(fail)?;
    temp.as_file().sync_all().map_err(fail)?;
    // Monitoring agents read these files; they hold no secrets.
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(temp.path(), std::fs::Permissions::from_mode(0o644))
            .map_err(fail)?;
    }
    temp.persist(path).map_err(|e| fail(e.error))?;
    crate::fsutil::sync_dir(dir).map_err(fail)?;
    Ok(())
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
    let dumps: Vec<&DatabaseResult> = status
        .databases
        .iter()
        .filter(|d| d.action == "postgresql")
        .collect();
    let peers: Vec<&PeerResult> = status.peers.iter().collect();
    fn database(d: &DatabaseResult) -> &str {
        &d.database
    }
    fn peer(p: &PeerResult) -> &str {
        &p.peer
    }
    let families_db = [
        Family {
            name: "cback_postgresql_dump_bytes",
            help: "Size of the last PostgreSQL dump file, per database.",
            label: "database",
            items: &dumps,
            key: database,
            value: |d| d.bytes.to_string(),
        },
        Family {
            name: "cback_postgresql_dump_success",
            help: "1 if the last PostgreSQL dump of the database succeeded, else 0.",
            label: "database",
            items: &dumps,
            key: database,
            value: |d| u8::from(d.success).to_string(),
        },
    ];
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
    for family in &families_db {
        metric(family.name, family.help, family.lines());
    }
    // The items of the other extensions (mysql, sysinfo, subversion, mbox), by action and item.
    let items: Vec<&DatabaseResult> = status
        .databases
        .iter()
        .filter(|d| d.action != "postgresql")
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
        out.push_str(&crate::actions::store::record::prometheus_text(
            &status.stored,
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
    write_atomically(&working_dir.join(STATUS_FILE), json.as_bytes())?;
    write_atomically(prom_path, prometheus_text(status).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

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
        }
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
            cback_version: "x".into(),
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
        let ok = finish_run(dir.path(), 1, 2, &["collect".into()], 0);
        assert_eq!(ok.last_success, Some(2));
        write_all(dir.path(), &dir.path().join(PROM_FILE), &ok).unwrap();
        let failed = finish_run(dir.path(), 3, 4, &["collect".into()], 6);
        assert_eq!(failed.last_success, Some(2));
        write_all(dir.path(), &dir.path().join(PROM_FILE), &failed).unwrap();
        let back = read_previous(dir.path()).unwrap();
        assert_eq!(back.exit_code, 6);
        assert_eq!(back.last_success, Some(2));
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty());
    }
}
