//! store on DVD writers: growisofs builds and writes the image (`-Z` new, `-M` append), the
//! dry run measures the disc, and a disc that is too full is refused.

use std::fs;

use cback_tests::optical::{image_files, tree_files, volume_id, Rig};

const TUESDAY: &str = "2026-12-01";
const WEDNESDAY: &str = "2026-12-02";

pub(crate) fn dvd_store(media: &str, extra: &str) -> String {
    format!(
        "  <source_dir>{{STAGE}}</source_dir>\n  <media_type>{media}</media_type>\n  <device_type>dvdwriter</device_type>\n  <target_device>{{DEV}}</target_device>\n{extra}"
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
fn dvd_new_disc_then_append() {
    for media in ["dvd+rw", "dvd+r"] {
        let rig = Rig::new(crate::BIN);
        let tuesday = rig.stage_day(
            TUESDAY,
            &[("h/a.tar", b"tuesday".as_slice()), ("cback.collect", b"")],
        );
        let staged = tree_files(&tuesday, "/2026/12/01");
        let config = rig.config(
            "tuesday",
            &dvd_store(
                media,
                "  <drive_speed>2</drive_speed>\n  <target_scsi_id>0,0,0</target_scsi_id>\n",
            ),
            "",
        );
        assert_ok(&rig.cback(&config, Some(TUESDAY), &["store"]));
        let dev = "ROOT/dev/cdrw";
        let entry = "2026/12/01/=ROOT/stage/2026/12/01";
        assert_eq!(
            rig.calls_normalized(),
            [
                format!("mkisofs -print-size -graft-points -r {entry}"),
                format!("growisofs -use-the-force-luke=tty -speed=2 -Z {dev} -V CEDAR BACKUP 01-DEC-2026 -r -graft-points {entry}"),
                format!("eject {dev}"),
                format!("eject -t {dev}"),
                format!("eject -i off {dev}"),
            ],
            "{media}"
        );
        let log = rig.log_text();
        assert!(
            log.contains("SCSI id [0,0,0] will be ignored by DvdWriter."),
            "{log}"
        );
        assert!(
            log.contains("Image size will be") && log.contains("(estimated)."),
            "{log}"
        );
        let images = rig.images();
        assert_eq!(image_files(&images[0]), staged);
        assert_eq!(volume_id(&images[0]), "CEDAR BACKUP 01-DEC-2026");
        assert!(tuesday.join("cback.store").is_file());
        assert!(rig.work_leftovers().is_empty());

        rig.clear_calls();
        rig.stage_day(WEDNESDAY, &[("h/b.tar", b"wednesday".as_slice())]);
        assert_ok(&rig.cback(&config, Some(WEDNESDAY), &["store"]));
        let calls = rig.calls_normalized();
        let entry = "2026/12/02/=ROOT/stage/2026/12/02";
        assert_eq!(
            calls[0],
            format!("mkisofs -print-size -graft-points -r {entry}")
        );
        assert_eq!(
            calls[1],
            format!("growisofs -use-the-force-luke=tty -dry-run -speed=2 -M {dev} -r -graft-points /tmp/tmpXXXXXXXX")
        );
        assert_eq!(
            calls[2],
            format!("growisofs -use-the-force-luke=tty -speed=2 -M {dev} -V CEDAR BACKUP 02-DEC-2026 -r -graft-points {entry}")
        );
        let disc = rig.disc_files();
        assert_eq!(disc["/2026/12/01/h/a.tar"], b"tuesday");
        assert_eq!(disc["/2026/12/02/h/b.tar"], b"wednesday");
    }
}

#[test]
fn growisofs_gets_sorted_entries_on_rebuild() {
    let rig = Rig::new(crate::BIN);
    for day in ["2026-11-29", "2026-11-30", TUESDAY] {
        rig.stage_day(day, &[("f", day.as_bytes())]);
    }
    let config = rig.config("sunday", &dvd_store("dvd+rw", ""), "");
    assert_ok(&rig.cback(&config, Some(TUESDAY), &["rebuild"]));
    let calls = rig.calls_normalized();
    let e = |d: &str| format!("{d}/=ROOT/stage/{d}");
    let newest_first = format!(
        "{} {} {}",
        e("2026/12/01"),
        e("2026/11/30"),
        e("2026/11/29")
    );
    let sorted = format!(
        "{} {} {}",
        e("2026/11/29"),
        e("2026/11/30"),
        e("2026/12/01")
    );
    assert_eq!(
        calls[0],
        format!("mkisofs -print-size -graft-points -r {newest_first}")
    );
    assert_eq!(
        calls[1],
        format!("growisofs -use-the-force-luke=tty -Z ROOT/dev/cdrw -V CEDAR BACKUP 01-DEC-2026 -r -graft-points {sorted}")
    );
    let disc = rig.disc_files();
    assert_eq!(disc.len(), 6, "{:?}", disc.keys());
}

#[test]
fn a_dvd_fuller_than_its_capacity_is_refused_before_writing() {
    let rig = Rig::new(crate::BIN);
    rig.stage_day(TUESDAY, &[("a", b"x".as_slice())]);
    let config = rig.config("monday", &dvd_store("dvd+rw", ""), "");
    assert_ok(&rig.cback(&config, Some(TUESDAY), &["--full", "store"]));
    let day = rig.stage_day(WEDNESDAY, &[("b", b"y".as_slice())]);
    // A dry run that reports 2.5 million sectors in use: more than the 4.4 GB disc holds.
    let script = rig.bin.join("growisofs");
    let text = fs::read_to_string(&script).unwrap();
    fs::write(
        &script,
        text.replace("seek=$(( next / 16 ))", "seek=160000"),
    )
    .unwrap();
    rig.clear_calls();
    let out = rig.cback(&config, Some(WEDNESDAY), &["store"]);
    assert_fails(
        &out,
        &[
            "not contain enough capacity",
            "capacity 4.40 GB",
            "4.88 GB used",
            "has -494.40 MB available",
        ],
    );
    assert!(rig
        .calls()
        .iter()
        .all(|c| !c.starts_with("growisofs -use-the-force-luke=tty -M")));
    assert!(!day.join("cback.store").exists());
}

#[test]
fn growisofs_reporting_no_space_fails_with_the_sizes() {
    let rig = Rig::new(crate::BIN);
    let day = rig.stage_day(TUESDAY, &[("a", b"x".as_slice())]);
    let config = rig.config("tuesday", &dvd_store("dvd+r", ""), "");
    rig.fail(
        "growisofs",
        "*-Z*",
        ":-( /dev/dvd: 1000 blocks are free, 2000 to be written!",
    );
    let out = rig.cback(&config, Some(TUESDAY), &["store"]);
    assert_fails(
        &out,
        &["growisofs found 1000 blocks free", "2000 to be written"],
    );
    assert!(!day.join("cback.store").exists());

    rig.fail(
        "growisofs",
        "*-Z*",
        ":-( /dev/dvd: media is not recognized as recordable DVD",
    );
    let out = rig.cback(&config, Some(TUESDAY), &["store"]);
    assert_fails(
        &out,
        &[
            "growisofs -use-the-force-luke=tty -Z",
            "media is not recognized",
        ],
    );
}

#[test]
fn an_unreadable_dvd_counts_as_empty() {
    let rig = Rig::new(crate::BIN);
    rig.stage_day(WEDNESDAY, &[("a", b"x".as_slice())]);
    let config = rig.config(
        "tuesday",
        &dvd_store(
            "dvd+rw",
            "  <blank_behavior><mode>daily</mode><factor>1e9</factor></blank_behavior>\n",
        ),
        "",
    );
    // A blank disc: the dry run fails, so nothing is used and the ratio is huge, yet below
    // the factor: a new disc.
    assert_ok(&rig.cback(&config, Some(WEDNESDAY), &["store"]));
    let calls = rig.calls_normalized();
    assert!(
        calls[0].starts_with("growisofs -use-the-force-luke=tty -dry-run -M"),
        "{calls:#?}"
    );
    assert!(calls[1].starts_with("mkisofs -print-size"), "{calls:#?}");
    assert!(
        calls.iter().any(|c| c.contains(" -Z ROOT/dev/cdrw ")),
        "{calls:#?}"
    );
    assert!(rig
        .log_text()
        .contains("Unable to read disc (might not be initialized); returning zero sectors used."));
}
