//! End-to-end: `cback sysinfo`. The three listings into collect_dir (a real run, and runs with
//! the commands redirected by `<override>` to scripts that record their arguments or fail),
//! file names, content, modes and owners, every step attempted, SIGTERM, and the same calls as
//! the original's.

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use cback_tests::ext::{
    self, expected_mode, mode_of, owner_of, read_file, Declared, ExtensionRunDir,
};

const SYSINFO: Declared = Declared::new("sysinfo", "CedarBackup3.extend.sysinfo", 95);
const FILES: [&str; 3] = [
    "dpkg-selections.txt.bz2",
    "fdisk-l.txt.bz2",
    "ls-laR.txt.bz2",
];

/// A site whose three commands are scripts printing their name and arguments; `dpkg_body`
/// replaces the dpkg script.
fn recording_site(dpkg_body: Option<&str>) -> ExtensionRunDir {
    let site = ExtensionRunDir::new(crate::BIN);
    let record = "echo \"$(basename \"$0\") $*\"";
    let dpkg = site.script("dpkg", dpkg_body.unwrap_or(record));
    let fdisk = site.script("fdisk", record);
    let ls = site.script(
        "ls",
        &format!("{record}; echo 'ls: cannot open directory' >&2; exit 2"),
    );
    site.config(
        &[SYSINFO],
        "monday",
        &[
            ("/usr/bin/dpkg", dpkg.as_path()),
            ("/sbin/fdisk", fdisk.as_path()),
            ("ls", ls.as_path()),
        ],
        "",
    );
    site
}

/// What a step of the recording site writes, or `None` when its fixed path has no tool.
fn expected(file: &str) -> Option<&'static str> {
    match file {
        "dpkg-selections.txt.bz2" => Path::new("/usr/bin/dpkg")
            .is_file()
            .then_some("dpkg --get-selections\n"),
        "fdisk-l.txt.bz2" => Path::new("/sbin/fdisk").is_file().then_some("fdisk -l\n"),
        _ => Some("ls -laR /\n"),
    }
}

#[test]
fn overrides_keyed_by_the_fixed_paths_redirect_the_commands() {
    let site = recording_site(None);
    site.cback(&["--output", "sysinfo"]).assert().success();
    let written: Vec<&str> = FILES
        .into_iter()
        .filter(|f| expected(f).is_some())
        .collect();
    assert_eq!(site.entries(), written);
    for file in written {
        let path = site.collect.join(file);
        let text = String::from_utf8(read_file(&path)).unwrap();
        assert_eq!(Some(text.as_str()), expected(file), "{file}");
        assert_eq!(&fs::read(&path).unwrap()[..3], b"BZh", "{file} is bzip2");
        assert_eq!(mode_of(&path), expected_mode(), "{file}");
        assert_eq!(owner_of(&path), ext::backup_owner(), "{file}");
    }
    let log = site.log_text();
    assert!(
        log.contains("Executing command [") && log.contains("with args ['-laR', '/']."),
        "{log}"
    );
    if expected("fdisk-l.txt.bz2").is_some() {
        assert!(
            log.contains("\nfdisk -l\n"),
            "fdisk's output is in the log: {log}"
        );
    }
    // ls complains about unreadable entries as a matter of course: accepted.
    assert!(log.contains("exited with status 2 (accepted)"), "{log}");
    assert!(
        log.contains("Executed the sysinfo extended action successfully."),
        "{log}"
    );
}

#[test]
fn a_failing_step_keeps_yesterdays_file_and_the_others_still_run() {
    if !Path::new("/usr/bin/dpkg").is_file() {
        ext::skipped("a_failing_step_keeps_yesterdays_file", "no /usr/bin/dpkg");
        return;
    }
    let site = recording_site(Some(
        "echo 'partial selections'; echo 'dpkg: error: database is locked' >&2; exit 2",
    ));
    fs::write(site.collect.join(FILES[0]), "yesterday").unwrap();
    let output = site
        .cback(&["sysinfo"])
        .assert()
        .code(6)
        .get_output()
        .clone();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("Debian package dump")
            && stderr.contains("exit status 2")
            && stderr.contains("dpkg: error: database is locked"),
        "{stderr}"
    );
    assert_eq!(fs::read(site.collect.join(FILES[0])).unwrap(), b"yesterday");
    let text = String::from_utf8(read_file(&site.collect.join(FILES[2]))).unwrap();
    assert_eq!(text, "ls -laR /\n", "the step after the failed one ran");
    assert!(
        site.entries().iter().all(|n| !n.starts_with('.')),
        "no temporary file: {:?}",
        site.entries()
    );
    let status: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(site.work.join("cback-status.json")).unwrap())
            .unwrap();
    let steps = status["databases"].as_array().unwrap();
    let dpkg = steps
        .iter()
        .find(|s| s["database"] == FILES[0])
        .expect("the dpkg step is recorded");
    assert_eq!(dpkg["success"], false);
    assert_eq!(dpkg["action"], "sysinfo");
    let prom = fs::read_to_string(site.work.join("cback.prom")).unwrap();
    assert!(
        prom.contains(&format!(
            "cback_extension_item_success{{action=\"sysinfo\",item=\"{}\"}} 0",
            FILES[0]
        )),
        "{prom}"
    );
}

