//! The original's rules, in two groups:
//! - [`field_problems`]: checks on single values that the original makes while reading
//!   (absolute paths, action names, ranges, patterns), so a document that breaks one is
//!   rejected even without whole-document validation;
//! - [`document_problems`]: the whole-document rules (required sections and values, rules that
//!   tie several values together).
//!
//! Every problem found is returned, each with its element path.

use std::collections::HashSet;
use std::sync::OnceLock;

use regex::Regex;

use crate::clip::clip;

use super::values::parse_float;
use super::{
    CollectConfig, CollectExclude, Config, DeviceType, ExcludePattern, ExtendedAction, MediaType,
    OptionsConfig, OrderMode, PatternError, PeerConfig, Problem, StoreConfig,
};

/// The original checks names with anchored regular expressions whose `$` also matches before
/// a final line feed, so one trailing `\n` is tolerated.
fn without_final_newline(s: &str) -> &str {
    s.strip_suffix('\n').unwrap_or(s)
}

/// An action name: lowercase letters and digits.
fn is_action_name(name: &str) -> bool {
    !name.is_empty()
        && without_final_newline(name)
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

fn is_identifier_part(s: &str) -> bool {
    let mut bytes = s.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn is_identifier(s: &str) -> bool {
    is_identifier_part(without_final_newline(s))
}

fn is_dotted_identifier(s: &str) -> bool {
    without_final_newline(s).split('.').all(is_identifier_part)
}

fn is_absolute(path: &str) -> bool {
    path.starts_with('/')
}

/// A SCSI target: `[PREFIX:]bus,target,lun` with decimal numbers, blanks allowed around them,
/// or the Mac OS X form `IO...Services[/N]` (e.g. `IOCompactDiscServices/2`).
fn is_scsi_id(id: &str) -> bool {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"^(?:(?:.*:)?\s*[0-9]+\s*,\s*[0-9]+\s*,\s*[0-9]+\s*|\s*IO.*Services(?:/[0-9]+)?\s*)$",
        )
        .expect("valid regex")
    })
    .is_match(id)
}

struct Checker {
    problems: Vec<Problem>,
}

impl Checker {
    fn push(&mut self, element: &str, message: impl Into<String>) {
        self.problems.push(Problem::new(element, message));
    }

    fn absolute(&mut self, element: &str, value: Option<&String>) {
        if let Some(v) = value {
            if !is_absolute(v) {
                self.push(
                    element,
                    format!(
                        "`{}` is not an absolute path; write it starting with /",
                        clip(v)
                    ),
                );
            }
        }
    }

    fn non_empty(&mut self, element: &str, value: Option<&String>) {
        if value.is_some_and(|v| v.is_empty()) {
            self.push(
                element,
                "must not be empty; give a value or leave the element out",
            );
        }
    }

    fn action_name(&mut self, element: &str, value: Option<&String>) {
        if let Some(v) = value {
            if !is_action_name(v) {
                self.push(
                    element,
                    format!(
                        "`{}` is not a valid action name; use only lowercase letters and digits",
                        clip(v)
                    ),
                );
            }
        }
    }

    fn action_names(&mut self, element: &str, names: &[String]) {
        for n in names {
            self.action_name(element, Some(n));
        }
    }

    fn at_least(&mut self, element: &str, value: Option<i64>, min: i64) {
        if let Some(v) = value {
            if v < min {
                self.push(
                    element,
                    format!("`{v}` is out of range; use an integer >= {min}"),
                );
            }
        }
    }

    /// Patterns are checked with Python's grammar, as the original checks them, and then
    /// compiled as collect compiles them, so that one that Python accepts but cback cannot use
    /// stops the run here (exit 4) rather than every collect.
    fn patterns(&mut self, element: &str, patterns: &[String]) {
        for p in patterns {
            match ExcludePattern::new(p) {
                Ok(_) => {}
                Err(PatternError::Invalid { reason, .. }) => self.push(
                    element,
                    format!(
                        "`{}` is not a valid regular expression ({reason}); fix the pattern",
                        clip(p)
                    ),
                ),
                Err(err) => {
                    let cause = std::error::Error::source(&err)
                        .map(|cause| format!("{}; ", clip(&cause.to_string())))
                        .unwrap_or_default();
                    self.push(element, format!("{err} ({cause}the original accepts it)"));
                }
            }
        }
    }

    fn required<T>(&mut self, element: &str, value: Option<T>, what: &str) {
        if value.is_none() {
            self.push(element, format!("{what} is required; add it"));
        }
    }
}

