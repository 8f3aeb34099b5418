//! What `cback doctor` checks for stage: each local peer's collect directory is present; each
//! remote peer is reached with its rcp command as the backup user, which copies
//! [`super::remote::DOCTOR_PROBE`] into its collect directory (proving the host, the login and
//! the directory), within [`CHECK_TIME_LIMIT`].

use cedar_core::{CheckResult, Config, CHECK_TIME_LIMIT};

use super::peer::stage_peers;
use super::remote::{probe, Runner};

/// One result per peer of the `<stage>` section; none without the section. `runner` is `None`
/// when stage's settings are incomplete (remote peers are then not tried).
pub fn check(config: &Config, runner: Option<&Runner<'_>>) -> Vec<CheckResult> {
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
                        format!("remote peer: reached with its rcp command; collect directory {dir} present and writable"),
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
