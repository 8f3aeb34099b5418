//! End-to-end, against a real server: PostgreSQL backups an operator can trust (issue 6).
//! Verification of every written file, the manifest and `cback pgverify`, pg_dump matched to
//! the server, `<split>` with the globals and `<exclude>`, the custom format, and the run
//! status / node_exporter textfile with per-database results.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use cback_tests::pg::{self, ClusterOptions, PgRunDir, MANIFEST};

fn run(mut cmd: Command) -> Output {
    cmd.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .expect("run cback")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// `cmd` with `dirs` put first on its PATH.
fn path_first(cmd: &mut Command, dirs: &[&Path]) {
    let current = cmd
        .get_envs()
        .find(|(k, _)| *k == "PATH")
        .and_then(|(_, v)| v.map(|v| v.to_os_string()))
        .unwrap_or_default();
    let mut all: Vec<PathBuf> = dirs.iter().map(|d| d.to_path_buf()).collect();
    all.extend(std::env::split_paths(&current));
    cmd.env("PATH", std::env::join_paths(all).unwrap());
}

fn manifest(site: &PgRunDir) -> serde_json::Value {
    let text = std::fs::read_to_string(site.collect.join(MANIFEST)).expect("a manifest");
    serde_json::from_str(&text).unwrap()
}

fn entry<'a>(manifest: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == name)
        .unwrap_or_else(|| panic!("{name} in {manifest:#}"))
}

fn sha256_hex(path: &Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

#[test]
fn a_dump_cut_short_fails_verification_and_keeps_yesterday() {
    let Some(cluster) = pg::shared() else { return };
    let site = PgRunDir::new(crate::BIN);
    let name = "postgresqldump-shop.txt.gz";
    let yesterday = site.yesterday(name);
    // Stops after 3000 bytes but exits 0, as a pg_dump that lost its connection could.
    let cut = site.script(
        "pg_dump-cut",
        &format!(
            "'{}' \"$@\" | head -c 3000\nexit 0",
            cluster.install.bin("pg_dump").display()
        ),
    );
    site.config(
        &pg::section("gzip", &["shop", "inventory"], ""),
        &[("pg_dump", &cut)],
    );
    let output = run(site.command(Some(cluster), &["postgresql"]));
    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(6), "{text}");
    assert!(text.contains("all 2 PostgreSQL dumps failed"), "{text}");
    assert!(
        text.contains(
            "the dump of database [shop] failed: the new postgresqldump-shop.txt.gz failed \
             verification (checked before its rename)"
        ),
        "{text}"
    );
    assert!(
        text.contains("is incomplete: it does not end with `-- PostgreSQL database dump complete`"),
        "{text}"
    );
    assert!(site.hidden_entries().is_empty(), "{:?}", site.all_entries());
    assert_eq!(std::fs::read(site.collect.join(name)).unwrap(), yesterday);
    assert_eq!(site.entries(), vec![name]);
    // The manifest says so: no good dump of inventory, shop's is not from this run either.
    let m = manifest(&site);
    assert_eq!(entry(&m, name)["status"], "failed");
    assert_eq!(
        entry(&m, "postgresqldump-inventory.txt.gz")["status"],
        "failed"
    );
}

#[test]
fn complete_dumps_pass_verification_in_every_mode() {
    let Some(cluster) = pg::shared() else { return };
    for mode in ["none", "gzip", "bzip2", "zstd"] {
        let site = PgRunDir::new(crate::BIN);
        site.config(&pg::section(mode, &["shop", pg::ODD_DATABASE], ""), &[]);
        let output = run(site.command(Some(cluster), &["postgresql"]));
        assert!(output.status.success(), "{mode}: {}", stderr(&output));
        let m = manifest(&site);
        for file in m["files"].as_array().unwrap() {
            assert_eq!(file["status"], "ok", "{mode}: {file}");
            assert_eq!(file["verified"], true, "{mode}: {file}");
            let path = site.collect.join(file["name"].as_str().unwrap());
            assert_eq!(file["size"], std::fs::metadata(&path).unwrap().len());
            assert_eq!(file["sha256"], sha256_hex(&path), "{mode}");
            assert!(
                file["pg_dump_version"]
                    .as_str()
                    .unwrap()
                    .starts_with("pg_dump (PostgreSQL) "),
                "{file}"
            );
            assert!(file["server_version"].as_str().is_some(), "{file}");
        }
        // The manifest is private like the dumps, and it is the only extra file.
        let mode_bits = std::fs::metadata(site.collect.join(MANIFEST))
            .unwrap()
            .mode()
            & 0o777;
        assert!(mode_bits == 0o600 || mode_bits == 0o640, "{mode_bits:o}");
        assert_eq!(site.all_entries().len(), 3, "{:?}", site.all_entries());
    }
}

