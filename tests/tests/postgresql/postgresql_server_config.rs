//! End-to-end, against a real server: `<config_files>Y` keeps the server's configuration
//! (pg_hba.conf, pg_ident.conf, postgresql.conf, postgresql.auto.conf and the settings not at
//! their default) beside the dumps, verified and in the manifest; a role without the grants
//! gets a warning naming them, not a failed night, and the grants it names are enough.

use std::os::unix::fs::MetadataExt;
use std::process::{Command, Output};

use crate::postgresql_trust::{entry, manifest, run, stderr};
use cback_tests::pg::{self, Cluster, PgRunDir};

const CONFIG_FILE: &str = "postgresqldump-config.txt.zst";

/// Runs the action for `user` with `<config_files>Y` on `database`; returns the site, the
/// output and the configuration file's text.
fn dump_config(cluster: &Cluster, user: &str, database: &str) -> (PgRunDir, Output, String) {
    let site = PgRunDir::new(crate::BIN);
    site.config(
        &pg::section(
            "zstd",
            &[database],
            &format!("<user>{user}</user><config_files>Y</config_files>"),
        ),
        &[],
    );
    let output = run(site.command(Some(cluster), &["postgresql"]));
    let text = String::from_utf8(pg::read_dump(&site.collect.join(CONFIG_FILE))).unwrap();
    (site, output, text)
}

#[test]
fn a_superuser_keeps_every_file_and_the_settings_verified_and_listed() {
    let Some(cluster) = pg::shared() else { return };
    cluster.create_small_database("cfg_super", 5);
    cluster.psql("postgres", "ALTER SYSTEM SET work_mem = '5MB';");
    let (site, output, text) = dump_config(cluster, pg::SUPERUSER, "cfg_super");
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        site.entries(),
        vec!["postgresqldump-cfg_super.txt.zst", CONFIG_FILE]
    );
    let data = cluster.data_dir.display().to_string();
    for name in [
        "pg_hba.conf",
        "pg_ident.conf",
        "postgresql.conf",
        "postgresql.auto.conf",
    ] {
        assert!(
            text.contains(&format!("-- ==== {name}: {data}/{name} ====\n")),
            "{name} in {text}"
        );
    }
    // The contents: what initdb wrote and what the harness and ALTER SYSTEM added.
    let hba = std::fs::read_to_string(cluster.data_dir.join("pg_hba.conf")).unwrap();
    assert!(text.contains(&hba), "pg_hba.conf verbatim:\n{text}");
    assert!(text.contains("# cback test cluster\n"), "{text}");
    assert!(text.contains("work_mem = '5MB'"), "{text}");
    // The settings whose source is not the default, with their file and line.
    let port = format!(
        "port\t{}\t\tconfiguration file\t{data}/postgresql.conf\t",
        cluster.port
    );
    assert!(text.contains(&port), "{port:?} in {text}");
    assert!(
        text.contains("-- ==== left out ====\n-- nothing\n"),
        "{text}"
    );
    assert!(text.ends_with("-- cback: end of the server configuration\n"));
    assert!(!site.log_text().contains("WARNING"), "{}", site.log_text());

    let path = site.collect.join(CONFIG_FILE);
    assert_eq!(std::fs::metadata(&path).unwrap().mode() & 0o777, 0o600);
    let manifest = manifest(&site);
    let entry = entry(&manifest, CONFIG_FILE);
    assert_eq!(entry["database"], "config");
    assert_eq!(entry["status"], "ok");
    assert_eq!(entry["verified"], true);
    assert_eq!(entry["size"], std::fs::metadata(&path).unwrap().len());
    let sha = Command::new("sha256sum").arg(&path).output().unwrap();
    let sha = String::from_utf8_lossy(&sha.stdout);
    assert_eq!(entry["sha256"], sha.split_whitespace().next().unwrap());

    // pgverify checks it, and names it when it changes.
    let output = run(site.command(Some(cluster), &["pgverify"]));
    assert!(output.status.success(), "{}", stderr(&output));
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.push(0);
    std::fs::write(&path, bytes).unwrap();
    let output = run(site.command(Some(cluster), &["pgverify"]));
    assert_eq!(output.status.code(), Some(6), "{}", stderr(&output));
    assert!(stderr(&output).contains(CONFIG_FILE), "{}", stderr(&output));
    cluster.psql("postgres", "ALTER SYSTEM RESET work_mem;");
}

#[test]
fn a_role_without_grants_is_warned_and_the_named_grants_are_enough() {
    let Some(cluster) = pg::shared() else { return };
    cluster.psql(
        "postgres",
        "CREATE ROLE cfg_plain LOGIN;\nCREATE DATABASE cfg_plain OWNER cfg_plain;",
    );
    let (site, output, text) = dump_config(cluster, "cfg_plain", "cfg_plain");
    assert!(output.status.success(), "{}", stderr(&output));
    let log = site.log_text();
    for grant in [
        "GRANT pg_read_all_settings, pg_read_server_files TO \"cfg_plain\"",
        "GRANT pg_read_all_settings TO \"cfg_plain\"",
    ] {
        assert!(
            log.contains("[WARNING] The server's configuration file leaves out")
                && log.contains(grant),
            "{grant} in {log}"
        );
    }
    assert!(
        text.contains("-- ==== left out ====\n-- pg_hba.conf: "),
        "{text}"
    );
    assert!(!text.contains("-- ==== pg_hba.conf"), "{text}");
    assert!(
        text.contains("\nTimeZone\t"),
        "the visible settings: {text}"
    );
    assert!(text.ends_with("-- cback: end of the server configuration\n"));

    // What the warnings name is what the role needs.
    cluster.psql(
        "postgres",
        "GRANT pg_read_all_settings, pg_read_server_files TO cfg_plain;\n\
         GRANT EXECUTE ON FUNCTION pg_read_file(text, bigint, bigint, boolean) TO cfg_plain;",
    );
    let (site, output, text) = dump_config(cluster, "cfg_plain", "cfg_plain");
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        text.contains("-- ==== left out ====\n-- nothing\n"),
        "{text}"
    );
    assert!(text.contains("-- ==== pg_hba.conf: "), "{text}");
    assert!(!site.log_text().contains("WARNING"), "{}", site.log_text());
}

#[test]
fn a_database_named_config_is_refused_like_one_named_globals() {
    let Some(cluster) = pg::shared() else { return };
    cluster.create_small_database("config", 3);
    let site = PgRunDir::new(crate::BIN);
    site.config(
        &pg::section("none", &["config"], "<config_files>Y</config_files>"),
        &[],
    );
    let output = run(site.command(Some(cluster), &["postgresql"]));
    assert_eq!(output.status.code(), Some(6), "{}", stderr(&output));
    let err = stderr(&output);
    assert!(
        err.contains("database [config]") && err.contains("<config_files>N"),
        "{err}"
    );
    // The configuration itself was written, and is what the name holds.
    assert_eq!(site.entries(), vec!["postgresqldump-config.txt"]);
    let text = std::fs::read_to_string(site.collect.join("postgresqldump-config.txt")).unwrap();
    assert!(text.contains("-- ==== pg_hba.conf"), "{text}");
}
