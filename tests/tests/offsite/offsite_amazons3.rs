//! The amazons3 action end to end against a real S3 server (moto) on loopback: keys, content
//! and checksums, the day picked, `--full`, the size limits, a second upload of the same day,
//! multipart with bounded memory, encryption on the way (the gpg command and age), the
//! server unreachable before and in the middle of an upload, and credentials.

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::offsite_support::*;
use cback_tests::s3::{self, Mode, Moto, Proxy};

#[test]
fn a_day_is_stored_with_its_keys_content_checksums_and_indicator() {
    let Some((site, moto, bucket)) =
        moto_site("a_day_is_stored_with_its_keys_content_checksums_and_indicator")
    else {
        return;
    };
    let archive = noise(3000, 1);
    let day = site.stage_day(
        TODAY_DIR,
        &[
            ("host1/a.tar.gz", &archive),
            ("host1/cback.collect", b""),
            ("host1/sub dir/b.txt", b"bee"),
            ("host1/empty", b""),
            ("mycback.txt", b"kept"),
            ("cback.inner/hidden", b"never stored"),
        ],
        true,
    );
    std::os::unix::fs::symlink(day.join("host1/a.tar.gz"), day.join("host1/link")).unwrap();
    let before = tree(&day);
    let config = site.config("", &amazons3_section(&bucket, ""));
    let mut cmd = site.cback(&config, &["amazons3"]);
    moto.env(&mut cmd);
    cmd.assert().success();

    let objects = copies(moto.objects(&bucket, ""));
    // The day's upload marker: complete, and no stage record named a peer.
    assert_eq!(
        marker_of(moto, &bucket, TODAY_DIR),
        serde_json::json!({"format": 1, "state": "complete", "peers": {}})
    );
    let expected: Vec<(String, u64)> = vec![
        (day_key(TODAY_DIR, "host1/a.tar.gz"), 3000),
        (day_key(TODAY_DIR, "host1/empty"), 0),
        (day_key(TODAY_DIR, "host1/link"), 3000),
        (day_key(TODAY_DIR, "host1/sub dir/b.txt"), 3),
        (day_key(TODAY_DIR, "mycback.txt"), 4),
    ];
    assert_eq!(objects.into_iter().collect::<Vec<_>>(), expected);
    assert_eq!(
        moto.get(&bucket, &day_key(TODAY_DIR, "host1/a.tar.gz")),
        archive
    );
    assert_eq!(
        moto.get(&bucket, &day_key(TODAY_DIR, "host1/link")),
        archive
    );
    assert_eq!(
        moto.get(&bucket, &day_key(TODAY_DIR, "host1/sub dir/b.txt")),
        b"bee"
    );
    // Each object carries the SHA-256 sent with it.
    assert_eq!(
        moto.checksum(&bucket, &day_key(TODAY_DIR, "host1/a.tar.gz")),
        Some(sha256_b64(&archive))
    );
    // The staged tree is unchanged but for the indicator.
    let mut after = tree(&day);
    assert_eq!(after.remove("cback.amazons3"), Some(Vec::new()));
    after.remove("host1/link");
    let mut before = before;
    before.remove("host1/link");
    assert_eq!(after, before);
    let log = site.log();
    assert!(log.contains(&format!(
        "Amazon S3 process will use current day's staging directory [{}]",
        day.display()
    )));
    assert!(log.contains("Executed the amazons3 extended action successfully."));
    // Status and metrics: objects, bytes, success.
    let status = site.status();
    let upload = &status["uploads"][0];
    assert_eq!(
        upload["destination"],
        format!("s3://{bucket}/staging/{TODAY_DIR}")
    );
    assert_eq!(upload["objects"], 5);
    assert_eq!(upload["bytes"], 3000 + 3000 + 3 + 4);
    assert_eq!(upload["success"], true);
    let prom = fs::read_to_string(site.work().join("cback.prom")).unwrap();
    assert!(prom.contains(&format!(
        "cback_upload_success{{destination=\"s3://{bucket}/staging/{TODAY_DIR}\"}} 1"
    )));
    assert!(prom.contains(&format!(
        "cback_upload_objects{{destination=\"s3://{bucket}/staging/{TODAY_DIR}\"}} 5"
    )));
}

