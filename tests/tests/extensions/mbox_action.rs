//! End-to-end: `cback mbox` on mbox files and directories the tests write, with the real
//! `grepmail`. Full and incremental runs, each compress mode, directories (a non-mbox file, a
//! soft link, a subdirectory, exclusions) into tar files, duplicates, state files read and
//! written in the original's format (and taken over from the original and back), and a failure
//! of each kind.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use cback_tests::ext::{
    self, expected_mode, mode_of, owner_of, read_file, Declared, ExtensionRunDir,
};
use cedar_core::normalize_name;

const MBOX: Declared = Declared::new("mbox", "CedarBackup3.extend.mbox", 99);
const MONDAY: &str = "2026-11-30";
const TUESDAY: &str = "2026-12-01";

/// One message received at `received` (an RFC 2822 date).
fn message(subject: &str, received: &str) -> String {
    format!(
        "From sender@example.com Mon Jan  1 00:00:00 2024\n\
         Received: from mx.example.com by mail.example.com; {received}\n\
         Date: {received}\n\
         From: sender@example.com\n\
         Subject: {subject}\n\
         Message-ID: <{subject}@example.com>\n\
         \n\
         Body of {subject}.\n\n"
    )
}

const PAST: &str = "Mon, 1 Jan 2024 10:00:00 +0000";
const FUTURE: &str = "Tue, 1 Jan 2036 10:00:00 +0000";

fn grepmail(test: &str) -> Option<PathBuf> {
    ext::tool(test, "grepmail", "grepmail")
}

fn subjects(text: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(text)
        .lines()
        .filter_map(|l| l.strip_prefix("Subject: "))
        .map(str::to_string)
        .collect()
}

