//! End-to-end: `cback stage` with local peers: the staged tree, the indicators, `<stage>`
//! peers replacing `<peers>`, peers not ready under each `ignore_failures` mode, a
//! subdirectory in a collect directory, a second run on the same day, a manifest mismatch,
//! ownership as root, and the status entries.

use std::fs;
use std::os::unix::fs::MetadataExt;

use crate::stage_support::*;

fn file(mode: u32, content: &[u8]) -> Option<FileState> {
    Some(FileState {
        mode,
        content: content.to_vec(),
    })
}

#[test]
fn local_peers_are_staged_with_their_names_contents_modes_and_indicators() {
    let site = Site::new();
    site.fill(
        "alpha",
        &[
            ("a b.tar", b"with a space", 0o640),
            (".hidden", b"dot", 0o600),
            ("run.sh", b"#!/bin/sh\n", 0o755),
        ],
        true,
    );
    site.fill("beta", &[("beta.tar.gz", b"beta data", 0o644)], true);
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
    site.cback(&config, &["stage"]).assert().code(0);

    let daily = site.daily();
    assert_eq!(names(&daily), ["alpha", "beta", "cback.stage"]);
    assert_eq!(fs::metadata(daily.join("cback.stage")).unwrap().len(), 0);
    let alpha = entries(&daily.join("alpha"));
    assert_eq!(alpha.len(), 4, "{alpha:?}");
    assert_eq!(alpha["a b.tar"], file(0o640, b"with a space"));
    assert_eq!(alpha[".hidden"], file(0o600, b"dot"));
    assert_eq!(alpha["run.sh"], file(0o755, b"#!/bin/sh\n"));
    assert_eq!(alpha["cback.collect"].as_ref().unwrap().content, b"");
    assert_eq!(
        entries(&daily.join("beta"))["beta.tar.gz"],
        file(0o644, b"beta data")
    );
    // Each staged peer's collect directory now says it was staged.
    for peer in ["alpha", "beta"] {
        let indicator = site.collect_dir(peer).join("cback.stage");
        assert_eq!(fs::metadata(&indicator).unwrap().len(), 0, "{peer}");
    }
    let log = site.log();
    assert!(log.contains("Staging peer [alpha]."), "{log}");
    assert!(log.contains("Staged 4 files for peer [alpha]."), "{log}");
    assert!(log.contains("Staged 2 files for peer [beta]."), "{log}");

    // One status entry and one set of gauges per peer.
    let status = site.status();
    let alpha = peer_status(&status, "alpha");
    assert_eq!(alpha["files"], 4);
    assert_eq!(alpha["bytes"], 12 + 3 + 10);
    assert_eq!(alpha["success"], true);
    assert_eq!(alpha["action"], "stage");
    let prom = site.prom();
    assert!(
        prom.contains("cback_stage_peer_files{peer=\"alpha\"} 4\n"),
        "{prom}"
    );
    assert!(
        prom.contains("cback_stage_peer_bytes{peer=\"beta\"} 9\n"),
        "{prom}"
    );
    assert!(
        prom.contains("cback_stage_peer_success{peer=\"beta\"} 1\n"),
        "{prom}"
    );
}

#[test]
fn stage_peers_replace_the_peers_section() {
    let site = Site::new();
    site.fill("listed", &[("l.tar", b"l", 0o644)], true);
    site.fill("staged", &[("s.tar", b"s", 0o644)], true);
    let config = site.config(
        OTHER_WEEKDAY,
        "",
        &format!(
            "<peers>{}</peers>{}",
            site.local_peer("listed", ""),
            site.stage_section(&site.local_peer("staged", ""))
        ),
    );
    site.cback(&config, &["stage"]).assert().code(0);
    assert_eq!(names(&site.daily()), ["cback.stage", "staged"]);
    assert!(!site.collect_dir("listed").join("cback.stage").exists());
}

