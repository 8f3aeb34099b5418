//! Side by side with the original cback3 (as a black box): for the same staged day, amazons3
//! writes the same keys, sizes and ETags as the original with the aws program (so the same
//! bytes, in the same 8 MiB parts), and split writes the same parts.
//!
//! The original is `CB3_BIN`, else `/tmp/cback-ci-cb3/bin/cback3` (where .ci/run installs it),
//! else `/tmp/cb3/bin/cback3`; its aws program is the one in the moto environment (.ci/run
//! installs awscli there), else `aws` on PATH. Without them these tests print SKIPPED. Both run
//! on today's date.

use std::fs;
use std::path::PathBuf;

use crate::offsite_support::*;
use cback_tests::s3::{self, Moto};

fn original(test: &str) -> Option<PathBuf> {
    let found = std::env::var_os("CB3_BIN")
        .map(PathBuf::from)
        .into_iter()
        .chain(
            ["/tmp/cback-ci-cb3/bin/cback3", "/tmp/cb3/bin/cback3"]
                .into_iter()
                .map(PathBuf::from),
        )
        .find(|p| p.is_file());
    if found.is_none() {
        skipped(test, "the original cback3 is not installed (set CB3_BIN)");
    }
    found
}

fn aws_program(moto: &Moto) -> Option<PathBuf> {
    let beside = moto.programs.moto_server.with_file_name("aws");
    if beside.is_file() {
        return Some(beside);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join("aws"))
        .find(|p| p.is_file())
}

fn today_dir() -> String {
    let now = cedar_core::local_now();
    format!("{:04}/{:02}/{:02}", now.year, now.month, now.day)
}

fn config(site: &OffsiteMaster, name: &str, extra_options: &str, sections: &str) -> PathBuf {
    let path = site.root.join(name);
    let (user, group) = ("root", "root");
    fs::write(
        &path,
        format!(
            "<?xml version=\"1.0\"?>\n<cb_config><options><starting_day>monday</starting_day>\
             <working_dir>{}</working_dir><backup_user>{user}</backup_user><backup_group>{group}</backup_group>\
             <rcp_command>/usr/bin/scp -B</rcp_command>{extra_options}</options>{EXTENSIONS}\
             <stage><staging_dir>{}</staging_dir><peer><name>h</name><type>local</type>\
             <collect_dir>/tmp/none</collect_dir></peer></stage>{sections}</cb_config>\n",
            site.work().display(),
            site.staging().display()
        ),
    )
    .unwrap();
    path
}

fn listing(moto: &Moto, bucket: &str) -> String {
    moto.python(&format!(
        "p = s3.get_paginator('list_objects_v2')\n\
         for page in p.paginate(Bucket={bucket:?}):\n\
         \x20   for o in page.get('Contents', []):\n\
         \x20       print(o['Key'].split('/', 1)[1], o['Size'], o['ETag'])"
    ))
}

#[test]
fn amazons3_stores_what_the_original_stores() {
    let test = "amazons3_stores_what_the_original_stores";
    let Some(cb3) = original(test) else { return };
    if s3::available(test).is_none() {
        return;
    }
    if !is_root() {
        skipped(test, "amazons3 runs only as root");
        return;
    }
    let Some(moto) = s3::shared(test) else {
        return;
    };
    let Some(aws) = aws_program(moto) else {
        skipped(test, "the aws program is not installed");
        return;
    };
    let orig = moto.new_bucket("orig");
    let mine = moto.new_bucket("mine");
    let site = OffsiteMaster::new();
    let big = noise(9_000_000, 21);
    let day = site.stage_day(
        &today_dir(),
        &[
            ("host1/a.tar.gz", b"a"),
            ("host1/big.bin", &big),
            ("host1/sub dir/b c.txt", b"bee"),
            ("host1/cback.collect", b""),
            ("host2/x.dump", b"xx"),
            ("host2/empty", b""),
        ],
        true,
    );
    let overrides = format!(
        "<override><command>aws</command><abs_path>{}</abs_path></override>",
        aws.display()
    );
    let theirs = config(
        &site,
        "orig.conf",
        &overrides,
        &format!("<amazons3><s3_bucket>{orig}/staging</s3_bucket></amazons3>"),
    );
    let mut cmd = assert_cmd::Command::new(&cb3);
    moto.env(&mut cmd);
    cmd.env("AWS_DEFAULT_REGION", s3::REGION)
        .arg("--config")
        .arg(&theirs)
        .arg("--logfile")
        .arg(site.root.join("orig.log"))
        .arg("amazons3")
        .assert()
        .success();
    fs::remove_file(day.join("cback.amazons3")).unwrap();
    let mine_config = config(
        &site,
        "mine.conf",
        "",
        &format!("<amazons3><s3_bucket>{mine}/staging</s3_bucket></amazons3>"),
    );
    let mut cmd = crate::BIN.cback();
    moto.env(&mut cmd);
    cmd.env_remove("CEDAR_TODAY")
        .arg("--config")
        .arg(&mine_config)
        .arg("--logfile")
        .arg(site.log_path())
        .arg("amazons3")
        .assert()
        .success();
    let theirs = listing(moto, &orig);
    assert!(theirs.lines().count() == 5, "{theirs}");
    // The same objects, and cback's upload marker, which the original does not write.
    let mine_listed = listing(moto, &mine);
    let (markers, copies): (Vec<&str>, Vec<&str>) = mine_listed
        .lines()
        .partition(|l| l.contains(&format!("/{MARKER} ")));
    assert_eq!(markers.len(), 1, "{mine_listed}");
    assert_eq!(copies.join("\n") + "\n", theirs);
    assert!(day.join("cback.amazons3").is_file());
}

#[test]
fn split_writes_the_parts_the_original_writes() {
    let test = "split_writes_the_parts_the_original_writes";
    let Some(cb3) = original(test) else { return };
    let sections = "<split><size_limit>1 KB</size_limit><split_size>0.75 KB</split_size></split>";
    let data = noise(5000, 3);
    let mut trees = Vec::new();
    for program in [cb3.as_path(), crate::BIN.cback_path()] {
        let site = OffsiteMaster::new();
        site.stage_day(
            &today_dir(),
            &[
                ("h/big", &data),
                ("h/exact", &[1u8; 1024]),
                ("h/cback.collect", b""),
            ],
            true,
        );
        let conf = config(&site, "c.conf", "", sections);
        assert_cmd::Command::new(program)
            .env_remove("CEDAR_TODAY")
            .arg("--config")
            .arg(&conf)
            .arg("--logfile")
            .arg(site.log_path())
            .arg("split")
            .assert()
            .success();
        trees.push(tree(&site.staging()));
    }
    assert!(
        trees[0].keys().any(|k| k.ends_with("h/big_00006")),
        "{:?}",
        trees[0].keys()
    );
    assert_eq!(trees[1], trees[0]);
}
