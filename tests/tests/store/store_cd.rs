//! store on CD writers, end to end through the recording programs of
//! `cback_tests::optical`: the command lines, the image (built by the real mkisofs and read
//! back with xorriso), `cback.store`, and the failures cback reports before writing.

use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};

use cback_tests::optical::{image_files, image_listing, tree_files, volume_id, Rig};

/// 2026-12-01 is a Tuesday.
const TUESDAY: &str = "2026-12-01";
const WEDNESDAY: &str = "2026-12-02";

fn cd_store(media: &str, extra: &str) -> String {
    format!(
        "  <source_dir>{{STAGE}}</source_dir>\n  <media_type>{media}</media_type>\n  <device_type>cdwriter</device_type>\n  <target_device>{{DEV}}</target_device>\n{extra}"
    )
}

fn stage_tuesday(rig: &Rig) -> std::path::PathBuf {
    let dir = rig.stage_day(
        TUESDAY,
        &[
            ("host1/etc.tar.gz", b"etc archive".as_slice()),
            ("host1/cback.collect", b""),
            ("host2/home.tar", b"home archive, a little longer"),
            ("host2/run.sh", b"#!/bin/sh\n"),
        ],
    );
    fs::set_permissions(dir.join("host2/run.sh"), fs::Permissions::from_mode(0o750)).unwrap();
    fs::create_dir(dir.join("empty")).unwrap();
    symlink("host1/etc.tar.gz", dir.join("latest")).unwrap();
    dir
}

fn assert_ok(out: &std::process::Output) {
    assert!(
        out.status.success(),
        "cback failed ({:?}):\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn refresh(dev: &str) -> [String; 3] {
    [
        format!("eject {dev}"),
        format!("eject -t {dev}"),
        format!("eject -i off {dev}"),
    ]
}

#[test]
fn cdrw_new_disc_on_the_starting_day() {
    let rig = Rig::new(crate::BIN);
    let day = stage_tuesday(&rig);
    let staged = tree_files(&day, "/2026/12/01");
    let config = rig.config("tuesday", &cd_store("cdrw-74", ""), "");
    let out = rig.cback(&config, Some(TUESDAY), &["store"]);
    assert_ok(&out);

    let dev = "ROOT/dev/cdrw";
    let entry = "2026/12/01/=ROOT/stage/2026/12/01";
    let mut expected = vec![
        format!("cdrecord -prcap dev={dev}"),
        format!("mkisofs -V CEDAR BACKUP 01-DEC-2026 -print-size -graft-points -r {entry}"),
        format!(
            "mkisofs -V CEDAR BACKUP 01-DEC-2026 -graft-points -r -o ROOT/work/tmpXXXXXXXX {entry}"
        ),
        format!("cdrecord -v blank=fast dev={dev}"),
    ];
    expected.extend(refresh(dev));
    expected.push(format!(
        "cdrecord -v dev={dev} -multi -data ROOT/work/tmpXXXXXXXX"
    ));
    expected.extend(refresh(dev));
    assert_eq!(rig.calls_normalized(), expected);

    // The image holds the staging directory's every file under /2026/12/01, indicators too.
    let images = rig.images();
    assert_eq!(images.len(), 1);
    assert_eq!(image_files(&images[0]), staged);
    assert_eq!(volume_id(&images[0]), "CEDAR BACKUP 01-DEC-2026");
    let listing = image_listing(&images[0]);
    for line in [
        "dr-xr-xr-x 0 0 /2026/12/01",
        "-r--r--r-- 0 0 /2026/12/01/host1/etc.tar.gz",
        "-r-xr-xr-x 0 0 /2026/12/01/host2/run.sh",
        "dr-xr-xr-x 0 0 /2026/12/01/empty",
        "-r--r--r-- 0 0 /2026/12/01/cback.stage",
    ] {
        assert!(
            listing.iter().any(|l| l == line),
            "{line} not in {listing:#?}"
        );
    }
    assert!(
        listing
            .iter()
            .any(|l| l.starts_with("lr") && l.contains("/2026/12/01/latest -> host1/etc.tar.gz")),
        "{listing:#?}"
    );
    // What the disc holds is what was written.
    assert_eq!(rig.disc_files(), image_files(&images[0]));

    let indicator = day.join("cback.store");
    assert_eq!(fs::read(&indicator).unwrap(), b"");
    // Owned by backup_user:backup_group when running as root; mode from the umask.
    let meta = fs::metadata(&indicator).unwrap();
    let umask = fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("Umask:"))
        .map(|v| u32::from_str_radix(v.trim(), 8).unwrap())
        .unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o666 & !umask);
    if nix::unistd::Uid::effective().is_root() {
        use std::os::unix::fs::MetadataExt;
        let (user, group) = cback_tests::optical::owner();
        let uid = nix::unistd::User::from_name(&user).unwrap().unwrap().uid;
        let gid = nix::unistd::Group::from_name(&group).unwrap().unwrap().gid;
        assert_eq!((meta.uid(), meta.gid()), (uid.as_raw(), gid.as_raw()));
    }
    assert!(
        rig.work_leftovers().is_empty(),
        "{:?}",
        rig.work_leftovers()
    );
    let log = rig.log_text();
    assert!(
        log.contains("Store process will use current day's stage directory"),
        "{log}"
    );
    assert!(
        log.contains("Executed the 'store' action successfully."),
        "{log}"
    );
    // One summary line of the write: the image, the device, its size, the time and the rate.
    let summaries: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("] Wrote the image [CEDAR BACKUP 01-DEC-2026] to ["))
        .collect();
    assert_eq!(summaries.len(), 1, "{log}");
    assert!(
        summaries[0].contains("/dev/cdrw]: ") && summaries[0].ends_with("/s)."),
        "{log}"
    );
    assert!(out.stderr.is_empty(), "nothing drawn without a terminal");

    let status: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(rig.work.join("cback-status.json")).unwrap())
            .unwrap();
    let disc = &status["stored"][0];
    assert_eq!(disc["action"], "store");
    assert_eq!(disc["media"], "cdrw-74");
    assert_eq!(disc["label"], "CEDAR BACKUP 01-DEC-2026");
    assert_eq!(disc["new_disc"], true);
    assert_eq!(disc["success"], true);
    assert_eq!(disc["directories"][0], "2026/12/01");
    assert!(disc["bytes"].as_u64().unwrap() > 0);
    let prom = fs::read_to_string(rig.work.join("cback.prom")).unwrap();
    assert!(
        prom.contains("cback_store_success{action=\"store\",media=\"cdrw-74\"} 1"),
        "{prom}"
    );
}