#[test]
fn pgverify_checks_the_collect_dir_against_the_manifest() {
    let Some(cluster) = pg::shared() else { return };
    let site = PgRunDir::new(crate::BIN);
    site.config(
        &pg::section("gzip", &["shop", "inventory", pg::ODD_DATABASE], ""),
        &[],
    );
    let output = run(site.command(Some(cluster), &["postgresql"]));
    assert!(output.status.success(), "{}", stderr(&output));
    let output = run(site.command(Some(cluster), &["pgverify"]));
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        site.log_text().contains("All 3 files listed in"),
        "{}",
        site.log_text()
    );

    // One of each mismatch: another size, same size but other bytes, missing.
    let shop = site.collect.join("postgresqldump-shop.txt.gz");
    let bytes = std::fs::read(&shop).unwrap();
    std::fs::write(&shop, &bytes[..bytes.len() - 10]).unwrap();
    let inventory = site.collect.join("postgresqldump-inventory.txt.gz");
    let mut bytes = std::fs::read(&inventory).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&inventory, &bytes).unwrap();
    let odd = format!("postgresqldump-{}.txt.gz", pg::ODD_DATABASE);
    std::fs::remove_file(site.collect.join(&odd)).unwrap();

    let output = run(site.command(Some(cluster), &["pgverify"]));
    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(6), "{text}");
    assert!(text.contains("3 of 3 files in"), "{text}");
    assert!(
        text.contains("- postgresqldump-shop.txt.gz: ")
            && text.contains(" bytes, the manifest says "),
        "{text}"
    );
    assert!(
        text.contains("- postgresqldump-inventory.txt.gz: sha256 "),
        "{text}"
    );
    assert!(
        text.contains(&format!("- {odd}: missing (the manifest lists ")),
        "{text}"
    );

    // Without a manifest.
    std::fs::remove_file(site.collect.join(MANIFEST)).unwrap();
    let output = run(site.command(Some(cluster), &["pgverify"]));
    assert_eq!(output.status.code(), Some(6));
    assert!(
        stderr(&output).contains("there is no manifest"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_database_listed_twice_is_dumped_once_and_verifies() {
    let Some(cluster) = pg::shared() else { return };
    let site = PgRunDir::new(crate::BIN);
    site.config(
        &pg::section("gzip", &["shop", "inventory", "shop"], "<jobs>2</jobs>"),
        &[],
    );
    let output = run(site.command(Some(cluster), &["postgresql", "pgverify"]));
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        site.all_entries(),
        vec![
            "postgresqldump-inventory.txt.gz",
            "postgresqldump-shop.txt.gz",
            MANIFEST,
        ]
    );
    let m = manifest(&site);
    assert_eq!(m["files"].as_array().unwrap().len(), 2, "{m:#}");
    assert_eq!(entry(&m, "postgresqldump-shop.txt.gz")["status"], "ok");
    let log = site.log_text();
    assert!(
        log.contains("WARNING")
            && log.contains("Database [shop] is listed more than once in <postgresql>"),
        "{log}"
    );
    assert!(log.contains("All 2 files listed in"), "{log}");
}

#[test]
fn temp_files_of_a_killed_run_are_removed_and_strays_reported() {
    let Some(cluster) = pg::shared() else { return };
    let site = PgRunDir::new(crate::BIN);
    site.config(&pg::section("gzip", &["shop"], ""), &[]);
    let stale = ".postgresqldump-shop.txt.gz.Ab12Z9.tmp";
    std::fs::write(site.collect.join(stale), "partial").unwrap();
    // Not this extension's temporary names: left alone.
    std::fs::write(site.collect.join(".postgresqldump-shop.txt.gz.tmp"), "x").unwrap();
    std::fs::write(site.collect.join(".other.Ab12Z9.tmp"), "x").unwrap();
    let output = run(site.command(Some(cluster), &["postgresql", "pgverify"]));
    assert!(output.status.success(), "{}", stderr(&output));
    let log = site.log_text();
    assert!(
        log.contains("WARNING")
            && log.contains(&format!("Removed {}", site.collect.join(stale).display())),
        "{log}"
    );
    assert_eq!(
        site.hidden_entries(),
        vec![".other.Ab12Z9.tmp", ".postgresqldump-shop.txt.gz.tmp"]
    );

    // pgverify names a dump the manifest does not list and a temporary file of a killed run.
    std::fs::write(site.collect.join("postgresqldump.txt"), "old").unwrap();
    std::fs::write(site.collect.join(stale), "partial").unwrap();
    let output = run(site.command(Some(cluster), &["pgverify"]));
    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(6), "{text}");
    assert!(
        text.contains("- postgresqldump.txt: a dump file the manifest does not list"),
        "{text}"
    );
    assert!(
        text.contains(&format!("- {stale}: a partial dump left by a run")),
        "{text}"
    );
}

