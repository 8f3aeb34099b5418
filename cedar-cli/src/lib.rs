//! cedar-cli: the command-line front ends of cback.
//!
//! Its modules are private; the `pub use` block below names what the binaries use:
//! - `cli`: the `cback` command line (the original's switches, parsed with clap);
//! - `log_switches`: the logging switches every binary flattens into its command line;
//! - `report`: how the binaries word a fatal error;
//! - `status_check`: `cback status`, the last run as a monitoring check;
//! - `diagnostics`: the `--diagnostics` listing (versions and every registration);
//! - `dist`: what a package installs beside the binary and generates from that command
//!   line: the `cback(1)` man page and the shell completions;
//! - `doc`: the reference documentation in `doc/`: its files, and the element paths it must
//!   name;
//! - [`link_registrations`]: keeps the built-in actions' crate and every extension crate
//!   linked, so that their `inventory` registrations are seen by the binaries (the test
//!   `tests/tests/cli/registrations.rs` checks that `cback` lists every one).

mod cli;
mod diagnostics;
mod dist;
mod doc;
mod log_switches;
mod report;
mod status_check;

pub use cli::{Cli, RunSwitches, STATUS_ACTION};
pub use diagnostics::lines as diagnostic_lines;
pub use dist::{completion, man_page, SHELLS};
pub use doc::config_element_paths;
pub use log_switches::LogSwitches;
pub use report::report;
pub use status_check::{status_command, StatusSwitches};

/// References the built-in actions' crate and each extension crate, so that the linker keeps
/// their action registrations.
pub fn link_registrations() {
    cedar_actions::link();
    cedar_ext_postgresql::link();
    cedar_ext_capacity::link();
    cedar_ext_mysql::link();
    cedar_ext_sysinfo::link();
    cedar_ext_subversion::link();
    cedar_ext_mbox::link();
    cedar_ext_encrypt::link();
    cedar_ext_split::link();
    cedar_ext_amazons3::link();
}
