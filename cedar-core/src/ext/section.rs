//! How an extension reads its section and the standard sections it needs: the one
//! [`ExtensionSection`] trait, and the one [`SectionError`] every extension reports.

use std::path::PathBuf;

use serde::de::DeserializeOwned;

use crate::config::{ConfigError, ConfigFile};
use crate::ownership::OwnershipError;

/// The original's message for a document without the standard sections an extension needs.
pub const NOT_FILLED_IN: &str = "Cedar Backup configuration is not properly filled in.";

/// Why the configuration cannot serve an extension.
#[derive(Debug, thiserror::Error)]
pub enum SectionError {
    /// A standard section or value the action needs is missing (the element is named).
    #[error("{NOT_FILLED_IN} The {action} action needs {missing} in {}; add it and run again", path.display())]
    Incomplete {
        action: &'static str,
        missing: &'static str,
        path: PathBuf,
    },
    /// The extension's section could not be read at all.
    #[error("cannot read the <{section}> section of {}: {source}", path.display())]
    Read {
        section: &'static str,
        path: PathBuf,
        /// Boxed: configuration errors are large.
        #[source]
        source: Box<ConfigError>,
    },
    /// The extension's section breaks the rules (each problem in the original's words).
    #[error("invalid <{section}> section in {}: {} Fix the section and run again.", path.display(), sentences(problems))]
    Invalid {
        section: &'static str,
        path: PathBuf,
        problems: Vec<String>,
    },
    /// Running as root, and backup_user or backup_group does not exist.
    #[error("cannot hand the {action} action's files to their owner: {source}")]
    Owner {
        action: &'static str,
        #[source]
        source: OwnershipError,
    },
}

/// `problems` one after the other, each ending with a full stop.
fn sentences(problems: &[String]) -> String {
    let ended: Vec<String> = problems
        .iter()
        .map(|p| {
            if p.ends_with('.') {
                p.clone()
            } else {
                format!("{p}.")
            }
        })
        .collect();
    ended.join(" ")
}

impl SectionError {
    /// The problems to list for `cback validate`: each rule broken, or the error itself.
    pub fn problems(&self) -> Vec<String> {
        match self {
            SectionError::Invalid { problems, .. } => problems.clone(),
            other => vec![other.to_string()],
        }
    }
}

/// An extension's section of the configuration (`<mbox>`, `<encrypt>`, ...), read with the
/// standard reading rules and checked into what the action works from.
pub trait ExtensionSection: DeserializeOwned {
    /// The element's name, a direct child of `<cb_config>`.
    const NAME: &'static str;
    /// What the action works from once the section is checked.
    type Settings;

    /// The section's rules: the settings, or every problem found (the original's messages).
    /// `None` when the document has no such section.
    fn settings(section: Option<&Self>) -> Result<Self::Settings, Vec<String>>;

    /// Reads and checks the section of `config`.
    fn load(config: &ConfigFile) -> Result<Self::Settings, SectionError> {
        let section = config
            .section::<Self>(Self::NAME)
            .map_err(|source| SectionError::Read {
                section: Self::NAME,
                path: config.path.clone(),
                source: Box::new(source),
            })?;
        Self::settings(section.as_ref()).map_err(|problems| SectionError::Invalid {
            section: Self::NAME,
            path: config.path.clone(),
            problems,
        })
    }

    /// What `cback validate` lists about the section: each rule broken, or why it cannot be
    /// read; nothing when it is fine.
    fn validate(config: &ConfigFile) -> Vec<String> {
        Self::load(config)
            .err()
            .map(|err| err.problems())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[derive(Debug, serde::Deserialize)]
    struct Probe {
        size: Option<String>,
    }

    impl ExtensionSection for Probe {
        const NAME: &'static str = "probe";
        type Settings = u32;

        fn settings(section: Option<&Probe>) -> Result<u32, Vec<String>> {
            let size = section
                .and_then(|s| s.size.as_deref())
                .ok_or_else(|| vec!["Probe section is required.".to_string()])?;
            size.parse()
                .map_err(|_| vec!["Size must be a number.".to_string()])
        }
    }

    fn load(text: &str) -> Result<u32, SectionError> {
        Probe::load(&ConfigFile::parse(text, Path::new("/etc/cback3.conf")).unwrap())
    }

    #[test]
    fn a_section_is_read_and_checked() {
        assert_eq!(
            load("<cb_config><probe><size>7</size></probe></cb_config>").unwrap(),
            7
        );
        let err = load("<cb_config><probe><size>x</size></probe></cb_config>").unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("invalid <probe> section in /etc/cback3.conf: Size must be a number."),
            "{text}"
        );
        assert_eq!(err.problems(), vec!["Size must be a number.".to_string()]);
        let config = ConfigFile::parse(
            "<cb_config><probe><size>x</size></probe></cb_config>",
            Path::new("/etc/cback3.conf"),
        )
        .unwrap();
        assert_eq!(
            Probe::validate(&config),
            vec!["Size must be a number.".to_string()]
        );
        let err = load("<cb_config/>").unwrap_err();
        assert!(
            err.to_string().contains("Probe section is required."),
            "{err}"
        );
    }

    #[test]
    fn the_standard_messages_name_the_action_and_the_file() {
        let err = SectionError::Incomplete {
            action: "split",
            missing: "a <stage> section",
            path: PathBuf::from("/etc/cback3.conf"),
        };
        let text = err.to_string();
        assert!(text.starts_with(NOT_FILLED_IN), "{text}");
        assert!(
            text.contains("split action needs a <stage> section in /etc/cback3.conf"),
            "{text}"
        );
    }
}