fn assert_fails(out: &std::process::Output, needles: &[&str]) -> String {
    assert_eq!(
        out.status.code(),
        Some(6),
        "expected exit 6:\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    for needle in needles {
        assert!(stderr.contains(needle), "{needle:?} not in {stderr}");
    }
    stderr
}

#[test]
fn cdr_new_disc_then_append_on_the_next_day() {
    let rig = Rig::new(crate::BIN);
    let tuesday = rig.stage_day(TUESDAY, &[("h/a.tar", b"tuesday data".as_slice())]);
    let config = rig.config("tuesday", &cd_store("cdr-80", ""), "");
    assert_ok(&rig.cback(&config, Some(TUESDAY), &["store"]));
    // Write-once media is never blanked.
    assert!(rig
        .calls_of("cdrecord")
        .iter()
        .all(|c| !c.contains("blank")));
    assert!(tuesday.join("cback.store").is_file());
    let first_session = fs::metadata(&rig.device).unwrap().len() / 2048;
    assert!(first_session > 0);

    rig.clear_calls();
    let wednesday = rig.stage_day(WEDNESDAY, &[("h/b.tar", b"wednesday data".as_slice())]);
    assert_ok(&rig.cback(&config, Some(WEDNESDAY), &["store"]));
    let dev = "ROOT/dev/cdrw";
    let ms = format!("-C 0,{first_session} -M {dev}");
    let entry = "2026/12/02/=ROOT/stage/2026/12/02";
    let mut expected = vec![
        format!("cdrecord -prcap dev={dev}"),
        format!("cdrecord -msinfo dev={dev}"),
        format!("mkisofs -V CEDAR BACKUP 02-DEC-2026 -print-size -graft-points -r {ms} {entry}"),
        format!("mkisofs -V CEDAR BACKUP 02-DEC-2026 -graft-points -r -o ROOT/work/tmpXXXXXXXX {ms} {entry}"),
        format!("cdrecord -v dev={dev} -multi -data ROOT/work/tmpXXXXXXXX"),
    ];
    expected.extend(refresh(dev));
    assert_eq!(rig.calls_normalized(), expected);
    // The last session shows both days.
    let disc = rig.disc_files();
    assert_eq!(disc["/2026/12/01/h/a.tar"], b"tuesday data");
    assert_eq!(disc["/2026/12/02/h/b.tar"], b"wednesday data");
    assert!(wednesday.join("cback.store").is_file());
}

