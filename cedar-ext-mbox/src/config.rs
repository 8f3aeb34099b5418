//! The `<mbox>` section, read and checked with the original's rules and messages.
//!
//! ```xml
//! <mbox>
//!   <collect_mode>incr</collect_mode>     <!-- daily, weekly, incr: the default -->
//!   <compress_mode>gzip</compress_mode>   <!-- none, gzip, bzip2: the default -->
//!   <file><abs_path>/home/u/mbox</abs_path></file>          <!-- repeated -->
//!   <dir><abs_path>/home/u/Mail</abs_path>                   <!-- repeated: its files -->
//!     <exclude><rel_path>spam</rel_path><pattern>.*/tmp.*</pattern></exclude>
//!   </dir>
//! </mbox>
//! ```

use std::path::PathBuf;

use cedar_core::{
    inherited_mode, parse_collect_mode, parse_compress_mode, Codec, CollectMode, ListingExclusions,
};
use serde::Deserialize;

/// The element name of the section under `<cb_config>`.
pub const SECTION: &str = "mbox";

#[derive(Debug, Clone, Default, Deserialize)]
pub struct MboxSection {
    #[serde(default)]
    pub collect_mode: Option<String>,
    #[serde(default)]
    pub compress_mode: Option<String>,
    #[serde(default, rename = "file")]
    pub files: Vec<ItemElement>,
    #[serde(default, rename = "dir")]
    pub dirs: Vec<ItemElement>,
}

/// A `<file>` or `<dir>` (a file has no exclusions).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ItemElement {
    #[serde(default)]
    pub abs_path: Option<String>,
    #[serde(default)]
    pub collect_mode: Option<String>,
    #[serde(default)]
    pub compress_mode: Option<String>,
    #[serde(default)]
    pub exclude: Option<ExcludeElement>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ExcludeElement {
    #[serde(default, rename = "rel_path")]
    pub rel_paths: Vec<String>,
    #[serde(default, rename = "pattern")]
    pub patterns: Vec<String>,
}

/// One mbox file or directory, its modes settled.
#[derive(Debug, Clone)]
pub struct Item {
    pub path: String,
    pub collect_mode: CollectMode,
    pub compress_mode: Codec,
    /// For a directory.
    pub exclusions: ListingExclusions,
}

impl Item {
    pub fn path_buf(&self) -> PathBuf {
        PathBuf::from(&self.path)
    }
}

/// The checked section.
#[derive(Debug, Clone)]
pub struct Settings {
    pub files: Vec<Item>,
    pub dirs: Vec<Item>,
}

/// The section's problems in the original's order, or the settings.
pub fn settings(section: Option<&MboxSection>) -> Result<Settings, Vec<String>> {
    let Some(section) = section else {
        return Err(vec!["Mbox section is required.".to_string()]);
    };
    let mut problems = Vec::new();
    if let Some(Err(message)) = section.collect_mode.as_deref().map(parse_collect_mode) {
        problems.push(message.to_string());
    }
    if let Some(Err(message)) = section.compress_mode.as_deref().map(parse_compress_mode) {
        problems.push(message.to_string());
    }
    for item in section.files.iter().chain(&section.dirs) {
        if item
            .abs_path
            .as_deref()
            .is_some_and(|p| !p.starts_with('/'))
        {
            problems.push("Absolute path must be, er, an absolute path.".to_string());
        }
        for pattern in item.exclude.iter().flat_map(|e| &e.patterns) {
            if cedar_core::ExcludePattern::new(pattern).is_err() {
                problems.push(format!("Not a valid regular expression: [{pattern}]"));
            }
        }
    }
    if section.files.is_empty() && section.dirs.is_empty() {
        problems.push("At least one mbox file or directory must be configured.".to_string());
    }
    let files = items(section, &section.files, "file", &mut problems);
    let dirs = items(section, &section.dirs, "directory", &mut problems);
    if problems.is_empty() {
        Ok(Settings { files, dirs })
    } else {
        Err(problems)
    }
}

fn items(
    section: &MboxSection,
    elements: &[ItemElement],
    what: &str,
    problems: &mut Vec<String>,
) -> Vec<Item> {
    let mut items = Vec::new();
    for element in elements {
        let Some(path) = &element.abs_path else {
            problems.push(format!("Each mbox {what} must set an absolute path."));
            continue;
        };
        let collect = inherited_mode(
            element.collect_mode.as_deref(),
            section.collect_mode.as_deref(),
            parse_collect_mode,
            &format!(
                "Collect mode must either be set in parent mbox section or individual mbox {what}."
            ),
        );
        let compress = inherited_mode(
            element.compress_mode.as_deref(),
            section.compress_mode.as_deref(),
            parse_compress_mode,
            &format!(
                "Compress mode must either be set in parent mbox section or individual mbox {what}."
            ),
        );
        let exclude = element.exclude.clone().unwrap_or_default();
        let exclusions = ListingExclusions::new(path, &exclude.rel_paths, &exclude.patterns);
        match (collect, compress, exclusions) {
            (Ok(collect_mode), Ok(compress_mode), Ok(exclusions)) => items.push(Item {
                path: path.clone(),
                collect_mode,
                compress_mode,
                exclusions,
            }),
            (collect, compress, _) => {
                problems.extend(collect.err());
                problems.extend(compress.err());
            }
        }
    }
    items
}

impl cedar_core::ExtensionSection for MboxSection {
    const NAME: &'static str = SECTION;
    type Settings = Settings;

    fn settings(section: Option<&MboxSection>) -> Result<Settings, Vec<String>> {
        settings(section)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cedar_core::ConfigFile;
    use std::path::Path;

    fn first(section: &str) -> String {
        let text = format!("<cb_config>{section}</cb_config>");
        let config = ConfigFile::parse(&text, Path::new("/x.conf")).unwrap();
        let section = config.section::<MboxSection>(SECTION).unwrap();
        settings(section.as_ref()).unwrap_err().remove(0)
    }

    #[test]
    fn the_originals_rules_and_messages() {
        assert_eq!(first(""), "Mbox section is required.");
        assert_eq!(
            first("<mbox><collect_mode>incr</collect_mode></mbox>"),
            "At least one mbox file or directory must be configured."
        );
        assert_eq!(
            first("<mbox><collect_mode>incr</collect_mode><compress_mode>none</compress_mode><file><collect_mode>daily</collect_mode></file></mbox>"),
            "Each mbox file must set an absolute path."
        );
        assert_eq!(
            first("<mbox><collect_mode>incr</collect_mode><compress_mode>none</compress_mode><dir/></mbox>"),
            "Each mbox directory must set an absolute path."
        );
        assert_eq!(
            first("<mbox><compress_mode>none</compress_mode><file><abs_path>/m</abs_path></file></mbox>"),
            "Collect mode must either be set in parent mbox section or individual mbox file."
        );
        assert_eq!(
            first(
                "<mbox><collect_mode>daily</collect_mode><dir><abs_path>/m</abs_path></dir></mbox>"
            ),
            "Compress mode must either be set in parent mbox section or individual mbox directory."
        );
        assert_eq!(
            first("<mbox><collect_mode>daily</collect_mode><compress_mode>none</compress_mode><file><abs_path>m</abs_path></file></mbox>"),
            "Absolute path must be, er, an absolute path."
        );
        assert_eq!(
            first("<mbox><collect_mode>weekly </collect_mode><compress_mode>none</compress_mode><file><abs_path>/m</abs_path></file></mbox>"),
            "Collect mode must be one of ['daily', 'weekly', 'incr']."
        );
    }
}
