//! Every object verified: the SHA-256 checksum cback sends with each PutObject and each
//! UploadPart is checked by a server that recomputes it (s3s-fs, see `cback_tests::s3fs`;
//! moto stores a wrong checksum without complaint). Through a proxy that inverts one byte of
//! every request body (lengths and signatures unchanged), a single-request upload and a
//! multipart upload are refused: exit 6, a message naming the file and the key, no object
//! under the key, no unfinished upload left. Without the damage the same uploads are stored,
//! which proves the harness. The sync tool, and a day of more than 1000 objects (listing
//! pages, DeleteObjects chunks), are checked against the same server. The server is one for
//! the whole binary, each test with a bucket of its own; that an unfinished upload is seen in
//! its own bucket only proves the look for leftovers.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use crate::offsite_support::*;
use cback_tests::s3::{Mode, Proxy};
use cback_tests::s3fs::{self, S3sFs};

/// What a test works with: the binary's s3s-fs, a fresh bucket of the test's own on it, and
/// a proxy of its own in front of the server.
struct Checking {
    server: &'static S3sFs,
    bucket: String,
    proxy: Proxy,
}

/// The server, a fresh bucket and a proxy, or `None` when the test cannot run here.
fn checking(test: &str) -> Option<Checking> {
    let server = s3fs::shared(test)?;
    let bucket = server.new_bucket(test);
    let proxy = Proxy::start(server.port, Mode::Pass);
    Some(Checking {
        server,
        bucket,
        proxy,
    })
}

impl Checking {
    /// Every object of the bucket: key and size.
    fn objects(&self) -> BTreeMap<String, u64> {
        copies(self.server.objects(&self.bucket))
    }

    /// The content of an object of the bucket.
    fn get(&self, key: &str) -> Vec<u8> {
        self.server.get(&self.bucket, key)
    }

    /// The files of the bucket's unfinished multipart uploads.
    fn pending_uploads(&self) -> Vec<String> {
        self.server.pending_uploads(&self.bucket)
    }
}

/// A site and [`checking`], or `None` when the test cannot run here.
fn setup(test: &str) -> Option<(OffsiteMaster, Checking)> {
    if !s3fs::available(test) || !amazons3_may_run(test) {
        return None;
    }
    Some((OffsiteMaster::new(), checking(test)?))
}

/// Runs `cback amazons3` (with `args` before the action) through the proxy.
fn amazons3(site: &OffsiteMaster, s3: &Checking, args: &[&str]) -> assert_cmd::assert::Assert {
    let config = site.config("", &amazons3_section(&s3.bucket, ""));
    let mut all = args.to_vec();
    all.push("amazons3");
    let mut cmd = site.cback(&config, &all);
    s3.server.env_with(&mut cmd, &s3.proxy.endpoint());
    cmd.assert()
}

/// Stages the day with `h/a` and stores it: the day's directory and the objects stored.
fn first_copy(site: &OffsiteMaster, s3: &Checking) -> (std::path::PathBuf, BTreeMap<String, u64>) {
    let day = site.stage_day(TODAY_DIR, &[("h/a", b"first copy")], true);
    amazons3(site, s3, &[]).success();
    (day, s3.objects())
}

/// Runs `cback --full amazons3`, asserts exit 6 and returns its stderr.
fn refused_full(site: &OffsiteMaster, s3: &Checking) -> Vec<u8> {
    amazons3(site, s3, &["--full"])
        .code(6)
        .get_output()
        .stderr
        .clone()
}

/// 10 MiB: two parts of the default 8 MiB part size.
const BIG: usize = 10 << 20;

