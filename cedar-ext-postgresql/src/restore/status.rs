//! Recording a drill for monitoring: `cback-restore-drill.json` in working_dir and the
//! node_exporter textfile `cback-restore-drill.prom` beside cback's own textfile (cback
//! replaces `cback-status.json` and `cback.prom` on every run, so the drill keeps files of its
//! own), each replaced atomically.

use std::path::{Path, PathBuf};

use cedar_core::status::{write_atomically, StatusError};

use super::drill::Outcome;

pub const DRILL_STATUS_FILE: &str = "cback-restore-drill.json";
pub const DRILL_PROM_FILE: &str = "cback-restore-drill.prom";

/// The drill as written to the status file.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DrillStatus {
    /// End of the drill, seconds since the epoch.
    pub end: i64,
    pub success: bool,
    pub databases: Vec<Outcome>,
    pub cback_version: String,
}

/// Where the textfile goes: beside `<metrics_file>` when one is configured, else in
/// working_dir.
pub fn prom_path(working_dir: &Path, metrics_file: Option<&str>) -> PathBuf {
    match metrics_file.map(Path::new).and_then(Path::parent) {
        Some(dir) if !dir.as_os_str().is_empty() => dir.join(DRILL_PROM_FILE),
        _ => working_dir.join(DRILL_PROM_FILE),
    }
}

fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

pub fn prometheus_text(status: &DrillStatus) -> String {
    let mut out = String::from(
        "# HELP cback_restore_drill_success 1 if the last restore drill of the database passed, else 0.\n\
         # TYPE cback_restore_drill_success gauge\n",
    );
    for db in &status.databases {
        out.push_str(&format!(
            "cback_restore_drill_success{{database=\"{}\"}} {}\n",
            label(&db.database),
            u8::from(db.success)
        ));
    }
    out.push_str(&format!(
        "# HELP cback_restore_drill_timestamp_seconds End of the last restore drill.\n\
         # TYPE cback_restore_drill_timestamp_seconds gauge\n\
         cback_restore_drill_timestamp_seconds {}\n",
        status.end
    ));
    out
}

pub fn write(working_dir: &Path, prom: &Path, status: &DrillStatus) -> Result<(), StatusError> {
    let json = serde_json::to_string_pretty(status).unwrap_or_default();
    write_atomically(&working_dir.join(DRILL_STATUS_FILE), json.as_bytes())?;
    write_atomically(prom, prometheus_text(status).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_textfile_has_one_gauge_per_database_and_the_time() {
        let outcome = |db: &str, success| Outcome {
            database: db.into(),
            file: None,
            success,
            tables: 0,
            rows: 0,
            seconds: 0.0,
            error: None,
        };
        let text = prometheus_text(&DrillStatus {
            end: 1700000000,
            success: false,
            databases: vec![outcome("shop", true), outcome("a\"b", false)],
            cback_version: "x".into(),
        });
        assert!(
            text.contains("cback_restore_drill_success{database=\"shop\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("cback_restore_drill_success{database=\"a\\\"b\"} 0\n"),
            "{text}"
        );
        assert!(
            text.contains("cback_restore_drill_timestamp_seconds 1700000000\n"),
            "{text}"
        );
        assert_eq!(
            prom_path(Path::new("/w"), Some("/var/lib/ne/cback.prom")),
            PathBuf::from("/var/lib/ne/cback-restore-drill.prom")
        );
        assert_eq!(
            prom_path(Path::new("/w"), None),
            PathBuf::from("/w/cback-restore-drill.prom")
        );
    }
}
