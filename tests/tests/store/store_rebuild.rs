//! rebuild (this week's disc from scratch) and initialize (label rewritable media).

use std::fs;

use cback_tests::optical::{image_files, image_listing, volume_id, Rig};

const TUESDAY: &str = "2026-12-01";

fn store(media: &str, device_type: &str, extra: &str) -> String {
    format!(
        "  <source_dir>{{STAGE}}</source_dir>\n  <media_type>{media}</media_type>\n  <device_type>{device_type}</device_type>\n  <target_device>{{DEV}}</target_device>\n{extra}"
    )
}

fn assert_ok(out: &std::process::Output) {
    assert!(
        out.status.success(),
        "cback failed ({:?}):\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn assert_fails(out: &std::process::Output, needles: &[&str]) {
    assert_eq!(
        out.status.code(),
        Some(6),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    for needle in needles {
        assert!(stderr.contains(needle), "{needle:?} not in {stderr}");
    }
}

#[test]
fn rebuild_writes_the_current_week_to_a_new_disc() {
    let rig = Rig::new(crate::BIN);
    // The week started on Sunday 2026-11-29; Saturday's directory belongs to last week.
    rig.stage_day("2026-11-28", &[("old", b"last week".as_slice())]);
    let sunday = rig.stage_day("2026-11-29", &[("s", b"sunday".as_slice())]);
    let monday = rig.stage_day("2026-11-30", &[("m", b"monday".as_slice())]);
    fs::write(monday.join("cback.store"), "").unwrap();
    let tuesday = rig.stage_day(TUESDAY, &[("t", b"tuesday".as_slice())]);
    // A directory without cback.stage is left out.
    fs::create_dir_all(rig.staging.join("2026/11/30x")).unwrap();
    let config = rig.config(
        "sunday",
        &store("cdrw-74", "cdwriter", "  <check_data>Y</check_data>\n  <blank_behavior><mode>weekly</mode><factor>0</factor></blank_behavior>\n"),
        "",
    );
    rig.seed_disc();
    assert_ok(&rig.cback(&config, Some(TUESDAY), &["rebuild"]));

    let e = |d: &str| format!("{d}/=ROOT/stage/{d}");
    let entries = format!(
        "{} {} {}",
        e("2026/12/01"),
        e("2026/11/30"),
        e("2026/11/29")
    );
    let dev = "ROOT/dev/cdrw";
    let calls = rig.calls_normalized();
    assert_eq!(
        calls[..4],
        [
            format!("cdrecord -prcap dev={dev}"),
            format!("mkisofs -V CEDAR BACKUP 01-DEC-2026 -print-size -graft-points -r {entries}"),
            format!("mkisofs -V CEDAR BACKUP 01-DEC-2026 -graft-points -r -o ROOT/work/tmpXXXXXXXX {entries}"),
            format!("cdrecord -v blank=fast dev={dev}"),
        ]
    );
    assert!(calls.iter().all(|c| !c.contains("-msinfo")), "{calls:#?}");
    assert_eq!(rig.calls_of("mount").len(), 1);
    let disc = rig.disc_files();
    assert_eq!(disc["/2026/11/29/s"], b"sunday");
    assert_eq!(disc["/2026/11/30/m"], b"monday");
    assert_eq!(disc["/2026/12/01/t"], b"tuesday");
    assert!(
        !disc
            .keys()
            .any(|k| k.contains("11/28") || k.contains("seed")),
        "{:?}",
        disc.keys()
    );
    for day in [&sunday, &monday, &tuesday] {
        assert!(day.join("cback.store").is_file(), "{}", day.display());
    }
    assert!(!rig.staging.join("2026/11/28/cback.store").exists());
    let log = rig.log_text();
    assert!(log.contains(&format!(
        "Rebuild process will include stage directory [{}]",
        sunday.display()
    )));
    let status = fs::read_to_string(rig.work.join("cback-status.json")).unwrap();
    assert!(status.contains("\"action\": \"rebuild\""), "{status}");
}

#[test]
fn rebuild_with_nothing_staged_fails() {
    let rig = Rig::new(crate::BIN);
    rig.stage_day("2026-11-28", &[("old", b"last week".as_slice())]);
    let config = rig.config("tuesday", &store("dvd+rw", "dvdwriter", ""), "");
    let out = rig.cback(&config, Some(TUESDAY), &["rebuild"]);
    assert_fails(
        &out,
        &[
            "Unable to find any staging directories for rebuild process",
            "2026/12/01",
        ],
    );
    assert!(rig.calls().is_empty());
}

#[test]
fn initialize_labels_a_cd_rw_and_store_then_accepts_it() {
    let rig = Rig::new(crate::BIN);
    let config = rig.config(
        "tuesday",
        &store(
            "cdrw-74",
            "cdwriter",
            "  <check_media>Y</check_media>\n  <drive_speed>8</drive_speed>\n",
        ),
        "",
    );
    assert_ok(&rig.cback(&config, Some("2026-11-30"), &["initialize"]));
    let dev = "ROOT/dev/cdrw";
    let entry = "CedarBackup/=ROOT/work/tmpXXXXXXXX";
    assert_eq!(
        rig.calls_normalized(),
        [
            format!("cdrecord -prcap dev={dev}"),
            format!("eject {dev}"),
            format!("eject -t {dev}"),
            format!("eject -i off {dev}"),
            format!("mkisofs -V CEDAR BACKUP 30-NOV-2026 -print-size -graft-points -r {entry}"),
            format!("mkisofs -V CEDAR BACKUP 30-NOV-2026 -graft-points -r -o ROOT/work/tmpXXXXXXXX {entry}"),
            format!("cdrecord -v blank=fast dev={dev}"),
            format!("eject {dev}"),
            format!("eject -t {dev}"),
            format!("eject -i off {dev}"),
            format!("cdrecord -v speed=8 dev={dev} -multi -data ROOT/work/tmpXXXXXXXX"),
            format!("eject {dev}"),
            format!("eject -t {dev}"),
            format!("eject -i off {dev}"),
        ]
    );
    let image = &rig.images()[0];
    assert_eq!(volume_id(image), "CEDAR BACKUP 30-NOV-2026");
    assert!(image_files(image).is_empty());
    assert!(image_listing(image)
        .iter()
        .any(|l| l == "dr-xr-xr-x 0 0 /CedarBackup"));
    assert!(
        rig.work_leftovers().is_empty(),
        "{:?}",
        rig.work_leftovers()
    );

    // check_media now accepts the disc (volname reads the label the disc carries).
    let day = rig.stage_day(TUESDAY, &[("a", b"x".as_slice())]);
    rig.clear_calls();
    assert_ok(&rig.cback(&config, Some(TUESDAY), &["store"]));
    assert_eq!(rig.calls_normalized()[0], "volname ROOT/dev/cdrw");
    assert!(rig
        .log_text()
        .contains("Media label is [CEDAR BACKUP 30-NOV-2026]."));
    assert!(day.join("cback.store").is_file());
}

#[test]
fn initialize_a_dvd_and_refuse_write_once_media() {
    let rig = Rig::new(crate::BIN);
    let config = rig.config("tuesday", &store("dvd+rw", "dvdwriter", ""), "");
    assert_ok(&rig.cback(&config, Some(TUESDAY), &["initialize"]));
    let dev = "ROOT/dev/cdrw";
    let entry = "CedarBackup/=ROOT/work/tmpXXXXXXXX";
    assert_eq!(
        rig.calls_normalized(),
        [
            format!("eject {dev}"),
            format!("eject -t {dev}"),
            format!("eject -i off {dev}"),
            format!("mkisofs -print-size -graft-points -r {entry}"),
            format!("growisofs -use-the-force-luke=tty -Z {dev} -V CEDAR BACKUP 01-DEC-2026 -r -graft-points {entry}"),
            format!("eject {dev}"),
            format!("eject -t {dev}"),
            format!("eject -i off {dev}"),
        ]
    );
    assert_eq!(volume_id(&rig.images()[0]), "CEDAR BACKUP 01-DEC-2026");

    for (media, device_type) in [
        ("cdr-74", "cdwriter"),
        ("cdr-80", "cdwriter"),
        ("dvd+r", "dvdwriter"),
    ] {
        let rig = Rig::new(crate::BIN);
        let config = rig.config("tuesday", &store(media, device_type, ""), "");
        let out = rig.cback(&config, Some(TUESDAY), &["initialize"]);
        assert_fails(
            &out,
            &["Only rewritable media types can be initialized", media],
        );
        assert!(rig.calls().is_empty(), "{media}");
    }
}