#[test]
fn every_cd_media_type() {
    for (media, rewritable, capacity) in [
        ("cdr-74", false, "650.00 MB"),
        ("cdrw-74", true, "650.00 MB"),
        ("cdr-80", false, "700.00 MB"),
        ("cdrw-80", true, "700.00 MB"),
    ] {
        let rig = Rig::new(crate::BIN);
        let day = rig.stage_day(TUESDAY, &[("h/a.tar", b"data".as_slice())]);
        let config = rig.config("tuesday", &cd_store(media, ""), "");
        assert_ok(&rig.cback(&config, Some(TUESDAY), &["store"]));
        let blanked = rig.calls().iter().any(|c| c.contains("blank=fast"));
        assert_eq!(blanked, rewritable, "{media}");
        assert_eq!(rig.disc_files()["/2026/12/01/h/a.tar"], b"data", "{media}");
        assert!(day.join("cback.store").is_file(), "{media}");

        // The same disc, nearly full: the message gives the media's capacity.
        fs::remove_file(day.join("cback.store")).unwrap();
        rig.set_state("msinfo", "0,352000\n");
        let out = rig.cback(&config, Some(WEDNESDAY), &["store"]);
        assert_fails(
            &out,
            &[
                "not contain enough capacity",
                capacity,
                "687.50 MB used",
                media,
                "has 0 bytes available",
            ],
        );
    }
}

#[test]
fn a_full_disc_is_refused_before_anything_is_written() {
    let rig = Rig::new(crate::BIN);
    let day = rig.stage_day(WEDNESDAY, &[("h/a.tar", vec![7u8; 300_000].as_slice())]);
    let config = rig.config("tuesday", &cd_store("cdrw-74", ""), "");
    rig.seed_disc();
    // 332800 sectors, 320000 used, 6900 of lead-in: 5900 sectors (11.52 MB) are left.
    rig.set_state("msinfo", "0,320000\n");
    let out = rig.cback(&config, Some(WEDNESDAY), &["store"]);
    // An image of a few hundred kB fits in 11.52 MB.
    assert_ok(&out);
    fs::remove_file(day.join("cback.store")).unwrap();

    rig.set_state("msinfo", "0,325800\n");
    rig.clear_calls();
    let images_before = rig.images().len();
    let out = rig.cback(&config, Some(WEDNESDAY), &["store"]);
    assert_fails(
        &out,
        &[
            "Media does not contain enough capacity to store image",
            "has 200.00 kB available (capacity 650.00 MB, 636.33 MB used)",
            "nothing was written",
        ],
    );
    assert!(rig
        .log_text()
        .contains("does not fit in available capacity [200.00 kB]."));
    let calls = rig.calls();
    assert!(
        calls
            .iter()
            .all(|c| !c.contains("-data") && !c.contains("blank")),
        "{calls:#?}"
    );
    assert!(
        calls.iter().all(|c| !c.contains(" -o ")),
        "no image is built: {calls:#?}"
    );
    assert_eq!(rig.images().len(), images_before);
    assert!(!day.join("cback.store").exists());
    assert!(rig.work_leftovers().is_empty());
}

