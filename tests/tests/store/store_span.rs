//! cback-span: a staging tree that needs three discs, its questions answered through a pipe;
//! the discs written, checked and marked; and the same command lines as the original's
//! cback3-span for the same answers.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use cback_tests::optical::{image_files, original, skipped, tree_files, Rig};

/// With a 99.9% cushion a CD-RW 74 disc holds 665.60 kB.
const ANSWERS: &str = "y\ny\ny\n99.9\ny\nbest\ny\n\n\n\n";

/// Two daily directories; every file has its own size, so each algorithm's order is fixed.
fn stage(rig: &Rig) -> BTreeMap<String, Vec<u8>> {
    let mut all = BTreeMap::new();
    let mut size = 300_000usize;
    for (day, names) in [
        ("2026/11/30", &["h1/a.tar", "h1/b.tar", "h2/c.tar"][..]),
        (
            "2026/12/01",
            &["h1/d.tar", "h2/e.tar", "h2/deep/f.tar", "h2/small"][..],
        ),
    ] {
        let dir = rig.staging.join(day);
        for name in names {
            let path = dir.join(name);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            let len = if *name == "h2/small" { 17 } else { size };
            size += 1;
            let data: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
            fs::write(&path, &data).unwrap();
        }
        all.extend(tree_files(&dir, &format!("/{day}")));
    }
    // A day already on disc is left alone.
    let stored = rig.stage_day("2026/11/29", &[("old.tar", b"stored".as_slice())]);
    fs::write(stored.join("cback.store"), "").unwrap();
    all
}

fn config(rig: &Rig) -> std::path::PathBuf {
    rig.config(
        "monday",
        "  <source_dir>{STAGE}</source_dir>\n  <media_type>cdrw-74</media_type>\n  <target_device>{DEV}</target_device>\n  <check_data>Y</check_data>\n",
        "",
    )
}

