//! `cback all` on a single machine: collect, stage, store and purge, in that order, ending
//! with the day's data on disc.

use std::fs;
use std::process::Command;

use cback_tests::optical::Rig;

#[test]
fn all_runs_collect_stage_store_and_purge() {
    let rig = Rig::new(crate::BIN);
    let source = rig.root.join("data");
    fs::create_dir_all(&source).unwrap();
    fs::write(source.join("notes.txt"), "collected by all").unwrap();
    let collect_dir = rig.root.join("collect");
    fs::create_dir_all(&collect_dir).unwrap();
    let old = rig.root.join("old");
    fs::create_dir_all(&old).unwrap();
    fs::write(old.join("stale"), "x").unwrap();
    let stale = old.join("stale");
    let status = Command::new("touch")
        .args(["-d", "2000-01-01"])
        .arg(&stale)
        .status()
        .unwrap();
    assert!(status.success());
    let weekday = String::from_utf8(Command::new("date").arg("+%A").output().unwrap().stdout)
        .unwrap()
        .trim()
        .to_lowercase();
    let sections = format!(
        " <collect>\n  <collect_dir>{collect}</collect_dir>\n  <collect_mode>daily</collect_mode>\n  <archive_mode>tar</archive_mode>\n  <ignore_file>.cbignore</ignore_file>\n  <dir><abs_path>{source}</abs_path></dir>\n </collect>\n <purge><dir><abs_path>{old}</abs_path><retain_days>30</retain_days></dir></purge>\n",
        collect = collect_dir.display(),
        source = source.display(),
        old = old.display(),
    );
    let store = "  <source_dir>{STAGE}</source_dir>\n  <media_type>cdrw-74</media_type>\n  <target_device>{DEV}</target_device>\n  <check_data>Y</check_data>\n";
    let config = rig.config(&weekday, store, &sections);
    let out = rig.cback(&config, None, &["all"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        collect_dir.join("cback.collect").is_file(),
        "collect runs first: {stderr}"
    );
    assert!(out.status.success(), "{stderr}");
    let disc = rig.disc_files();
    assert!(
        disc.keys()
            .any(|k| k.ends_with(".tar") && k.contains("/local/")),
        "the collected archive is on the disc: {:?}",
        disc.keys()
    );
    assert!(disc.keys().any(|k| k.ends_with("/cback.stage")));
    let stored: Vec<_> = rig
        .calls()
        .into_iter()
        .filter(|c| c.contains("-data"))
        .collect();
    assert_eq!(stored.len(), 1);
    assert!(!stale.exists(), "purge ran last");
}
