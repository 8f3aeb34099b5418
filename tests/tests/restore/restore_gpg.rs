//! `cback-restore restore` of an encrypted copy (`.gpg`, as the off-site action writes them):
//! decrypted with the real gpg and a key of a throwaway keyring, decompressed and restored
//! while streaming.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use crate::restore_support::*;
use cback_tests::pg::{self, PgRunDir};

fn gpg(home: &std::path::Path, args: &[&str]) {
    let out = Command::new("gpg")
        .env("GNUPGHOME", home)
        .args(["--batch", "--quiet"])
        .args(args)
        .output()
        .expect("run gpg");
    assert!(
        out.status.success(),
        "gpg {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn an_encrypted_copy_is_decrypted_while_it_streams() {
    let Some(cluster) = pg::shared() else { return };
    if Command::new("gpg").arg("--version").output().is_err() {
        eprintln!("gpg is not installed: skipped");
        return;
    }
    let _serial = serial();
    let site = PgRunDir::new(crate::BIN);
    let home = site.path("gnupg");
    fs::create_dir(&home).unwrap();
    fs::set_permissions(&home, fs::Permissions::from_mode(0o700)).unwrap();
    gpg(
        &home,
        &[
            "--passphrase",
            "",
            "--quick-gen-key",
            "cback test <restore@example.invalid>",
            "default",
            "default",
            "never",
        ],
    );

    configure(&site, &pg::section("gzip", &["shop"], ""), None);
    dump(&site, cluster);
    let plain = site.collect.join("postgresqldump-shop.txt.gz");
    let encrypted = site.collect.join("postgresqldump-shop.txt.gz.gpg");
    gpg(
        &home,
        &[
            "--trust-model",
            "always",
            "--recipient",
            "restore@example.invalid",
            "--output",
            encrypted.to_str().unwrap(),
            "--encrypt",
            plain.to_str().unwrap(),
        ],
    );
    fs::remove_file(&plain).unwrap();

    let list = run(&site, cluster, &["list"]);
    assert!(
        String::from_utf8_lossy(&list.stdout).contains("plain+gzip+gpg"),
        "{}",
        text(&list)
    );

    drop_database(cluster, "r_gpg_shop");
    let mut cmd = restore_cmd(&site, cluster, &["restore", "shop", "--into", "r_gpg_shop"]);
    cmd.env("GNUPGHOME", &home);
    let out = cmd.output().unwrap();
    let _ = Command::new("gpgconf")
        .env("GNUPGHOME", &home)
        .args(["--kill", "gpg-agent"])
        .status();
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(".gz.gpg"),
        "{}",
        text(&out)
    );
    assert_same_content(cluster, "shop", "r_gpg_shop");
    drop_database(cluster, "r_gpg_shop");

    // Without the key: a failure naming the file and what to check.
    let other = site.path("empty-gnupg");
    fs::create_dir(&other).unwrap();
    fs::set_permissions(&other, fs::Permissions::from_mode(0o700)).unwrap();
    let mut cmd = restore_cmd(&site, cluster, &["restore", "shop", "--into", "r_gpg_shop"]);
    cmd.env("GNUPGHOME", &other);
    let out = cmd.output().unwrap();
    let _ = Command::new("gpgconf")
        .env("GNUPGHOME", &other)
        .args(["--kill", "gpg-agent"])
        .status();
    assert_eq!(out.status.code(), Some(6), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&encrypted.display().to_string()) && stderr.contains("secret key"),
        "{stderr}"
    );
    assert!(!exists(cluster, "r_gpg_shop"));
    assert!(scratch_databases(cluster).is_empty());
}
