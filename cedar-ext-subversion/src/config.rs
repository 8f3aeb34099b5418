//! The `<subversion>` section, read and checked with the original's rules and messages.
//!
//! ```xml
//! <subversion>
//!   <collect_mode>incr</collect_mode>      <!-- daily, weekly, incr: the default -->
//!   <compress_mode>bzip2</compress_mode>   <!-- none, gzip, bzip2: the default -->
//!   <repository>                            <!-- repeated -->
//!     <type>FSFS</type>                     <!-- kept for reference only -->
//!     <abs_path>/srv/svn/project</abs_path>
//!     <collect_mode>daily</collect_mode>    <!-- optional, overrides the default -->
//!   </repository>
//!   <repository_dir>                        <!-- repeated: each subdirectory is a repository -->
//!     <abs_path>/srv/svn</abs_path>
//!     <exclude><rel_path>old</rel_path><pattern>.*/tmp-.*</pattern></exclude>
//!   </repository_dir>
//! </subversion>
//! ```

use std::path::PathBuf;

use cedar_core::{
    inherited_mode, parse_collect_mode, parse_compress_mode, Codec, CollectMode, ListingExclusions,
};
use serde::Deserialize;

/// The element name of the section under `<cb_config>`.
pub const SECTION: &str = "subversion";

#[derive(Debug, Clone, Default, Deserialize)]
pub struct SubversionSection {
    #[serde(default)]
    pub collect_mode: Option<String>,
    #[serde(default)]
    pub compress_mode: Option<String>,
    #[serde(default, rename = "repository")]
    pub repositories: Vec<RepositoryElement>,
    #[serde(default, rename = "repository_dir")]
    pub repository_dirs: Vec<RepositoryDirElement>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct RepositoryElement {
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub abs_path: Option<String>,
    #[serde(default)]
    pub collect_mode: Option<String>,
    #[serde(default)]
    pub compress_mode: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct RepositoryDirElement {
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
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

/// One repository to back up, its modes settled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repository {
    pub path: PathBuf,
    pub collect_mode: CollectMode,
    pub compress_mode: Codec,
}

/// One repository directory, its modes settled.
#[derive(Debug, Clone)]
pub struct RepositoryDir {
    /// As configured (a trailing `/` kept: the original joins names to it).
    pub path: String,
    pub collect_mode: CollectMode,
    pub compress_mode: Codec,
    pub exclusions: ListingExclusions,
}

/// The checked section.
#[derive(Debug, Clone)]
pub struct Settings {
    pub repositories: Vec<Repository>,
    pub repository_dirs: Vec<RepositoryDir>,
}

/// The section's problems in the original's order (its first one is what the original reports),
/// or the settings.
pub fn settings(section: Option<&SubversionSection>) -> Result<Settings, Vec<String>> {
    let Some(section) = section else {
        return Err(vec!["Subversion section is required.".to_string()]);
    };
    let mut problems = Vec::new();
    let mut check_value = |value: Option<&str>, parse: fn(&str) -> Result<(), &'static str>| {
        if let Some(Err(message)) = value.map(parse) {
            problems.push(message.to_string());
        }
    };
    let collect = |t: &str| parse_collect_mode(t).map(|_| ());
    let compress = |t: &str| parse_compress_mode(t).map(|_| ());
    check_value(section.collect_mode.as_deref(), collect);
    check_value(section.compress_mode.as_deref(), compress);
    let relative = |path: &Option<String>| path.as_deref().is_some_and(|p| !p.starts_with('/'));
    for repository in &section.repositories {
        if relative(&repository.abs_path) {
            problems.push("Repository path must be an absolute path.".to_string());
        }
    }
    for dir in &section.repository_dirs {
        if relative(&dir.abs_path) {
            problems.push("Repository path must be an absolute path.".to_string());
        }
        for pattern in dir.exclude.iter().flat_map(|e| &e.patterns) {
            if cedar_core::ExcludePattern::new(pattern).is_err() {
                problems.push(format!("Not a valid regular expression: [{pattern}]"));
            }
        }
    }
    if section.repositories.is_empty() && section.repository_dirs.is_empty() {
        problems.push("At least one Subversion repository must be configured.".to_string());
    }
    let parent_collect = section.collect_mode.as_deref();
    let parent_compress = section.compress_mode.as_deref();
    let mut repositories = Vec::new();
    for repository in &section.repositories {
        let Some(path) = &repository.abs_path else {
            problems.push("Each repository must set a repository path.".to_string());
            continue;
        };
        let modes = modes(
            repository.collect_mode.as_deref(),
            repository.compress_mode.as_deref(),
            parent_collect,
            parent_compress,
            "individual repository",
        );
        match modes {
            Ok((collect_mode, compress_mode)) => repositories.push(Repository {
                path: PathBuf::from(path),
                collect_mode,
                compress_mode,
            }),
            Err(found) => problems.extend(found),
        }
    }
    let mut repository_dirs = Vec::new();
    for dir in &section.repository_dirs {
        let Some(path) = &dir.abs_path else {
            problems.push("Each repository directory must set a directory path.".to_string());
            continue;
        };
        let modes = modes(
            dir.collect_mode.as_deref(),
            dir.compress_mode.as_deref(),
            parent_collect,
            parent_compress,
            "repository directory",
        );
        let exclude = dir.exclude.clone().unwrap_or_default();
        let exclusions = ListingExclusions::new(path, &exclude.rel_paths, &exclude.patterns);
        match (modes, exclusions) {
            (Ok((collect_mode, compress_mode)), Ok(exclusions)) => {
                repository_dirs.push(RepositoryDir {
                    path: path.clone(),
                    collect_mode,
                    compress_mode,
                    exclusions,
                })
            }
            (Err(found), _) => problems.extend(found),
            // A bad pattern is reported above.
            (_, Err(_)) => {}
        }
    }
    if problems.is_empty() {
        Ok(Settings {
            repositories,
            repository_dirs,
        })
    } else {
        Err(problems)
    }
}

/// The collect and compress modes of an item, inherited from the section where not set.
fn modes(
    collect: Option<&str>,
    compress: Option<&str>,
    parent_collect: Option<&str>,
    parent_compress: Option<&str>,
    item: &str,
) -> Result<(CollectMode, Codec), Vec<String>> {
    let collect = inherited_mode(
        collect,
        parent_collect,
        parse_collect_mode,
        &format!("Collect mode must either be set in parent section or {item}."),
    );
    let compress = inherited_mode(
        compress,
        parent_compress,
        parse_compress_mode,
        &format!("Compress mode must either be set in parent section or {item}."),
    );
    match (collect, compress) {
        (Ok(a), Ok(b)) => Ok((a, b)),
        (a, b) => Err(a.err().into_iter().chain(b.err()).collect()),
    }
}

impl cedar_core::ExtensionSection for SubversionSection {
    const NAME: &'static str = SECTION;
    type Settings = Settings;

