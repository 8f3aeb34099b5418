//! What `cback doctor` checks for `<amazons3>`: the bucket is reachable with the credentials
//! the action uses (the backup user's `~/.aws`, `<endpoint>`, `<region>`), and a probe object,
//! [`PROBE`] under the configured prefix, can be put, read back and deleted. The whole check
//! runs on a thread of its own and is given up after [`CHECK_TIME_LIMIT`], so an unreachable
//! endpoint cannot hang the doctor.

use std::io::Read;
use std::sync::mpsc;

use cedar_core::{error_chain, section_check_failure, CheckResult, ConfigFile, CHECK_TIME_LIMIT};

use crate::action::{home_of, load_settings};
use crate::client::{ConnectOptions, S3};

/// The probe object's name, under the configured prefix.
pub const PROBE: &str = ".cback-doctor-probe";

const CHECK: &str = "amazons3 bucket";

/// The result of the section.
pub fn check(config: &ConfigFile) -> Vec<CheckResult> {
    let settings = match load_settings(config) {
        Ok(settings) => settings,
        Err(err) => return vec![section_check_failure("amazons3", &config.path, &err)],
    };
    let user = config
        .config
        .options
        .as_ref()
        .and_then(|o| o.backup_user.clone())
        .unwrap_or_default();
    let connect = ConnectOptions {
        endpoint: settings.endpoint.clone(),
        region: settings.region.clone(),
        home: home_of(&user),
    };
    let bucket = settings.bucket().to_string();
    let key = match settings.prefix() {
        "" => PROBE.to_string(),
        prefix => format!("{}/{PROBE}", prefix.trim_end_matches('/')),
    };
    let subject = format!("s3://{bucket}/{key}");
    let (sender, receiver) = mpsc::channel();
    let probe_bucket = bucket.clone();
    std::thread::spawn(move || {
        let _ = sender.send(probe(&connect, &probe_bucket, &key));
    });
    vec![match receiver.recv_timeout(CHECK_TIME_LIMIT) {
        Ok(Ok(endpoint)) => CheckResult::pass(
            CHECK,
            subject,
            format!("reachable at {endpoint}; a probe object was put, read back and deleted"),
        ),
        Ok(Err(reason)) => CheckResult::fail(
            CHECK,
            subject,
            format!("{reason}; check the bucket's name, the credentials in ~{user}/.aws and what they may do (s3:PutObject, s3:GetObject, s3:DeleteObject)"),
        ),
        Err(_) => CheckResult::fail(
            CHECK,
            subject,
            format!(
                "no answer within {} s; check the endpoint, the network and the proxy settings",
                CHECK_TIME_LIMIT.as_secs()
            ),
        ),
    }]
}

/// Puts, reads back and deletes `key`; returns the endpoint.
fn probe(connect: &ConnectOptions, bucket: &str, key: &str) -> Result<String, String> {
    let content = b"written by cback doctor\n";
    let s3 =
        S3::connect(connect, bucket).map_err(|e| format!("cannot connect: {}", error_chain(&e)))?;
    s3.check_bucket().map_err(|e| error_chain(&e))?;
    s3.put_small(key, content)
        .map_err(|e| format!("cannot put the probe: {}", error_chain(&e)))?;
    let mut back = Vec::new();
    let mut reader = s3
        .get(key)
        .map_err(|e| format!("cannot read the probe back: {}", error_chain(&e)))?;
    reader
        .read_to_end(&mut back)
        .map_err(|e| format!("cannot read the probe back: {e}"))?;
    if back != content {
        return Err(format!(
            "the probe read back differs from what was put ({} bytes instead of {})",
            back.len(),
            content.len()
        ));
    }
    s3.delete(&[key.to_string()])
        .map_err(|e| format!("cannot delete the probe: {}", error_chain(&e)))?;
    Ok(s3.endpoint().to_string())
}
