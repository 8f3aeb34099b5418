//! The upload pipeline against real servers: several objects go up at once, never more than
//! `<upload_jobs>`; a SIGTERM while several are in flight stops them all (exit 5, no
//! unfinished upload left); and the checksum a server echoes in its answer to an upload spares
//! the HeadObject of that object, while a server that echoes none gets one per object. Both
//! servers of the harness are used (moto and s3s-fs); the proxy in front of them counts the
//! requests (its request lines), and hides the echoed checksums for the second case (a
//! server that echoes none).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::offsite_support::*;
use cback_tests::s3::{Mode, Proxy};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// A day of ten small files and one of two parts (with `<part_size>` 5 MB).
fn stage_day(site: &OffsiteMaster) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = (0..10)
        .map(|n| (format!("h/small-{n}"), noise(1000 + n * 37, n as u64)))
        .collect();
    files.push(("h/big".into(), noise((5 << 20) + 4321, 99)));
    let refs: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(n, c)| (n.as_str(), c.as_slice()))
        .collect();
    site.stage_day(TODAY_DIR, &refs, true);
    files
}

const PIPELINE: &str = "<part_size>5 MB</part_size><upload_jobs>4</upload_jobs>";

/// The HeadObject requests of the day's objects among the proxy's requests: their keys.
fn object_heads(proxy: &Proxy, bucket: &str) -> Vec<String> {
    let head = format!("HEAD /{bucket}/");
    proxy
        .requests()
        .iter()
        .filter_map(|line| line.strip_prefix(&head))
        .filter_map(|rest| rest.split([' ', '?']).next())
        // `HEAD /BUCKET/` is the HeadBucket of the start.
        .filter(|key| !key.is_empty())
        .map(str::to_string)
        .collect()
}

/// Stores the day through `proxy` (first in `Pass` mode, then in `HideChecksums` mode into
/// `hidden_bucket`), checks every object by `objects`, checks that the second run asked for
/// every object with a HeadObject, and returns the HeadObject requests of the first.
fn echo_cases(
    site: &OffsiteMaster,
    env: &dyn Fn(&mut assert_cmd::Command, &str),
    objects: &dyn Fn(&str) -> BTreeMap<String, u64>,
    buckets: (&str, &str),
    proxy: &Proxy,
) -> Vec<String> {
    let files = stage_day(site);
    let mut heads = Vec::new();
    for (bucket, mode) in [(buckets.0, Mode::Pass), (buckets.1, Mode::HideChecksums)] {
        proxy.set(mode);
        let config = site.config("", &amazons3_section(bucket, PIPELINE));
        let mut cmd = site.cback(&config, &["--full", "amazons3"]);
        env(&mut cmd, &proxy.endpoint());
        cmd.assert().success();
        let stored = objects(bucket);
        for (name, content) in &files {
            assert_eq!(
                stored.get(&key(name)),
                Some(&(content.len() as u64)),
                "{mode:?}: {stored:?}"
            );
        }
        heads.push(object_heads(proxy, bucket));
        let _ = std::fs::remove_file(site.day(TODAY_DIR).join("cback.amazons3"));
    }
    let hidden = heads.pop().unwrap();
    assert_eq!(
        hidden.len(),
        11,
        "without an echo, one HeadObject per object"
    );
    let log = site.log();
    assert!(
        log.contains("(0 echoed by the upload, 11 asked for)"),
        "{log}"
    );
    heads.pop().unwrap()
}

#[test]
fn echoed_checksums_spare_the_head_requests_on_moto() {
    let Some((site, moto, bucket, proxy)) =
        moto_site_with_proxy("echoed_checksums_spare_the_head_requests_on_moto")
    else {
        return;
    };
    let hidden_bucket = moto.new_bucket("echoed_checksums_hidden_on_moto");
    let echoed = echo_cases(
        &site,
        &|cmd, endpoint| moto.env_with(cmd, endpoint),
        &|bucket| moto.objects(bucket, ""),
        (&bucket, &hidden_bucket),
        &proxy,
    );
    // moto echoes the checksum of a PutObject, not that of a completed multipart upload.
    assert_eq!(
        echoed,
        [key("h/big")],
        "a HeadObject for the multipart object only"
    );
    let log = site.log();
    assert!(
        log.contains("(10 echoed by the upload, 1 asked for)"),
        "{log}"
    );
}

