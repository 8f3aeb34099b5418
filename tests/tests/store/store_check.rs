//! check_data and check_media: the written disc is mounted (through a loop device where the
//! kernel allows it, else unpacked by the recording `mount`) and compared file by file; the
//! media label is read with volname.

use std::fs;

use cback_tests::optical::Rig;

const TUESDAY: &str = "2026-12-01";
const WEDNESDAY: &str = "2026-12-02";

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

fn assert_fails(out: &std::process::Output, needles: &[&str]) -> String {
    assert_eq!(
        out.status.code(),
        Some(6),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    for needle in needles {
        assert!(stderr.contains(needle), "{needle:?} not in {stderr}");
    }
    stderr
}

#[test]
fn check_data_passes_on_cd_and_dvd() {
    for (media, device_type) in [("cdrw-74", "cdwriter"), ("dvd+rw", "dvdwriter")] {
        let rig = Rig::new(crate::BIN);
        let day = rig.stage_day(
            TUESDAY,
            &[
                ("h1/a.tar", b"first".as_slice()),
                ("h2/deep/b.tar", b"second"),
            ],
        );
        std::os::unix::fs::symlink("h1/a.tar", day.join("link")).unwrap();
        fs::create_dir(day.join("empty")).unwrap();
        let config = rig.config(
            "tuesday",
            &store(media, device_type, "  <check_data>Y</check_data>\n"),
            "",
        );
        assert_ok(&rig.cback(&config, Some(TUESDAY), &["store"]));
        let mounts = rig.calls_of("mount");
        assert_eq!(
            mounts,
            ["mount -t iso9660 ROOT/dev/cdrw ROOT/work/tmpXXXXXXXX"],
            "{media}"
        );
        let log = rig.log_text();
        assert!(
            log.contains(&format!(
                "Consistency check completed for [{}].  No problems found.",
                day.display()
            )),
            "{log}"
        );
        assert!(day.join("cback.store").is_file());
        // The mount point is gone, whether it was a loop mount or an unpacked image.
        assert!(
            rig.work_leftovers().is_empty(),
            "{:?}",
            rig.work_leftovers()
        );

        // An append is checked too: the day's directory on the disc's last session.
        rig.clear_calls();
        let wednesday = rig.stage_day(WEDNESDAY, &[("c", b"third".as_slice())]);
        assert_ok(&rig.cback(&config, Some(WEDNESDAY), &["store"]));
        assert_eq!(rig.calls_of("mount").len(), 1);
        assert!(wednesday.join("cback.store").is_file());
        let status = fs::read_to_string(rig.work.join("cback-status.json")).unwrap();
        assert!(status.contains("\"verified\": true"), "{status}");
    }
}

#[test]
fn a_failed_check_names_the_files_and_leaves_no_indicator() {
    let rig = Rig::new(crate::BIN);
    let day = rig.stage_day(
        TUESDAY,
        &[
            ("h1/a.tar", b"ORIGINAL-CONTENT-0001".as_slice()),
            ("h1/b.tar", b"ORIGINAL-CONTENT-0002 is here too"),
            ("h2/fine.tar", b"untouched"),
        ],
    );
    let config = rig.config(
        "tuesday",
        &store("cdrw-80", "cdwriter", "  <check_data>Y</check_data>\n"),
        "",
    );
    rig.tamper_next_write("ORIGINAL", "TAMPERED");
    let out = rig.cback(&config, Some(TUESDAY), &["store"]);
    let err = assert_fails(
        &out,
        &[
            "consistency check failed",
            "2 file(s): /h1/a.tar differs (SHA-256), /h1/b.tar differs (SHA-256)",
            "cback.store was not",
        ],
    );
    assert!(!err.contains("fine.tar"), "{err}");
    assert!(!day.join("cback.store").exists());
    assert!(
        rig.work_leftovers().is_empty(),
        "{:?}",
        rig.work_leftovers()
    );
    let log = rig.log_text();
    assert!(log.contains("/h1/a.tar differs (SHA-256)."), "{log}");
    let status = fs::read_to_string(rig.work.join("cback-status.json")).unwrap();
    assert!(status.contains("\"success\": false"), "{status}");

    // The next run writes the same directory again, and this time the disc is good.
    rig.clear_calls();
    assert_ok(&rig.cback(&config, Some(TUESDAY), &["store"]));
    assert!(rig
        .calls_normalized()
        .iter()
        .any(|c| c.ends_with("=ROOT/stage/2026/12/01")));
    assert!(day.join("cback.store").is_file());
}

#[test]
fn a_file_missing_from_the_disc_is_named() {
    let rig = Rig::new(crate::BIN);
    let day = rig.stage_day(TUESDAY, &[("a.tar", b"a".as_slice()), ("b.tar", b"b")]);
    let config = rig.config(
        "tuesday",
        &store("dvd+rw", "dvdwriter", "  <check_data>Y</check_data>\n"),
        "",
    );
    // The mount shows the disc without b.tar.
    let script = rig.bin.join("mount");
    let text = fs::read_to_string(&script).unwrap();
    fs::write(
        &script,
        format!("{text}\nrc=$?\nchmod u+w \"$mp/2026/12/01\"; rm -f \"$mp/2026/12/01/b.tar\"\nexit $rc\n"),
    )
    .unwrap();
    let out = rig.cback(&config, Some(TUESDAY), &["store"]);
    assert_fails(&out, &["1 file(s): /b.tar is missing on the disc"]);
    assert!(!day.join("cback.store").exists());
}

#[test]
fn a_failed_mount_fails_the_store_and_cleans_up() {
    let rig = Rig::new(crate::BIN);
    let day = rig.stage_day(TUESDAY, &[("a.tar", b"a".as_slice())]);
    let config = rig.config(
        "tuesday",
        &store("cdr-74", "cdwriter", "  <check_data>Y</check_data>\n"),
        "",
    );
    rig.fail(
        "mount",
        "*",
        "mount: wrong fs type, bad option, bad superblock",
    );
    let out = rig.cback(&config, Some(TUESDAY), &["store"]);
    assert_fails(
        &out,
        &["Error [1] mounting [", "as [iso9660]", "bad superblock"],
    );
    assert!(!day.join("cback.store").exists());
    // Unlike the original, the empty mount point does not stay behind.
    assert!(
        rig.work_leftovers().is_empty(),
        "{:?}",
        rig.work_leftovers()
    );
    assert!(rig.calls_of("umount").is_empty());
}

#[test]
fn check_media_reads_the_label_first() {
    let rig = Rig::new(crate::BIN);
    let day = rig.stage_day(TUESDAY, &[("a.tar", b"a".as_slice())]);
    let rw = store("cdrw-74", "cdwriter", "  <check_media>Y</check_media>\n");
    let config = rig.config("tuesday", &rw, "");
    // A blank rewritable disc has no label.
    let out = rig.cback(&config, Some(TUESDAY), &["store"]);
    assert_fails(
        &out,
        &[
            "Media has not been initialized: no media label available",
            "run `cback initialize`",
        ],
    );
    assert_eq!(rig.calls_normalized(), ["volname ROOT/dev/cdrw"]);
    // A foreign label.
    rig.set_state("volname", "HOLIDAY PHOTOS   \n");
    let out = rig.cback(&config, Some(TUESDAY), &["store"]);
    assert_fails(&out, &["unrecognized media label [HOLIDAY PHOTOS]"]);
    // A Cedar Backup label.
    rig.set_state("volname", "CEDAR BACKUP 24-NOV-2026         \n");
    assert_ok(&rig.cback(&config, Some(TUESDAY), &["store"]));
    assert!(day.join("cback.store").is_file());

    // Write-once media without a label is accepted; with a foreign one it is not.
    let rig = Rig::new(crate::BIN);
    rig.stage_day(TUESDAY, &[("a.tar", b"a".as_slice())]);
    let config = rig.config(
        "tuesday",
        &store("dvd+r", "dvdwriter", "  <check_media>Y</check_media>\n"),
        "",
    );
    assert_ok(&rig.cback(&config, Some(TUESDAY), &["store"]));
    assert!(rig
        .log_text()
        .contains("Media has no media label; assuming OK since media is not rewritable."));
    rig.set_state("volname", "SOMETHING ELSE\n");
    let out = rig.cback(&config, Some(TUESDAY), &["--full", "store"]);
    assert_fails(&out, &["unrecognized media label [SOMETHING ELSE]"]);
}
