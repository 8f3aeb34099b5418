//! End-to-end: `<stage><jobs>`, peers staged at the same time. Several remote peers over the
//! test sshd (one host each), a local one, an unreachable one and one that is not ready, staged
//! with `<jobs>4</jobs>` and with `<jobs>1</jobs>` (the original's order): the same staged tree,
//! the same exit status, the same final error naming the failed peers in configuration order,
//! and every log line of a peer naming it.

use std::collections::BTreeMap;

use crate::stage_remote::remote_peer;
use crate::stage_support::*;
use cback_tests::sshd::{self, ALL_HOSTS, UNREACHABLE};

/// What one run left: exit status, final error (paths of the site replaced), staged tree,
/// log.
struct Run {
    code: Option<i32>,
    error: String,
    staged: BTreeMap<String, BTreeMap<String, Option<FileState>>>,
    log: String,
    status: serde_json::Value,
}

/// Stages the same peers in a fresh site with `<jobs>{jobs}</jobs>`.
fn run(server: &sshd::Sshd, jobs: usize) -> Run {
    let site = StageMaster::new();
    let rcp = server.rcp_command();
    // Config order: local ones first, then remote ones; the unreachable and the unready peer
    // sit between reachable ones.
    let mut peers = site.local_peer("here", "");
    site.fill("here", &[("h.tar", b"local", 0o644)], true);
    let reachable = [ALL_HOSTS[0], ALL_HOSTS[1], ALL_HOSTS[2], ALL_HOSTS[3]];
    for (i, host) in reachable.iter().enumerate() {
        let big = vec![b'x' + i as u8; 64 << 10];
        let dir = site.fill(
            host,
            &[
                ("small.tar", host.as_bytes(), 0o640),
                ("big.tar", &big, 0o644),
            ],
            true,
        );
        peers.push_str(&remote_peer(host, &dir, &rcp, ""));
        if i == 1 {
            let gone = site.fill(UNREACHABLE, &[("g.tar", b"g", 0o644)], true);
            peers.push_str(&remote_peer(UNREACHABLE, &gone, &rcp, ""));
        }
    }
    let unready = site.fill(ALL_HOSTS[4], &[("u.tar", b"u", 0o644)], false);
    peers.push_str(&remote_peer(ALL_HOSTS[4], &unready, &rcp, ""));
    let config = site.config(
        OTHER_WEEKDAY,
        "",
        &site.stage_section(&format!("{peers}<jobs>{jobs}</jobs>")),
    );
    let out = site.cback(&config, &["--debug", "stage"]).output().unwrap();
    let stderr =
        String::from_utf8_lossy(&out.stderr).replace(&site.root.display().to_string(), "SITE");
    let daily = site.daily();
    let staged = names(&daily)
        .into_iter()
        .filter(|n| daily.join(n).is_dir())
        .map(|n| {
            let files = entries(&daily.join(&n));
            (n, files)
        })
        .collect();
    assert!(hidden_entries(&site.staging()).is_empty());
    assert!(
        hidden_entries(&site.work()).is_empty(),
        "an indicator directory is left in working_dir"
    );
    Run {
        code: out.status.code(),
        error: stderr,
        staged,
        log: site.log(),
        status: site.status(),
    }
}

