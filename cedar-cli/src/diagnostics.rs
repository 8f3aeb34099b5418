//! `--diagnostics`: what a bug report needs to know about this machine.

/// The diagnostics lines, as printed by `cback --diagnostics` and logged at the start of a run,
/// in the original's `Name....: value` layout.
pub fn lines() -> Vec<String> {
    let platform = match nix::sys::utsname::uname() {
        Ok(u) => format!(
            "{} ({} {} {})",
            u.sysname().to_string_lossy().to_lowercase(),
            u.sysname().to_string_lossy(),
            u.release().to_string_lossy(),
            u.machine().to_string_lossy()
        ),
        Err(e) => format!("unknown ({e})"),
    };
    let locale = ["LC_ALL", "LC_CTYPE", "LANG"]
        .iter()
        .filter_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
        .next()
        .unwrap_or_else(|| "C".to_string());
    let now = cedar_core::local_now();
    vec![
        format!("Encoding......: {}", "utf-8"),
        format!("Interpreter...: cback (Rust) {}", env!("CARGO_PKG_VERSION")),
        format!("Locale........: {locale}"),
        format!("Platform......: {platform}"),
        format!("Timestamp.....: {}", now.log_stamp()),
        format!("Version.......: cback {}", env!("CARGO_PKG_VERSION")),
        format!("Actions.......: {}", builtin_actions().join(", ")),
        format!(
            "Extensions....: {}",
            cedar_core::available_extension_modules().join(", ")
        ),
        format!(
            "Running as....: {}",
            if cedar_core::running_as_root() {
                "root"
            } else {
                "non-root (ownership is not changed)"
            }
        ),
    ]
}

/// The names of the built-in actions registered in this binary, sorted: what the `Actions`
/// line shows, so that a registration the linker dropped is visible (and fails
/// `tests/tests/cli/registrations.rs`).
pub fn builtin_actions() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = cedar_core::action_registrations()
        .filter(|r| r.kind == cedar_core::ActionKind::Builtin)
        .map(|r| r.name)
        .collect();
    names.sort_unstable();
    names
}
