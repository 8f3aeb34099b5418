//! `cback-restore` and what issue 25 adds to the dumps: the server's configuration
//! (`<config_files>Y`), which `list` shows as what it is, `restore config` refuses (saying how to
//! put it back by hand) and `drill` leaves alone; and a dump a `<database_options>` entry made
//! leave a table out, which restores without it.

use crate::restore_support::*;
use cback_tests::pg::{self, PgRunDir};

#[test]
fn the_server_configuration_is_listed_and_never_restored() {
    let Some(cluster) = pg::shared() else { return };
    let _serial = serial();
    cluster.create_small_database("cfg_restore", 4);
    let site = PgRunDir::new(crate::BIN);
    configure(
        &site,
        &pg::section("gzip", &["cfg_restore"], "<config_files>Y</config_files>"),
        None,
    );
    dump(&site, cluster);

    let out = run(&site, cluster, &["list"]);
    assert!(out.status.success(), "{}", text(&out));
    let listing = String::from_utf8_lossy(&out.stdout).into_owned();
    let line = listing
        .lines()
        .find(|l| l.contains("postgresqldump-config.txt.gz"))
        .unwrap_or_else(|| panic!("{listing}"));
    assert!(
        line.contains("config") && line.contains("server configuration+gzip"),
        "{line}"
    );

    let out = run(&site, cluster, &["restore", "config"]);
    assert!(!out.status.success(), "{}", text(&out));
    let shown = text(&out);
    assert!(
        shown.contains("is the server's configuration")
            && shown.contains("put back by hand")
            && shown.contains("doc/postgresql.md"),
        "{shown}"
    );

    let out = run(&site, cluster, &["drill"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("config.txt"),
        "{}",
        text(&out)
    );
}

/// A custom-format dump that leaves a table out (`<database_options>`) restores with
/// cback-restore: what was kept comes back, what was left out is absent.
#[test]
fn a_dump_with_a_table_left_out_restores() {
    let Some(cluster) = pg::shared() else { return };
    let _serial = serial();
    cluster.create_small_database("choice_rst", 30);
    cluster.psql(
        "choice_rst",
        "CREATE TABLE scratch (x int); INSERT INTO scratch SELECT generate_series(1, 9);",
    );
    let site = PgRunDir::new(crate::BIN);
    configure(
        &site,
        &pg::section(
            "gzip",
            &["choice_rst"],
            "<database_options><name>choice_rst</name><format>custom</format>\
             <exclude_table>public.scratch</exclude_table></database_options>",
        ),
        None,
    );
    dump(&site, cluster);
    assert_eq!(site.entries(), vec!["postgresqldump-choice_rst.dump"]);

    let out = run(
        &site,
        cluster,
        &["restore", "choice_rst", "--into", "choice_rst_back"],
    );
    assert!(out.status.success(), "{}", text(&out));
    let counts = cluster.row_counts("choice_rst_back");
    assert_eq!(
        counts.into_iter().collect::<Vec<_>>(),
        vec![("public.t".to_string(), 30)]
    );
    drop_database(cluster, "choice_rst_back");
}
