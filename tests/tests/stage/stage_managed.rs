//! End-to-end: `--managed` and `--managed-only` over real ssh. The managed peer's
//! `<cback_command>` is the binary under test with the peer's own `--config`, run on the peer
//! (127.0.0.1 or 127.0.0.2 of a throwaway sshd) through the `<rsh_command>`.

use std::fs;
use std::path::{Path, PathBuf};

use crate::stage_support::*;
use cback_tests::sshd::{self, Sshd, HOSTS};

/// A peer machine: its own configuration collecting `src` into its collect directory.
struct PeerSide {
    collect: PathBuf,
    config: PathBuf,
    log: PathBuf,
}

fn peer_side(site: &StageMaster, name: &str) -> PeerSide {
    let base = site.root.join(format!("peer-{name}"));
    let src = base.join("src");
    let work = base.join("work");
    for dir in [&src, &work] {
        fs::create_dir_all(dir).unwrap();
    }
    fs::write(src.join("notes.txt"), format!("{name}'s notes\n")).unwrap();
    let collect = site.collect_dir(name);
    let (user, group) = backup_owner();
    let config = base.join("peer.conf");
    fs::write(
        &config,
        format!(
            "<?xml version=\"1.0\"?>\n<cb_config>\n<options><starting_day>monday</starting_day>\
             <working_dir>{}</working_dir><backup_user>{user}</backup_user>\
             <backup_group>{group}</backup_group><rcp_command>/usr/bin/scp -B</rcp_command>\
             </options>\n<collect><collect_dir>{}</collect_dir><collect_mode>daily</collect_mode>\
             <archive_mode>tar</archive_mode><ignore_file>.cbignore</ignore_file><dir><abs_path>{}</abs_path></dir></collect>\n\
             </cb_config>\n",
            work.display(),
            collect.display(),
            src.display()
        ),
    )
    .unwrap();
    PeerSide {
        collect,
        config,
        log: base.join("cback.log"),
    }
}

/// The `<cback_command>` that runs the binary under test with the peer's configuration.
fn cback_command(side: &PeerSide) -> String {
    format!(
        "{} --config {} --logfile {}",
        crate::BIN.cback_path().display(),
        side.config.display(),
        side.log.display()
    )
}

/// The master's own `<collect>` of `ROOT/master-src` into `ROOT/master-collect`.
fn master_collect(site: &StageMaster) -> String {
    let src = site.root.join("master-src");
    fs::create_dir_all(&src).unwrap();
    fs::create_dir_all(site.root.join("master-collect")).unwrap();
    fs::write(src.join("m.txt"), b"master\n").unwrap();
    format!(
        "<collect><collect_dir>{}</collect_dir><collect_mode>daily</collect_mode>\
         <archive_mode>tar</archive_mode><ignore_file>.cbignore</ignore_file><dir><abs_path>{}</abs_path></dir></collect>",
        site.root.join("master-collect").display(),
        src.display()
    )
}

fn tars(dir: &Path) -> Vec<String> {
    names(dir)
        .into_iter()
        .filter(|n| n.ends_with(".tar"))
        .collect()
}

fn start(test: &str) -> Option<&'static Sshd> {
    sshd::shared(test)
}

#[test]
fn managed_only_collect_runs_collect_on_the_peer_and_nothing_here() {
    let Some(server) = start("managed_only_collect_runs_collect_on_the_peer_and_nothing_here")
    else {
        return;
    };
    let site = StageMaster::new();
    let side = peer_side(&site, HOSTS[0]);
    let peers = format!(
        "<peers>{}</peers>",
        managed_peer(HOSTS[0], &side.collect, server, &cback_command(&side))
    );
    let config = site.config(
        OTHER_WEEKDAY,
        "",
        &format!("{peers}{}{}", master_collect(&site), site.stage_section("")),
    );
    let out = site
        .cback(&config, &["--full", "--managed-only", "collect"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}\nsshd:\n{}",
        String::from_utf8_lossy(&out.stderr),
        site.log(),
        server.log()
    );
    // The peer collected, with --full passed on; the master did not collect.
    assert_eq!(tars(&side.collect).len(), 1, "{:?}", names(&side.collect));
    assert!(side.collect.join("cback.collect").is_file());
    let peer_log = fs::read_to_string(&side.log).unwrap();
    assert!(peer_log.contains("Options were [--full "), "{peer_log}");
    assert!(!site
        .root
        .join("master-collect")
        .join("cback.collect")
        .exists());
    let log = site.log();
    assert!(
        log.contains("Executing managed action [collect] on peer [127.0.0.1]."),
        "{log}"
    );
}

