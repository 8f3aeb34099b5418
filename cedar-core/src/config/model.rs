//! The typed configuration model: one struct per section of `<cb_config>`.
//!
//! Single values are `Option`s because the document may leave them out; whether a value is
//! required is decided by the whole-document validation in `super::validate`, which can then
//! report every problem with its element path. Values that fail to parse at all (a bad boolean,
//! an unknown enumeration value, a non-integer) are rejected while reading.

use serde::{Deserialize, Serialize};

/// The whole `<cb_config>` document, standard sections only.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename = "cb_config")]
pub struct Config {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<ReferenceConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extensions: Option<ExtensionsConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<OptionsConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peers: Option<PeersConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collect: Option<CollectConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<StageConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<StoreConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purge: Option<PurgeConfig>,
    /// The document as it was read, for extension sections (see
    /// [`ConfigFile::section`](super::ConfigFile::section)); empty for a configuration built in
    /// code.
    #[serde(skip)]
    pub raw: super::RawDocument,
}

/// `<reference>`: free text describing the document.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReferenceConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generator: Option<String>,
}

/// `<extensions>`: extended actions and how they are ordered.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExtensionsConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_mode: Option<OrderMode>,
    #[serde(default, rename = "action")]
    pub actions: Vec<ExtendedAction>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OrderMode {
    Index,
    Dependency,
}

/// `<extensions><action>`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExtendedAction {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub depends: Option<ActionDependencies>,
}

/// `<depends>`: comma-separated action names, blanks around names dropped.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ActionDependencies {
    /// Names this action must run before.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        with = "crate::config::values::comma_list"
    )]
    pub run_before: Vec<String>,
    /// Names this action must run after.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        with = "crate::config::values::comma_list"
    )]
    pub run_after: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Weekday {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

/// `<options>`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OptionsConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starting_day: Option<Weekday>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_group: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rcp_command: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rsh_command: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cback_command: Option<String>,
    /// Comma-separated in the document.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::config::values::opt_comma_list"
    )]
    pub managed_actions: Option<Vec<String>>,
    #[serde(default, rename = "override")]
    pub overrides: Vec<CommandOverride>,
    #[serde(default, rename = "pre_action_hook")]
    pub pre_action_hooks: Vec<ActionHook>,
    #[serde(default, rename = "post_action_hook")]
    pub post_action_hooks: Vec<ActionHook>,
    /// cback only: where to write the node_exporter textfile (default `WORKING_DIR/cback.prom`).
    /// The original ignores this element.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics_file: Option<String>,
    /// cback only: a command run once when a run fails or is interrupted, with the hooks'
    /// environment. The original ignores this element.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_hook: Option<String>,
    /// cback only: a dump smaller than this fraction of the median of its earlier dumps is a
    /// warning (default 0.5). The original ignores this element.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shrink_warning: Option<String>,
    /// cback only: a dump smaller than this fraction of the median fails its action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shrink_fail: Option<String>,
}

/// `<override>`: run `abs_path` wherever `command` would be looked up on PATH.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CommandOverride {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abs_path: Option<String>,
}

/// `<pre_action_hook>` / `<post_action_hook>`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ActionHook {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
}

/// `<peers>`: the peers of a master, in configuration order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PeersConfig {
    #[serde(default, rename = "peer")]
    pub peers: Vec<PeerConfig>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IgnoreFailures {
    None,
    All,
    Daily,
    Weekly,
}

/// One `<peer>`, local or remote. Peers whose `type` is neither are ignored by every consumer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PeerConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `local` or `remote`; any other text is kept here and the peer is ignored.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub peer_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collect_dir: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore_failures: Option<IgnoreFailures>,
    /// Remote peers only: the remote user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rcp_command: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rsh_command: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cback_command: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed: Option<bool>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::config::values::opt_comma_list"
    )]
    pub managed_actions: Option<Vec<String>>,
}

impl PeerConfig {
    pub fn is_local(&self) -> bool {
        self.peer_type.as_deref() == Some("local")
    }
    pub fn is_remote(&self) -> bool {
        self.peer_type.as_deref() == Some("remote")
    }
}

/// When an item is backed up, and from where: the collect section's and the extensions' items
/// alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CollectMode {
    /// Every run, everything.
    Daily,
    /// On the starting day (or a full run), everything.
    Weekly,
    /// Every run, what is new since the last run; everything on a full run.
    Incr,
}

impl CollectMode {
    /// The mode a configuration value names, taken as written (no trimming, no case folding).
    pub fn parse(text: &str) -> Option<CollectMode> {
        match text {
            "daily" => Some(CollectMode::Daily),
            "weekly" => Some(CollectMode::Weekly),
            "incr" => Some(CollectMode::Incr),
            _ => None,
        }
    }

