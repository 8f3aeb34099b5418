//! A second upload of a day S3 already holds, against a real S3 server (moto) through the
//! fault proxy: the new copy goes up beside the day first, and the day is switched to it only
//! once it is checked, with the previous copy set aside. A failure before the switch, in the
//! switch, or a switch the server cut short for good: the previous copy stays or comes back,
//! byte for byte, and no hidden copy or unfinished upload is left.

use std::collections::BTreeMap;
use std::fs;

use crate::offsite_support::*;
use cback_tests::s3::{self, Mode, Moto, Proxy, Requests};

/// Every object of the bucket but the days' upload markers, with the SHA-256 (hex) of its
/// content, read back through the test-side client in one go.
fn contents(moto: &Moto, bucket: &str) -> BTreeMap<String, String> {
    let out = moto.python(&format!(
        r#"
import hashlib, json
out = {{}}
for page in s3.get_paginator("list_objects_v2").paginate(Bucket={bucket:?}):
    for o in page.get("Contents", []):
        body = s3.get_object(Bucket={bucket:?}, Key=o["Key"])["Body"].read()
        out[o["Key"]] = hashlib.sha256(body).hexdigest()
print(json.dumps(out))
"#
    ));
    let all: BTreeMap<String, String> = serde_json::from_str(out.trim()).expect("JSON from boto3");
    all.into_iter()
        .filter(|(k, _)| !k.ends_with(&format!("/{MARKER}")))
        .collect()
}

/// The objects under the hidden prefixes.
fn hidden(moto: &Moto, bucket: &str) -> Vec<String> {
    moto.objects(bucket, "staging/.cback-")
        .into_keys()
        .collect()
}

/// Runs `cback --full amazons3` through the proxy.
fn run(
    site: &OffsiteMaster,
    moto: &Moto,
    bucket: &str,
    proxy: &Proxy,
) -> assert_cmd::assert::Assert {
    let config = site.config("", &amazons3_section(bucket, ""));
    let mut cmd = site.cback(&config, &["--full", "amazons3"]);
    moto.env_with(&mut cmd, &proxy.endpoint());
    cmd.assert()
}

fn stderr(assert: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&assert.get_output().stderr).into_owned()
}

/// The first copy of the day, stored: `h/a`, `h/b`, `h/c` and a 10 MiB `h/big` (two parts).
fn first_copy(
    site: &OffsiteMaster,
    moto: &Moto,
    bucket: &str,
    proxy: &Proxy,
) -> BTreeMap<String, String> {
    site.stage_day(
        TODAY_DIR,
        &[
            ("h/a", b"first a"),
            ("h/b", b"first b"),
            ("h/c", b"first c"),
            ("h/big", &noise(10 << 20, 21)),
        ],
        true,
    );
    run(site, moto, bucket, proxy).success();
    // Gone, so that a failed run can be seen not to write it.
    fs::remove_file(site.day(TODAY_DIR).join("cback.amazons3")).unwrap();
    let first = contents(moto, bucket);
    assert_eq!(first.len(), 4, "{:?}", first.keys());
    assert_eq!(marker_of(moto, bucket, TODAY_DIR)["state"], "complete");
    first
}

/// The second copy: `h/a` and `h/big` changed, `h/b` gone, `h/c` as it was, `h/d` new.
fn second_copy(site: &OffsiteMaster) -> Vec<u8> {
    let day = site.day(TODAY_DIR);
    let big = noise(18 << 20, 22);
    fs::write(day.join("h/a"), b"second a, longer").unwrap();
    fs::remove_file(day.join("h/b")).unwrap();
    fs::write(day.join("h/d"), b"new d").unwrap();
    fs::write(day.join("h/big"), &big).unwrap();
    big
}

/// Copies from the incoming prefix onto the day's keys.
const SWITCH_COPIES: &[&str] = &["x-amz-copy-source", "/.cback-incoming/"];

/// Uploads into the incoming prefix of `bucket` (path-style requests); with `parts`, only the
/// parts of multipart uploads. Leaked: a proxy's [`Requests`] are `'static` (a few bytes for
/// a test that picks requests by bucket).
fn incoming_uploads(bucket: &str, parts: bool) -> &'static [&'static str] {
    let upload: &'static str = format!("put /{bucket}/staging/.cback-incoming/").leak();
    let all_of = if parts {
        vec![upload, "x-id=uploadpart"]
    } else {
        vec![upload]
    };
    all_of.leak()
}

