use super::*;
use crate::config::{
    ActionDependencies, ActionHook, Config, ExtendedAction, ExtensionsConfig, OptionsConfig,
    OrderMode, PeerConfig, PeersConfig,
};
use crate::options::Options;

fn ext(name: &str, module: &str, index: Option<i64>) -> ExtendedAction {
    ExtendedAction {
        name: Some(name.into()),
        module: Some(module.into()),
        function: Some("executeAction".into()),
        index,
        depends: None,
    }
}

fn dep(name: &str, before: &[&str], after: &[&str]) -> ExtendedAction {
    ExtendedAction {
        depends: Some(ActionDependencies {
            run_before: before.iter().map(|s| s.to_string()).collect(),
            run_after: after.iter().map(|s| s.to_string()).collect(),
        }),
        ..ext(name, crate::test_support::TEST_MODULE, None)
    }
}

fn config_with(actions: Vec<ExtendedAction>, mode: Option<OrderMode>) -> Config {
    Config {
        extensions: Some(ExtensionsConfig {
            order_mode: mode,
            actions,
        }),
        options: Some(OptionsConfig::default()),
        ..Default::default()
    }
}

fn opts(actions: &[&str]) -> Options {
    Options {
        actions: actions.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

fn listing(config: &Config, options: &Options) -> String {
    build(config, options).unwrap().to_string()
}

fn runs(config: &Config, actions: &[&str]) -> Vec<String> {
    build(config, &opts(actions))
        .unwrap()
        .steps
        .iter()
        .map(|s| s.action.clone())
        .collect()
}

const T: &str = crate::test_support::TEST_MODULE;

#[test]
fn index_mode_sorts_by_index() {
    let config = config_with(vec![ext("pg", T, Some(97))], None);
    assert_eq!(runs(&config, &["collect", "pg"]), ["pg", "collect"]);
    assert_eq!(
        runs(&config, &["purge", "stage", "collect"]),
        ["collect", "stage", "purge"]
    );
}

#[test]
fn equal_indices_keep_command_line_order() {
    let config = config_with(vec![ext("pg1", T, Some(50)), ext("pg2", T, Some(50))], None);
    assert_eq!(runs(&config, &["pg1", "pg2"]), ["pg1", "pg2"]);
    assert_eq!(runs(&config, &["pg2", "pg1"]), ["pg2", "pg1"]);
}

#[test]
fn repeated_name_runs_twice() {
    let config = config_with(vec![], None);
    assert_eq!(
        runs(&config, &["purge", "collect", "purge"]),
        ["collect", "purge", "purge"]
    );
}

#[test]
fn undeclared_registered_extension_uses_default_placement() {
    let config = Config {
        options: Some(OptionsConfig::default()),
        ..Default::default()
    };
    // The test extension's default placement is index 150 / run_after collect.
    assert_eq!(
        runs(&config, &["stage", "testext", "collect"]),
        ["collect", "testext", "stage"]
    );
}

#[test]
fn explicit_index_wins_over_default_placement() {
    let config = config_with(vec![ext("testext", T, Some(250))], None);
    assert_eq!(
        runs(&config, &["stage", "testext", "store"]),
        ["stage", "testext", "store"]
    );
}

#[test]
fn unknown_action_is_rejected() {
    let config = config_with(vec![], None);
    let err = build(&config, &opts(&["collect", "bogus"])).unwrap_err();
    assert!(err
        .to_string()
        .starts_with("action bogus is not a valid action or extended action"));
}

#[test]
fn exclusive_actions_stand_alone() {
    let config = config_with(vec![], None);
    for (actions, bad) in [
        (&["validate", "collect"][..], "validate"),
        (&["all", "all"][..], "all"),
        (&["collect", "all"][..], "all"),
        (&["rebuild", "initialize"][..], "rebuild"),
    ] {
        let err = build(&config, &opts(actions)).unwrap_err();
        assert!(
            matches!(&err, PlanError::CannotCombine(n) if n == bad),
            "{actions:?}: {err}"
        );
    }
    assert_eq!(runs(&config, &["validate"]), ["validate"]);
}

#[test]
fn all_expands_to_the_four_actions() {
    let config = config_with(vec![], None);
    assert_eq!(
        runs(&config, &["all"]),
        ["collect", "stage", "store", "purge"]
    );
}

#[test]
fn missing_module_fails_only_when_requested() {
    let config = config_with(
        vec![ext("mysql", "CedarBackup3.extend.mysql", Some(96))],
        None,
    );
    assert_eq!(runs(&config, &["collect"]), ["collect"]);
    let err = build(&config, &opts(&["mysql"])).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("CedarBackup3.extend.mysql"), "{text}");
    assert!(text.contains(&format!("{T}.executeAction")), "{text}");
}

#[test]
fn several_names_may_share_a_module() {
    let config = config_with(vec![ext("one", T, Some(10)), ext("two", T, Some(20))], None);
    assert_eq!(runs(&config, &["two", "one"]), ["one", "two"]);
}

#[test]
fn dependency_mode_spec_example() {
    let config = config_with(
        vec![dep("a", &["stage"], &["collect"]), dep("b", &[], &[])],
        Some(OrderMode::Dependency),
    );
    assert_eq!(runs(&config, &["collect", "a", "b"]), ["b", "collect", "a"]);
    assert_eq!(
        runs(&config, &["b", "stage", "a", "collect", "purge"]),
        ["b", "collect", "a", "stage", "purge"]
    );
}

#[test]
fn dependency_mode_unknown_dependency_and_cycle() {
    let config = config_with(
        vec![dep("a", &["nosuch"], &[])],
        Some(OrderMode::Dependency),
    );
    assert!(matches!(
        build(&config, &opts(&["collect"])).unwrap_err(),
        PlanError::UnknownDependency { .. }
    ));
    let config = config_with(
        vec![dep("a", &["b"], &[]), dep("b", &["a"], &[])],
        Some(OrderMode::Dependency),
    );
    assert!(matches!(
        build(&config, &opts(&["collect"])).unwrap_err(),
        PlanError::Cycle
    ));
}

#[test]
fn dependency_mode_default_placement() {
    let config = config_with(vec![dep("a", &[], &["purge"])], Some(OrderMode::Dependency));
    assert_eq!(
        runs(&config, &["a", "stage", "testext", "collect"]),
        ["collect", "testext", "stage", "a"]
    );
}

#[test]
fn dependency_mode_without_extensions_is_index_mode() {
    let config = config_with(vec![], Some(OrderMode::Dependency));
    assert_eq!(runs(&config, &["purge", "collect"]), ["collect", "purge"]);
}

fn hook(action: &str, command: &str) -> ActionHook {
    ActionHook {
        action: Some(action.into()),
        command: Some(command.into()),
    }
}

fn remote(name: &str, managed: bool, actions: Option<&[&str]>) -> PeerConfig {
    PeerConfig {
        name: Some(name.into()),
        peer_type: Some("remote".into()),
        collect_dir: Some("/tmp".into()),
        managed: Some(managed),
        managed_actions: actions.map(|a| a.iter().map(|s| s.to_string()).collect()),
        ..Default::default()
    }
}

fn managed_config() -> Config {
    Config {
        options: Some(OptionsConfig {
            managed_actions: Some(vec!["collect".into(), "purge".into()]),
            pre_action_hooks: vec![hook("collect", "/bin/echo pre1"), hook("stage", "x")],
            post_action_hooks: vec![hook("collect", "/bin/echo post"), hook("collect", "post2")],
            ..Default::default()
        }),
        peers: Some(PeersConfig {
            peers: vec![
                remote("zeta", true, None),
                remote("alpha", true, Some(&["collect", "stage"])),
                remote("unmanaged", false, None),
                PeerConfig {
                    name: Some("local1".into()),
                    peer_type: Some("local".into()),
                    ..Default::default()
                },
            ],
        }),
        ..Default::default()
    }
}

#[test]
fn hooks_and_managed_steps() {
    let config = managed_config();
    let options = Options {
        managed: true,
        ..opts(&["stage", "collect", "purge"])
    };
    assert_eq!(
        listing(&config, &options),
        "pre-hook collect: /bin/echo pre1\nrun collect\npost-hook collect: /bin/echo post\n\
         post-hook collect: post2\nmanage collect zeta,alpha\npre-hook stage: x\nrun stage\n\
         manage stage alpha\nrun purge\nmanage purge zeta\n"
    );
}

#[test]
fn managed_only_has_no_local_steps() {
    let config = managed_config();
    let options = Options {
        managed_only: true,
        ..opts(&["all"])
    };
    assert_eq!(
        listing(&config, &options),
        "manage collect zeta,alpha\nmanage stage alpha\nmanage purge zeta\n"
    );
}

#[test]
fn without_managed_flag_no_managed_steps() {
    let config = managed_config();
    assert_eq!(listing(&config, &opts(&["purge"])), "run purge\n");
}
