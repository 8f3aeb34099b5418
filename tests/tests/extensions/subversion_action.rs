//! End-to-end: `cback subversion` on repositories made by the tests with the real `svnadmin`.
//! Full and incremental runs over a week, each compress and collect mode, repository
//! directories with exclusions, state files read and written in the original's format (and
//! taken over from the original and back), and a failure of each kind.

use std::fs;
use std::path::Path;

use cback_tests::ext::{self, expected_mode, mode_of, read_file, Declared, ExtensionRunDir};
use cback_tests::svn::{self, Repo};
use cedar_core::normalize_name;

const SUBVERSION: Declared = Declared::new("subversion", "CedarBackup3.extend.subversion", 98);
/// A Monday (the configured starting day) and the Tuesday after it.
const MONDAY: &str = "2026-11-30";
const TUESDAY: &str = "2026-12-01";

fn dump_name(repo: &Path, start: u32, end: u32, mode: &str) -> String {
    format!(
        "svndump-{start}:{end}-{}.txt{}",
        normalize_name(&repo.to_string_lossy()),
        ext::suffix(mode)
    )
}

fn state_path(site: &ExtensionRunDir, repo: &Path) -> std::path::PathBuf {
    site.work.join(format!(
        "{}.svnlast",
        normalize_name(&repo.to_string_lossy())
    ))
}

/// A `<subversion>` section with the section's modes and `items` (already XML).
fn section(collect: &str, compress: &str, items: &str) -> String {
    format!(
        "<subversion><collect_mode>{collect}</collect_mode><compress_mode>{compress}</compress_mode>{items}</subversion>"
    )
}

fn repository(path: &Path) -> String {
    format!(
        "<repository><type>FSFS</type><abs_path>{}</abs_path></repository>",
        ext::xml_escape(&path.display().to_string())
    )
}

fn run_on(site: &ExtensionRunDir, day: &str, args: &[&str]) -> assert_cmd::assert::Assert {
    let mut all = vec!["--output"];
    all.extend_from_slice(args);
    all.push("subversion");
    site.cback(&all).env("CEDAR_TODAY", day).assert()
}

#[test]
fn an_incremental_week() {
    if svn::available("an_incremental_week").is_none() {
        return;
    }
    let site = ExtensionRunDir::new(crate::BIN);
    let mut repo = Repo::create(&site.path("be ta"), 3);
    site.config(
        &[SUBVERSION],
        "monday",
        &[],
        &section("incr", "gzip", &repository(&repo.path)),
    );
    // The starting day: everything.
    run_on(&site, MONDAY, &[]).success();
    let first = dump_name(&repo.path, 0, 3, "gzip");
    assert_eq!(site.entries(), vec![first.clone()]);
    assert_eq!(read_file(&site.collect.join(&first)), repo.dump(0, 3));
    assert_eq!(fs::read(state_path(&site, &repo.path)).unwrap(), b"I3\n.");
    assert_eq!(mode_of(&site.collect.join(&first)), expected_mode());
    // Two new revisions the next day: just those.
    repo.commit(2);
    run_on(&site, TUESDAY, &[]).success();
    let second = dump_name(&repo.path, 4, 5, "gzip");
    assert!(site.entries().contains(&second), "{:?}", site.entries());
    assert_eq!(read_file(&site.collect.join(&second)), repo.dump(4, 5));
    assert_eq!(fs::read(state_path(&site, &repo.path)).unwrap(), b"I5\n.");
    // No commit: nothing written.
    let before = site.entries();
    run_on(&site, TUESDAY, &[]).success();
    assert_eq!(site.entries(), before);
    assert!(site.log_text().contains(&format!(
        "No need to back up repository [{}]; no new revisions.",
        repo.path.display()
    )));
    // --full: from 0 again, and the state follows.
    repo.commit(1);
    run_on(&site, TUESDAY, &["--full"]).success();
    let full = dump_name(&repo.path, 0, 6, "gzip");
    assert_eq!(read_file(&site.collect.join(&full)), repo.dump(0, 6));
    assert_eq!(fs::read(state_path(&site, &repo.path)).unwrap(), b"I6\n.");
}