#[test]
fn a_second_upload_replaces_the_day_and_removes_only_its_stale_keys() {
    let Some((site, moto, bucket)) =
        moto_site("a_second_upload_replaces_the_day_and_removes_only_its_stale_keys")
    else {
        return;
    };
    let day = site.stage_day(TODAY_DIR, &[("h/a", b"one"), ("h/gone", b"old")], true);
    moto.put(&bucket, &day_key(YESTERDAY_DIR, "h/a"), b"other day");
    moto.put(&bucket, "unrelated/key", b"x");
    let config = site.config("", &amazons3_section(&bucket, ""));
    let mut cmd = site.cback(&config, &["amazons3"]);
    moto.env(&mut cmd);
    cmd.assert().success();
    fs::remove_file(day.join("h/gone")).unwrap();
    fs::write(day.join("h/a"), b"two!").unwrap();
    fs::write(day.join("h/new"), b"new").unwrap();
    // The day is stored already: only --full stores it again.
    let mut cmd = site.cback(&config, &["amazons3"]);
    moto.env(&mut cmd);
    cmd.assert().code(6);
    assert!(site.log().contains(
        "Unable to find unused staging directory to process (tried today, yesterday, tomorrow)."
    ));
    let mut cmd = site.cback(&config, &["--full", "amazons3"]);
    moto.env(&mut cmd);
    cmd.assert().success();
    let objects = copies(moto.objects(&bucket, ""));
    assert_eq!(
        objects.keys().cloned().collect::<Vec<_>>(),
        vec![
            day_key(YESTERDAY_DIR, "h/a"),
            day_key(TODAY_DIR, "h/a"),
            day_key(TODAY_DIR, "h/new"),
            "unrelated/key".to_string()
        ]
    );
    assert_eq!(moto.get(&bucket, &day_key(TODAY_DIR, "h/a")), b"two!");
    assert_eq!(
        moto.get(&bucket, &day_key(YESTERDAY_DIR, "h/a")),
        b"other day"
    );
    assert_eq!(site.status()["uploads"][0]["removed"], 1);
}

#[test]
fn the_day_picked_is_today_then_yesterday_then_tomorrow() {
    let Some((site, moto, bucket)) =
        moto_site("the_day_picked_is_today_then_yesterday_then_tomorrow")
    else {
        return;
    };
    let config = site.config(
        "",
        &amazons3_section(&bucket, "<warn_midnite>Y</warn_midnite>"),
    );
    let run = |args: &[&str]| {
        let mut cmd = site.cback(&config, args);
        moto.env(&mut cmd);
        cmd.assert()
    };
    run(&["amazons3"]).code(6);
    assert!(site.log().contains(
        "Unable to find unused staging directory to process (tried today, yesterday, tomorrow)."
    ));
    // A directory without cback.stage is not a candidate.
    site.stage_day(YESTERDAY_DIR, &[("h/unstaged", b"u")], false);
    site.stage_day(TOMORROW_DIR, &[("h/t", b"t")], true);
    run(&["amazons3"]).success();
    assert!(site.log().contains(&format!(
        "Amazon S3 process will use next day's staging directory [{}]",
        site.day(TOMORROW_DIR).display()
    )));
    assert!(site
        .log()
        .contains("Warning: Amazon S3 process crossed midnite boundary to find data."));
    fs::write(site.day(YESTERDAY_DIR).join("cback.stage"), b"").unwrap();
    run(&["amazons3"]).success();
    assert!(site.log().contains(&format!(
        "Amazon S3 process will use previous day's staging directory [{}]",
        site.day(YESTERDAY_DIR).display()
    )));
    // --full tries only today.
    run(&["--full", "amazons3"]).code(6);
    assert!(site.log().contains(
        "Unable to find staging directory to process (only tried today due to full option)."
    ));
    site.stage_day(TODAY_DIR, &[("h/today", b"d")], true);
    run(&["amazons3"]).success();
    let objects = copies(moto.objects(&bucket, ""));
    assert_eq!(
        objects.keys().cloned().collect::<Vec<_>>(),
        vec![
            day_key(YESTERDAY_DIR, "h/unstaged"),
            day_key(TODAY_DIR, "h/today"),
            day_key(TOMORROW_DIR, "h/t")
        ]
    );
    // Stored already, today is stored again with --full.
    run(&["--full", "amazons3"]).success();
}

