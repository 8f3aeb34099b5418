//! `cback status`: each exit status from a status file that a real run wrote, aged by moving
//! its timestamps back.

use std::fs;
use std::path::{Path, PathBuf};

use predicates::prelude::*;

use crate::cli::CliRunDir;

const HOUR: i64 = 3600;

/// `cback --config CONFIG status ARGS...`: its exit status and standard output.
fn status(config: &Path, args: &[&str]) -> (i32, String) {
    let out = crate::BIN
        .cback()
        .arg("--config")
        .arg(config)
        .arg("status")
        .args(args)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    (out.status.code().unwrap_or(-1), text)
}

fn status_file(site: &CliRunDir) -> PathBuf {
    site.path("work").join("cback-status.json")
}

/// Moves every run timestamp of the status file `hours` back, as if the run was that old.
fn age(site: &CliRunDir, hours: i64) {
    let path = status_file(site);
    let mut json: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
    for key in ["start", "end", "last_success"] {
        if let Some(t) = json[key].as_i64() {
            json[key] = (t - hours * HOUR).into();
        }
    }
    fs::write(&path, serde_json::to_string(&json).unwrap()).unwrap();
}

/// A site whose stage action copies the collect directory as a local peer.
fn staging_site() -> (CliRunDir, PathBuf) {
    let site = CliRunDir::new();
    fs::write(site.path("collect").join("data.txt"), "some data\n").unwrap();
    let sections = format!(
        "<stage><staging_dir>{}</staging_dir>\
         <peer><name>local</name><type>local</type><collect_dir>{}</collect_dir></peer></stage>",
        site.path("stage").display(),
        site.path("collect").display()
    );
    let config = site.config("", "", &sections);
    (site, config)
}

#[test]
fn without_a_status_file_the_check_is_unknown() {
    let site = CliRunDir::new();
    let config = site.plain();
    let (code, out) = status(&config, &[]);
    assert_eq!(code, 3, "{out}");
    assert!(
        out.starts_with("CBACK UNKNOWN - there is no status file "),
        "{out}"
    );
    fs::write(status_file(&site), "{ truncated").unwrap();
    let (code, out) = status(&config, &[]);
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("is not a cback status"), "{out}");
    // A configuration that cannot be read is no verdict either, but --status-file needs none.
    let (code, out) = status(&site.path("missing.conf"), &[]);
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("--status-file"), "{out}");
}

#[test]
fn a_fresh_success_is_ok_then_ages_into_warning_and_critical() {
    let (site, config) = staging_site();
    site.run(&config, &["collect", "stage"]).code(0);
    let (code, out) = status(&config, &["--warn-age", "24h"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.starts_with("CBACK OK - last success 0 min ago, 1 peer, "),
        "{out}"
    );
    assert!(out.contains("last run: collect stage ended"), "{out}");

    age(&site, 25);
    let (code, out) = status(&config, &["--warn-age", "24h"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.starts_with("CBACK WARNING - last success 25 h ago, older than 24 h"),
        "{out}"
    );
    // Without --warn-age, 25 h is within the default --max-age of 26h.
    assert_eq!(status(&config, &[]).0, 0);

    age(&site, 2);
    let (code, out) = status(&config, &["--warn-age", "24h"]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.starts_with("CBACK CRITICAL - last success 27 h ago, older than 26 h"),
        "{out}"
    );
    assert_eq!(status(&config, &["--max-age", "2d"]).0, 0);
    assert_eq!(status(&config, &["--max-age", "90m"]).0, 2);

    // The same for tools.
    let (code, out) = status(&config, &["--json"]);
    assert_eq!(code, 2, "{out}");
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["state"], "CRITICAL");
    assert_eq!(json["code"], 2);
    assert_eq!(json["peers"], 1);
    assert_eq!(
        json["last_success_age_seconds"].as_i64().unwrap() / HOUR,
        27
    );
}

#[test]
fn a_run_that_logged_warnings_is_a_warning() {
    let (site, config) = staging_site();
    site.run(&config, &["collect", "stage"]).code(0);
    // Staging the same day again reuses the daily directory, with a warning.
    site.run(&config, &["stage"]).code(0);
    let (code, out) = status(&config, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.starts_with(
            "CBACK WARNING - last run logged 2 warning(s), the first: Staging directory ["
        ),
        "{out}"
    );
    assert!(out.contains("\nwarning: Peer staging directory ["), "{out}");
    let prom = fs::read_to_string(site.path("work").join("cback.prom")).unwrap();
    assert!(prom.contains("cback_run_warnings 2\n"), "{prom}");
}

#[test]
fn a_failed_run_is_critical_with_its_error() {
    let site = CliRunDir::new();
    let hook = "<pre_action_hook><action>collect</action>\
                <command>sh -c \"echo the disk is gone; exit 3\"</command></pre_action_hook>";
    let config = site.config("", hook, "");
    site.run(&config, &["collect"]).code(6);
    let (code, out) = status(&config, &[]);
    assert_eq!(code, 2, "{out}");
    let first = out.lines().next().unwrap();
    assert!(
        first.starts_with("CBACK CRITICAL - last run failed 0 min ago (exit 6): pre-action hook for action collect"),
        "{out}"
    );
    assert!(first.contains("no success recorded"), "{out}");
    // Its error also names the hook's output, on the lines below.
    assert!(out.contains("the disk is gone"), "{out}");
}

#[test]
fn status_is_a_stand_alone_action_with_its_own_switches() {
    let site = CliRunDir::new();
    let config = site.plain();
    crate::BIN
        .cback()
        .args(["--config"])
        .arg(&config)
        .args(["status", "collect"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("may not be combined"));
    crate::BIN
        .cback()
        .args(["--max-age", "26 hours", "status"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("90m, 26h or 2d"));
    // --status-file reads a file without the configuration; the check logs nothing.
    site.run(&config, &["collect"]).code(0);
    let log_before = fs::read_to_string(site.log()).unwrap();
    let (code, out) = status(
        &site.path("missing.conf"),
        &["--status-file", status_file(&site).to_str().unwrap()],
    );
    assert_eq!(code, 0, "{out}");
    assert_eq!(fs::read_to_string(site.log()).unwrap(), log_before);
}
