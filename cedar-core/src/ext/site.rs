//! What a run of a collect-time extension needs from the standard sections.
//!
//! Like the original, each extension needs `<options>` and `<collect>` ("Cedar Backup
//! configuration is not properly filled in."). Files go into collect_dir, state files into
//! working_dir, and everything written is handed to backup_user:backup_group when running as
//! root. Unlike the original, an owner that does not exist fails the action before anything is
//! written, instead of an ERROR per file and exit 0.

use std::path::PathBuf;

use crate::atomic::Owner;
use crate::calendar::Today;
use crate::config::ConfigFile;
use crate::ext::section::{ExtensionSection, SectionError};
use crate::ownership;
use crate::Options;

/// What one run of a collect-time extension takes from the standard sections.
#[derive(Debug, Clone)]
pub struct StandardSections<'a> {
    pub config: &'a ConfigFile,
    pub collect_dir: PathBuf,
    /// working_dir, where the state files live (absent when the document has none).
    pub working_dir: Option<PathBuf>,
    /// backup_user:backup_group, applied when running as root.
    pub owner: Option<Owner<'a>>,
    /// `--full`, or today is the starting day.
    pub full: bool,
    /// Today is the starting day.
    pub start_of_week: bool,
}

impl<'a> StandardSections<'a> {
    /// Reads the standard sections for `action`; when running as root, checks that the backup
    /// user and group exist.
    pub fn load(
        action: &'static str,
        config: &'a ConfigFile,
        options: &Options,
    ) -> Result<StandardSections<'a>, SectionError> {
        let incomplete = |missing| SectionError::Incomplete {
            action,
            missing,
            path: config.path.clone(),
        };
        let standard = config
            .config
            .options
            .as_ref()
            .ok_or_else(|| incomplete("the <options> section"))?;
        let collect_dir = config
            .config
            .collect
            .as_ref()
            .ok_or_else(|| incomplete("the <collect> section"))?
            .collect_dir
            .as_deref()
            .ok_or_else(|| incomplete("<collect><collect_dir>"))?;
        let owner = match (
            standard.backup_user.as_deref(),
            standard.backup_group.as_deref(),
        ) {
            (Some(user), Some(group)) => Some(Owner { user, group }),
            _ => None,
        };
        if let Some(owner) = owner.filter(|_| ownership::running_as_root()) {
            ownership::lookup(owner.user, owner.group)
                .map_err(|source| SectionError::Owner { action, source })?;
        }
        let start_of_week = standard
            .starting_day
            .is_some_and(|day| Today::current().is_starting_day(day));
        Ok(StandardSections {
            config,
            collect_dir: PathBuf::from(collect_dir),
            working_dir: standard.working_dir.as_deref().map(PathBuf::from),
            owner,
            full: options.full || start_of_week,
            start_of_week,
        })
    }

    /// working_dir, required by the extensions that keep state.
    pub fn working_dir(&self, action: &'static str) -> Result<&std::path::Path, SectionError> {
        self.working_dir
            .as_deref()
            .ok_or_else(|| SectionError::Incomplete {
                action,
                missing: "<options><working_dir>",
                path: self.config.path.clone(),
            })
    }

    /// The program for `name`: an `<override>`'s path, else `name` on PATH.
    pub fn program(&self, name: &str) -> PathBuf {
        crate::process::resolve_command(&self.config.config, name)
    }
}

/// What `cback validate` lists for the collect-time extension whose section is `S` (its
/// action has the section's name): the standard sections it needs, then its own section's
/// problems.
pub fn validate<S: ExtensionSection>(config: &ConfigFile, options: &Options) -> Vec<String> {
    let mut problems = Vec::new();
    if let Err(err) = StandardSections::load(S::NAME, config, options) {
        problems.push(err.to_string());
    }
    problems.extend(S::validate(config));
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ext::section::NOT_FILLED_IN;
    use std::path::Path;

    fn parse(text: &str) -> ConfigFile {
        ConfigFile::parse(text, Path::new("/etc/cback3.conf")).unwrap()
    }

    #[test]
    fn options_and_collect_are_required() {
        let options = Options::default();
        let config = parse("<cb_config><purge/></cb_config>");
        let err = StandardSections::load("mysql", &config, &options)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(NOT_FILLED_IN) && err.contains("<options>"),
            "{err}"
        );
        let config = parse("<cb_config><options/><collect/></cb_config>");
        let err = StandardSections::load("mysql", &config, &options)
            .unwrap_err()
            .to_string();
        assert!(err.contains("<collect><collect_dir>"), "{err}");
    }

    #[test]
    fn the_site_is_read() {
        let mut options = Options::default();
        let config = parse(
            "<cb_config><options><working_dir>/w</working_dir>\
             <override><command>svnadmin</command><abs_path>/opt/svnadmin</abs_path></override>\
             </options><collect><collect_dir>/c</collect_dir></collect></cb_config>",
        );
        let site = StandardSections::load("subversion", &config, &options).unwrap();
        assert_eq!(site.collect_dir, Path::new("/c"));
        assert_eq!(site.working_dir("subversion").unwrap(), Path::new("/w"));
        assert_eq!(site.program("svnadmin"), Path::new("/opt/svnadmin"));
        assert_eq!(site.program("svnlook"), Path::new("svnlook"));
        assert!(!site.full && !site.start_of_week && site.owner.is_none());
        options.full = true;
        assert!(
            StandardSections::load("subversion", &config, &options)
                .unwrap()
                .full
        );
    }
}
