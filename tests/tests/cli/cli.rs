//! End-to-end tests of the `cback` command line: exit codes, `--dry-run` plans, the run lock
//! and bad input.

use std::fs;
use std::path::{Path, PathBuf};

use predicates::prelude::*;

/// A throwaway directory with a working_dir, a collect_dir and a log file path.
pub(crate) struct Site {
    dir: tempfile::TempDir,
}

impl Site {
    pub(crate) fn new() -> Site {
        let dir = tempfile::tempdir().unwrap();
        for sub in ["work", "collect", "stage", "purge"] {
            fs::create_dir(dir.path().join(sub)).unwrap();
        }
        Site { dir }
    }
    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    fn log(&self) -> PathBuf {
        self.path("cback.log")
    }
    /// Writes a configuration with the standard options and the given extra sections.
    pub(crate) fn config(&self, extensions: &str, extra_options: &str, sections: &str) -> PathBuf {
        let text = format!(
            r#"<?xml version="1.0"?>
<cb_config>
  <reference><author>test</author></reference>
  {extensions}
  <options>
    <starting_day>monday</starting_day>
    <working_dir>{work}</working_dir>
    <backup_user>root</backup_user>
    <backup_group>root</backup_group>
    <rcp_command>/usr/bin/scp -B</rcp_command>
    {extra_options}
  </options>
  <collect>
    <collect_dir>{collect}</collect_dir>
    <collect_mode>daily</collect_mode>
    <archive_mode>tar</archive_mode>
    <ignore_file>.cbignore</ignore_file>
    <dir><abs_path>{collect}</abs_path></dir>
  </collect>
  <purge><dir><abs_path>{purge}</abs_path><retain_days>7</retain_days></dir></purge>
  {sections}
</cb_config>
"#,
            work = self.path("work").display(),
            collect = self.path("collect").display(),
            purge = self.path("purge").display(),
        );
        let path = self.path("cback.conf");
        fs::write(&path, text).unwrap();
        path
    }
    fn plain(&self) -> PathBuf {
        self.config("", "", "")
    }
    /// Runs `cback --config CONFIG --logfile LOG ARGS...`.
    pub(crate) fn run(
        &self,
        config: impl AsRef<Path>,
        args: &[&str],
    ) -> assert_cmd::assert::Assert {
        crate::BIN
            .cback()
            .arg("--config")
            .arg(config.as_ref())
            .arg("--logfile")
            .arg(self.log())
            .args(args)
            .assert()
    }
}

fn dry_run(config: &Path, args: &[&str]) -> assert_cmd::assert::Assert {
    let mut cmd = crate::BIN.cback();
    cmd.arg("--config").arg(config).arg("--dry-run").args(args);
    cmd.assert()
}

/// A successful dry run's plan lines and its indented detail lines, apart.
fn dry_run_split(config: &Path, args: &[&str]) -> (String, Vec<String>) {
    let out = crate::BIN
        .cback()
        .arg("--config")
        .arg(config)
        .arg("--dry-run")
        .args(args)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    let plan = text
        .lines()
        .filter(|l| !l.starts_with(' '))
        .map(|l| format!("{l}\n"))
        .collect();
    let details = text
        .lines()
        .filter(|l| l.starts_with(' '))
        .map(str::to_string)
        .collect();
    (plan, details)
}

#[test]
fn help_and_version_exit_zero() {
    crate::BIN
        .cback()
        .arg("--help")
        .assert()
        .code(0)
        .stdout(predicate::str::contains("--dry-run"));
    crate::BIN
        .cback()
        .arg("-V")
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with("cback "));
    crate::BIN
        .cback()
        .arg("--diagnostics")
        .assert()
        .code(0)
        .stdout(predicate::str::contains("Version.......: cback"));
}

