//! Resolving command-line names to actions: built-ins, extensions declared in `<extensions>`,
//! and registered extensions used with their default placement.

use std::collections::HashMap;

use super::{dependency, PlanError, ALL_ACTIONS};
use crate::action::{self, ActionRegistration};
use crate::config::{Config, ExtendedAction, OrderMode};

/// The built-in action names (without the pseudo-action `all`).
pub const BUILTIN_NAMES: [&str; 8] = [
    "collect",
    "stage",
    "store",
    "purge",
    "rebuild",
    "validate",
    "doctor",
    "initialize",
];

/// Fixed index-mode indices of the built-ins.
fn builtin_index(name: &str) -> Option<i64> {
    Some(match name {
        "rebuild" | "validate" | "doctor" | "initialize" => 0,
        "collect" => 100,
        "stage" => 200,
        "store" => 300,
        "purge" => 400,
        _ => return None,
    })
}

/// What a command-line name stands for.
#[derive(Debug, Clone)]
pub enum ResolvedAction {
    Builtin(&'static ActionRegistration),
    /// Declared in `<extensions>`; `registration` is `None` when this build lacks the module.
    Configured {
        declaration: ExtendedAction,
        registration: Option<&'static ActionRegistration>,
    },
    /// A registered extension the configuration does not declare: default placement.
    Default(&'static ActionRegistration),
}

impl ResolvedAction {
    /// The implementation, or the error that names the missing module.
    pub fn registration(&self) -> Result<&'static ActionRegistration, PlanError> {
        match self {
            ResolvedAction::Builtin(r) | ResolvedAction::Default(r) => Ok(r),
            ResolvedAction::Configured {
                registration: Some(r),
                ..
            } => Ok(r),
            ResolvedAction::Configured {
                declaration,
                registration: None,
            } => Err(PlanError::ModuleNotFound {
                action: declaration.name.clone().unwrap_or_default(),
                module: declaration.module.clone().unwrap_or_default(),
                function: declaration.function.clone().unwrap_or_default(),
                available: action::available_modules().join(", "),
            }),
        }
    }
}

/// The `<extensions><action>` entries that have a name.
pub fn declared(config: &Config) -> Vec<&ExtendedAction> {
    config
        .extensions
        .as_ref()
        .map(|e| e.actions.iter().filter(|a| a.name.is_some()).collect())
        .unwrap_or_default()
}

/// Resolves one name.
pub fn resolve(config: &Config, name: &str) -> Result<ResolvedAction, PlanError> {
    if let Some(decl) = declared(config)
        .into_iter()
        .find(|a| a.name.as_deref() == Some(name))
    {
        let registration = action::extension_by_module(
            decl.module.as_deref().unwrap_or_default(),
            decl.function.as_deref().unwrap_or_default(),
        );
        return Ok(ResolvedAction::Configured {
            declaration: decl.clone(),
            registration,
        });
    }
    if BUILTIN_NAMES.contains(&name) {
        return action::builtin(name)
            .map(ResolvedAction::Builtin)
            .ok_or_else(|| PlanError::InvalidAction(name.to_string()));
    }
    action::extension_by_name(name)
        .map(ResolvedAction::Default)
        .ok_or_else(|| PlanError::InvalidAction(name.to_string()))
}

/// Resolves every command-line name (`all` expanded), keyed by action name.
pub fn resolve_all(
    config: &Config,
    names: &[String],
) -> Result<HashMap<String, ResolvedAction>, PlanError> {
    let mut map = HashMap::new();
    for name in names {
        let expanded: Vec<&str> = if name == "all" {
            ALL_ACTIONS.to_vec()
        } else {
            vec![name.as_str()]
        };
        for n in expanded {
            if !map.contains_key(n) {
                map.insert(n.to_string(), resolve(config, n)?);
            }
        }
    }
    Ok(map)
}

/// Whether the plan is ordered by dependencies: `dependency` mode with at least one extension.
pub fn dependency_mode(config: &Config) -> bool {
    config.extensions.as_ref().is_some_and(|e| {
        e.order_mode == Some(OrderMode::Dependency) && !declared(config).is_empty()
    })
}

/// The sort index of every resolved action.
pub fn indices(
    config: &Config,
    resolved: &HashMap<String, ResolvedAction>,
) -> Result<HashMap<String, i64>, PlanError> {
    let mut out = HashMap::new();
    if dependency_mode(config) {
        let mut nodes: Vec<dependency::Node> = declared(config)
            .into_iter()
            .map(|a| {
                let deps = a.depends.clone().unwrap_or_default();
                dependency::Node {
                    name: a.name.clone().unwrap_or_default(),
                    run_before: deps.run_before,
                    run_after: deps.run_after,
                }
            })
            .collect();
        let mut defaults: Vec<(&String, &ResolvedAction)> = resolved
            .iter()
            .filter(|(_, r)| matches!(r, ResolvedAction::Default(_)))
            .collect();
        defaults.sort_by_key(|(name, _)| name.as_str());
        for (name, res) in defaults {
            if let ResolvedAction::Default(reg) = res {
                nodes.push(dependency::Node {
                    name: name.clone(),
                    run_before: reg
                        .placement
                        .run_before
                        .iter()
                        .map(|s| s.to_string())
                        .collect(),
                    run_after: reg
                        .placement
                        .run_after
                        .iter()
                        .map(|s| s.to_string())
                        .collect(),
                });
            }
        }
        let order = dependency::sort(&nodes)?;
        for (position, name) in order.iter().enumerate() {
            out.insert(name.clone(), position as i64 + 1);
        }
        return Ok(out);
    }
    for (name, res) in resolved {
        let index = match res {
            ResolvedAction::Builtin(_) => builtin_index(name).unwrap_or_default(),
            ResolvedAction::Configured { declaration, .. } => declaration
                .index
                .ok_or_else(|| PlanError::MissingIndex(name.clone()))?,
            ResolvedAction::Default(reg) => i64::from(reg.placement.index),
        };
        out.insert(name.clone(), index);
    }
    Ok(out)
}