/// The checks the original makes on each value while reading.
pub(crate) fn field_problems(config: &Config) -> Vec<Problem> {
    let mut c = Checker {
        problems: Vec::new(),
    };
    if let Some(ext) = &config.extensions {
        for a in &ext.actions {
            field_action(&mut c, a);
        }
    }
    if let Some(o) = &config.options {
        field_options(&mut c, o);
    }
    if let Some(p) = &config.peers {
        for peer in &p.peers {
            field_peer(&mut c, "<peers><peer>", peer);
        }
    }
    if let Some(col) = &config.collect {
        field_collect(&mut c, col);
    }
    if let Some(st) = &config.stage {
        c.absolute("<stage><staging_dir>", st.staging_dir.as_ref());
        c.at_least("<stage><jobs>", st.jobs, 1);
        for peer in &st.peers {
            field_peer(&mut c, "<stage><peer>", peer);
        }
    }
    if let Some(s) = &config.store {
        field_store(&mut c, s);
    }
    if let Some(p) = &config.purge {
        for d in &p.dirs {
            c.absolute("<purge><dir><abs_path>", d.abs_path.as_ref());
            c.at_least("<purge><dir><retain_days>", d.retain_days, 0);
            if let Err(e) = d.policy() {
                c.push("<purge><dir>", format!("{e}"));
            }
        }
    }
    c.problems
}

fn field_action(c: &mut Checker, a: &ExtendedAction) {
    const E: &str = "<extensions><action>";
    c.action_name(&format!("{E}<name>"), a.name.as_ref());
    if let Some(m) = &a.module {
        if !is_dotted_identifier(m) {
            c.push(
                &format!("{E}<module>"),
                format!("`{}` is not a module path; write identifiers joined by dots, e.g. CedarBackup3.extend.postgresql", clip(m)),
            );
        }
    }
    if let Some(f) = &a.function {
        if !is_identifier(f) {
            c.push(
                &format!("{E}<function>"),
                format!(
                    "`{}` is not a function name; write a single identifier, e.g. executeAction",
                    clip(f)
                ),
            );
        }
    }
    c.at_least(&format!("{E}<index>"), a.index, 0);
    if let Some(d) = &a.depends {
        c.action_names(&format!("{E}<depends><run_before>"), &d.run_before);
        c.action_names(&format!("{E}<depends><run_after>"), &d.run_after);
    }
}

fn field_options(c: &mut Checker, o: &OptionsConfig) {
    c.absolute("<options><working_dir>", o.working_dir.as_ref());
    c.non_empty("<options><backup_user>", o.backup_user.as_ref());
    c.non_empty("<options><backup_group>", o.backup_group.as_ref());
    c.non_empty("<options><rcp_command>", o.rcp_command.as_ref());
    c.non_empty("<options><rsh_command>", o.rsh_command.as_ref());
    c.non_empty("<options><cback_command>", o.cback_command.as_ref());
    if let Some(m) = &o.managed_actions {
        c.action_names("<options><managed_actions>", m);
    }
    for ov in &o.overrides {
        c.non_empty("<options><override><command>", ov.command.as_ref());
        c.absolute("<options><override><abs_path>", ov.abs_path.as_ref());
    }
    for h in &o.pre_action_hooks {
        c.action_name("<options><pre_action_hook><action>", h.action.as_ref());
        c.non_empty("<options><pre_action_hook><command>", h.command.as_ref());
    }
    for h in &o.post_action_hooks {
        c.action_name("<options><post_action_hook><action>", h.action.as_ref());
        c.non_empty("<options><post_action_hook><command>", h.command.as_ref());
    }
}

fn field_peer(c: &mut Checker, at: &str, peer: &PeerConfig) {
    if !(peer.is_local() || peer.is_remote()) {
        // Ignored by the original, and so by every consumer.
        return;
    }
    c.non_empty(&format!("{at}<name>"), peer.name.as_ref());
    c.absolute(&format!("{at}<collect_dir>"), peer.collect_dir.as_ref());
    if peer.is_remote() {
        c.non_empty(&format!("{at}<backup_user>"), peer.backup_user.as_ref());
        c.non_empty(&format!("{at}<rcp_command>"), peer.rcp_command.as_ref());
        c.non_empty(&format!("{at}<rsh_command>"), peer.rsh_command.as_ref());
        c.non_empty(&format!("{at}<cback_command>"), peer.cback_command.as_ref());
        if let Some(m) = &peer.managed_actions {
            c.action_names(&format!("{at}<managed_actions>"), m);
        }
    }
}

