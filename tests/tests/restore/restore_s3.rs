//! `cback-restore` and the copies the amazons3 action put in S3 (a real moto server and the
//! PostgreSQL harness): a day uploaded with `cback --full amazons3`, its local copies removed,
//! is listed from the bucket (`--database` too), restored and drilled from it; local copies
//! are preferred while they exist; a damaged object (SHA-256 mismatch) is passed over for an
//! older good day, and so is a day whose upload marker says its upload never completed;
//! objects encrypted for age recipients need `--identity FILE` (and say so
//! without it); objects encrypted by a gpg `<encrypt>` command are decrypted with the
//! keyring of GNUPGHOME (and say which key is missing without it).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use crate::restore_support::*;
use cback_tests::pg::{self, Cluster, PgRunDir};
use cback_tests::s3::{self, Moto};

/// The binary's cluster and moto server, and a fresh bucket of the test's own on the server,
/// or `None` when the test cannot run here.
fn setup(test: &str) -> Option<(&'static Cluster, &'static Moto, String)> {
    let cluster = pg::shared()?;
    s3::available(test)?;
    if !nix::unistd::Uid::effective().is_root() {
        eprintln!("SKIPPED: {test}: amazons3 runs only as root, as the original");
        return None;
    }
    let moto = s3::shared(test)?;
    let bucket = moto.new_bucket(test);
    Some((cluster, moto, bucket))
}

/// The site's configuration: `databases` dumped with gzip, a stage section (a local peer
/// `dbhost`), the amazons3 action and its section with `extra` elements.
fn configure_s3(site: &PgRunDir, bucket: &str, databases: &[&str], extra: &str) -> PathBuf {
    let staging = site.path("staging");
    configure(
        site,
        &pg::section("gzip", databases, ""),
        Some(staging.as_path()),
    );
    let path = site.path("cback.conf");
    let text = fs::read_to_string(&path)
        .unwrap()
        .replace(
            "</extensions>",
            "<action><name>amazons3</name><module>CedarBackup3.extend.amazons3</module>\
             <function>executeAction</function><index>201</index></action>\n  </extensions>",
        )
        .replace(
            "</cb_config>",
            &format!(
                "<amazons3><s3_bucket>{bucket}/staging</s3_bucket>{extra}</amazons3>\n</cb_config>"
            ),
        );
    fs::write(&path, text).unwrap();
    staging
}

/// Dumps, stages the dumps as the day `day` (`YYYY/MM/DD`) of peer `dbhost`, and uploads
/// that day with `cback --full amazons3` (the day pinned with CEDAR_TODAY).
fn upload_day(site: &PgRunDir, cluster: &Cluster, moto: &Moto, day: &str, env: &[(&str, &Path)]) {
    dump(site, cluster);
    let dir = site.path("staging").join(day);
    let peer = dir.join("dbhost");
    fs::create_dir_all(&peer).unwrap();
    for entry in fs::read_dir(&site.collect).unwrap().flatten() {
        fs::copy(entry.path(), peer.join(entry.file_name())).unwrap();
    }
    fs::write(dir.join("cback.stage"), b"").unwrap();
    let mut cmd = site.cback(None, &["--full", "amazons3"]);
    cmd.env("CEDAR_TODAY", day.replace('/', "-"));
    moto.env(&mut cmd);
    for (name, value) in env {
        cmd.env(name, value);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "cback amazons3: {}\n{}",
        text(&out),
        site.log_text()
    );
}

/// Removes every local copy: the collect directory's files and the staging tree.
fn remove_local(site: &PgRunDir) {
    for entry in fs::read_dir(&site.collect).unwrap().flatten() {
        fs::remove_file(entry.path()).unwrap();
    }
    fs::remove_dir_all(site.path("staging")).unwrap();
}

/// `shop` dumped and uploaded as the day 2026/11/29, then again a moment later as 2026/11/30,
/// the local copies removed: the locations of the older and the newer S3 copy of its dump.
fn two_days_in_s3(
    site: &PgRunDir,
    cluster: &Cluster,
    moto: &Moto,
    bucket: &str,
) -> (String, String) {
    configure_s3(site, bucket, &["shop"], "");
    upload_day(site, cluster, moto, "2026/11/29", &[]);
    // A second dump a moment later: the newer day.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    upload_day(site, cluster, moto, "2026/11/30", &[]);
    remove_local(site);
    let copy = |day| location(bucket, day, "postgresqldump-shop.txt.gz");
    (copy("2026/11/29"), copy("2026/11/30"))
}

