//! `cback-amazons3-sync` end to end against moto: a full sync (new, changed and removed
//! files), `--uploadOnly`, `--verifyOnly` and the differences it reports, bare-bucket and
//! trailing-slash URLs, and the usage and missing-source exits.

use std::fs;

use crate::offsite_support::*;
use cback_tests::s3::{self, Moto};

fn run(moto: &Moto, site: &OffsiteMaster, args: &[&str]) -> assert_cmd::assert::Assert {
    let mut cmd = crate::BIN.sync();
    moto.env(&mut cmd);
    cmd.arg("--logfile")
        .arg(site.log_path())
        .args(args)
        .assert()
}

#[test]
fn a_directory_is_mirrored_and_verified() {
    let test = "a_directory_is_mirrored_and_verified";
    let Some(moto) = s3::shared(test) else {
        return;
    };
    let bucket = moto.new_bucket(test);
    let site = OffsiteMaster::new();
    let src = site.root.join("src");
    fs::create_dir_all(src.join("sub")).unwrap();
    fs::write(src.join("a"), b"alpha").unwrap();
    fs::write(src.join("sub/b"), b"bee").unwrap();
    fs::write(src.join("cback.collect"), b"").unwrap();
    fs::write(src.join("café.txt"), b"utf-8 name").unwrap();
    let url = format!("s3://{bucket}/home/");
    let source = src.display().to_string();
    run(moto, &site, &[&source, &url]).success();
    let objects = moto.objects(&bucket, "");
    assert_eq!(
        objects.into_iter().collect::<Vec<_>>(),
        vec![
            ("home/a".to_string(), 5),
            ("home/café.txt".to_string(), 10),
            ("home/cback.collect".to_string(), 0),
            ("home/sub/b".to_string(), 3),
        ]
    );
    let log = site.log();
    assert!(log.contains("Cedar Backup Amazon S3 sync run started."));
    assert!(log.contains(
        "This will be a full sync process, removing any S3 files that do not exist in the source"
    ));
    assert!(log.contains("Completed verifying Amazon S3 bucket contents (no problems found)."));
    assert!(log.contains("Cedar Backup Amazon S3 sync run completed with status 0."));

    // Changed and removed files; --uploadOnly keeps what is gone (one upload at a time).
    fs::write(src.join("a"), b"alpha, longer").unwrap();
    fs::remove_file(src.join("sub/b")).unwrap();
    run(moto, &site, &["-u", "--jobs", "1", &source, &url]).success();
    assert_eq!(moto.get(&bucket, "home/a"), b"alpha, longer");
    assert!(moto.objects(&bucket, "").contains_key("home/sub/b"));
    assert!(site
        .log()
        .contains("Sync process will only upload new data, never removing files in S3"));
    // A full sync removes it.
    run(moto, &site, &[&source, &url]).success();
    assert!(!moto.objects(&bucket, "").contains_key("home/sub/b"));

    // --verifyOnly changes nothing and reports each difference.
    fs::write(src.join("new"), b"n").unwrap();
    fs::write(src.join("a"), b"a").unwrap();
    run(moto, &site, &["--verifyOnly", &source, &url]).code(6);
    let log = site.log();
    assert!(
        log.contains(&format!(
            "File was apparently not uploaded: [{}]",
            src.join("new").display()
        )),
        "{log}"
    );
    assert!(log.contains(&format!(
        "File size differs [{}]: expected 1 bytes but got 13 bytes",
        src.join("a").display()
    )));
    assert!(log.contains("There were differences between source directory and target S3 bucket."));
    assert!(!moto.objects(&bucket, "").contains_key("home/new"));
}

#[test]
fn a_bare_bucket_url_syncs_at_the_root() {
    let test = "a_bare_bucket_url_syncs_at_the_root";
    let Some(moto) = s3::shared(test) else {
        return;
    };
    let bucket = moto.new_bucket(test);
    let site = OffsiteMaster::new();
    let src = site.root.join("src");
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("f"), b"f").unwrap();
    let source = format!("{}/", src.display());
    run(moto, &site, &[&source, &format!("s3://{bucket}")]).success();
    assert_eq!(
        moto.objects(&bucket, "").keys().collect::<Vec<_>>(),
        vec!["f"]
    );
}

#[test]
fn usage_and_a_missing_source() {
    let site = OffsiteMaster::new();
    let mut cmd = crate::BIN.sync();
    cmd.arg("--logfile").arg(site.log_path()).arg("only-one");
    cmd.assert().code(2);
    crate::BIN.sync().arg("--help").assert().success();
    crate::BIN.sync().arg("--version").assert().success();
    crate::BIN.sync().arg("--diagnostics").assert().success();
    crate::BIN
        .sync()
        .args(["--bogus", "a", "b"])
        .assert()
        .code(2);
    // --jobs takes 1 to 64 uploads at once.
    for bad in ["0", "65", "x"] {
        crate::BIN
            .sync()
            .args(["--jobs", bad, "a", "s3://b"])
            .assert()
            .code(2);
    }
    let mut cmd = crate::BIN.sync();
    s3::isolate(&mut cmd, &site.root);
    let out = cmd
        .arg("--logfile")
        .arg(site.log_path())
        .arg(site.root.join("missing"))
        .arg("s3://b/p")
        .assert()
        .code(6)
        .get_output()
        .stderr
        .clone();
    assert!(String::from_utf8_lossy(&out).contains("Source directory does not exist on disk."));
    assert!(site
        .log()
        .contains("Cedar Backup Amazon S3 sync run completed with status 6."));
}
