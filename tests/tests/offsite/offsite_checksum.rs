//! Every object verified: the SHA-256 checksum cback sends with each PutObject and each
//! UploadPart is checked by a server that recomputes it (s3s-fs, see `cback_tests::s3fs`;
//! moto stores a wrong checksum without complaint). Through a proxy that inverts one byte of
//! every request body (lengths and signatures unchanged), a single-request upload and a
//! multipart upload are refused: exit 6, a message naming the file and the key, no object
//! under the key, no unfinished upload left. Without the damage the same uploads are stored,
//! which proves the harness. The sync tool, and a day of more than 1000 objects (listing
//! pages, DeleteObjects chunks), are checked against the same server.

use std::fs;
use std::path::Path;

use crate::offsite_support::*;
use cback_tests::s3::{Mode, Proxy};
use cback_tests::s3fs::{self, S3sFs};

/// A site, a server with the bucket and a proxy in front of it, or `None` when the test
/// cannot run here.
fn setup(test: &str) -> Option<(Site, S3sFs, Proxy)> {
    if !s3fs::available(test) || !amazons3_may_run(test) {
        return None;
    }
    let server = S3sFs::start();
    server.create_bucket(BUCKET);
    let proxy = Proxy::start(server.port, Mode::Pass);
    Some((Site::new(), server, proxy))
}

/// Runs `cback amazons3` (with `args` before the action) through the proxy.
fn amazons3(
    site: &Site,
    server: &S3sFs,
    proxy: &Proxy,
    args: &[&str],
) -> assert_cmd::assert::Assert {
    let config = site.config("", &amazons3_section(""));
    let mut all = args.to_vec();
    all.push("amazons3");
    let mut cmd = site.cback(&config, &all);
    server.env_with(&mut cmd, &proxy.endpoint());
    cmd.assert()
}

/// Stages the day with `h/a` and stores it: the day's directory and the objects stored.
fn first_copy(
    site: &Site,
    server: &S3sFs,
    proxy: &Proxy,
) -> (std::path::PathBuf, std::collections::BTreeMap<String, u64>) {
    let day = site.stage_day(TODAY_DIR, &[("h/a", b"first copy")], true);
    amazons3(site, server, proxy, &[]).success();
    (day, server.objects(BUCKET))
}

/// Runs `cback --full amazons3`, asserts exit 6 and returns its stderr.
fn refused_full(site: &Site, server: &S3sFs, proxy: &Proxy) -> Vec<u8> {
    amazons3(site, server, proxy, &["--full"])
        .code(6)
        .get_output()
        .stderr
        .clone()
}

/// 10 MiB: two parts of the default 8 MiB part size.
const BIG: usize = 10 << 20;

#[test]
fn undamaged_uploads_are_stored_and_their_checksums_match() {
    let Some((site, server, proxy)) =
        setup("undamaged_uploads_are_stored_and_their_checksums_match")
    else {
        return;
    };
    let small = noise(20_000, 1);
    let big = noise(BIG, 2);
    site.stage_day(
        TODAY_DIR,
        &[("h/small", &small), ("h/big", &big), ("h/empty", b"")],
        true,
    );
    amazons3(&site, &server, &proxy, &[]).success();
    assert_eq!(proxy.flips(), 0);
    assert_eq!(
        server.objects(BUCKET).into_iter().collect::<Vec<_>>(),
        vec![
            (key("h/big"), BIG as u64),
            (key("h/empty"), 0),
            (key("h/small"), 20_000)
        ]
    );
    assert_eq!(server.get(BUCKET, &key("h/small")), small);
    assert_eq!(server.get(BUCKET, &key("h/big")), big);
    assert!(
        server.pending_uploads().is_empty(),
        "{:?}",
        server.pending_uploads()
    );
    let log = site.log();
    // The server keeps the checksum of each object, and cback compared them all.
    assert!(
        log.contains("SHA-256 checksums kept by the server match for 3 of 3 object(s)"),
        "{log}"
    );
    assert!(site.day(TODAY_DIR).join("cback.amazons3").exists());
    // s3s-fs does not implement ListMultipartUploads: the look for leftovers is skipped with
    // a warning instead of failing every run.
    assert!(
        log.contains("NotImplemented") && log.contains("are not looked for"),
        "{log}"
    );
}

