//! `cback-restore` and the server's configuration (`<config_files>Y`): `list` shows it as what
//! it is, `restore config` refuses it and says how to put it back by hand, and `drill` leaves
//! it alone.

use crate::restore_support::*;
use cback_tests::pg::{self, Site};

#[test]
fn the_server_configuration_is_listed_and_never_restored() {
    let Some(cluster) = pg::shared() else { return };
    let _serial = serial();
    cluster.create_small_database("cfg_restore", 4);
    let site = Site::new(crate::BIN);
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
