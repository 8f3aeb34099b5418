//! End-to-end: the amazons3 upload's progress display (bytes and objects sent of the day's,
//! the objects being sent), drawn on a terminal only, and its summary line in the log whether
//! drawn or not; the same display for `cback-amazons3-sync`, whose log does not change.

use cback_tests::terminal::on_a_terminal;

use crate::offsite_support::*;

/// Stages today's day with three files; returns the configuration storing it in `bucket`.
fn staged_day(site: &OffsiteMaster, bucket: &str) -> std::path::PathBuf {
    site.stage_day(
        TODAY_DIR,
        &[
            ("host1/a.tar.gz", &noise(300_000, 7)),
            ("host1/b.txt", b"bee"),
            ("mycback.txt", b"kept"),
        ],
        true,
    );
    site.config("", &amazons3_section(bucket, ""))
}

/// The log's summary lines of the upload.
fn summaries(site: &OffsiteMaster) -> Vec<String> {
    cback_tests::lines_with(&site.log(), "] Uploaded 3 objects, ")
}

#[test]
fn the_upload_draws_its_progress_on_a_terminal() {
    let Some((site, moto, bucket)) = moto_site("the_upload_draws_its_progress_on_a_terminal")
    else {
        return;
    };
    let config = staged_day(&site, &bucket);
    let mut cmd = site.command(&config, &["amazons3"]);
    moto.env_command(&mut cmd);
    let Some(screen) = on_a_terminal(&cmd) else {
        return;
    };
    assert_eq!(screen.code, Some(0), "{}\n{}", screen.text, site.log());
    assert_eq!(copies(moto.objects(&bucket, "")).len(), 3);
    let logged = summaries(&site);
    assert_eq!(logged.len(), 1, "one summary line: {}", site.log());
    let summary = &logged[0][logged[0].find("Uploaded 3 objects, ").unwrap()..];
    assert!(
        summary.contains("Uploaded 3 objects, 292.98 kB in ") && summary.ends_with("/s)."),
        "the bytes sent (300 007), the time and the rate: {summary}"
    );
    assert!(
        screen.text.contains(summary),
        "the display ends with `{summary}`:\n{}",
        screen.text
    );
    assert!(
        // Whichever frame the display's rate limit let through.
        screen
            .frames()
            .any(|f| f.contains("amazons3 ") && f.contains(" of 3 objects, "))
            && screen.text.contains(" KiB sent ["),
        "the running line: bytes of the day's, objects of the day's:\n{}",
        screen.text
    );
}

#[test]
fn the_upload_draws_nothing_without_a_terminal_and_logs_its_summary() {
    let Some((site, moto, bucket)) =
        moto_site("the_upload_draws_nothing_without_a_terminal_and_logs_its_summary")
    else {
        return;
    };
    let config = staged_day(&site, &bucket);
    let mut cmd = site.cback(&config, &["amazons3"]);
    moto.env(&mut cmd);
    cmd.assert().success().stdout("").stderr("");
    let logged = summaries(&site);
    assert_eq!(logged.len(), 1, "one summary line: {}", site.log());
}

#[test]
fn the_sync_draws_the_uploads_display_on_a_terminal_only() {
    let test = "the_sync_draws_the_uploads_display_on_a_terminal_only";
    let Some(moto) = cback_tests::s3::shared(test) else {
        return;
    };
    let bucket = moto.new_bucket(test);
    let site = OffsiteMaster::new();
    let src = site.root.join("src");
    std::fs::create_dir_all(src.join("host1")).unwrap();
    std::fs::write(src.join("host1/a.tar.gz"), noise(300_000, 7)).unwrap();
    std::fs::write(src.join("host1/b.txt"), b"bee").unwrap();
    std::fs::write(src.join("kept.txt"), b"kept").unwrap();
    let sync = |prefix: &str| {
        let mut cmd = crate::BIN.sync_command();
        moto.env_command(&mut cmd);
        cmd.arg("--logfile")
            .arg(site.log_path())
            .arg(&src)
            .arg(format!("s3://{bucket}/{prefix}"));
        cmd
    };
    let Some(screen) = on_a_terminal(&sync("drawn")) else {
        return;
    };
    assert_eq!(screen.code, Some(0), "{}\n{}", screen.text, site.log());
    assert_eq!(moto.objects(&bucket, "drawn/").len(), 3);
    assert!(
        // Whichever frame the display's rate limit let through.
        screen.frames().any(|f| f.contains("amazons3-sync ")
            && f.contains(" of 3 objects, ")
            && f.contains(" of 292.98 KiB sent [")),
        "the running line: bytes and objects sent of those to send:\n{}",
        screen.text
    );
    assert!(
        screen
            .frames()
            .any(|f| f.contains("Uploaded 3 objects, 292.98 kB in ") && f.contains("/s).")),
        "the display ends with the summary (the bytes sent, 300 007, the time and the rate):\n{}",
        screen.text
    );

    // With --quiet nothing is drawn on a terminal either.
    let mut quiet = sync("quiet");
    quiet.arg("--quiet");
    let screen = on_a_terminal(&quiet).unwrap();
    assert_eq!(screen.code, Some(0), "{}", screen.text);
    assert!(!screen.text.contains("amazons3-sync"), "{}", screen.text);
    assert!(!screen.text.contains("Uploaded"), "{}", screen.text);

    // Off a terminal nothing is drawn, and the log is the same: the tool's own summary.
    let mut plain = assert_cmd::Command::from_std(sync("plain"));
    plain.assert().success().stdout("").stderr("");
    assert_eq!(moto.objects(&bucket, "plain/").len(), 3);
    let log = site.log();
    assert_eq!(
        cback_tests::lines_with(
            &log,
            "] Uploaded 3 file(s), 300007 bytes; removed 0 object(s)."
        )
        .len(),
        3,
        "{log}"
    );
    assert!(
        !log.contains("Uploaded 3 objects"),
        "no second summary in the log: {log}"
    );
}