#[test]
fn pgverify_runs_after_collect_and_before_stage() {
    let site = PgRunDir::new(crate::BIN);
    site.config(&pg::section("gzip", &["shop"], ""), &[]);
    let output = site
        .cback(
            None,
            &["--dry-run", "stage", "pgverify", "collect", "postgresql"],
        )
        .output()
        .unwrap();
    // The plan lines; the indented lines under `run stage` are its peers (none here).
    let plan: String = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|line| !line.starts_with(' '))
        .map(|line| format!("{line}\n"))
        .collect();
    assert_eq!(
        plan,
        "run postgresql\nrun collect\nrun pgverify\nrun stage\n",
        "{}",
        stderr(&output)
    );
}

#[test]
fn an_older_pg_dump_on_path_is_replaced_by_a_matching_one() {
    let Some(cluster) = pg::shared() else { return };
    let site = PgRunDir::new(crate::BIN);
    // Dumping with it would fail: only its version may be asked.
    site.script(
        "pg_dump",
        "if [ \"$1\" = --version ]; then echo 'pg_dump (PostgreSQL) 9.6.0'; exit 0; fi\n\
         echo 'pg_dump: the old one ran' >&2; exit 1",
    );
    site.config(&pg::section("none", &["inventory"], ""), &[]);
    let mut cmd = site.command(Some(cluster), &["postgresql"]);
    path_first(&mut cmd, &[&site.path("bin")]);
    cmd.env("CBACK_PG_BINDIRS", &cluster.install.bindir);
    let output = run(cmd);
    assert!(output.status.success(), "{}", stderr(&output));
    let log = site.log_text();
    assert!(
        log.contains(&format!(
            "The pg_dump on PATH is older than the server; using {}",
            cluster.install.bin("pg_dump").display()
        )),
        "{log}"
    );
    assert!(pg::same_dump(
        &pg::read_dump(&site.collect.join("postgresqldump-inventory.txt")),
        &cluster.pg_dump("inventory")
    ));
}

#[test]
fn no_pg_dump_new_enough_fails_before_writing_anything() {
    let Some(cluster) = pg::shared() else { return };
    let site = PgRunDir::new(crate::BIN);
    let name = "postgresqldump-shop.txt.bz2";
    let yesterday = site.yesterday(name);
    site.script(
        "pg_dump",
        "if [ \"$1\" = --version ]; then echo 'pg_dump (PostgreSQL) 9.6.0'; exit 0; fi\n\
         echo 'pg_dump: the old one ran' >&2; exit 1",
    );
    site.config(&pg::section("bzip2", &["shop"], ""), &[]);
    let empty = site.path("no-installs");
    std::fs::create_dir(&empty).unwrap();
    let mut cmd = site.command(Some(cluster), &["postgresql"]);
    path_first(&mut cmd, &[&site.path("bin")]);
    cmd.env("CBACK_PG_BINDIRS", format!("{}/*/bin", empty.display()));
    let output = run(cmd);
    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(6), "{text}");
    let server = cluster.psql("postgres", "SHOW server_version_num;");
    let major = server.trim().parse::<u32>().unwrap() / 10_000;
    assert!(
        text.contains("is PostgreSQL 9.6.0 but the server is PostgreSQL "),
        "{text}"
    );
    assert!(
        text.contains(&format!("postgresql-client-{major} ")),
        "{text}"
    );
    assert!(
        text.contains(&format!("no pg_dump {major} or newer was found")),
        "{text}"
    );
    assert!(!text.contains("the old one ran"), "{text}");
    assert_eq!(site.all_entries(), vec![name]);
    assert_eq!(std::fs::read(site.collect.join(name)).unwrap(), yesterday);
}

