//! Every rule of the `<encrypt>`, `<split>` and `<amazons3>` sections, through the binary:
//! each broken section fails its action with exit 6 and the original's message; the modules
//! resolve in `<extensions>`; cback's validate action reports the same problems.

use crate::offsite_support::*;

/// Runs `action` with `sections` and returns its standard error, asserting exit 6.
fn fails(site: &OffsiteMaster, sections: &str, action: &str) -> String {
    let config = site.config("", sections);
    let out = site
        .cback(&config, &[action])
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .assert()
        .code(6)
        .get_output()
        .stderr
        .clone();
    String::from_utf8_lossy(&out).into_owned()
}

fn assert_message(site: &OffsiteMaster, sections: &str, action: &str, message: &str) {
    let err = fails(site, sections, action);
    assert!(
        err.contains(message),
        "{action} with {sections}: expected {message:?} in {err}"
    );
}

#[test]
fn encrypt_section_rules() {
    let site = OffsiteMaster::new();
    site.stage_day(TODAY_DIR, &[("h/a", b"a")], true);
    for (section, message) in [
        ("", "Encrypt section is required."),
        ("<encrypt><encrypt_target>x</encrypt_target></encrypt>", "Encrypt mode must be set."),
        (
            "<encrypt><encrypt_mode>pgp</encrypt_mode><encrypt_target>x</encrypt_target></encrypt>",
            "Encrypt mode must be one of ['gpg', 'age'].",
        ),
        (
            "<encrypt><encrypt_mode> gpg</encrypt_mode><encrypt_target>x</encrypt_target></encrypt>",
            "Encrypt mode must be one of ['gpg', 'age'].",
        ),
        ("<encrypt><encrypt_mode>gpg</encrypt_mode></encrypt>", "Encrypt target must be set."),
        (
            "<encrypt><encrypt_mode>gpg</encrypt_mode><encrypt_target/></encrypt>",
            "Encrypt target must be set.",
        ),
        (
            "<encrypt><encrypt_mode>age</encrypt_mode></encrypt>",
            "needs at least one <recipient>",
        ),
        (
            "<encrypt><encrypt_mode>age</encrypt_mode><recipient>age1nope</recipient></encrypt>",
            "is not an age public key",
        ),
    ] {
        assert_message(&site, section, "encrypt", message);
    }
    assert!(site.day(TODAY_DIR).join("h/a").is_file());
}

#[test]
fn split_section_rules() {
    let site = OffsiteMaster::new();
    site.stage_day(TODAY_DIR, &[("h/a", b"a")], true);
    for (section, message) in [
        ("", "Split section is required."),
        (
            "<split><split_size>1</split_size></split>",
            "Size limit must be set.",
        ),
        (
            "<split><size_limit>1</size_limit></split>",
            "Split size must be set.",
        ),
        (
            "<split><size_limit>1kb</size_limit><split_size>1</split_size></split>",
            "Quantity must be interpretable as a float",
        ),
        (
            "<split><size_limit>1 TB</size_limit><split_size>1</split_size></split>",
            "Quantity must be interpretable as a float",
        ),
        (
            "<split><size_limit>abc</size_limit><split_size>1</split_size></split>",
            "Quantity must be interpretable as a float",
        ),
        (
            "<split><size_limit>1</size_limit><split_size>-5</split_size></split>",
            "Quantity cannot be negative.",
        ),
    ] {
        assert_message(&site, section, "split", message);
    }
}

#[test]
fn amazons3_section_rules() {
    let site = OffsiteMaster::new();
    site.stage_day(TODAY_DIR, &[("h/a", b"a")], true);
    for (section, message) in [
        ("", "AmazonS3 section is required."),
        ("<amazons3></amazons3>", "AmazonS3 s3Bucket must be set."),
        (
            "<amazons3><s3_bucket/></amazons3>",
            "AmazonS3 s3Bucket must be set.",
        ),
        (
            "<amazons3><warn_midnite>yes</warn_midnite><s3_bucket>b</s3_bucket></amazons3>",
            "Boolean values must be one of ['Y', 'y', 'N', 'n'].",
        ),
        (
            "<amazons3><s3_bucket>b</s3_bucket><full_size_limit>1kb</full_size_limit></amazons3>",
            "Quantity must be interpretable as a float",
        ),
        (
            "<amazons3><s3_bucket>b</s3_bucket><incr_size_limit>-1</incr_size_limit></amazons3>",
            "Quantity cannot be negative.",
        ),
        (
            "<amazons3><s3_bucket>b</s3_bucket><endpoint>localhost:9000</endpoint></amazons3>",
            "must start with http:// or https://",
        ),
        (
            "<amazons3><s3_bucket>b</s3_bucket><encrypt_mode>age</encrypt_mode></amazons3>",
            "needs at least one <recipient>",
        ),
        (
            "<amazons3><s3_bucket>b</s3_bucket><part_size>1 MB</part_size></amazons3>",
            "between 5 MB and 5 GB",
        ),
    ] {
        assert_message(&site, section, "amazons3", message);
    }
}

#[test]
fn the_actions_need_options_and_stage() {
    let site = OffsiteMaster::new();
    let path = site.root.join("nostage.conf");
    std::fs::write(
        &path,
        format!(
            "<?xml version=\"1.0\"?>\n<cb_config><options><starting_day>monday</starting_day>\
             <working_dir>{}</working_dir><backup_user>root</backup_user><backup_group>root</backup_group>\
             <rcp_command>/usr/bin/scp -B</rcp_command></options>{EXTENSIONS}\
             <purge><dir><abs_path>/tmp/none</abs_path><retain_days>1</retain_days></dir></purge>\
             <split><size_limit>1</size_limit><split_size>1</split_size></split>\
             <encrypt><encrypt_mode>gpg</encrypt_mode><encrypt_target>x</encrypt_target></encrypt>\
             <amazons3><s3_bucket>b</s3_bucket></amazons3></cb_config>\n",
            site.work().display()
        ),
    )
    .unwrap();
    for action in ["encrypt", "split", "amazons3"] {
        let out = site
            .cback(&path, &[action])
            .assert()
            .code(6)
            .get_output()
            .stderr
            .clone();
        let err = String::from_utf8_lossy(&out);
        assert!(
            err.contains("Cedar Backup configuration is not properly filled in."),
            "{action}: {err}"
        );
    }
}

#[test]
fn the_modules_resolve_and_validate_reports_the_sections() {
    let site = OffsiteMaster::new();
    let config = site.config(
        "",
        "<split><size_limit>1</size_limit></split><amazons3><s3_bucket>b</s3_bucket></amazons3>",
    );
    // The dry run resolves every declared module and places them at their indices.
    let out = site
        .cback(&config, &["--dry-run", "amazons3", "split", "encrypt"])
        .assert()
        .success();
    let plan = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    let (a, s, e) = (
        plan.find("amazons3").unwrap(),
        plan.find("split").unwrap(),
        plan.find("encrypt").unwrap(),
    );
    assert!(a < s && s < e, "{plan}");
    let out = site
        .cback(&config, &["validate"])
        .assert()
        .get_output()
        .clone();
    let text = format!(
        "{}{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        site.log()
    );
    assert!(text.contains("Split size must be set."), "{text}");
    assert!(text.contains("Encrypt section is required."), "{text}");
}