#[test]
fn usage_errors_exit_two() {
    crate::BIN
        .cback()
        .assert()
        .code(2)
        .stderr(predicate::str::contains("at least one action"));
    crate::BIN
        .cback()
        .args(["--bogus", "collect"])
        .assert()
        .code(2);
    crate::BIN
        .cback()
        .args(["-M", "-N", "collect"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("may not be combined"));
    crate::BIN
        .cback()
        .args(["-o", "nogroup", "collect"])
        .assert()
        .code(2);
    crate::BIN
        .cback()
        .args(["-m", "9x", "collect"])
        .assert()
        .code(2);
    crate::BIN.cback().arg("-c").assert().code(2);
}

#[test]
fn unopenable_log_file_exits_three() {
    let site = Site::new();
    crate::BIN
        .cback()
        .arg("--config")
        .arg(site.plain())
        .args(["--logfile", "/nonexistent-dir/cback.log", "validate"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("/nonexistent-dir/cback.log"));
}

#[test]
fn missing_and_unreadable_configuration_exit_four() {
    let site = Site::new();
    site.run(site.path("missing.conf"), &["collect"])
        .code(4)
        .stderr(predicate::str::contains("missing.conf"));
    // A directory cannot be read as a file, even by root.
    site.run(site.path("work"), &["collect"])
        .code(4)
        .stderr(predicate::str::contains("cannot read"));
}

#[test]
fn malformed_xml_exits_four() {
    let site = Site::new();
    let path = site.path("bad.conf");
    fs::write(&path, "<cb_config><options>").unwrap();
    dry_run(&path, &["collect"])
        .code(4)
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains("bad.conf"));
}

#[test]
fn invalid_value_names_file_element_and_value() {
    let site = Site::new();
    let path = site.plain();
    let text = fs::read_to_string(&path)
        .unwrap()
        .replace("<collect_mode>daily", "<collect_mode>hourly");
    fs::write(&path, text).unwrap();
    dry_run(&path, &["collect"])
        .code(4)
        .stderr(predicate::str::contains(path.display().to_string()))
        .stderr(predicate::str::contains("<collect><collect_mode>"))
        .stderr(predicate::str::contains("`hourly`"));
}

#[test]
fn unknown_action_and_bad_combination_exit_four() {
    let site = Site::new();
    let config = site.plain();
    dry_run(&config, &["collect", "bogus"])
        .code(4)
        .stderr(predicate::str::contains(
            "action bogus is not a valid action or extended action",
        ));
    dry_run(&config, &["validate", "collect"])
        .code(4)
        .stderr(predicate::str::contains(
            "action validate may not be combined",
        ));
    dry_run(&config, &["all", "all"]).code(4);
}

#[test]
fn dependency_cycle_and_unknown_dependency_exit_four() {
    let site = Site::new();
    let ext = |name: &str, before: &str| {
        format!(
            "<action><name>{name}</name><module>CedarBackup3.extend.postgresql</module>\
             <function>executeAction</function><depends><run_before>{before}</run_before></depends></action>"
        )
    };
    let config = site.config(
        &format!(
            "<extensions><order_mode>dependency</order_mode>{}{}</extensions>",
            ext("one", "two"),
            ext("two", "one")
        ),
        "",
        "",
    );
    dry_run(&config, &["collect"])
        .code(4)
        .stderr(predicate::str::contains("dependency recursion"));
    let config = site.config(
        &format!(
            "<extensions><order_mode>dependency</order_mode>{}</extensions>",
            ext("one", "nosuch")
        ),
        "",
        "",
    );
    dry_run(&config, &["collect"])
        .code(4)
        .stderr(predicate::str::contains(
            "dependency nosuch on extension one is unknown",
        ));
}

#[test]
fn dry_run_prints_the_plan_and_changes_nothing() {
    let site = Site::new();
    let config = site.config(
        "",
        "<pre_action_hook><action>collect</action><command>/bin/echo before</command></pre_action_hook>\
         <post_action_hook><action>purge</action><command>/bin/true</command></post_action_hook>",
        "<postgresql><compress_mode>gzip</compress_mode><database>db1</database></postgresql>",
    );
    dry_run(&config, &["purge", "collect", "postgresql"])
        .code(0)
        .stdout(
            "run postgresql\npre-hook collect: /bin/echo before\nrun collect\nrun purge\n\
             post-hook purge: /bin/true\n",
        );
    assert!(
        !site.path("work/cback.lock").exists(),
        "a dry run took the lock"
    );
    assert!(!site.log().exists());
}

#[test]
fn dry_run_index_mode_extension_order() {
    let site = Site::new();
    let config = site.config(
        "<extensions>\
           <action><name>pga</name><module>CedarBackup3.extend.postgresql</module><function>executeAction</function><index>50</index></action>\
           <action><name>pgb</name><module>CedarBackup3.extend.postgresql</module><function>executeAction</function><index>50</index></action>\
           <action><name>late</name><module>CedarBackup3.extend.postgresql</module><function>executeAction</function><index>450</index></action>\
         </extensions>",
        "",
        "",
    );
    dry_run(&config, &["late", "pgb", "collect", "pga"])
        .code(0)
        .stdout("run pgb\nrun pga\nrun collect\nrun late\n");
}

#[test]
fn dry_run_dependency_mode_matches_the_spec_example() {
    let site = Site::new();
    let config = site.config(
        "<extensions><order_mode>dependency</order_mode>\
           <action><name>a</name><module>CedarBackup3.extend.postgresql</module><function>executeAction</function>\
             <depends><run_before>stage</run_before><run_after>collect</run_after></depends></action>\
           <action><name>b</name><module>CedarBackup3.extend.postgresql</module><function>executeAction</function><depends/></action>\
         </extensions>",
        "",
        "",
    );
    let (plan, details) = dry_run_split(&config, &["b", "stage", "a", "collect", "purge"]);
    assert_eq!(plan, "run b\nrun collect\nrun a\nrun stage\nrun purge\n");
    // This site has no <stage> section: the dry run says so under `run stage`.
    assert_eq!(
        details,
        ["  (no <stage><staging_dir>: the action would fail)"]
    );
}

#[test]
fn dry_run_managed_peers() {
    let site = Site::new();
    let config = site.config(
        "",
        "<rsh_command>/usr/bin/ssh</rsh_command><cback_command>/usr/bin/cback3</cback_command>\
         <managed_actions>collect, purge</managed_actions>",
        "<peers>\
           <peer><name>beta</name><type>remote</type><collect_dir>/c</collect_dir><managed>Y</managed></peer>\
           <peer><name>alpha</name><type>remote</type><collect_dir>/c</collect_dir><managed>Y</managed>\
             <managed_actions>collect</managed_actions></peer>\
           <peer><name>loc</name><type>local</type><collect_dir>/c</collect_dir></peer>\
         </peers>",
    );
    let (plan, _) = dry_run_split(&config, &["--managed", "all"]);
    assert_eq!(
        plan,
        "run collect\nmanage collect beta,alpha\nrun stage\nrun store\nrun purge\nmanage purge beta\n",
    );
    let (plan, details) = dry_run_split(&config, &["--full", "--managed-only", "purge", "collect"]);
    assert_eq!(plan, "manage collect beta,alpha\nmanage purge beta\n");
    // Each managed call, in the original's form (through su as root).
    let user = nix::unistd::User::from_uid(nix::unistd::Uid::effective())
        .unwrap()
        .unwrap()
        .name;
    let call = |peer: &str, action: &str| {
        let ssh = format!("/usr/bin/ssh {user}@{peer} '/usr/bin/cback3 --full {action}'");
        if nix::unistd::Uid::effective().is_root() {
            format!("  on {peer}: su {user} -c \"{ssh}\"")
        } else {
            format!("  on {peer}: {ssh}")
        }
    };
    assert_eq!(
        details,
        [
            call("beta", "collect"),
            call("alpha", "collect"),
            call("beta", "purge")
        ]
    );
}

#[test]
fn missing_module_fails_only_when_requested() {
    let site = Site::new();
    let config = site.config(
        "<extensions><action><name>nonesuch</name><module>CedarBackup3.extend.nonesuch</module>\
         <function>executeAction</function><index>96</index></action></extensions>",
        "",
        "",
    );
    dry_run(&config, &["collect"])
        .code(0)
        .stdout("run collect\n");
    dry_run(&config, &["nonesuch"])
        .code(4)
        .stderr(predicate::str::contains("CedarBackup3.extend.nonesuch"))
        .stderr(predicate::str::contains(
            "CedarBackup3.extend.postgresql.executeAction",
        ));
}

#[test]
fn failing_pre_hook_exits_six_and_stops_the_run() {
    let site = Site::new();
    let marker = site.path("post-ran");
    let config = site.config(
        "",
        &format!(
            "<pre_action_hook><action>validate</action><command>sh -c \"echo hook-said-no; exit 7\"</command></pre_action_hook>\
             <post_action_hook><action>validate</action><command>touch {}</command></post_action_hook>",
            marker.display()
        ),
        "",
    );
    site.run(&config, &["validate"])
        .code(6)
        .stderr(predicate::str::contains(
            "pre-action hook for action validate",
        ))
        .stderr(predicate::str::contains("hook-said-no"));
    assert!(!marker.exists(), "post hook ran after a failure");
    let log = fs::read_to_string(site.log()).unwrap();
    assert!(
        log.contains("Cedar Backup run completed with status 6."),
        "{log}"
    );
}

#[test]
fn validate_runs_hooks_and_writes_the_log_format() {
    let site = Site::new();
    let marker = site.path("post-ran");
    let config = site.config(
        "",
        &format!(
            "<post_action_hook><action>validate</action><command>touch {}</command></post_action_hook>",
            marker.display()
        ),
        "",
    );
    site.run(&config, &["validate"]).code(0);
    assert!(marker.exists(), "post hook did not run");
    let log = fs::read_to_string(site.log()).unwrap();
    let first = log.lines().next().unwrap();
    let re = regex_lite(first);
    assert!(re, "unexpected log line format: {first}");
    assert!(log.contains("Cedar Backup run started."));
    assert!(log.contains("Cedar Backup run completed with status 0."));
}

/// `YYYY-MM-DDTHH:MM:SS ZONE --> [INFO   ] Cedar Backup run started.`
fn regex_lite(line: &str) -> bool {
    let Some((stamp, rest)) = line.split_once(" --> ") else {
        return false;
    };
    let (date_time, zone) = stamp.split_once(' ').unwrap_or((stamp, ""));
    date_time.len() == 19
        && date_time.as_bytes()[10] == b'T'
        && !zone.is_empty()
        && rest == "[INFO   ] Cedar Backup run started."
}

#[test]
fn validate_reports_every_problem_and_exits_six() {
    let site = Site::new();
    let config = site.plain();
    let text = fs::read_to_string(&config)
        .unwrap()
        .replace(
            &site.path("purge").display().to_string(),
            "/nonexistent/purge-dir",
        )
        .replace(
            "<backup_group>root</backup_group>",
            "<backup_group>no-such-group-xyz</backup_group>",
        );
    fs::write(&config, text).unwrap();
    site.run(&config, &["validate"])
        .code(6)
        .stderr(predicate::str::contains("/nonexistent/purge-dir"))
        .stderr(predicate::str::contains("no-such-group-xyz"));
}

#[test]
fn store_without_its_section_exits_six() {
    let site = Site::new();
    site.run(site.plain(), &["store"])
        .code(6)
        .stderr(predicate::str::contains(
            "the store action needs the <store> section; add it to the configuration",
        ));
}

#[test]
fn second_concurrent_run_is_refused_with_the_holder_pid() {
    let site = Site::new();
    let gate = site.path("gate");
    let config = site.config(
        "",
        &format!(
            "<pre_action_hook><action>store</action><command>sh -c \"touch {gate}.started; while [ ! -e {gate} ]; do sleep 0.05; done\"</command></pre_action_hook>",
            gate = gate.display()
        ),
        "",
    );
    let mut first = std::process::Command::new(crate::BIN.cback_path())
        .arg("--config")
        .arg(&config)
        .arg("--logfile")
        .arg(site.log())
        .arg("store")
        .spawn()
        .unwrap();
    let started = site.path("gate.started");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !started.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "first run never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let before: Vec<_> = fs::read_dir(site.path("collect")).unwrap().collect();
    site.run(&config, &["store"])
        .code(6)
        .stderr(predicate::str::contains(format!("PID {}", first.id())));
    fs::write(&gate, "").unwrap();
    let status = first.wait().unwrap();
    // The first run's configuration has no <store> section, so store fails after its hook.
    assert_eq!(status.code(), Some(6));
    let after: Vec<_> = fs::read_dir(site.path("collect")).unwrap().collect();
    assert_eq!(before.len(), after.len());
}

#[test]
fn sigterm_during_a_hook_exits_five_and_runs_nothing_after() {
    interrupt_during_a_hook(nix::sys::signal::Signal::SIGTERM);
}

#[test]
fn sighup_and_sigquit_stop_a_run_like_sigterm() {
    interrupt_during_a_hook(nix::sys::signal::Signal::SIGHUP);
    interrupt_during_a_hook(nix::sys::signal::Signal::SIGQUIT);
}

fn interrupt_during_a_hook(signal: nix::sys::signal::Signal) {
    let site = Site::new();
    // A sleep only this call starts, to find it among the processes afterwards.
    let nap = format!("31.{}", signal as i32 + 100);
    let started = site.path("hook.started");
    let marker = site.path("post-ran");
    let config = site.config(
        "",
        &format!(
            "<pre_action_hook><action>validate</action><command>sh -c \"touch {}; sleep {nap}; echo late\"</command></pre_action_hook>\
             <post_action_hook><action>validate</action><command>touch {}</command></post_action_hook>",
            started.display(),
            marker.display()
        ),
        "",
    );
    let mut child = std::process::Command::new(crate::BIN.cback_path())
        .arg("--config")
        .arg(&config)
        .arg("--logfile")
        .arg(site.log())
        .arg("validate")
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !started.exists() {
        assert!(std::time::Instant::now() < deadline, "hook never started");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let begun = std::time::Instant::now();
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), signal).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(5), "{signal}");
    assert!(
        begun.elapsed() < std::time::Duration::from_secs(10),
        "cback waited for the hook instead of stopping it"
    );
    assert!(!marker.exists(), "post hook ran after an interrupt");
    let log = fs::read_to_string(site.log()).unwrap();
    assert!(
        log.contains("Cedar Backup run completed with status 5."),
        "{log}"
    );
    // The hook's own child (the sleep under sh) was stopped too, not left running.
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert!(
        processes_with_arg(&nap).is_empty(),
        "the hook's sleep survived {signal}: {:?}",
        processes_with_arg(&nap)
    );
}

