//! Reading, validating and writing the Cedar Backup 3 configuration document.
//!
//! STUB: the parser is being written; this file pins the public interface.

mod model;

pub use model::*;

use std::path::{Path, PathBuf};

/// One problem found in a document: the element path and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Element path such as `<collect><dir><collect_mode>`.
    pub element: String,
    /// Lowercase message naming the bad value, e.g. "`hourly` is not one of daily, weekly, incr".
    pub message: String,
}

/// Errors from loading a configuration document.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{}: cannot read the configuration file: {source}; check the path given with --config and its permissions", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: {message}", path.display())]
    Invalid { path: PathBuf, message: String },
}

/// A loaded document: the standard sections, typed, plus the raw tree for extension sections.
#[derive(Debug, Clone)]
pub struct ConfigFile {
    pub path: PathBuf,
    pub config: Config,
}

impl ConfigFile {
    /// Reads, parses and validates `path` with the original's whole-document rules.
    pub fn load(path: &Path) -> Result<ConfigFile, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let _ = text;
        Ok(ConfigFile {
            path: path.to_path_buf(),
            config: Config::default(),
        })
    }

    /// Reads the extension section `name` (a direct child of `<cb_config>`) with the same
    /// reading rules as the standard sections. `Ok(None)` when the section is absent.
    pub fn section<T: serde::de::DeserializeOwned>(
        &self,
        name: &str,
    ) -> Result<Option<T>, ConfigError> {
        let _ = name;
        Ok(None)
    }
}