    fn settings(section: Option<&SubversionSection>) -> Result<Settings, Vec<String>> {
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
        let section = config.section::<SubversionSection>(SECTION).unwrap();
        settings(section.as_ref())
    }

    fn first(section: &str) -> String {
        parse(section).unwrap_err().remove(0)
    }

    #[test]
    fn the_originals_rules_and_messages() {
        assert_eq!(first(""), "Subversion section is required.");
        assert_eq!(
            first("<subversion><collect_mode>incr</collect_mode></subversion>"),
            "At least one Subversion repository must be configured."
        );
        assert_eq!(
            first("<subversion><repository><collect_mode>daily</collect_mode><compress_mode>none</compress_mode></repository></subversion>"),
            "Each repository must set a repository path."
        );
        assert_eq!(
            first("<subversion><repository_dir><compress_mode>none</compress_mode></repository_dir></subversion>"),
            "Each repository directory must set a directory path."
        );
        assert_eq!(
            first("<subversion><compress_mode>gzip</compress_mode><repository><abs_path>/a</abs_path></repository></subversion>"),
            "Collect mode must either be set in parent section or individual repository."
        );
        assert_eq!(
            first("<subversion><collect_mode>daily</collect_mode><repository_dir><abs_path>/a</abs_path></repository_dir></subversion>"),
            "Compress mode must either be set in parent section or repository directory."
        );
        assert_eq!(
            first("<subversion><collect_mode>daily</collect_mode><compress_mode>gzip</compress_mode><repository><abs_path>a</abs_path></repository></subversion>"),
            "Repository path must be an absolute path."
        );
        assert_eq!(
            first("<subversion><collect_mode>daily</collect_mode><compress_mode>gzip</compress_mode><repository_dir><abs_path>/a</abs_path><exclude><pattern>(</pattern></exclude></repository_dir></subversion>"),
            "Not a valid regular expression: [(]"
        );
        assert_eq!(
            first("<subversion><collect_mode>hourly</collect_mode><repository><abs_path>/a</abs_path></repository></subversion>"),
            "Collect mode must be one of ['daily', 'weekly', 'incr']."
        );
        assert_eq!(
            first("<subversion><collect_mode>daily</collect_mode><compress_mode> none</compress_mode><repository><abs_path>/a</abs_path></repository></subversion>"),
            "Compress mode must be one of ['none', 'gzip', 'bzip2']."
        );
    }

    #[test]
    fn items_inherit_the_section_modes() {
        let settings = parse(
            "<subversion><collect_mode>incr</collect_mode><compress_mode>bzip2</compress_mode>\
             <repository><type>FSFS</type><abs_path>/srv/a</abs_path><collect_mode>daily</collect_mode></repository>\
             <repository><abs_path>/srv/b</abs_path><compress_mode>none</compress_mode></repository>\
             <repository_dir><abs_path>/srv/dir/</abs_path><exclude><rel_path>x</rel_path></exclude></repository_dir>\
             </subversion>",
        )
        .unwrap();
        assert_eq!(
            settings.repositories,
            vec![
                Repository {
                    path: "/srv/a".into(),
                    collect_mode: CollectMode::Daily,
                    compress_mode: Codec::Bzip2
                },
                Repository {
                    path: "/srv/b".into(),
                    collect_mode: CollectMode::Incr,
                    compress_mode: Codec::None
                },
            ]
        );
        let dir = &settings.repository_dirs[0];
        assert_eq!(dir.path, "/srv/dir/");
        assert!(dir.exclusions.excludes(Path::new("/srv/dir/x")));
        assert_eq!(dir.collect_mode, CollectMode::Incr);
    }
}
