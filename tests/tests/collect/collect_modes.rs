//! End-to-end: collect modes, `--full`, the starting day, and incremental state.

use std::fs;

use crate::collect_support::*;

fn incr_config(f: &Fixture, mode: &str) {
    f.write_config(
        &format!(
            "<collect><collect_dir>{{ROOT}}/out</collect_dir><collect_mode>{mode}</collect_mode><archive_mode>tar</archive_mode><ignore_file>.cbignore</ignore_file>
<dir><abs_path>{{ROOT}}/src</abs_path></dir><file><abs_path>{{ROOT}}/src/a.txt</abs_path></file></collect>"
        ),
        "monday",
    );
}

fn member_names(f: &Fixture, archive: &str) -> Vec<String> {
    let root = f.member_root();
    let mut names: Vec<String> = members(&f.out().join(archive))
        .into_iter()
        .map(|m| m.name.replacen(&root, "", 1))
        .collect();
    names.sort();
    names
}

#[test]
fn incremental_runs_archive_only_changes_and_links() {
    let f = Fixture::tree();
    incr_config(&f, "incr");
    let src_archive = format!("{}-src.tar", f.normalized_root());
    let file_archive = format!("{}-src-a.txt.tar", f.normalized_root());

    f.cback(WEDNESDAY, &["collect"]).assert().success();
    assert_eq!(
        member_names(&f, &src_archive).len(),
        23,
        "first run takes everything"
    );
    assert!(f.out().join(&file_archive).exists());
    let digest = f.work().join(format!("{}-src.sha", f.normalized_root()));
    assert!(digest.exists());

    f.clear_out();
    f.cback(WEDNESDAY, &["collect"]).assert().success();
    assert_eq!(
        member_names(&f, &src_archive),
        ["/src/abs_link_dir", "/src/link_to_dir", "/src/link_to_file"],
        "links are always archived, unchanged files never"
    );
    assert!(
        !f.out().join(&file_archive).exists(),
        "unchanged file: no archive"
    );
    assert!(f.out().join("cback.collect").exists());

    f.clear_out();
    fs::write(f.src().join("sub/s.txt"), b"changed\n").unwrap();
    fs::write(f.src().join("newfile"), b"new\n").unwrap();
    f.cback(WEDNESDAY, &["collect"]).assert().success();
    assert_eq!(
        member_names(&f, &src_archive),
        [
            "/src/abs_link_dir",
            "/src/link_to_dir",
            "/src/link_to_file",
            "/src/newfile",
            "/src/sub/s.txt"
        ]
    );

    // --full and the starting day reset the state.
    for (today, args) in [
        (WEDNESDAY, vec!["--full", "collect"]),
        (MONDAY, vec!["collect"]),
    ] {
        f.clear_out();
        f.cback(today, &args).assert().success();
        assert_eq!(member_names(&f, &src_archive).len(), 24, "{today} {args:?}");
        assert!(f.out().join(&file_archive).exists());
    }
}

#[test]
fn the_originals_digest_file_is_honoured() {
    let f = Fixture::tree();
    incr_config(&f, "incr");
    // Protocol 0, as the original writes it: a.txt is known with its current digest.
    let a = f.src().join("a.txt");
    let pickle = format!(
        "(dp0\nV{}\np1\nVf572d396fae9206628714fb2ce00f72e94f2258f\np2\ns.",
        a.display()
    );
    let digest = f
        .work()
        .join(format!("{}-src-a.txt.sha", f.normalized_root()));
    fs::write(&digest, pickle).unwrap();
    f.cback(WEDNESDAY, &["collect"]).assert().success();
    assert!(
        !f.out()
            .join(format!("{}-src-a.txt.tar", f.normalized_root()))
            .exists(),
        "no surprise full backup"
    );
    // The rewritten state is still a pickle the original can read (protocol 0 text).
    let text = fs::read(&digest).unwrap();
    assert!(text.starts_with(b"(dp0\nV"));
}

#[test]
fn a_failed_run_does_not_advance_the_state() {
    let f = Fixture::tree();
    incr_config(&f, "incr");
    f.cback(WEDNESDAY, &["collect"]).assert().success();
    let digest = f.work().join(format!("{}-src.sha", f.normalized_root()));
    let before = fs::read(&digest).unwrap();
    fs::write(f.src().join("sub/s.txt"), b"changed\n").unwrap();
    // collect_dir vanishes: the archive cannot be written.
    fs::remove_dir_all(f.out()).unwrap();
    f.cback(WEDNESDAY, &["collect"]).assert().failure().code(6);
    assert_eq!(fs::read(&digest).unwrap(), before, "state not advanced");
    fs::create_dir_all(f.out()).unwrap();
    f.cback(WEDNESDAY, &["collect"]).assert().success();
    let names = member_names(&f, &format!("{}-src.tar", f.normalized_root()));
    assert!(
        names.contains(&"/src/sub/s.txt".to_string()),
        "the change is not lost"
    );
}