    /// The original's rule: an item is backed up on a full run, in daily and incr mode, and in
    /// weekly mode when today is the starting day.
    pub fn backs_up_today(self, full: bool, start_of_week: bool) -> bool {
        full || self != CollectMode::Weekly || start_of_week
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ArchiveMode {
    Tar,
    Targz,
    Tarbz2,
}

/// `<exclude>` at section or directory level.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CollectExclude {
    #[serde(default, rename = "abs_path")]
    pub abs_paths: Vec<String>,
    /// Only meaningful under `<dir>`.
    #[serde(default, rename = "rel_path")]
    pub rel_paths: Vec<String>,
    #[serde(default, rename = "pattern")]
    pub patterns: Vec<String>,
}

/// `<collect>`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CollectConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collect_dir: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collect_mode: Option<CollectMode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archive_mode: Option<ArchiveMode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore_file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude: Option<CollectExclude>,
    #[serde(default, rename = "file")]
    pub files: Vec<CollectFile>,
    #[serde(default, rename = "dir")]
    pub dirs: Vec<CollectDir>,
}

/// `<collect><file>`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CollectFile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abs_path: Option<String>,
    /// `<collect_mode>`, or the older spelling `<mode>` when `<collect_mode>` is absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collect_mode: Option<CollectMode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archive_mode: Option<ArchiveMode>,
}

/// `<collect><dir>`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CollectDir {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abs_path: Option<String>,
    /// `<collect_mode>`, or the older spelling `<mode>` when `<collect_mode>` is absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collect_mode: Option<CollectMode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archive_mode: Option<ArchiveMode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore_file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_depth: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dereference: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recursion_level: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude: Option<CollectExclude>,
}

/// `<stage>`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StageConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub staging_dir: Option<String>,
    #[serde(default, rename = "peer")]
    pub peers: Vec<PeerConfig>,
    /// cback only: how many peers are staged at once (default [`StageConfig::DEFAULT_JOBS`];
    /// 1 stages them one after another, as the original). The original ignores this element.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jobs: Option<i64>,
}

impl StageConfig {
    /// Peers staged at once without `<jobs>`.
    pub const DEFAULT_JOBS: usize = 4;

    /// `<jobs>`, or [`StageConfig::DEFAULT_JOBS`] (a value below 1, which validation refuses,
    /// counts as 1).
    pub fn jobs(&self) -> usize {
        self.jobs.map_or(Self::DEFAULT_JOBS, |n| {
            usize::try_from(n.max(1)).unwrap_or(1)
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MediaType {
    #[serde(rename = "cdr-74")]
    Cdr74,
    #[serde(rename = "cdrw-74")]
    Cdrw74,
    #[serde(rename = "cdr-80")]
    Cdr80,
    #[serde(rename = "cdrw-80")]
    Cdrw80,
    #[serde(rename = "dvd+r")]
    DvdPlusR,
    #[serde(rename = "dvd+rw")]
    DvdPlusRw,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceType {
    Cdwriter,
    Dvdwriter,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BlankMode {
    Daily,
    Weekly,
}

/// `<store><blank_behavior>`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BlankBehavior {
    #[serde(default, rename = "mode", skip_serializing_if = "Option::is_none")]
    pub mode: Option<BlankMode>,
    /// A non-negative number, kept as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub factor: Option<String>,
}

/// `<store>`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StoreConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_dir: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<MediaType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_type: Option<DeviceType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_device: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_scsi_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drive_speed: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check_data: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check_media: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warn_midnite: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_eject: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blank_behavior: Option<BlankBehavior>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_media_delay: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eject_delay: Option<i64>,
}

/// `<purge>`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PurgeConfig {
    #[serde(default, rename = "dir")]
    pub dirs: Vec<PurgeDir>,
}

/// `<purge><dir>`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PurgeDir {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abs_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retain_days: Option<i64>,
    /// The retention policy (cback's own elements; only on the staging directory).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_last: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_daily: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_weekly: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_monthly: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_yearly: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_within: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_min: Option<i64>,
}

impl PurgeDir {
    /// Its keep elements as written.
    pub fn policy_values(&self) -> crate::retention::PolicyValues<'_> {
        crate::retention::PolicyValues {
            keep_last: self.keep_last,
            keep_daily: self.keep_daily,
            keep_weekly: self.keep_weekly,
            keep_monthly: self.keep_monthly,
            keep_yearly: self.keep_yearly,
            keep_within: self.keep_within.as_deref(),
            keep_min: self.keep_min,
        }
    }

    /// Its retention policy: `None` without keep elements, an error when refused.
    pub fn policy(
        &self,
    ) -> Result<Option<crate::retention::Policy>, crate::retention::PolicyError> {
        crate::retention::Policy::from_values(&self.policy_values())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weekly_waits_for_the_starting_day() {
        assert!(!CollectMode::Weekly.backs_up_today(false, false));
        assert!(CollectMode::Weekly.backs_up_today(false, true));
        assert!(CollectMode::Weekly.backs_up_today(true, false));
        assert!(CollectMode::Daily.backs_up_today(false, false));
        assert!(CollectMode::Incr.backs_up_today(false, false));
    }

    #[test]
    fn collect_modes_parse_as_written() {
        assert_eq!(CollectMode::parse("incr"), Some(CollectMode::Incr));
        assert_eq!(CollectMode::parse("weekly"), Some(CollectMode::Weekly));
        assert_eq!(CollectMode::parse("Daily"), None);
        assert_eq!(CollectMode::parse(" daily"), None);
    }
}
