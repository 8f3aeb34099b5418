//! End-to-end: the amazons3 upload's progress display (bytes and objects sent of the day's,
//! the objects being sent), drawn on a terminal only, and its summary line in the log whether
//! drawn or not.

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