fn span(program: &Path, rig: &Rig, config: &Path, answers: &str, original_style: bool) -> Output {
    let mut cmd = Command::new(program);
    cmd.env("PATH", rig.path_env()).env("LANG", "C");
    if original_style {
        cmd.arg("-c")
            .arg(config)
            .arg("-l")
            .arg(rig.root.join("cb3.log"));
    } else {
        cmd.arg("--config")
            .arg(config)
            .arg("--logfile")
            .arg(&rig.log);
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start span");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(answers.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn three_discs() {
    let rig = Rig::new(crate::BIN);
    let staged = stage(&rig);
    let config = config(&rig);
    let out = span(crate::BIN.span_path(), &rig, &config, ANSWERS, false);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The questions, in the original's order and with its defaults.
    let prompts = [
        "Continue? [Y/n]: ",
        "Is this OK? [Y/n]: ",
        "Continue? [Y/n]: ",
        "What cushion percentage? [4.50]: ",
        "Continue? [Y/n]: ",
        "Which algorithm? [worst]: ",
        "Accept this solution? [Y/n]: ",
        "Please place the first disc in your backup device.\nPress return when ready.",
        "Please replace the disc in your backup device.\nPress return when ready.",
        "Please replace the disc in your backup device.\nPress return when ready.",
        "Completed writing all discs.",
    ];
    let mut at = 0;
    for prompt in prompts {
        let found = stdout[at..]
            .find(prompt)
            .unwrap_or_else(|| panic!("{prompt:?} not after {at} in {stdout}"));
        at += found + prompt.len();
    }
    assert!(stdout.contains("a disc holds 665.60 kB"), "{stdout}");
    assert!(stdout.contains("at least 3 disc(s)"), "{stdout}");
    assert!(stdout.contains("puts your data on 3 disc(s)"), "{stdout}");
    assert!(stdout.contains("Disc 1: 3 files, "), "{stdout}");
    assert!(
        !stdout.contains("2026/11/29"),
        "a stored day is not listed: {stdout}"
    );

    // Three new discs without a label, each checked; together they hold every file once.
    let images = rig.images();
    assert_eq!(images.len(), 3);
    let mut together = BTreeMap::new();
    for image in &images {
        let files = image_files(image);
        assert!(!files.is_empty());
        for (path, data) in files {
            assert!(
                together.insert(path.clone(), data).is_none(),
                "{path} on two discs"
            );
        }
    }
    assert_eq!(together, staged);
    let calls = rig.calls_normalized();
    assert_eq!(calls.iter().filter(|c| c.contains("-prcap")).count(), 1);
    assert_eq!(calls.iter().filter(|c| c.contains("blank=fast")).count(), 3);
    assert_eq!(rig.calls_of("mount").len(), 3);
    assert!(
        calls.iter().all(|c| !c.contains(" -V ")),
        "no label: {calls:#?}"
    );
    // One graft entry per file, under its directory.
    assert!(
        calls
            .iter()
            .any(|c| c.contains(" 2026/12/01/h2/deep/=ROOT/stage/2026/12/01/h2/deep/f.tar")),
        "{calls:#?}"
    );
    for day in ["2026/11/30", "2026/12/01"] {
        assert!(rig.staging.join(day).join("cback.store").is_file(), "{day}");
    }
    assert!(
        rig.work_leftovers().is_empty(),
        "{:?}",
        rig.work_leftovers()
    );
    let log = rig.log_text();
    assert!(
        log.contains("Cedar Backup 'span' utility run completed with status 0."),
        "{log}"
    );
}

#[test]
fn answers_that_stop_and_an_input_that_ends() {
    let rig = Rig::new(crate::BIN);
    stage(&rig);
    let config = config(&rig);
    let out = span(crate::BIN.span_path(), &rig, &config, "n\n", false);
    assert!(out.status.success());
    assert!(rig.calls().is_empty());
    let out = span(crate::BIN.span_path(), &rig, &config, "y\ny\ny\n", false);
    assert_eq!(out.status.code(), Some(6));
    assert!(String::from_utf8_lossy(&out.stderr).contains("standard input ended"));
    assert!(!rig.staging.join("2026/12/01/cback.store").exists());
    // Out-of-range and foreign answers are asked again.
    let out = span(
        crate::BIN.span_path(),
        &rig,
        &config,
        "y\ny\ny\n150\nabc\n99.9\ny\nsome\nworst\nn\nfirst\nn\n",
        false,
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("Enter a number from 0 up to (not including) 100."),
        "{stdout}"
    );
    assert!(
        stdout.contains("Enter a floating point number."),
        "{stdout}"
    );
    assert!(
        stdout.contains("Choice must be one of: first, best, worst, alternate."),
        "{stdout}"
    );
    assert!(
        stdout.contains("The \"worst-fit\" algorithm")
            && stdout.contains("The \"first-fit\" algorithm")
    );
    assert_eq!(
        out.status.code(),
        Some(6),
        "the answers ran out at the algorithm"
    );
}

#[test]
fn a_failed_write_can_be_retried() {
    let rig = Rig::new(crate::BIN);
    stage(&rig);
    let config = config(&rig);
    rig.fail("cdrecord", "*-data*", "cdrecord: write failed, media error");
    let script = rig.bin.join("cdrecord");
    let text = fs::read_to_string(&script).unwrap();
    // Fail once only.
    fs::write(
        &script,
        text.replace(
            "tail -n +2 \"$S/fail/$NAME\" >&2; exit 1;;",
            "tail -n +2 \"$S/fail/$NAME\" >&2; rm -f \"$S/fail/$NAME\"; exit 1;;",
        ),
    )
    .unwrap();
    let out = span(
        crate::BIN.span_path(),
        &rig,
        &config,
        "y\ny\ny\n99.9\ny\nbest\ny\n\ny\n\n\n\n",
        false,
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains("Failed to write the disc:") && stdout.contains("media error"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Retry this step? [Y/n]: Ok, attempting retry."),
        "{stdout}"
    );
    assert_eq!(rig.images().len(), 3);
}

#[test]
fn same_commands_as_the_original() {
    let Some(cb3) = original() else {
        skipped(
            "store_span",
            "the original cback3 is not installed (set CB3_BIN)",
        );
        return;
    };
    let cb3_span = cb3.with_file_name("cback3-span");
    if !cb3_span.is_file() {
        skipped(
            "store_span",
            "cback3-span is not beside the original's cback3",
        );
        return;
    }
    for algorithm in ["first", "best", "worst", "alternate"] {
        let answers = ANSWERS.replace("best", algorithm);
        let theirs = Rig::new(crate::BIN);
        stage(&theirs);
        let out = span(&cb3_span, &theirs, &config(&theirs), &answers, true);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        let ours = Rig::new(crate::BIN);
        stage(&ours);
        let out = span(
            crate::BIN.span_path(),
            &ours,
            &config(&ours),
            &answers,
            false,
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        if algorithm == "first" {
            // first-fit takes files in listing order, which the original does not sort
            // (cback does): only the number of discs can be compared.
            assert_eq!(ours.images().len(), theirs.images().len(), "{algorithm}");
        } else {
            assert_eq!(
                ours.calls_normalized(),
                theirs.calls_normalized(),
                "{algorithm}"
            );
        }
        for day in ["2026/11/30", "2026/12/01"] {
            assert!(theirs.staging.join(day).join("cback.store").is_file());
            assert!(ours.staging.join(day).join("cback.store").is_file());
        }
    }
}
