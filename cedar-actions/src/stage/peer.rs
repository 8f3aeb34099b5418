//! The peers the stage action copies from, as the configuration gives them.
//!
//! Peers come from `<stage>` when it lists any local or remote peer, otherwise from `<peers>`.
//! Local peers are staged first, then remote peers, each in configuration order (as the
//! original does). A peer whose type is neither is ignored.

use std::path::PathBuf;

use cedar_core::{Config, IgnoreFailures, PeerConfig};

/// The rcp command when neither the peer nor the options name one.
pub const DEFAULT_RCP_COMMAND: &str = "/usr/bin/scp -B -q -C";

/// How a remote peer is reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remote {
    /// The user on the peer: the peer's `backup_user`, else the options' one.
    pub user: String,
    /// The peer's `rcp_command`, else the options' one, else [`DEFAULT_RCP_COMMAND`].
    pub rcp_command: String,
}

impl Remote {
    /// `USER@HOST`; the peer's name is its host.
    pub fn address(&self, host: &str) -> String {
        format!("{}@{host}", self.user)
    }
}

/// One peer to stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    pub name: String,
    pub collect_dir: PathBuf,
    pub ignore_failures: Option<IgnoreFailures>,
    /// `None` for a local peer.
    pub remote: Option<Remote>,
}

impl Peer {
    pub fn kind(&self) -> &'static str {
        if self.remote.is_some() {
            "remote"
        } else {
            "local"
        }
    }
}

/// The peers to stage, local ones first.
pub fn stage_peers(config: &Config) -> Vec<Peer> {
    let counts = |list: &[PeerConfig]| list.iter().any(|p| p.is_local() || p.is_remote());
    let from_stage = config
        .stage
        .as_ref()
        .map(|s| s.peers.as_slice())
        .filter(|list| counts(list));
    let list = from_stage
        .or_else(|| config.peers.as_ref().map(|p| p.peers.as_slice()))
        .unwrap_or_default();
    let opts = config.options.clone().unwrap_or_default();
    let build = |p: &PeerConfig| -> Option<Peer> {
        let remote = p.is_remote().then(|| Remote {
            user: p
                .backup_user
                .clone()
                .or(opts.backup_user.clone())
                .unwrap_or_default(),
            rcp_command: p
                .rcp_command
                .clone()
                .or(opts.rcp_command.clone())
                .unwrap_or_else(|| DEFAULT_RCP_COMMAND.to_string()),
        });
        Some(Peer {
            name: p.name.clone()?,
            collect_dir: PathBuf::from(p.collect_dir.clone()?),
            ignore_failures: p.ignore_failures,
            remote,
        })
    };
    let locals = list.iter().filter(|p| p.is_local()).filter_map(build);
    let remotes = list.iter().filter(|p| p.is_remote()).filter_map(build);
    locals.chain(remotes).collect()
}

/// Whether a peer that is not ready is ignored rather than an error, by its
/// `ignore_failures`, on a `--full` run or not, on the starting day or not.
pub fn not_ready_ignored(mode: Option<IgnoreFailures>, full: bool, starting_day: bool) -> bool {
    let weekly_run = full || starting_day;
    match mode {
        None | Some(IgnoreFailures::None) => false,
        Some(IgnoreFailures::All) => true,
        Some(IgnoreFailures::Weekly) => weekly_run,
        Some(IgnoreFailures::Daily) => !weekly_run,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cedar_core::{OptionsConfig, PeersConfig, StageConfig};

    fn peer(name: &str, kind: &str) -> PeerConfig {
        PeerConfig {
            name: Some(name.into()),
            peer_type: Some(kind.into()),
            collect_dir: Some(format!("/c/{name}")),
            ..Default::default()
        }
    }

    #[test]
    fn locals_come_first_and_stage_replaces_peers() {
        let mut config = Config {
            options: Some(OptionsConfig {
                backup_user: Some("backup".into()),
                rcp_command: Some("/usr/bin/scp -B".into()),
                ..Default::default()
            }),
            peers: Some(PeersConfig {
                peers: vec![
                    peer("r1", "remote"),
                    peer("l1", "local"),
                    peer("odd", "weird"),
                ],
            }),
            stage: Some(StageConfig {
                staging_dir: Some("/s".into()),
                peers: vec![peer("bogus", "weird")],
                jobs: None,
            }),
            ..Default::default()
        };
        let names: Vec<String> = stage_peers(&config).into_iter().map(|p| p.name).collect();
        assert_eq!(names, ["l1", "r1"]);
        let r1 = stage_peers(&config).remove(1);
        assert_eq!(
            r1.remote,
            Some(Remote {
                user: "backup".into(),
                rcp_command: "/usr/bin/scp -B".into()
            })
        );
        let mut own = peer("r2", "remote");
        own.backup_user = Some("other".into());
        config.stage.as_mut().unwrap().peers = vec![own, peer("l2", "local")];
        let peers = stage_peers(&config);
        let names: Vec<&str> = peers.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["l2", "r2"]);
        assert_eq!(peers[1].remote.as_ref().unwrap().user, "other");
        config.options.as_mut().unwrap().rcp_command = None;
        assert_eq!(
            stage_peers(&config)[1].remote.as_ref().unwrap().rcp_command,
            DEFAULT_RCP_COMMAND
        );
    }

    #[test]
    fn ignore_failures_follows_the_spec_table() {
        use IgnoreFailures::{All, Daily, Weekly};
        // (mode, full, starting day) -> ignored; checked against the original.
        let cases = [
            (Option::None, false, false, false),
            (Some(All), false, false, true),
            (Some(All), true, true, true),
            (Some(Weekly), false, false, false),
            (Some(Weekly), true, false, true),
            (Some(Weekly), false, true, true),
            (Some(Daily), false, false, true),
            (Some(Daily), true, false, false),
            (Some(Daily), false, true, false),
        ];
        for (mode, full, start, want) in cases {
            assert_eq!(
                not_ready_ignored(mode, full, start),
                want,
                "{mode:?} {full} {start}"
            );
        }
        assert!(!not_ready_ignored(Some(IgnoreFailures::None), true, true));
    }
}
