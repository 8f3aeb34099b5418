//! `cback-failure@.service`: the command line of its `ExecStart=`, run as systemd would run it
//! for a failed `cback.service` (with the unit's `Environment=` lines), hands a mail with the
//! unit's journal to a real sendmail-compatible client (msmtp), which delivers it over SMTP to
//! the harness's mail sink on loopback. systemd itself cannot run here: `systemctl status`
//! answers that the system was not booted with systemd, and `journalctl` (the real one) finds no
//! journal; the mail carries what they said, as it would carry the journal.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use cback_tests::{smtp, workspace_root};

use crate::packaging::tool;

/// The unit's `Environment=` settings and its `ExecStart=` words, `%i` set to `failed_unit` and
/// the script taken from `dist/`.
fn unit_command(failed_unit: &str) -> (HashMap<String, String>, Vec<String>) {
    let dist = workspace_root().join("dist");
    let unit = std::fs::read_to_string(dist.join("cback-failure@.service")).unwrap();
    let mut env = HashMap::new();
    let mut exec = None;
    for line in unit.lines() {
        if let Some(setting) = line.strip_prefix("Environment=") {
            let setting = setting.trim_matches('"');
            let (name, value) = setting.split_once('=').unwrap();
            env.insert(name.to_string(), value.to_string());
        } else if let Some(command) = line.strip_prefix("ExecStart=") {
            exec = Some(
                command
                    .replace("%i", failed_unit)
                    .replace("/usr/libexec/cback", &dist.display().to_string()),
            );
        }
    }
    let words = exec
        .expect("the unit has an ExecStart=")
        .split_whitespace()
        .map(str::to_string)
        .collect();
    (env, words)
}

/// msmtp as the unit's sendmail, delivering to `port` on loopback.
fn msmtp(port: u16) -> String {
    format!(
        "/usr/bin/msmtp --file=/dev/null --host=127.0.0.1 --port={port} --auth=off --tls=off \
         --from=cback@localhost --syslog=off -t"
    )
}

fn run(env: &HashMap<String, String>, words: &[String]) -> std::process::Output {
    Command::new(&words[0])
        .args(&words[1..])
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .envs(env)
        .output()
        .unwrap()
}

#[test]
fn the_failure_unit_mails_the_failed_units_journal_through_sendmail() {
    if !tool("msmtp") || !tool("journalctl") {
        return;
    }
    let sink = smtp::shared();
    let (mut env, words) = unit_command("cback.service");
    assert_eq!(env["CBACK_MAILTO"], "root");
    assert_eq!(env["CBACK_SENDMAIL"], "/usr/sbin/sendmail -t");
    assert_eq!(env["CBACK_JOURNAL_LINES"], "200");
    assert_eq!(
        PathBuf::from(&words[0]).file_name().unwrap(),
        "cback-failure-mail"
    );
    assert_eq!(words[1], "cback.service");
    // The recipient as a site sets it in a drop-in; the sendmail of this machine's test setup.
    env.insert("CBACK_MAILTO".into(), "ops@example.org".into());
    env.insert("CBACK_SENDMAIL".into(), msmtp(sink.port));
    let out = run(&env, &words);
    assert!(out.status.success(), "{out:?}");

    let host = String::from_utf8(Command::new("uname").arg("-n").output().unwrap().stdout)
        .unwrap()
        .trim()
        .to_string();
    let subject = format!("Subject: cback.service failed on {host}\n");
    let mail = sink
        .wait_for(&subject, Duration::from_secs(10))
        .expect("no mail reached the sink");
    assert_eq!(mail.to, ["ops@example.org"]);
    assert_eq!(mail.from, "cback@localhost");
    assert!(mail.data.contains("To: ops@example.org\n"), "{}", mail.data);
    assert!(mail.data.contains("Auto-Submitted: auto-generated\n"));
    assert!(
        mail.data
            .contains("\n$ journalctl -u cback.service -n 200 --no-pager\n"),
        "{}",
        mail.data
    );
    // What the real journalctl said follows its command line.
    let journal = Command::new("journalctl")
        .args(["-u", "cback.service", "-n", "200", "--no-pager"])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&journal.stdout).to_string()
        + &String::from_utf8_lossy(&journal.stderr);
    let first = said.lines().next().unwrap_or_default();
    assert!(mail.data.contains(first), "{first}\n{}", mail.data);
    assert!(mail
        .data
        .contains("$ systemctl status --no-pager --full --lines=0 cback.service\n"));
    assert_eq!(sink.all(&subject).len(), 1);
}

#[test]
fn a_mail_that_cannot_be_handed_over_fails_the_failure_unit() {
    if !tool("msmtp") {
        return;
    }
    // A port nothing listens on: bound, then closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (mut env, words) = unit_command("cback.service");
    env.insert("CBACK_SENDMAIL".into(), msmtp(port));
    let out = run(&env, &words);
    assert!(!out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("msmtp"),
        "{out:?}"
    );
}
