//! The split action end to end: part names and sizes exactly as GNU split writes them (run
//! beside it on a copy), the strict limit, names the original cannot handle, a part size
//! under one byte, modes, and restore by concatenation.

use std::fs;
use std::path::Path;
use std::process::Command;

use crate::offsite_support::*;

fn section(limit: &str, size: &str) -> String {
    format!("<split><size_limit>{limit}</size_limit><split_size>{size}</split_size></split>")
}

/// The parts GNU split writes for `name` holding `data`, with the original's options.
fn gnu_split(dir: &Path, name: &str, data: &[u8], bytes: u64) -> Option<Vec<(String, Vec<u8>)>> {
    fs::create_dir_all(dir).unwrap();
    fs::write(dir.join(name), data).unwrap();
    let status = Command::new("split")
        .current_dir(dir)
        .args(["--verbose", "--numeric-suffixes", "--suffix-length=5"])
        .arg(format!("--bytes={bytes}"))
        .arg(name)
        .arg(format!("{name}_"))
        .output()
        .ok()?;
    assert!(status.status.success());
    fs::remove_file(dir.join(name)).unwrap();
    Some(tree(dir).into_iter().collect())
}

#[test]
fn parts_are_named_and_sized_as_gnu_split_makes_them() {
    let site = OffsiteMaster::new();
    let big = noise(2500, 5);
    let odd = "odd [x]+$(y) 'q\"";
    let day = site.stage_day(
        TODAY_DIR,
        &[
            ("h/big", &big),
            (&format!("h/{odd}"), &big[..1500]),
            ("h/at-limit", &[1u8; 1000]),
            ("h/over", &[2u8; 1001]),
            ("h/cback.collect", b""),
            ("h/cback.big", &[3u8; 5000]),
        ],
        true,
    );
    // 0.75 KB is 768 bytes; limit 1000 bytes (1e3).
    let config = site.config("", &section("1e3", "0.75 KB"));
    site.cback(&config, &["--debug", "split"])
        .assert()
        .success();
    let files = tree(&day);
    let mut expected: Vec<(String, Vec<u8>)> = Vec::new();
    match gnu_split(&site.root.join("gnu"), "big", &big, 768) {
        Some(parts) => {
            for (name, data) in &parts {
                expected.push((format!("h/{name}"), data.clone()));
            }
            assert_eq!(parts.len(), 4);
        }
        None => skipped("comparison with GNU split", "split is not installed"),
    }
    for (name, data) in &expected {
        assert_eq!(files.get(name), Some(data), "{name}");
    }
    let names: Vec<&String> = files.keys().collect();
    assert_eq!(
        names,
        vec![
            "cback.split",
            "cback.stage",
            "h/at-limit",
            "h/big_00000",
            "h/big_00001",
            "h/big_00002",
            "h/big_00003",
            "h/cback.big",
            "h/cback.collect",
            &format!("h/{odd}_00000"),
            &format!("h/{odd}_00001"),
            "h/over_00000",
            "h/over_00001",
        ]
    );
    assert_eq!(files["h/big_00003"].len(), 2500 - 3 * 768);
    // Restore: the parts in order.
    let joined: Vec<u8> = (0..4)
        .flat_map(|i| files[&format!("h/big_0000{i}")].clone())
        .collect();
    assert_eq!(joined, big);
    assert!(site.log().contains(&format!(
        "Completed removing old file [{}].",
        day.join("h/big").display()
    )));
    assert!(site
        .log()
        .contains("Executed the split extended action successfully."));
}

#[test]
fn a_file_above_the_limit_but_not_the_part_size_is_one_part() {
    let site = OffsiteMaster::new();
    let day = site.stage_day(TODAY_DIR, &[("h/f", &[9u8; 50])], true);
    let config = site.config("", &section("10", "100"));
    site.cback(&config, &["split"]).assert().success();
    let files = tree(&day);
    assert_eq!(files.get("h/f_00000").map(Vec::len), Some(50));
    assert!(!files.contains_key("h/f"));
    let umask = fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| {
            l.strip_prefix("Umask:")
                .map(|v| u32::from_str_radix(v.trim(), 8).unwrap())
        })
        .unwrap();
    assert_eq!(mode(&day.join("h/f_00000")), 0o666 & !umask);
    // A second run finds the indicator and does nothing.
    site.cback(&config, &["split"]).assert().success();
    assert_eq!(tree(&day), files);
}

#[test]
fn a_part_size_under_one_byte_fails_as_split_refuses_it() {
    let site = OffsiteMaster::new();
    let day = site.stage_day(TODAY_DIR, &[("h/f", &[9u8; 50])], true);
    let before = tree(&day);
    let config = site.config("", &section("10", "0.5"));
    let out = site
        .cback(&config, &["split"])
        .assert()
        .code(6)
        .get_output()
        .stderr
        .clone();
    let err = String::from_utf8_lossy(&out);
    assert!(
        err.contains(&format!(
            "Error [1] calling split for [{}].",
            day.join("h/f").display()
        )),
        "{err}"
    );
    assert_eq!(tree(&day), before);
}
