//! `cback doctor` with remote peers over the harness's sshd: a reachable peer passes (its rcp
//! command copies the probe into its collect directory); a peer whose collect directory is
//! missing and an unreachable host fail, within the time limit.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::stage_support::*;
use cback_tests::sshd::{self, HOSTS, UNREACHABLE};

fn remote_peer(host: &str, dir: &Path, rcp: &str) -> String {
    format!(
        "<peer><name>{host}</name><type>remote</type><collect_dir>{}</collect_dir>\
         <backup_user>{}</backup_user><rcp_command>{rcp}</rcp_command></peer>",
        dir.display(),
        sshd::login_user()
    )
}

#[test]
fn doctor_reaches_remote_peers_and_names_the_ones_it_cannot() {
    let Some(server) = sshd::shared("doctor_reaches_remote_peers_and_names_the_ones_it_cannot")
    else {
        return;
    };
    let site = StageMaster::new();
    let one = site.fill("one", &[("a.tar", b"data", 0o644)], true);
    let gone = site.collect_dir("gone").join("missing");
    let rcp = server.rcp_command_with("-o ConnectTimeout=5");
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
    let out = site.cback(&config, &["doctor"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(6),
        "{stdout}\nsshd:\n{}",
        server.log()
    );
    assert!(
        stdout.contains(&format!(
            "PASS stage peer {}: remote peer: reached",
            HOSTS[0]
        )),
        "{stdout}\nsshd:\n{}",
        server.log()
    );
    assert!(one.join(".cback-doctor-probe").is_file());
    assert!(
        stdout.contains(&format!("FAIL stage peer {}: remote peer:", HOSTS[1])),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("FAIL stage peer {UNREACHABLE}: remote peer:")),
        "{stdout}"
    );
    // Nothing staged, and the doctor did not wait for the unreachable host beyond its limit.
    assert!(!site.daily().exists());
    assert!(started.elapsed() < Duration::from_secs(60));
}