#[test]
fn peers_staged_four_at_a_time_end_as_one_at_a_time() {
    let Some(server) = sshd::shared("peers_staged_four_at_a_time_end_as_one_at_a_time") else {
        return;
    };
    let four = run(server, 4);
    let one = run(server, 1);
    assert_eq!(four.code, Some(6), "{}\n{}", four.error, four.log);
    assert_eq!(one.code, four.code, "{}", one.error);
    // The final error names the failed peers in configuration order, whatever order they
    // ended in, and is the same text either way.
    assert!(
        four.error
            .contains("2 of 7 peers failed (127.0.0.3, 127.0.0.6); the other peers were staged"),
        "{}",
        four.error
    );
    let unreachable = four.error.find("- peer [127.0.0.3] was not ready").unwrap();
    let unready = four.error.find("- peer [127.0.0.6] was not ready").unwrap();
    assert!(unreachable < unready, "{}", four.error);
    let normalized = |text: &str| {
        // What may differ: the random part of a peer's directory in working_dir, and the
        // words of a refused connection (scp exits 255 with "Connection closed" or 1 with
        // "lost connection", whichever it sees first).
        let mut text: String = text
            .lines()
            .filter(|l| !l.contains("Connection") && !l.contains("lost connection"))
            .collect::<Vec<_>>()
            .join("\n");
        for host in ALL_HOSTS.iter().chain([&UNREACHABLE]) {
            let marker = format!("work/.{host}.");
            let mut from = 0;
            while let Some(at) = text[from..].find(&marker) {
                let start = from + at + marker.len();
                text.replace_range(start..start + 6, "RANDOM");
                from = start;
            }
        }
        text
    };
    assert_eq!(normalized(&four.error), normalized(&one.error));
    // The same staged tree: every reachable peer whole, nothing for the failed ones.
    assert_eq!(four.staged, one.staged);
    assert_eq!(
        four.staged.keys().collect::<Vec<_>>(),
        [
            "127.0.0.1",
            "127.0.0.2",
            "127.0.0.3",
            "127.0.0.4",
            "127.0.0.5",
            "127.0.0.6",
            "here"
        ]
    );
    for host in &ALL_HOSTS[..4] {
        let files = &four.staged[*host];
        assert_eq!(files.len(), 3, "{host}: {files:?}");
        assert_eq!(
            files["small.tar"].as_ref().unwrap().content,
            host.as_bytes()
        );
        assert_eq!(files["big.tar"].as_ref().unwrap().content.len(), 64 << 10);
    }
    assert!(four.staged["127.0.0.3"].is_empty() && four.staged["127.0.0.6"].is_empty());
    // Every peer has its status entry, with the same counts.
    for peer in ["here", "127.0.0.1", "127.0.0.3", "127.0.0.5", "127.0.0.6"] {
        let (a, b) = (
            peer_status(&four.status, peer),
            peer_status(&one.status, peer),
        );
        assert_eq!(
            (&a["files"], &a["bytes"], &a["success"]),
            (&b["files"], &b["bytes"], &b["success"]),
            "{peer}"
        );
    }
    // One at a time: the original's order. Four at a time: a second peer starts before the
    // first one ends.
    let starts = |log: &str| -> Vec<String> {
        log.lines()
            .filter_map(|l| l.split("Staging peer [").nth(1))
            .map(|rest| rest.trim_end_matches("].").to_string())
            .collect()
    };
    assert_eq!(
        starts(&one.log),
        [
            "here",
            "127.0.0.1",
            "127.0.0.2",
            "127.0.0.3",
            "127.0.0.4",
            "127.0.0.5",
            "127.0.0.6"
        ]
    );
    let mut started = starts(&four.log);
    started.sort();
    assert_eq!(started.len(), 7, "{}", four.log);
    let lines: Vec<&str> = four.log.lines().collect();
    let first_remote_end = lines
        .iter()
        .position(|l| (l.contains("Staged ") || l.contains("was not ready")) && l.contains("[127."))
        .unwrap();
    let remote_starts = lines[..first_remote_end]
        .iter()
        .filter(|l| l.contains("Staging peer [127."))
        .count();
    assert!(remote_starts >= 2, "{}", four.log);
    // Every line a peer's staging logs names its peer (the command lines name its host).
    for line in four.log.lines() {
        let peerless = [
            "Ignore failure mode",
            "Found collect indicator",
            "Executing command",
        ];
        if peerless.iter().any(|p| line.contains(p)) {
            assert!(
                ["here", "127.0.0."].iter().any(|p| line.contains(p)),
                "{line}"
            );
        }
    }
}