/// What a refused upload must leave: exit 6 (checked by the caller), the file and the key
/// named, the server's refusal quoted, nothing under the key, no unfinished upload, the
/// previous copy of the day untouched and the run recorded as failed.
fn assert_refused(
    site: &Site,
    server: &S3sFs,
    stderr: &[u8],
    file: &Path,
    rel: &str,
    previous: &std::collections::BTreeMap<String, u64>,
) {
    let object = key(rel);
    let err = String::from_utf8_lossy(stderr);
    let log = site.log();
    for text in [&err.to_string(), &log] {
        assert!(text.contains(&file.display().to_string()), "{text}");
        // The day held a copy, so the new one went up beside it first.
        let day_prefix = object.strip_suffix(&format!("/{rel}")).unwrap();
        assert!(
            text.contains(&format!(
                "the previous copy of s3://{BUCKET}/{day_prefix}/ is intact"
            )),
            "{text}"
        );
        assert!(
            text.contains(&format!("s3://{BUCKET}/staging/.cback-incoming/"))
                && text.contains(&format!("/{rel}: ")),
            "{text}"
        );
        assert!(text.contains("BadDigest"), "{text}");
        assert!(
            text.contains("the data was damaged on its way and the server refused it"),
            "{text}"
        );
    }
    assert_eq!(&server.objects(BUCKET), previous);
    assert!(
        server.pending_uploads().is_empty(),
        "{:?}",
        server.pending_uploads()
    );
    assert_eq!(site.status()["uploads"][0]["success"], false);
}

#[test]
fn a_single_request_upload_damaged_on_its_way_is_refused() {
    let Some((site, server, proxy)) =
        setup("a_single_request_upload_damaged_on_its_way_is_refused")
    else {
        return;
    };
    let (day, previous) = first_copy(&site, &server, &proxy);
    assert_eq!(previous.len(), 1);

    let file = day.join("h/small");
    fs::write(&file, noise(20_000, 3)).unwrap();
    proxy.set(Mode::FlipAfter(10_000));
    let out = refused_full(&site, &server, &proxy);
    // Every attempt was damaged (a retry, if the client made one, too).
    assert!(proxy.flips() >= 1);
    assert_refused(&site, &server, &out, &file, "h/small", &previous);
    assert_eq!(server.get(BUCKET, &key("h/a")), b"first copy");

    // Undamaged again, the same day is stored.
    proxy.set(Mode::Pass);
    amazons3(&site, &server, &proxy, &["--full"]).success();
    assert_eq!(server.get(BUCKET, &key("h/small")), noise(20_000, 3));
}

#[test]
fn a_part_damaged_on_its_way_is_refused_and_the_upload_aborted() {
    let Some((site, server, proxy)) =
        setup("a_part_damaged_on_its_way_is_refused_and_the_upload_aborted")
    else {
        return;
    };
    let (day, previous) = first_copy(&site, &server, &proxy);

    let file = day.join("h/big");
    let big = noise(BIG, 4);
    fs::write(&file, &big).unwrap();
    // Past the bodies of the other requests (the XML of a completion is far shorter), inside
    // every part.
    proxy.set(Mode::FlipAfter(1 << 20));
    let out = refused_full(&site, &server, &proxy);
    assert!(proxy.flips() >= 1);
    assert_refused(&site, &server, &out, &file, "h/big", &previous);
    let log = site.log();
    assert!(log.contains("uploading a part of"), "{log}");
    // Of the new copy, which went up beside the day's previous one.
    assert!(
        log.lines().any(|l| l.contains(
            "Aborted the unfinished multipart upload of [staging/.cback-incoming/2026/03/04/"
        ) && l.ends_with("/h/big].")),
        "{log}"
    );

    proxy.set(Mode::Pass);
    amazons3(&site, &server, &proxy, &["--full"]).success();
    assert_eq!(server.get(BUCKET, &key("h/big")), big);
    assert!(server.pending_uploads().is_empty());
}

