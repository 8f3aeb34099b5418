//! End-to-end: the fast path of the PostgreSQL extension (issue #5) against a real server.
//! Block-parallel gzip and bzip2 and multithreaded zstd read in full by the real `gzip`,
//! `bzip2` and `zstd` binaries and restored with psql; `<compress_level>`; `<jobs>` with a
//! failing database and with an interrupt; the summary line; no progress display without a
//! terminal, and one on a terminal.
//!
//! Memory is not tested here (no timed or measured tests): `scripts/bench.sh` reports peak RSS
//! at several scales.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use cback_tests::pg::{self, ClusterOptions, PgRunDir, ODD_DATABASE};
use cback_tests::terminal::{on_a_terminal, Screen};

/// A database whose dump is several compression blocks long (about 6 MB of plain SQL).
const BULK: &str = "bulk";

/// The shared cluster of this test binary, with the bulk database added once.
fn cluster() -> Option<&'static pg::Cluster> {
    static BULK_READY: OnceLock<()> = OnceLock::new();
    let cluster = pg::shared()?;
    BULK_READY.get_or_init(|| {
        cluster.psql("postgres", &format!("CREATE DATABASE {BULK};"));
        cluster.psql(
            BULK,
            "CREATE TABLE readings (id int PRIMARY KEY, sensor text NOT NULL, value float8, \
                                    note text);\n\
             INSERT INTO readings SELECT i, 'sensor-' || (i % 97), i * 0.37, \
                    md5(i::text) || ' reading ' || i FROM generate_series(1, 80000) i;\n\
             CREATE TABLE events (id bigserial PRIMARY KEY, happened timestamptz NOT NULL, \
                                  payload text);\n\
             INSERT INTO events (happened, payload) SELECT \
                    timestamptz '2024-01-01 00:00:00+00' + i * interval '1 minute', \
                    repeat(chr(65 + i % 26), 1 + i % 40) FROM generate_series(1, 40000) i;",
        );
    });
    Some(cluster)
}

/// Runs cback to the end.
fn run(mut cmd: Command) -> Output {
    cmd.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .expect("run cback")
}

