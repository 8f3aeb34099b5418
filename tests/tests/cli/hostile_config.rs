//! Hostile configuration documents: each is refused with exit 4 and a one-line message that
//! names the limit it hit, quickly, in bounded memory, with a short output. The documents are
//! generated here, not stored.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use cback_tests::peak_rss::output_with_peak_rss;

/// Peak memory a refused document may cost the `cback` process.
const MAX_RSS_KIB: u64 = 100 * 1024;
/// Wall time a refused document may take: a bound that tells refusing from the pathological
/// (before the limits cback ran out of memory or stack on these documents; the original takes
/// 11 s on two million siblings), loose enough for the debug build on a loaded 2-core machine.
/// The release build's figures (0.02 to 0.10 s) are in the README.
const MAX_WALL: Duration = Duration::from_secs(30);
/// What standard output, standard error and the log file may hold together.
const MAX_OUTPUT: usize = 4 * 1024;

const OPTIONS: &str = "<options><starting_day>monday</starting_day><working_dir>/tmp</working_dir>\
    <backup_user>root</backup_user><backup_group>root</backup_group>\
    <rcp_command>scp</rcp_command></options><purge/>";

struct ConfigOutcome {
    code: Option<i32>,
    stderr: String,
    output_bytes: usize,
    wall: Duration,
    peak_kib: u64,
}

/// Runs `cback --config FILE validate` on `document` with its peak memory measured.
fn run(document: &[u8]) -> ConfigOutcome {
    run_with(document, &["validate"])
}

/// Runs `cback --config FILE ARGS...` on `document` with its peak memory measured.
fn run_with(document: &[u8], args: &[&str]) -> ConfigOutcome {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("cback.conf");
    std::fs::write(&config, document).unwrap();
    run_config(&config, args)
}

