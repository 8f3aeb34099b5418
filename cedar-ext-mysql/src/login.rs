//! Whether the `mysql` client of the privilege check logs in as mysqldump would.
//!
//! The two programs read different stanzas of the option files (`[mysql]` versus
//! `[mysqldump]`, both `[client]`), so a `[mysqldump]` stanza with its own user, password, host
//! or socket (as the original's documentation suggests) makes the client log in elsewhere. Each
//! program's `--print-defaults` says what it would use; the check runs only when the connection
//! settings agree. Nothing read here is logged.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::Path;

/// The options that decide who logs in where.
const CONNECTION_KEYS: [&str; 7] = [
    "user", "password", "host", "socket", "port", "protocol", "pipe",
];

/// The last value of each connection option in `--print-defaults` output.
pub fn connection_options(output: &str) -> BTreeMap<String, String> {
    let mut found = BTreeMap::new();
    let Some(line) = output.lines().find(|l| l.starts_with("--")) else {
        return found;
    };
    for option in line.trim_end().trim_start_matches("--").split(" --") {
        let (key, value) = option.split_once('=').unwrap_or((option, ""));
        let key = key.replace('-', "_");
        if CONNECTION_KEYS.contains(&key.as_str()) {
            found.insert(key, value.to_string());
        }
    }
    found
}

/// What `program LOGIN_ARGS --print-defaults` would connect with; `None` when it cannot say.
fn print_defaults(program: &Path, login: &[OsString]) -> Option<BTreeMap<String, String>> {
    // The option file argument must stay first; --print-defaults may follow it.
    let (first, rest) = match login.first() {
        Some(arg) if arg.to_string_lossy().starts_with("--defaults-extra-file=") => {
            (Some(arg), &login[1..])
        }
        _ => (None, login),
    };
    let mut command = cedar_core::child_command(program);
    command.args(first).arg("--print-defaults");
    let output = cedar_core::run_supervised(command).ok()?;
    if !output.status.success() {
        return None;
    }
    let mut options = connection_options(&String::from_utf8_lossy(&output.stdout));
    // Arguments after the option files win, as on a real call.
    for arg in rest {
        let arg = arg.to_string_lossy();
        if let Some(user) = arg.strip_prefix("--user=") {
            options.insert("user".to_string(), user.to_string());
        }
    }
    Some(options)
}

/// Whether `client` and `mysqldump` connect the same way with `login`.
pub fn same_login(client: &Path, mysqldump: &Path, login: &[OsString]) -> bool {
    match (
        print_defaults(client, login),
        print_defaults(mysqldump, login),
    ) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_value_of_each_connection_option() {
        let output = "mysqldump would have been started with the following arguments:\n\
            --socket=/run/mysqld/mysqld.sock --quick --max_allowed_packet=16M --password=pa ss;wo\"rd --socket=/tmp/s --user=bk --password=x y \n";
        let options = connection_options(output);
        assert_eq!(options.get("socket").map(String::as_str), Some("/tmp/s"));
        assert_eq!(options.get("user").map(String::as_str), Some("bk"));
        assert_eq!(options.get("password").map(String::as_str), Some("x y"));
        assert!(!options.contains_key("quick"));
        assert!(connection_options("nothing\n").is_empty());
    }
}