/// The output of a real decompressor (`gzip -dc FILE` and so on); panics when it fails.
fn decompress_with(tool: &str, path: &Path) -> Vec<u8> {
    let output = Command::new(tool)
        .arg("-dc")
        .arg(path)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {tool} (install it): {e}"));
    assert!(
        output.status.success(),
        "{tool} -dc {} failed: {}",
        path.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// The number of gzip members in `bytes`, each read to its end.
fn gzip_members(bytes: &[u8]) -> usize {
    let mut rest = bytes;
    let mut members = 0;
    while !rest.is_empty() {
        let mut member = flate2::bufread::GzDecoder::new(rest);
        std::io::copy(&mut member, &mut std::io::sink()).expect("a valid gzip member");
        rest = member.into_inner();
        members += 1;
    }
    members
}

/// The number of bzip2 streams in `bytes` (a stream header followed by a block header).
fn bzip2_streams(bytes: &[u8]) -> usize {
    let start = b"BZh91AY&SY";
    bytes.windows(start.len()).filter(|w| w == start).count()
}

#[test]
fn every_mode_is_read_in_full_by_the_real_tools_and_restores_with_psql() {
    let Some(source) = cluster() else { return };
    let Some(target) = pg::own(&ClusterOptions::default()) else {
        return;
    };
    let expected_rows = source.row_counts(BULK);
    assert_eq!(expected_rows["public.readings"], 80000);
    let plain = source.pg_dump(BULK);
    assert!(plain.len() > 4 << 20, "the dump spans several blocks");

    for (mode, tool, ext) in [
        ("gzip", "gzip", ".gz"),
        ("bzip2", "bzip2", ".bz2"),
        ("zstd", "zstd", ".zst"),
    ] {
        let site = PgRunDir::new(crate::BIN);
        site.config(&pg::section(mode, &[BULK], ""), &[]);
        site.cback(Some(source), &["postgresql"]).assert().success();
        let name = format!("postgresqldump-{BULK}.txt{ext}");
        assert_eq!(site.entries(), vec![name.clone()], "{mode}");
        let path = site.collect.join(&name);
        let bytes = std::fs::read(&path).unwrap();
        match mode {
            "gzip" => assert!(gzip_members(&bytes) >= 4, "gzip: one member per block"),
            "bzip2" => assert!(bzip2_streams(&bytes) >= 4, "bzip2: one stream per block"),
            _ => assert_eq!(&bytes[..4], &[0x28, 0xb5, 0x2f, 0xfd], "a zstd frame"),
        }
        let dump = decompress_with(tool, &path);
        assert!(
            pg::same_dump(&dump, &plain),
            "{mode}: `{tool} -dc` does not give pg_dump's output back in full"
        );
        assert_eq!(
            pg::read_dump(&path),
            dump,
            "{mode}: the harness reads the same"
        );

        let restored = format!("{BULK} from {mode}");
        target.restore(&restored, true, &dump);
        assert_eq!(target.row_counts(&restored), expected_rows, "{mode}");
    }
}

#[test]
fn compress_level_is_honoured() {
    let Some(cluster) = cluster() else { return };
    let mut sizes = BTreeMap::new();
    // The gzip header's XFL byte says which level made a member: 4 fastest, 2 best, 0 else.
    for (level, xfl) in [(None, 0u8), (Some(1), 4), (Some(9), 2)] {
        let site = PgRunDir::new(crate::BIN);
        let extra = level
            .map(|l| format!("    <compress_level>{l}</compress_level>"))
            .unwrap_or_default();
        site.config(&pg::section("gzip", &[BULK], &extra), &[]);
        site.cback(Some(cluster), &["postgresql"])
            .assert()
            .success();
        let path = site.collect.join(format!("postgresqldump-{BULK}.txt.gz"));
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(bytes[8], xfl, "level {level:?}");
        assert!(pg::same_dump(
            &decompress_with("gzip", &path),
            &cluster.pg_dump(BULK)
        ));
        sizes.insert(level.unwrap_or(6), bytes.len());
    }
    assert!(sizes[&1] > sizes[&6] && sizes[&6] >= sizes[&9], "{sizes:?}");

    let site = PgRunDir::new(crate::BIN);
    site.config(
        &pg::section("zstd", &[BULK], "    <compress_level>19</compress_level>"),
        &[],
    );
    site.cback(Some(cluster), &["postgresql"])
        .assert()
        .success();
    let path = site.collect.join(format!("postgresqldump-{BULK}.txt.zst"));
    assert!(pg::same_dump(
        &decompress_with("zstd", &path),
        &cluster.pg_dump(BULK)
    ));
}

#[test]
fn a_bad_compress_level_or_jobs_is_refused_before_any_dump() {
    let site = PgRunDir::new(crate::BIN);
    site.config(
        &pg::section(
            "bzip2",
            &["shop"],
            "    <compress_level>10</compress_level>\n    <jobs>0</jobs>",
        ),
        &[],
    );
    for action in ["postgresql", "validate"] {
        let output = run(site.command(None, &[action]));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(6), "{action}: {stderr}");
        assert!(
            stderr.contains("<compress_level> `10` is not a bzip2 level between 1 and 9"),
            "{action}: {stderr}"
        );
        assert!(
            stderr.contains("<jobs> `0` is not a number of dumps between 1 and 64"),
            "{action}: {stderr}"
        );
    }
    site.config(
        &pg::section("none", &["shop"], "    <compress_level>3</compress_level>"),
        &[],
    );
    let output = run(site.command(None, &["postgresql"]));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(6), "{stderr}");
    assert!(
        stderr.contains("needs a compressing <compress_mode>"),
        "{stderr}"
    );
    assert!(site.all_entries().is_empty());
}

#[test]
fn jobs_dump_several_databases_at_once_and_name_the_failing_one() {
    let Some(cluster) = cluster() else { return };
    let site = PgRunDir::new(crate::BIN);
    let missing = "no such db";
    let yesterday_name = format!("postgresqldump-{missing}.txt.gz");
    let yesterday = site.yesterday(&yesterday_name);
    let databases = ["shop", missing, BULK, "inventory", ODD_DATABASE];
    site.config(&pg::section("gzip", &databases, "    <jobs>3</jobs>"), &[]);
    let output = run(site.command(Some(cluster), &["postgresql"]));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(6), "{stderr}");
    assert!(
        stderr.contains("1 of 5 PostgreSQL dumps failed (the others were written)"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("the dump of database [{missing}] failed"))
            && stderr.contains(&format!("database \"{missing}\" does not exist")),
        "{stderr}"
    );
    for good in ["shop", BULK, "inventory", ODD_DATABASE] {
        assert!(
            !stderr.contains(&format!("database [{good}]")),
            "{good} is not named as a failure:\n{stderr}"
        );
        let path = site.collect.join(format!("postgresqldump-{good}.txt.gz"));
        assert!(
            pg::same_dump(&decompress_with("gzip", &path), &cluster.pg_dump(good)),
            "{good}"
        );
    }
    assert!(site.hidden_entries().is_empty(), "{:?}", site.all_entries());
    assert_eq!(
        std::fs::read(site.collect.join(&yesterday_name)).unwrap(),
        yesterday
    );
    let log = site.log_text();
    assert!(log.contains("Running up to 3 dumps at once"), "{log}");
    for good in ["shop", BULK, "inventory", ODD_DATABASE] {
        assert!(
            log.contains(&format!("Dumped database [{good}]: ")),
            "a summary line for {good}:\n{log}"
        );
    }

    // The run status has a result for every database, the failed one included.
    let status = std::fs::read_to_string(site.path("work").join("cback-status.json")).unwrap();
    let status: serde_json::Value = serde_json::from_str(&status).unwrap();
    let results = status["databases"]
        .as_array()
        .expect("per-database results");
    for db in databases {
        let result = results
            .iter()
            .find(|r| r["database"] == db)
            .unwrap_or_else(|| panic!("no status for {db}: {results:?}"));
        assert_eq!(result["success"], db != missing, "{db}");
        if db != missing {
            assert!(result["raw_bytes"].as_u64().unwrap() > result["bytes"].as_u64().unwrap());
        }
    }
}

