//! `--diagnostics`: what a bug report needs to know about this machine.

use std::fmt::Write as _;

/// The diagnostics lines, as printed by `cback --diagnostics` and logged at the start of a run.
pub fn lines() -> Vec<String> {
    let mut out = Vec::new();
    out.push(format!("Version: cback {}", env!("CARGO_PKG_VERSION")));
    let modules = cedar_core::action::available_modules();
    out.push(format!("Extensions: {}", modules.join(", ")));
    match nix::sys::utsname::uname() {
        Ok(u) => out.push(format!(
            "Platform: {} {} {} {}",
            u.sysname().to_string_lossy(),
            u.nodename().to_string_lossy(),
            u.release().to_string_lossy(),
            u.machine().to_string_lossy()
        )),
        Err(e) => out.push(format!("Platform: unknown ({e})")),
    }
    let mut locale = String::new();
    for key in ["LANG", "LC_ALL", "LC_CTYPE"] {
        let _ = write!(
            locale,
            "{}{key}={}",
            if locale.is_empty() { "" } else { " " },
            std::env::var(key).unwrap_or_default()
        );
    }
    out.push(format!("Locale: {locale}"));
    out.push("Encoding: UTF-8".to_string());
    out.push(format!(
        "Timestamp: {}",
        cedar_core::clock::now().log_stamp()
    ));
    out.push(format!(
        "Running as root: {}",
        if cedar_core::ownership::running_as_root() {
            "yes"
        } else {
            "no"
        }
    ));
    out
}
