//! The capacity extension (`CedarBackup3.extend.capacity`): the disc in the writer is
//! measured as for an append, and a disc past the limit fails the run (exit 6; the original
//! only logs an ERROR).

use cback_tests::optical::Rig;

const WEDNESDAY: &str = "2026-12-02";

const EXTENSIONS: &str = " <extensions><action><name>capacity</name><module>CedarBackup3.extend.capacity</module><function>executeAction</function><index>299</index></action></extensions>\n";

fn config(
    rig: &Rig,
    media: &str,
    device_type: &str,
    capacity: &str,
    extra: &str,
) -> std::path::PathBuf {
    let store = format!(
        "  <source_dir>{{STAGE}}</source_dir>\n  <media_type>{media}</media_type>\n  <device_type>{device_type}</device_type>\n  <target_device>{{DEV}}</target_device>\n{extra}"
    );
    let section = if capacity == "none" {
        String::new()
    } else {
        format!(" <capacity>{capacity}</capacity>\n")
    };
    rig.config("tuesday", &store, &format!("{EXTENSIONS}{section}"))
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn percentage_and_byte_limits_on_a_cd() {
    let rig = Rig::new(crate::BIN);
    rig.seed_disc();
    // A CD-R 74 with 300000 of its 332800 sectors used: 92.05% utilized, 50.59 MB left.
    rig.set_state("msinfo", "0,300000\n");
    for (limit, ok, message) in [
        (
            "<max_percentage>50</max_percentage>",
            false,
            "Media has reached capacity limit of 50%: 92.05% utilized",
        ),
        ("<max_percentage>95.5</max_percentage>", true, ""),
        (
            "<min_bytes>500 MB</min_bytes>",
            false,
            "Media has reached capacity limit of 500.00 MB: only 50.59 MB available",
        ),
        ("<min_bytes>5 MB</min_bytes>", true, ""),
    ] {
        rig.clear_calls();
        let cfg = config(&rig, "cdr-74", "cdwriter", limit, "");
        let out = rig.cback(&cfg, Some(WEDNESDAY), &["capacity"]);
        assert_eq!(
            rig.calls_normalized(),
            [
                "cdrecord -prcap dev=ROOT/dev/cdrw",
                "cdrecord -msinfo dev=ROOT/dev/cdrw"
            ],
            "{limit}"
        );
        if ok {
            assert!(out.status.success(), "{limit}: {}", stderr(&out));
            assert!(rig
                .log_text()
                .contains("Executed the capacity extended action successfully."));
        } else {
            assert_eq!(out.status.code(), Some(6), "{limit}");
            assert!(stderr(&out).contains(message), "{limit}: {}", stderr(&out));
            assert!(
                stderr(&out).contains("put a new disc in"),
                "{}",
                stderr(&out)
            );
            assert!(
                rig.log_text().contains(&format!("[ERROR  ] {message}")),
                "{limit}"
            );
        }
    }
}

#[test]
fn capacity_runs_before_store_and_stops_it() {
    let rig = Rig::new(crate::BIN);
    rig.seed_disc();
    rig.set_state("msinfo", "0,330000\n");
    let day = rig.stage_day(WEDNESDAY, &[("a", b"x".as_slice())]);
    let cfg = config(
        &rig,
        "cdrw-74",
        "cdwriter",
        "<max_percentage>90</max_percentage>",
        "  <check_media>Y</check_media>\n",
    );
    rig.set_state("volname", "CEDAR BACKUP 01-DEC-2026\n");
    let out = rig.cback(&cfg, Some(WEDNESDAY), &["store", "capacity"]);
    assert_eq!(out.status.code(), Some(6), "{}", stderr(&out));
    let calls = rig.calls_normalized();
    // check_media first, then the measurement; store never runs.
    assert_eq!(calls[0], "volname ROOT/dev/cdrw");
    assert_eq!(calls.len(), 3, "{calls:#?}");
    assert!(!day.join("cback.store").exists());
}

#[test]
fn dvd_limits_and_a_dvd_fuller_than_its_capacity() {
    let rig = Rig::new(crate::BIN);
    rig.seed_disc();
    let cfg = config(
        &rig,
        "dvd+rw",
        "dvdwriter",
        "<min_bytes>4 GB</min_bytes>",
        "",
    );
    let out = rig.cback(&cfg, Some(WEDNESDAY), &["capacity"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        rig.calls_normalized(),
        ["growisofs -use-the-force-luke=tty -dry-run -M ROOT/dev/cdrw -r -graft-points /tmp/tmpXXXXXXXX"]
    );
    // 160000 blocks of 16 sectors: more than 4.4 GB. The original crashes with min_bytes.
    let script = rig.bin.join("growisofs");
    let text = std::fs::read_to_string(&script).unwrap();
    std::fs::write(
        &script,
        text.replace("seek=$(( next / 16 ))", "seek=160000"),
    )
    .unwrap();
    let out = rig.cback(&cfg, Some(WEDNESDAY), &["capacity"]);
    assert_eq!(out.status.code(), Some(6));
    assert!(
        stderr(&out).contains("capacity limit of 4.00 GB: only -494.40 MB available"),
        "{}",
        stderr(&out)
    );
    let cfg = config(
        &rig,
        "dvd+rw",
        "dvdwriter",
        "<max_percentage>99</max_percentage>",
        "",
    );
    let out = rig.cback(&cfg, Some(WEDNESDAY), &["capacity"]);
    assert!(
        stderr(&out).contains("99%: 100.00% utilized"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn section_errors_fail_the_action() {
    let rig = Rig::new(crate::BIN);
    for (section, message) in [
        ("none", "Capacity section is required"),
        (
            "",
            "must hold <max_percentage> (such as 95.5) or <min_bytes>",
        ),
        (
            "<max_percentage>1</max_percentage><min_bytes>1</min_bytes>",
            "but not both",
        ),
        (
            "<max_percentage>abc</max_percentage>",
            "`abc` is not a number from 0 to 100",
        ),
        (
            "<max_percentage>-1</max_percentage>",
            "Percentage must be a positive value from 0.0 to 100.0",
        ),
        (
            "<min_bytes>lots</min_bytes>",
            "`lots` is not a byte quantity",
        ),
    ] {
        let cfg = config(&rig, "cdr-74", "cdwriter", section, "");
        let out = rig.cback(&cfg, Some(WEDNESDAY), &["capacity"]);
        assert_eq!(out.status.code(), Some(6), "{section}");
        assert!(
            stderr(&out).contains(message),
            "{section}: {}",
            stderr(&out)
        );
        // validate reports the same problem.
        let out = rig.cback(&cfg, Some(WEDNESDAY), &["validate"]);
        assert_eq!(out.status.code(), Some(6), "{section}");
        assert!(
            stderr(&out).contains(message),
            "validate {section}: {}",
            stderr(&out)
        );
    }
    // validate opened the writer each time; nothing else ran.
    let calls = rig.calls_normalized();
    assert_eq!(calls.len(), 6, "{calls:#?}");
    assert!(
        calls
            .iter()
            .all(|c| c == "cdrecord -prcap dev=ROOT/dev/cdrw"),
        "{calls:#?}"
    );
}

#[test]
fn validate_opens_the_writer() {
    let rig = Rig::new(crate::BIN);
    let cfg = config(
        &rig,
        "cdrw-74",
        "cdwriter",
        "<max_percentage>90</max_percentage>",
        "",
    );
    let out = rig.cback(&cfg, None, &["validate"]);
    assert!(out.status.success(), "{}", stderr(&out));
    std::fs::remove_file(&rig.device).unwrap();
    let out = rig.cback(&cfg, None, &["validate"]);
    assert_eq!(out.status.code(), Some(6));
    assert!(
        stderr(&out).contains("Backup device [")
            && stderr(&out).contains("] [None] is not valid")
            && stderr(&out).contains("does not exist"),
        "{}",
        stderr(&out)
    );
}