/// PIDs of processes that have `arg` as one of their arguments.
fn processes_with_arg(arg: &str) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if let Ok(cmdline) = fs::read(entry.path().join("cmdline")) {
            if cmdline.split(|b| *b == 0).any(|a| a == arg.as_bytes()) {
                found.push(pid);
            }
        }
    }
    found
}

#[test]
fn every_run_writes_status_and_metrics_and_keeps_the_last_success() {
    let site = Site::new();
    let metrics = site.path("node.prom");
    let config = site.config(
        "",
        &format!(
            "<metrics_file>{}</metrics_file>\
             <pre_action_hook><action>stage</action><command>/bin/false</command></pre_action_hook>",
            metrics.display()
        ),
        "",
    );
    let run = |action: &str, code: i32| {
        crate::BIN
            .cback()
            .arg("--config")
            .arg(&config)
            .arg("--logfile")
            .arg(site.log())
            .arg(action)
            .assert()
            .code(code);
    };
    // purge of an empty directory succeeds.
    run("purge", 0);
    let status: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(site.path("work/cback-status.json")).unwrap())
            .unwrap();
    assert_eq!(status["exit_code"], 0);
    assert_eq!(status["actions"], serde_json::json!(["purge"]));
    let success = status["last_success"].as_i64().unwrap();
    assert!(success > 1_700_000_000);
    let prom = fs::read_to_string(&metrics).unwrap();
    assert!(prom.contains("cback_run_exit_code 0\n"), "{prom}");
    assert!(prom.contains(&format!("cback_last_success_timestamp_seconds {success}\n")));

    // A failing run updates the exit code but keeps the last success.
    run("stage", 6);
    let status: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(site.path("work/cback-status.json")).unwrap())
            .unwrap();
    assert_eq!(status["exit_code"], 6);
    assert_eq!(status["last_success"].as_i64(), Some(success));
    let prom = fs::read_to_string(&metrics).unwrap();
    assert!(prom.contains("cback_run_exit_code 6\n"), "{prom}");
    assert!(prom.contains(&format!("cback_last_success_timestamp_seconds {success}\n")));
    assert!(
        !site.path("work/cback.prom").exists(),
        "metrics_file was not honoured"
    );
}

