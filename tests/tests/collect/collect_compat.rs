//! End-to-end: `cback collect` writes the archives the original writes, member for member.
//!
//! The expectations in `collect_support/expected_members.txt` were recorded by running the
//! original (cback3 3.12) on the same fixture tree. When the original is installed (set
//! `CB3_BIN`, or have `/tmp/cb3c/bin/cback3`), `live_comparison_with_the_original` also runs it
//! side by side and compares the member lists in archive order.

use std::path::{Path, PathBuf};

use crate::collect_support::*;

const CONF1: &str = r"<collect><collect_dir>{ROOT}/out</collect_dir><collect_mode>daily</collect_mode><archive_mode>tar</archive_mode><ignore_file>.cbignore</ignore_file><exclude><pattern>.*\.tmp</pattern></exclude>
<dir><abs_path>{ROOT}/src</abs_path><exclude><abs_path>{ROOT}/src/excl</abs_path><rel_path>rel</rel_path><rel_path>sub/excl2</rel_path></exclude></dir>
<file><abs_path>{ROOT}/src/a.txt</abs_path></file></collect>";

const LD2D: &str = r"<collect><collect_dir>{ROOT}/out</collect_dir><collect_mode>daily</collect_mode><archive_mode>tar</archive_mode><ignore_file>.cbignore</ignore_file>
<dir><abs_path>{ROOT}/src</abs_path><link_depth>2</link_depth><dereference>Y</dereference></dir></collect>";

const REC1: &str = r"<collect><collect_dir>{ROOT}/out</collect_dir><collect_mode>daily</collect_mode><archive_mode>tar</archive_mode><ignore_file>.cbignore</ignore_file>
<dir><abs_path>{ROOT}/src</abs_path><recursion_level>1</recursion_level><exclude><rel_path>sub/excl2</rel_path><pattern>.*/rel2</pattern></exclude></dir></collect>";

/// `link_depth` 1 with dereference: some files are reached both through a directory link and
/// a file link, so the walk lists their path twice.
fn ld1d(collect_mode: &str) -> String {
    LD2D.replace("<link_depth>2", "<link_depth>1")
        .replace(">daily<", &format!(">{collect_mode}<"))
}

/// The member names of `path` that occur more than once.
fn repeated_names(path: &Path) -> Vec<String> {
    let mut names: Vec<String> = members(path).into_iter().map(|m| m.name).collect();
    names.sort();
    let mut repeated: Vec<String> = names
        .windows(2)
        .filter(|w| w[0] == w[1])
        .map(|w| w[0].clone())
        .collect();
    repeated.dedup();
    repeated
}

fn lines(path: &Path) -> Vec<String> {
    members(path).iter().map(Member::line).collect()
}

/// Every hard-link member points at an earlier file member.
fn assert_hard_links_point_back(path: &Path) {
    let ms = members(path);
    for (i, m) in ms.iter().enumerate() {
        if m.typeflag == '1' {
            assert!(
                ms[..i]
                    .iter()
                    .any(|e| e.typeflag == '0' && e.name == m.linkname),
                "hard link {} -> {} has no earlier file member",
                m.name,
                m.linkname
            );
        }
    }
}

fn check_against_expectation(config_name: &str, collect: &str) {
    let f = Fixture::tree();
    f.write_config(collect, "monday");
    f.cback(WEDNESDAY, &["collect"]).assert().success();
    let expected = expected(&f, config_name);
    let mut want_files: Vec<String> = expected.iter().map(|(n, _)| n.clone()).collect();
    want_files.push("cback.collect".into());
    want_files.sort();
    assert_eq!(f.out_files(), want_files, "archives of {config_name}");
    for (archive, want) in &expected {
        let path = f.out().join(archive);
        assert_hard_links_point_back(&path);
        assert_eq!(
            canonical(&lines(&path), ("/a.txt", "/hardlink_a")),
            canonical(want, ("/a.txt", "/hardlink_a")),
            "members of {archive} ({config_name})"
        );
    }
}

#[test]
fn excludes_ignore_file_and_unusual_names_match_the_original() {
    check_against_expectation("conf1", CONF1);
}

#[test]
fn link_depth_with_dereference_matches_the_original() {
    check_against_expectation("conf_ld2d", LD2D);
}

#[test]
fn an_incremental_archive_holds_a_path_reached_twice_once_and_a_daily_one_twice() {
    // The original keeps one entry per path when it drops unchanged files (incr), and writes
    // the walk's list as it is otherwise (daily); `live_comparison_with_the_original` runs both.
    let names = |collect_mode: &str| {
        let f = Fixture::tree();
        f.write_config(&ld1d(collect_mode), "monday");
        f.cback(WEDNESDAY, &["collect"]).assert().success();
        let archive = f.out().join(format!("{}-src.tar", f.normalized_root()));
        let names: Vec<String> = members(&archive).into_iter().map(|m| m.name).collect();
        (names, repeated_names(&archive))
    };
    let (daily, daily_repeated) = names("daily");
    assert!(
        !daily_repeated.is_empty(),
        "the fixture reaches a file twice with link_depth 1: {daily:?}"
    );
    let (incr, incr_repeated) = names("incr");
    assert_eq!(
        incr_repeated,
        Vec::<String>::new(),
        "incr holds each path once"
    );
    let mut distinct = daily.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(
        incr.len(),
        distinct.len(),
        "incr holds every path: {incr:?}"
    );
}

