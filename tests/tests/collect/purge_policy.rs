//! End-to-end: `cback purge` and `cback --dry-run purge` with a retention policy on the
//! staging directory, over 400 generated nights (some missed, some failed, some left
//! incomplete by a stopped stage, the oldest staged before cback kept a record), a pin, a day
//! dated in the future and things that are not days; a purge stopped by SIGTERM; a run whose
//! collect failed; a refused policy.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::collect_support::*;

/// The last generated night: [`WEDNESDAY`], 2026-11-25.
const LAST_NIGHT: (i32, u32, u32) = (2026, 11, 25);

const POLICY: &str = "<keep_daily>7</keep_daily><keep_weekly>5</keep_weekly><keep_monthly>12</keep_monthly><keep_yearly>3</keep_yearly><keep_min>2</keep_min>";

/// What one generated night is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Night {
    Missed,
    /// Both peers good.
    Good,
    /// Peer beta failed.
    Failed,
    /// Stage was stopped while copying beta: its outcome stayed pending.
    Incomplete,
}

/// Night `n` (0 = the oldest of 400).
fn night(n: u32) -> Night {
    if n % 9 == 4 {
        Night::Missed
    } else if n % 13 == 6 || n == 398 {
        Night::Failed
    } else if n % 29 == 10 || n == 397 {
        Night::Incomplete
    } else {
        Night::Good
    }
}

