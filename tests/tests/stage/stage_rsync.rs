//! End-to-end: a remote peer staged with rsync as its rcp command (doc/stage.md:
//! `<rcp_command>/usr/bin/rsync -t -e "ssh OPTIONS"</rcp_command>`) over the harness's sshd.
//! The staged tree is the one scp gives (names, contents, modes), a subdirectory of the
//! collect directory is skipped and fails the peer after its files are staged, as with scp;
//! an unreachable host and a missing collect directory fail naming the peer. That the peer's
//! calls share one ssh connection is checked with scp's in stage_remote.rs (the one test that
//! counts connections), the doctor's probe in stage_doctor.rs, the progress of its copy in
//! stage_progress.rs, the original's tree in stage_compat.rs.

use std::fs;
use std::path::PathBuf;

use crate::stage_remote::{file, remote_peer};
use crate::stage_support::*;
use cback_tests::sshd::{self, Sshd, HOSTS, UNREACHABLE};

/// The ssh server and rsync; `None` (after a skip line) without them.
fn rig(test: &str) -> Option<(&'static Sshd, PathBuf)> {
    let server = sshd::shared(test)?;
    let rsync = sshd::rsync(test)?;
    Some((server, rsync))
}

const FILES: &[(&str, &[u8], u32)] = &[
    ("with space.tar", b"spaced name", 0o640),
    ("data.tar.gz", b"the data", 0o644),
    ("private.tar", b"private", 0o600),
];

#[test]
fn rsync_stages_the_tree_scp_stages_and_skips_a_subdirectory_the_same_way() {
    let Some((server, rsync)) =
        rig("rsync_stages_the_tree_scp_stages_and_skips_a_subdirectory_the_same_way")
    else {
        return;
    };
    let mut trees = Vec::new();
    for rcp in [server.rcp_command(), server.rsync_rcp_command(&rsync)] {
        let site = StageMaster::new();
        let dir = site.fill("r", FILES, true);
        fs::create_dir(dir.join("nested")).unwrap();
        fs::write(dir.join("nested/inner"), b"i").unwrap();
        let config = site.config(
            OTHER_WEEKDAY,
            "",
            &site.stage_section(&remote_peer(HOSTS[1], &dir, &rcp, "")),
        );
        let out = site.cback(&config, &["stage"]).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(6), "{rcp}: {stderr}");
        assert!(
            stderr.contains("peer [127.0.0.2]: the copy skipped what is not a regular file")
                && stderr.contains("the 4 regular file(s) it brought were staged"),
            "{stderr}"
        );
        // Each copy program's own words about the subdirectory.
        let said = if rcp.contains("rsync") {
            "said: skipping directory nested"
        } else {
            "nested/: not a regular file"
        };
        assert!(stderr.contains(said), "{stderr}");
        assert!(hidden_entries(&site.staging()).is_empty());
        assert!(hidden_entries(&site.work()).is_empty());
        assert!(!dir.join("cback.stage").exists());
        let staged = entries(&site.daily().join(HOSTS[1]));
        assert_eq!(staged["with space.tar"], file(0o640, b"spaced name"));
        trees.push(staged);

        // Without the subdirectory the peer is staged and its indicator pushed.
        fs::remove_dir_all(dir.join("nested")).unwrap();
        let out = site.cback(&config, &["stage"]).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{rcp}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(fs::metadata(dir.join("cback.stage")).unwrap().len(), 0);
        assert_eq!(
            entries(&site.daily().join(HOSTS[1])),
            trees[trees.len() - 1]
        );
    }
    assert_eq!(trees[0].len(), 4, "{:?}", trees[0]);
    assert_eq!(trees[1], trees[0], "rsync staged another tree than scp");
}

#[test]
fn rsync_toward_an_unreachable_host_or_a_missing_directory_fails_naming_the_peer() {
    let Some((server, rsync)) =
        rig("rsync_toward_an_unreachable_host_or_a_missing_directory_fails_naming_the_peer")
    else {
        return;
    };
    let site = StageMaster::new();
    let up = site.fill("up", &[("u.tar", b"u", 0o644)], true);
    let missing = site.collect_dir("gone").join("missing");
    let rcp = server.rsync_rcp_command(&rsync);
    let config = site.config(
        OTHER_WEEKDAY,
        "",
        &site.stage_section(&format!(
            "{}{}",
            remote_peer(UNREACHABLE, &up, &rcp, ""),
            remote_peer(HOSTS[0], &missing, &rcp, "")
        )),
    );
    let out = site.cback(&config, &["stage"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(6), "{stderr}");
    assert!(
        stderr.contains("peer [127.0.0.3] was not ready to be staged")
            && stderr.contains("peer [127.0.0.1] was not ready to be staged"),
        "{stderr}"
    );
    // The causes, in ssh's and rsync's own words. rsync's status for the refused connection
    // depends on what it sees first: ssh's exit (255) or the closed stream (12).
    assert!(
        (stderr.contains("failed with exit status 255: ")
            || stderr.contains("failed with exit status 12: "))
            && stderr.contains("Connection refused"),
        "{stderr}"
    );
    assert!(
        stderr.contains("failed with exit status 23")
            && stderr.contains("No such file or directory"),
        "{stderr}"
    );
    assert!(names(&site.daily().join(UNREACHABLE)).is_empty());
    assert!(names(&site.daily().join(HOSTS[0])).is_empty());
    assert!(hidden_entries(&site.work()).is_empty());
    assert!(!up.join("cback.stage").exists());
}
