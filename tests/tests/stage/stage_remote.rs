//! End-to-end: `cback stage` with remote peers over real ssh. A throwaway sshd listens on
//! 127.0.0.1 and 127.0.0.2 (two hosts); each peer's `<rcp_command>` carries the client options
//! (key, port, known hosts) as a site's wrapper would. Covered: two remote peers and a local one,
//! a name with a space, an unreachable host, a subdirectory in a remote collect directory, a
//! manifest mismatch, repeated runs on the same day, and SIGTERM during a copy.

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::stage_support::*;
use cback_tests::sshd::{self, Sshd, COUNTED_HOST, HOSTS, UNREACHABLE};

fn server(test: &str) -> Option<&'static Sshd> {
    sshd::shared(test)
}

/// A remote `<peer>` named `host` (the host it is reached at), collecting in `dir`.
pub(crate) fn remote_peer(host: &str, dir: &Path, rcp: &str, extra: &str) -> String {
    format!(
        "<peer><name>{host}</name><type>remote</type><collect_dir>{}</collect_dir>\
         <backup_user>{}</backup_user><rcp_command>{rcp}</rcp_command>{extra}</peer>",
        dir.display(),
        sshd::login_user()
    )
}

pub(crate) fn file(mode: u32, content: &[u8]) -> Option<FileState> {
    Some(FileState {
        mode,
        content: content.to_vec(),
    })
}

#[test]
fn remote_peers_on_two_hosts_and_a_local_peer_are_staged() {
    let Some(server) = server("remote_peers_on_two_hosts_and_a_local_peer_are_staged") else {
        return;
    };
    let site = StageMaster::new();
    let one = site.fill(
        "one",
        &[
            ("with space.tar", b"spaced name", 0o640),
            ("data.tar.gz", b"one's data", 0o644),
        ],
        true,
    );
    let two = site.fill("two", &[("b.tar", b"two's data", 0o600)], true);
    site.fill("here", &[("h.tar", b"local", 0o644)], true);
    let rcp = server.rcp_command();
    let config = site.config(
        OTHER_WEEKDAY,
        "",
        // One peer at a time, to see the original's order in the log.
        &site.stage_section(&format!(
            "{}{}{}<jobs>1</jobs>",
            remote_peer(HOSTS[0], &one, &rcp, ""),
            remote_peer(HOSTS[1], &two, &rcp, ""),
            site.local_peer("here", "")
        )),
    );
    let out = site.cback(&config, &["stage"]).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}\nsshd:\n{}",
        String::from_utf8_lossy(&out.stderr),
        site.log(),
        server.log()
    );
    let daily = site.daily();
    assert_eq!(
        names(&daily),
        [
            "127.0.0.1",
            "127.0.0.2",
            "cback.stage",
            "cback.stage.json",
            "here"
        ]
    );
    let staged_one = entries(&daily.join(HOSTS[0]));
    assert_eq!(staged_one.len(), 3, "{staged_one:?}");
    assert_eq!(staged_one["with space.tar"], file(0o640, b"spaced name"));
    assert_eq!(staged_one["data.tar.gz"], file(0o644, b"one's data"));
    assert!(staged_one.contains_key("cback.collect"));
    assert_eq!(
        entries(&daily.join(HOSTS[1]))["b.tar"],
        file(0o600, b"two's data")
    );
    assert_eq!(names(&daily.join("here")), ["cback.collect", "h.tar"]);
    // The indicator was pushed to each remote collect directory.
    for dir in [&one, &two] {
        assert_eq!(fs::metadata(dir.join("cback.stage")).unwrap().len(), 0);
    }
    // No copy directory, and nothing left in working_dir by the ready checks and pushes.
    assert!(hidden_entries(&site.staging()).is_empty());
    for name in ["cback.collect", "cback.stage"] {
        assert!(
            !site.work().join(name).exists(),
            "{name} left in working_dir"
        );
    }
    // Local peers first, then remote ones, as the original.
    let log = site.log();
    let at = |peer: &str| log.find(&format!("Staging peer [{peer}].")).unwrap();
    assert!(
        at("here") < at(HOSTS[0]) && at(HOSTS[0]) < at(HOSTS[1]),
        "{log}"
    );
    assert!(
        log.contains("Staged 3 files for peer [127.0.0.1]."),
        "{log}"
    );
    let status = site.status();
    assert_eq!(peer_status(&status, HOSTS[1])["files"], 2);
    assert_eq!(peer_status(&status, HOSTS[1])["bytes"], 10);
}