/// `YYYY/MM/DD` of the night `back` nights before [`LAST_NIGHT`], from the system's `date`
/// (the tests must not reuse the code under test to compute what they check).
fn rel_path(back: u32) -> String {
    let (y, m, d) = LAST_NIGHT;
    let out = Command::new("date")
        .env("TZ", "UTC")
        .arg("-d")
        .arg(format!("{y:04}-{m:02}-{d:02} 12:00 UTC - {back} days"))
        .arg("+%Y/%m/%d")
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Generates the 400 nights below `stage`, `files` files per peer; returns the days made.
fn generate(stage: &Path, files: usize) -> Vec<String> {
    let mut made = Vec::new();
    for n in 0..400u32 {
        let kind = night(n);
        if kind == Night::Missed {
            continue;
        }
        let rel = rel_path(399 - n);
        let day = stage.join(&rel);
        for peer in ["alpha", "beta"] {
            fs::create_dir_all(day.join(peer)).unwrap();
            for i in 0..files {
                fs::write(day.join(peer).join(format!("f{i}.tar")), b"x").unwrap();
            }
        }
        fs::write(day.join("cback.stage"), b"").unwrap();
        // The first 100 nights were staged before cback kept a record.
        if n >= 100 {
            let beta = match kind {
                Night::Good => "good",
                Night::Failed => "failed",
                _ => "pending",
            };
            fs::write(
                day.join("cback.stage.json"),
                format!(
                    "{{\"format\": 1, \"peers\": {{\"alpha\": \"good\", \"beta\": \"{beta}\"}}}}\n"
                ),
            )
            .unwrap();
        }
        made.push(rel);
    }
    // A pin on an old night, a day dated in the future, and things that are not days.
    fs::write(stage.join(rel_path(399 - 20)).join("cback.keep"), b"").unwrap();
    // The future day failed: it is kept, but takes no slot of the rules.
    fs::create_dir_all(stage.join("2026/12/24/alpha")).unwrap();
    fs::write(
        stage.join("2026/12/24/cback.stage.json"),
        "{\"format\": 1, \"peers\": {\"alpha\": \"failed\"}}",
    )
    .unwrap();
    made.push("2026/12/24".into());
    fs::create_dir_all(stage.join("2026/lost+found")).unwrap();
    fs::write(stage.join("README"), b"not a day").unwrap();
    fs::create_dir_all(stage.join("2026/11/99")).unwrap();
    made.sort();
    made
}

/// Every `YYYY/MM/DD` directory below `stage`, sorted.
fn days(stage: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let dirs = |dir: &Path| -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .map(|e| {
                e.filter_map(Result::ok)
                    .filter(|e| e.file_type().unwrap().is_dir())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    };
    for y in dirs(stage).into_iter().filter(|y| y.len() == 4) {
        for m in dirs(&stage.join(&y)).into_iter().filter(|m| m.len() == 2) {
            for d in dirs(&stage.join(&y).join(&m)) {
                if d.len() == 2 && d.bytes().all(|b| b.is_ascii_digit()) && d != "99" {
                    found.push(format!("{y}/{m}/{d}"));
                }
            }
        }
    }
    found
}

fn config(f: &Fixture, policy: &str) {
    f.write_config(
        &format!(
            "<stage><staging_dir>{{ROOT}}/stage</staging_dir><peer><name>alpha</name><type>local</type><collect_dir>{{ROOT}}/out</collect_dir></peer></stage>\n<purge><dir><abs_path>{{ROOT}}/stage</abs_path><retain_days>0</retain_days>{policy}</dir></purge>"
        ),
        "monday",
    );
}

/// The dry-run lines of the days (`YYYY-MM-DD keep …` / `YYYY-MM-DD remove`), unindented.
fn listing(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .filter(|l| l.starts_with("  2"))
        .map(|l| l.trim_start().to_string())
        .collect()
}

fn dashed(rel: &str) -> String {
    rel.replace('/', "-")
}

#[test]
fn a_policy_keeps_the_chosen_days_whole_and_the_dry_run_says_which() {
    let f = Fixture::empty();
    let stage = f.root.join("stage");
    let made = generate(&stage, 1);
    config(&f, POLICY);

    let out = f
        .cback(WEDNESDAY, &["--dry-run", "purge"])
        .assert()
        .success();
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    if std::env::var_os("CEDAR_SHOW_LISTING").is_some() {
        eprintln!("{stdout}");
    }
    assert_eq!(days(&stage), made, "the dry run changes nothing");
    let lines = listing(&stdout);
    assert_eq!(lines.len(), made.len(), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "run purge\n  purge staged days of [{}/stage] by policy: keep_daily 7, keep_weekly 5, keep_monthly 12, keep_yearly 3, keep_min 2\n",
            f.root.display()
        )),
        "{stdout}"
    );
    let kept: BTreeSet<String> = lines
        .iter()
        .filter(|l| l.contains(" keep "))
        .map(|l| l[..10].replace('-', "/"))
        .collect();
    // What the rules must keep, worked out here from the generated nights.
    let line_of = |rel: &str| {
        lines
            .iter()
            .find(|l| l.starts_with(&dashed(rel)))
            .unwrap_or_else(|| panic!("{rel} not listed: {stdout}"))
            .clone()
    };
    assert_eq!(line_of("2026/12/24"), "2026-12-24 keep future (not good)");
    assert!(line_of(&rel_path(379)).ends_with(" pin"), "the pin");
    // The newest nights: 399 good, 398 failed (beta), 397 incomplete (beta), 396 failed.
    assert_eq!(
        line_of(&rel_path(0)),
        "2026-11-25 keep daily weekly monthly yearly min:alpha min:beta"
    );
    assert_eq!(
        line_of(&rel_path(1)),
        "2026-11-24 keep min:alpha (not good)"
    );
    assert_eq!(line_of(&rel_path(2)), "2026-11-23 remove (not good)");
    // Night 396 failed: beta's second newest good copy is the night before.
    assert_eq!(line_of(&rel_path(3)), "2026-11-22 remove (not good)");
    assert_eq!(
        line_of(&rel_path(4)),
        "2026-11-21 keep daily weekly min:beta"
    );
    // No failed or incomplete night is kept by a rule.
    for n in 0..400u32 {
        if matches!(night(n), Night::Failed | Night::Incomplete) {
            let shown = line_of(&rel_path(399 - n));
            // (The oldest nights have no record, so their failures count good.)
            let line = shown.strip_suffix(" (not good)").unwrap_or(&shown);
            let rules: Vec<&str> = line.split(' ').skip(2).collect();
            assert!(
                rules.iter().all(|r| r.starts_with("min:") || *r == "pin"),
                "{line}"
            );
        }
    }
    let daily = lines.iter().filter(|l| l.contains(" daily")).count();
    assert_eq!(daily, 7);
    let monthly = lines.iter().filter(|l| l.contains(" monthly")).count();
    assert_eq!(monthly, 12);

    f.cback(WEDNESDAY, &["purge"]).assert().success();
    let left: BTreeSet<String> = days(&stage).into_iter().collect();
    assert_eq!(
        left, kept,
        "purge removes exactly what the dry run listed as remove"
    );
    for day in &left {
        if day != "2026/12/24" {
            assert!(
                stage.join(day).join("alpha/f0.tar").is_file(),
                "{day} whole"
            );
        }
    }
    assert!(stage.join("README").is_file(), "not a day: left alone");
    assert!(stage.join("2026/lost+found").is_dir());
    assert!(stage.join("2026/11/99").is_dir());
    // Months left empty are gone: nothing of 2025-12 but its kept day remains.
    for month in fs::read_dir(stage.join("2025")).unwrap() {
        let month = month.unwrap().path();
        assert!(
            fs::read_dir(&month).unwrap().next().is_some(),
            "{}",
            month.display()
        );
    }
    assert!(
        f.log_text().contains(&format!(
            "Purged {} staged days from [{}/stage] by its policy",
            made.len() - kept.len(),
            f.root.display()
        )),
        "{}",
        f.log_text()
    );
    // A second run removes nothing more.
    f.cback(WEDNESDAY, &["purge"]).assert().success();
    assert_eq!(days(&stage).into_iter().collect::<BTreeSet<_>>(), kept);
}