fn sample(name: &str) -> PathBuf {
    cback_tests::workspace_root()
        .join("config-samples")
        .join(name)
}

#[test]
fn full_sample_plan_is_the_one_the_spec_predicts() {
    // Index mode: postgresql at 97 runs before collect (100); hooks surround their actions.
    let (plan, details) = dry_run_split(
        &sample("full.conf"),
        &["collect", "postgresql", "stage", "purge"],
    );
    assert_eq!(
        plan,
        "run postgresql\n\
             pre-hook collect: /usr/local/bin/backup-notify \"collect starting\"\n\
             run collect\n\
             run stage\n\
             run purge\n\
             post-hook purge: /usr/local/bin/backup-notify \"purge done\"\n",
    );
    // Under `run stage`: each peer, from where to where (local first, then remote).
    assert_eq!(details.len(), 2, "{details:?}");
    assert!(
        details[0]
            .starts_with("  stage db1 (local): /var/lib/cback/collect -> /var/lib/cback/stage/"),
        "{details:?}"
    );
    assert!(
        details[1].starts_with("  stage web1 (remote): backup@web1:/var/lib/cback/collect -> "),
        "{details:?}"
    );
    assert!(
        details[1]
            .contains("/usr/bin/scp -B backup@web1:/var/lib/cback/collect/* /var/lib/cback/stage/"),
        "{details:?}"
    );
    let (plan, details) = dry_run_split(&sample("full.conf"), &["--managed", "purge", "collect"]);
    assert_eq!(
        plan,
        "pre-hook collect: /usr/local/bin/backup-notify \"collect starting\"\n\
         run collect\n\
         manage collect web1\n\
         run purge\n\
         post-hook purge: /usr/local/bin/backup-notify \"purge done\"\n",
    );
    assert_eq!(details.len(), 1, "{details:?}");
    assert!(details[0].starts_with("  on web1: "), "{details:?}");
}

