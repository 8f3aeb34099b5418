//! `<postgresql><encrypt>`: dumps of a real database encrypted as they are written (age in
//! process, gpg through the real program and a throwaway keyring of the harness). The file on
//! disk is neither plaintext nor a compressed stream, the manifest describes the encrypted
//! file, `cback-restore restore` and `drill` decrypt it (`--identity` for age, the keyring for
//! gpg), and a `<verify_identity>` decrypts every dump back before its rename: a key that
//! does not open it fails the dump with nothing new under the final name, and an identity
//! file others can read is refused before any dump.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;

use age::secrecy::ExposeSecret;

use crate::restore_support::*;
use cback_tests::pg::{self, Cluster, PgRunDir};

fn write_identity(path: &Path, identity: &age::x25519::Identity) {
    fs::write(
        path,
        format!("# dump check\n{}\n", identity.to_string().expose_secret()),
    )
    .unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o600)).unwrap();
}

fn encrypt_section(mode: &str, recipient: &str, identity: Option<&Path>) -> String {
    let identity = identity.map_or(String::new(), |p| {
        format!(
            "<verify_identity>{}</verify_identity>",
            pg::xml_escape(&p.display().to_string())
        )
    });
    format!(
        "<encrypt><mode>{mode}</mode><recipient>{}</recipient>{identity}</encrypt>",
        pg::xml_escape(recipient)
    )
}

/// Asserts that `path` holds no plaintext of a dump and is not a gzip stream.
fn assert_not_plaintext(path: &Path) {
    let bytes = fs::read(path).unwrap();
    for text in [&b"COPY "[..], b"CREATE ", b"PostgreSQL database dump"] {
        assert!(
            !bytes.windows(text.len()).any(|w| w == text),
            "{} holds {:?}",
            path.display(),
            String::from_utf8_lossy(text)
        );
    }
    let mut out = Vec::new();
    let decoded =
        std::io::Read::read_to_end(&mut flate2::read::MultiGzDecoder::new(&bytes[..]), &mut out);
    assert!(decoded.is_err(), "{} decompresses", path.display());
}

/// Asserts that the manifest lists `name` with the size and SHA-256 of the file.
fn assert_listed(site: &PgRunDir, name: &str) {
    let manifest: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(site.collect.join(pg::MANIFEST)).unwrap())
            .unwrap();
    let entry = manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == name)
        .unwrap_or_else(|| panic!("{name} is not in the manifest: {manifest}"));
    let digest = cedar_core::hash_file(&site.collect.join(name)).unwrap();
    assert_eq!(entry["size"], serde_json::json!(digest.size), "{entry}");
    assert_eq!(entry["sha256"], serde_json::json!(digest.sha256), "{entry}");
    assert_eq!(entry["status"], "ok", "{entry}");
    assert_eq!(entry["verified"], true, "{entry}");
}

/// The dump files and temporary files in collect_dir.
fn dump_files(site: &PgRunDir) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(&site.collect)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("postgresqldump") && !n.ends_with(".manifest"))
        .collect();
    names.sort();
    names
}

/// Asserts that the drill `out` passed for shop and left no scratch database.
fn assert_drill_passed(cluster: &Cluster, out: &Output) {
    assert!(out.status.success(), "{}", text(out));
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with("PASS shop: "),
        "{}",
        text(out)
    );
    assert!(scratch_databases(cluster).is_empty());
}

fn cback(site: &PgRunDir, cluster: &Cluster, home: Option<&Path>) -> Output {
    let mut cmd = site.cback(Some(cluster), &["--full", "postgresql"]);
    if let Some(home) = home {
        cmd.env("GNUPGHOME", home);
    }
    cmd.output().unwrap()
}