#[test]
fn full_option_rewrites_today_even_when_stored() {
    let rig = Rig::new(crate::BIN);
    let day = rig.stage_day(WEDNESDAY, &[("h/a.tar", b"again".as_slice())]);
    fs::write(day.join("cback.store"), "").unwrap();
    let config = rig.config("tuesday", &cd_store("cdrw-74", ""), "");
    // Without --full there is nothing left to store.
    let out = rig.cback(&config, Some(WEDNESDAY), &["store"]);
    assert_fails(
        &out,
        &["Unable to find unused staging directory to store (tried today, yesterday, tomorrow)"],
    );
    assert!(rig.calls().is_empty(), "nothing runs: {:?}", rig.calls());

    let out = rig.cback(&config, Some(WEDNESDAY), &["--full", "store"]);
    assert_ok(&out);
    let calls = rig.calls_normalized();
    assert!(calls.iter().all(|c| !c.contains("-msinfo")), "{calls:#?}");
    assert!(calls.iter().any(|c| c.contains("blank=fast")), "{calls:#?}");
    // The old indicator goes onto the disc.
    assert!(rig.disc_files().contains_key("/2026/12/02/cback.store"));

    // --full only tries today.
    let out = rig.cback(&config, Some("2026-12-03"), &["--full", "store"]);
    assert_fails(&out, &["only tried today due to full option", "2026/12/03"]);
}

#[test]
fn yesterday_or_tomorrow_when_today_is_stored() {
    let rig = Rig::new(crate::BIN);
    let today = rig.stage_day(WEDNESDAY, &[("a", b"1".as_slice())]);
    fs::write(today.join("cback.store"), "").unwrap();
    let yesterday = rig.stage_day(TUESDAY, &[("b", b"2".as_slice())]);
    let config = rig.config(
        "monday",
        &cd_store("cdr-74", "  <warn_midnite>Y</warn_midnite>\n"),
        "",
    );
    assert_ok(&rig.cback(&config, Some(WEDNESDAY), &["store"]));
    let log = rig.log_text();
    assert!(
        log.contains("Store process will use previous day's stage directory"),
        "{log}"
    );
    assert!(
        log.contains("Warning: store process crossed midnite boundary to find data."),
        "{log}"
    );
    assert!(yesterday.join("cback.store").is_file());
    assert!(rig
        .calls_normalized()
        .iter()
        .any(|c| c.ends_with("2026/12/01/=ROOT/stage/2026/12/01")));

    let tomorrow = rig.stage_day("2026-12-03", &[("c", b"3".as_slice())]);
    assert_ok(&rig.cback(&config, Some(WEDNESDAY), &["store"]));
    assert!(rig
        .log_text()
        .contains("Store process will use next day's stage directory"));
    assert!(tomorrow.join("cback.store").is_file());
}

#[test]
fn blanking_by_ratio() {
    // 332800 sectors, 1000 used: about 634 MB left, so the ratio is in the thousands.
    for (factor, blanks) in [("1e9", true), ("1", false)] {
        let rig = Rig::new(crate::BIN);
        rig.stage_day(WEDNESDAY, &[("a", b"x".as_slice())]);
        rig.seed_disc();
        rig.set_state("msinfo", "0,1000\n");
        let store = cd_store(
            "cdrw-74",
            &format!(
                "  <blank_behavior><mode>daily</mode><factor>{factor}</factor></blank_behavior>\n"
            ),
        );
        let config = rig.config("tuesday", &store, "");
        assert_ok(&rig.cback(&config, Some(WEDNESDAY), &["store"]));
        let calls = rig.calls_normalized();
        let dev = "ROOT/dev/cdrw";
        let entry = "2026/12/02/=ROOT/stage/2026/12/02";
        // The ratio: -msinfo, then the estimate without label or multisession options.
        assert_eq!(calls[1], format!("cdrecord -msinfo dev={dev}"));
        assert_eq!(
            calls[2],
            format!("mkisofs -print-size -graft-points -r {entry}")
        );
        assert_eq!(
            calls.iter().any(|c| c.contains("blank=fast")),
            blanks,
            "{factor}: {calls:#?}"
        );
        if !blanks {
            // Appending reads the boundaries again.
            assert_eq!(calls[3], format!("cdrecord -msinfo dev={dev}"));
            assert!(
                calls[4].contains("-C 0,1000 -M ROOT/dev/cdrw"),
                "{calls:#?}"
            );
        }
    }
}