#[test]
fn minimal_sample_runs_postgresql_before_collect_without_extensions_section() {
    dry_run(
        &sample("minimal-postgresql.conf"),
        &["collect", "postgresql"],
    )
    .code(0)
    .stdout("run postgresql\nrun collect\n");
}

#[test]
fn dependency_sample_orders_by_dependencies() {
    dry_run(
        &sample("dependency.conf"),
        &["purge", "postgresql", "collect"],
    )
    .code(0)
    .stdout("run postgresql\nrun collect\nrun purge\n");
    // report is declared but its module is not built in: only naming it fails.
    dry_run(&sample("dependency.conf"), &["report"])
        .code(4)
        .stderr(predicate::str::contains("site.backup.report"));
}

#[test]
fn a_second_signal_ends_a_run_that_cannot_stop_by_itself() {
    let site = Site::new();
    // Opening a FIFO nobody writes blocks: a stage of the run that never polls the flag.
    let fifo = site.path("config.fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let mut child = std::process::Command::new(crate::BIN.cback_path())
        .arg("--config")
        .arg(&fifo)
        .arg("--logfile")
        .arg(site.log())
        .arg("collect")
        .spawn()
        .unwrap();
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    // Let it reach the blocking open.
    std::thread::sleep(std::time::Duration::from_millis(500));
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(
        child.try_wait().unwrap().is_none(),
        "the first signal should only ask the run to stop"
    );
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "a second SIGTERM did not end the run"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(5));
}