#[test]
fn split_writes_private_globals_and_each_database_but_the_excluded() {
    let Some(cluster) = pg::own(&ClusterOptions {
        tcp: false,
        sample_data: true,
    }) else {
        return;
    };
    cluster.create_small_database("scratch_1", 10);
    cluster.create_small_database("scratch_2", 10);
    cluster.create_small_database("scratch", 10);
    cluster.psql(
        "postgres",
        "CREATE ROLE app_owner LOGIN PASSWORD 'app-Pa55';\n\
         CREATE DATABASE closed; ALTER DATABASE closed ALLOW_CONNECTIONS false;",
    );
    // Database-level settings that pg_dumpall keeps and a split dump must keep too.
    cluster.psql(
        "postgres",
        "ALTER DATABASE shop OWNER TO app_owner;\n\
         REVOKE CONNECT ON DATABASE shop FROM PUBLIC;\n\
         ALTER DATABASE shop SET work_mem = '7MB';",
    );
    let site = PgRunDir::new(crate::BIN);
    site.config(
        &pg::section(
            "gzip",
            &[],
            "<split>Y</split><exclude>scratch_[0-9]+</exclude><exclude>inventory</exclude>",
        ),
        &[],
    );
    let output = run(site.command(Some(&cluster), &["postgresql"]));
    assert!(output.status.success(), "{}", stderr(&output));
    let mut expected = vec![
        "postgresqldump-globals.txt.gz".to_string(),
        "postgresqldump-postgres.txt.gz".to_string(),
        "postgresqldump-scratch.txt.gz".to_string(),
        "postgresqldump-shop.txt.gz".to_string(),
        format!("postgresqldump-{}.txt.gz", pg::ODD_DATABASE),
    ];
    expected.sort();
    // Templates are left out, and said so in the log.
    let log = site.log_text();
    assert!(
        log.contains("Database [template1] is a template; <split> leaves templates out"),
        "{log}"
    );
    assert_eq!(site.entries(), expected);

    let globals = site.collect.join("postgresqldump-globals.txt.gz");
    assert_eq!(
        std::fs::metadata(&globals).unwrap().mode() & 0o777,
        0o600,
        "the globals hold password hashes"
    );
    let text = String::from_utf8(pg::read_dump(&globals)).unwrap();
    assert!(text.contains("CREATE ROLE app_owner;"), "{text}");
    assert!(text.contains("SCRAM-SHA-256$"), "{text}");
    assert!(!text.contains("CREATE DATABASE"), "only globals: {text}");
    let shop = pg::read_dump(&site.collect.join("postgresqldump-shop.txt.gz"));
    let created = cluster
        .client("pg_dump")
        .args(["--create", "shop"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(created.status.success());
    assert!(pg::same_dump(&shop, &created.stdout));
    let shop = String::from_utf8(shop).unwrap();
    for expected in [
        "CREATE DATABASE shop ",
        "ALTER DATABASE shop OWNER TO app_owner;",
        "REVOKE CONNECT,TEMPORARY ON DATABASE shop FROM PUBLIC;",
        "ALTER DATABASE shop SET work_mem TO '7MB';",
    ] {
        assert!(
            shop.contains(expected),
            "{expected} in the split dump of shop"
        );
    }
    let log = site.log_text();
    assert!(
        log.contains("Database [scratch_1] is excluded by an <exclude> pattern."),
        "{log}"
    );
    let m = manifest(&site);
    assert_eq!(
        entry(&m, "postgresqldump-globals.txt.gz")["database"],
        "globals"
    );
    assert_eq!(m["files"].as_array().unwrap().len(), 5);

    // Without <split>, all=Y keeps the original's single pg_dumpall file.
    let site = PgRunDir::new(crate::BIN);
    site.config(&pg::section("gzip", &[], ""), &[]);
    let output = run(site.command(Some(&cluster), &["postgresql"]));
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(site.entries(), vec!["postgresqldump.txt.gz"]);
}

#[test]
fn custom_format_restores_with_pg_restore() {
    let Some(cluster) = pg::shared() else { return };
    let site = PgRunDir::new(crate::BIN);
    site.config(
        &pg::section("none", &["shop"], "<format>custom</format>"),
        &[],
    );
    let output = run(site.command(Some(cluster), &["postgresql"]));
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(site.entries(), vec!["postgresqldump-shop.dump"]);
    let dump = site.collect.join("postgresqldump-shop.dump");
    assert!(std::fs::read(&dump).unwrap().starts_with(b"PGDMP"));

    cluster.psql("postgres", "CREATE DATABASE shop_from_custom;");
    let out = cluster
        .client("pg_restore")
        .args(["--no-owner", "--exit-on-error", "-d", "shop_from_custom"])
        .arg(&dump)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        cluster.row_counts("shop_from_custom"),
        cluster.row_counts("shop")
    );
    let m = manifest(&site);
    assert_eq!(entry(&m, "postgresqldump-shop.dump")["verified"], true);
}

#[test]
fn custom_format_with_a_compress_mode_is_rejected() {
    let site = PgRunDir::new(crate::BIN);
    site.config(
        &pg::section("gzip", &["shop"], "<format>custom</format>"),
        &[],
    );
    let output = run(site.command(None, &["postgresql"]));
    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(6), "{text}");
    assert!(
        text.contains("<format> custom is compressed by pg_dump itself, so <compress_mode> must be none, not gzip"),
        "{text}"
    );
    assert!(site.all_entries().is_empty());
    let output = run(site.command(None, &["validate"]));
    assert_eq!(output.status.code(), Some(6), "{}", stderr(&output));
    assert!(
        site.log_text().contains("<compress_mode> must be none"),
        "{}",
        site.log_text()
    );
}