fn field_exclude(c: &mut Checker, at: &str, e: &CollectExclude) {
    for p in &e.abs_paths {
        c.absolute(&format!("{at}<exclude><abs_path>"), Some(p));
    }
    c.patterns(&format!("{at}<exclude><pattern>"), &e.patterns);
}

fn field_collect(c: &mut Checker, col: &CollectConfig) {
    c.absolute("<collect><collect_dir>", col.collect_dir.as_ref());
    c.non_empty("<collect><ignore_file>", col.ignore_file.as_ref());
    if let Some(e) = &col.exclude {
        field_exclude(c, "<collect>", e);
    }
    for f in &col.files {
        c.absolute("<collect><file><abs_path>", f.abs_path.as_ref());
    }
    for d in &col.dirs {
        c.absolute("<collect><dir><abs_path>", d.abs_path.as_ref());
        c.non_empty("<collect><dir><ignore_file>", d.ignore_file.as_ref());
        c.at_least("<collect><dir><link_depth>", d.link_depth, 0);
        if let Some(e) = &d.exclude {
            field_exclude(c, "<collect><dir>", e);
        }
    }
}

fn field_store(c: &mut Checker, s: &StoreConfig) {
    c.absolute("<store><source_dir>", s.source_dir.as_ref());
    c.absolute("<store><target_device>", s.target_device.as_ref());
    if let Some(id) = &s.target_scsi_id {
        if !is_scsi_id(id) {
            c.push(
                "<store><target_scsi_id>",
                format!("`{}` is not a SCSI id; write bus,target,lun such as 0,0,0, optionally after a prefix such as ATA:", clip(id)),
            );
        }
    }
    c.at_least("<store><drive_speed>", s.drive_speed, 1);
    c.at_least("<store><refresh_media_delay>", s.refresh_media_delay, 0);
    c.at_least("<store><eject_delay>", s.eject_delay, 0);
    if let Some(f) = s.blank_behavior.as_ref().and_then(|b| b.factor.as_ref()) {
        match parse_float(f) {
            None => c.push(
                "<store><blank_behavior><factor>",
                format!(
                    "`{}` is not a number; write a non-negative number such as 1.5",
                    clip(f)
                ),
            ),
            Some(v) if v < 0.0 => c.push(
                "<store><blank_behavior><factor>",
                format!("`{}` is negative; write a non-negative number", clip(f)),
            ),
            Some(_) => {}
        }
    }
}

/// The whole-document rules.
pub(crate) fn document_problems(config: &Config) -> Vec<Problem> {
    let mut c = Checker {
        problems: Vec::new(),
    };
    match &config.options {
        None => c.push(
            "<options>",
            "the options section is required; add <options>",
        ),
        Some(o) => {
            c.required(
                "<options><starting_day>",
                o.starting_day,
                "the starting day",
            );
            c.required(
                "<options><working_dir>",
                o.working_dir.as_ref(),
                "the working directory",
            );
            c.required(
                "<options><backup_user>",
                o.backup_user.as_ref(),
                "the backup user",
            );
            c.required(
                "<options><backup_group>",
                o.backup_group.as_ref(),
                "the backup group",
            );
            c.required(
                "<options><rcp_command>",
                o.rcp_command.as_ref(),
                "the remote copy command",
            );
        }
    }
    if config.collect.is_none()
        && config.stage.is_none()
        && config.store.is_none()
        && config.purge.is_none()
    {
        c.push(
            "",
            "at least one of the collect, stage, store and purge sections is required; add one",
        );
    }
    if let Some(ext) = &config.extensions {
        doc_extensions(&mut c, ext.order_mode, &ext.actions);
    }
    let options = config.options.as_ref();
    if let Some(p) = &config.peers {
        doc_peers(&mut c, "<peers>", &p.peers, options);
    }
    if let Some(col) = &config.collect {
        doc_collect(&mut c, col);
    }
    if let Some(st) = &config.stage {
        c.required(
            "<stage><staging_dir>",
            st.staging_dir.as_ref(),
            "the staging directory",
        );
        let has_peers = st.peers.iter().any(|p| p.is_local() || p.is_remote());
        // Without a peers section, stage must list its peers; with one, stage peers are
        // optional but must be valid when given.
        if config.peers.is_none() || has_peers {
            doc_peers(&mut c, "<stage>", &st.peers, options);
        }
    }
    if let Some(s) = &config.store {
        doc_store(&mut c, s);
    }
    if let Some(p) = &config.purge {
        for (i, d) in p.dirs.iter().enumerate() {
            let n = i + 1;
            c.required(
                "<purge><dir><abs_path>",
                d.abs_path.as_ref(),
                &format!("purge dir {n}: the path"),
            );
            c.required(
                "<purge><dir><retain_days>",
                d.retain_days,
                &format!("purge dir {n}: the number of days to retain"),
            );
        }
    }
    c.problems
}