#[test]
fn echoed_checksums_spare_the_head_requests_on_s3s_fs() {
    let test = "echoed_checksums_spare_the_head_requests_on_s3s_fs";
    if !cback_tests::s3fs::available(test) || !amazons3_may_run(test) {
        return;
    }
    let Some(server) = cback_tests::s3fs::shared(test) else {
        return;
    };
    let site = OffsiteMaster::new();
    let bucket = server.new_bucket(test);
    let hidden_bucket = server.new_bucket("echoed_checksums_hidden_on_s3s_fs");
    let proxy = Proxy::start(server.port, Mode::Pass);
    let echoed = echo_cases(
        &site,
        &|cmd, endpoint| server.env_with(cmd, endpoint),
        &|bucket| server.objects(bucket),
        (&bucket, &hidden_bucket),
        &proxy,
    );
    assert!(
        echoed.is_empty(),
        "s3s-fs echoes every checksum: {echoed:?}"
    );
    let log = site.log();
    assert!(
        log.contains("(11 echoed by the upload, 0 asked for)"),
        "{log}"
    );
}

/// cback's exit status for an interrupted run.
const EXIT_INTERRUPTED: i32 = 5;

#[test]
fn several_uploads_at_once_at_most_upload_jobs_and_sigterm_stops_them_all() {
    let test = "several_uploads_at_once_at_most_upload_jobs_and_sigterm_stops_them_all";
    let Some((site, moto, bucket, proxy)) = moto_site_with_proxy(test) else {
        return;
    };
    // Six objects of 2 MiB behind a link of 512 KiB/s per connection: 4 s each.
    let files: Vec<(String, Vec<u8>)> = (0..6)
        .map(|n| (format!("h/f{n}"), noise(2 << 20, 70 + n)))
        .collect();
    let refs: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(n, c)| (n.as_str(), c.as_slice()))
        .collect();
    site.stage_day(TODAY_DIR, &refs, true);
    let config = site.config(
        "",
        &amazons3_section(&bucket, "<upload_jobs>3</upload_jobs>"),
    );
    proxy.set(Mode::Throttle(512 << 10));
    let mut child = spawn_amazons3(&site, &config, moto, &proxy);
    let puts = || {
        proxy
            .requests()
            .iter()
            .filter(|l| l.starts_with(&format!("PUT /{bucket}/staging/")) && !l.contains(MARKER))
            .count()
    };
    let started = Instant::now();
    while puts() < 3 {
        assert!(child.try_wait().unwrap().is_none(), "{}", site.log());
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "three uploads never ran at once: {:?}",
            proxy.requests()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // None of them can be done within a second: a fourth would mean more than upload_jobs.
    std::thread::sleep(Duration::from_millis(1000));
    assert_eq!(puts(), 3, "{:?}", proxy.requests());
    assert!(
        proxy.peak_connections() <= 3,
        "{}",
        proxy.peak_connections()
    );
    let sent = Instant::now();
    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
    let status = child.wait().unwrap();
    let took = sent.elapsed();
    assert_eq!(status.code(), Some(EXIT_INTERRUPTED), "{}", site.log());
    assert!(took < Duration::from_secs(3), "stopped after {took:?}");
    assert_eq!(puts(), 3, "no upload started after the SIGTERM");
    let objects = copies(moto.objects(&bucket, ""));
    assert!(
        objects.is_empty(),
        "no upload in flight finished: {objects:?}"
    );
    assert_eq!(marker_of(moto, &bucket, TODAY_DIR)["state"], "started");
    assert!(moto.pending_uploads(&bucket).is_empty());
    assert!(!site.day(TODAY_DIR).join("cback.amazons3").exists());
    assert!(site.log().contains("interrupted"), "{}", site.log());
}