/// Runs the upload with every request matching `all_of` but the first failing (retries too):
/// asserts exit 6 and that the fault was hit more than once; returns the stderr.
fn fails_after_the_first(
    site: &OffsiteMaster,
    moto: &Moto,
    bucket: &str,
    proxy: &Proxy,
    all_of: &'static [&'static str],
) -> String {
    proxy.set(Mode::FailRequests(Requests { all_of, skip: 1 }));
    let failed = run(site, moto, bucket, proxy).code(6);
    assert!(proxy.matched() > 1, "the fault was hit");
    stderr(&failed)
}

#[test]
fn a_reupload_with_changed_removed_and_new_files_ends_with_exactly_the_new_set() {
    let Some((site, moto, bucket, proxy)) = moto_site_with_proxy(
        "a_reupload_with_changed_removed_and_new_files_ends_with_exactly_the_new_set",
    ) else {
        return;
    };
    first_copy(&site, moto, &bucket, &proxy);
    let big = second_copy(&site);
    run(&site, moto, &bucket, &proxy).success();
    let now = contents(moto, &bucket);
    let expected: BTreeMap<String, String> = [
        (key("h/a"), sha256_hex(b"second a, longer")),
        (key("h/big"), sha256_hex(&big)),
        (key("h/c"), sha256_hex(b"first c")),
        (key("h/d"), sha256_hex(b"new d")),
    ]
    .into_iter()
    .collect();
    assert_eq!(
        now.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>()
    );
    assert_eq!(now, expected);
    // A server-side copy keeps the whole object's SHA-256.
    assert_eq!(
        moto.checksum(&bucket, &key("h/a")),
        Some(sha256_b64(b"second a, longer"))
    );
    assert!(hidden(moto, &bucket).is_empty());
    assert!(moto.pending_uploads(&bucket).is_empty());
    let log = site.log();
    assert!(
        log.contains(&format!(
            "s3://{bucket}/staging/.cback-incoming/{TODAY_DIR}/"
        )),
        "{log}"
    );
    assert!(log.contains("Set aside the previous copy"), "{log}");
    assert!(
        log.contains(&format!("Switched s3://{bucket}/staging/2026/03/04/")),
        "{log}"
    );
    assert_eq!(site.status()["uploads"][0]["removed"], 1);
    assert!(site.day(TODAY_DIR).join("cback.amazons3").exists());
}

#[test]
fn a_reupload_failing_in_the_upload_phase_leaves_the_previous_copy_and_nothing_else() {
    let Some((site, moto, bucket, proxy)) = moto_site_with_proxy(
        "a_reupload_failing_in_the_upload_phase_leaves_the_previous_copy_and_nothing_else",
    ) else {
        return;
    };
    let first = first_copy(&site, moto, &bucket, &proxy);
    second_copy(&site);
    // The first part of the new h/big goes through, every later one is cut (retries too).
    let err = fails_after_the_first(
        &site,
        moto,
        &bucket,
        &proxy,
        incoming_uploads(&bucket, true),
    );
    assert!(
        err.contains(&format!(
            "s3://{bucket}/staging/.cback-incoming/{TODAY_DIR}/"
        )),
        "{err}"
    );
    assert!(err.contains("h/big"), "{err}");
    assert!(
        err.contains(&format!(
            "the previous copy of s3://{bucket}/staging/{TODAY_DIR}/ is intact"
        )),
        "{err}"
    );
    // Byte for byte the previous copy, nothing else in the bucket, no unfinished upload.
    assert_eq!(contents(moto, &bucket), first, "the previous copy changed");
    assert!(moto.pending_uploads(&bucket).is_empty());
    assert!(!site.day(TODAY_DIR).join("cback.amazons3").exists());
    assert_eq!(site.status()["uploads"][0]["success"], false);
}

#[test]
fn a_server_gone_in_the_upload_phase_leaves_the_previous_copy_and_the_next_run_cleans_up() {
    let Some((site, moto, bucket, proxy)) = moto_site_with_proxy(
        "a_server_gone_in_the_upload_phase_leaves_the_previous_copy_and_the_next_run_cleans_up",
    ) else {
        return;
    };
    let first = first_copy(&site, moto, &bucket, &proxy);
    let big = second_copy(&site);
    // Gone for good in the middle of the new h/big's parts.
    proxy.set(Mode::CutAfter(12 << 20));
    let failed = run(&site, moto, &bucket, &proxy).code(6);
    assert!(proxy.has_cut());
    assert!(stderr(&failed).contains("is intact"), "{}", stderr(&failed));
    let day_now: BTreeMap<String, String> = contents(moto, &bucket)
        .into_iter()
        .filter(|(k, _)| k.starts_with(&key("")))
        .collect();
    assert_eq!(day_now, first, "the previous copy changed");
    // What the server kept of the new copy waits under the hidden prefix, never in the day.
    assert!(!hidden(moto, &bucket).is_empty() || !moto.pending_uploads(&bucket).is_empty());

    proxy.set(Mode::Pass);
    run(&site, moto, &bucket, &proxy).success();
    assert!(
        hidden(moto, &bucket).is_empty(),
        "{:?}",
        hidden(moto, &bucket)
    );
    assert!(moto.pending_uploads(&bucket).is_empty());
    let now = contents(moto, &bucket);
    assert_eq!(now.len(), 4);
    assert_eq!(now[&key("h/big")], sha256_hex(&big));
    assert_eq!(now[&key("h/a")], sha256_hex(b"second a, longer"));
    assert!(!now.contains_key(&key("h/b")));
}

