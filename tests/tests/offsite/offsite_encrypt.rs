//! The encrypt action end to end: gpg with a throwaway keyring (names, removal of the plain
//! files, indicators, modes, round trip), the recipient check, a gpg failure in the middle of
//! a directory, age recipients, and a staged name collision.

use std::fs;
use std::os::unix::fs::PermissionsExt;

use crate::offsite_support::*;
use cback_tests::gpg::{self, Keyring};

fn gpg_section(target: &str) -> String {
    format!("<encrypt><encrypt_mode>gpg</encrypt_mode><encrypt_target>{target}</encrypt_target></encrypt>")
}

#[test]
fn gpg_encrypts_every_backup_file_of_every_daily_directory() {
    let Some(program) = gpg::available("gpg_encrypts_every_backup_file_of_every_daily_directory")
    else {
        return;
    };
    let keyring = Keyring::generate(&program);
    let site = OffsiteMaster::new();
    let data = noise(5000, 2);
    let day = site.stage_day(
        TODAY_DIR,
        &[
            ("host1/a.tar.gz", &data),
            ("host1/empty", b""),
            ("host1/old.gpg", b"already"),
            ("host1/cback.collect", b""),
            ("host1/cback.dir/inner", b"kept"),
        ],
        true,
    );
    fs::set_permissions(
        day.join("host1/a.tar.gz"),
        fs::Permissions::from_mode(0o640),
    )
    .unwrap();
    std::os::unix::fs::symlink(day.join("host1/a.tar.gz"), day.join("host1/link")).unwrap();
    // Any directory three levels down is a daily directory; a done one is skipped.
    let other = site.stage_day("misc/notes/keep", &[("f", b"ff")], false);
    let done = site.stage_day(YESTERDAY_DIR, &[("g", b"gg")], false);
    fs::write(done.join("cback.encrypt"), b"").unwrap();

    let config = site.config("", &gpg_section(gpg::ADDRESS));
    site.cback(&config, &["encrypt"])
        .env("GNUPGHOME", keyring.home())
        .assert()
        .success();

    let files = tree(&day);
    let names: Vec<&String> = files.keys().collect();
    assert_eq!(
        names,
        vec![
            "cback.encrypt",
            "cback.stage",
            "host1/a.tar.gz.gpg",
            "host1/cback.collect",
            "host1/cback.dir/inner",
            "host1/empty.gpg",
            "host1/old.gpg.gpg",
        ]
    );
    assert_eq!(keyring.decrypt(&day.join("host1/a.tar.gz.gpg")), data);
    assert_eq!(keyring.decrypt(&day.join("host1/empty.gpg")), b"");
    assert!(!files["host1/empty.gpg"].is_empty());
    assert_eq!(keyring.decrypt(&day.join("host1/old.gpg.gpg")), b"already");
    // gpg's binary format, not ASCII armor.
    assert!(!files["host1/a.tar.gz.gpg"].starts_with(b"-----BEGIN"));
    // 0666 less the umask, whatever the source's mode.
    assert_eq!(
        mode(&day.join("host1/a.tar.gz.gpg")),
        cedar_core::new_file_mode()
    );
    // The link is left as it is (dangling now).
    assert!(fs::symlink_metadata(day.join("host1/link"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(other.join("f.gpg").is_file() && other.join("cback.encrypt").is_file());
    assert!(done.join("g").is_file() && !done.join("g.gpg").exists());
    let log = site.log();
    assert!(log.contains("Executed the encrypt extended action successfully."));
}

#[test]
fn an_unknown_recipient_changes_nothing() {
    let Some(program) = gpg::available("an_unknown_recipient_changes_nothing") else {
        return;
    };
    let keyring = Keyring::generate(&program);
    let site = OffsiteMaster::new();
    let day = site.stage_day(TODAY_DIR, &[("h/a", b"a")], true);
    let before = tree(&day);
    let config = site.config("", &gpg_section("nobody@example.invalid"));
    let out = site
        .cback(&config, &["encrypt"])
        .env("GNUPGHOME", keyring.home())
        .assert()
        .code(6)
        .get_output()
        .stderr
        .clone();
    let err = String::from_utf8_lossy(&out);
    assert!(
        err.contains("GPG unable to find public key for [nobody@example.invalid]."),
        "{err}"
    );
    assert_eq!(tree(&day), before);
}

#[test]
fn a_gpg_failure_leaves_the_directory_as_it_was_and_a_rerun_encrypts_once() {
    let Some(program) = gpg::available("a_gpg_failure_leaves_the_directory_as_it_was") else {
        return;
    };
    let keyring = Keyring::generate(&program);
    let site = OffsiteMaster::new();
    let day = site.stage_day(
        TODAY_DIR,
        &[("h/a", b"a"), ("h/b", b"b"), ("h/c", b"c")],
        true,
    );
    let before = tree(&day);
    // A gpg that fails for one file (a fault injected through <override>).
    let wrapper = site.root.join("gpg-failing-on-b");
    cback_tests::write_executable(
        &wrapper,
        &format!(
            "#!/bin/sh\nfor a; do last=$a; done\ncase \"$last\" in */h/b) echo 'gpg: simulated failure' >&2; exit 2;; esac\nexec {} \"$@\"\n",
            program.display()
        ),
    );
    let failing = site.config(
        &format!(
            "<override><command>gpg</command><abs_path>{}</abs_path></override>",
            wrapper.display()
        ),
        &gpg_section(gpg::ADDRESS),
    );
    let out = site
        .cback(&failing, &["encrypt"])
        .env("GNUPGHOME", keyring.home())
        .assert()
        .code(6)
        .get_output()
        .stderr
        .clone();
    let err = String::from_utf8_lossy(&out);
    assert!(
        err.contains(&format!(
            "Error [2] calling gpg to encrypt [{}].",
            day.join("h/b").display()
        )),
        "{err}"
    );
    assert!(err.contains("simulated failure"), "{err}");
    // Nothing half done: the plain files, no output, no indicator, no journal.
    assert_eq!(tree(&day), before);

    let config = site.config("", &gpg_section(gpg::ADDRESS));
    site.cback(&config, &["encrypt"])
        .env("GNUPGHOME", keyring.home())
        .assert()
        .success();
    let names: Vec<String> = tree(&day).into_keys().collect();
    assert_eq!(
        names,
        vec![
            "cback.encrypt",
            "cback.stage",
            "h/a.gpg",
            "h/b.gpg",
            "h/c.gpg"
        ]
    );
}

#[test]
fn age_recipients_encrypt_without_a_secret_key_on_the_host() {
    let site = OffsiteMaster::new();
    let one = age::x25519::Identity::generate();
    let two = age::x25519::Identity::generate();
    let data = noise(300_000, 4);
    let day = site.stage_day(TODAY_DIR, &[("h/a", &data), ("h/cback.collect", b"")], true);
    let config = site.config(
        "",
        &format!(
            "<encrypt><encrypt_mode>age</encrypt_mode><recipient>{}</recipient><recipient>{}</recipient></encrypt>",
            one.to_public(),
            two.to_public()
        ),
    );
    site.cback(&config, &["encrypt"]).assert().success();
    let files = tree(&day);
    assert_eq!(
        files.keys().collect::<Vec<_>>(),
        vec!["cback.encrypt", "cback.stage", "h/a.age", "h/cback.collect"]
    );
    assert_eq!(age_decrypt(&one, &files["h/a.age"]), data);
    assert_eq!(age_decrypt(&two, &files["h/a.age"]), data);
    assert_eq!(mode(&day.join("h/a.age")), cedar_core::new_file_mode());
}

#[test]
fn a_staged_name_collision_is_refused() {
    let site = OffsiteMaster::new();
    let key = age::x25519::Identity::generate().to_public().to_string();
    let day = site.stage_day(TODAY_DIR, &[("h/a", b"a"), ("h/a.age", b"staged")], true);
    let before = tree(&day);
    let config = site.config(
        "",
        &format!("<encrypt><encrypt_mode>age</encrypt_mode><recipient>{key}</recipient></encrypt>"),
    );
    let out = site
        .cback(&config, &["encrypt"])
        .assert()
        .code(6)
        .get_output()
        .stderr
        .clone();
    let err = String::from_utf8_lossy(&out);
    assert!(err.contains("would overwrite"), "{err}");
    assert_eq!(tree(&day), before);
}

#[test]
fn a_secret_key_as_recipient_is_refused_without_echoing_it() {
    let site = OffsiteMaster::new();
    site.stage_day(TODAY_DIR, &[("h/a", b"a")], true);
    let secret = "AGE-SECRET-KEY-1QYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSNOTREAL";
    let config = site.config(
        "",
        &format!(
            "<encrypt><encrypt_mode>age</encrypt_mode><recipient>{secret}</recipient></encrypt>"
        ),
    );
    let out = site
        .cback(&config, &["encrypt"])
        .assert()
        .code(6)
        .get_output()
        .stderr
        .clone();
    let err = String::from_utf8_lossy(&out);
    assert!(err.contains("secret key"), "{err}");
    assert!(!err.contains("NOTREAL") && !site.log().contains("NOTREAL"));
}

#[test]
fn an_unknown_backup_user_fails_before_anything_changes() {
    if !is_root() {
        skipped(
            "an_unknown_backup_user_fails",
            "ownership is applied only as root",
        );
        return;
    }
    let site = OffsiteMaster::new();
    let key = age::x25519::Identity::generate().to_public().to_string();
    let day = site.stage_day(TODAY_DIR, &[("h/a", b"a")], true);
    let before = tree(&day);
    let config = site.config_as(
        "no-such-backup-user",
        "root",
        "",
        &format!("<encrypt><encrypt_mode>age</encrypt_mode><recipient>{key}</recipient></encrypt>"),
    );
    let out = site
        .cback(&config, &["encrypt"])
        .assert()
        .code(6)
        .get_output()
        .stderr
        .clone();
    let err = String::from_utf8_lossy(&out);
    assert!(err.contains("no-such-backup-user"), "{err}");
    assert_eq!(tree(&day), before);
}