/// The local date as the file names have it.
fn today_digits() -> String {
    let out = std::process::Command::new("date")
        .arg("+%Y%m%d")
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn output_name(path: &Path, dir: bool, mode: &str) -> String {
    format!(
        "mbox-{}-{}{}{}",
        today_digits(),
        normalize_name(&path.to_string_lossy()),
        if dir { ".tar" } else { "" },
        ext::suffix(mode)
    )
}

fn state_path(site: &ExtensionRunDir, path: &Path) -> PathBuf {
    site.work.join(format!(
        "{}.mboxlast",
        normalize_name(&path.to_string_lossy())
    ))
}

fn section(collect: &str, compress: &str, items: &str) -> String {
    format!("<mbox><collect_mode>{collect}</collect_mode><compress_mode>{compress}</compress_mode>{items}</mbox>")
}

fn file_item(path: &Path) -> String {
    format!(
        "<file><abs_path>{}</abs_path></file>",
        ext::xml_escape(&path.display().to_string())
    )
}

fn run_on(site: &ExtensionRunDir, day: &str, args: &[&str]) -> assert_cmd::assert::Assert {
    let mut all = args.to_vec();
    all.push("mbox");
    site.cback(&all).env("CEDAR_TODAY", day).assert()
}

/// (name, content) of every member of a (decompressed) tar file.
fn members(tar: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos + 512 <= tar.len() && tar[pos] != 0 {
        let header = &tar[pos..pos + 512];
        let end = header[..100].iter().position(|&b| b == 0).unwrap_or(100);
        let name = String::from_utf8_lossy(&header[..end]).into_owned();
        let size_text = String::from_utf8_lossy(&header[124..136]);
        let size = u64::from_str_radix(size_text.trim_matches(|c: char| c == '\0' || c == ' '), 8)
            .unwrap() as usize;
        assert_eq!(&header[257..263], b"ustar ", "GNU format");
        out.push((name, tar[pos + 512..pos + 512 + size].to_vec()));
        pos += 512 + size.div_ceil(512) * 512;
    }
    out
}

#[test]
fn files_and_directories_full_then_incremental() {
    if grepmail("files_and_directories").is_none() {
        return;
    }
    let site = ExtensionRunDir::new(crate::BIN);
    let file = site.path("my box");
    fs::write(&file, message("one", PAST) + &message("two", PAST)).unwrap();
    let dir = site.path("Mail");
    fs::create_dir_all(dir.join("sub")).unwrap();
    fs::write(dir.join("inbox"), message("three", PAST)).unwrap();
    fs::write(dir.join("notes"), "not a mailbox\n").unwrap();
    fs::write(dir.join("spam"), message("spam", PAST)).unwrap();
    fs::write(dir.join("trash-1"), message("trash", PAST)).unwrap();
    fs::write(dir.join("sub/deep"), message("deep", PAST)).unwrap();
    std::os::unix::fs::symlink("inbox", dir.join("link")).unwrap();
    std::os::unix::fs::symlink("missing", dir.join("broken")).unwrap();
    let items = format!(
        "{}<dir><abs_path>{}</abs_path><compress_mode>bzip2</compress_mode>\
         <exclude><rel_path>spam</rel_path><pattern>.*/trash-[0-9]</pattern></exclude></dir>",
        file_item(&file),
        dir.display()
    );
    site.config(&[MBOX], "monday", &[], &section("incr", "gzip", &items));
    run_on(&site, MONDAY, &[]).success();
    let single = site.collect.join(output_name(&file, false, "gzip"));
    let tar = site.collect.join(output_name(&dir, true, "bzip2"));
    assert_eq!(site.entries(), {
        let mut names = vec![
            output_name(&file, false, "gzip"),
            output_name(&dir, true, "bzip2"),
        ];
        names.sort();
        names
    });
    assert_eq!(subjects(&read_file(&single)), ["one", "two"]);
    let direct = std::process::Command::new("grepmail")
        .args(["-a", "-u"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(
        read_file(&single),
        direct.stdout,
        "grepmail's output, unchanged"
    );
    let mut found: Vec<(String, Vec<String>)> = members(&read_file(&tar))
        .into_iter()
        .map(|(name, content)| (name, subjects(&content)))
        .collect();
    found.sort();
    assert_eq!(
        found,
        vec![
            ("inbox".to_string(), vec!["three".to_string()]),
            ("link".to_string(), vec!["three".to_string()]),
            ("notes".to_string(), vec![]),
        ]
    );
    for path in [&single, &tar] {
        assert_eq!(mode_of(path), expected_mode());
        assert_eq!(owner_of(path), ext::backup_owner());
    }
    for path in [&file, &dir] {
        let state = fs::read(state_path(&site, path)).unwrap();
        assert!(state.starts_with(b"cdatetime\ndatetime\np0\n(c_codecs\nencode\np1\n(V"));
        assert!(state.ends_with(b"\np2\nVlatin1\np3\ntp4\nRp5\ntp6\nRp7\n."));
    }
    // No temporary directory left in working_dir.
    assert!(
        site.work_entries()
            .iter()
            .all(|n| !n.starts_with("cback-mbox-")),
        "{:?}",
        site.work_entries()
    );

    // New mail, received after the first run: the next (incremental) run takes only that.
    let mut text = fs::read_to_string(&file).unwrap();
    text.push_str(&message("new", FUTURE));
    fs::write(&file, text).unwrap();
    fs::write(
        dir.join("inbox"),
        message("three", PAST) + &message("newer", FUTURE),
    )
    .unwrap();
    run_on(&site, TUESDAY, &[]).success();
    assert_eq!(subjects(&read_file(&single)), ["new"]);
    let inbox = members(&read_file(&tar))
        .into_iter()
        .find(|(n, _)| n == "inbox")
        .unwrap();
    assert_eq!(subjects(&inbox.1), ["newer"]);
    // --full: everything again.
    run_on(&site, TUESDAY, &["--full"]).success();
    assert_eq!(subjects(&read_file(&single)), ["one", "two", "new"]);
}

#[test]
fn every_compress_mode_and_duplicates() {
    if grepmail("every_compress_mode").is_none() {
        return;
    }
    let site = ExtensionRunDir::new(crate::BIN);
    let file = site.path("box");
    fs::write(
        &file,
        message("a", PAST) + &message("b", PAST) + &message("a", PAST),
    )
    .unwrap();
    let dir = site.path("dir");
    fs::create_dir(&dir).unwrap();
    fs::write(dir.join("box"), message("c", PAST)).unwrap();
    for mode in ["none", "gzip", "bzip2"] {
        let items = format!(
            "{}<dir><abs_path>{}</abs_path></dir>",
            file_item(&file),
            dir.display()
        );
        site.config(&[MBOX], "monday", &[], &section("daily", mode, &items));
        run_on(&site, TUESDAY, &[]).success();
        let single = site.collect.join(output_name(&file, false, mode));
        assert_eq!(
            subjects(&read_file(&single)),
            ["a", "b"],
            "{mode}: -u drops the duplicate"
        );
        let tar = read_file(&site.collect.join(output_name(&dir, true, mode)));
        assert_eq!(members(&tar).len(), 1, "{mode}");
        let raw = fs::read(&single).unwrap();
        match mode {
            "gzip" => assert_eq!(&raw[..2], b"\x1f\x8b"),
            "bzip2" => assert_eq!(&raw[..3], b"BZh"),
            _ => assert!(raw.starts_with(b"From ")),
        }
    }
    // Daily items keep no state.
    assert!(!state_path(&site, &file).exists());
}

#[test]
fn missing_and_empty_items_fail_and_the_others_are_done() {
    if grepmail("missing_and_empty_items").is_none() {
        return;
    }
    let site = ExtensionRunDir::new(crate::BIN);
    let good = site.path("good");
    fs::write(&good, message("good", PAST)).unwrap();
    let empty = site.path("empty");
    fs::create_dir(&empty).unwrap();
    let items = format!(
        "{}{}<dir><abs_path>{}</abs_path></dir><dir><abs_path>{}</abs_path></dir>",
        file_item(&site.path("missing-box")),
        file_item(&good),
        site.path("missing-dir").display(),
        empty.display()
    );
    site.config(&[MBOX], "monday", &[], &section("incr", "gzip", &items));
    let output = run_on(&site, TUESDAY, &[]).code(6).get_output().clone();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("3 of 4 mbox items failed"), "{stderr}");
    assert!(
        stderr.contains("missing-box") && stderr.contains("does not exist"),
        "{stderr}"
    );
    assert!(
        stderr.contains("Path is not a directory or does not exist on disk"),
        "{stderr}"
    );
    assert!(
        stderr.contains("Empty list cannot be used to generate tarfile"),
        "{stderr}"
    );
    assert_eq!(site.entries(), vec![output_name(&good, false, "gzip")]);
    assert!(!state_path(&site, &site.path("missing-box")).exists());
    assert!(state_path(&site, &good).exists());
}

#[test]
fn a_corrupt_state_file_takes_the_whole_mailbox_and_still_fails() {
    if grepmail("a_corrupt_state_file").is_none() {
        return;
    }
    let site = ExtensionRunDir::new(crate::BIN);
    let file = site.path("box");
    fs::write(&file, message("a", PAST) + &message("b", PAST)).unwrap();
    site.config(
        &[MBOX],
        "monday",
        &[],
        &section("incr", "none", &file_item(&file)),
    );
    let state = state_path(&site, &file);
    fs::write(&state, "I5\n.").unwrap();
    // As the original: the ERROR naming the file, then the whole mailbox and a good stamp;
    // unlike it, the run still exits 6.
    let output = run_on(&site, TUESDAY, &[]).code(6).get_output().clone();
    let stderr = String::from_utf8_lossy(&output.stderr);
    site.assert_logged(&format!(
        "Failed loading revision file [{}] from disk",
        state.display()
    ));
    assert!(
        stderr.contains("corrupt")
            && stderr.contains("not a datetime")
            && stderr.contains("every message was taken"),
        "{stderr}"
    );
    assert_eq!(
        subjects(&read_file(
            &site.collect.join(output_name(&file, false, "none"))
        )),
        ["a", "b"]
    );
    let stamp = fs::read(&state).unwrap();
    assert!(stamp.starts_with(b"cdatetime\ndatetime\n"), "{stamp:?}");
    // The next night reads the new stamp: clean, and none of the old messages again.
    run_on(&site, TUESDAY, &[]).success();
    assert!(subjects(&read_file(
        &site.collect.join(output_name(&file, false, "none"))
    ))
    .is_empty());
}

#[test]
fn a_failing_grepmail_is_named_with_its_message() {
    let site = ExtensionRunDir::new(crate::BIN);
    let file = site.path("box");
    fs::write(&file, message("a", PAST)).unwrap();
    let fake = site.script("grepmail", "echo 'grepmail: cannot parse date' >&2; exit 1");
    site.config(
        &[MBOX],
        "monday",
        &[("grepmail", fake.as_path())],
        &section("daily", "gzip", &file_item(&file)),
    );
    let output = run_on(&site, TUESDAY, &[]).code(6).get_output().clone();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("Error executing grepmail on {}", file.display()))
            && stderr.contains("cannot parse date"),
        "{stderr}"
    );
    assert!(site.entries().is_empty());
}

