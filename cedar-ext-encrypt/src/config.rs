//! The `<encrypt>` section: reading, the original's rules and messages, and the settings a run
//! uses.
//!
//! ```xml
//! <encrypt>
//!   <encrypt_mode>gpg</encrypt_mode>          <!-- required: gpg, or age (cback only) -->
//!   <encrypt_target>Backup User</encrypt_target> <!-- gpg: required, handed to gpg -r -->
//!   <recipient>age1...</recipient>            <!-- age: one or more public keys -->
//! </encrypt>
//! ```
//!
//! Values are read as the original reads them: not trimmed, so ` gpg` is not `gpg`.

use serde::Deserialize;

use cedar_core::{parse_recipients, Recipients};

/// The element name of the section under `<cb_config>`.
pub const SECTION: &str = "encrypt";

/// The `<encrypt>` section as written (values not yet checked).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct EncryptSection {
    #[serde(default)]
    pub encrypt_mode: Option<String>,
    #[serde(default)]
    pub encrypt_target: Option<String>,
    #[serde(default, rename = "recipient")]
    pub recipients: Vec<String>,
}

/// How the files are encrypted.
#[derive(Debug, Clone)]
pub enum Mode {
    /// `gpg -e -r TARGET`, as the original; outputs end in `.gpg`.
    Gpg { target: String },
    /// The age format for these recipients (cback only); outputs end in `.age`.
    Age(Recipients),
}

impl Mode {
    /// The accepted `<encrypt_mode>` values, the original's first.
    pub const NAMES: [&'static str; 2] = ["gpg", "age"];

    /// The suffix an encrypted file gets, with its dot.
    pub fn suffix(&self) -> &'static str {
        match self {
            Mode::Gpg { .. } => ".gpg",
            Mode::Age(_) => ".age",
        }
    }
}

/// What a run uses.
#[derive(Debug, Clone)]
pub struct Settings {
    pub mode: Mode,
}

impl Settings {
    /// Checks `section` (`None` when absent) in the original's order; the first problem is the
    /// error, in the original's words where it has them.
    pub fn from_section(section: Option<&EncryptSection>) -> Result<Settings, String> {
        let section = section.ok_or("Encrypt section is required.")?;
        let mode = section
            .encrypt_mode
            .as_deref()
            .filter(|m| !m.is_empty())
            .ok_or("Encrypt mode must be set.")?;
        match mode {
            "gpg" => {
                let target = section
                    .encrypt_target
                    .as_deref()
                    .filter(|t| !t.is_empty())
                    .ok_or("Encrypt target must be set.")?;
                Ok(Settings {
                    mode: Mode::Gpg {
                        target: target.to_string(),
                    },
                })
            }
            "age" => {
                if section.encrypt_target.is_some() {
                    return Err("<encrypt_target> names a gpg key; with encrypt mode age, list the public keys as <recipient> elements instead".to_string());
                }
                let recipients = parse_recipients(&section.recipients)
                    .map_err(|e| format!("<encrypt><recipient>: {e}"))?;
                Ok(Settings {
                    mode: Mode::Age(recipients),
                })
            }
            _ => Err(format!(
                "Encrypt mode must be one of {}.",
                python_list(&Mode::NAMES)
            )),
        }
    }
}

/// A list of names as Python prints it: `['gpg', 'age']`.
pub fn python_list(names: &[&str]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("'{n}'")).collect();
    format!("[{}]", quoted.join(", "))
}

impl cedar_core::ExtensionSection for EncryptSection {
    const NAME: &'static str = SECTION;
    type Settings = Settings;

    fn settings(section: Option<&EncryptSection>) -> Result<Settings, Vec<String>> {
        Settings::from_section(section).map_err(|message| vec![message])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(mode: Option<&str>, target: Option<&str>, recipients: &[&str]) -> EncryptSection {
        EncryptSection {
            encrypt_mode: mode.map(str::to_string),
            encrypt_target: target.map(str::to_string),
            recipients: recipients.iter().map(|r| r.to_string()).collect(),
        }
    }

    fn problem(section: Option<&EncryptSection>) -> String {
        Settings::from_section(section).unwrap_err()
    }

    #[test]
    fn the_original_rules_and_messages() {
        assert_eq!(problem(None), "Encrypt section is required.");
        assert_eq!(
            problem(Some(&section(None, Some("x"), &[]))),
            "Encrypt mode must be set."
        );
        assert_eq!(
            problem(Some(&section(Some("pgp"), Some("x"), &[]))),
            "Encrypt mode must be one of ['gpg', 'age']."
        );
        assert_eq!(
            problem(Some(&section(Some(" gpg"), Some("x"), &[]))),
            "Encrypt mode must be one of ['gpg', 'age']."
        );
        assert_eq!(
            problem(Some(&section(Some("gpg"), None, &[]))),
            "Encrypt target must be set."
        );
        assert_eq!(
            problem(Some(&section(Some("gpg"), Some(""), &[]))),
            "Encrypt target must be set."
        );
        let ok = Settings::from_section(Some(&section(Some("gpg"), Some("Backup User"), &[])));
        match ok.unwrap().mode {
            Mode::Gpg { target } => assert_eq!(target, "Backup User"),
            Mode::Age(_) => panic!("gpg expected"),
        }
    }

    #[test]
    fn age_needs_valid_recipients() {
        let err = problem(Some(&section(Some("age"), None, &[])));
        assert!(err.contains("at least one <recipient>"), "{err}");
        let err = problem(Some(&section(Some("age"), None, &["age1nonsense"])));
        assert!(err.contains("age1nonsense"), "{err}");
        let err = problem(Some(&section(Some("age"), Some("x"), &[])));
        assert!(err.contains("<recipient>"), "{err}");
        let key = age::x25519::Identity::generate().to_public().to_string();
        let settings = Settings::from_section(Some(&section(Some("age"), None, &[&key]))).unwrap();
        assert_eq!(settings.mode.suffix(), ".age");
    }
}
