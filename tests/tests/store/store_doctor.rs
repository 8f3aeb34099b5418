//! `cback doctor` for store, on the fake optical drive of `cback_tests::optical`: the device is
//! opened as store opens it (a missing device fails, named with what to do), and the newest
//! staged day is measured with the real mkisofs against a new disc of the configured media
//! type (a day larger than the disc fails, one close to it warns). Nothing is written: the
//! drive sees only `cdrecord -prcap` and the estimate.

use std::fs;

use cback_tests::optical::Rig;

/// 2026-12-01 is a Tuesday.
const TUESDAY: &str = "2026-12-01";
const MB: u64 = 1024 * 1024;

fn store(media: &str) -> String {
    format!(
        "  <source_dir>{{STAGE}}</source_dir>\n  <media_type>{media}</media_type>\n  <device_type>cdwriter</device_type>\n  <target_device>{{DEV}}</target_device>\n"
    )
}

/// The rig's site, with the collect directory of its local stage peer present.
fn site(rig: &Rig, media: &str) -> std::path::PathBuf {
    fs::create_dir_all(rig.root.join("collect")).unwrap();
    rig.config("tuesday", &store(media), "")
}

/// A staged day holding one file of `bytes` (sparse: mkisofs measures it without reading it).
fn stage_large(rig: &Rig, date: &str, bytes: u64) {
    let dir = rig.stage_day(date, &[]);
    fs::create_dir_all(dir.join("host1")).unwrap();
    fs::File::create(dir.join("host1/big.tar"))
        .unwrap()
        .set_len(bytes)
        .unwrap();
}

fn doctor(rig: &Rig, config: &std::path::Path) -> (Option<i32>, String) {
    let out = rig.cback(config, Some(TUESDAY), &["doctor"]);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    (out.status.code(), format!("{stdout}\nstderr: {stderr}"))
}

fn line<'a>(text: &'a str, start: &str) -> &'a str {
    text.lines()
        .find(|l| l.starts_with(start))
        .unwrap_or_else(|| panic!("no line starting {start:?}:\n{text}"))
}

#[test]
fn doctor_passes_a_good_store_site_and_writes_nothing() {
    let rig = Rig::new(crate::BIN);
    rig.stage_day("2026-11-30", &[("host1/old.tar", b"older day")]);
    rig.stage_day(TUESDAY, &[("host1/etc.tar", b"etc archive")]);
    let config = site(&rig, "cdr-74");
    let (code, text) = doctor(&rig, &config);
    assert_eq!(code, Some(0), "{text}");
    let dev = rig.device.display().to_string();
    let device = line(&text, &format!("PASS store device {dev}: "));
    assert!(device.contains("cdrecord -prcap"), "{device}");
    let capacity = line(&text, &format!("PASS store capacity {dev}: "));
    assert!(
        capacity.contains("the newest staged day 2026/12/01 needs ")
            && capacity.contains("a new cdr-74 disc holds 627.73 MB"),
        "{capacity}"
    );
    assert!(
        text.lines()
            .take_while(|l| !l.starts_with("stderr:"))
            .filter(|l| !l.is_empty())
            .all(|l| l.starts_with("PASS ")),
        "{text}"
    );
    // Only questions to the drive and the estimate of the newest day: nothing written.
    let dvd_or_write: Vec<String> = rig
        .calls_normalized()
        .into_iter()
        .filter(|c| !c.starts_with("cdrecord -prcap ") && !c.starts_with("mkisofs -print-size "))
        .collect();
    assert!(dvd_or_write.is_empty(), "{dvd_or_write:?}");
    assert!(rig
        .calls_of("mkisofs")
        .iter()
        .all(|c| c.ends_with("2026/12/01/=ROOT/stage/2026/12/01")));
    assert!(rig.images().is_empty());
    assert!(!rig.staging.join("2026/12/01/cback.store").exists());
}

#[test]
fn doctor_fails_a_missing_device() {
    let rig = Rig::new(crate::BIN);
    rig.stage_day(TUESDAY, &[("host1/etc.tar", b"etc archive")]);
    fs::remove_file(&rig.device).unwrap();
    let config = site(&rig, "cdr-74");
    let (code, text) = doctor(&rig, &config);
    assert_eq!(code, Some(6), "{text}");
    let dev = rig.device.display().to_string();
    let fail = line(&text, &format!("FAIL store device {dev}: "));
    assert!(fail.contains("does not exist"), "{fail}");
    assert!(fail.contains("fix <store><target_device>"), "{fail}");
    // Without a writer there is nothing to measure against.
    assert!(!text.contains("store capacity"), "{text}");
}

#[test]
fn doctor_fails_a_staged_day_larger_than_the_medium_and_warns_near_it() {
    let rig = Rig::new(crate::BIN);
    let config = site(&rig, "cdr-74");
    let dev = rig.device.display().to_string();
    // A cdr-74 holds 650 MB less the first lead-in: 627.73 MB.
    stage_large(&rig, "2026-11-30", 700 * MB);
    let (code, text) = doctor(&rig, &config);
    assert_eq!(code, Some(6), "{text}");
    let fail = line(&text, &format!("FAIL store capacity {dev}: "));
    assert!(
        fail.contains("the newest staged day 2026/11/30 needs 700."),
        "{fail}"
    );
    assert!(fail.contains("a new cdr-74 disc holds 627.73 MB"), "{fail}");
    assert!(
        fail.contains("use larger media (<store><media_type>"),
        "{fail}"
    );
    // The newest day counts: a later day that fits with room to spare passes.
    rig.stage_day(TUESDAY, &[("host1/etc.tar", b"etc archive")]);
    let (code, text) = doctor(&rig, &config);
    assert_eq!(code, Some(0), "{text}");
    line(
        &text,
        &format!("PASS store capacity {dev}: the newest staged day 2026/12/01"),
    );
    // A day that fits with less than a quarter to spare is a warning.
    stage_large(&rig, "2026-12-02", 550 * MB);
    let (code, text) = doctor(&rig, &config);
    assert_eq!(code, Some(0), "{text}");
    let warn = line(&text, &format!("WARN store capacity {dev}: "));
    assert!(warn.contains("2026/12/02 needs 550."), "{warn}");
    assert!(warn.contains("less than 25% to spare"), "{warn}");
    assert!(rig.images().is_empty());
}
