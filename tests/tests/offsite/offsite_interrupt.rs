//! SIGTERM and SIGINT in the middle of an amazons3 upload, against a real S3 server (moto)
//! behind a slow link (the fault proxy throttled): the run stops within the part it is
//! sending, aborts the multipart upload, exits 5 (cback's status for an interrupted run),
//! leaves nothing under the final key or the previous copy as it was, and no hidden copy is
//! left once the next run is over.

use std::process::Child;
use std::time::{Duration, Instant};

use crate::offsite_support::*;
use cback_tests::s3::{Mode, Moto};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// cback's exit status for an interrupted run (cedar_core::EXIT_INTERRUPTED).
const EXIT_INTERRUPTED: i32 = 5;
/// The slow link: an 8 MiB part takes 16 seconds.
const SLOW: u64 = 512 << 10;

fn config(site: &OffsiteMaster, bucket: &str) -> std::path::PathBuf {
    site.config("", &amazons3_section(bucket, ""))
}

/// Waits until moto lists an unfinished multipart upload, then sends `signal` in the middle
/// of its first part; returns the exit status and how long the run took to stop.
fn interrupt_mid_part(
    child: &mut Child,
    moto: &Moto,
    bucket: &str,
    signal: Signal,
) -> (i32, Duration) {
    let started = Instant::now();
    while moto.pending_uploads(bucket).is_empty() {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before it was interrupted"
        );
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "no multipart upload was started"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        child.try_wait().unwrap().is_none(),
        "still sending its part"
    );
    let sent = Instant::now();
    kill(Pid::from_raw(child.id() as i32), signal).unwrap();
    let status = child.wait().unwrap();
    (status.code().unwrap_or(-1), sent.elapsed())
}

fn hidden(moto: &Moto, bucket: &str) -> Vec<String> {
    moto.objects(bucket, "staging/.cback-")
        .into_keys()
        .collect()
}

#[test]
fn sigterm_in_the_middle_of_a_part_aborts_the_first_upload() {
    let Some((site, moto, bucket, proxy)) =
        moto_site_with_proxy("sigterm_in_the_middle_of_a_part_aborts_the_first_upload")
    else {
        return;
    };
    site.stage_day(
        TODAY_DIR,
        &[("h/a", b"small"), ("h/big", &noise(20 << 20, 41))],
        true,
    );
    let config = config(&site, &bucket);
    proxy.set(Mode::Throttle(SLOW));
    let mut child = spawn_amazons3(&site, &config, moto, &proxy);
    let (code, took) = interrupt_mid_part(&mut child, moto, &bucket, Signal::SIGTERM);
    assert_eq!(code, EXIT_INTERRUPTED, "{}", site.log());
    // Within the part: at this rate the rest of the part alone would take over 10 seconds.
    assert!(took < Duration::from_secs(8), "stopped after {took:?}");
    assert!(
        moto.pending_uploads(&bucket).is_empty(),
        "the upload was aborted"
    );
    let objects = moto.objects(&bucket, "");
    assert!(!objects.contains_key(&key("h/big")), "{objects:?}");
    // The day is marked started: its purge never counts it as good.
    assert_eq!(
        marker_of(moto, &bucket, TODAY_DIR),
        serde_json::json!({"format": 1, "state": "started", "peers": {"h": "pending"}})
    );
    assert!(hidden(moto, &bucket).is_empty());
    assert!(!site.day(TODAY_DIR).join("cback.amazons3").exists());
    let log = site.log();
    assert!(log.contains("interrupted"), "{log}");
    assert!(
        log.contains("Aborted the unfinished multipart upload of"),
        "{log}"
    );
}

#[test]
fn sigint_in_the_middle_of_a_reupload_leaves_the_previous_copy() {
    let Some((site, moto, bucket, proxy)) =
        moto_site_with_proxy("sigint_in_the_middle_of_a_reupload_leaves_the_previous_copy")
    else {
        return;
    };
    let day = site.stage_day(TODAY_DIR, &[("h/a", b"first a"), ("h/b", b"first b")], true);
    let config = config(&site, &bucket);
    let mut child = spawn_amazons3(&site, &config, moto, &proxy);
    assert!(child.wait().unwrap().success(), "{}", site.log());
    let previous = moto.objects(&bucket, "");
    assert_eq!(copies(previous.clone()).len(), 2);

    std::fs::write(day.join("h/a"), b"second a").unwrap();
    std::fs::write(day.join("h/big"), noise(20 << 20, 42)).unwrap();
    std::fs::remove_file(day.join("cback.amazons3")).unwrap();
    proxy.set(Mode::Throttle(SLOW));
    let mut child = spawn_amazons3(&site, &config, moto, &proxy);
    let (code, took) = interrupt_mid_part(&mut child, moto, &bucket, Signal::SIGINT);
    assert_eq!(code, EXIT_INTERRUPTED, "{}", site.log());
    assert!(took < Duration::from_secs(8), "stopped after {took:?}");
    assert!(
        moto.pending_uploads(&bucket).is_empty(),
        "the upload was aborted"
    );
    // The day is its previous copy, byte for byte; the incoming copy is gone.
    let day_now: std::collections::BTreeMap<String, u64> = moto
        .objects(&bucket, "")
        .into_iter()
        .filter(|(k, _)| !k.starts_with("staging/.cback-"))
        .collect();
    assert_eq!(day_now, previous);
    assert_eq!(moto.get(&bucket, &key("h/a")), b"first a");
    assert_eq!(moto.get(&bucket, &key("h/b")), b"first b");
    assert!(
        hidden(moto, &bucket).is_empty(),
        "{:?}",
        hidden(moto, &bucket)
    );
    assert!(!day.join("cback.amazons3").exists());

    // The next run stores the new copy, and leaves nothing hidden.
    proxy.set(Mode::Pass);
    let mut child = spawn_amazons3(&site, &config, moto, &proxy);
    assert!(child.wait().unwrap().success(), "{}", site.log());
    assert_eq!(moto.get(&bucket, &key("h/a")), b"second a");
    assert_eq!(
        copies(moto.objects(&bucket, ""))
            .into_keys()
            .collect::<Vec<_>>(),
        vec![key("h/a"), key("h/b"), key("h/big")]
    );
    assert_eq!(marker_of(moto, &bucket, TODAY_DIR)["state"], "complete");
    assert!(hidden(moto, &bucket).is_empty());
    assert!(moto.pending_uploads(&bucket).is_empty());
}
