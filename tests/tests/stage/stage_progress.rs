//! End-to-end: stage's progress display (peers done of the peers, the peers being staged),
//! drawn on a terminal only, and its summary line in the log whether drawn or not.

use std::path::PathBuf;

use cback_tests::terminal::{on_a_terminal, Screen};

use crate::stage_support::*;

/// A site with two local peers ready to be staged, and its configuration.
fn ready_site() -> (StageMaster, PathBuf) {
    let site = StageMaster::new();
    site.fill("alpha", &[("a.tar", b"alpha data", 0o644)], true);
    site.fill("beta", &[("b.tar", &[7u8; 5000], 0o644)], true);
    let peers = format!(
        "<peers>{}{}</peers>",
        site.local_peer("alpha", ""),
        site.local_peer("beta", "")
    );
    let config = site.config(
        OTHER_WEEKDAY,
        "",
        &format!("{peers}{}", site.stage_section("")),
    );
    (site, config)
}

/// `cback ARGS` of `site` run on a pseudo-terminal.
fn on_terminal(site: &StageMaster, config: &std::path::Path, args: &[&str]) -> Option<Screen> {
    on_a_terminal(&site.command(config, args))
}

/// The log's summary lines of stage.
fn summaries(site: &StageMaster) -> Vec<String> {
    cback_tests::lines_with(&site.log(), "] Staged 2 peer(s): ")
}

#[test]
fn stage_draws_its_progress_on_a_terminal_only_and_always_logs_a_summary() {
    let (site, config) = ready_site();
    let Some(screen) = on_terminal(&site, &config, &["stage"]) else {
        return;
    };
    assert_eq!(screen.code, Some(0), "{}", screen.text);
    assert!(
        screen.text.contains(" of 2 peers, "),
        "the running line: peers done of the peers:\n{}",
        screen.text
    );
    let logged = summaries(&site);
    assert_eq!(logged.len(), 1, "one summary line: {}", site.log());
    assert!(logged[0].contains(" files, ") && logged[0].contains("/s)."));
    // The line as drawn: the same summary (its text after the log's prefix).
    let summary = &logged[0][logged[0].find("Staged 2 peer(s): ").unwrap()..];
    assert!(
        screen.text.contains(summary),
        "the display ends with `{summary}`:\n{}",
        screen.text
    );

    // --quiet on a terminal: nothing drawn, the summary logged.
    let (site, config) = ready_site();
    let quiet = on_terminal(&site, &config, &["--quiet", "stage"]).unwrap();
    assert_eq!(quiet.code, Some(0), "{}", quiet.text);
    assert!(
        !quiet.text.contains("Staged") && !quiet.text.contains("peers"),
        "nothing drawn with --quiet:\n{}",
        quiet.text
    );
    assert_eq!(summaries(&site).len(), 1, "{}", site.log());

    // Not a terminal: nothing on standard error, the summary logged.
    let (site, config) = ready_site();
    site.cback(&config, &["stage"])
        .assert()
        .code(0)
        .stdout("")
        .stderr("");
    assert_eq!(summaries(&site).len(), 1, "{}", site.log());
}

#[test]
fn a_remote_peers_bytes_are_counted_while_its_copy_runs() {
    let test = "a_remote_peers_bytes_are_counted_while_its_copy_runs";
    let Some(server) = cback_tests::sshd::shared(test) else {
        return;
    };
    let Some(rsync) = cback_tests::sshd::rsync(test) else {
        return;
    };
    // 400 KB at 200 KB/s: about two seconds of copying, with scp (-l 1600, in kbit/s) and with
    // rsync (which writes into a hidden temporary file beside the final one).
    let slow = [
        server.rcp_command_with("-l 1600"),
        format!("{} --bwlimit=200", server.rsync_rcp_command(&rsync)),
    ];
    for rcp in slow {
        let site = StageMaster::new();
        let data: Vec<u8> = (0..400_000u32).map(|i| (i % 251) as u8).collect();
        let dir = site.fill("slow", &[("big.tar", &data, 0o644)], true);
        let config = site.config(
            OTHER_WEEKDAY,
            "",
            &site.stage_section(&crate::stage_remote::remote_peer(
                cback_tests::sshd::HOSTS[0],
                &dir,
                &rcp,
                "",
            )),
        );
        let Some(screen) = on_terminal(&site, &config, &["stage"]) else {
            return;
        };
        assert_eq!(
            screen.code,
            Some(0),
            "{rcp}: {}\n{}",
            screen.text,
            site.log()
        );
        // While the one peer is still being staged, the line shows part of its bytes copied
        // (390.62 kB in all): counted as the copy's file grows, not only once the copy has
        // ended.
        let partial: Vec<f64> = screen
            .frames()
            .filter(|frame| frame.contains("0 of 1 peers"))
            .filter_map(|frame| {
                let end = frame.find(" kB copied")?;
                frame[..end].rsplit(' ').next()?.parse::<f64>().ok()
            })
            .filter(|kb| *kb > 0.0 && *kb < 390.0)
            .collect();
        assert!(
            !partial.is_empty(),
            "{rcp}: no frame with part of the bytes copied while the copy ran:\n{}",
            screen.text
        );
        assert!(
            screen.text.contains("Staged 1 peer(s): 2 files, "),
            "{rcp}: {}",
            screen.text
        );
    }
}