/// Runs `cback --config CONFIG ARGS...` with its peak memory measured.
fn run_config(config: &Path, args: &[&str]) -> ConfigOutcome {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("cback.log");
    let cback = crate::BIN.cback_path();
    let started = Instant::now();
    let (out, peak_kib) = output_with_peak_rss(
        Command::new(cback)
            .arg("--config")
            .arg(config)
            .arg("--logfile")
            .arg(&log)
            .args(args)
            .env_remove("CEDAR_LOG")
            .env("LANG", "C"),
    )
    .unwrap();
    let wall = started.elapsed();
    let log_bytes = std::fs::metadata(&log).map_or(0, |m| m.len() as usize);
    ConfigOutcome {
        code: out.status.code(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        output_bytes: out.stdout.len() + out.stderr.len() + log_bytes,
        wall,
        peak_kib,
    }
}

/// `document` is refused with exit 4 and one line of standard error that contains `message`,
/// within the time, memory and output bounds.
fn assert_refused(what: &str, document: &[u8], message: &str) -> ConfigOutcome {
    let o = run(document);
    eprintln!(
        "{what}: {} bytes, exit {:?}, {:.2} s, peak {} KiB, {} bytes of output",
        document.len(),
        o.code,
        o.wall.as_secs_f64(),
        o.peak_kib,
        o.output_bytes
    );
    assert_eq!(o.code, Some(4), "{what}: {}", o.stderr);
    assert!(o.stderr.contains(message), "{what}: {}", o.stderr);
    assert_eq!(
        o.stderr.trim_end().lines().count(),
        1,
        "{what}: {}",
        o.stderr
    );
    assert!(o.wall < MAX_WALL, "{what}: took {:?}", o.wall);
    assert!(o.peak_kib < MAX_RSS_KIB, "{what}: peak {} KiB", o.peak_kib);
    assert!(
        o.output_bytes <= MAX_OUTPUT,
        "{what}: {} bytes of output",
        o.output_bytes
    );
    o
}

fn document(doctype: &str, body: &str) -> Vec<u8> {
    format!("<?xml version=\"1.0\"?>\n{doctype}\n<cb_config>{body}{OPTIONS}</cb_config>\n")
        .into_bytes()
}

#[test]
fn billion_laughs_is_refused() {
    let mut decls = String::from("<!ENTITY lol0 \"lol\">");
    for i in 1..10 {
        let refs = format!("&lol{};", i - 1).repeat(10);
        decls.push_str(&format!("<!ENTITY lol{i} \"{refs}\">"));
    }
    let doc = document(
        &format!("<!DOCTYPE cb_config [{decls}]>"),
        "<reference><author>&lol9;</author></reference>",
    );
    assert!(doc.len() < 2048);
    assert_refused(
        "billion laughs",
        &doc,
        "refused: entity expansion exceeds 1048576 bytes",
    );
}

#[test]
fn one_large_entity_used_many_times_is_refused() {
    let doc = document(
        &format!(
            "<!DOCTYPE cb_config [<!ENTITY e \"{}\">]>",
            "x".repeat(50_000)
        ),
        &format!(
            "<reference><author>{}</author></reference>",
            "&e;".repeat(50_000)
        ),
    );
    assert_refused(
        "50 KB entity used 50,000 times",
        &doc,
        "refused: entity expansion exceeds 1048576 bytes",
    );
}

#[test]
fn a_million_nested_elements_are_refused() {
    let n = 1_000_000;
    let doc = document("", &format!("{}{}", "<a>".repeat(n), "</a>".repeat(n)));
    assert_refused(
        "1,000,000 nested elements",
        &doc,
        "refused: elements are nested deeper than 100",
    );
}

#[test]
fn two_million_sibling_elements_are_refused() {
    let doc = document("", &"<a/>".repeat(2_000_000));
    assert_refused(
        "2,000,000 empty siblings",
        &doc,
        "refused: the document has more than 100000 elements",
    );
}

#[test]
fn millions_of_comments_are_refused() {
    let doc = document("", &"<!---->".repeat(2_000_000));
    assert_refused(
        "2,000,000 comments",
        &doc,
        "refused: the document has more than 300000 nodes",
    );
}

#[test]
fn an_element_with_a_million_attributes_is_refused() {
    let attrs: String = (0..1_000_000).map(|i| format!(" a{i}=\"1\"")).collect();
    let doc = document("", &format!("<reference{attrs}/>"));
    assert_refused(
        "1,000,000 attributes",
        &doc,
        "refused: an element has more than 256 attributes",
    );
}

#[test]
fn half_a_million_entity_declarations_are_refused() {
    let decls: String = (0..500_000)
        .map(|i| format!("<!ENTITY e{i} \"v\">"))
        .collect();
    let doc = document(&format!("<!DOCTYPE cb_config [{decls}]>"), "");
    assert_refused(
        "500,000 entity declarations",
        &doc,
        "refused: the document type declares more than 10000 entities",
    );
}

#[test]
fn a_ten_megabyte_value_is_quoted_short() {
    let body = OPTIONS.replace(
        "<starting_day>monday</starting_day>",
        &format!("<starting_day>{}</starting_day>", "x".repeat(10_000_000)),
    );
    let doc = format!("<cb_config>{body}</cb_config>").into_bytes();
    let o = assert_refused(
        "10 MB <starting_day>",
        &doc,
        "<options><starting_day>: `xxxx",
    );
    assert!(
        o.stderr
            .contains("… (10000000 bytes in all)` is not one of monday"),
        "{}",
        o.stderr
    );
}

#[test]
fn an_external_entity_is_never_read() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret");
    std::fs::write(&secret, "TOPSECRET-LINE\n").unwrap();
    for (doctype, body) in [
        (
            format!(
                "<!DOCTYPE cb_config [<!ENTITY s SYSTEM \"{}\">]>",
                secret.display()
            ),
            "<reference><author>&s;</author></reference>",
        ),
        (
            format!(
                "<!DOCTYPE cb_config [<!ENTITY s SYSTEM \"file://{}\">]>",
                secret.display()
            ),
            "<options><backup_user>&s;</backup_user></options>",
        ),
    ] {
        let doc = document(&doctype, body);
        let o = run(&doc);
        assert_eq!(o.code, Some(4), "{}", o.stderr);
        assert!(
            o.stderr
                .contains("`&s;` names an external entity, which cback never reads"),
            "{}",
            o.stderr
        );
        assert!(!o.stderr.contains("TOPSECRET"), "{}", o.stderr);
    }
}