/// Reads the status file of the site's working_dir.
fn status(site: &PgRunDir) -> serde_json::Value {
    let text = std::fs::read_to_string(site.path("work").join("cback-status.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn the_status_and_textfile_carry_per_database_results() {
    let Some(cluster) = pg::shared() else { return };
    let site = PgRunDir::new(crate::BIN);
    site.config(&pg::section("gzip", &["shop", "no such db"], ""), &[]);
    let output = run(site.command(Some(cluster), &["postgresql"]));
    assert_eq!(output.status.code(), Some(6), "{}", stderr(&output));

    let s = status(&site);
    assert_eq!(s["exit_code"], 6);
    assert_eq!(s["actions"], serde_json::json!(["postgresql"]));
    assert!(s["last_success"].is_null(), "{s:#}");
    let dbs = s["databases"].as_array().unwrap();
    let shop = dbs.iter().find(|d| d["database"] == "shop").unwrap();
    let missing = dbs.iter().find(|d| d["database"] == "no such db").unwrap();
    let shop_file = site.collect.join("postgresqldump-shop.txt.gz");
    let shop_size = std::fs::metadata(&shop_file).unwrap().len();
    assert_eq!(shop["success"], true);
    assert_eq!(shop["bytes"], shop_size);
    assert_eq!(shop["file"], "postgresqldump-shop.txt.gz");
    assert!(shop["raw_bytes"].as_u64().unwrap() > shop_size);
    assert_eq!(missing["success"], false);
    assert!(
        missing["error"]
            .as_str()
            .unwrap()
            .contains("database \"no such db\" does not exist"),
        "{missing}"
    );

    let prom = std::fs::read_to_string(site.path("work").join("cback.prom")).unwrap();
    assert!(prom.contains("cback_run_exit_code 6\n"), "{prom}");
    assert!(
        prom.contains("cback_last_success_timestamp_seconds 0\n"),
        "{prom}"
    );
    assert!(
        prom.contains(&format!(
            "cback_postgresql_dump_bytes{{database=\"shop\"}} {shop_size}\n"
        )),
        "{prom}"
    );
    assert!(
        prom.contains("cback_postgresql_dump_success{database=\"shop\"} 1\n"),
        "{prom}"
    );
    assert!(
        prom.contains("cback_postgresql_dump_success{database=\"no such db\"} 0\n"),
        "{prom}"
    );
    let failed_end = s["end"].as_i64().unwrap();

    // A good run, with the textfile moved by <metrics_file>.
    let metrics = site.path("textfile").join("cback.prom");
    std::fs::create_dir(metrics.parent().unwrap()).unwrap();
    let config = site.path("cback.conf");
    let text = std::fs::read_to_string(&config).unwrap().replace(
        "</options>",
        &format!(
            "  <metrics_file>{}</metrics_file>\n  </options>",
            metrics.display()
        ),
    );
    let text = text.replace("<database>no such db</database>", "");
    std::fs::write(&config, text).unwrap();
    let output = run(site.command(Some(cluster), &["postgresql"]));
    assert!(output.status.success(), "{}", stderr(&output));
    let s = status(&site);
    assert_eq!(s["exit_code"], 0);
    assert!(s["last_success"].as_i64().unwrap() >= failed_end);
    assert_eq!(s["databases"].as_array().unwrap().len(), 1);
    let prom = std::fs::read_to_string(&metrics).unwrap();
    assert!(prom.contains("cback_run_exit_code 0\n"), "{prom}");
    assert!(
        prom.contains("cback_postgresql_dump_success{database=\"shop\"} 1\n"),
        "{prom}"
    );
    assert!(!prom.contains("no such db"), "{prom}");
}

#[test]
fn a_version_mismatch_shows_as_failed_dumps_in_the_status() {
    let Some(cluster) = pg::shared() else { return };
    let site = PgRunDir::new(crate::BIN);
    site.script(
        "pg_dump",
        "[ \"$1\" = --version ] && echo 'pg_dump (PostgreSQL) 9.6.0'; exit 1",
    );
    site.config(&pg::section("none", &["shop"], ""), &[]);
    let mut cmd = site.command(Some(cluster), &["postgresql"]);
    path_first(&mut cmd, &[&site.path("bin")]);
    cmd.env("CBACK_PG_BINDIRS", "");
    let output = run(cmd);
    assert_eq!(output.status.code(), Some(6), "{}", stderr(&output));
    let prom = std::fs::read_to_string(site.path("work").join("cback.prom")).unwrap();
    assert!(
        prom.contains("cback_postgresql_dump_success{database=\"shop\"} 0\n"),
        "{prom}"
    );
}

/// The `- NAME: …` problem lines of a failed `cback pgverify`, apart from the hidden temporary
/// files a killed run leaves (those really are incomplete files).
fn pgverify_complaints(site: &PgRunDir, cluster: &pg::Cluster) -> Vec<String> {
    let output = run(site.command(Some(cluster), &["pgverify"]));
    if output.status.success() {
        return Vec::new();
    }
    let text = stderr(&output);
    let complaints: Vec<String> = text
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("- "))
        .filter(|l| !l.starts_with('.'))
        .map(str::to_owned)
        .collect();
    assert!(
        !complaints.is_empty() || text.contains("- ."),
        "pgverify failed without naming a file: {text}"
    );
    complaints
}

#[test]
fn the_manifest_matches_every_dump_under_its_final_name_whenever_the_run_is_killed() {
    let Some(cluster) = pg::shared() else { return };
    // The small database is dumped first and takes its final name while the large one runs.
    cluster.create_small_database("crash small", 50);
    cluster.create_small_database("crash large", 1_500_000);
    let site = PgRunDir::new(crate::BIN);
    site.config(
        &pg::section("gzip", &["crash small", "crash large"], ""),
        &[],
    );
    let output = run(site.command(Some(cluster), &["postgresql"]));
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(pgverify_complaints(&site, cluster), Vec::<String>::new());
    let small = site.collect.join("postgresqldump-crash small.txt.gz");
    let inode = |path: &Path| std::fs::metadata(path).map(|m| m.ino()).unwrap_or(0);
    // Killed when the small dump has just taken its final name, then at fixed moments.
    let moments: [Option<u64>; 7] = [
        None,
        Some(50),
        Some(300),
        Some(800),
        Some(1500),
        None,
        Some(2500),
    ];
    for moment in moments {
        let before = inode(&small);
        let mut cback = site
            .command(Some(cluster), &["postgresql"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let started = std::time::Instant::now();
        match moment {
            Some(ms) => std::thread::sleep(std::time::Duration::from_millis(ms)),
            None => {
                while inode(&small) == before && started.elapsed().as_secs() < 120 {
                    std::thread::sleep(std::time::Duration::from_millis(2));
                }
            }
        }
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(cback.id() as i32),
            nix::sys::signal::Signal::SIGKILL,
        );
        cback.wait().unwrap();
        // Its pg_dump may still be running: let it see the closed pipe.
        std::thread::sleep(std::time::Duration::from_millis(200));
        assert_eq!(
            pgverify_complaints(&site, cluster),
            Vec::<String>::new(),
            "killed after {moment:?} ms (None: when the small dump took its final name)"
        );
    }
    let output = run(site.command(Some(cluster), &["postgresql"]));
    assert!(output.status.success(), "{}", stderr(&output));
    let output = run(site.command(Some(cluster), &["pgverify"]));
    assert!(
        output.status.success(),
        "the next run is clean: {}",
        stderr(&output)
    );
}
