//! `cback doctor` with remote and managed peers over the harness's sshd: a reachable peer
//! passes (its rcp command finds its collect directory, and nothing is left on the peer); a
//! peer whose collect directory is missing and an unreachable host fail, within the time limit;
//! a managed peer passes when its cback command answers `--version` through the rsh command
//! (the peer's cback is the binary under test) and fails, named with what to do, when it does
//! not.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::stage_support::*;
use cback_tests::sshd::{self, Sshd, HOSTS, UNREACHABLE};

fn remote_peer(host: &str, dir: &Path, rcp: &str) -> String {
    format!(
        "<peer><name>{host}</name><type>remote</type><collect_dir>{}</collect_dir>\
         <backup_user>{}</backup_user><rcp_command>{rcp}</rcp_command></peer>",
        dir.display(),
        sshd::login_user()
    )
}

/// `cback doctor` on `config`: its standard output, once it exited with `code`.
fn doctor(site: &StageMaster, config: &Path, server: &Sshd, code: i32) -> String {
    let out = site.cback(config, &["doctor"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        out.status.code(),
        Some(code),
        "{stdout}\n{}\nsshd:\n{}",
        String::from_utf8_lossy(&out.stderr),
        server.log()
    );
    stdout
}

const REFERENCE: &str = "<reference><author>test</author></reference>";

#[test]
fn doctor_reaches_remote_peers_and_names_the_ones_it_cannot() {
    let test = "doctor_reaches_remote_peers_and_names_the_ones_it_cannot";
    let Some(server) = sshd::shared(test) else {
        return;
    };
    let Some(rsync) = sshd::rsync(test) else {
        return;
    };
    // scp, and rsync over ssh (doc/stage.md), which skips the directory and exits 0.
    for rcp in [
        server.rcp_command_with("-o ConnectTimeout=5"),
        server.rsync_rcp_command(&rsync),
    ] {
        let site = StageMaster::new();
        let one = site.fill("one", &[("a.tar", b"data", 0o644)], true);
        let before = entries(&one);
        let gone = site.collect_dir("gone").join("missing");
        let config = site.config(
            OTHER_WEEKDAY,
            "",
            &site.stage_section(&format!(
                "{}{}{}",
                remote_peer(HOSTS[0], &one, &rcp),
                remote_peer(HOSTS[1], &gone, &rcp),
                remote_peer(UNREACHABLE, &one, &rcp),
            )),
        );
        let started = Instant::now();
        let stdout = doctor(&site, &config, server, 6);
        assert!(
            stdout.contains(&format!(
                "PASS stage peer {}: remote peer: reached",
                HOSTS[0]
            )),
            "{rcp}: {stdout}\nsshd:\n{}",
            server.log()
        );
        // The probe wrote nothing on the peer, and left nothing in the working directory.
        assert_eq!(entries(&one), before);
        assert_eq!(
            hidden_entries(&site.work()),
            Vec::<std::path::PathBuf>::new()
        );
        assert!(
            stdout.contains(&format!("FAIL stage peer {}: remote peer:", HOSTS[1])),
            "{rcp}: {stdout}"
        );
        assert!(
            stdout.contains(&format!("FAIL stage peer {UNREACHABLE}: remote peer:")),
            "{rcp}: {stdout}"
        );
        // Nothing staged, and the doctor did not wait for the unreachable host beyond its limit.
        assert!(!site.daily().exists());
        assert!(started.elapsed() < Duration::from_secs(60));
    }
}

#[test]
fn doctor_passes_a_good_site_with_a_managed_peer_and_leaves_nothing_on_it() {
    let Some(server) =
        sshd::shared("doctor_passes_a_good_site_with_a_managed_peer_and_leaves_nothing_on_it")
    else {
        return;
    };
    let site = StageMaster::new();
    let one = site.fill("one", &[("a.tar", b"data", 0o644)], true);
    let before = entries(&one);
    let cback = crate::BIN.cback_path().display().to_string();
    let config = site.config(
        OTHER_WEEKDAY,
        "",
        &format!(
            "{REFERENCE}<peers>{}</peers>{}",
            managed_peer(HOSTS[0], &one, server, &cback),
            site.stage_section(&remote_peer(HOSTS[0], &one, &server.rcp_command()))
        ),
    );
    let stdout = doctor(&site, &config, server, 0);
    assert!(stdout.lines().all(|l| l.starts_with("PASS ")), "{stdout}");
    let version = format!("cback {}", env!("CARGO_PKG_VERSION"));
    assert!(
        stdout.lines().any(|l| l
            .starts_with(&format!("PASS managed peer {}: answers `", HOSTS[0]))
            && l.contains("--version'")
            && l.ends_with(&version)),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "PASS stage peer {}: remote peer: reached",
            HOSTS[0]
        )),
        "{stdout}"
    );
    assert_eq!(entries(&one), before);
    assert_eq!(
        hidden_entries(&site.work()),
        Vec::<std::path::PathBuf>::new()
    );
}

#[test]
fn doctor_names_a_managed_peer_without_cback_and_one_it_cannot_reach() {
    let Some(server) =
        sshd::shared("doctor_names_a_managed_peer_without_cback_and_one_it_cannot_reach")
    else {
        return;
    };
    let site = StageMaster::new();
    let dir = site.collect_dir("managed");
    let missing = site.root.join("no-such-cback");
    let cback = crate::BIN.cback_path().display().to_string();
    let config = site.config(
        OTHER_WEEKDAY,
        "",
        &format!(
            "{REFERENCE}<peers>{}{}</peers>{}",
            managed_peer(HOSTS[1], &dir, server, &missing.display().to_string()),
            managed_peer(UNREACHABLE, &dir, server, &cback),
            site.stage_section("")
        ),
    );
    let started = Instant::now();
    let stdout = doctor(&site, &config, server, 6);
    let line = |host: &str| {
        stdout
            .lines()
            .find(|l| l.starts_with(&format!("FAIL managed peer {host}: ")))
            .unwrap_or_else(|| panic!("no FAIL line for {host}: {stdout}"))
            .to_string()
    };
    // The remote shell's "command not found", the command that was run, and what to do.
    let no_cback = line(HOSTS[1]);
    assert!(
        no_cback.contains("failed with exit status 127"),
        "{no_cback}"
    );
    assert!(
        no_cback.contains(&format!("{} --version", missing.display())),
        "{no_cback}"
    );
    assert!(no_cback.contains("install cback on the peer"), "{no_cback}");
    let unreachable = line(UNREACHABLE);
    assert!(
        unreachable.contains("failed with exit status 255"),
        "{unreachable}"
    );
    assert!(
        unreachable.contains("<rsh_command> reaches it"),
        "{unreachable}"
    );
    assert!(started.elapsed() < Duration::from_secs(60));
}