/// What a real configuration looks like stays well inside every limit.
#[test]
fn a_large_real_configuration_is_accepted() {
    let dirs: String = (0..5_000)
        .map(|i| {
            format!(
                "<dir><abs_path>/srv/d{i}</abs_path><collect_mode>daily</collect_mode>\
                 <archive_mode>tar</archive_mode><exclude><pattern>.*\\.tmp</pattern>\
                 </exclude></dir>\n"
            )
        })
        .collect();
    let doc = format!(
        "<?xml version=\"1.0\"?>\n<!DOCTYPE cb_config [<!ENTITY base \"/srv\">]>\n\
         <cb_config>{OPTIONS}<collect><collect_dir>&base;/collect</collect_dir>\
         <ignore_file>.cbignore</ignore_file>{dirs}</collect></cb_config>\n"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.conf");
    std::fs::write(&path, &doc).unwrap();
    let parsed = cedar_core::ConfigFile::load(Path::new(&path)).unwrap();
    let collect = parsed.config.collect.unwrap();
    assert_eq!(collect.dirs.len(), 5_000);
    assert_eq!(collect.collect_dir.as_deref(), Some("/srv/collect"));
}

/// A megabyte-long (but valid) extension name and module: `validate` reports them, and the
/// plan and the log show them, in a few hundred bytes each.
#[test]
fn a_megabyte_action_name_is_quoted_short() {
    let name = "a".repeat(1_000_000);
    let module = format!("m.{}", "b".repeat(1_000_000));
    let doc = document(
        "",
        &format!(
            "<reference/><extensions><action><name>{name}</name><module>{module}</module>\
             <function>f</function><index>1</index></action></extensions>"
        ),
    );
    let o = run_with(&doc, &["validate"]);
    assert_eq!(o.code, Some(6), "{}", o.stderr);
    assert!(
        o.stderr.contains("is not built into this cback"),
        "{}",
        &o.stderr[..o.stderr.len().min(2000)]
    );
    // validate logs each problem, then fails with all of them (logged and on standard error):
    // three copies of two clipped problems, with the log's own lines.
    assert!(o.output_bytes <= 2 * MAX_OUTPUT, "{} bytes", o.output_bytes);
    let o = run_with(&doc, &[&name[..100_000]]);
    assert_eq!(o.code, Some(4), "{}", o.stderr);
    assert!(o.stderr.contains("is not a valid action"), "{}", o.stderr);
    assert!(o.output_bytes <= MAX_OUTPUT, "{} bytes", o.output_bytes);
}

/// An endless file stops at the size limit; random bytes get a clear error.
#[test]
fn dev_zero_and_random_bytes_are_refused() {
    let o = run_config(Path::new("/dev/zero"), &["validate"]);
    assert_eq!(o.code, Some(4), "{}", o.stderr);
    assert!(
        o.stderr.contains("the file is larger than 16 MiB"),
        "{}",
        o.stderr
    );
    assert!(o.peak_kib < MAX_RSS_KIB, "peak {} KiB", o.peak_kib);
    assert!(o.output_bytes <= MAX_OUTPUT, "{} bytes", o.output_bytes);

    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    let noise: Vec<u8> = (0..1 << 20)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect();
    let o = run_with(&noise, &["validate"]);
    assert_eq!(o.code, Some(4), "{}", o.stderr);
    assert!(o.stderr.contains("not UTF-8"), "{}", o.stderr);
    assert_eq!(o.stderr.trim_end().lines().count(), 1, "{}", o.stderr);
    assert!(o.output_bytes <= MAX_OUTPUT, "{} bytes", o.output_bytes);
}