#[test]
fn managed_collect_stage_collects_on_the_peer_then_stages_what_it_collected() {
    let Some(server) =
        start("managed_collect_stage_collects_on_the_peer_then_stages_what_it_collected")
    else {
        return;
    };
    let site = StageMaster::new();
    let side = peer_side(&site, HOSTS[1]);
    let peers = format!(
        "<peers>{}</peers>",
        managed_peer(HOSTS[1], &side.collect, server, &cback_command(&side))
    );
    let config = site.config(
        OTHER_WEEKDAY,
        "",
        &format!("{peers}{}{}", master_collect(&site), site.stage_section("")),
    );
    let out = site
        .cback(&config, &["--managed", "collect", "stage"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        site.log()
    );
    // Local collect, then the managed collect, then stage (ordering.md).
    let log = site.log();
    let at = |text: &str| {
        log.find(text)
            .unwrap_or_else(|| panic!("no {text:?} in {log}"))
    };
    assert!(at("Executing the 'collect' action.") < at("Executing managed action [collect]"));
    assert!(at("Executing managed action [collect]") < at("Executing the 'stage' action."));
    // The master staged exactly what the peer collected.
    let peer_tars = tars(&side.collect);
    assert_eq!(peer_tars.len(), 1);
    let staged = site.daily().join(HOSTS[1]);
    assert_eq!(tars(&staged), peer_tars);
    assert_eq!(
        fs::read(staged.join(&peer_tars[0])).unwrap(),
        fs::read(side.collect.join(&peer_tars[0])).unwrap()
    );
    assert!(side.collect.join("cback.stage").is_file());
    assert_eq!(tars(&site.root.join("master-collect")).len(), 1);
}

#[test]
fn a_managed_peer_whose_command_fails_fails_the_run_after_the_other_peers() {
    let Some(server) =
        start("a_managed_peer_whose_command_fails_fails_the_run_after_the_other_peers")
    else {
        return;
    };
    let site = StageMaster::new();
    let good = peer_side(&site, HOSTS[1]);
    let broken = format!(
        "{} --config {} --logfile {}",
        crate::BIN.cback_path().display(),
        site.root.join("no-such.conf").display(),
        site.root.join("broken.log").display()
    );
    let peers = format!(
        "<peers>{}{}</peers>",
        managed_peer(HOSTS[0], &site.collect_dir("broken"), server, &broken),
        managed_peer(HOSTS[1], &good.collect, server, &cback_command(&good))
    );
    let config = site.config(
        OTHER_WEEKDAY,
        "",
        &format!("{peers}{}", site.stage_section("")),
    );
    let out = site
        .cback(&config, &["--managed-only", "collect"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(6), "{stderr}");
    assert!(
        stderr.contains("1 managed action(s) failed on their peers"),
        "{stderr}"
    );
    assert!(
        stderr.contains("action collect on managed peer [127.0.0.1]: "),
        "{stderr}"
    );
    // The remote cback's exit status for a missing configuration, and its complaint.
    assert!(stderr.contains("failed with exit status 4"), "{stderr}");
    assert!(stderr.contains("no-such.conf"), "{stderr}");
    assert!(!stderr.contains("[127.0.0.2]"), "{stderr}");
    // The next peer still ran.
    assert!(good.collect.join("cback.collect").is_file());
}
