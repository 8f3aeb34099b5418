//! End-to-end: collect's progress display, drawn on a terminal only, and its summary line in
//! the log whether drawn or not.

use cback_tests::terminal::{on_a_terminal, Screen};

use crate::collect_support::*;

fn configure(f: &Fixture) {
    f.write_config(
        "<collect><collect_dir>{ROOT}/out</collect_dir><collect_mode>daily</collect_mode><archive_mode>tar</archive_mode><ignore_file>.cbignore</ignore_file>
<dir><abs_path>{ROOT}/src</abs_path></dir></collect>",
        "monday",
    );
}

/// `cback ARGS` of `f` run on a pseudo-terminal.
fn on_terminal(f: &Fixture, args: &[&str]) -> Option<Screen> {
    on_a_terminal(&f.command(WEDNESDAY, args))
}

/// The log's summary lines of collect.
fn summaries(f: &Fixture) -> Vec<String> {
    cback_tests::lines_with(&f.log_text(), "] Collected ")
}

#[test]
fn collect_draws_its_progress_on_a_terminal_only_and_always_logs_a_summary() {
    let f = Fixture::tree();
    // A file whose archiving lasts well beyond the count of the tree, which runs beside it
    // (a few files, counted in a millisecond, against 128 MiB written): the line is drawn
    // with the totals while it is archived, even on a loaded machine.
    let large = f.src().join("large.bin");
    std::fs::File::create(&large)
        .and_then(|file| file.set_len(128 << 20))
        .unwrap();
    configure(&f);
    let Some(screen) = on_terminal(&f, &["collect"]) else {
        return;
    };
    assert_eq!(screen.code, Some(0), "{}", screen.text);
    let archive = f.out().join(format!("{}-src.tar", f.normalized_root()));
    let files = members(&archive).len();
    let summary = format!("Collected {files} files, ");
    assert!(
        screen.text.contains(&summary) && screen.text.contains("/s)."),
        "the display ends with the summary `{summary}`:\n{}",
        screen.text
    );
    // The totals, counted beside the archiving, reach the line: it says how far the run is,
    // of what (whichever frame the display's rate limit let through).
    assert!(
        screen
            .frames()
            .any(|f| f.contains("collect ") && f.contains(&format!(" of {files} files")))
            && screen.text.contains(" archived ["),
        "the running line: files and bytes archived of the totals:\n{}",
        screen.text
    );
    let logged = summaries(&f);
    assert_eq!(logged.len(), 1, "one summary line per run: {logged:?}");
    assert!(
        logged[0].contains("[INFO   ]") && logged[0].contains(&summary),
        "{logged:?}"
    );

    // --quiet on a terminal: nothing drawn, the summary still logged.
    // (Without the large file from now on: one file fewer.)
    std::fs::remove_file(&large).unwrap();
    let summary = format!("Collected {} files, ", files - 1);
    f.clear_out();
    let quiet = on_terminal(&f, &["--quiet", "collect"]).unwrap();
    assert_eq!(quiet.code, Some(0), "{}", quiet.text);
    assert!(
        !quiet.text.contains("Collected") && !quiet.text.contains("archived"),
        "nothing drawn with --quiet:\n{}",
        quiet.text
    );
    assert_eq!(summaries(&f).len(), 2);

    // Not a terminal (cron, systemd, a pipe): nothing on standard error either.
    f.clear_out();
    f.cback(WEDNESDAY, &["collect"])
        .assert()
        .success()
        .stdout("")
        .stderr("");
    let logged = summaries(&f);
    assert_eq!(logged.len(), 3, "{logged:?}");
    assert!(logged[2].contains(&summary), "{logged:?}");
}