#[test]
fn every_compress_mode_and_the_daily_and_weekly_modes() {
    if svn::available("every_compress_mode").is_none() {
        return;
    }
    let site = ExtensionRunDir::new(crate::BIN);
    let daily = Repo::create(&site.path("daily"), 2);
    let weekly = Repo::create(&site.path("weekly"), 1);
    for mode in ["none", "gzip", "bzip2"] {
        let items = format!(
            "<repository><abs_path>{}</abs_path><collect_mode>daily</collect_mode></repository>\
             <repository><abs_path>{}</abs_path><collect_mode>weekly</collect_mode><compress_mode>{mode}</compress_mode></repository>",
            daily.path.display(),
            weekly.path.display()
        );
        site.config(&[SUBVERSION], "monday", &[], &section("incr", mode, &items));
        for entry in site.entries() {
            fs::remove_file(site.collect.join(entry)).unwrap();
        }
        // Not the starting day: the weekly repository waits.
        run_on(&site, TUESDAY, &[]).success();
        assert_eq!(
            site.entries(),
            vec![dump_name(&daily.path, 0, 2, mode)],
            "{mode}"
        );
        assert_eq!(
            read_file(&site.collect.join(dump_name(&daily.path, 0, 2, mode))),
            daily.dump(0, 2)
        );
        run_on(&site, MONDAY, &[]).success();
        assert_eq!(
            read_file(&site.collect.join(dump_name(&weekly.path, 0, 1, mode))),
            weekly.dump(0, 1),
            "{mode}"
        );
    }
    // Daily and weekly repositories neither read nor write a state file.
    assert!(!state_path(&site, &daily.path).exists());
    assert!(!state_path(&site, &weekly.path).exists());
}

#[test]
fn repository_directories_with_exclusions_and_a_bad_member() {
    if svn::available("repository_directories").is_none() {
        return;
    }
    let site = ExtensionRunDir::new(crate::BIN);
    let dir = site.path("repos");
    fs::create_dir(&dir).unwrap();
    let alpha = Repo::create(&dir.join("alpha"), 1);
    let kept = Repo::create(&dir.join("kept"), 2);
    Repo::create(&dir.join("old"), 1);
    Repo::create(&dir.join("tmp-1"), 1);
    fs::create_dir(dir.join("not-a-repo")).unwrap();
    fs::write(dir.join("plain-file"), "x").unwrap();
    std::os::unix::fs::symlink(&alpha.path, dir.join("link-to-alpha")).unwrap();
    let items = format!(
        "<repository_dir><abs_path>{}/</abs_path><exclude><rel_path>old</rel_path>\
         <pattern>.*/tmp-[0-9]</pattern></exclude></repository_dir>\
         <repository_dir><abs_path>{}</abs_path></repository_dir>",
        dir.display(),
        site.path("missing").display()
    );
    site.config(
        &[SUBVERSION],
        "monday",
        &[],
        &section("daily", "bzip2", &items),
    );
    let output = run_on(&site, TUESDAY, &[]).code(6).get_output().clone();
    let stderr = String::from_utf8_lossy(&output.stderr);
    // Every repository was attempted; the two failures are named.
    assert!(
        stderr.contains("2 of 4 Subversion repositories failed"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("repository [{}/not-a-repo]", dir.display()))
            && stderr.contains("svnlook youngest"),
        "{stderr}"
    );
    assert!(
        stderr.contains("Path is not a directory or does not exist on disk"),
        "{stderr}"
    );
    let mut expected = vec![
        dump_name(&alpha.path, 0, 1, "bzip2"),
        dump_name(&kept.path, 0, 2, "bzip2"),
    ];
    expected.sort();
    assert_eq!(site.entries(), expected);
    assert_eq!(
        read_file(&site.collect.join(dump_name(&kept.path, 0, 2, "bzip2"))),
        kept.dump(0, 2)
    );
}

#[test]
fn a_corrupt_state_file_dumps_from_zero_and_still_fails() {
    if svn::available("a_corrupt_state_file").is_none() {
        return;
    }
    let site = ExtensionRunDir::new(crate::BIN);
    let mut repo = Repo::create(&site.path("repo"), 2);
    let other = Repo::create(&site.path("other"), 1);
    site.config(
        &[SUBVERSION],
        "monday",
        &[],
        &section(
            "incr",
            "none",
            &format!("{}{}", repository(&repo.path), repository(&other.path)),
        ),
    );
    let state = state_path(&site, &repo.path);
    fs::write(&state, "not a pickle").unwrap();
    // As the original: the ERROR naming the file, then a dump from revision 0 and a good state
    // file, so that the night is backed up; unlike it, the run still exits 6.
    let output = run_on(&site, TUESDAY, &[]).code(6).get_output().clone();
    let stderr = String::from_utf8_lossy(&output.stderr);
    site.assert_logged(&format!(
        "Failed loading revision file [{}] from disk",
        state.display()
    ));
    assert!(
        stderr.contains("corrupt")
            && stderr.contains(&state.display().to_string())
            && stderr.contains("dumped from revision 0"),
        "{stderr}"
    );
    let mut expected = vec![
        dump_name(&repo.path, 0, 2, "none"),
        dump_name(&other.path, 0, 1, "none"),
    ];
    expected.sort();
    assert_eq!(site.entries(), expected);
    assert_eq!(
        read_file(&site.collect.join(dump_name(&repo.path, 0, 2, "none"))),
        repo.dump(0, 2)
    );
    assert_eq!(fs::read(&state).unwrap(), b"I2\n.");
    // The next night goes on from the new state file, and is clean.
    repo.commit(1);
    run_on(&site, TUESDAY, &[]).success();
    assert!(site
        .collect
        .join(dump_name(&repo.path, 3, 3, "none"))
        .is_file());
    assert_eq!(fs::read(&state).unwrap(), b"I3\n.");
}

