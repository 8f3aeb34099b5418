//! SIGTERM during `cback-restore restore`: psql is stopped before it commits, the scratch
//! database is dropped, the target never appears, and the exit status is 5.

use std::time::{Duration, Instant};

use crate::restore_support::*;
use cback_tests::pg::{self, PgRunDir};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

#[test]
fn sigterm_stops_the_restore_and_drops_the_scratch_database() {
    let Some(cluster) = pg::shared() else { return };
    let _serial = serial();
    drop_database(cluster, "big_src");
    drop_database(cluster, "big_out");
    cluster.create_small_database("big_src", 2_000_000);
    let site = PgRunDir::new(crate::BIN);
    configure(&site, &pg::section("none", &["big_src"], ""), None);
    dump(&site, cluster);

    let mut child = restore_cmd(&site, cluster, &["restore", "big_src", "--into", "big_out"])
        .spawn()
        .unwrap();
    let started = Instant::now();
    while scratch_databases(cluster).is_empty() {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the restore ended before it was stopped"
        );
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "no scratch database appeared"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(5), "{status}");
    assert!(!exists(cluster, "big_out"));
    assert!(
        scratch_databases(cluster).is_empty(),
        "{:?}",
        cluster.databases()
    );
    let log = std::fs::read_to_string(site.path("restore.log")).unwrap();
    assert!(log.contains("interrupted"), "{log}");
    drop_database(cluster, "big_src");
}