/// The processes whose command line mentions `text` (a master ssh names its socket).
fn processes_naming(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(line) = fs::read(entry.path().join("cmdline")) {
            let line = String::from_utf8_lossy(&line).replace('\0', " ");
            if line.contains(text) {
                found.push(format!("{}: {line}", entry.file_name().to_string_lossy()));
            }
        }
    }
    found
}

#[test]
fn a_peers_three_calls_share_one_ssh_connection_and_leave_no_master() {
    let test = "a_peers_three_calls_share_one_ssh_connection_and_leave_no_master";
    let Some(server) = server(test) else {
        return;
    };
    let Some(rsync) = sshd::rsync(test) else {
        return;
    };
    // scp, and rsync over ssh (doc/stage.md): one after the other, as they count on one host.
    for rcp in [server.rcp_command(), server.rsync_rcp_command(&rsync)] {
        let site = StageMaster::new();
        let dir = site.fill("counted", &[("c.tar", b"counted", 0o644)], true);
        let config = site.config(
            OTHER_WEEKDAY,
            "",
            &site.stage_section(&remote_peer(COUNTED_HOST, &dir, &rcp, "")),
        );
        let before = server.connections_to(COUNTED_HOST);
        let out = site.cback(&config, &["--debug", "stage"]).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{rcp}: {stderr}\n{}",
            site.log()
        );
        assert_eq!(
            entries(&site.daily().join(COUNTED_HOST))["c.tar"],
            file(0o644, b"counted")
        );
        assert_eq!(fs::metadata(dir.join("cback.stage")).unwrap().len(), 0);
        // The ready check, the copy and the push: three calls, one connection (scp -r's one).
        assert_eq!(
            server.connections_to(COUNTED_HOST) - before,
            1,
            "{rcp}: {}\nsshd:\n{}",
            site.log(),
            server.log()
        );
        let log = site.log();
        assert!(log.contains("ControlMaster=auto"), "{log}");
        assert!(log.contains("Ended the shared ssh connection"), "{log}");
        // The master was asked to end: nothing runs with the peer's socket any more.
        let work = site.work().display().to_string();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !processes_naming(&work).is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        assert_eq!(processes_naming(&work), Vec::<String>::new());
        assert!(hidden_entries(&site.work()).is_empty());
    }
}

#[test]
fn an_unreachable_host_is_not_ready_and_fails_unless_ignored() {
    let Some(server) = server("an_unreachable_host_is_not_ready_and_fails_unless_ignored") else {
        return;
    };
    let site = StageMaster::new();
    let gone = site.fill("gone", &[("g.tar", b"g", 0o644)], true);
    let up = site.fill("up", &[("u.tar", b"u", 0o644)], true);
    let rcp = server.rcp_command();
    for (extra, want) in [("", 6), ("<ignore_failures>all</ignore_failures>", 0)] {
        let config = site.config(
            OTHER_WEEKDAY,
            "",
            &site.stage_section(&format!(
                "{}{}",
                remote_peer(UNREACHABLE, &gone, &rcp, extra),
                remote_peer(HOSTS[0], &up, &rcp, "")
            )),
        );
        let out = site.cback(&config, &["stage"]).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(want), "{extra}: {stderr}");
        if want == 6 {
            assert!(
                stderr.contains("1 of 2 peers failed (127.0.0.3)"),
                "{stderr}"
            );
            assert!(
                stderr.contains("peer [127.0.0.3] was not ready to be staged"),
                "{stderr}"
            );
            // The cause: the copy's exit status and its own words on standard error (scp -q
            // keeps ssh's "Connection refused" quiet, but not its own words). Which words and
            // status depend on a race inside scp: when it sees ssh's exit first, 255 and
            // "Connection closed"; when it sees the pipe close first, 1 and "lost connection".
            assert!(
                (stderr.contains("failed with exit status 255: ")
                    && stderr.contains("Connection "))
                    || (stderr.contains("failed with exit status 1: ")
                        && stderr.contains("lost connection")),
                "{stderr}"
            );
        }
        // The reachable peer is staged both times (the second time with the cback.stage the
        // first run pushed).
        let staged = names(&site.daily().join(HOSTS[0]));
        assert!(staged.contains(&"u.tar".to_string()), "{staged:?}");
        assert!(names(&site.daily().join(UNREACHABLE)).is_empty());
    }
}