#[test]
fn a_switch_that_fails_is_rolled_back_to_the_previous_copy() {
    let Some((site, moto, bucket, proxy)) =
        moto_site_with_proxy("a_switch_that_fails_is_rolled_back_to_the_previous_copy")
    else {
        return;
    };
    let first = first_copy(&site, moto, &bucket, &proxy);
    second_copy(&site);
    // The first copy onto the day goes through (h/a is then new), the next ones are cut.
    let err = fails_after_the_first(&site, moto, &bucket, &proxy, SWITCH_COPIES);
    assert!(
        err.contains("the previous copy was put back and checked"),
        "{err}"
    );
    assert!(
        !err.contains("left as it was"),
        "one account of the day: {err}"
    );
    assert!(
        err.contains(&format!("s3://{bucket}/staging/{TODAY_DIR}/")),
        "{err}"
    );
    assert_eq!(
        contents(moto, &bucket),
        first,
        "the previous copy is not back"
    );
    // Its marker too: the switch had marked the day started.
    assert_eq!(marker_of(moto, &bucket, TODAY_DIR)["state"], "complete");
    assert!(hidden(moto, &bucket).is_empty());
    assert!(moto.pending_uploads(&bucket).is_empty());
    let log = site.log();
    assert!(log.contains("Put back the previous copy"), "{log}");
    assert!(!site.day(TODAY_DIR).join("cback.amazons3").exists());
}

#[test]
fn a_switch_cut_short_for_good_is_put_back_by_the_next_run_before_anything_else() {
    let Some((site, moto, bucket, proxy)) = moto_site_with_proxy(
        "a_switch_cut_short_for_good_is_put_back_by_the_next_run_before_anything_else",
    ) else {
        return;
    };
    let first = first_copy(&site, moto, &bucket, &proxy);
    let big = second_copy(&site);
    // The server goes away for good after the first copy onto the day: no rollback.
    proxy.set(Mode::DownAt(Requests {
        all_of: SWITCH_COPIES,
        skip: 1,
    }));
    let failed = run(&site, moto, &bucket, &proxy).code(6);
    assert!(proxy.has_cut());
    let err = stderr(&failed);
    let aside_root = format!("staging/.cback-previous/{TODAY_DIR}/");
    assert!(
        err.contains(&format!(
            "the previous copy is intact in s3://{bucket}/{aside_root}"
        )),
        "{err}"
    );
    assert!(err.contains("the next amazons3 run puts it back"), "{err}");
    // The day is half switched, and marked started; the aside copy holds the previous one,
    // marked complete.
    assert_eq!(marker_of(moto, &bucket, TODAY_DIR)["state"], "started");
    let now = contents(moto, &bucket);
    assert_ne!(now[&key("h/a")], first[&key("h/a")], "the switch had begun");
    let aside: Vec<&String> = now.keys().filter(|k| k.starts_with(&aside_root)).collect();
    assert!(aside.iter().any(|k| k.ends_with(".ready")), "{aside:?}");
    for (k, data) in &first {
        let rel = k.strip_prefix(&key("")).unwrap();
        let copy = now
            .iter()
            .find(|(a, _)| a.starts_with(&aside_root) && a.ends_with(&format!("/{rel}")))
            .unwrap_or_else(|| panic!("{rel} is not set aside: {aside:?}"));
        assert_eq!(copy.1, data, "{rel} aside differs");
    }

    // The next run puts the previous copy back first: here it then fails at its first
    // upload, and the day is the previous copy again, byte for byte.
    proxy.set(Mode::DownAt(Requests {
        all_of: incoming_uploads(&bucket, false),
        skip: 0,
    }));
    run(&site, moto, &bucket, &proxy).code(6);
    assert!(proxy.has_cut(), "the run went as far as uploading");
    let day_now: BTreeMap<String, String> = contents(moto, &bucket)
        .into_iter()
        .filter(|(k, _)| !k.starts_with("staging/.cback-"))
        .collect();
    assert_eq!(day_now, first, "the previous copy was not put back");
    assert!(
        moto.objects(&bucket, &aside_root).is_empty(),
        "the aside copy is removed once put back"
    );
    assert!(site.log().contains(&format!(
        "Put back the previous copy of s3://{bucket}/staging/2026/03/04/"
    )));

    // And a run with the server there stores the new copy.
    proxy.set(Mode::Pass);
    run(&site, moto, &bucket, &proxy).success();
    let now = contents(moto, &bucket);
    assert_eq!(
        now.keys().cloned().collect::<Vec<_>>(),
        vec![key("h/a"), key("h/big"), key("h/c"), key("h/d")]
    );
    assert_eq!(now[&key("h/big")], sha256_hex(&big));
    assert_eq!(now[&key("h/a")], sha256_hex(b"second a, longer"));
    assert!(hidden(moto, &bucket).is_empty());
    assert!(moto.pending_uploads(&bucket).is_empty());
}