#[test]
fn weekly_blanking_and_a_factor_without_mode() {
    let store = |bb: &str| {
        cd_store(
            "cdrw-74",
            &format!("  <blank_behavior>{bb}</blank_behavior>\n"),
        )
    };
    let rig = Rig::new(crate::BIN);
    rig.stage_day(WEDNESDAY, &[("a", b"x".as_slice())]);
    rig.seed_disc();
    rig.set_state("msinfo", "0,1000\n");
    // weekly, not the starting day: append, no ratio.
    let config = rig.config(
        "tuesday",
        &store("<mode>weekly</mode><factor>1e9</factor>"),
        "",
    );
    assert_ok(&rig.cback(&config, Some(WEDNESDAY), &["store"]));
    let calls = rig.calls_normalized();
    assert!(
        calls.iter().all(|c| !c.contains("blank=fast")),
        "{calls:#?}"
    );
    assert_eq!(calls.iter().filter(|c| c.contains("-msinfo")).count(), 1);

    // A factor alone never blanks, not even on the starting day.
    let rig = Rig::new(crate::BIN);
    rig.stage_day(TUESDAY, &[("a", b"x".as_slice())]);
    rig.seed_disc();
    rig.set_state("msinfo", "0,1000\n");
    let config = rig.config("tuesday", &store("<factor>1e9</factor>"), "");
    assert_ok(&rig.cback(&config, Some(TUESDAY), &["store"]));
    assert!(rig.calls().iter().all(|c| !c.contains("blank=fast")));
}

#[test]
fn blanking_mode_without_factor_says_what_to_add() {
    let rig = Rig::new(crate::BIN);
    let day = rig.stage_day(WEDNESDAY, &[("a", b"x".as_slice())]);
    let store = cd_store(
        "cdrw-74",
        "  <blank_behavior><mode>daily</mode></blank_behavior>\n",
    );
    let config = rig.config("tuesday", &store, "");
    let out = rig.cback(&config, Some(WEDNESDAY), &["store"]);
    assert_fails(
        &out,
        &[
            "has mode daily but no <factor>",
            "add a factor such as <factor>1.0</factor>",
        ],
    );
    assert!(rig.calls().is_empty(), "{:?}", rig.calls());
    assert!(!day.join("cback.store").exists());
    // --full needs no ratio.
    assert_ok(&rig.cback(&config, Some(WEDNESDAY), &["--full", "store"]));
}

#[test]
fn store_without_a_stage_section_says_what_to_add() {
    let rig = Rig::new(crate::BIN);
    rig.stage_day(TUESDAY, &[("a", b"x".as_slice())]);
    let config = rig.config("tuesday", &cd_store("cdrw-74", ""), "");
    let text = fs::read_to_string(&config).unwrap();
    let start = text.find(" <stage>").unwrap();
    let end = text.find("</stage>").unwrap() + "</stage>".len();
    fs::write(&config, format!("{}{}", &text[..start], &text[end..])).unwrap();
    let out = rig.cback(&config, Some(TUESDAY), &["store"]);
    assert_fails(&out, &["no <stage> section", "add <stage><staging_dir>"]);
    assert!(rig.calls().is_empty());
}

#[test]
fn speed_scsi_id_and_no_eject() {
    let rig = Rig::new(crate::BIN);
    rig.stage_day(TUESDAY, &[("a", b"x".as_slice())]);
    let store = cd_store(
        "cdrw-80",
        "  <target_scsi_id>ATA:1,0,0</target_scsi_id>\n  <drive_speed>4</drive_speed>\n  <no_eject>Y</no_eject>\n",
    );
    let config = rig.config("tuesday", &store, "");
    assert_ok(&rig.cback(&config, Some(TUESDAY), &["store"]));
    let calls = rig.calls_normalized();
    assert_eq!(calls[0], "cdrecord -prcap dev=ATA:1,0,0");
    assert!(
        calls.contains(&"cdrecord -v blank=fast dev=ATA:1,0,0".to_string()),
        "{calls:#?}"
    );
    assert!(
        calls.contains(
            &"cdrecord -v speed=4 dev=ATA:1,0,0 -multi -data ROOT/work/tmpXXXXXXXX".to_string()
        ),
        "{calls:#?}"
    );
    // no_eject: only the unlock, after the blank and after the write.
    let ejects: Vec<&String> = calls.iter().filter(|c| c.starts_with("eject")).collect();
    assert_eq!(
        ejects,
        ["eject -i off ROOT/dev/cdrw", "eject -i off ROOT/dev/cdrw"]
    );

    // Appending names the device for -M, not the SCSI id.
    let day = rig.stage_day(WEDNESDAY, &[("b", b"y".as_slice())]);
    rig.clear_calls();
    assert_ok(&rig.cback(&config, Some(WEDNESDAY), &["store"]));
    assert!(rig.calls_normalized()[2].contains(" -M ROOT/dev/cdrw "));
    assert!(day.join("cback.store").is_file());
}

