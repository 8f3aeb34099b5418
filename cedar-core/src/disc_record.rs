//! What store, rebuild, initialize and span wrote, for `cback-status.json` and the metrics
//! textfile: one record per disc written (or attempted).

use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// One disc written, or attempted, in this run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredDisc {
    /// `store`, `rebuild`, `initialize` or `span`.
    pub action: String,
    /// The media type, e.g. `cdrw-74`.
    pub media: String,
    pub device: String,
    /// The volume label, when one was written.
    pub label: Option<String>,
    /// Whether the disc was started afresh (blanked, or `growisofs -Z`).
    pub new_disc: bool,
    /// The image's size in bytes (estimated for a DVD); 0 when nothing was written.
    pub bytes: u64,
    /// The daily directories on the disc.
    pub directories: Vec<String>,
    /// Whether check_data compared the disc and found it equal.
    pub verified: bool,
    pub success: bool,
    pub error: Option<String>,
    /// Seconds since the epoch when the action finished with this disc.
    pub finished: i64,
}

static DISCS: Mutex<Vec<StoredDisc>> = Mutex::new(Vec::new());

/// Records one disc.
pub fn record(disc: StoredDisc) {
    DISCS.lock().unwrap_or_else(|e| e.into_inner()).push(disc);
}

/// Every disc recorded so far in this process.
pub fn recorded() -> Vec<StoredDisc> {
    DISCS.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

fn label(value: &str) -> String {
    value
        .replace('\\', r"\\")
        .replace('"', "\\\"")
        .replace('\n', r"\n")
}

/// A metric: name, help text, value of one disc.
type Metric = (&'static str, &'static str, fn(&StoredDisc) -> String);

/// The textfile lines for the discs of a run: the last disc of each action.
pub fn prometheus_text(discs: &[StoredDisc]) -> String {
    let mut last: Vec<&StoredDisc> = Vec::new();
    for disc in discs {
        match last.iter_mut().find(|d| d.action == disc.action) {
            Some(slot) => *slot = disc,
            None => last.push(disc),
        }
    }
    let mut out = String::new();
    let metrics: [Metric; 4] = [
        (
            "cback_store_bytes",
            "Size of the last image written to disc, per action.",
            |d| d.bytes.to_string(),
        ),
        (
            "cback_store_directories",
            "Daily directories on the last disc written, per action.",
            |d| d.directories.len().to_string(),
        ),
        (
            "cback_store_success",
            "1 if the last disc of the action was written (and verified with check_data), else 0.",
            |d| u8::from(d.success).to_string(),
        ),
        (
            "cback_store_timestamp_seconds",
            "When the last disc of the action was finished.",
            |d| d.finished.to_string(),
        ),
    ];
    for (name, help, value) in metrics {
        out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} gauge\n"));
        for d in &last {
            out.push_str(&format!(
                "{name}{{action=\"{}\",media=\"{}\"}} {}\n",
                label(&d.action),
                label(&d.media),
                value(d)
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_disc_per_action() {
        let disc = |action: &str, bytes, success| StoredDisc {
            action: action.into(),
            media: "cdrw-74".into(),
            device: "/dev/cdrw".into(),
            label: None,
            new_disc: true,
            bytes,
            directories: vec!["2026/12/01".into()],
            verified: false,
            success,
            error: None,
            finished: 7,
        };
        let text = prometheus_text(&[
            disc("span", 1, true),
            disc("span", 2, false),
            disc("store", 3, true),
        ]);
        assert!(text.contains("cback_store_bytes{action=\"span\",media=\"cdrw-74\"} 2\n"));
        assert!(text.contains("cback_store_success{action=\"span\",media=\"cdrw-74\"} 0\n"));
        assert!(text.contains("cback_store_bytes{action=\"store\",media=\"cdrw-74\"} 3\n"));
        assert!(text.contains("cback_store_directories{action=\"store\",media=\"cdrw-74\"} 1\n"));
    }
}