#[test]
fn a_purge_stopped_by_sigterm_leaves_whole_days_only() {
    let f = Fixture::empty();
    let stage = f.root.join("stage");
    let files = 40;
    let made = generate(&stage, files);
    config(&f, "<keep_last>3</keep_last>");
    let mut child = f.spawn(WEDNESDAY, &["purge"], Stdio::null());
    // Signal as soon as the first day has gone.
    let first = stage.join(&made[0]);
    let start = Instant::now();
    while first.exists() && start.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(1));
    }
    let finished_early = child.try_wait().unwrap().is_some();
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap());
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    let status = child.wait().unwrap();
    assert!(!finished_early, "the purge ended before the signal");
    assert_eq!(status.code(), Some(5), "{}", f.log_text());
    let left = days(&stage);
    assert!(
        left.len() > 5 && left.len() < made.len(),
        "stopped half way: {} of {} days left",
        left.len(),
        made.len()
    );
    for day in &left {
        if day == "2026/12/24" {
            continue;
        }
        for peer in ["alpha", "beta"] {
            let count = fs::read_dir(stage.join(day).join(peer)).unwrap().count();
            assert_eq!(count, files, "{day}/{peer} is whole");
        }
    }
    let hidden: Vec<PathBuf> = walk_dirs(&stage)
        .into_iter()
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(".cback-purge-")
        })
        .collect();
    assert!(hidden.is_empty(), "{hidden:?}");
    // The next purge finishes the work.
    f.cback(WEDNESDAY, &["purge"]).assert().success();
    assert!(days(&stage).len() <= 3 + 3, "{:?}", days(&stage));
}

fn walk_dirs(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).unwrap().filter_map(Result::ok) {
        if entry.file_type().unwrap().is_dir() {
            out.push(entry.path());
            out.extend(walk_dirs(&entry.path()));
        }
    }
    out
}

#[test]
fn a_failed_collect_earlier_in_the_run_removes_nothing() {
    let f = Fixture::empty();
    let stage = f.root.join("stage");
    let made = generate(&stage, 1);
    f.write_config(
        &format!(
            "<collect><collect_dir>{{ROOT}}/out</collect_dir><collect_mode>daily</collect_mode><archive_mode>tar</archive_mode><ignore_file>.cbignore</ignore_file><dir><abs_path>{{ROOT}}/missing</abs_path></dir></collect>\n<stage><staging_dir>{{ROOT}}/stage</staging_dir><peer><name>alpha</name><type>local</type><collect_dir>{{ROOT}}/out</collect_dir></peer></stage>\n<purge><dir><abs_path>{{ROOT}}/stage</abs_path><retain_days>0</retain_days>{POLICY}</dir></purge>"
        ),
        "monday",
    );
    f.cback(WEDNESDAY, &["collect", "purge"])
        .assert()
        .failure()
        .code(6);
    assert_eq!(days(&stage), made, "nothing removed");
    assert!(!f.log_text().contains("Purged"), "{}", f.log_text());
}

#[test]
fn a_refused_policy_stops_every_run_before_anything_runs_and_validate_names_misplaced_keeps() {
    let f = Fixture::empty();
    let stage = f.root.join("stage");
    let made = generate(&stage, 1);
    config(&f, "<keep_min>3</keep_min>");
    let out = f.cback(WEDNESDAY, &["purge"]).assert().failure().code(4);
    let stderr = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert!(
        stderr.contains("the policy keeps nothing by its rules"),
        "{stderr}"
    );
    config(
        &f,
        "<keep_daily>7</keep_daily><keep_within>a fortnight</keep_within>",
    );
    f.cback(WEDNESDAY, &["validate"]).assert().failure().code(4);
    assert_eq!(days(&stage), made, "nothing removed");

    // Keep elements on another directory: validate says where they apply; purge refuses.
    fs::create_dir_all(f.root.join("other")).unwrap();
    f.write_config(
        "<stage><staging_dir>{ROOT}/stage</staging_dir><peer><name>alpha</name><type>local</type><collect_dir>{ROOT}/out</collect_dir></peer></stage>\n<purge><dir><abs_path>{ROOT}/stage</abs_path><retain_days>5</retain_days><keep_last>2</keep_last></dir><dir><abs_path>{ROOT}/other</abs_path><retain_days>0</retain_days><keep_daily>3</keep_daily></dir></purge>",
        "monday",
    );
    let out = f.cback(WEDNESDAY, &["validate"]).assert().failure().code(6);
    let stderr = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert!(
        stderr.contains(&format!(
            "purge directory {}/other: keep elements apply only to the <purge><dir> whose <abs_path> is the <stage><staging_dir>",
            f.root.display()
        )),
        "{stderr}"
    );
    assert!(
        f.log_text()
            .contains("its retain_days (5) no longer removes anything"),
        "{}",
        f.log_text()
    );
    f.cback(WEDNESDAY, &["purge"]).assert().failure().code(6);
    assert_eq!(days(&stage), made, "nothing removed");
}
