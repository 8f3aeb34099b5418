//! What `--dry-run` shows under `run stage`: each peer, where it would be staged from and to,
//! and for a remote peer the copy command that would run.

use super::daily::daily_path;
use super::peer::stage_peers;
use super::remote::Runner;
use cedar_core::{running_as_root, Config, Today};

/// One line per peer, in staging order (indented, to stand under the plan's `run stage`).
pub fn describe(config: &Config, today: &Today) -> Vec<String> {
    let Some(staging_dir) = config.stage.as_ref().and_then(|s| s.staging_dir.as_deref()) else {
        return vec!["  (no <stage><staging_dir>: the action would fail)".to_string()];
    };
    let daily = daily_path(std::path::Path::new(staging_dir), today);
    let options = config.options.clone().unwrap_or_default();
    let working_dir = std::path::PathBuf::from(options.working_dir.clone().unwrap_or_default());
    let su_program = cedar_core::resolve_command(config, "su")
        .display()
        .to_string();
    let runner = Runner {
        su_user: running_as_root()
            .then_some(options.backup_user.as_deref())
            .flatten(),
        su_program: &su_program,
        working_dir: &working_dir,
        owner: None,
        connection: None,
    };
    let peers = stage_peers(config);
    if peers.is_empty() {
        return vec!["  (no peers configured)".to_string()];
    }
    peers
        .iter()
        .map(|p| {
            let target = daily.join(&p.name);
            match &p.remote {
                None => format!(
                    "  stage {} (local): {} -> {}",
                    p.name,
                    p.collect_dir.display(),
                    target.display()
                ),
                Some(remote) => {
                    let temp = daily.join(format!(".{}.XXXXXX", p.name));
                    format!(
                        "  stage {} (remote): {}:{} -> {} with: {}",
                        p.name,
                        remote.address(&p.name),
                        p.collect_dir.display(),
                        target.display(),
                        runner.copy_call(p, remote, &temp).display()
                    )
                }
            }
        })
        .collect()
}