#[test]
fn a_subdirectory_in_a_remote_collect_dir_fails_the_peer_after_staging_the_files() {
    let Some(server) =
        server("a_subdirectory_in_a_remote_collect_dir_fails_the_peer_after_staging_the_files")
    else {
        return;
    };
    let site = StageMaster::new();
    let dir = site.fill("r", &[("a.tar", b"a", 0o644)], true);
    fs::create_dir(dir.join("nested")).unwrap();
    fs::write(dir.join("nested/inner"), b"i").unwrap();
    let config = site.config(
        OTHER_WEEKDAY,
        "",
        &site.stage_section(&remote_peer(HOSTS[1], &dir, &server.rcp_command(), "")),
    );
    let out = site.cback(&config, &["stage"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(6), "{stderr}");
    assert!(
        stderr.contains("peer [127.0.0.2]: the copy skipped what is not a regular file"),
        "{stderr}"
    );
    assert!(stderr.contains("nested/: not a regular file"), "{stderr}");
    // What the copy brought is staged, as by the original (stage_compat.rs compares the trees).
    assert_eq!(
        names(&site.daily().join(HOSTS[1])),
        ["a.tar", "cback.collect"]
    );
    assert!(hidden_entries(&site.staging()).is_empty());
    assert!(!dir.join("cback.stage").exists());
}

#[test]
fn a_remote_dump_that_does_not_match_its_manifest_fails_the_peer() {
    use cedar_core::{DumpStatus, Manifest, ManifestEntry};
    use cedar_ext_postgresql::MANIFEST_KIND;
    let Some(server) = server("a_remote_dump_that_does_not_match_its_manifest_fails_the_peer")
    else {
        return;
    };
    let site = StageMaster::new();
    let dir = site.fill(
        "db",
        &[("postgresqldump.txt.gz", b"all databases", 0o640)],
        true,
    );
    let listed = Manifest::new(vec![ManifestEntry {
        name: "postgresqldump.txt.gz".into(),
        database: "all".into(),
        status: DumpStatus::Ok,
        size: Some(13),
        // Not the file's checksum.
        sha256: Some("0".repeat(64)),
        verified: true,
        pg_dump_version: None,
        server_version: None,
        start: "2026-03-04T01:00:00Z".into(),
        end: "2026-03-04T01:00:01Z".into(),
        error: None,
        replacing: Vec::new(),
        left_out: Vec::new(),
        warnings: Vec::new(),
    }]);
    MANIFEST_KIND.write(&dir, &listed, None).unwrap();
    let config = site.config(
        OTHER_WEEKDAY,
        "",
        &site.stage_section(&remote_peer(HOSTS[0], &dir, &server.rcp_command(), "")),
    );
    let out = site.cback(&config, &["stage"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(6), "{stderr}");
    assert!(
        stderr.contains("peer [127.0.0.1]: 1 staged file(s) do not match"),
        "{stderr}"
    );
    assert!(
        stderr.contains("- postgresqldump.txt.gz: sha256 "),
        "{stderr}"
    );
    assert!(names(&site.daily().join(HOSTS[0])).is_empty());
    assert!(hidden_entries(&site.staging()).is_empty());
}

#[test]
fn repeated_runs_on_the_same_day_succeed() {
    let Some(server) = server("repeated_runs_on_the_same_day_succeed") else {
        return;
    };
    let site = StageMaster::new();
    let dir = site.fill("r", &[("a.tar", b"first", 0o644)], true);
    let config = site.config(
        OTHER_WEEKDAY,
        "",
        &site.stage_section(&remote_peer(HOSTS[0], &dir, &server.rcp_command(), "")),
    );
    // The original fails from the third run on ("did not copy any new files"); cback does not.
    for run in 1..=3 {
        fs::write(dir.join("a.tar"), format!("run {run}")).unwrap();
        let out = site.cback(&config, &["stage"]).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "run {run}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            fs::read_to_string(site.daily().join("127.0.0.1/a.tar")).unwrap(),
            format!("run {run}")
        );
    }
    assert_eq!(
        names(&site.daily().join(HOSTS[0])),
        ["a.tar", "cback.collect", "cback.stage"]
    );
}

/// Incompressible bytes (scp runs with -C).
fn noise(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// The processes whose command line mentions `needle`.
fn processes_mentioning(needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(cmdline) = fs::read(entry.path().join("cmdline")) {
            let text = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            if text.contains(needle) {
                found.push(text);
            }
        }
    }
    found
}

#[test]
fn sigterm_during_a_remote_copy_exits_5_and_leaves_no_partial_file() {
    let Some(server) = server("sigterm_during_a_remote_copy_exits_5_and_leaves_no_partial_file")
    else {
        return;
    };
    let site = StageMaster::new();
    let big = noise(24 << 20);
    let dir = site.fill("slow", &[("big.bin", &big, 0o644)], true);
    // 1600 kbit/s: about two minutes for the whole file.
    let rcp = server.rcp_command_with("-l 1600");
    let config = site.config(
        OTHER_WEEKDAY,
        "",
        &site.stage_section(&remote_peer(HOSTS[0], &dir, &rcp, "")),
    );
    let mut child = std::process::Command::new(crate::BIN.cback_path())
        .env("CEDAR_TODAY", TODAY)
        .env_remove("CEDAR_LOG")
        .arg("--config")
        .arg(&config)
        .arg("--logfile")
        .arg(site.log_path())
        .arg("stage")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until part of the file has arrived in the copy directory.
    let deadline = Instant::now() + Duration::from_secs(60);
    let copy_dir = loop {
        let partial = fs::read_dir(site.daily()).ok().and_then(|entries| {
            entries.flatten().find_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                let file = e.path().join("big.bin");
                let size = fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
                (name.starts_with(".127.0.0.1.") && size > 0).then(|| e.path())
            })
        });
        if let Some(dir) = partial {
            break dir;
        }
        assert!(
            Instant::now() < deadline,
            "the copy did not start: {}",
            site.log()
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "cback ended early: {}",
            site.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "cback did not stop after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let stderr = {
        use std::io::Read;
        let mut text = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        text
    };
    assert_eq!(status.code(), Some(5), "{stderr}");
    // The message names the peer being copied and what was left as it was.
    assert!(
        stderr.contains("interrupted during action stage while staging peer [127.0.0.1]")
            && stderr.contains("not yet put in place was removed")
            && stderr.contains("the daily cback.stage was not written"),
        "{stderr}"
    );
    // No partial file under a final name, no copy directory, no copy still running.
    assert!(!site.daily().join("127.0.0.1/big.bin").exists());
    assert!(names(&site.daily().join(HOSTS[0])).is_empty());
    assert!(!copy_dir.exists(), "{} is left", copy_dir.display());
    assert!(hidden_entries(&site.staging()).is_empty());
    let needle = copy_dir.display().to_string();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !processes_mentioning(&needle).is_empty() {
        assert!(
            Instant::now() < deadline,
            "still running: {:?}",
            processes_mentioning(&needle)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // Interrupted: no daily indicator, no indicator pushed.
    assert!(!site.daily().join("cback.stage").exists());
    assert!(!dir.join("cback.stage").exists());
}

/// Makes `dir` unwritable for the test's lifetime: immutable as root (who ignores modes), mode
/// 0555 otherwise; undone on drop. `None` when the file system cannot (no `chattr`).
struct Unwritable(std::path::PathBuf);

impl Unwritable {
    fn new(dir: &Path) -> Option<Unwritable> {
        use std::os::unix::fs::PermissionsExt;
        if is_root() {
            let ok = std::process::Command::new("chattr")
                .arg("+i")
                .arg(dir)
                .status()
                .is_ok_and(|s| s.success());
            if !ok {
                return None;
            }
        } else {
            fs::set_permissions(dir, fs::Permissions::from_mode(0o555)).unwrap();
        }
        Some(Unwritable(dir.to_path_buf()))
    }
}

impl Drop for Unwritable {
    fn drop(&mut self) {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::process::Command::new("chattr")
            .arg("-i")
            .arg(&self.0)
            .status();
        let _ = fs::set_permissions(&self.0, fs::Permissions::from_mode(0o755));
    }
}

#[test]
fn an_unwritable_daily_directory_names_the_peer_and_the_indicator() {
    let Some(server) = server("an_unwritable_daily_directory_names_the_peer_and_the_indicator")
    else {
        return;
    };
    let site = StageMaster::new();
    let dir = site.fill("r", &[("a.tar", b"a", 0o644)], true);
    let config = site.config(
        OTHER_WEEKDAY,
        "",
        &site.stage_section(&remote_peer(HOSTS[1], &dir, &server.rcp_command(), "")),
    );
    // A daily directory (and the peer's) left by an earlier run, since made unwritable.
    fs::create_dir_all(site.daily().join(HOSTS[1])).unwrap();
    let Some(_guard) = Unwritable::new(&site.daily()) else {
        skipped(
            "an_unwritable_daily_directory_names_the_peer_and_the_indicator",
            "chattr +i is not possible here",
        );
        return;
    };
    let out = site.cback(&config, &["stage"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(6), "{stderr}");
    // The final error names the peer that failed and why, and the daily indicator as well.
    assert!(
        stderr.contains("all 1 peers failed (127.0.0.2)")
            && stderr.contains("peer [127.0.0.2]: cannot create the directory its copy lands in")
            && stderr.contains(&format!(
                "cannot write the indicator {}",
                site.daily().join("cback.stage").display()
            )),
        "{stderr}"
    );
    assert!(!stderr.contains("cannot put"), "{stderr}");
    assert!(!dir.join("cback.stage").exists());
}