#[test]
fn an_interrupt_stops_every_running_dump() {
    let Some(cluster) = cluster() else { return };
    let victims = ["jobs victim 1", "jobs victim 2"];
    for db in victims {
        cluster.create_small_database(db, 50);
    }
    let site = PgRunDir::new(crate::BIN);
    let names: Vec<String> = victims
        .iter()
        .map(|db| format!("postgresqldump-{db}.txt.zst"))
        .collect();
    let yesterdays: Vec<Vec<u8>> = names.iter().map(|n| site.yesterday(n)).collect();
    let mut databases = victims.to_vec();
    databases.push("shop");
    site.config(&pg::section("zstd", &databases, "    <jobs>2</jobs>"), &[]);
    // Both pg_dumps block on a lock, so both are running when the signal comes.
    let locks: Vec<_> = victims
        .iter()
        .map(|db| cluster.hold_lock(db, "t"))
        .collect();
    let cback = site
        .command(Some(cluster), &["postgresql"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let dumps = loop {
        let dumps: Vec<u32> = pg::children_of(cback.id())
            .into_iter()
            .filter(|(pid, name)| {
                name == "pg_dump"
                    && !pg::proc_strings(*pid, "cmdline")
                        .iter()
                        .any(|a| a == "--version")
            })
            .map(|(pid, _)| pid)
            .collect();
        if dumps.len() == 2 {
            break dumps;
        }
        assert!(Instant::now() < deadline, "two pg_dumps did not start");
        std::thread::sleep(Duration::from_millis(20));
    };
    // Each has its temporary file.
    while site.hidden_entries().len() < 2 {
        assert!(Instant::now() < deadline, "no temporary files appeared");
        std::thread::sleep(Duration::from_millis(20));
    }
    let started = Instant::now();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(cback.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let output = cback.wait_with_output().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "stopped promptly"
    );
    drop(locks);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(5), "{stderr}");
    for pid in dumps {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !pg::process_gone(pid) {
            assert!(Instant::now() < deadline, "pg_dump {pid} still runs");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    assert!(site.hidden_entries().is_empty(), "{:?}", site.all_entries());
    let mut expected = names.clone();
    expected.sort();
    assert_eq!(site.entries(), expected, "shop was not started");
    for (name, content) in names.iter().zip(&yesterdays) {
        assert_eq!(&std::fs::read(site.collect.join(name)).unwrap(), content);
    }
}

#[test]
fn a_summary_line_is_logged_and_nothing_is_drawn_without_a_terminal() {
    let Some(cluster) = cluster() else { return };
    let site = PgRunDir::new(crate::BIN);
    site.config(&pg::section("bzip2", &[BULK], ""), &[]);
    let output = run(site.command(Some(cluster), &["postgresql"]));
    assert!(output.status.success());
    assert!(
        output.stdout.is_empty() && output.stderr.is_empty(),
        "nothing on the screen: {:?} {:?}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let log = site.log_text();
    let line = log
        .lines()
        .find(|l| l.contains(&format!("Dumped database [{BULK}]: ")))
        .unwrap_or_else(|| panic!("no summary line:\n{log}"));
    assert!(line.contains("[INFO   ]"), "{line}");
    for part in ["MB raw, ", "MB written (ratio 0.", " s, ", " MB/s."] {
        assert!(line.contains(part), "`{part}` in {line}");
    }
}

#[test]
fn a_terminal_gets_a_progress_display_unless_quiet() {
    let Some(cluster) = cluster() else { return };
    let site = PgRunDir::new(crate::BIN);
    site.config(&pg::section("gzip", &[BULK, "shop"], ""), &[]);
    let Some(Screen { code, text: screen }) =
        on_a_terminal(&site.command(Some(cluster), &["postgresql"]))
    else {
        return;
    };
    assert_eq!(code, Some(0), "{screen}");
    for db in [BULK, "shop"] {
        assert!(
            screen.contains(&format!("Dumped database [{db}]: ")),
            "the display ends with the summary of {db}:\n{screen}"
        );
    }
    let quiet = on_a_terminal(&site.command(Some(cluster), &["--quiet", "postgresql"]))
        .unwrap()
        .text;
    assert!(
        !quiet.contains("Dumped") && !quiet.contains("database ["),
        "nothing with --quiet:\n{quiet}"
    );
    let _ = std::io::stderr().flush();
}
