//! The `<mysql>` section, read and checked with the original's rules and messages.
//!
//! ```xml
//! <mysql>
//!   <user>backup</user>               <!-- optional: --user=USER -->
//!   <password>secret</password>       <!-- optional: never in argv (see crate::defaults) -->
//!   <compress_mode>bzip2</compress_mode>  <!-- none, gzip, bzip2; required -->
//!   <all>N</all>                      <!-- Y: every database in one dump -->
//!   <database>shop</database>         <!-- repeated, when all is N -->
//! </mysql>
//! ```
//!
//! Leaving out user and password keeps the original's recommended set-up working: credentials,
//! host and socket in a `[client]` or `[mysqldump]` stanza of the running user's `~/.my.cnf`.

use std::fmt;

use cedar_core::{parse_compress_mode, parse_section_bool, Codec};
use serde::Deserialize;

/// The element name of the section under `<cb_config>`.
pub const SECTION: &str = "mysql";

#[derive(Clone, Default, Deserialize)]
pub struct MysqlSection {
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub compress_mode: Option<String>,
    #[serde(default)]
    pub all: Option<String>,
    #[serde(default, rename = "database")]
    pub databases: Vec<String>,
}

impl fmt::Debug for MysqlSection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MysqlSection")
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "<hidden>"))
            .field("compress_mode", &self.compress_mode)
            .field("all", &self.all)
            .field("databases", &self.databases)
            .finish()
    }
}

/// What one dump covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    All,
    Database(String),
}

impl Target {
    /// `mysqldump.txt` or `mysqldump-DATABASE.txt`, plus the compression suffix.
    pub fn file_name(&self, mode: Codec) -> String {
        match self {
            Target::All => format!("mysqldump.txt{}", mode.extension()),
            Target::Database(name) => format!("mysqldump-{name}.txt{}", mode.extension()),
        }
    }

    /// The name in the run status.
    pub fn label(&self) -> &str {
        match self {
            Target::All => "all",
            Target::Database(name) => name,
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::All => f.write_str("all databases"),
            Target::Database(name) => write!(f, "database [{name}]"),
        }
    }
}

/// The checked section.
#[derive(Clone, PartialEq, Eq)]
pub struct Settings {
    pub user: Option<String>,
    pub password: Option<String>,
    pub compress_mode: Codec,
    pub targets: Vec<Target>,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "<hidden>"))
            .field("compress_mode", &self.compress_mode)
            .field("targets", &self.targets)
            .finish()
    }
}

/// The section's problems in the original's order (its first one is what the original
/// reports), or the settings.
pub fn settings(section: Option<&MysqlSection>) -> Result<Settings, Vec<String>> {
    let Some(section) = section else {
        return Err(vec!["Mysql section is required.".to_string()]);
    };
    let mut problems = Vec::new();
    let mode = section.compress_mode.as_deref().map(parse_compress_mode);
    if let Some(Err(message)) = mode {
        problems.push(message.to_string());
    }
    // A bad boolean is the only problem of `all` (the rules below need its value).
    let all = match section.all.as_deref().map(parse_section_bool) {
        Some(Err(message)) => {
            problems.push(message.to_string());
            None
        }
        Some(Ok(all)) => Some(all),
        None => Some(false),
    };
    if section.compress_mode.is_none() {
        problems.push("Compress mode value is required.".to_string());
    }
    match all {
        Some(true) if !section.databases.is_empty() => {
            problems.push("Databases cannot be specified if 'all' flag is set.".to_string())
        }
        Some(false) if section.databases.is_empty() => problems.push(
            "At least one MySQL database must be indicated if 'all' flag is not set.".to_string(),
        ),
        _ => {}
    }
    let all = all.unwrap_or(false);
    if !problems.is_empty() {
        return Err(problems);
    }
    let targets = if all {
        vec![Target::All]
    } else {
        // The original dumps a database listed twice twice, into the same file.
        let mut targets: Vec<Target> = Vec::new();
        for name in &section.databases {
            let target = Target::Database(name.clone());
            if targets.contains(&target) {
                tracing::warn!(
                    "Database [{name}] is listed more than once in <mysql>; it is dumped once. Remove the repeated <database>."
                );
            } else {
                targets.push(target);
            }
        }
        targets
    };
    Ok(Settings {
        user: section.user.clone(),
        password: section.password.clone(),
        compress_mode: match mode {
            Some(Ok(mode)) => mode,
            _ => Codec::None,
        },
        targets,
    })
}

impl cedar_core::ExtensionSection for MysqlSection {
    const NAME: &'static str = SECTION;
    type Settings = Settings;

    fn settings(section: Option<&MysqlSection>) -> Result<Settings, Vec<String>> {
        settings(section)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cedar_core::ConfigFile;
    use std::path::Path;

    fn parse(section: &str) -> Result<Settings, Vec<String>> {
        let text = format!("<cb_config>{section}</cb_config>");
        let config = ConfigFile::parse(&text, Path::new("/x.conf")).unwrap();
        let section = config.section::<MysqlSection>(SECTION).unwrap();
        settings(section.as_ref())
    }

    fn first(section: &str) -> String {
        parse(section).unwrap_err().remove(0)
    }

    #[test]
    fn the_originals_rules_in_its_order() {
        assert_eq!(first(""), "Mysql section is required.");
        assert_eq!(
            first("<mysql><all>Y</all></mysql>"),
            "Compress mode value is required."
        );
        assert_eq!(
            first("<mysql><compress_mode>gzip</compress_mode><all>Y</all><database>a</database></mysql>"),
            "Databases cannot be specified if 'all' flag is set."
        );
        assert_eq!(
            first("<mysql><compress_mode>gzip</compress_mode><all>N</all></mysql>"),
            "At least one MySQL database must be indicated if 'all' flag is not set."
        );
        assert_eq!(
            first("<mysql><compress_mode> none</compress_mode><all>Y</all></mysql>"),
            "Compress mode must be one of ['none', 'gzip', 'bzip2']."
        );
        assert_eq!(
            parse("<mysql><compress_mode>gzip</compress_mode><all>yes</all></mysql>").unwrap_err(),
            vec!["Boolean values must be one of ['Y', 'y', 'N', 'n']."]
        );
    }

    #[test]
    fn empty_elements_count_as_absent() {
        let settings = parse(
            "<mysql><user/><password></password><compress_mode>bzip2</compress_mode>\
             <database>a</database><database/><database>with space</database><database>a</database></mysql>",
        )
        .unwrap();
        assert_eq!(settings.user, None);
        assert_eq!(settings.password, None);
        assert_eq!(
            settings.targets,
            vec![
                Target::Database("a".into()),
                Target::Database("with space".into())
            ]
        );
        assert_eq!(
            settings.targets[1].file_name(Codec::Bzip2),
            "mysqldump-with space.txt.bz2"
        );
        assert_eq!(Target::All.file_name(Codec::None), "mysqldump.txt");
    }

    #[test]
    fn the_password_is_never_printed() {
        let settings =
            parse("<mysql><password>hunter2</password><compress_mode>none</compress_mode><all>y</all></mysql>")
                .unwrap();
        assert_eq!(settings.password.as_deref(), Some("hunter2"));
        assert!(!format!("{settings:?}").contains("hunter2"));
    }
}