#[test]
fn a_drive_without_multisession_or_tray() {
    let rig = Rig::new(crate::BIN);
    rig.set_state(
        "prcap",
        "Device type    : Removable CD-ROM\n  Loading mechanism type: caddy\n",
    );
    rig.stage_day(WEDNESDAY, &[("a", b"x".as_slice())]);
    let config = rig.config("tuesday", &cd_store("cdr-74", ""), "");
    assert_ok(&rig.cback(&config, Some(WEDNESDAY), &["store"]));
    let calls = rig.calls_normalized();
    // No -msinfo, no -multi, no -C/-M, and only the unlock of the tray.
    assert!(
        calls
            .iter()
            .all(|c| !c.contains("-msinfo") && !c.contains("-multi") && !c.contains(" -M ")),
        "{calls:#?}"
    );
    assert_eq!(
        calls.iter().filter(|c| c.starts_with("eject")).count(),
        1,
        "{calls:#?}"
    );
}

#[test]
fn eject_honours_its_override_and_a_failure_after_the_write_leaves_no_indicator() {
    let rig = Rig::new(crate::BIN);
    let day = rig.stage_day(TUESDAY, &[("a", b"x".as_slice())]);
    let config = rig.config("tuesday", &cd_store("cdrw-74", ""), "");
    // cback runs with a PATH that has no eject of the rig's: every eject must be the override.
    let out = std::process::Command::new(crate::BIN.cback_path())
        .env("LANG", "C")
        .env("PATH", "/usr/bin:/bin")
        .env("CEDAR_TODAY", TUESDAY)
        .arg("--config")
        .arg(&config)
        .arg("--logfile")
        .arg(&rig.log)
        .arg("store")
        .output()
        .unwrap();
    assert_ok(&out);
    assert_eq!(
        rig.calls()
            .iter()
            .filter(|c| c.starts_with("eject "))
            .count(),
        6
    );

    // The tray will not close after the write: the data is on the disc, but unconfirmed.
    fs::remove_file(day.join("cback.store")).unwrap();
    rig.clear_calls();
    rig.fail("eject", "-t*", "eject: unable to close tray");
    let out = rig.cback(&config, Some(TUESDAY), &["--full", "store"]);
    assert_fails(&out, &["eject -t", "unable to close tray"]);
    assert!(!day.join("cback.store").exists());

    // Opening fails once: unlock, then open again.
    rig.unfail("eject");
    rig.clear_calls();
    rig.fail("eject", "ROOT_NEVER", "");
    let opens = rig.root.join("state/opens");
    let script = rig.bin.join("eject");
    let text = fs::read_to_string(&script).unwrap();
    // First plain open fails, the second succeeds.
    let patched = text.replacen(
        "if [ -f \"$S/fail/$NAME\" ]; then",
        &format!("if [ \"$1\" != -t ] && [ \"$1\" != -i ] && [ ! -f '{}' ]; then touch '{}'; exit 1; fi\nif [ -f \"$S/fail/$NAME\" ]; then", opens.display(), opens.display()),
        1,
    );
    fs::write(&script, patched).unwrap();
    assert_ok(&rig.cback(&config, Some(TUESDAY), &["--full", "store"]));
    let dev = "ROOT/dev/cdrw";
    let ejects: Vec<String> = rig.calls_of("eject");
    assert_eq!(
        ejects[..4],
        [
            format!("eject {dev}"),
            format!("eject -i off {dev}"),
            format!("eject {dev}"),
            format!("eject -t {dev}")
        ]
    );
}

