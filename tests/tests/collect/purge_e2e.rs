//! End-to-end: `cback purge` with a pinned today.

use std::fs;
use std::os::unix::fs::symlink;

use crate::collect_support::*;

/// Noon UTC of [`WEDNESDAY`], the "now" of a run pinned to it (the tests run in UTC or close).
fn days_before_wednesday(days: f64) -> i64 {
    let noon = 1_795_608_000; // 2026-11-25T12:00:00Z
    noon - (days * 86_400.0) as i64
}

#[test]
fn purge_removes_old_files_and_empty_dirs_only_below_the_dir() {
    let f = Fixture::empty();
    let p = f.root.join("p");
    let outside = f.root.join("outside");
    for d in ["d/e", "keep", "empty", "mixed"] {
        fs::create_dir_all(p.join(d)).unwrap();
    }
    fs::create_dir_all(&outside).unwrap();
    for (name, age) in [
        ("old", 10.0),
        ("new", 2.0),
        ("d/e/old2", 10.0),
        ("mixed/old3", 10.0),
        ("mixed/new3", 2.0),
        ("keep/new4", 4.2),
    ] {
        fs::write(p.join(name), b"x").unwrap();
        set_mtime(&p.join(name), days_before_wednesday(age));
    }
    fs::write(outside.join("victim"), b"x").unwrap();
    set_mtime(&outside.join("victim"), days_before_wednesday(30.0));
    symlink(&outside, p.join("outlink")).unwrap();
    set_mtime(&p.join("outlink"), days_before_wednesday(1.0));
    symlink(outside.join("victim"), p.join("oldlink")).unwrap();
    set_mtime(&p.join("oldlink"), days_before_wednesday(9.0));

    f.write_config(
        "<purge><dir><abs_path>{ROOT}/p</abs_path><retain_days>5</retain_days></dir></purge>",
        "monday",
    );
    f.cback(WEDNESDAY, &["--debug", "purge"]).assert().success();

    let mut left: Vec<String> = Vec::new();
    for entry in walk(&p) {
        left.push(entry.strip_prefix(&p).unwrap().display().to_string());
    }
    left.sort();
    assert_eq!(
        left,
        ["keep", "keep/new4", "mixed", "mixed/new3", "new", "outlink"],
        "old files, the old link and the dirs left empty are gone"
    );
    assert!(outside.join("victim").exists(), "links are never followed");
    let log = f.log_text();
    assert!(
        log.contains(&format!("Purged file [{}/p/old]", f.root.display())),
        "{log}"
    );
    assert!(
        log.contains("Purged 4 files and 3 empty directories"),
        "{log}"
    );

    // retain_days 0 empties the directory, but keeps it.
    f.write_config(
        "<purge><dir><abs_path>{ROOT}/p</abs_path><retain_days>0</retain_days></dir></purge>",
        "monday",
    );
    f.cback(WEDNESDAY, &["purge"]).assert().success();
    assert!(p.is_dir());
    assert_eq!(fs::read_dir(&p).unwrap().count(), 0);
    assert!(outside.join("victim").exists());
}

#[test]
fn purge_refuses_the_root_and_names_a_missing_dir() {
    let f = Fixture::empty();
    f.write_config(
        "<purge><dir><abs_path>/</abs_path><retain_days>3650000</retain_days></dir></purge>",
        "monday",
    );
    f.cback(WEDNESDAY, &["purge"]).assert().failure().code(6);
    assert!(
        f.log_text().contains("refusing to purge"),
        "{}",
        f.log_text()
    );

    f.write_config(
        "<purge><dir><abs_path>{ROOT}/missing</abs_path><retain_days>1</retain_days></dir></purge>",
        "monday",
    );
    f.cback(WEDNESDAY, &["purge"]).assert().failure().code(6);
    assert!(f
        .log_text()
        .contains(&format!("{}/missing", f.root.display())));
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let path = entry.path();
        out.push(path.clone());
        if entry.file_type().unwrap().is_dir() {
            out.extend(walk(&path));
        }
    }
    out
}