#[test]
fn leftovers_of_a_killed_run_are_removed_and_an_unknown_owner_stops_the_run() {
    let site = recording_site(None);
    let stale = site.collect.join(".ls-laR.txt.bz2.Ab12Z9.tmp");
    let foreign = site.collect.join(".other.txt.Ab12Z9.tmp");
    fs::write(&stale, "partial").unwrap();
    fs::write(&foreign, "not ours").unwrap();
    site.cback(&["sysinfo"]).assert().success();
    assert!(!stale.exists() && foreign.exists());
    assert!(site.log_text().contains("left by an earlier run"));
    if !ext::running_as_root() {
        return;
    }
    let config = fs::read_to_string(site.path("cback.conf")).unwrap();
    let (user, _) = ext::backup_owner();
    fs::write(
        site.path("cback.conf"),
        config.replace(
            &format!("<backup_user>{user}</backup_user>"),
            "<backup_user>no-such-user-cback</backup_user>",
        ),
    )
    .unwrap();
    for file in FILES {
        let _ = fs::remove_file(site.collect.join(file));
    }
    let output = site
        .cback(&["sysinfo"])
        .assert()
        .code(6)
        .get_output()
        .clone();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no-such-user-cback"), "{stderr}");
    assert_eq!(
        site.entries(),
        vec![".other.txt.Ab12Z9.tmp"],
        "nothing was written"
    );
}

#[test]
fn a_command_that_cannot_start_is_named() {
    let site = ExtensionRunDir::new(crate::BIN);
    site.config(
        &[SYSINFO],
        "monday",
        &[("ls", Path::new("/nonexistent/ls"))],
        "",
    );
    let output = site
        .cback(&["sysinfo"])
        .assert()
        .code(6)
        .get_output()
        .clone();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("/nonexistent/ls") && stderr.contains("<override>"),
        "{stderr}"
    );
    assert!(!site.collect.join(FILES[2]).exists());
}

#[test]
fn sigterm_stops_the_command_and_leaves_no_partial_file() {
    let site = ExtensionRunDir::new(crate::BIN);
    let marker = site.path("started");
    let ls = site.script(
        "ls",
        &format!("echo partial; touch '{}'; exec sleep 60", marker.display()),
    );
    site.config(&[SYSINFO], "monday", &[("ls", ls.as_path())], "");
    let mut child = std::process::Command::new(crate::BIN.cback_path())
        .arg("--config")
        .arg(site.path("cback.conf"))
        .arg("--logfile")
        .arg(site.log())
        .arg("sysinfo")
        .stdin(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while !marker.exists() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "ls never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let status = child.wait().unwrap();
    assert!(started.elapsed() < Duration::from_secs(30));
    assert_eq!(status.code(), Some(5), "the interrupted exit status");
    assert!(
        !site
            .entries()
            .iter()
            .any(|n| n.starts_with("ls-laR") || n.starts_with(".ls-laR")),
        "{:?}",
        site.entries()
    );
}

#[test]
fn a_real_run_lists_packages_partitions_and_the_filesystem() {
    let site = ExtensionRunDir::new(crate::BIN);
    site.config(&[SYSINFO], "monday", &[], "");
    site.cback(&["sysinfo"]).assert().success();
    if Path::new("/usr/bin/dpkg").is_file() {
        let ours = read_file(&site.collect.join(FILES[0]));
        let direct = std::process::Command::new("/usr/bin/dpkg")
            .arg("--get-selections")
            .output()
            .unwrap();
        assert_eq!(
            ours, direct.stdout,
            "the decompressed file is dpkg's output"
        );
        assert!(String::from_utf8_lossy(&ours).contains("install"));
    }
    let log = site.log_text();
    if Path::new("/sbin/fdisk").is_file() {
        assert!(site.collect.join(FILES[1]).is_file());
    } else {
        assert!(
            log.contains(
                "Not executing partition table dump since /sbin/fdisk doesn't seem to exist."
            ),
            "{log}"
        );
    }
    let listing = String::from_utf8_lossy(&read_file(&site.collect.join(FILES[2]))).into_owned();
    assert!(
        listing.starts_with("/:\n"),
        "{}",
        &listing[..200.min(listing.len())]
    );
    assert!(listing.contains("\n/usr/bin:\n"), "the listing recurses");
    for file in site.entries() {
        assert_eq!(
            mode_of(&site.collect.join(&file)),
            expected_mode(),
            "{file}"
        );
    }
}

#[test]
fn the_same_calls_and_files_as_the_original() {
    let Some(cb3) = ext::original_or_skip("the_same_calls_and_files_as_the_original") else {
        return;
    };
    let ours = recording_site(None);
    ours.cback(&["sysinfo"]).assert().success();
    let theirs = recording_site(None);
    theirs.original(&cb3, &["sysinfo"]).assert().success();
    assert_eq!(ours.entries(), theirs.entries());
    for file in ours.entries() {
        assert_eq!(
            read_file(&ours.collect.join(&file)),
            read_file(&theirs.collect.join(&file)),
            "{file}"
        );
    }
}

#[test]
fn the_action_needs_the_standard_sections() {
    let site = ExtensionRunDir::new(crate::BIN);
    fs::write(
        site.path("cback.conf"),
        "<?xml version=\"1.0\"?><cb_config><reference/><extensions><action><name>sysinfo</name>\
         <module>CedarBackup3.extend.sysinfo</module><function>executeAction</function>\
         <index>95</index></action></extensions><options><starting_day>monday</starting_day>\
         <working_dir>/tmp</working_dir><backup_user>root</backup_user>\
         <backup_group>root</backup_group><rcp_command>scp</rcp_command></options>\
         <purge/></cb_config>",
    )
    .unwrap();
    let output = site
        .cback(&["sysinfo"])
        .assert()
        .code(6)
        .get_output()
        .clone();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("Cedar Backup configuration is not properly filled in.")
            && stderr.contains("<collect>"),
        "{stderr}"
    );
}
