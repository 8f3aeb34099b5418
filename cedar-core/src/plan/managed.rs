//! Managed peers: which remote peers run which actions under `--managed` / `--managed-only`.

use std::collections::HashMap;

use crate::config::{Config, PeerConfig};

/// The managed peers: the remote peers of `<peers>` with `<managed>Y`, in configuration order.
/// Peers listed under `<stage>` do not count.
pub fn managed_peer_configs(config: &Config) -> impl Iterator<Item = &PeerConfig> {
    config
        .peers
        .iter()
        .flat_map(|p| p.peers.iter())
        .filter(|p| p.is_remote() && p.managed == Some(true))
}

/// For each action, the names of the managed remote peers of `<peers>` that run it, in
/// configuration order and without duplicates. Peers listed under `<stage>` do not count.
pub fn managed_peers(config: &Config) -> HashMap<String, Vec<String>> {
    let mut map: HashMap<String, Vec<String>> = HashMap::new();
    let default_actions = config
        .options
        .as_ref()
        .and_then(|o| o.managed_actions.clone())
        .unwrap_or_default();
    for peer in managed_peer_configs(config) {
        let Some(name) = peer.name.as_ref() else {
            continue;
        };
        let actions = peer
            .managed_actions
            .as_ref()
            .filter(|a| !a.is_empty())
            .unwrap_or(&default_actions);
        for action in actions {
            let list = map.entry(action.clone()).or_default();
            if !list.contains(name) {
                list.push(name.clone());
            }
        }
    }
    map
}