/// Stages a ready peer and a peer that is not ready with `ignore_failures` `mode` (or none),
/// returning the exit status, stderr and the log.
fn not_ready_run(
    mode: Option<&str>,
    starting_day: &str,
    full: bool,
) -> (i32, String, String, Site) {
    let site = Site::new();
    site.fill("ready", &[("r.tar", b"r", 0o644)], true);
    site.fill("late", &[("half.tar", b"h", 0o644)], false);
    let extra = mode
        .map(|m| format!("<ignore_failures>{m}</ignore_failures>"))
        .unwrap_or_default();
    let config = site.config(
        starting_day,
        "",
        &site.stage_section(&format!(
            "{}{}",
            site.local_peer("late", &extra),
            site.local_peer("ready", "")
        )),
    );
    let args: &[&str] = if full {
        &["--full", "stage"]
    } else {
        &["stage"]
    };
    let out = site.cback(&config, args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let log = site.log();
    (out.status.code().unwrap(), stderr, log, site)
}

#[test]
fn a_peer_not_ready_is_an_error_unless_its_ignore_mode_covers_today() {
    // (ignore_failures, starting day is today, --full) -> ignored; as the original decides.
    let cases = [
        (None, false, false, false),
        (Some("none"), true, true, false),
        (Some("all"), false, false, true),
        (Some("all"), true, true, true),
        (Some("weekly"), false, false, false),
        (Some("weekly"), false, true, true),
        (Some("weekly"), true, false, true),
        (Some("daily"), false, false, true),
        (Some("daily"), false, true, false),
        (Some("daily"), true, false, false),
    ];
    for (mode, starting, full, ignored) in cases {
        let day = if starting {
            TODAY_WEEKDAY
        } else {
            OTHER_WEEKDAY
        };
        let (code, stderr, log, site) = not_ready_run(mode, day, full);
        let case = format!("ignore_failures {mode:?}, starting day {starting}, --full {full}");
        // The ready peer is staged either way, and the daily indicator written.
        assert_eq!(
            names(&site.daily().join("ready")),
            ["cback.collect", "r.tar"],
            "{case}"
        );
        assert!(site.daily().join("cback.stage").exists(), "{case}");
        // The peer that was not ready gets its directory, but nothing in it.
        assert!(names(&site.daily().join("late")).is_empty(), "{case}");
        assert!(
            !site.collect_dir("late").join("cback.stage").exists(),
            "{case}"
        );
        let entry = peer_status(&site.status(), "late");
        if ignored {
            assert_eq!(code, 0, "{case}: {stderr}");
            assert!(
                log.contains("[INFO   ] Peer [late] was not ready to be staged."),
                "{case}: {log}"
            );
            assert_eq!(
                (entry["success"].clone(), entry["skipped"].clone()),
                (true.into(), true.into()),
                "{case}"
            );
        } else {
            assert_eq!(code, 6, "{case}: {stderr}");
            assert!(
                log.contains("[ERROR  ] Peer [late] was not ready to be staged: there is no "),
                "{case}: {log}"
            );
            assert!(
                stderr.contains("1 of 2 peers failed (late)"),
                "{case}: {stderr}"
            );
            assert!(stderr.contains("late/cback.collect"), "{case}: {stderr}");
            assert_eq!(entry["success"], false, "{case}");
        }
    }
}

#[test]
fn a_subdirectory_fails_its_peer_after_the_others_were_staged() {
    let site = Site::new();
    let bad = site.fill("bad", &[("ok.tar", b"ok", 0o644)], true);
    fs::create_dir(bad.join("subdir")).unwrap();
    site.fill("good", &[("g.tar", b"g", 0o644)], true);
    let config = site.config(
        OTHER_WEEKDAY,
        "",
        &site.stage_section(&format!(
            "{}{}",
            site.local_peer("bad", ""),
            site.local_peer("good", "")
        )),
    );
    let out = site.cback(&config, &["stage"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(6), "{stderr}");
    assert!(stderr.contains("1 of 2 peers failed (bad)"), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{} is not a regular file",
            bad.join("subdir").display()
        )),
        "{stderr}"
    );
    // Nothing of the failed peer is staged, the other peer is, and so is the daily indicator.
    assert!(names(&site.daily().join("bad")).is_empty());
    assert_eq!(
        names(&site.daily().join("good")),
        ["cback.collect", "g.tar"]
    );
    assert!(site.daily().join("cback.stage").exists());
    assert!(!bad.join("cback.stage").exists());
    assert!(site.collect_dir("good").join("cback.stage").exists());
}

#[test]
fn a_second_run_on_the_same_day_overwrites_and_keeps_what_only_the_staging_dir_has() {
    let site = Site::new();
    let dir = site.fill(
        "p",
        &[("a.tar", b"first", 0o644), ("gone.tar", b"g", 0o644)],
        true,
    );
    let config = site.config(
        OTHER_WEEKDAY,
        "",
        &site.stage_section(&site.local_peer("p", "")),
    );
    site.cback(&config, &["stage"]).assert().code(0);
    fs::write(dir.join("a.tar"), b"second run").unwrap();
    fs::remove_file(dir.join("gone.tar")).unwrap();
    for run in 2..=3 {
        site.cback(&config, &["stage"]).assert().code(0);
        let staged = entries(&site.daily().join("p"));
        assert_eq!(staged["a.tar"], file(0o644, b"second run"), "run {run}");
        // Staged by the first run, no longer on the peer: it stays.
        assert_eq!(staged["gone.tar"], file(0o644, b"g"), "run {run}");
        // The peer's own cback.stage of the earlier run is staged too.
        assert!(staged.contains_key("cback.stage"), "run {run}");
    }
    let log = site.log();
    assert!(
        log.contains(&format!(
            "[WARNING] Staging directory [{}] already existed.",
            site.daily().display()
        )),
        "{log}"
    );
    assert!(log.contains("[WARNING] Peer staging directory ["), "{log}");
    assert!(hidden_entries(&site.staging()).is_empty());
}

