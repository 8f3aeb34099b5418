//! `cback purge` and `cback --dry-run purge` with a retention policy in `<amazons3>`, against
//! the real S3 server of the tests (moto): the bucket's day prefixes are the backups; a pin
//! object keeps its day; objects being uploaded (`.cback-`), keys outside the prefix and keys
//! that are no day are never removed.

use std::collections::BTreeSet;

use crate::offsite_support::*;

/// The 20 days 2026-02-13 … 2026-03-04 ([`TODAY`]), `YYYY/MM/DD`.
fn days() -> Vec<String> {
    let mut days: Vec<String> = (13..=28).map(|d| format!("2026/02/{d:02}")).collect();
    days.extend((1..=4).map(|d| format!("2026/03/{d:02}")));
    days
}

/// A configuration storing into `bucket/staging` under the keep elements `policy`, with a purge
/// section that keeps the staging directory's days.
fn policy_config(site: &OffsiteMaster, bucket: &str, policy: &str) -> std::path::PathBuf {
    site.config(
        "",
        &format!(
            "{}\n<purge><dir><abs_path>{}</abs_path><retain_days>36500</retain_days></dir></purge>",
            amazons3_section(bucket, policy),
            site.staging().display()
        ),
    )
}

/// `cback --dry-run purge`: its whole output, and the lines of the bucket's days, those under
/// the line naming the bucket and `policy` as the dry run words it.
fn dry_run(
    site: &OffsiteMaster,
    moto: &cback_tests::s3::Moto,
    config: &std::path::Path,
    bucket: &str,
    policy: &str,
) -> (String, Vec<String>) {
    let mut dry = site.cback(config, &["--dry-run", "purge"]);
    moto.env(&mut dry);
    let out = dry.assert().success();
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let header = format!("  purge days of amazons3 s3://{bucket}/staging by policy: {policy}\n");
    let listing = stdout
        .split(&header)
        .nth(1)
        .unwrap_or_else(|| panic!("{stdout}"))
        .lines()
        .map(str::to_string)
        .collect();
    (stdout, listing)
}

#[test]
fn a_policy_removes_the_days_it_does_not_keep_and_nothing_else() {
    let Some((site, moto, bucket)) =
        moto_site("a_policy_removes_the_days_it_does_not_keep_and_nothing_else")
    else {
        return;
    };
    let mut keys: Vec<String> = Vec::new();
    for day in days() {
        keys.push(day_key(&day, "host1/a.tar"));
        keys.push(day_key(&day, "host2/b.tar"));
    }
    keys.push(day_key("2026/02/14", "cback.keep"));
    let untouchable = [
        day_key("2026/02/20", ".cback-incoming-r1/host1/a.tar"),
        "staging/README".to_string(),
        "staging/2026/02/notes".to_string(),
        "other/2026/02/13/host1/a.tar".to_string(),
    ];
    keys.extend(untouchable.iter().cloned());
    moto.python(&format!(
        "for key in {keys:?}:\n    s3.put_object(Bucket={bucket:?}, Key=key, Body=b'x')"
    ));
    site.stage_day(TODAY_DIR, &[("host1/a.tar", b"x")], true);
    let config = policy_config(
        &site,
        &bucket,
        "<keep_daily>5</keep_daily><keep_weekly>3</keep_weekly>",
    );

    let (stdout, listing) = dry_run(
        &site,
        moto,
        &config,
        &bucket,
        "keep_daily 5, keep_weekly 3, keep_min 1",
    );
    assert_eq!(
        listing[..8],
        [
            "  2026-03-04 keep daily weekly min:host1 min:host2",
            "  2026-03-03 keep daily",
            "  2026-03-02 keep daily",
            "  2026-03-01 keep daily weekly",
            "  2026-02-28 keep daily",
            "  2026-02-27 remove",
            "  2026-02-26 remove",
            "  2026-02-25 remove",
        ],
        "{stdout}"
    );
    assert!(
        listing.contains(&"  2026-02-22 keep weekly".to_string()),
        "{stdout}"
    );
    assert!(
        listing.contains(&"  2026-02-14 keep pin".to_string()),
        "{stdout}"
    );
    assert_eq!(listing.len(), 20, "{stdout}");
    assert_eq!(
        moto.objects(&bucket, "").len(),
        keys.len(),
        "the dry run removes nothing"
    );

    let mut run = site.cback(&config, &["purge"]);
    moto.env(&mut run);
    run.assert().success();
    let left: BTreeSet<String> = moto.objects(&bucket, "").into_keys().collect();
    let kept_days = [
        "2026/03/04",
        "2026/03/03",
        "2026/03/02",
        "2026/03/01",
        "2026/02/28",
        "2026/02/22",
        "2026/02/14",
    ];
    let mut expected: BTreeSet<String> = keys
        .iter()
        .filter(|k| {
            kept_days
                .iter()
                .any(|d| k.starts_with(&format!("staging/{d}/")))
        })
        .cloned()
        .collect();
    expected.extend(untouchable.iter().cloned());
    assert_eq!(left, expected);
    assert!(
        site.log().contains(&format!(
            "Purged 13 days from amazons3 s3://{bucket}/staging by its policy"
        )),
        "{}",
        site.log()
    );
    assert!(
        site.day(TODAY_DIR).join("host1/a.tar").exists(),
        "local days by retain_days"
    );
}

