//! `<postgresql><encrypt>` (cback only): the dumps encrypted as they are written, so that no
//! byte of plaintext reaches the disk, not even in a temporary file.
//!
//! ```xml
//! <encrypt>
//!   <mode>age</mode>                      <!-- age (in process) or gpg (the gpg program) -->
//!   <recipient>age1…</recipient>          <!-- repeated: age or ssh public keys; for gpg a
//!                                              key id, fingerprint or address -->
//!   <verify_identity>/etc/cback/dump-check.key</verify_identity> <!-- optional, age only:
//!                                              decrypt every dump back and check it in full -->
//! </encrypt>
//! ```
//!
//! The file name gains `.age` or `.gpg` after the compression suffix. The chain of a dump is
//! pg_dump → compressor → encryption ([`cedar_core::seal`]) → hash → temporary file; the
//! check before the rename is in [`crate::sealed`].

use std::path::{Path, PathBuf};

use cedar_core::{clip_text, parse_recipients, Recipients, Seal, Sealing};
use serde::Deserialize;

/// The `<encrypt>` element of `<postgresql>` as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct EncryptSection {
    #[serde(default)]
    pub mode: Option<String>,
    #[serde(default, rename = "recipient")]
    pub recipients: Vec<String>,
    #[serde(default)]
    pub verify_identity: Option<String>,
}

/// For whom the dumps are encrypted.
#[derive(Debug, Clone)]
pub enum Mode {
    Age(Recipients),
    /// gpg key ids, fingerprints or addresses.
    Gpg(Vec<String>),
}

/// The checked `<encrypt>`.
#[derive(Debug, Clone)]
pub struct DumpEncryption {
    pub mode: Mode,
    /// An age identity file readable by the backup user only: every dump is decrypted back
    /// and checked in full before its rename.
    pub verify_identity: Option<PathBuf>,
}

impl PartialEq for DumpEncryption {
    fn eq(&self, other: &Self) -> bool {
        self.sealing() == other.sealing()
            && self.recipients() == other.recipients()
            && self.verify_identity == other.verify_identity
    }
}

impl Eq for DumpEncryption {}

impl DumpEncryption {
    pub fn sealing(&self) -> Sealing {
        match self.mode {
            Mode::Age(_) => Sealing::Age,
            Mode::Gpg(_) => Sealing::Gpg,
        }
    }

    pub fn recipients(&self) -> &[String] {
        match &self.mode {
            Mode::Age(recipients) => recipients.texts(),
            Mode::Gpg(recipients) => recipients,
        }
    }

    /// The encryption of a run; `gpg` is the program (`gpg`, or its `<override>`).
    pub fn seal(&self, gpg: &Path) -> Seal {
        match &self.mode {
            Mode::Age(recipients) => Seal::Age(recipients.clone()),
            Mode::Gpg(recipients) => Seal::Gpg {
                program: gpg.to_path_buf(),
                recipients: recipients.clone(),
            },
        }
    }
}

/// Every problem of `<encrypt>`, or its settings.
pub fn settings(section: &EncryptSection) -> Result<DumpEncryption, Vec<String>> {
    let mut problems = Vec::new();
    let mode = match section.mode.as_deref().map(str::trim) {
        None => {
            problems.push("<encrypt> needs a <mode>: age or gpg".to_string());
            None
        }
        Some("age") => match parse_recipients(&section.recipients) {
            Ok(recipients) => Some(Mode::Age(recipients)),
            Err(problem) => {
                problems.push(format!("<encrypt>: {problem}"));
                None
            }
        },
        Some("gpg") => {
            let keys: Vec<String> = section
                .recipients
                .iter()
                .map(|r| r.trim().to_string())
                .collect();
            if keys.is_empty() {
                problems.push("<encrypt><mode>gpg needs at least one <recipient>: a key id, fingerprint or address of a public key in the keyring of the backup user".to_string());
            }
            for key in &keys {
                if key.is_empty() || key.starts_with('-') {
                    problems.push(format!(
                        "<encrypt><recipient> `{}` is not a gpg key id, fingerprint or address",
                        clip_text(key)
                    ));
                }
            }
            Some(Mode::Gpg(keys))
        }
        Some(other) => {
            problems.push(format!(
                "<encrypt><mode> `{}` is not one of age, gpg",
                clip_text(other)
            ));
            None
        }
    };
    let verify_identity = section.verify_identity.as_deref().map(PathBuf::from);
    if let Some(path) = &verify_identity {
        if !path.is_absolute() {
            problems.push(format!(
                "<encrypt><verify_identity> `{}` must be an absolute path",
                clip_text(&path.to_string_lossy())
            ));
        }
        if matches!(mode, Some(Mode::Gpg(_))) {
            problems.push("<encrypt><verify_identity> applies to <mode>age only (an age identity file); with gpg the structure and hash of each dump are checked, and cback-restore drill decrypts them with the keyring".to_string());
        }
    }
    match mode {
        Some(mode) if problems.is_empty() => Ok(DumpEncryption {
            mode,
            verify_identity,
        }),
        _ => Err(problems),
    }
}

/// The problems of `<encrypt>` when there is one.
pub fn problems(section: Option<&EncryptSection>) -> Vec<String> {
    section
        .map(|s| settings(s).err().unwrap_or_default())
        .unwrap_or_default()
}

/// Checks before any dump that the `<verify_identity>` file is private to the backup user
/// and holds age identities; the problem in words.
pub fn check_identity(path: &Path) -> Result<(), String> {
    cedar_core::check_identity_private(path)?;
    cedar_core::read_age_identities(path)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(mode: &str, recipients: &[&str], identity: Option<&str>) -> EncryptSection {
        EncryptSection {
            mode: Some(mode.to_string()),
            recipients: recipients.iter().map(|r| r.to_string()).collect(),
            verify_identity: identity.map(str::to_string),
        }
    }

    #[test]
    fn modes_recipients_and_identities_are_checked() {
        let key = age::x25519::Identity::generate().to_public().to_string();
        let age = settings(&section("age", &[&key], Some("/etc/id"))).unwrap();
        assert_eq!(age.sealing(), Sealing::Age);
        assert_eq!(age.verify_identity, Some(PathBuf::from("/etc/id")));
        let gpg = settings(&section("gpg", &[" backup@example.org "], None)).unwrap();
        assert_eq!(gpg.recipients(), ["backup@example.org"]);

        let wrong = |s: EncryptSection| settings(&s).unwrap_err().join("; ");
        assert!(wrong(section("zip", &[], None)).contains("not one of age, gpg"));
        assert!(wrong(section("age", &[], None)).contains("at least one <recipient>"));
        assert!(wrong(section("age", &["age1nope"], None)).contains("not an age public key"));
        assert!(wrong(section("gpg", &[], None)).contains("at least one <recipient>"));
        assert!(wrong(section("gpg", &["--output=/x"], None)).contains("not a gpg key"));
        assert!(wrong(section("age", &[&key], Some("id.txt"))).contains("absolute path"));
        assert!(wrong(section("gpg", &["k"], Some("/id"))).contains("<mode>age only"));
        assert!(wrong(EncryptSection::default()).contains("needs a <mode>"));
    }
}
