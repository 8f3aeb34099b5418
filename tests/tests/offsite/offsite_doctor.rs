//! `cback doctor` for `<encrypt>` with gpg: the recipient's key in the keyring of the user
//! running cback passes; a recipient without a key fails with exit 6.

use crate::offsite_support::*;
use cback_tests::gpg::{self, Keyring};

fn gpg_section(target: &str) -> String {
    format!("<encrypt><encrypt_mode>gpg</encrypt_mode><encrypt_target>{target}</encrypt_target></encrypt>")
}

fn key_line(stdout: &str) -> String {
    let lines: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains(" encrypt key "))
        .collect();
    assert_eq!(lines.len(), 1, "{stdout}");
    lines[0].to_string()
}

#[test]
fn doctor_finds_the_recipients_key_or_names_the_missing_one() {
    let Some(program) = gpg::available("doctor_finds_the_recipients_key_or_names_the_missing_one")
    else {
        return;
    };
    let keyring = Keyring::generate(&program);
    let site = OffsiteMaster::new();
    let config = site.config("", &gpg_section(gpg::ADDRESS));
    let out = site
        .cback(&config, &["doctor"])
        .env("GNUPGHOME", keyring.home())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = key_line(&stdout);
    assert!(
        line.starts_with(&format!(
            "PASS encrypt key {}: present, able to encrypt, never expires",
            gpg::ADDRESS
        )),
        "{line}"
    );

    let config = site.config("", &gpg_section("nobody@example.invalid"));
    let out = site
        .cback(&config, &["doctor"])
        .env("GNUPGHOME", keyring.home())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(6));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = key_line(&stdout);
    assert!(
        line.starts_with("FAIL encrypt key nobody@example.invalid: no public key for it"),
        "{line}"
    );
}

#[test]
fn doctor_puts_reads_and_deletes_a_probe_in_the_bucket_or_names_the_missing_bucket() {
    let Some((site, moto, bucket)) = moto_site(
        "doctor_puts_reads_and_deletes_a_probe_in_the_bucket_or_names_the_missing_bucket",
    ) else {
        return;
    };
    let bucket_line = |stdout: &str| -> String {
        let lines: Vec<&str> = stdout
            .lines()
            .filter(|l| l.contains(" amazons3 bucket "))
            .collect();
        assert_eq!(lines.len(), 1, "{stdout}");
        lines[0].to_string()
    };
    let config = site.config("", &amazons3_section(&bucket, ""));
    let mut cmd = site.cback(&config, &["doctor"]);
    moto.env(&mut cmd);
    let out = cmd.output().unwrap();
    let line = bucket_line(&String::from_utf8_lossy(&out.stdout));
    assert!(
        line.starts_with(&format!(
            "PASS amazons3 bucket s3://{bucket}/staging/.cback-doctor-probe: reachable"
        )),
        "{line}"
    );
    // The probe is gone again.
    assert!(moto.objects(&bucket, "").is_empty());

    let config = site.config("", &amazons3_section("no-such-bucket-doctor", ""));
    let mut cmd = site.cback(&config, &["doctor"]);
    moto.env(&mut cmd);
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(6));
    let line = bucket_line(&String::from_utf8_lossy(&out.stdout));
    assert!(
        line.starts_with("FAIL amazons3 bucket s3://no-such-bucket-doctor/staging/"),
        "{line}"
    );
    assert!(line.contains("does not exist"), "{line}");
}
