//! The capacity action: measure the disc in the writer as store would for an append, and fail
//! when it is past the configured limit.

use cedar_actions::{check_media, Capacity, StoreError, StoreSettings, Tools, Writer};
use cedar_core::{
    display_bytes, Action, ActionContext, ActionError, ConfigFile, ExtensionSection, SectionError,
};

use crate::config::{CapacitySection, Limit};

/// The registered action.
#[derive(Debug)]
pub struct CapacityAction;

/// Why the capacity action failed.
#[derive(Debug, thiserror::Error)]
pub enum CheckFailed {
    #[error(transparent)]
    Config(#[from] SectionError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("Media has reached capacity limit of {limit}: {actual}; put a new disc in {device}, or let store start one (cback --full store, or cback rebuild)")]
    Reached {
        limit: String,
        actual: String,
        device: String,
    },
}

/// Whether `capacity` is within `limit`; `Err` with the original's ERROR text when not.
pub fn judge(limit: &Limit, capacity: &Capacity) -> Result<(), (String, String)> {
    match limit {
        Limit::MaxPercentage { percent, text } => {
            let used = capacity.utilized_percent();
            if used > *percent {
                return Err((format!("{text}%"), format!("{used:.2}% utilized")));
            }
        }
        Limit::MinBytes { bytes } => {
            if capacity.available < *bytes {
                return Err((
                    display_bytes(*bytes),
                    format!("only {} available", display_bytes(capacity.available)),
                ));
            }
        }
    }
    Ok(())
}

/// Runs the check on `config`.
pub fn run(config: &ConfigFile) -> Result<(), CheckFailed> {
    let limit = CapacitySection::load(config)?;
    let settings = StoreSettings::load(&config.config, "capacity")?;
    let tools = Tools::new(&config.config);
    check_media(&tools, &settings)?;
    let writer = Writer::open(&settings, tools)?;
    let capacity = writer.append_capacity()?;
    if let Err((limit, actual)) = judge(&limit, &capacity) {
        tracing::error!("Media has reached capacity limit of {limit}: {actual}");
        return Err(CheckFailed::Reached {
            limit,
            actual,
            device: settings.device.display().to_string(),
        });
    }
    tracing::info!(
        "Media is {:.2}% utilized, {} available.",
        capacity.utilized_percent(),
        display_bytes(capacity.available)
    );
    tracing::info!("Executed the capacity extended action successfully.");
    Ok(())
}

impl Action for CapacityAction {
    fn execute(&self, ctx: &ActionContext<'_>) -> Result<(), ActionError> {
        run(ctx.config).map_err(|e| match e {
            CheckFailed::Store(store) => store.into(),
            other => ActionError::with_source(other.to_string(), other),
        })
    }

    fn validate(&self, ctx: &ActionContext<'_>) -> Vec<String> {
        CapacitySection::validate(ctx.config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_against_a_disc() {
        // A CD-R 74 with msinfo 0,300000.
        let used = 300_000.0 * 2048.0;
        let cap = Capacity {
            used,
            available: (332_800.0 - 300_000.0 - 6_900.0) * 2048.0,
            boundaries: Some((0, 300_000)),
        };
        let max = |p: f64, t: &str| Limit::MaxPercentage {
            percent: p,
            text: t.into(),
        };
        assert_eq!(
            judge(&max(50.0, "50"), &cap),
            Err(("50%".into(), "92.05% utilized".into()))
        );
        assert!(judge(&max(95.5, "95.5"), &cap).is_ok());
        let min = |b: f64| Limit::MinBytes { bytes: b };
        assert_eq!(
            judge(&min(500.0 * 1048576.0), &cap),
            Err(("500.00 MB".into(), "only 50.59 MB available".into()))
        );
        assert!(judge(&min(5.0 * 1048576.0), &cap).is_ok());
        // A DVD fuller than its capacity: over any limit, no crash.
        let full = Capacity {
            used: 5e9,
            available: -1e8,
            boundaries: None,
        };
        assert!(judge(&min(1.0), &full)
            .unwrap_err()
            .1
            .contains("only -95.37 MB available"));
        assert!(judge(&max(100.0, "100"), &full).is_ok());
    }
}