#[test]
fn a_missing_device_is_reported_before_any_command() {
    let rig = Rig::new(crate::BIN);
    rig.stage_day(TUESDAY, &[("a", b"x".as_slice())]);
    fs::remove_file(&rig.device).unwrap();
    let config = rig.config("tuesday", &cd_store("cdrw-74", ""), "");
    let out = rig.cback(&config, Some(TUESDAY), &["store"]);
    assert_fails(
        &out,
        &[
            "Backup device",
            "does not exist",
            "fix <store><target_device>",
        ],
    );
    assert!(rig.calls().is_empty());
}

#[test]
fn sigterm_while_writing_names_the_device_and_what_is_left() {
    use std::time::{Duration, Instant};
    let rig = Rig::new(crate::BIN);
    let day = stage_tuesday(&rig);
    let config = rig.config("tuesday", &cd_store("cdrw-74", ""), "");
    rig.hang("cdrecord", "*-data*");
    let mut child = rig
        .command(&config, Some(TUESDAY), &["store"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !rig.hanging() {
        assert!(Instant::now() < deadline, "the write did not start");
        assert!(child.try_wait().unwrap().is_none(), "cback ended early");
        std::thread::sleep(Duration::from_millis(50));
    }
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "interrupted during action store while writing {} to the disc in {}",
            day.display(),
            rig.device.display()
        )) && stderr.contains("no cback.store was written"),
        "{stderr}"
    );
    assert!(!day.join("cback.store").exists());
}

#[test]
fn a_terminal_sees_the_write_and_its_summary() {
    let rig = Rig::new(crate::BIN);
    let dir = stage_tuesday(&rig);
    // About 3 MiB, written at 0.4 s a MiB: the line shows the bytes cdrecord reports.
    let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 253) as u8).collect();
    fs::write(dir.join("host2/big.tar"), data).unwrap();
    rig.slow_writer();
    let config = rig.config("tuesday", &cd_store("cdrw-74", ""), "");
    let Some(screen) =
        cback_tests::terminal::on_a_terminal(&rig.command(&config, Some(TUESDAY), &["store"]))
    else {
        return;
    };
    assert_eq!(screen.code, Some(0), "{}", screen.text);
    let log = rig.log_text();
    let summary = cback_tests::lines_with(&log, "] Wrote the image [CEDAR BACKUP 01-DEC-2026]");
    assert_eq!(summary.len(), 1, "{log}");
    let summary = &summary[0][summary[0].find("Wrote the image").unwrap()..];
    // The bytes cdrecord reported (1 MiB, 2 MiB) of the image's size, before the end.
    let partial: Vec<&str> = screen
        .frames()
        .filter(|frame| {
            (frame.contains("1.00 MiB of ") || frame.contains("2.00 MiB of "))
                && frame.contains(" written [")
        })
        .collect();
    assert!(
        !partial.is_empty(),
        "no frame with the bytes cdrecord reported:\n{}",
        screen.text
    );
    assert!(
        screen.text.contains(summary),
        "the line ends with `{summary}`:\n{}",
        screen.text
    );
}

#[test]
fn a_terminal_costs_no_second_size_estimate() {
    // The line's total is the write's own `mkisofs -print-size`: as many estimates on a
    // terminal as off one, for a CD (estimated with the label) and a DVD (without).
    for store in [
        cd_store("cdrw-74", ""),
        crate::store_dvd::dvd_store("dvd+rw", ""),
    ] {
        let estimates = |terminal: bool| {
            let rig = Rig::new(crate::BIN);
            stage_tuesday(&rig);
            let config = rig.config("tuesday", &store, "");
            if terminal {
                let cmd = rig.command(&config, Some(TUESDAY), &["store"]);
                let screen = cback_tests::terminal::on_a_terminal(&cmd)?;
                assert_eq!(screen.code, Some(0), "{}", screen.text);
                assert!(
                    screen
                        .text
                        .contains("Wrote the image [CEDAR BACKUP 01-DEC-2026]"),
                    "{}",
                    screen.text
                );
            } else {
                assert_ok(&rig.cback(&config, Some(TUESDAY), &["store"]));
            }
            Some(rig.size_estimates())
        };
        let Some(drawn) = estimates(true) else {
            return;
        };
        assert_eq!(drawn, estimates(false).unwrap(), "{store}");
        assert_eq!(drawn, 1, "{store}");
    }
}