#[test]
fn the_section_is_checked_with_the_originals_messages() {
    let site = ExtensionRunDir::new(crate::BIN);
    for (section, message) in [
        ("", "Mbox section is required."),
        ("<mbox><collect_mode>incr</collect_mode></mbox>", "At least one mbox file or directory must be configured."),
        (
            "<mbox><collect_mode>incr</collect_mode><file><abs_path>/m</abs_path></file></mbox>",
            "Compress mode must either be set in parent mbox section or individual mbox file.",
        ),
        (
            "<mbox><collect_mode>incr</collect_mode><compress_mode>gzip</compress_mode><dir><abs_path>m</abs_path></dir></mbox>",
            "Absolute path must be, er, an absolute path.",
        ),
    ] {
        site.config(&[MBOX], "monday", &[], section);
        let output = site.cback(&["mbox"]).assert().code(6).get_output().clone();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(message), "{section}: {stderr}");
        let output = site.cback(&["validate"]).assert().code(6).get_output().clone();
        let text = String::from_utf8_lossy(&output.stderr).into_owned()
            + &String::from_utf8_lossy(&output.stdout);
        assert!(text.contains(message), "validate, {section}: {text}");
    }
}

/// The original runs first, cback next (reading the original's stamp), the original last
/// (reading cback's).
#[test]
fn state_files_pass_between_the_original_and_cback() {
    if grepmail("state_files_pass_between").is_none() {
        return;
    }
    let Some(cb3) = ext::original_or_skip("state_files_pass_between") else {
        return;
    };
    let site = ExtensionRunDir::new(crate::BIN);
    let file = site.path("box");
    fs::write(&file, message("old", PAST)).unwrap();
    // A starting day that is not today, so that no run is full by the calendar.
    let today = std::process::Command::new("date")
        .arg("+%A")
        .output()
        .unwrap();
    let day = if String::from_utf8_lossy(&today.stdout).trim() == "Monday" {
        "tuesday"
    } else {
        "monday"
    };
    site.config(
        &[MBOX],
        day,
        &[],
        &section("incr", "gzip", &file_item(&file)),
    );
    site.original(&cb3, &["mbox"]).assert().success();
    let name = site.collect.join(output_name(&file, false, "gzip"));
    assert_eq!(subjects(&read_file(&name)), ["old"]);
    let theirs = fs::read(state_path(&site, &file)).unwrap();
    assert!(theirs.starts_with(b"cdatetime\ndatetime\n"));

    fs::write(&file, message("old", PAST) + &message("new", FUTURE)).unwrap();
    site.cback(&["mbox"]).assert().success();
    assert_eq!(
        subjects(&read_file(&name)),
        ["new"],
        "cback read the original's stamp"
    );
    let ours = fs::read(state_path(&site, &file)).unwrap();
    assert_ne!(ours, theirs, "cback wrote its own stamp");

    site.original(&cb3, &["mbox"]).assert().success();
    assert!(
        !site
            .original_log_text()
            .contains("Failed loading revision file"),
        "{}",
        site.original_log_text()
    );
    assert_eq!(
        subjects(&read_file(&name)),
        ["new"],
        "the original read cback's stamp"
    );
    // The stamps read back in Python as the datetimes they are.
    if let Some(python) = ext::original_python("state_files_pass_between") {
        let mut child = std::process::Command::new(python)
            .args(["-c", "import pickle,sys; d=pickle.load(sys.stdin.buffer); print(type(d).__name__, d.year)"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child.stdin.take().unwrap().write_all(&ours).unwrap();
        let mut out = String::new();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        assert!(child.wait().unwrap().success());
        assert!(out.starts_with("datetime 20"), "{out}");
    }
}