fn doc_extensions(c: &mut Checker, mode: Option<OrderMode>, actions: &[ExtendedAction]) {
    let mode = mode.unwrap_or(OrderMode::Index);
    let mut seen = HashSet::new();
    let mut dups = Vec::new();
    for (i, a) in actions.iter().enumerate() {
        let n = i + 1;
        const E: &str = "<extensions><action>";
        c.required(
            &format!("{E}<name>"),
            a.name.as_ref(),
            &format!("extended action {n}: the name"),
        );
        c.required(
            &format!("{E}<module>"),
            a.module.as_ref(),
            &format!("extended action {n}: the module"),
        );
        c.required(
            &format!("{E}<function>"),
            a.function.as_ref(),
            &format!("extended action {n}: the function"),
        );
        match mode {
            OrderMode::Index => c.required(
                &format!("{E}<index>"),
                a.index,
                &format!("extended action {n}: the index (order mode is index)"),
            ),
            OrderMode::Dependency => c.required(
                &format!("{E}<depends>"),
                a.depends.as_ref(),
                &format!(
                    "extended action {n}: <depends> (order mode is dependency; it may be empty)"
                ),
            ),
        }
        if let Some(name) = &a.name {
            if !seen.insert(name.as_str()) && !dups.contains(name) {
                dups.push(name.clone());
            }
        }
    }
    for d in dups {
        c.push(
            "<extensions><action><name>",
            format!(
                "`{}` names more than one extended action; give each a unique name",
                clip(&d)
            ),
        );
    }
}

fn doc_peers(c: &mut Checker, at: &str, peers: &[PeerConfig], options: Option<&OptionsConfig>) {
    let used: Vec<&PeerConfig> = peers
        .iter()
        .filter(|p| p.is_local() || p.is_remote())
        .collect();
    if used.is_empty() {
        c.push(
            &format!("{at}<peer>"),
            "at least one local or remote peer is required; add a <peer> with <type>local</type> or <type>remote</type>",
        );
        return;
    }
    let opt = |f: fn(&OptionsConfig) -> Option<&String>| options.and_then(f).is_some();
    let mut seen = HashSet::new();
    let mut dups = Vec::new();
    for (i, p) in used.iter().enumerate() {
        let n = i + 1;
        let e = |field: &str| format!("{at}<peer><{field}>");
        let label = match &p.name {
            Some(name) => format!("peer `{}`", clip(name)),
            None => format!("peer {n}"),
        };
        c.required(&e("name"), p.name.as_ref(), &format!("{label}: the name"));
        c.required(
            &e("collect_dir"),
            p.collect_dir.as_ref(),
            &format!("{label}: the collect directory"),
        );
        if p.is_remote() {
            if p.backup_user.is_none() && !opt(|o| o.backup_user.as_ref()) {
                c.push(
                    &e("backup_user"),
                    format!("{label}: the remote user must be set on the peer or in options"),
                );
            }
            if p.rcp_command.is_none() && !opt(|o| o.rcp_command.as_ref()) {
                c.push(
                    &e("rcp_command"),
                    format!(
                        "{label}: the remote copy command must be set on the peer or in options"
                    ),
                );
            }
            if p.managed == Some(true) {
                if p.rsh_command.is_none() && !opt(|o| o.rsh_command.as_ref()) {
                    c.push(&e("rsh_command"), format!("{label}: a managed peer needs a remote shell command, on the peer or in options"));
                }
                if p.cback_command.is_none() && !opt(|o| o.cback_command.as_ref()) {
                    c.push(&e("cback_command"), format!("{label}: a managed peer needs a cback command, on the peer or in options"));
                }
                let own = p.managed_actions.as_ref().is_some_and(|m| !m.is_empty());
                let global = options
                    .and_then(|o| o.managed_actions.as_ref())
                    .is_some_and(|m| !m.is_empty());
                if !own && !global {
                    c.push(&e("managed_actions"), format!("{label}: a managed peer needs a non-empty managed actions list, on the peer or in options"));
                }
            }
        }
        if let Some(name) = &p.name {
            if !seen.insert(name.as_str()) && !dups.contains(name) {
                dups.push(name.clone());
            }
        }
    }
    for d in dups {
        c.push(
            &format!("{at}<peer><name>"),
            format!(
                "`{}` names more than one peer; give each peer a unique name",
                clip(&d)
            ),
        );
    }
}