#[test]
fn size_limits_refuse_a_day_before_s3_is_touched() {
    let Some((site, moto, bucket)) = moto_site("size_limits_refuse_a_day_before_s3_is_touched")
    else {
        return;
    };
    let day = site.stage_day(
        TODAY_DIR,
        &[("h/a", &[7u8; 2000]), ("h/cback.collect", &[0u8; 48])],
        true,
    );
    // 2048 bytes with the indicators (cback.* files count, as in the original).
    let run = |limits: &str, args: &[&str]| {
        let config = site.config("", &amazons3_section(&bucket, limits));
        let mut cmd = site.cback(&config, args);
        moto.env(&mut cmd);
        cmd.assert()
    };
    let refused = run(
        "<incr_size_limit>1 KB</incr_size_limit><full_size_limit>1GB</full_size_limit>",
        &["amazons3"],
    );
    refused.code(6);
    assert!(
        site.log()
            .contains("Amazon S3 size limit exceeded: 2.00 kB > 1.00 kB"),
        "{}",
        site.log()
    );
    assert!(moto.objects(&bucket, "").is_empty());
    assert!(!day.join("cback.amazons3").exists());
    // --full takes full_size_limit.
    run(
        "<incr_size_limit>1GB</incr_size_limit><full_size_limit>2047</full_size_limit>",
        &["--full", "amazons3"],
    )
    .code(6);
    let log = site.log();
    assert!(
        log.contains("Amazon S3 size limit exceeded: 2.00 kB > 2.00 kB"),
        "{log}"
    );
    assert!(moto.objects(&bucket, "").is_empty());
    // Equal to the limit passes.
    run(
        "<incr_size_limit>2 KB</incr_size_limit><full_size_limit>1</full_size_limit>",
        &["amazons3"],
    )
    .success();
    assert!(site
        .log()
        .contains("Total size does not exceed Amazon S3 size limit, so backup can continue."));
    assert_eq!(copies(moto.objects(&bucket, "")).len(), 1);
}

#[test]
fn the_starting_day_takes_the_full_limit() {
    let Some((site, moto, bucket)) = moto_site("the_starting_day_takes_the_full_limit") else {
        return;
    };
    site.stage_day(TODAY_DIR, &[("h/a", &[1u8; 100])], true);
    let config = site
        .config(
            "",
            &amazons3_section(
                &bucket,
                "<incr_size_limit>1GB</incr_size_limit><full_size_limit>10</full_size_limit>",
            ),
        )
        .display()
        .to_string();
    // TODAY is a Wednesday: make it the starting day.
    let text = fs::read_to_string(&config).unwrap().replace(
        "<starting_day>monday</starting_day>",
        "<starting_day>wednesday</starting_day>",
    );
    fs::write(&config, text).unwrap();
    let mut cmd = site.cback(Path::new(&config), &["amazons3"]);
    moto.env(&mut cmd);
    cmd.assert().code(6);
    assert!(site
        .log()
        .contains("Amazon S3 size limit exceeded: 100 bytes > 10 bytes"));
}

