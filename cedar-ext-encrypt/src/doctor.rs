//! What `cback doctor` checks for `<encrypt>`: with gpg, that the keyring of the user running
//! cback (`GNUPGHOME` honoured) holds a usable encryption key for `<encrypt_target>` (present,
//! not expired or revoked, able to encrypt) that does not expire within [`EXPIRY_WARNING_DAYS`]
//! (`gpg --with-colons --list-keys`, within [`CHECK_TIME_LIMIT`]); with age, the recipients were
//! parsed with the configuration and there is no key store to ask.

use std::path::Path;

use cedar_core::{
    child_command, rfc3339, run_supervised_within, section_check_failure, CheckResult, ConfigFile,
    CHECK_TIME_LIMIT,
};

use crate::config::Mode;

/// A key expiring within this many days is a warning.
pub const EXPIRY_WARNING_DAYS: i64 = 30;

const CHECK: &str = "encrypt key";

/// The results of the section.
pub fn check(config: &ConfigFile) -> Vec<CheckResult> {
    let settings = match crate::action::load_settings(config) {
        Ok(settings) => settings,
        Err(err) => return vec![section_check_failure("encrypt", &config.path, &err)],
    };
    match settings.mode {
        Mode::Age(_) => vec![CheckResult::pass(
            CHECK,
            "age recipients",
            "every <recipient> is a valid age public key",
        )],
        Mode::Gpg { target } => vec![gpg_key(
            &crate::gpg::program(&config.config),
            &target,
            cedar_core::now_secs(),
        )],
    }
}

/// The verdict on `target`'s key in gpg's keyring.
fn gpg_key(program: &Path, target: &str, now: i64) -> CheckResult {
    let mut cmd = child_command(program);
    cmd.args([
        "--batch",
        "--with-colons",
        "--fixed-list-mode",
        "--list-keys",
    ])
    .arg(target);
    let output = match run_supervised_within(cmd, CHECK_TIME_LIMIT) {
        Ok(output) => output,
        Err(err) => {
            return CheckResult::fail(
                CHECK,
                target,
                format!(
                    "cannot run `{} --list-keys`: {err}; install gpg or fix its <override>",
                    program.display()
                ),
            )
        }
    };
    if !output.status.success() {
        return CheckResult::fail(
            CHECK,
            target,
            "no public key for it in the keyring of the user running cback (GNUPGHOME or ~/.gnupg); import it with `gpg --import` as that user",
        );
    }
    match usable_until(&String::from_utf8_lossy(&output.stdout), now) {
        Err(reason) => CheckResult::fail(CHECK, target, format!("{reason}; import a valid key or extend it (`gpg --quick-set-expire`)")),
        Ok(None) => CheckResult::pass(CHECK, target, "present, able to encrypt, never expires"),
        Ok(Some(end)) if end - now < EXPIRY_WARNING_DAYS * 86_400 => CheckResult::warn(
            CHECK,
            target,
            format!(
                "expires {} (in {} days); extend it (`gpg --quick-set-expire`) and give the new public key to this machine",
                rfc3339(end),
                (end - now) / 86_400
            ),
        ),
        Ok(Some(end)) => CheckResult::pass(
            CHECK,
            target,
            format!("present, able to encrypt, expires {}", rfc3339(end)),
        ),
    }
}

/// Until when the keys listed in `colons` (gpg's `--with-colons` output) can encrypt: `None`
/// for never expiring; an error when no key or subkey can encrypt now.
fn usable_until(colons: &str, now: i64) -> Result<Option<i64>, String> {
    let mut best: Option<Option<i64>> = None;
    let mut seen = false;
    for line in colons.lines() {
        let fields: Vec<&str> = line.split(':').collect();
        if !matches!(fields.first(), Some(&"pub") | Some(&"sub")) {
            continue;
        }
        seen = true;
        let validity = fields.get(1).copied().unwrap_or_default();
        let expires: Option<i64> = fields.get(6).and_then(|t| t.parse().ok());
        let capabilities = fields.get(11).copied().unwrap_or_default();
        let usable = capabilities.contains('e')
            && !matches!(validity, "e" | "r" | "d" | "i")
            && expires.map_or(true, |end| end > now);
        if usable {
            best = Some(match (best, expires) {
                (Some(None), _) | (_, None) => None,
                (Some(Some(a)), Some(b)) => Some(a.max(b)),
                (None, Some(b)) => Some(b),
            });
        }
    }
    match best {
        Some(until) => Ok(until),
        None if seen => Err("its keys are expired, revoked or cannot encrypt".to_string()),
        None => Err("gpg listed no key for it".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    #[test]
    fn the_encryption_subkey_decides() {
        let never =
            "pub:u:255:22:AAAA:1700000000:::u:::scESC:\nsub:u:255:18:BBBB:1700000000::::::e:\n";
        assert_eq!(usable_until(never, NOW), Ok(None));
        let soon = format!(
            "pub:u:255:22:AAAA:1700000000:{}::u:::scESC:\nsub:u:255:18:BBBB:1700000000:{}:::::e:\n",
            NOW + 86_400 * 400,
            NOW + 86_400 * 10
        );
        assert_eq!(usable_until(&soon, NOW), Ok(Some(NOW + 86_400 * 10)));
        let expired = format!(
            "pub:e:255:22:AAAA:1700000000:{}::u:::sc:\nsub:e:255:18:BBBB:1700000000:{}:::::e:\n",
            NOW - 5,
            NOW - 5
        );
        assert!(usable_until(&expired, NOW).unwrap_err().contains("expired"));
        let revoked =
            "pub:r:255:22:AAAA:1700000000:::u:::sc:\nsub:r:255:18:BBBB:1700000000::::::e:\n";
        assert!(usable_until(revoked, NOW).is_err());
        let sign_only = "pub:u:255:22:AAAA:1700000000:::u:::scSC:\n";
        assert!(usable_until(sign_only, NOW)
            .unwrap_err()
            .contains("cannot encrypt"));
        assert!(usable_until("", NOW).unwrap_err().contains("no key"));
    }
}
