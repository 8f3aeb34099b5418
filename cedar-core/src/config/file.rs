//! The configuration file: reading and checking it whole, its errors (each problem with its
//! line), the raw document that extensions read their own sections from, and writing a section
//! back as XML.

use super::{de, dom, ser, validate, Config};
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

/// One problem found in a document: the element path and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Element path such as `<collect><dir><collect_mode>`.
    pub element: String,
    /// Lowercase message naming the bad value, e.g. "`hourly` is not one of daily, weekly, incr".
    pub message: String,
}

impl Problem {
    pub fn new(element: impl Into<String>, message: impl Into<String>) -> Problem {
        Problem {
            element: element.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.element.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.element, self.message)
        }
    }
}

/// The cause of a value error (a failed number conversion, for example).
pub type ValueSource = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Errors from loading a configuration document.
/// The largest configuration file cback reads (16 MiB).
pub const MAX_CONFIG_BYTES: u64 = 16 << 20;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{}: cannot read the configuration file: {source}; check the path given with --config and its permissions", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The document is not well-formed XML.
    #[error("{}: line {line}, column {column}: malformed XML: {message}; fix the document so that it is well-formed XML", path.display())]
    Malformed {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
        #[source]
        source: Option<quick_xml::Error>,
    },
    /// The document is larger or more deeply nested than any configuration is (see
    /// [`limits`]); nothing of it was used.
    #[error("{}: line {line}, column {column}: refused: {message}; no configuration comes near this limit, so check that --config names the right file", path.display())]
    Limit {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    /// One value cannot be read (a bad boolean, integer or enumeration value).
    #[error("{}: {problem}", path.display())]
    Value {
        path: PathBuf,
        problem: Problem,
        #[source]
        source: Option<ValueSource>,
    },
    /// The document breaks one or more rules; every problem found is listed, one per line.
    #[error("{}", render_problems(path, problems))]
    Invalid {
        path: PathBuf,
        problems: Vec<Problem>,
    },
    /// A value could not be written back as XML.
    #[error("{}: cannot write the configuration: {message}", path.display())]
    Write { path: PathBuf, message: String },
}

fn render_problems(path: &Path, problems: &[Problem]) -> String {
    let lines: Vec<String> = problems
        .iter()
        .map(|p| format!("{}: {p}", path.display()))
        .collect();
    lines.join("\n")
}

impl ConfigError {
    /// The problems this error reports, with their element paths (empty for read and XML
    /// errors).
    pub fn problems(&self) -> Vec<Problem> {
        match self {
            ConfigError::Value { problem, .. } => vec![problem.clone()],
            ConfigError::Invalid { problems, .. } => problems.clone(),
            _ => Vec::new(),
        }
    }

    fn from_de(path: &Path, e: de::DeError) -> ConfigError {
        ConfigError::Value {
            path: path.to_path_buf(),
            problem: Problem::new(e.element, e.message),
            source: e.source,
        }
    }
}

/// A loaded document: the standard sections, typed, plus (in [`Config::raw`]) the raw tree for
/// extension sections.
#[derive(Debug, Clone)]
pub struct ConfigFile {
    pub path: PathBuf,
    pub config: Config,
}

/// The `<cb_config>` element as it was read, kept so that extensions can read their own
/// sections and so that writing the document back preserves them. Opaque.
///
/// It takes no part in comparisons: two [`Config`]s are equal when their standard sections
/// are.
#[derive(Clone, Default)]
pub struct RawDocument {
    pub(super) root: Option<dom::Element>,
}

impl PartialEq for RawDocument {
    fn eq(&self, _other: &RawDocument) -> bool {
        true
    }
}

impl RawDocument {
    /// The extension sections (children of `<cb_config>` the standard parser does not read).
    pub(super) fn extension_sections(&self) -> impl Iterator<Item = &dom::Element> {
        self.root
            .iter()
            .flat_map(|r| r.elements())
            .filter(|e| !STANDARD_SECTIONS.contains(&e.name.as_str()))
    }
}

impl fmt::Debug for RawDocument {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self
            .root
            .iter()
            .flat_map(|r| r.elements().map(|e| e.name.as_str()))
            .collect();
        f.debug_struct("RawDocument")
            .field("sections", &names)
            .finish()
    }
}

/// The sections the standard parser reads; every other child of `<cb_config>` belongs to an
/// extension.
const STANDARD_SECTIONS: &[&str] = &[
    "reference",
    "extensions",
    "options",
    "peers",
    "collect",
    "stage",
    "store",
    "purge",
];

impl ConfigFile {
    /// A document made from a configuration built in code, with no extension sections.
    pub fn new(path: impl Into<PathBuf>, config: Config) -> ConfigFile {
        ConfigFile {
            path: path.into(),
            config,
        }
    }

