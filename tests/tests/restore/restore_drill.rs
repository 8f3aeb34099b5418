//! `cback-restore drill`: a drill that passes (one line per database, exit 0, its entries in
//! cback's own `cback-status.json` and `cback.prom`, which survive a following cback run, and
//! keep that run's entries) and one that fails on a dump cut short that its manifest calls
//! good (the failing database named with its file, exit 6, the scratch databases gone either
//! way).

use std::fs;

use crate::restore_support::*;
use cback_tests::pg::{self, PgRunDir};

const SHAPES_SQL: &str = "CREATE TABLE measures (at date, v int) PARTITION BY RANGE (at);\n\
CREATE TABLE measures_2025 PARTITION OF measures FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');\n\
CREATE TABLE measures_2026 PARTITION OF measures FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');\n\
INSERT INTO measures VALUES ('2025-02-01', 1), ('2025-03-01', 2), ('2025-04-01', 3), ('2026-05-01', 4), ('2026-06-01', 5);\n\
CREATE TABLE base (id int);\nCREATE TABLE derived (extra text) INHERITS (base);\n\
INSERT INTO base VALUES (1);\nINSERT INTO derived VALUES (2, 'a'), (3, 'b');\n\
CREATE FUNCTION looks_like_a_dump() RETURNS text LANGUAGE sql AS $body$\n\
SELECT '\n\
CREATE TABLE public.ghost (\n\
COPY public.ghost (a) FROM stdin;\n\
1\n\
'::text\n\
$body$;";

#[test]
fn a_drill_of_good_dumps_passes_and_is_recorded() {
    let Some(cluster) = pg::shared() else { return };
    let _serial = serial();
    // Partitions, inheritance and a function body that looks like a table and its data: the
    // drill counts what the dump holds, not what it seems to.
    drop_database(cluster, "drill_shapes");
    cluster.create_small_database("drill_shapes", 10);
    cluster.psql("drill_shapes", SHAPES_SQL);
    let site = PgRunDir::new(crate::BIN);
    configure(
        &site,
        &pg::section("zstd", &["shop", pg::ODD_DATABASE, "drill_shapes"], ""),
        None,
    );
    dump(&site, cluster);
    let out = run(&site, cluster, &["drill"]);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    let shop_rows: i64 = cluster.row_counts("shop").values().sum();
    assert!(
        lines[0].starts_with("PASS shop: ") && lines[0].contains(&format!("{shop_rows} row(s)")),
        "{stdout}"
    );
    assert!(
        lines[1].starts_with(&format!("PASS {}: ", pg::ODD_DATABASE)),
        "{stdout}"
    );
    // t (10), measures (no rows of its own), measures_2025 (3), measures_2026 (2), base (1),
    // derived (2).
    assert!(
        lines[2].starts_with("PASS drill_shapes: ")
            && lines[2].contains("6 table(s) and 18 row(s)"),
        "{stdout}"
    );
    assert!(
        out.stderr.is_empty(),
        "silent apart from its report: {}",
        text(&out)
    );
    drop_database(cluster, "drill_shapes");

    // The drill is in cback's own files, beside the entries of the run that made the dumps.
    let status = status(&site);
    let drills = status["drills"].as_array().unwrap();
    assert_eq!(drills.len(), 3, "{status}");
    assert_eq!(drills[0]["database"], "shop");
    assert_eq!(drills[0]["success"], true);
    assert_eq!(drills[0]["rows"], shop_rows);
    assert_eq!(status["databases"][0]["database"], "shop", "{status}");
    assert_eq!(
        status["actions"],
        serde_json::json!(["postgresql"]),
        "{status}"
    );
    let prom = prom(&site);
    assert!(
        prom.contains("cback_restore_drill_success{database=\"shop\"} 1\n"),
        "{prom}"
    );
    assert!(
        prom.contains("cback_restore_drill_timestamp_seconds "),
        "{prom}"
    );
    assert!(
        prom.contains("cback_postgresql_dump_success{database=\"shop\"} 1\n"),
        "{prom}"
    );
    assert!(!site.path("work/cback-restore-drill.json").exists());
    assert!(!site.path("work/cback-restore-drill.prom").exists());
    assert!(scratch_databases(cluster).is_empty());
}

fn status(site: &PgRunDir) -> serde_json::Value {
    serde_json::from_str(&fs::read_to_string(site.path("work/cback-status.json")).unwrap()).unwrap()
}

fn prom(site: &PgRunDir) -> String {
    fs::read_to_string(site.path("work/cback.prom")).unwrap()
}