/// The peak resident memory of a running process, polled from /proc until it exits.
fn run_measuring_peak(mut cmd: std::process::Command) -> (std::process::ExitStatus, u64) {
    let mut child = cmd.spawn().unwrap();
    let mut peak = 0;
    loop {
        if let Ok(status) = fs::read_to_string(format!("/proc/{}/status", child.id())) {
            if let Some(kb) = status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            {
                peak = peak.max(kb);
            }
        }
        if let Some(status) = child.try_wait().unwrap() {
            return (status, peak);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_large_file_goes_up_in_parts_with_bounded_memory() {
    let Some((site, moto, bucket)) = moto_site("a_large_file_goes_up_in_parts_with_bounded_memory")
    else {
        return;
    };
    let big = noise(100 << 20, 7);
    site.stage_day(TODAY_DIR, &[("h/big.bin", &big)], true);
    let config = site.config("", &amazons3_section(&bucket, ""));
    let mut cmd = std::process::Command::new(crate::BIN.cback_path());
    cmd.env("CEDAR_TODAY", TODAY)
        .env("LANG", "C")
        .arg("--config")
        .arg(&config)
        .arg("--logfile")
        .arg(site.log_path())
        .arg("amazons3")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_REGION", s3::REGION)
        .env("AWS_ENDPOINT_URL", moto.endpoint())
        .env("AWS_ACCESS_KEY_ID", &moto.key.0)
        .env("AWS_SECRET_ACCESS_KEY", &moto.key.1)
        .env("AWS_CONFIG_FILE", moto.dir.path().join("none"))
        .env("AWS_SHARED_CREDENTIALS_FILE", moto.dir.path().join("none"));
    let (status, peak_kb) = run_measuring_peak(cmd);
    assert!(status.success(), "{}", site.log());
    assert!(peak_kb > 0 && peak_kb < 64 * 1024, "peak RSS {peak_kb} kB");
    let object = day_key(TODAY_DIR, "h/big.bin");
    // 100 MiB in 8 MiB parts: a multipart object of 13 parts.
    let etag = moto.python(&format!(
        "print(s3.head_object(Bucket={bucket:?}, Key={object:?})['ETag'])"
    ));
    assert!(etag.trim().trim_matches('"').ends_with("-13"), "{etag}");
    assert_eq!(moto.get(&bucket, &object), big);
    assert!(moto.pending_uploads(&bucket).is_empty());
}

#[test]
fn encrypted_with_the_gpg_command_the_objects_decrypt_to_the_files() {
    let Some(gpg) = cback_tests::gpg::available("encrypted_with_the_gpg_command") else {
        return;
    };
    let Some((site, moto, bucket)) =
        moto_site("encrypted_with_the_gpg_command_the_objects_decrypt_to_the_files")
    else {
        return;
    };
    let keyring = cback_tests::gpg::Keyring::generate(&gpg);
    let big = noise(9 << 20, 3);
    site.stage_day(
        TODAY_DIR,
        &[
            ("h/a b.txt", b"plain text"),
            ("h/empty", b""),
            ("h/big", &big),
            ("h/cback.collect", b""),
        ],
        true,
    );
    let command = format!(
        "<encrypt>{} --batch --yes -e -r '{}' -o '${{output}}' '${{input}}'</encrypt>",
        gpg.display(),
        cback_tests::gpg::ADDRESS
    );
    let config = site.config("", &amazons3_section(&bucket, &command));
    let mut cmd = site.cback(&config, &["amazons3"]);
    moto.env(&mut cmd);
    cmd.env("GNUPGHOME", keyring.home());
    cmd.assert().success();
    let objects = copies(moto.objects(&bucket, ""));
    assert_eq!(
        objects.keys().cloned().collect::<Vec<_>>(),
        vec![
            day_key(TODAY_DIR, "h/a b.txt"),
            day_key(TODAY_DIR, "h/big"),
            day_key(TODAY_DIR, "h/empty")
        ]
    );
    assert_eq!(objects[&day_key(TODAY_DIR, "h/empty")], 0);
    let check = |rel: &str, plain: &[u8]| {
        let data = moto.get(&bucket, &day_key(TODAY_DIR, rel));
        assert_ne!(data, plain, "{rel} is stored encrypted");
        let file = site.root.join("object.gpg");
        fs::write(&file, &data).unwrap();
        assert_eq!(keyring.decrypt(&file), plain, "{rel}");
    };
    check("h/a b.txt", b"plain text");
    check("h/big", &big);
    // Nothing encrypted was left on disk.
    let leftovers: Vec<_> = fs::read_dir(site.work())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("cback.amazons3"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    assert!(moto.pending_uploads(&bucket).is_empty());
}

#[test]
fn a_failing_encrypt_command_stores_nothing_under_its_key() {
    let Some((site, moto, bucket)) =
        moto_site("a_failing_encrypt_command_stores_nothing_under_its_key")
    else {
        return;
    };
    site.stage_day(
        TODAY_DIR,
        &[("h/a", b"a"), ("h/b", &noise(12 << 20, 5))],
        true,
    );
    moto.put(&bucket, &day_key(TODAY_DIR, "h/old"), b"previous copy");
    let config = site.config(
        "",
        &amazons3_section(
            &bucket,
            "<encrypt>cat '${input}' > '${output}'; test \"$(basename '${input}')\" != b</encrypt>",
        ),
    );
    let mut cmd = site.cback(&config, &["amazons3"]);
    moto.env(&mut cmd);
    cmd.assert().code(6);
    let log = site.log();
    assert!(
        log.contains(&format!(
            "Error [1] encrypting [{}].",
            site.day(TODAY_DIR).join("h/b").display()
        )),
        "{log}"
    );
    let objects = moto.objects(&bucket, "");
    assert!(
        !objects.contains_key(&day_key(TODAY_DIR, "h/b")),
        "{objects:?}"
    );
    assert!(
        objects.contains_key(&day_key(TODAY_DIR, "h/old")),
        "the previous copy stays"
    );
    assert!(moto.pending_uploads(&bucket).is_empty());
    assert!(!site.day(TODAY_DIR).join("cback.amazons3").exists());
}

#[test]
fn encrypted_with_age_recipients_the_objects_decrypt_to_the_files() {
    let Some((site, moto, bucket)) =
        moto_site("encrypted_with_age_recipients_the_objects_decrypt_to_the_files")
    else {
        return;
    };
    let x25519 = age::x25519::Identity::generate();
    let ssh_dir = site.root.join("ssh");
    fs::create_dir(&ssh_dir).unwrap();
    let ssh_key = ssh_dir.join("id_ed25519");
    let keygen = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "cback-test", "-f"])
        .arg(&ssh_key)
        .status();
    let ssh = keygen.is_ok_and(|s| s.success());
    let mut recipients = format!("<recipient>{}</recipient>", x25519.to_public());
    if ssh {
        let public = fs::read_to_string(ssh_key.with_extension("pub")).unwrap();
        recipients.push_str(&format!("<recipient>{}</recipient>", public.trim()));
    } else {
        skipped(
            "age with an ssh-ed25519 recipient",
            "ssh-keygen is not installed",
        );
    }
    let big = noise(9 << 20, 11);
    site.stage_day(
        TODAY_DIR,
        &[("h/a", b"alpha"), ("h/big", &big), ("h/empty", b"")],
        true,
    );
    let config = site.config(
        "",
        &amazons3_section(
            &bucket,
            &format!("<encrypt_mode>age</encrypt_mode>{recipients}"),
        ),
    );
    let mut cmd = site.cback(&config, &["amazons3"]);
    moto.env(&mut cmd);
    cmd.assert().success();
    let a = moto.get(&bucket, &day_key(TODAY_DIR, "h/a"));
    assert!(a.starts_with(b"age-encryption.org/v1"));
    assert_eq!(age_decrypt(&x25519, &a), b"alpha");
    let stored_big = moto.get(&bucket, &day_key(TODAY_DIR, "h/big"));
    assert_eq!(age_decrypt(&x25519, &stored_big), big);
    if ssh {
        let identity = age::ssh::Identity::from_buffer(
            std::io::BufReader::new(fs::File::open(&ssh_key).unwrap()),
            None,
        )
        .unwrap();
        assert_eq!(age_decrypt(&identity, &stored_big), big);
    }
    assert_eq!(moto.get(&bucket, &day_key(TODAY_DIR, "h/empty")), b"");
}

#[test]
fn an_unreachable_server_fails_and_leaves_the_previous_copy() {
    let Some((site, moto, bucket)) =
        moto_site("an_unreachable_server_fails_and_leaves_the_previous_copy")
    else {
        return;
    };
    let proxy = Proxy::start(moto.port, Mode::Pass);
    site.stage_day(TODAY_DIR, &[("h/a", b"first"), ("h/b", b"bee")], true);
    let config = site.config("", &amazons3_section(&bucket, ""));
    let mut cmd = site.cback(&config, &["amazons3"]);
    moto.env_with(&mut cmd, &proxy.endpoint());
    cmd.assert().success();
    let previous = moto.objects(&bucket, "");
    assert_eq!(copies(previous.clone()).len(), 2);

    // The server is gone before anything is sent.
    fs::write(site.day(TODAY_DIR).join("h/a"), b"second version").unwrap();
    proxy.set(Mode::Refuse);
    let started = Instant::now();
    let mut cmd = site.cback(&config, &["--full", "amazons3"]);
    moto.env_with(&mut cmd, &proxy.endpoint());
    let out = cmd.assert().code(6).get_output().stderr.clone();
    let err = String::from_utf8_lossy(&out);
    assert!(err.contains(&format!("s3://{bucket}")), "{err}");
    assert!(err.contains(&proxy.endpoint()), "{err}");
    assert!(!err.contains(&moto.key.1), "no secret in a message");
    assert!(started.elapsed() < Duration::from_secs(120));
    assert_eq!(moto.objects(&bucket, ""), previous);
    assert_eq!(moto.get(&bucket, &day_key(TODAY_DIR, "h/a")), b"first");
    let status = site.status();
    assert_eq!(status["uploads"][0]["success"], false);
}

#[test]
fn a_server_gone_in_the_middle_leaves_no_object_and_the_previous_copy() {
    let Some((site, moto, bucket)) =
        moto_site("a_server_gone_in_the_middle_leaves_no_object_and_the_previous_copy")
    else {
        return;
    };
    let proxy = Proxy::start(moto.port, Mode::Pass);
    let day = site.stage_day(TODAY_DIR, &[("h/a", b"first"), ("h/b", b"bee")], true);
    let config = site.config("", &amazons3_section(&bucket, ""));
    let mut cmd = site.cback(&config, &["amazons3"]);
    moto.env_with(&mut cmd, &proxy.endpoint());
    cmd.assert().success();
    let previous = moto.objects(&bucket, "");

    // A large file: the connection is cut after 20 MB, half way through its parts.
    let big = noise(40 << 20, 9);
    fs::write(day.join("h/big"), &big).unwrap();
    fs::remove_file(day.join("h/b")).unwrap();
    proxy.set(Mode::CutAfter(20 << 20));
    let mut cmd = site.cback(&config, &["--full", "amazons3"]);
    moto.env_with(&mut cmd, &proxy.endpoint());
    cmd.assert().code(6);
    assert!(proxy.has_cut());
    // The day holds a copy: the new one goes up beside it, and the error names that key.
    let log = site.log();
    assert!(
        log.contains(&format!(
            "s3://{bucket}/staging/.cback-incoming/{TODAY_DIR}/"
        )) && log.contains("/h/big"),
        "{log}"
    );
    // No object under the final key; the previous copy (h/b included) is all there.
    let now = moto.objects(&bucket, &day_key(TODAY_DIR, ""));
    assert!(!now.contains_key(&day_key(TODAY_DIR, "h/big")));
    assert_eq!(now, previous);
    assert_eq!(moto.get(&bucket, &day_key(TODAY_DIR, "h/b")), b"bee");

    // Back again: the next run aborts what the cut left and stores the day.
    proxy.set(Mode::Pass);
    let mut cmd = site.cback(&config, &["--full", "amazons3"]);
    moto.env_with(&mut cmd, &proxy.endpoint());
    cmd.assert().success();
    assert!(moto.pending_uploads(&bucket).is_empty());
    let now = copies(moto.objects(&bucket, ""));
    assert_eq!(
        now.keys().cloned().collect::<Vec<_>>(),
        vec![day_key(TODAY_DIR, "h/a"), day_key(TODAY_DIR, "h/big")]
    );
    assert_eq!(moto.get(&bucket, &day_key(TODAY_DIR, "h/big")), big);
}

#[test]
fn a_part_cut_off_in_the_middle_is_retried() {
    let Some((site, moto, bucket)) = moto_site("a_part_cut_off_in_the_middle_is_retried") else {
        return;
    };
    let proxy = Proxy::start(moto.port, Mode::CutOnceAfter(12 << 20));
    let big = noise(24 << 20, 13);
    site.stage_day(TODAY_DIR, &[("h/big", &big)], true);
    let config = site.config("", &amazons3_section(&bucket, ""));
    let mut cmd = site.cback(&config, &["amazons3"]);
    moto.env_with(&mut cmd, &proxy.endpoint());
    cmd.assert().success();
    assert_eq!(proxy.cuts(), 1, "the connection was cut once");
    assert_eq!(moto.get(&bucket, &day_key(TODAY_DIR, "h/big")), big);
    assert!(moto.pending_uploads(&bucket).is_empty());
}

#[test]
fn credentials_are_checked_and_read_from_the_profile_files() {
    let Some(programs) = s3::available("credentials_are_checked_and_read_from_the_profile_files")
    else {
        return;
    };
    if !is_root() {
        skipped("credentials_are_checked", "amazons3 runs only as root");
        return;
    }
    // A server of its own: the shared one accepts any credentials, this one only the key it
    // makes (moto checks credentials for every bucket of a server, or for none).
    let bucket = "bkt";
    let moto = Moto::start_with_auth(&programs, bucket);
    let site = OffsiteMaster::new();
    site.stage_day(TODAY_DIR, &[("h/a", b"a")], true);
    let config = site.config("", &amazons3_section(bucket, ""));

    // A wrong secret: refused, exit 6, and the secret is in no message.
    let mut cmd = site.cback(&config, &["amazons3"]);
    moto.env(&mut cmd);
    cmd.env("AWS_SECRET_ACCESS_KEY", "wrong-secret-value");
    let out = cmd.assert().code(6).get_output().stderr.clone();
    let err = String::from_utf8_lossy(&out);
    // One line that says which request, which bucket and where the credentials came from; no
    // dump of the SDK's internals.
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.contains(&format!("checking bucket s3://{bucket} at "))
            && err.contains("HTTP 403")
            && err.contains("the credentials from the environment (AWS_ACCESS_KEY_ID)"),
        "{err}"
    );
    assert!(!err.contains("Unhandled") && !err.contains("raw:"), "{err}");
    assert!(!err.contains("wrong-secret-value"));
    assert!(!site.log().contains("wrong-secret-value"));
    assert!(!site.log().contains(&moto.key.1));

    // The right key from a profile of the credentials file, chosen with AWS_PROFILE.
    let credentials = moto.dir.path().join("aws-credentials");
    fs::write(
        &credentials,
        format!(
            "[default]\naws_access_key_id = AKIAWRONG\naws_secret_access_key = wrong\n\n\
             [backup]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
            moto.key.0, moto.key.1
        ),
    )
    .unwrap();
    let mut cmd = site.cback(&config, &["amazons3"]);
    moto.env(&mut cmd);
    cmd.env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env("AWS_PROFILE", "backup");
    cmd.assert().success();
    assert_eq!(copies(moto.objects(bucket, "")).len(), 1);
    assert!(!site.log().contains(&moto.key.1));

    // A refused profile is named with the file it is in.
    let mut cmd = site.cback(&config, &["--full", "amazons3"]);
    moto.env(&mut cmd);
    cmd.env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env("AWS_PROFILE", "default");
    let out = cmd.assert().code(6).get_output().stderr.clone();
    let err = String::from_utf8_lossy(&out);
    assert!(
        err.contains(&format!(
            "the credentials from profile [default] of {}",
            credentials.display()
        )),
        "{err}"
    );
}

#[test]
fn a_missing_bucket_fails_naming_it() {
    let Some((site, moto, _)) = moto_site("a_missing_bucket_fails_naming_it") else {
        return;
    };
    site.stage_day(TODAY_DIR, &[("h/a", b"a")], true);
    let config = site.config(
        "",
        "<amazons3><s3_bucket>no-such-bucket/p</s3_bucket></amazons3>",
    );
    let mut cmd = site.cback(&config, &["amazons3"]);
    moto.env(&mut cmd);
    let out = cmd.assert().code(6).get_output().stderr.clone();
    let err = String::from_utf8_lossy(&out);
    assert!(err.contains("s3://no-such-bucket"), "{err}");
    assert!(err.contains("create the bucket"), "{err}");
}

#[test]
fn an_endpoint_element_and_a_day_of_indicators_only() {
    let Some((site, moto, bucket)) = moto_site("an_endpoint_element_and_a_day_of_indicators_only")
    else {
        return;
    };
    // Only indicators: an empty day is stored (the original crashes), stale keys removed.
    site.stage_day(TODAY_DIR, &[("h/cback.collect", b"")], true);
    moto.put(&bucket, &day_key(TODAY_DIR, "h/stale"), b"s");
    let config = site.config(
        "",
        &format!(
            "<amazons3><s3_bucket>{bucket}/staging</s3_bucket><endpoint>{}</endpoint></amazons3>",
            moto.endpoint()
        ),
    );
    let mut cmd = site.cback(&config, &["amazons3"]);
    moto.env(&mut cmd);
    cmd.env_remove("AWS_ENDPOINT_URL");
    cmd.assert().success();
    // Nothing but the day's marker, complete: the day is an empty backup, not a cut one.
    assert_eq!(
        moto.objects(&bucket, "").into_keys().collect::<Vec<_>>(),
        [day_key(TODAY_DIR, MARKER)]
    );
    assert_eq!(marker_of(moto, &bucket, TODAY_DIR)["state"], "complete");
    assert!(site.day(TODAY_DIR).join("cback.amazons3").exists());
}

#[test]
fn throttling_is_waited_out_and_other_failures_are_not() {
    let Some((site, moto, bucket, proxy)) =
        moto_site_with_proxy("throttling_is_waited_out_and_other_failures_are_not")
    else {
        return;
    };
    const PUTS: &[&str] = &["PUT ", "x-id=PutObject"];
    site.stage_day(TODAY_DIR, &[("h/a", b"first"), ("h/b", b"bee")], true);
    // One upload at a time: the attempts counted below are those of one request.
    let config = site.config(
        "",
        &amazons3_section(&bucket, "<upload_jobs>1</upload_jobs>"),
    );
    let run = |proxy: &Proxy| {
        let mut cmd = site.cback(&config, &["--full", "amazons3"]);
        moto.env_with(&mut cmd, &proxy.endpoint());
        // Test-only: waits of a tenth of a second instead of seconds.
        cmd.env("CEDAR_TEST_S3_THROTTLE_BASE_MS", "200");
        cmd
    };

    // A connection cut on every upload is not throttling: it fails after the SDK's few
    // attempts, without the throttling waits.
    proxy.set(Mode::FailRequests(s3::Requests {
        all_of: PUTS,
        skip: 0,
    }));
    let started = Instant::now();
    run(&proxy).assert().code(6);
    assert!(started.elapsed() < Duration::from_secs(60));
    assert!(proxy.matched() <= 4, "{} attempts", proxy.matched());
    let log = site.log();
    assert!(!log.contains("asks to slow down"), "{log}");
    assert!(moto.objects(&bucket, "").is_empty());

    // Six `503 SlowDown` answers in a row (more than the SDK's 4 attempts) are waited out.
    proxy.set(Mode::SlowDown {
        all_of: PUTS,
        times: 6,
    });
    run(&proxy).assert().success();
    assert!(proxy.matched() > 6, "{} requests", proxy.matched());
    assert_eq!(moto.get(&bucket, &day_key(TODAY_DIR, "h/a")), b"first");
    assert_eq!(moto.get(&bucket, &day_key(TODAY_DIR, "h/b")), b"bee");
    let log = site.log();
    assert!(
        log.contains("the server asks to slow down (SlowDown: Please reduce your request rate.)"),
        "{log}"
    );
    assert!(
        log.lines().any(|l| l.contains("succeeded after waiting")
            && l.contains("s in total for the throttling server")),
        "{log}"
    );
}

#[test]
fn a_damaged_stage_record_stops_the_upload_before_anything_is_sent() {
    let Some((site, moto, bucket)) =
        moto_site("a_damaged_stage_record_stops_the_upload_before_anything_is_sent")
    else {
        return;
    };
    let day = site.stage_day(TODAY_DIR, &[("h/a", b"a")], true);
    std::fs::write(day.join(cedar_core::STAGE_RECORD_FILE), b"{\"peers\": 3}").unwrap();
    let config = site.config("", &amazons3_section(&bucket, ""));
    let mut cmd = site.cback(&config, &["amazons3"]);
    moto.env(&mut cmd);
    let out = cmd.assert().code(6);
    let stderr = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert!(
        stderr.contains("cback.stage.json") && stderr.contains("nothing of the day was sent"),
        "{stderr}"
    );
    assert!(moto.objects(&bucket, "").is_empty(), "no object, no marker");
    assert!(!day.join("cback.amazons3").exists());
}