#[test]
fn recursion_level_matches_the_original() {
    check_against_expectation("conf_rec1", REC1);
}

#[test]
fn compressed_archives_hold_the_same_members() {
    for (mode, ext) in [("targz", "tar.gz"), ("tarbz2", "tar.bz2")] {
        let f = Fixture::tree();
        f.write_config(&CONF1.replace(">tar<", &format!(">{mode}<")), "monday");
        f.cback(WEDNESDAY, &["collect"]).assert().success();
        let expected = expected(&f, "conf1");
        for (archive, want) in &expected {
            let path = f.out().join(archive.replace(".tar", &format!(".{ext}")));
            assert_eq!(
                canonical(&lines(&path), ("/a.txt", "/hardlink_a")),
                canonical(want, ("/a.txt", "/hardlink_a")),
                "{mode}"
            );
        }
        // File content survives compression.
        let src = members(&f.out().join(format!("{}-src.{ext}", f.normalized_root())));
        let s = src.iter().find(|m| m.name.ends_with("sub/s.txt")).unwrap();
        assert_eq!(s.data, b"s\n");
    }
}

#[test]
fn archives_and_indicator_belong_to_the_backup_user_when_root() {
    use std::os::unix::fs::MetadataExt;
    let f = Fixture::tree();
    f.write_config(CONF1, "monday");
    f.cback(WEDNESDAY, &["collect"]).assert().success();
    let (user, _) = backup_owner();
    let uid = nix::unistd::User::from_name(&user)
        .unwrap()
        .unwrap()
        .uid
        .as_raw();
    for name in f.out_files() {
        let meta = std::fs::metadata(f.out().join(&name)).unwrap();
        if is_root() {
            assert_eq!(meta.uid(), uid, "{name} chowned");
        }
        // The indicator as the original's; an archive never readable by others.
        let mode = if name == "cback.collect" {
            0o644
        } else {
            0o640
        };
        assert_eq!(
            meta.mode() & 0o777,
            mode & !cedar_core::current_umask(),
            "{name} mode"
        );
    }
    let log = f.log_text();
    assert!(
        log.contains(&format!(
            "Backing up 17 files in [{}/src] (53 bytes).",
            f.root.display()
        )),
        "{log}"
    );
    assert!(
        log.contains(&format!(
            "Backing up file [{}/src/a.txt] (6 bytes).",
            f.root.display()
        )),
        "{log}"
    );
}

fn original() -> Option<PathBuf> {
    let candidate = std::env::var_os("CB3_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp/cb3c/bin/cback3"));
    candidate.is_file().then_some(candidate)
}

#[test]
fn live_comparison_with_the_original() {
    let Some(cb3) = original() else {
        skipped(
            "live_comparison_with_the_original",
            "the original cback3 is not installed; set CB3_BIN to its cback3 (or install it as \
             /tmp/cb3c/bin/cback3) to compare with it",
        );
        return;
    };
    let configs = [
        CONF1.to_string(),
        LD2D.to_string(),
        REC1.to_string(),
        LD2D.replace("<dereference>Y</dereference>", ""),
        REC1.replace("<recursion_level>1", "<recursion_level>2"),
        ld1d("daily"),
        ld1d("incr"),
    ];
    for collect in configs {
        let f = Fixture::tree();
        let config = f.write_config(&collect, "monday");
        let status = std::process::Command::new(&cb3)
            .arg("--config")
            .arg(&config)
            .arg("--logfile")
            .arg(f.root.join("cb3.log"))
            .arg("collect")
            .status()
            .unwrap();
        assert!(status.success());
        let theirs: Vec<(String, Vec<String>)> = f
            .out_files()
            .into_iter()
            .filter(|n| n.contains(".tar"))
            .map(|n| {
                let l = lines(&f.out().join(&n));
                (n, l)
            })
            .collect();
        // The original's archives, and its digests (an incremental run would otherwise find
        // every file unchanged).
        for dir in [f.out(), f.root.join("work")] {
            for entry in std::fs::read_dir(dir).into_iter().flatten() {
                std::fs::remove_file(entry.unwrap().path()).unwrap();
            }
        }
        f.cback(WEDNESDAY, &["collect"]).assert().success();
        let ours: Vec<(String, Vec<String>)> = f
            .out_files()
            .into_iter()
            .filter(|n| n.contains(".tar"))
            .map(|n| {
                let l = lines(&f.out().join(&n));
                (n, l)
            })
            .collect();
        assert_eq!(ours, theirs, "config:\n{collect}");
    }
}
