//! What hooks are told: the environment of the pre- and post-action hooks, and the failure
//! hook of a failed, interrupted or successful run. Each hook script writes its environment
//! to a file that the test reads.

use std::collections::HashMap;
use std::fs;
use std::path::Path;

use crate::cli::{wait_for_file, CliRunDir};

/// A hook command that writes the CBACK_ variables to `file`, one `NAME=value` a line.
fn env_to(file: &Path) -> String {
    format!("sh -c \"env | grep ^CBACK_ > {}\"", file.display())
}

/// The variables a hook wrote with [`env_to`].
fn read_env(file: &Path) -> HashMap<String, String> {
    let text = fs::read_to_string(file)
        .unwrap_or_else(|e| panic!("the hook did not write {}: {e}", file.display()));
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn status_json(site: &CliRunDir) -> serde_json::Value {
    let text = fs::read_to_string(site.path("work").join("cback-status.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn pre_and_post_hooks_get_the_action_its_state_and_the_run() {
    let site = CliRunDir::new();
    let (pre, post, failure) = (site.path("pre"), site.path("post"), site.path("failure"));
    let config = site.config(
        "",
        &format!(
            "<pre_action_hook><action>collect</action><command>{}</command></pre_action_hook>\
             <post_action_hook><action>collect</action><command>{}</command></post_action_hook>\
             <failure_hook>{}</failure_hook>",
            env_to(&pre),
            env_to(&post),
            env_to(&failure)
        ),
        "",
    );
    site.run(&config, &["collect"]).code(0);
    let pre = read_env(&pre);
    let post = read_env(&post);
    let status_file = site.path("work").join("cback-status.json");
    assert_eq!(pre["CBACK_ACTION"], "collect");
    assert_eq!(pre["CBACK_STATUS"], "running");
    assert_eq!(pre["CBACK_ERROR"], "");
    assert_eq!(pre["CBACK_STATUS_FILE"], status_file.display().to_string());
    assert_eq!(post["CBACK_ACTION"], "collect");
    assert_eq!(post["CBACK_STATUS"], "ok");
    // One id for the whole run, the one its status records.
    let run_id = &pre["CBACK_RUN_ID"];
    assert!(run_id.contains('T') && run_id.contains('-'), "{run_id}");
    assert_eq!(&post["CBACK_RUN_ID"], run_id);
    assert_eq!(status_json(&site)["run_id"], run_id.as_str());
    // A run that succeeded runs no failure hook.
    assert!(!failure.exists());
    // The next run has an id of its own.
    site.run(&config, &["collect"]).code(0);
    assert_ne!(&read_env(&site.path("pre"))["CBACK_RUN_ID"], run_id);
}

#[test]
fn a_failed_run_runs_the_failure_hook_once_after_its_status_is_written() {
    let site = CliRunDir::new();
    let (failure, copy) = (site.path("failure"), site.path("status-seen"));
    let config = site.config(
        "",
        &format!(
            "<pre_action_hook><action>collect</action>\
             <command>sh -c \"echo the disk is gone; exit 4\"</command></pre_action_hook>\
             <failure_hook>sh -c \"env | grep ^CBACK_ >> {}; cp $CBACK_STATUS_FILE {}\"</failure_hook>",
            failure.display(),
            copy.display()
        ),
        "",
    );
    site.run(&config, &["collect", "purge"]).code(6);
    let text = fs::read_to_string(&failure).unwrap();
    assert_eq!(
        text.matches("CBACK_RUN_ID=").count(),
        1,
        "ran more than once: {text}"
    );
    let env = read_env(&failure);
    assert_eq!(env["CBACK_STATUS"], "failed");
    assert_eq!(env["CBACK_ACTION"], "collect");
    assert!(
        env["CBACK_ERROR"].starts_with("pre-action hook for action collect (`sh -c"),
        "{env:?}"
    );
    assert!(env["CBACK_ERROR"].contains("exit status: 4"), "{env:?}");
    // The status the hook saw is this run's.
    let seen: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&copy).unwrap()).unwrap();
    assert_eq!(seen["exit_code"], 6);
    assert_eq!(seen["run_id"], env["CBACK_RUN_ID"].as_str());
    assert!(seen["error"].as_str().unwrap().contains("the disk is gone"));
}

#[test]
fn a_failing_failure_hook_is_logged_and_does_not_change_the_exit_status() {
    let site = CliRunDir::new();
    let config = site.config(
        "",
        "<pre_action_hook><action>collect</action><command>false</command></pre_action_hook>\
         <failure_hook>sh -c \"echo no pager reachable; exit 9\"</failure_hook>",
        "",
    );
    site.run(&config, &["collect"]).code(6);
    let log = fs::read_to_string(site.log()).unwrap();
    assert!(
        log.contains("failure hook for action collect (`sh -c \"echo no pager reachable; exit 9\"`) failed with exit status: 9"),
        "{log}"
    );
    assert!(log.contains("no pager reachable"), "{log}");
    assert!(log.contains("the run's exit status is unchanged"), "{log}");
    let missing = site.config(
        "",
        "<pre_action_hook><action>collect</action><command>false</command></pre_action_hook>\
         <failure_hook>/nonexistent/pager</failure_hook>",
        "",
    );
    site.run(&missing, &["collect"]).code(6);
    let log = fs::read_to_string(site.log()).unwrap();
    assert!(log.contains("could not be started"), "{log}");
}

#[test]
fn an_interrupted_run_runs_the_failure_hook_as_interrupted() {
    let site = CliRunDir::new();
    let (started, failure) = (site.path("started"), site.path("failure"));
    let config = site.config(
        "",
        &format!(
            "<pre_action_hook><action>collect</action>\
             <command>sh -c \"touch {}; sleep 30\"</command></pre_action_hook>\
             <failure_hook>{}</failure_hook>",
            started.display(),
            env_to(&failure)
        ),
        "",
    );
    let mut child = site.spawn(&config, &["collect"]);
    wait_for_file(&started, "the hook never started");
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap());
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(5));
    let env = read_env(&failure);
    assert_eq!(env["CBACK_STATUS"], "interrupted");
    assert_eq!(env["CBACK_ACTION"], "collect");
    assert!(
        env["CBACK_ERROR"].starts_with("interrupted during action collect"),
        "{env:?}"
    );
}
