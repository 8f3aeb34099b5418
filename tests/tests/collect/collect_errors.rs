//! End-to-end: bad input gives a clear message and never leaves a partial archive under a
//! final name.

use std::fs;
use std::path::Path;
use std::process::Command;

use crate::collect_support::*;

fn daily(f: &Fixture, dir: &str, extra: &str) {
    f.write_config(
        &format!(
            "<collect><collect_dir>{{ROOT}}/out</collect_dir><collect_mode>daily</collect_mode><archive_mode>targz</archive_mode><ignore_file>.cbignore</ignore_file>{extra}
<dir><abs_path>{dir}</abs_path></dir></collect>"
        ),
        "monday",
    );
}

/// Files in `dir` other than the final names given.
fn leftovers(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_missing_directory_is_named() {
    let f = Fixture::tree();
    daily(&f, "{ROOT}/no-such-dir", "");
    f.cback(WEDNESDAY, &["collect"]).assert().failure().code(6);
    let log = f.log_text();
    assert!(
        log.contains(&format!("{}/no-such-dir", f.root.display()))
            && log.contains("does not exist"),
        "{log}"
    );
    assert!(leftovers(&f.out()).is_empty(), "{:?}", leftovers(&f.out()));
}

#[test]
fn a_bad_regex_is_a_configuration_error_naming_the_pattern() {
    let f = Fixture::tree();
    daily(
        &f,
        "{ROOT}/src",
        "<exclude><pattern>(unclosed</pattern></exclude>",
    );
    // Rejected when the configuration is read (exit 4), before collect starts (exit 6).
    f.cback(WEDNESDAY, &["collect"]).assert().failure().code(4);
    let log = f.log_text();
    assert!(log.contains("(unclosed"), "{log}");
    assert!(leftovers(&f.out()).is_empty());
}

/// Mounts a tmpfs at `dir` (root only); false when mounting is not possible here.
fn mount_tmpfs(dir: &Path, options: &str) -> bool {
    is_root()
        && Command::new("mount")
            .args(["-t", "tmpfs", "-o", options, "tmpfs"])
            .arg(dir)
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
}

fn umount(dir: &Path) {
    let _ = Command::new("umount").arg(dir).status();
}

#[test]
fn a_full_collect_dir_fails_cleanly() {
    let f = Fixture::tree();
    // 2 MB of incompressible data cannot fit a 256 kB file system.
    let mut x: u64 = 7;
    let noise: Vec<u8> = (0..2_000_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    fs::write(f.src().join("noise.bin"), noise).unwrap();
    if !mount_tmpfs(&f.out(), "size=256k") {
        skipped(
            "a_full_collect_dir_fails_cleanly",
            "cannot mount a small tmpfs here",
        );
        return;
    }
    daily(&f, "{ROOT}/src", "");
    let result = f.cback(WEDNESDAY, &["collect"]).assert().failure();
    let left = leftovers(&f.out());
    umount(&f.out());
    result.code(6);
    assert!(left.is_empty(), "partial files left: {left:?}");
    let log = f.log_text();
    assert!(
        log.contains("free space") && log.contains("No space left"),
        "{log}"
    );
}

#[test]
fn a_read_only_collect_dir_fails_cleanly() {
    let f = Fixture::tree();
    if !mount_tmpfs(&f.out(), "ro,size=64k") {
        skipped(
            "a_read_only_collect_dir_fails_cleanly",
            "cannot mount a read-only tmpfs here",
        );
        return;
    }
    daily(&f, "{ROOT}/src", "");
    let result = f.cback(WEDNESDAY, &["collect"]).assert().failure();
    let left = leftovers(&f.out());
    umount(&f.out());
    result.code(6);
    assert!(left.is_empty(), "{left:?}");
    let log = f.log_text();
    assert!(
        log.contains(&format!("{}/out", f.root.display())) && log.contains("writable"),
        "{log}"
    );
}

#[test]
fn an_unreadable_subtree_is_reported_by_name() {
    // Permissions do not bite root: run cback as `nobody` when we are root.
    let f = Fixture::tree();
    let secret = f.src().join("sub/secret");
    fs::create_dir_all(&secret).unwrap();
    fs::write(secret.join("f"), b"s").unwrap();
    fs::write(f.src().join("locked.txt"), b"l").unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&secret, fs::Permissions::from_mode(0o700)).unwrap();
    fs::set_permissions(
        f.src().join("locked.txt"),
        fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    daily(&f, "{ROOT}/src", "");
    let mut cmd = if is_root() {
        let nobody = nix::unistd::User::from_name("nobody").unwrap().unwrap();
        for dir in [f.out(), f.work(), f.root.clone()] {
            nix::unistd::chown(&dir, Some(nobody.uid), None).unwrap();
        }
        // A copy nobody can execute wherever the build directory lives.
        let bin = f.root.join("cback");
        crate::BIN.cback_copy(&bin);
        let mut c = Command::new("setpriv");
        c.args(["--reuid=nobody", "--regid=nogroup", "--clear-groups"])
            .arg(&bin);
        c
    } else {
        Command::new(crate::BIN.cback_path())
    };
    let out = cmd
        .env("CEDAR_TODAY", WEDNESDAY)
        .arg("--config")
        .arg(f.config_path())
        .arg("--logfile")
        .arg(f.log())
        .arg("collect")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(6), "{out:?}");
    let log = f.log_text();
    assert!(log.contains(&secret.display().to_string()), "{log}");
    assert!(log.contains("locked.txt"), "{log}");
    // Everything readable is archived; no indicator, so staging sees the failure.
    let archive = f.out().join(format!("{}-src.tar.gz", f.normalized_root()));
    let names: Vec<String> = members(&archive).into_iter().map(|m| m.name).collect();
    assert!(names.iter().any(|n| n.ends_with("sub/s.txt")));
    assert!(!names
        .iter()
        .any(|n| n.contains("secret") || n.ends_with("locked.txt")));
    assert!(!f.out().join("cback.collect").exists());
}

#[test]
fn partial_archives_of_a_killed_run_are_removed_before_collecting() {
    let f = Fixture::tree();
    daily(&f, "{ROOT}/src", "");
    fs::create_dir_all(f.out()).unwrap();
    let stale = f.out().join(".src.tar.gz.AbC123.cback-partial");
    fs::write(&stale, b"half an archive").unwrap();
    let unrelated = f.out().join(".keep-me");
    fs::write(&unrelated, b"not ours").unwrap();
    f.cback(WEDNESDAY, &["collect"]).assert().success();
    assert!(
        !stale.exists(),
        "the stale partial archive was left for stage to copy"
    );
    assert!(unrelated.exists(), "a file cback did not write was removed");
    assert!(f
        .log_text()
        .contains("partial archive left by an interrupted run"));
}

#[test]
fn a_failed_run_removes_the_indicator_of_an_earlier_one() {
    let f = Fixture::tree();
    daily(&f, "{ROOT}/src", "");
    f.cback(WEDNESDAY, &["collect"]).assert().success();
    assert!(f.out().join("cback.collect").exists());
    // Stage must not take yesterday's archives for today's.
    daily(&f, "{ROOT}/no-such-dir", "");
    f.cback(WEDNESDAY, &["collect"]).assert().failure().code(6);
    assert!(
        !f.out().join("cback.collect").exists(),
        "the indicator of the earlier run was left: {:?}",
        leftovers(&f.out())
    );
}

#[test]
fn an_unknown_backup_user_or_group_stops_collect_before_anything_is_written() {
    if !is_root() {
        skipped(
            "an_unknown_backup_user_or_group_stops_collect_before_anything_is_written",
            "ownership is applied only when running as root",
        );
        return;
    }
    let (user, group) = backup_owner();
    for (bad_user, bad_group, named, element) in [
        (
            "cback-no-such-user",
            group.as_str(),
            "cback-no-such-user",
            "<options><backup_user>",
        ),
        (
            user.as_str(),
            "cback-no-such-group",
            "cback-no-such-group",
            "<options><backup_group>",
        ),
    ] {
        let f = Fixture::tree();
        // Two entries: the first archive must not be written either.
        daily(
            &f,
            "{ROOT}/src",
            "<file><abs_path>{ROOT}/src/a.txt</abs_path></file>",
        );
        let config = fs::read_to_string(f.config_path()).unwrap();
        let config = config
            .replace(
                &format!("<backup_user>{user}</backup_user>"),
                &format!("<backup_user>{bad_user}</backup_user>"),
            )
            .replace(
                &format!("<backup_group>{group}</backup_group>"),
                &format!("<backup_group>{bad_group}</backup_group>"),
            );
        fs::write(f.config_path(), config).unwrap();
        f.cback(WEDNESDAY, &["collect"]).assert().failure().code(6);
        assert!(
            leftovers(&f.out()).is_empty(),
            "written despite the unknown owner: {:?}",
            leftovers(&f.out())
        );
        let log = f.log_text();
        assert!(
            log.contains(&format!("`{named}`")) && log.contains(element),
            "{log}"
        );
    }
}
