//! What `cback doctor` checks for stage: each local peer's collect directory is present; each
//! remote peer is reached with its rcp command as the backup user, and its collect directory
//! is found there ([`super::remote::probe`], which leaves nothing on the peer); each managed
//! peer answers `cback --version` through its rsh command, called as a managed step calls it
//! ([`cedar_core::managed_peer_call`]). Each call within [`CHECK_TIME_LIMIT`].

use cedar_core::{
    managed_peer_call, managed_peer_configs, CheckResult, ConfigFile, RemoteCallError,
    CHECK_TIME_LIMIT,
};

use super::peer::stage_peers;
use super::remote::{probe, Runner};

/// One result per peer of the `<stage>` section (none without the section), then one per
/// managed peer. `runner` is `None` when stage's settings are incomplete (remote peers are
/// then not tried).
pub fn check(config: &ConfigFile, runner: Option<&Runner<'_>>) -> Vec<CheckResult> {
    let mut results = staged_peers(config, runner);
    results.extend(managed_peers(config));
    results
}

fn staged_peers(config: &ConfigFile, runner: Option<&Runner<'_>>) -> Vec<CheckResult> {
    let config = &config.config;
    if config.stage.is_none() {
        return Vec::new();
    }
    stage_peers(config)
        .into_iter()
        .map(|peer| {
            let subject = peer.name.clone();
            let dir = peer.collect_dir.display();
            if peer.remote.is_some() {
                match runner.map(|runner| probe(&peer, runner, CHECK_TIME_LIMIT)) {
                    Some(Ok(())) => CheckResult::pass(
                        "stage peer",
                        subject,
                        format!("remote peer: reached with its rcp command; collect directory {dir} present"),
                    ),
                    Some(Err(err)) => CheckResult::fail(
                        "stage peer",
                        subject,
                        format!("remote peer: {err}; check that the host is reachable with the rcp command as the backup user (keys, known hosts) and that its collect directory {dir} exists"),
                    ),
                    None => CheckResult::fail(
                        "stage peer",
                        subject,
                        "remote peer: not tried, the stage settings are incomplete (see the configuration check)",
                    ),
                }
            } else if peer.collect_dir.is_dir() {
                CheckResult::pass(
                    "stage peer",
                    subject,
                    format!("local peer: collect directory {dir} present"),
                )
            } else {
                CheckResult::fail(
                    "stage peer",
                    subject,
                    format!("local peer: collect directory {dir} does not exist; create it, or fix the peer's <collect_dir>"),
                )
            }
        })
        .collect()
}

/// Each managed peer of `<peers>` runs `CBACK_COMMAND --version` through its rsh command.
fn managed_peers(config: &ConfigFile) -> Vec<CheckResult> {
    managed_peer_configs(&config.config)
        .map(|peer| {
            let subject = peer.name.clone().unwrap_or_default();
            let call = managed_peer_call(peer, config, " --version");
            match call.run_within(CHECK_TIME_LIMIT) {
                Ok(output) => {
                    let said = String::from_utf8_lossy(&output.stdout);
                    let version = said
                        .lines()
                        .map(str::trim)
                        .find(|l| !l.is_empty())
                        .unwrap_or("exit status 0, nothing printed");
                    CheckResult::pass(
                        "managed peer",
                        subject,
                        format!("answers `{}`: {version}", call.display()),
                    )
                }
                Err(err) => CheckResult::fail(
                    "managed peer",
                    subject,
                    format!("{err}; {}", what_to_do(&err)),
                ),
            }
        })
        .collect()
}

/// What to do when a managed peer did not answer: exit 127 is the remote shell's "command not
/// found", 255 is ssh's own failure (the peer was not reached).
fn what_to_do(err: &RemoteCallError) -> &'static str {
    const INSTALL: &str = "install cback on the peer, or fix its <cback_command>";
    const REACH: &str = "check that the <rsh_command> reaches it as the backup user (keys, known hosts) without a password";
    match err {
        RemoteCallError::Exit { status, .. } if status.code() == Some(127) => INSTALL,
        RemoteCallError::Exit { status, .. } if status.code() == Some(255) => REACH,
        RemoteCallError::TimedOut { .. } | RemoteCallError::Spawn { .. } => REACH,
        _ => "install cback on the peer (or fix its <cback_command>), and check that the <rsh_command> reaches it as the backup user (keys, known hosts) without a password",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;

    #[test]
    fn a_managed_peer_that_does_not_answer_is_told_what_to_do_by_how_it_failed() {
        let exit = |code: i32| RemoteCallError::Exit {
            command: "ssh".into(),
            status: std::process::ExitStatus::from_raw(code << 8),
            stderr_tail: String::new(),
        };
        assert!(what_to_do(&exit(127)).starts_with("install cback"));
        assert!(what_to_do(&exit(255)).contains("<rsh_command> reaches it"));
        let other = what_to_do(&exit(2));
        assert!(other.contains("install cback") && other.contains("<rsh_command>"));
        let timed_out = RemoteCallError::TimedOut {
            command: "ssh".into(),
            seconds: 20,
        };
        assert!(what_to_do(&timed_out).contains("<rsh_command> reaches it"));
    }
}