#[test]
fn the_sync_tool_mirrors_into_the_checking_server_and_is_refused_damaged_data() {
    if !s3fs::available("the_sync_tool_mirrors_into_the_checking_server") {
        return;
    }
    let server = S3sFs::start();
    server.create_bucket("sync");
    let proxy = Proxy::start(server.port, Mode::Pass);
    let site = Site::new();
    let src = site.root.join("src");
    fs::create_dir_all(src.join("sub")).unwrap();
    fs::write(src.join("a"), b"alpha").unwrap();
    fs::write(src.join("sub/b"), b"bee").unwrap();
    fs::write(src.join("big"), noise(BIG, 5)).unwrap();
    let source = src.display().to_string();
    let url = "s3://sync/home/";
    let run = |args: &[&str]| {
        let mut cmd = crate::BIN.sync();
        server.env_with(&mut cmd, &proxy.endpoint());
        cmd.arg("--logfile")
            .arg(site.log_path())
            .args(args)
            .assert()
    };
    run(&[&source, url]).success();
    assert_eq!(
        server.objects("sync").into_iter().collect::<Vec<_>>(),
        vec![
            ("home/a".to_string(), 5),
            ("home/big".to_string(), BIG as u64),
            ("home/sub/b".to_string(), 3),
        ]
    );
    assert_eq!(server.get("sync", "home/big"), noise(BIG, 5));
    // A file gone is removed from the server (DeleteObjects), a changed one replaced.
    fs::remove_file(src.join("sub/b")).unwrap();
    fs::write(src.join("a"), b"alpha, longer").unwrap();
    run(&[&source, url]).success();
    assert_eq!(
        server.objects("sync").keys().cloned().collect::<Vec<_>>(),
        vec!["home/a".to_string(), "home/big".to_string()]
    );
    assert_eq!(server.get("sync", "home/a"), b"alpha, longer");

    // A damaged upload is refused and named; nothing is left half done.
    fs::write(src.join("new"), noise(20_000, 6)).unwrap();
    proxy.set(Mode::FlipAfter(10_000));
    let out = run(&[&source, url]).failure().get_output().stderr.clone();
    let err = String::from_utf8_lossy(&out);
    assert!(
        err.contains(&src.join("new").display().to_string()),
        "{err}"
    );
    assert!(err.contains("BadDigest"), "{err}");
    assert!(!server.objects("sync").contains_key("home/new"));
    assert!(server.pending_uploads().is_empty());
}

#[test]
fn a_day_of_more_than_a_thousand_objects_is_listed_in_pages_and_its_stale_keys_removed() {
    let Some((site, server, proxy)) = setup("a_day_of_more_than_a_thousand_objects") else {
        return;
    };
    // ListObjectsV2 answers 1000 keys a page, DeleteObjects takes 1000 keys a request.
    let names: Vec<String> = (0..1005).map(|i| format!("h/f{i:04}")).collect();
    let files: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b"x"[..])).collect();
    let day = site.stage_day(TODAY_DIR, &files, true);
    amazons3(&site, &server, &proxy, &[]).success();
    assert_eq!(server.objects(BUCKET).len(), 1005);
    assert!(site
        .log()
        .contains("SHA-256 checksums kept by the server match for 1005 of 1005 object(s)"));
    for name in &names[3..] {
        fs::remove_file(day.join(name)).unwrap();
    }
    amazons3(&site, &server, &proxy, &["--full"]).success();
    assert_eq!(
        server.objects(BUCKET).into_keys().collect::<Vec<_>>(),
        names[..3].iter().map(|n| key(n)).collect::<Vec<_>>()
    );
    assert_eq!(site.status()["uploads"][0]["removed"], 1002);
}
