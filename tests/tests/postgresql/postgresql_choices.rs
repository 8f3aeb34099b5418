//! End-to-end, against a real server: per-database choices (`<database_options>`). A table
//! left out is absent from the dump, named in the manifest, and the dump restores; a refused
//! pg_dump option is a validate error naming it; under `<all>Y<split>Y` the entries apply by
//! name pattern.

use std::collections::BTreeMap;

use crate::postgresql_trust::{entry, manifest, run, stderr};
use cback_tests::pg::{self, ClusterOptions, PgRunDir};
use predicates::prelude::*;

#[test]
fn an_excluded_table_is_absent_listed_and_the_dump_restores() {
    let Some(cluster) = pg::shared() else { return };
    cluster.create_small_database("choice_excl", 20);
    cluster.psql(
        "choice_excl",
        "CREATE TABLE secret_log (id int, line text);\n\
         INSERT INTO secret_log SELECT i, 'do not keep ' || i FROM generate_series(1, 50) i;\n\
         CREATE SCHEMA audit; CREATE TABLE audit.trail (x int); INSERT INTO audit.trail VALUES (1);",
    );
    let site = PgRunDir::new(crate::BIN);
    site.config(
        &pg::section(
            "gzip",
            &["choice_excl"],
            "<database_options><name>choice_excl</name><compress_mode>zstd</compress_mode>\
             <exclude_table>public.secret_log</exclude_table><exclude_schema>audit</exclude_schema>\
             <pg_dump_option>--no-owner</pg_dump_option></database_options>",
        ),
        &[],
    );
    let output = run(site.command(Some(cluster), &["postgresql"]));
    assert!(output.status.success(), "{}", stderr(&output));
    // The entry's compression, not the section's.
    assert_eq!(site.entries(), vec!["postgresqldump-choice_excl.txt.zst"]);
    let path = site.collect.join("postgresqldump-choice_excl.txt.zst");
    let dump = pg::read_dump(&path);
    let text = String::from_utf8_lossy(&dump);
    assert!(!text.contains("secret_log"), "{text}");
    assert!(!text.contains("do not keep"), "{text}");
    assert!(!text.contains("audit"), "{text}");
    assert!(!text.contains("OWNER TO"), "--no-owner: {text}");
    assert!(text.contains("COPY public.t "), "{text}");

    let m = manifest(&site);
    let e = entry(&m, "postgresqldump-choice_excl.txt.zst");
    assert_eq!(e["verified"], true);
    assert_eq!(
        e["left_out"],
        serde_json::json!(["schema audit", "table public.secret_log"])
    );

    cluster.restore("choice_excl_copy", true, &dump);
    let expected: BTreeMap<String, i64> = [("public.t".to_string(), 20)].into_iter().collect();
    assert_eq!(cluster.row_counts("choice_excl_copy"), expected);
}

#[test]
fn a_refused_pg_dump_option_is_a_validate_error_naming_it() {
    let site = PgRunDir::new(crate::BIN);
    site.config(
        &pg::section(
            "gzip",
            &["shop"],
            "<database_options><name>shop</name>\
             <pg_dump_option>--file=/tmp/elsewhere</pg_dump_option>\
             <pg_dump_option>--no-owner; rm -rf /</pg_dump_option>\
             <format>directory</format></database_options>",
        ),
        &[],
    );
    site.cback(None, &["validate"])
        .assert()
        .code(6)
        .stderr(predicate::str::contains(
            "<database_options> [shop]: <pg_dump_option> `--file=/tmp/elsewhere` is refused: cback chooses where the dump goes",
        ))
        .stderr(predicate::str::contains(
            "<pg_dump_option> `--no-owner; rm -rf /` is not one of the pg_dump options cback allows",
        ))
        .stderr(predicate::str::contains(
            "<format> directory is not supported",
        ));
    // The action refuses it too, before anything is written.
    site.cback(None, &["postgresql"]).assert().code(6);
    assert!(site.entries().is_empty());
}

#[test]
fn under_all_and_split_entries_apply_by_name_pattern() {
    let Some(cluster) = pg::own(&ClusterOptions::default()) else {
        return;
    };
    for db in ["pat_a1", "pat_a2", "other"] {
        cluster.create_small_database(db, 10);
    }
    cluster.psql(
        "pat_a2",
        "CREATE TABLE noise (x int); INSERT INTO noise VALUES (42);",
    );
    let site = PgRunDir::new(crate::BIN);
    site.config(
        &pg::section(
            "gzip",
            &[],
            "<split>Y</split>\
             <database_options><name>pat_a*</name><format>custom</format>\
             <exclude_table>public.noise</exclude_table></database_options>\
             <database_options><name>other</name><compress_mode>zstd</compress_mode>\
             <compress_level>19</compress_level></database_options>",
        ),
        &[],
    );
    let output = run(site.command(Some(&cluster), &["postgresql"]));
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        site.entries(),
        vec![
            "postgresqldump-globals.txt.gz",
            "postgresqldump-other.txt.zst",
            "postgresqldump-pat_a1.dump",
            "postgresqldump-pat_a2.dump",
            "postgresqldump-postgres.txt.gz",
        ]
    );
    let m = manifest(&site);
    for name in ["postgresqldump-pat_a1.dump", "postgresqldump-pat_a2.dump"] {
        let e = entry(&m, name);
        assert_eq!(e["verified"], true, "{e}");
        assert_eq!(e["left_out"], serde_json::json!(["table public.noise"]));
    }
    assert!(entry(&m, "postgresqldump-other.txt.zst")
        .get("left_out")
        .is_none());
    // The custom archive of pat_a2 holds t but not noise.
    let list = cluster
        .client("pg_restore")
        .arg("--list")
        .arg(site.collect.join("postgresqldump-pat_a2.dump"))
        .output()
        .unwrap();
    let list = String::from_utf8_lossy(&list.stdout);
    assert!(list.contains("TABLE public t "), "{list}");
    assert!(!list.contains("noise"), "{list}");
}