#[test]
fn age_dumps_are_never_plaintext_and_restore_with_the_identity() {
    let Some(cluster) = pg::shared() else { return };
    let _serial = serial();
    let site = PgRunDir::new(crate::BIN);
    let identity = age::x25519::Identity::generate();
    let key = site.path("dump-check.key");
    write_identity(&key, &identity);
    let recipient = identity.to_public().to_string();
    configure(
        &site,
        &pg::section(
            "gzip",
            &["shop"],
            &encrypt_section("age", &recipient, Some(&key)),
        ),
        None,
    );
    let out = cback(&site, cluster, None);
    assert!(out.status.success(), "{}", text(&out));
    let name = "postgresqldump-shop.txt.gz.age";
    assert_eq!(dump_files(&site), [name]);
    assert_not_plaintext(&site.collect.join(name));
    assert!(fs::read(site.collect.join(name))
        .unwrap()
        .starts_with(b"age-encryption.org/v1\n"));
    assert_listed(&site, name);

    let list = run(&site, cluster, &["list"]);
    assert!(
        String::from_utf8_lossy(&list.stdout).contains("plain+gzip+age"),
        "{}",
        text(&list)
    );

    // Without the identity: a failure saying what to give; nothing created.
    drop_database(cluster, "r_age_dump");
    let out = run(&site, cluster, &["restore", "shop", "--into", "r_age_dump"]);
    assert_eq!(out.status.code(), Some(6), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--identity"),
        "{}",
        text(&out)
    );
    assert!(!exists(cluster, "r_age_dump"));

    let key_arg = key.to_str().unwrap();
    let out = run(
        &site,
        cluster,
        &[
            "--identity",
            key_arg,
            "restore",
            "shop",
            "--into",
            "r_age_dump",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert_same_content(cluster, "shop", "r_age_dump");
    drop_database(cluster, "r_age_dump");

    let out = run(&site, cluster, &["--identity", key_arg, "drill"]);
    assert_drill_passed(cluster, &out);
    let secret = identity.to_string().expose_secret().to_string();
    for log in [site.log(), site.path("restore.log")] {
        assert!(!fs::read_to_string(log).unwrap().contains(&secret));
    }
}

#[test]
fn a_verify_identity_that_cannot_decrypt_or_others_can_read_keeps_the_previous_dump() {
    let Some(cluster) = pg::shared() else { return };
    let _serial = serial();
    let site = PgRunDir::new(crate::BIN);
    let identity = age::x25519::Identity::generate();
    let recipient = identity.to_public().to_string();
    let good = site.path("good.key");
    write_identity(&good, &identity);
    let config = |key: &Path| {
        configure(
            &site,
            &pg::section(
                "zstd",
                &["shop"],
                &encrypt_section("age", &recipient, Some(key)),
            ),
            None,
        )
    };
    config(&good);
    let out = cback(&site, cluster, None);
    assert!(out.status.success(), "{}", text(&out));
    let name = "postgresqldump-shop.txt.zst.age";
    let path = site.collect.join(name);
    let before = fs::read(&path).unwrap();

    // A key that does not open the dump: the check decrypts before the rename and fails;
    // the previous file stays, no temporary file is left.
    let stranger: PathBuf = site.path("stranger.key");
    write_identity(&stranger, &age::x25519::Identity::generate());
    config(&stranger);
    let out = cback(&site, cluster, None);
    assert!(!out.status.success(), "{}", text(&out));
    let log = fs::read_to_string(site.log()).unwrap();
    assert!(
        log.contains("failed verification") && log.contains("no identity in"),
        "{log}"
    );
    assert_eq!(dump_files(&site), [name]);
    assert_eq!(fs::read(&path).unwrap(), before);

    // Readable by others: refused before any dump, naming the file and the chmod.
    fs::set_permissions(&good, fs::Permissions::from_mode(0o644)).unwrap();
    config(&good);
    let out = cback(&site, cluster, None);
    assert!(!out.status.success(), "{}", text(&out));
    let log = fs::read_to_string(site.log()).unwrap();
    assert!(
        log.contains(&format!("chmod 600 {}", good.display())),
        "{log}"
    );
    assert_eq!(dump_files(&site), [name]);
    assert_eq!(fs::read(&path).unwrap(), before);
}

#[test]
fn gpg_dumps_are_never_plaintext_and_restore_with_the_keyring() {
    let Some(cluster) = pg::shared() else { return };
    let Some(gpg) = cback_tests::gpg::available("gpg_dumps_are_never_plaintext") else {
        return;
    };
    let _serial = serial();
    let site = PgRunDir::new(crate::BIN);
    let keyring = cback_tests::gpg::Keyring::generate(&gpg);
    configure(
        &site,
        &pg::section(
            "bzip2",
            &["shop"],
            &encrypt_section("gpg", cback_tests::gpg::ADDRESS, None),
        ),
        None,
    );
    let out = cback(&site, cluster, Some(keyring.home()));
    assert!(out.status.success(), "{}", text(&out));
    let name = "postgresqldump-shop.txt.bz2.gpg";
    assert_eq!(dump_files(&site), [name]);
    let path = site.collect.join(name);
    assert_not_plaintext(&path);
    assert_listed(&site, name);
    // What gpg decrypts is the bzip2 stream.
    assert!(keyring.decrypt(&path).starts_with(b"BZh"));

    drop_database(cluster, "r_gpg_dump");
    let mut cmd = restore_cmd(&site, cluster, &["restore", "shop", "--into", "r_gpg_dump"]);
    cmd.env("GNUPGHOME", keyring.home());
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert_same_content(cluster, "shop", "r_gpg_dump");
    drop_database(cluster, "r_gpg_dump");

    let mut cmd = restore_cmd(&site, cluster, &["drill"]);
    cmd.env("GNUPGHOME", keyring.home());
    let out = cmd.output().unwrap();
    assert_drill_passed(cluster, &out);

    // A recipient without a key in the keyring: the dump fails, the previous file stays.
    let before = fs::read(&path).unwrap();
    configure(
        &site,
        &pg::section(
            "bzip2",
            &["shop"],
            &encrypt_section("gpg", "nobody@example.invalid", None),
        ),
        None,
    );
    let out = cback(&site, cluster, Some(keyring.home()));
    assert!(!out.status.success(), "{}", text(&out));
    let log = fs::read_to_string(site.log()).unwrap();
    assert!(log.contains("gpg --encrypt failed"), "{log}");
    assert_eq!(dump_files(&site), [name]);
    assert_eq!(fs::read(&path).unwrap(), before);
}