#[test]
fn a_failing_dump_keeps_the_state_and_names_the_cause() {
    if svn::available("a_failing_dump").is_none() {
        return;
    }
    let site = ExtensionRunDir::new(crate::BIN);
    let repo = Repo::create(&site.path("repo"), 2);
    fs::write(state_path(&site, &repo.path), "I1\n.").unwrap();
    let svnadmin = site.script(
        "svnadmin",
        "echo 'SVN-fs-dump-format-version: 2'; echo 'svnadmin: E160000: disk on fire' >&2; exit 1",
    );
    site.config(
        &[SUBVERSION],
        "monday",
        &[("svnadmin", svnadmin.as_path())],
        &section("incr", "gzip", &repository(&repo.path)),
    );
    let output = run_on(&site, TUESDAY, &[]).code(6).get_output().clone();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("Error executing Subversion dump") && stderr.contains("disk on fire"),
        "{stderr}"
    );
    assert!(site.entries().is_empty(), "{:?}", site.entries());
    assert_eq!(fs::read(state_path(&site, &repo.path)).unwrap(), b"I1\n.");
}

#[test]
fn the_section_is_checked_with_the_originals_messages() {
    let site = ExtensionRunDir::new(crate::BIN);
    for (section, message) in [
        ("", "Subversion section is required."),
        (
            "<subversion><collect_mode>daily</collect_mode></subversion>",
            "At least one Subversion repository must be configured.",
        ),
        (
            "<subversion><compress_mode>gzip</compress_mode><repository><abs_path>/a</abs_path></repository></subversion>",
            "Collect mode must either be set in parent section or individual repository.",
        ),
        (
            "<subversion><collect_mode>daily</collect_mode><compress_mode>zip</compress_mode><repository><abs_path>/a</abs_path></repository></subversion>",
            "Compress mode must be one of ['none', 'gzip', 'bzip2'].",
        ),
        (
            "<subversion><collect_mode>daily</collect_mode><compress_mode>gzip</compress_mode><repository><abs_path>rel</abs_path></repository></subversion>",
            "Repository path must be an absolute path.",
        ),
    ] {
        site.config(&[SUBVERSION], "monday", &[], section);
        let output = site.cback(&["subversion"]).assert().code(6).get_output().clone();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(message), "{section}: {stderr}");
        let output = site.cback(&["validate"]).assert().code(6).get_output().clone();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(text.contains(message), "validate, {section}: {text}");
        assert!(site.entries().is_empty());
    }
}

/// The original runs the starting day, cback the next day, the original the day after: each
/// takes over the other's state file.
#[test]
fn state_files_pass_between_the_original_and_cback() {
    if svn::available("state_files_pass_between").is_none() {
        return;
    }
    let Some(cb3) = ext::original_or_skip("state_files_pass_between") else {
        return;
    };
    let site = ExtensionRunDir::new(crate::BIN);
    let mut repo = Repo::create(&site.path("repo"), 3);
    // The original decides the starting day from the clock: make today the starting day for
    // its first run, and another day for its last.
    let today = weekday_today();
    site.config(
        &[SUBVERSION],
        &today,
        &[],
        &section("incr", "bzip2", &repository(&repo.path)),
    );
    site.original(&cb3, &["subversion"]).assert().success();
    assert_eq!(fs::read(state_path(&site, &repo.path)).unwrap(), b"I3\n.");
    assert!(site
        .collect
        .join(dump_name(&repo.path, 0, 3, "bzip2"))
        .is_file());
    let other_day = if today == "monday" {
        "tuesday"
    } else {
        "monday"
    };
    site.config(
        &[SUBVERSION],
        other_day,
        &[],
        &section("incr", "bzip2", &repository(&repo.path)),
    );
    repo.commit(2);
    site.cback(&["subversion"]).assert().success();
    let ours = dump_name(&repo.path, 4, 5, "bzip2");
    assert_eq!(read_file(&site.collect.join(&ours)), repo.dump(4, 5));
    repo.commit(1);
    site.original(&cb3, &["subversion"]).assert().success();
    let theirs = dump_name(&repo.path, 6, 6, "bzip2");
    assert!(site.collect.join(&theirs).is_file(), "{:?}", site.entries());
    assert!(
        !site
            .original_log_text()
            .contains("Failed loading revision file"),
        "the original read cback's state file"
    );
    assert_eq!(fs::read(state_path(&site, &repo.path)).unwrap(), b"I6\n.");
}

fn weekday_today() -> String {
    let out = std::process::Command::new("date")
        .arg("+%A")
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_lowercase()
}