#[test]
fn a_multipart_copy_keeps_the_content_and_the_composite_checksum() {
    use cedar_ext_amazons3::{copy_object, upload_file, Listed, Places, Replace, Stored};

    let test = "a_multipart_copy_keeps_the_content_and_the_composite_checksum";
    let Some(moto) = s3::shared(test) else {
        return;
    };
    let bucket = moto.new_bucket(test);
    let home = tempfile::tempdir().unwrap();
    let s3 = s3_client(
        moto.endpoint(),
        (&moto.key.0, &moto.key.1),
        &bucket,
        home.path(),
    );
    let part = 5 << 20;
    let data = noise(12 << 20, 31);
    let file = home.path().join("big");
    fs::write(&file, &data).unwrap();

    // One object copied in parts (the limit lowered to 1 MiB): the parts are cut where the
    // upload cut them, so the copy keeps the upload's composite checksum.
    let parts = std::sync::Mutex::new(Vec::new());
    let sent = upload_file(&s3, "src/big", &file, part, &|n| {
        parts.lock().unwrap().push(n)
    })
    .unwrap();
    assert_eq!(sent.part_size, Some(part));
    // Each part was reported as it was sent: 5 + 5 + 2 MiB.
    assert_eq!(parts.into_inner().unwrap(), [part, part, 2 << 20]);
    copy_object(&s3, "src/big", "dst/big", data.len() as u64, part, 1 << 20).unwrap();
    assert!(moto.get(&bucket, "dst/big") == data);
    let etag = moto.python(&format!(
        "print(s3.head_object(Bucket={bucket:?}, Key='dst/big')['ETag'])"
    ));
    assert!(etag.trim().trim_matches('"').ends_with("-3"), "{etag}");
    let stored = Stored::new("big", file.clone(), &sent);
    let kept = moto.checksum(&bucket, "dst/big").expect("a checksum");
    assert!(stored.accepts(&kept), "{kept} vs {sent:?}");
    assert!(moto.pending_uploads(&bucket).is_empty());

    // A whole switch with multipart copies: previous copy aside, new copy in place, checked.
    let places = Places::new("p", TODAY_DIR, "00000000001-1");
    moto.put(&bucket, &format!("{}/old", places.day), b"old");
    moto.put(&bucket, &format!("{}/big", places.day), b"old big");
    let previous = {
        let mut listed = Vec::new();
        for (k, size) in moto.objects(&bucket, &format!("{}/", places.day)) {
            listed.push(Listed {
                key: k,
                size,
                modified: None,
            });
        }
        listed
    };
    let incoming = upload_file(
        &s3,
        &format!("{}/big", places.incoming),
        &file,
        part,
        &|_| {},
    )
    .unwrap();
    let objects = [Stored::new("big", file.clone(), &incoming)];
    let removed = Replace {
        s3: &s3,
        places: &places,
        previous: &previous,
        objects: &objects,
        part_size: part,
        single_copy_max: 1 << 20,
        started: None,
    }
    .run()
    .unwrap();
    assert_eq!(removed, 1);
    let all = moto.objects(&bucket, "p/");
    assert_eq!(
        all.keys().cloned().collect::<Vec<_>>(),
        vec![format!("{}/big", places.day)]
    );
    assert!(moto.get(&bucket, &format!("{}/big", places.day)) == data);
    assert!(moto.pending_uploads(&bucket).is_empty());
}
