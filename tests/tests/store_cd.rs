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
    let rig = Rig::new();
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