#[test]
fn weekly_entries_follow_the_starting_day_and_full() {
    let f = Fixture::tree();
    incr_config(&f, "weekly");
    f.cback(WEDNESDAY, &["collect"]).assert().success();
    assert_eq!(f.out_files(), ["cback.collect"], "not the starting day");
    f.cback(MONDAY, &["collect"]).assert().success();
    assert_eq!(f.out_files().len(), 3, "starting day: {:?}", f.out_files());
    f.clear_out();
    f.cback(WEDNESDAY, &["--full", "collect"])
        .assert()
        .success();
    assert_eq!(f.out_files().len(), 3, "--full: {:?}", f.out_files());
}

#[test]
fn daily_entries_are_collected_every_day() {
    let f = Fixture::tree();
    incr_config(&f, "daily");
    f.cback(WEDNESDAY, &["collect"]).assert().success();
    assert_eq!(f.out_files().len(), 3);
    assert!(fs::read_dir(f.work()).unwrap().all(|e| !e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .ends_with(".sha")));
}

/// Issue #4: the state of an entry that was archived is not advanced when a later entry fails.
#[test]
fn a_run_failing_on_a_later_entry_does_not_advance_the_state_of_an_earlier_one() {
    let f = Fixture::tree();
    let two = f.root.join("two");
    fs::create_dir_all(&two).unwrap();
    fs::write(two.join("f"), b"two\n").unwrap();
    f.write_config(
        "<collect><collect_dir>{ROOT}/out</collect_dir><collect_mode>incr</collect_mode><archive_mode>tar</archive_mode><ignore_file>.cbignore</ignore_file>
<dir><abs_path>{ROOT}/src/sub</abs_path></dir><dir><abs_path>{ROOT}/two</abs_path></dir></collect>",
        "monday",
    );
    let sub_archive = format!("{}-src-sub.tar", f.normalized_root());
    let digest = f
        .work()
        .join(format!("{}-src-sub.sha", f.normalized_root()));
    f.cback(WEDNESDAY, &["collect"]).assert().success();
    let after_first = fs::read(&digest).unwrap();

    // The first entry is archived with its change, then the second one is missing.
    f.clear_out();
    fs::write(f.src().join("sub/s.txt"), b"changed\n").unwrap();
    fs::remove_dir_all(&two).unwrap();
    f.cback(WEDNESDAY, &["collect"]).assert().failure().code(6);
    assert_eq!(
        fs::read(&digest).unwrap(),
        after_first,
        "the failed run advanced the state of {}/src/sub",
        f.root.display()
    );
    let work: Vec<String> = fs::read_dir(f.work())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        !work.iter().any(|n| n.starts_with(".cback-digest-")),
        "temporary digest files left: {work:?}"
    );
    assert!(!f.out().join("cback.collect").exists());

    // Fixed: the change is archived again.
    fs::create_dir_all(&two).unwrap();
    fs::write(two.join("f"), b"two\n").unwrap();
    f.clear_out();
    f.cback(WEDNESDAY, &["collect"]).assert().success();
    assert!(
        member_names(&f, &sub_archive).contains(&"/src/sub/s.txt".to_string()),
        "the change of the failed run was lost: {:?}",
        member_names(&f, &sub_archive)
    );
    assert_ne!(fs::read(&digest).unwrap(), after_first, "advanced now");
}

/// A digest file that cannot be decoded is an error in the log, and the entry is backed up in
/// full, as the original does; the run succeeds.
#[test]
fn a_corrupt_digest_file_means_a_full_backup_of_that_entry() {
    let f = Fixture::tree();
    incr_config(&f, "incr");
    f.cback(WEDNESDAY, &["collect"]).assert().success();
    let src_archive = format!("{}-src.tar", f.normalized_root());
    let digest = f.work().join(format!("{}-src.sha", f.normalized_root()));
    fs::write(&digest, b"garbage\n").unwrap();
    f.clear_out();
    f.cback(WEDNESDAY, &["collect"]).assert().success();
    assert_eq!(
        member_names(&f, &src_archive).len(),
        23,
        "everything of the entry is archived"
    );
    assert!(f.out().join("cback.collect").exists());
    let log = f.log_text();
    let line = log
        .lines()
        .find(|l| l.contains("Failed loading digest"))
        .unwrap_or_else(|| panic!("no error logged:\n{log}"));
    assert!(
        line.contains("ERROR") && line.contains(&digest.display().to_string()),
        "{line}"
    );
    // Replaced by a good state: the next run takes only the links.
    assert!(fs::read(&digest).unwrap().starts_with(b"(dp0\nV"));
    f.clear_out();
    f.cback(WEDNESDAY, &["collect"]).assert().success();
    assert_eq!(member_names(&f, &src_archive).len(), 3);
}