#[test]
fn a_refused_bucket_policy_stops_every_run_before_anything_runs() {
    let site = OffsiteMaster::new();
    site.stage_day(TODAY_DIR, &[("host1/a.tar", b"x")], true);
    let config = site.config(
        "",
        &format!(
            "{}\n<purge><dir><abs_path>{}</abs_path><retain_days>0</retain_days></dir></purge>",
            amazons3_section("no-such-bucket", "<keep_min>2</keep_min>"),
            site.staging().display()
        ),
    );
    for action in ["purge", "validate", "stage"] {
        let out = site.cback(&config, &[action]).assert().failure().code(4);
        let stderr = String::from_utf8(out.get_output().stderr.clone()).unwrap();
        assert!(
            stderr.contains("<amazons3>: the policy keeps nothing by its rules"),
            "{action}: {stderr}"
        );
    }
    assert!(
        site.day(TODAY_DIR).join("host1/a.tar").exists(),
        "retain_days 0 removed nothing: purge never ran"
    );
}

#[test]
fn days_cut_short_or_partly_failed_take_no_slot_and_unmarked_days_count_good() {
    let Some((site, moto, bucket)) =
        moto_site("days_cut_short_or_partly_failed_take_no_slot_and_unmarked_days_count_good")
    else {
        return;
    };
    // Yesterday, uploaded by amazons3 from a day whose stage failed for peer beta.
    let yesterday = site.stage_day(
        YESTERDAY_DIR,
        &[("alpha/a.tar", b"a"), ("beta/b.tar", b"b")],
        true,
    );
    let mut record = cedar_core::StageRecord::all(["alpha", "beta"], cedar_core::PeerOutcome::Good);
    record
        .peers
        .insert("beta".into(), cedar_core::PeerOutcome::Failed);
    record.write(&yesterday, None).unwrap();
    let config = policy_config(&site, &bucket, "<keep_daily>2</keep_daily>");
    let mut upload = site.cback(&config, &["amazons3"]);
    moto.env(&mut upload);
    upload.assert().success();
    assert_eq!(
        marker_of(moto, &bucket, YESTERDAY_DIR),
        serde_json::json!({"format": 1, "state": "complete",
            "peers": {"alpha": "good", "beta": "failed"}})
    );
    assert!(
        !copies(moto.objects(&bucket, ""))
            .contains_key(&day_key(YESTERDAY_DIR, "cback.stage.json")),
        "the record itself is not uploaded"
    );

    // Today: an upload cut short (marked started); 03/02 complete; 03/01 and 02/28 without a
    // marker (uploaded by the original).
    let started = r#"{"format": 1, "state": "started", "peers": {"alpha": "pending"}}"#;
    let complete =
        r#"{"format": 1, "state": "complete", "peers": {"alpha": "good", "beta": "good"}}"#;
    let mut bodies: Vec<(String, &str)> = vec![
        (day_key(TODAY_DIR, "alpha/a.tar"), "x"),
        (day_key(TODAY_DIR, MARKER), started),
        (day_key("2026/03/02", "alpha/a.tar"), "x"),
        (day_key("2026/03/02", "beta/b.tar"), "x"),
        (day_key("2026/03/02", MARKER), complete),
    ];
    for day in ["2026/03/01", "2026/02/28"] {
        bodies.push((day_key(day, "alpha/a.tar"), "x"));
        bodies.push((day_key(day, "beta/b.tar"), "x"));
    }
    moto.python(&format!(
        "for key, body in {bodies:?}:\n    s3.put_object(Bucket={bucket:?}, Key=key, Body=body.encode())"
    ));

    let (stdout, listing) = dry_run(&site, moto, &config, &bucket, "keep_daily 2, keep_min 1");
    // Without the markers keep_daily 2 would keep only 03/04 and 03/03.
    assert_eq!(
        listing[..5],
        [
            "  2026-03-04 remove (not good)",
            "  2026-03-03 keep min:alpha (not good)",
            "  2026-03-02 keep daily min:beta",
            "  2026-03-01 keep daily",
            "  2026-02-28 remove",
        ],
        "{stdout}"
    );

    let mut run = site.cback(&config, &["purge"]);
    moto.env(&mut run);
    run.assert().success();
    let left: Vec<String> = moto.objects(&bucket, "").into_keys().collect();
    assert_eq!(
        left,
        [
            day_key("2026/03/01", "alpha/a.tar"),
            day_key("2026/03/01", "beta/b.tar"),
            day_key("2026/03/02", MARKER),
            day_key("2026/03/02", "alpha/a.tar"),
            day_key("2026/03/02", "beta/b.tar"),
            day_key(YESTERDAY_DIR, MARKER),
            day_key(YESTERDAY_DIR, "alpha/a.tar"),
            day_key(YESTERDAY_DIR, "beta/b.tar"),
        ],
        "today's keys and its marker removed"
    );
}