/// Deletes the object at `location` (an `s3://BUCKET/...` address) of `bucket`.
fn delete(moto: &Moto, bucket: &str, location: &str) {
    let key = key_of(location);
    moto.python(&format!("s3.delete_object(Bucket={bucket:?}, Key={key:?})"));
}

/// `cback-restore ARGS` reaching the moto server, with `env` added.
fn restore_s3(
    site: &PgRunDir,
    cluster: &Cluster,
    moto: &Moto,
    args: &[&str],
    env: &[(&str, &Path)],
) -> Output {
    let mut cmd = assert_cmd::Command::from_std(restore_cmd(site, cluster, args));
    cmd.timeout(std::time::Duration::from_secs(300));
    moto.env(&mut cmd);
    for (name, value) in env {
        cmd.env(name, value);
    }
    cmd.output().unwrap()
}

fn location(bucket: &str, day: &str, name: &str) -> String {
    format!("s3://{bucket}/staging/{day}/dbhost/{name}")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn restore_log(site: &PgRunDir) -> String {
    fs::read_to_string(site.path("restore.log")).unwrap_or_default()
}

/// The object key of `location` (an `s3://BUCKET/...` address).
fn key_of(location: &str) -> &str {
    let (_bucket, key) = location
        .strip_prefix("s3://")
        .and_then(|rest| rest.split_once('/'))
        .unwrap_or_else(|| panic!("not an s3://BUCKET/KEY address: {location}"));
    key
}

/// `cback-restore restore shop --into INTO EXTRA` reaching the moto server, with `env` added.
fn restore_shop(
    site: &PgRunDir,
    cluster: &Cluster,
    moto: &Moto,
    into: &str,
    extra: &[&str],
    env: &[(&str, &Path)],
) -> Output {
    let mut args = vec!["restore", "shop", "--into", into];
    args.extend_from_slice(extra);
    restore_s3(site, cluster, moto, &args, env)
}

/// Asserts that `out` succeeded (the restore log in the message when not).
fn assert_succeeded(site: &PgRunDir, out: &Output) {
    assert!(out.status.success(), "{}\n{}", text(out), restore_log(site));
}

/// Asserts that the restore `out` succeeded, read `from`, and that `into` holds what `shop`
/// holds; then drops `into`.
fn assert_restored_from(site: &PgRunDir, cluster: &Cluster, out: &Output, from: &str, into: &str) {
    assert_succeeded(site, out);
    assert!(stdout(out).contains(from), "{}", text(out));
    assert_same_content(cluster, "shop", into);
    drop_database(cluster, into);
}

/// Asserts that `out` failed with exit status 6 and returns its stderr.
fn refused(out: &Output) -> String {
    assert_eq!(out.status.code(), Some(6), "{}", text(out));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The line of the listing `out` that names `location`.
fn listed_line(out: &Output, location: &str) -> String {
    stdout(out)
        .lines()
        .find(|l| l.contains(location))
        .map(str::to_string)
        .unwrap_or_else(|| panic!("{location} is not listed:\n{}", text(out)))
}

#[test]
fn s3_copies_are_listed_restored_and_drilled_once_the_local_ones_are_gone() {
    let Some((cluster, moto, bucket)) = setup("s3_copies_are_listed_restored_and_drilled") else {
        return;
    };
    let _serial = serial();
    let site = PgRunDir::new(crate::BIN);
    configure_s3(&site, &bucket, &["shop", "inventory"], "");
    upload_day(&site, cluster, moto, "2026/11/30", &[]);
    let shop = location(&bucket, "2026/11/30", "postgresqldump-shop.txt.gz");
    assert!(moto.objects(&bucket, "").contains_key(key_of(&shop)));

    // While local copies exist they are preferred: the same dump, faster to read.
    drop_database(cluster, "r_s3_shop");
    let out = restore_shop(&site, cluster, moto, "r_s3_shop", &[], &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(!stdout(&out).contains("s3://"), "{}", text(&out));
    drop_database(cluster, "r_s3_shop");

    remove_local(&site);
    let out = restore_s3(&site, cluster, moto, &["list"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let listing = stdout(&out);
    let line = listed_line(&out, &shop);
    assert!(
        line.contains(" shop ")
            && line.contains("plain+gzip")
            && line.contains(" ok ")
            && line.contains("s3 2026/11/30/dbhost"),
        "{line}"
    );
    let size = moto.objects(&bucket, "")[key_of(&shop)].to_string();
    assert!(line.contains(&format!(" {size} ")), "{line} (size {size})");
    assert!(
        listing.contains(&location(
            &bucket,
            "2026/11/30",
            "postgresqldump-inventory.txt.gz"
        )),
        "{listing}"
    );
    assert!(!listing.contains("postgresqldump.manifest"), "{listing}");

    let out = restore_s3(&site, cluster, moto, &["list", "--database", "shop"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let filtered = stdout(&out);
    assert_eq!(filtered.lines().count(), 2, "{filtered}");
    assert!(
        filtered.contains(&shop) && !filtered.contains("inventory"),
        "{filtered}"
    );

    let out = restore_shop(&site, cluster, moto, "r_s3_shop", &[], &[]);
    assert_restored_from(&site, cluster, &out, &shop, "r_s3_shop");

    let out = restore_s3(&site, cluster, moto, &["drill"], &[]);
    assert_succeeded(&site, &out);
    let report = stdout(&out);
    assert!(
        report.contains(&format!("PASS shop: {shop} restored")),
        "{report}"
    );
    assert!(report.contains("PASS inventory: s3://"), "{report}");
    let status: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(site.path("work/cback-status.json")).unwrap())
            .unwrap();
    let drills = status["drills"].as_array().unwrap();
    assert_eq!(drills.len(), 2, "{status}");
    assert_eq!(drills[0]["file"], serde_json::json!(shop));
    assert_eq!(drills[0]["success"], true);
    // The monitoring check reports the drill and the newest copy in S3, from the status.
    let copy = status["newest_copy"]["destination"]
        .as_str()
        .unwrap_or_else(|| panic!("no newest_copy: {status}"))
        .to_string();
    assert!(
        copy.starts_with(&format!("s3://{bucket}/")) && copy.ends_with("2026/11/30"),
        "{copy}"
    );
    let (_, report) = site.status_check();
    assert!(
        report.contains("\nlast restore drill: 0 min ago, 2 database(s), all passed\n"),
        "{report}"
    );
    assert!(
        report.contains(&format!(
            "\nnewest copy in object storage: 0 min ago, {copy}\n"
        )),
        "{report}"
    );
    assert!(scratch_databases(cluster).is_empty());
}

#[test]
fn a_damaged_s3_object_is_passed_over_for_an_older_good_day() {
    let Some((cluster, moto, bucket)) = setup("a_damaged_s3_object_is_passed_over") else {
        return;
    };
    let _serial = serial();
    let site = PgRunDir::new(crate::BIN);
    let (older, newer) = two_days_in_s3(&site, cluster, moto, &bucket);

    // The newer object keeps its size, but one byte changed: only its SHA-256 shows it.
    let key = key_of(&newer);
    let mut bytes = moto.get(&bucket, key);
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x55;
    moto.put(&bucket, key, &bytes);

    let out = restore_s3(&site, cluster, moto, &["list", "--database", "shop"], &[]);
    let listing = stdout(&out);
    let lines: Vec<&str> = listing.lines().collect();
    assert_eq!(lines.len(), 3, "{}", text(&out));
    assert!(lines[1].contains(&newer), "newest first: {listing}");

    drop_database(cluster, "r_s3_older");
    let out = restore_shop(&site, cluster, moto, "r_s3_older", &[], &[]);
    assert_restored_from(&site, cluster, &out, &older, "r_s3_older");
    let log = restore_log(&site);
    assert!(
        log.contains(&format!("Not restoring {newer}")) && log.contains("SHA-256"),
        "{log}"
    );

    // With the good day gone, the damaged one alone is refused, and nothing is restored.
    delete(moto, &bucket, &older);
    let stderr = refused(&restore_shop(&site, cluster, moto, "r_s3_older", &[], &[]));
    assert!(
        stderr.contains(&newer) && stderr.contains("SHA-256") && stderr.contains("damaged"),
        "{stderr}"
    );
    assert!(!exists(cluster, "r_s3_older"));
    assert!(scratch_databases(cluster).is_empty());
}

#[test]
fn a_day_whose_upload_only_started_is_marked_and_passed_over() {
    let Some((cluster, moto, bucket)) = setup("a_day_whose_upload_only_started") else {
        return;
    };
    let _serial = serial();
    let site = PgRunDir::new(crate::BIN);
    let (older, newer) = two_days_in_s3(&site, cluster, moto, &bucket);
    // The newer day's marker as an upload cut short leaves it.
    let marker = format!("staging/2026/11/30/{}", cedar_core::UPLOAD_MARKER_FILE);
    let written = String::from_utf8(moto.get(&bucket, &marker)).unwrap();
    assert!(written.contains("\"complete\""), "{written}");
    moto.put(
        &bucket,
        &marker,
        &cedar_core::UploadMarker::started(["dbhost"]).to_json(),
    );

    let out = restore_s3(&site, cluster, moto, &["list", "--database", "shop"], &[]);
    assert_succeeded(&site, &out);
    assert!(
        listed_line(&out, &newer).contains("s3 2026/11/30/dbhost (upload incomplete)"),
        "{}",
        text(&out)
    );
    let line = listed_line(&out, &older);
    assert!(
        line.contains("s3 2026/11/29/dbhost") && !line.contains("incomplete"),
        "{line}"
    );

    // The complete day, though the newer objects match their manifest.
    drop_database(cluster, "r_s3_started");
    let out = restore_shop(&site, cluster, moto, "r_s3_started", &[], &[]);
    assert_restored_from(&site, cluster, &out, &older, "r_s3_started");
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("warning"),
        "{}",
        text(&out)
    );

    // The complete day gone: the started one's copy, with a warning naming it and its state.
    delete(moto, &bucket, &older);
    let out = restore_shop(&site, cluster, moto, "r_s3_started", &[], &[]);
    assert_restored_from(&site, cluster, &out, &newer, "r_s3_started");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&newer) && stderr.contains("upload incomplete"),
        "{stderr}"
    );

    // A marker cback did not write: the day's state is unknown, its copies unmarked, and the
    // listing says once which object and what to do.
    moto.put(&bucket, &marker, b"{\"state\": \"half\"}");
    let out = restore_s3(&site, cluster, moto, &["list", "--database", "shop"], &[]);
    assert_succeeded(&site, &out);
    assert!(!listed_line(&out, &newer).contains(" ("), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr.matches(&format!("s3://{bucket}/{marker}")).count(),
        1,
        "{stderr}"
    );
    assert!(stderr.contains("upload the day again"), "{stderr}");
    assert!(scratch_databases(cluster).is_empty());
}

#[test]
fn age_encrypted_s3_copies_need_the_identity() {
    let Some((cluster, moto, bucket)) = setup("age_encrypted_s3_copies_need_the_identity") else {
        return;
    };
    let _serial = serial();
    let site = PgRunDir::new(crate::BIN);
    let identity = age::x25519::Identity::generate();
    configure_s3(
        &site,
        &bucket,
        &["shop"],
        &format!(
            "<encrypt_mode>age</encrypt_mode><recipient>{}</recipient>",
            identity.to_public()
        ),
    );
    upload_day(&site, cluster, moto, "2026/11/30", &[]);
    remove_local(&site);
    let shop = location(&bucket, "2026/11/30", "postgresqldump-shop.txt.gz");
    let key = key_of(&shop);
    assert!(moto.get(&bucket, key).starts_with(b"age-encryption.org/v1"));

    // Without an identity: listed, but no manifest can be read; restore says what to give.
    let out = restore_s3(&site, cluster, moto, &["list"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let line = listed_line(&out, &shop);
    assert!(
        line.contains("plain+gzip+age") && line.contains("no-key"),
        "{line}"
    );
    drop_database(cluster, "r_age_shop");
    let stderr = refused(&restore_shop(&site, cluster, moto, "r_age_shop", &[], &[]));
    assert!(
        stderr.contains("--identity FILE") && stderr.contains(&shop),
        "{stderr}"
    );
    assert!(!exists(cluster, "r_age_shop"));

    // A wrong identity: named, and nothing restored.
    let wrong = site.path("wrong.key");
    write_identity(&wrong, &age::x25519::Identity::generate());
    let stderr = refused(&restore_shop(
        &site,
        cluster,
        moto,
        "r_age_shop",
        &["--identity", wrong.to_str().unwrap()],
        &[],
    ));
    assert!(
        stderr.contains("no identity in") && stderr.contains(&wrong.display().to_string()),
        "{stderr}"
    );

    // With the identity: restored while it streams.
    let key_file = site.path("identity.key");
    write_identity(&key_file, &identity);
    let out = restore_shop(
        &site,
        cluster,
        moto,
        "r_age_shop",
        &["--identity", key_file.to_str().unwrap()],
        &[],
    );
    assert_restored_from(&site, cluster, &out, &shop, "r_age_shop");
    // The secret never reaches the log.
    let secret = {
        use age::secrecy::ExposeSecret;
        identity.to_string().expose_secret().to_string()
    };
    assert!(!restore_log(&site).contains(&secret));
    assert!(scratch_databases(cluster).is_empty());
}

fn write_identity(path: &Path, identity: &age::x25519::Identity) {
    use age::secrecy::ExposeSecret;
    fs::write(
        path,
        format!(
            "# test identity\n{}\n",
            identity.to_string().expose_secret()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(0o600)).unwrap();
}

#[test]
fn gpg_encrypted_s3_copies_are_decrypted_with_the_keyring() {
    let Some(gpg) = cback_tests::gpg::available("gpg_encrypted_s3_copies") else {
        return;
    };
    let Some((cluster, moto, bucket)) =
        setup("gpg_encrypted_s3_copies_are_decrypted_with_the_keyring")
    else {
        return;
    };
    let _serial = serial();
    let keyring = cback_tests::gpg::Keyring::generate(&gpg);
    let site = PgRunDir::new(crate::BIN);
    configure_s3(
        &site,
        &bucket,
        &["shop"],
        &format!(
            "<encrypt>{} --batch --yes -e -r '{}' -o '${{output}}' '${{input}}'</encrypt>",
            gpg.display(),
            cback_tests::gpg::ADDRESS
        ),
    );
    // The encrypt command runs as the backup user: the owner of the keyring.
    let (user, group) = pg::backup_owner();
    let path = site.path("cback.conf");
    let config = fs::read_to_string(&path)
        .unwrap()
        .replace(
            &format!("<backup_user>{user}</backup_user>"),
            "<backup_user>root</backup_user>",
        )
        .replace(
            &format!("<backup_group>{group}</backup_group>"),
            "<backup_group>root</backup_group>",
        );
    fs::write(&path, config).unwrap();
    upload_day(
        &site,
        cluster,
        moto,
        "2026/11/30",
        &[("GNUPGHOME", keyring.home())],
    );
    remove_local(&site);
    let shop = location(&bucket, "2026/11/30", "postgresqldump-shop.txt.gz");
    let key = key_of(&shop);
    // Stored encrypted: not a gzip file.
    assert!(!moto.get(&bucket, key).starts_with(&[0x1f, 0x8b]));

    let home = [("GNUPGHOME", keyring.home())];
    let out = restore_s3(&site, cluster, moto, &["list"], &home);
    let line = listed_line(&out, &shop);
    assert!(
        line.contains("plain+gzip+gpg") && line.contains(" ok "),
        "{line}"
    );

    drop_database(cluster, "r_s3gpg_shop");
    let out = restore_shop(&site, cluster, moto, "r_s3gpg_shop", &[], &home);
    assert_restored_from(&site, cluster, &out, &shop, "r_s3gpg_shop");

    // A keyring without the secret key: a clear failure, nothing restored.
    let empty = tempfile::Builder::new()
        .prefix("cback-gpg-empty-")
        .tempdir()
        .unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(empty.path(), fs::Permissions::from_mode(0o700)).unwrap();
    }
    let out = restore_shop(
        &site,
        cluster,
        moto,
        "r_s3gpg_shop",
        &[],
        &[("GNUPGHOME", empty.path())],
    );
    let _ = std::process::Command::new("gpgconf")
        .env("GNUPGHOME", empty.path())
        .args(["--kill", "gpg-agent"])
        .status();
    let stderr = refused(&out);
    assert!(
        stderr.contains("cannot decrypt") && stderr.contains("secret key"),
        "{stderr}"
    );
    assert!(!exists(cluster, "r_s3gpg_shop"));
    assert!(scratch_databases(cluster).is_empty());
}