fn doc_collect(c: &mut Checker, col: &CollectConfig) {
    c.required(
        "<collect><collect_dir>",
        col.collect_dir.as_ref(),
        "the collect directory",
    );
    for (i, f) in col.files.iter().enumerate() {
        let label = match &f.abs_path {
            Some(p) => format!("file `{}`", clip(p)),
            None => format!("file {}", i + 1),
        };
        c.required(
            "<collect><file><abs_path>",
            f.abs_path.as_ref(),
            &format!("{label}: the path"),
        );
        if f.collect_mode.is_none() && col.collect_mode.is_none() {
            c.push(
                "<collect><file><collect_mode>",
                format!(
                    "{label}: a collect mode must be set on the file or in the collect section"
                ),
            );
        }
        if f.archive_mode.is_none() && col.archive_mode.is_none() {
            c.push(
                "<collect><file><archive_mode>",
                format!(
                    "{label}: an archive mode must be set on the file or in the collect section"
                ),
            );
        }
    }
    for (i, d) in col.dirs.iter().enumerate() {
        let label = match &d.abs_path {
            Some(p) => format!("dir `{}`", clip(p)),
            None => format!("dir {}", i + 1),
        };
        c.required(
            "<collect><dir><abs_path>",
            d.abs_path.as_ref(),
            &format!("{label}: the path"),
        );
        if d.collect_mode.is_none() && col.collect_mode.is_none() {
            c.push(
                "<collect><dir><collect_mode>",
                format!("{label}: a collect mode must be set on the dir or in the collect section"),
            );
        }
        if d.archive_mode.is_none() && col.archive_mode.is_none() {
            c.push(
                "<collect><dir><archive_mode>",
                format!(
                    "{label}: an archive mode must be set on the dir or in the collect section"
                ),
            );
        }
        if d.ignore_file.is_none() && col.ignore_file.is_none() {
            c.push(
                "<collect><dir><ignore_file>",
                format!("{label}: an ignore file must be set on the dir or in the collect section"),
            );
        }
        if d.dereference == Some(true) && d.link_depth.unwrap_or(0) < 1 {
            c.push(
                "<collect><dir><dereference>",
                format!("{label}: dereference needs a link depth of 1 or more; set <link_depth>"),
            );
        }
    }
}

fn doc_store(c: &mut Checker, s: &StoreConfig) {
    c.required(
        "<store><source_dir>",
        s.source_dir.as_ref(),
        "the source directory",
    );
    c.required("<store><media_type>", s.media_type, "the media type");
    c.required(
        "<store><target_device>",
        s.target_device.as_ref(),
        "the target device",
    );
    if let Some(media) = s.media_type {
        let device = s.device_type.unwrap_or(DeviceType::Cdwriter);
        let dvd_media = matches!(media, MediaType::DvdPlusR | MediaType::DvdPlusRw);
        let fits = match device {
            DeviceType::Cdwriter => !dvd_media,
            DeviceType::Dvdwriter => dvd_media,
        };
        if !fits {
            let (m, d) = (
                media_name(media),
                if device == DeviceType::Cdwriter {
                    "cdwriter"
                } else {
                    "dvdwriter"
                },
            );
            c.push("<store><media_type>", format!("`{m}` media does not fit device type {d}; use cd media with cdwriter and dvd media with dvdwriter"));
        }
    }
    if let Some(b) = &s.blank_behavior {
        if b.mode.is_none() && b.factor.is_none() {
            c.push(
                "<store><blank_behavior>",
                "blank behavior needs a mode and a factor; fill them in or remove <blank_behavior>",
            );
        }
    }
}

fn media_name(m: MediaType) -> &'static str {
    match m {
        MediaType::Cdr74 => "cdr-74",
        MediaType::Cdrw74 => "cdrw-74",
        MediaType::Cdr80 => "cdr-80",
        MediaType::Cdrw80 => "cdrw-80",
        MediaType::DvdPlusR => "dvd+r",
        MediaType::DvdPlusRw => "dvd+rw",
    }
}