#[test]
fn drill_entries_survive_a_cback_run_and_a_run_survives_a_drill() {
    let Some(cluster) = pg::shared() else { return };
    let _serial = serial();
    let site = PgRunDir::new(crate::BIN);
    configure(&site, &pg::section("gzip", &["shop"], ""), None);
    dump(&site, cluster);
    let out = run(&site, cluster, &["drill"]);
    assert!(out.status.success(), "{}", text(&out));
    let drilled = status(&site)["drills"].clone();
    assert_eq!(drilled[0]["database"], "shop", "{drilled}");
    let drill_end = drilled[0]["end"].as_i64().unwrap();

    // A cback run that fails (an unknown database) rewrites both files, keeping the drill.
    configure(&site, &pg::section("gzip", &["no_such_db_here"], ""), None);
    site.cback(Some(cluster), &["--full", "postgresql"])
        .assert()
        .code(6);
    let after_run = status(&site);
    assert_eq!(after_run["exit_code"], 6, "{after_run}");
    assert_eq!(after_run["databases"][0]["database"], "no_such_db_here");
    assert_eq!(after_run["drills"], drilled, "{after_run}");
    let text_after_run = prom(&site);
    assert!(
        text_after_run.contains("cback_run_exit_code 6\n"),
        "{text_after_run}"
    );
    assert!(
        text_after_run.contains("cback_restore_drill_success{database=\"shop\"} 1\n")
            && text_after_run.contains(&format!(
                "cback_restore_drill_timestamp_seconds {drill_end}\n"
            )),
        "{text_after_run}"
    );

    // A drill (failing now: the database has no dump) keeps the run's entries and replaces
    // only the drill ones.
    let out = run(&site, cluster, &["drill"]);
    assert_eq!(out.status.code(), Some(6), "{}", text(&out));
    let after_drill = status(&site);
    assert_eq!(after_drill["exit_code"], 6);
    assert_eq!(after_drill["start"], after_run["start"]);
    assert_eq!(after_drill["databases"], after_run["databases"]);
    let drills = after_drill["drills"].as_array().unwrap();
    assert_eq!(drills.len(), 1, "{after_drill}");
    assert_eq!(drills[0]["database"], "no_such_db_here");
    assert_eq!(drills[0]["success"], false);
    let text_after_drill = prom(&site);
    assert!(
        text_after_drill.contains("cback_run_exit_code 6\n"),
        "{text_after_drill}"
    );
    assert!(
        text_after_drill.contains("cback_restore_drill_success{database=\"no_such_db_here\"} 0\n")
            && !text_after_drill.contains("cback_restore_drill_success{database=\"shop\"}"),
        "{text_after_drill}"
    );
}

#[test]
fn a_drill_fails_on_a_cut_dump_and_drops_its_scratch_database() {
    let Some(cluster) = pg::shared() else { return };
    let _serial = serial();
    let site = PgRunDir::new(crate::BIN);
    configure(
        &site,
        &pg::section("none", &["shop", "inventory"], ""),
        None,
    );
    dump(&site, cluster);
    // The inventory dump loses its end, and the manifest is made to agree (as if the damage
    // happened before it was written): only a restore shows it.
    let name = "postgresqldump-inventory.txt";
    let path = site.collect.join(name);
    let bytes = fs::read(&path).unwrap();
    fs::write(&path, &bytes[..bytes.len() * 2 / 3]).unwrap();
    bless(&site.collect, name);

    let out = run(&site, cluster, &["drill"]);
    assert_eq!(out.status.code(), Some(6), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(lines[0].starts_with("PASS shop: "), "{stdout}");
    assert!(
        lines[1].starts_with("FAIL inventory: ") && lines[1].contains(&path.display().to_string()),
        "{stdout}"
    );
    assert!(lines[1].contains("cut short"), "{stdout}");
    let prom = prom(&site);
    assert!(
        prom.contains("cback_restore_drill_success{database=\"inventory\"} 0\n"),
        "{prom}"
    );
    assert!(
        prom.contains("cback_restore_drill_success{database=\"shop\"} 1\n"),
        "{prom}"
    );
    assert!(
        scratch_databases(cluster).is_empty(),
        "{:?}",
        cluster.databases()
    );

    // For cron: --quiet prints the failures only.
    let out = run(&site, cluster, &["--quiet", "drill"]);
    assert_eq!(out.status.code(), Some(6), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(stdout.starts_with("FAIL inventory: "), "{stdout}");
}

#[test]
fn a_drill_fails_when_a_database_has_no_dump() {
    let Some(cluster) = pg::shared() else { return };
    let _serial = serial();
    let site = PgRunDir::new(crate::BIN);
    configure(&site, &pg::section("gzip", &["shop"], ""), None);
    dump(&site, cluster);
    configure(
        &site,
        &pg::section("gzip", &["shop", "inventory"], ""),
        None,
    );
    let out = run(&site, cluster, &["drill"]);
    assert_eq!(out.status.code(), Some(6), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("PASS shop: "), "{stdout}");
    assert!(
        stdout.contains("FAIL inventory: no dump of database [inventory] was found"),
        "{stdout}"
    );
    let status = status(&site);
    let drills = status["drills"].as_array().unwrap();
    assert_eq!(drills[0]["success"], true, "{status}");
    assert_eq!(drills[1]["database"], "inventory");
    assert_eq!(drills[1]["success"], false, "{status}");
}

#[test]
fn a_drill_fails_when_the_restored_rows_differ_from_the_dump() {
    let Some(cluster) = pg::shared() else { return };
    let _serial = serial();
    drop_database(cluster, "drill_tamper");
    cluster.create_small_database("drill_tamper", 10);
    cluster.psql("drill_tamper", "CREATE TABLE gone (x int);");
    let site = PgRunDir::new(crate::BIN);
    configure(&site, &pg::section("none", &["drill_tamper"], ""), None);
    dump(&site, cluster);
    // A dump that restores without an error but not to what its data section holds.
    let name = "postgresqldump-drill_tamper.txt";
    let path = site.collect.join(name);
    let text_before = fs::read_to_string(&path).unwrap();
    let marker = "-- PostgreSQL database dump complete";
    assert!(text_before.contains(marker));
    let tampered = text_before.replacen(
        marker,
        &format!("DELETE FROM public.t WHERE id <= 3;\nDROP TABLE public.gone;\n{marker}"),
        1,
    );
    fs::write(&path, tampered).unwrap();
    bless(&site.collect, name);

    let out = run(&site, cluster, &["drill"]);
    assert_eq!(out.status.code(), Some(6), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(stdout.starts_with("FAIL drill_tamper: "), "{stdout}");
    assert!(
        stdout.contains("table public.t has 7 rows, the dump holds 10")
            && stdout.contains("table public.gone is missing"),
        "{stdout}"
    );
    assert!(scratch_databases(cluster).is_empty());
    drop_database(cluster, "drill_tamper");
}