#[test]
fn undamaged_uploads_are_stored_and_their_checksums_match() {
    let Some((site, s3)) = setup("undamaged_uploads_are_stored_and_their_checksums_match") else {
        return;
    };
    let small = noise(20_000, 1);
    let big = noise(BIG, 2);
    site.stage_day(
        TODAY_DIR,
        &[("h/small", &small), ("h/big", &big), ("h/empty", b"")],
        true,
    );
    amazons3(&site, &s3, &[]).success();
    assert_eq!(s3.proxy.flips(), 0);
    assert_eq!(
        s3.objects().into_iter().collect::<Vec<_>>(),
        vec![
            (key("h/big"), BIG as u64),
            (key("h/empty"), 0),
            (key("h/small"), 20_000)
        ]
    );
    assert_eq!(s3.get(&key("h/small")), small);
    assert_eq!(s3.get(&key("h/big")), big);
    assert!(
        s3.pending_uploads().is_empty(),
        "{:?}",
        s3.pending_uploads()
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
    site: &OffsiteMaster,
    s3: &Checking,
    stderr: &[u8],
    file: &Path,
    rel: &str,
    previous: &BTreeMap<String, u64>,
) {
    let bucket = &s3.bucket;
    let object = key(rel);
    let err = String::from_utf8_lossy(stderr);
    let log = site.log();
    for text in [&err.to_string(), &log] {
        assert!(text.contains(&file.display().to_string()), "{text}");
        // The day held a copy, so the new one went up beside it first.
        let day_prefix = object.strip_suffix(&format!("/{rel}")).unwrap();
        assert!(
            text.contains(&format!(
                "the previous copy of s3://{bucket}/{day_prefix}/ is intact"
            )),
            "{text}"
        );
        assert!(
            text.contains(&format!("s3://{bucket}/staging/.cback-incoming/"))
                && text.contains(&format!("/{rel}: ")),
            "{text}"
        );
        assert!(text.contains("BadDigest"), "{text}");
        assert!(
            text.contains("the data was damaged on its way and the server refused it"),
            "{text}"
        );
    }
    assert_eq!(&s3.objects(), previous);
    assert!(
        s3.pending_uploads().is_empty(),
        "{:?}",
        s3.pending_uploads()
    );
    assert_eq!(site.status()["uploads"][0]["success"], false);
}

#[test]
fn a_single_request_upload_damaged_on_its_way_is_refused() {
    let Some((site, s3)) = setup("a_single_request_upload_damaged_on_its_way_is_refused") else {
        return;
    };
    let (day, previous) = first_copy(&site, &s3);
    assert_eq!(previous.len(), 1);

    let file = day.join("h/small");
    fs::write(&file, noise(20_000, 3)).unwrap();
    s3.proxy.set(Mode::FlipAfter(10_000));
    let out = refused_full(&site, &s3);
    // Every attempt was damaged (a retry, if the client made one, too).
    assert!(s3.proxy.flips() >= 1);
    assert_refused(&site, &s3, &out, &file, "h/small", &previous);
    assert_eq!(s3.get(&key("h/a")), b"first copy");

    // Undamaged again, the same day is stored.
    s3.proxy.set(Mode::Pass);
    amazons3(&site, &s3, &["--full"]).success();
    assert_eq!(s3.get(&key("h/small")), noise(20_000, 3));
}

#[test]
fn a_part_damaged_on_its_way_is_refused_and_the_upload_aborted() {
    let Some((site, s3)) = setup("a_part_damaged_on_its_way_is_refused_and_the_upload_aborted")
    else {
        return;
    };
    let (day, previous) = first_copy(&site, &s3);

    let file = day.join("h/big");
    let big = noise(BIG, 4);
    fs::write(&file, &big).unwrap();
    // Past the bodies of the other requests (the XML of a completion is far shorter), inside
    // every part.
    s3.proxy.set(Mode::FlipAfter(1 << 20));
    let out = refused_full(&site, &s3);
    assert!(s3.proxy.flips() >= 1);
    assert_refused(&site, &s3, &out, &file, "h/big", &previous);
    let log = site.log();
    assert!(log.contains("uploading a part of"), "{log}");
    // Of the new copy, which went up beside the day's previous one.
    assert!(
        log.lines().any(|l| l.contains(
            "Aborted the unfinished multipart upload of [staging/.cback-incoming/2026/03/04/"
        ) && l.ends_with("/h/big].")),
        "{log}"
    );

    s3.proxy.set(Mode::Pass);
    amazons3(&site, &s3, &["--full"]).success();
    assert_eq!(s3.get(&key("h/big")), big);
    assert!(s3.pending_uploads().is_empty());
}

#[test]
fn an_unfinished_upload_is_seen_in_its_own_bucket_only() {
    // Proves the harness: the server is shared, and the tests above look for what an upload
    // left in their own bucket only.
    let test = "an_unfinished_upload_is_seen_in_its_own_bucket_only";
    let Some(mine) = checking(test) else {
        return;
    };
    let other = mine.server.new_bucket(test);
    let home = tempfile::tempdir().unwrap();
    let client = s3_client(mine.server.endpoint(), s3fs::KEY, &mine.bucket, home.path());
    let id = client.create_multipart("h/big").unwrap();
    let pending = mine.pending_uploads();
    assert!(pending.iter().any(|n| n.contains(&id)), "{pending:?}");
    assert_eq!(mine.server.pending_uploads(&other), Vec::<String>::new());
    client.abort("h/big", &id).unwrap();
    assert_eq!(mine.pending_uploads(), Vec::<String>::new());
}

#[test]
fn the_sync_tool_mirrors_into_the_checking_server_and_is_refused_damaged_data() {
    let Some(s3) = checking("the_sync_tool_mirrors_into_the_checking_server") else {
        return;
    };
    let site = OffsiteMaster::new();
    let src = site.root.join("src");
    fs::create_dir_all(src.join("sub")).unwrap();
    fs::write(src.join("a"), b"alpha").unwrap();
    fs::write(src.join("sub/b"), b"bee").unwrap();
    fs::write(src.join("big"), noise(BIG, 5)).unwrap();
    let source = src.display().to_string();
    let url = format!("s3://{}/home/", s3.bucket);
    let run = |args: &[&str]| {
        let mut cmd = crate::BIN.sync();
        s3.server.env_with(&mut cmd, &s3.proxy.endpoint());
        cmd.arg("--logfile")
            .arg(site.log_path())
            .args(args)
            .assert()
    };
    run(&[&source, &url]).success();
    assert_eq!(
        s3.objects().into_iter().collect::<Vec<_>>(),
        vec![
            ("home/a".to_string(), 5),
            ("home/big".to_string(), BIG as u64),
            ("home/sub/b".to_string(), 3),
        ]
    );
    assert_eq!(s3.get("home/big"), noise(BIG, 5));
    // A file gone is removed from the server (DeleteObjects), a changed one replaced.
    fs::remove_file(src.join("sub/b")).unwrap();
    fs::write(src.join("a"), b"alpha, longer").unwrap();
    run(&[&source, &url]).success();
    assert_eq!(
        s3.objects().keys().cloned().collect::<Vec<_>>(),
        vec!["home/a".to_string(), "home/big".to_string()]
    );
    assert_eq!(s3.get("home/a"), b"alpha, longer");

    // A damaged upload is refused and named; nothing is left half done.
    fs::write(src.join("new"), noise(20_000, 6)).unwrap();
    s3.proxy.set(Mode::FlipAfter(10_000));
    let out = run(&[&source, &url]).failure().get_output().stderr.clone();
    let err = String::from_utf8_lossy(&out);
    assert!(
        err.contains(&src.join("new").display().to_string()),
        "{err}"
    );
    assert!(err.contains("BadDigest"), "{err}");
    assert!(!s3.objects().contains_key("home/new"));
    assert!(s3.pending_uploads().is_empty());
}

#[test]
fn a_day_of_more_than_a_thousand_objects_is_listed_in_pages_and_its_stale_keys_removed() {
    let Some((site, s3)) = setup("a_day_of_more_than_a_thousand_objects") else {
        return;
    };
    // ListObjectsV2 answers 1000 keys a page, DeleteObjects takes 1000 keys a request.
    let names: Vec<String> = (0..1005).map(|i| format!("h/f{i:04}")).collect();
    let files: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b"x"[..])).collect();
    let day = site.stage_day(TODAY_DIR, &files, true);
    amazons3(&site, &s3, &[]).success();
    assert_eq!(s3.objects().len(), 1005);
    assert!(site
        .log()
        .contains("SHA-256 checksums kept by the server match for 1005 of 1005 object(s)"));
    for name in &names[3..] {
        fs::remove_file(day.join(name)).unwrap();
    }
    amazons3(&site, &s3, &["--full"]).success();
    assert_eq!(
        s3.objects().into_keys().collect::<Vec<_>>(),
        names[..3].iter().map(|n| key(n)).collect::<Vec<_>>()
    );
    assert_eq!(site.status()["uploads"][0]["removed"], 1002);
}