    /// Reads, parses and validates `path` with the original's whole-document rules.
    ///
    /// A file over [`MAX_CONFIG_BYTES`] is refused.
    pub fn load(path: &Path) -> Result<ConfigFile, ConfigError> {
        let read_error = |source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        };
        // Bounded, so that a wrong --config (say /dev/zero) fails instead of eating memory.
        let mut bytes = Vec::new();
        std::fs::File::open(path)
            .and_then(|f| f.take(MAX_CONFIG_BYTES + 1).read_to_end(&mut bytes))
            .map_err(read_error)?;
        if bytes.len() as u64 > MAX_CONFIG_BYTES {
            return Err(read_error(std::io::Error::other(format!(
                "the file is larger than {} MiB, which no configuration is; check --config",
                MAX_CONFIG_BYTES >> 20
            ))));
        }
        let text = String::from_utf8(bytes).map_err(|e| {
            let good = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let good = String::from_utf8_lossy(good);
            ConfigError::Malformed {
                path: path.to_path_buf(),
                line: good.matches('\n').count() + 1,
                column: good.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1,
                message: "the file is not UTF-8 text; convert it to UTF-8".to_string(),
                source: None,
            }
        })?;
        let file = ConfigFile::parse(&text, path)?;
        let mut problems = file.validate();
        problems.extend(super::check::registered_problems(&file));
        if problems.is_empty() {
            Ok(file)
        } else {
            Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                problems,
            })
        }
    }

    /// Parses `text` (read from `path`, which is only used in messages) and checks each value
    /// on its own, as the original does while reading. The whole-document rules are not
    /// applied: see [`ConfigFile::validate`].
    pub fn parse(text: &str, path: &Path) -> Result<ConfigFile, ConfigError> {
        let root = dom::parse(text).map_err(|e| match e.limit {
            true => ConfigError::Limit {
                path: path.to_path_buf(),
                line: e.line,
                column: e.column,
                message: e.message,
            },
            false => ConfigError::Malformed {
                path: path.to_path_buf(),
                line: e.line,
                column: e.column,
                message: e.message,
                source: e.source,
            },
        })?;
        // Settings live under the first `<cb_config>`: with any other root, every section is
        // absent.
        let root = (root.name == "cb_config").then_some(root);
        let mut config = match &root {
            Some(r) => {
                de::from_element::<Config>(r, "").map_err(|e| ConfigError::from_de(path, e))?
            }
            None => Config::default(),
        };
        // The original reads relative exclusions only under `<dir>`.
        if let Some(exclude) = config.collect.as_mut().and_then(|c| c.exclude.as_mut()) {
            exclude.rel_paths.clear();
        }
        let problems = validate::field_problems(&config);
        if !problems.is_empty() {
            return Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                problems,
            });
        }
        config.raw = RawDocument { root };
        Ok(ConfigFile {
            path: path.to_path_buf(),
            config,
        })
    }

    /// Every problem with the document: the checks on single values and the whole-document
    /// rules (options required, at least one of collect, stage, store and purge, every
    /// present section valid). Empty when the document is valid.
    pub fn validate(&self) -> Vec<Problem> {
        self.config.validate()
    }

    /// Whether the document has a section `name` (a direct child of `<cb_config>`), even an
    /// empty one.
    pub fn has_section(&self, name: &str) -> bool {
        self.config
            .raw
            .root
            .as_ref()
            .is_some_and(|r| r.children_named(name).next().is_some())
    }

    /// Reads the extension section `name` (a direct child of `<cb_config>`) with the same
    /// reading rules as the standard sections. `Ok(None)` when the section is absent. When
    /// the section appears more than once, the first one is read.
    pub fn section<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, ConfigError> {
        let Some(root) = &self.config.raw.root else {
            return Ok(None);
        };
        let Some(element) = root.children_named(name).next() else {
            return Ok(None);
        };
        de::from_element::<T>(element, &format!("<{name}>"))
            .map(Some)
            .map_err(|e| ConfigError::from_de(&self.path, e))
    }

    /// Writes the document back as XML: the standard sections from [`ConfigFile::config`],
    /// then the extension sections as they were read.
    pub fn to_xml(&self) -> String {
        self.config.to_xml()
    }
}

impl Config {
    /// Parses `text` as a document and returns its standard sections, with each value checked
    /// on its own (no whole-document rules).
    pub fn from_xml(text: &str) -> Result<Config, ConfigError> {
        ConfigFile::parse(text, Path::new("<string>")).map(|f| f.config)
    }

    /// Every problem with this configuration, as [`ConfigFile::validate`] reports them.
    pub fn validate(&self) -> Vec<Problem> {
        let mut problems = validate::field_problems(self);
        problems.extend(validate::document_problems(self));
        problems
    }

    /// Writes the document as XML: the standard sections from the typed fields, then the
    /// extension sections as they were read (see [`Config::raw`]).
    pub fn to_xml(&self) -> String {
        // The model only holds strings, numbers, booleans, enumerations, options and lists,
        // which the serializer always handles.
        let mut root =
            ser::to_element("cb_config", self).unwrap_or_else(|_| dom::Element::new("cb_config"));
        if let Some(original) = &self.raw.root {
            // Namespace declarations on the root may be needed by extension sections.
            root.attrs = original.attrs.clone();
        }
        let sections: Vec<&dom::Element> = self.raw.extension_sections().collect();
        dom::to_document(&root, &sections)
    }
}