#[test]
fn a_dump_that_does_not_match_its_manifest_fails_the_peer_and_is_named() {
    use cedar_core::{DumpStatus, Manifest, ManifestEntry};
    use cedar_ext_postgresql::MANIFEST_KIND;
    let site = Site::new();
    let dir = site.fill(
        "db",
        &[
            ("postgresqldump-shop.txt.gz", b"the real dump", 0o640),
            ("postgresqldump-crm.txt.gz", b"crm dump", 0o640),
        ],
        true,
    );
    let entry = |name: &str| {
        let digest = cedar_core::hash_file(&dir.join(name)).unwrap();
        ManifestEntry {
            name: name.into(),
            database: name.into(),
            status: DumpStatus::Ok,
            size: Some(digest.size),
            sha256: Some(digest.sha256),
            verified: true,
            pg_dump_version: None,
            server_version: None,
            start: "2026-03-04T01:00:00Z".into(),
            end: "2026-03-04T01:00:01Z".into(),
            error: None,
            replacing: Vec::new(),
        }
    };
    let listed = Manifest::new(vec![
        entry("postgresqldump-shop.txt.gz"),
        entry("postgresqldump-crm.txt.gz"),
    ]);
    MANIFEST_KIND.write(&dir, &listed, None).unwrap();
    let config = site.config(
        OTHER_WEEKDAY,
        "",
        &site.stage_section(&site.local_peer("db", "")),
    );
    // Matching: staged, manifest included.
    site.cback(&config, &["stage"]).assert().code(0);
    assert!(site.daily().join("db").join(MANIFEST_KIND.file).is_file());
    // Damaged after the manifest was written (same size, other bytes).
    fs::write(dir.join("postgresqldump-shop.txt.gz"), b"the fake dump").unwrap();
    let out = site.cback(&config, &["stage"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(6), "{stderr}");
    assert!(
        stderr.contains("peer [db]: 1 staged file(s) do not match"),
        "{stderr}"
    );
    assert!(
        stderr.contains("- postgresqldump-shop.txt.gz: sha256 "),
        "{stderr}"
    );
    assert!(!stderr.contains("postgresqldump-crm.txt.gz:"), "{stderr}");
    // The good copy of the first run is still what the staging directory holds.
    assert_eq!(
        fs::read(site.daily().join("db/postgresqldump-shop.txt.gz")).unwrap(),
        b"the real dump"
    );
    assert!(hidden_entries(&site.staging()).is_empty());
}

#[test]
fn as_root_the_staged_tree_belongs_to_the_backup_user() {
    if !is_root() {
        skipped(
            "as_root_the_staged_tree_belongs_to_the_backup_user",
            "ownership is only changed when running as root",
        );
        return;
    }
    let site = Site::new();
    site.fill("p", &[("a.tar", b"a", 0o600)], true);
    let config = site.config_as(
        "nobody",
        "nogroup",
        OTHER_WEEKDAY,
        "",
        &site.stage_section(&site.local_peer("p", "")),
    );
    site.cback(&config, &["stage"]).assert().code(0);
    let nobody = nix::unistd::User::from_name("nobody").unwrap().unwrap();
    let nogroup = nix::unistd::Group::from_name("nogroup").unwrap().unwrap();
    let owned = |path: &std::path::Path| {
        let meta = fs::metadata(path).unwrap();
        (meta.uid(), meta.gid())
    };
    let want = (nobody.uid.as_raw(), nogroup.gid.as_raw());
    for path in [
        site.staging().join("2026"),
        site.staging().join("2026/03"),
        site.daily(),
        site.daily().join("cback.stage"),
        site.daily().join("p"),
        site.daily().join("p/a.tar"),
        site.daily().join("p/cback.collect"),
    ] {
        assert_eq!(owned(&path), want, "{}", path.display());
    }
    // staging_dir itself and the peer's own indicator are left as they are (as the original).
    assert_eq!(owned(&site.staging()).0, 0);
    assert_eq!(owned(&site.collect_dir("p").join("cback.stage")).0, 0);
    assert_eq!(
        fs::metadata(site.daily().join("p/a.tar")).unwrap().mode() & 0o777,
        0o600
    );
}
