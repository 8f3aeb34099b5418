//! Dependency mode: the original's depth-first topological sort, reproduced exactly so that
//! actions with no constraint between them land where the original puts them.

use std::collections::HashMap;

use super::PlanError;

/// An extension's place in the graph: its name and the names it runs before / after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub name: String,
    pub run_before: Vec<String>,
    pub run_after: Vec<String>,
}

/// Built-in vertices in creation order. `doctor` (not in the original) comes first, so that it
/// sorts last and every other action keeps the original's position.
const BUILTINS: [&str; 8] = [
    "doctor",
    "rebuild",
    "validate",
    "initialize",
    "collect",
    "stage",
    "store",
    "purge",
];

/// Built-in edges in creation order.
const BUILTIN_EDGES: [(&str, &str); 6] = [
    ("collect", "stage"),
    ("collect", "store"),
    ("collect", "purge"),
    ("stage", "store"),
    ("stage", "purge"),
    ("store", "purge"),
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mark {
    Undiscovered,
    Discovered,
    Explored,
}

struct Graph {
    names: Vec<String>,
    edges: Vec<Vec<usize>>,
    /// Start list: every created vertex in creation order (a replaced vertex stays here).
    start: Vec<usize>,
    by_name: HashMap<String, usize>,
}

impl Graph {
    /// Adds a vertex. A name created twice (an extension named like a built-in action, or two
    /// extensions with one name) is rejected as the original rejects it: as a cycle.
    fn add_vertex(&mut self, name: &str) -> Result<(), PlanError> {
        if self.by_name.contains_key(name) {
            return Err(PlanError::Cycle);
        }
        let id = self.names.len();
        self.names.push(name.to_string());
        self.edges.push(Vec::new());
        self.start.push(id);
        self.by_name.insert(name.to_string(), id);
        Ok(())
    }

    fn add_edge(&mut self, from: usize, to: usize) {
        self.edges[from].push(to);
    }
}

/// Orders every vertex (built-ins, then `extensions` in configuration order) and returns the
/// names in execution order. The action at position i gets index i+1.
pub fn sort(extensions: &[Node]) -> Result<Vec<String>, PlanError> {
    let mut graph = Graph {
        names: Vec::new(),
        edges: Vec::new(),
        start: Vec::new(),
        by_name: HashMap::new(),
    };
    for name in BUILTINS {
        graph.add_vertex(name)?;
    }
    for ext in extensions {
        graph.add_vertex(&ext.name)?;
    }
    for (from, to) in BUILTIN_EDGES {
        let (from, to) = (graph.by_name[from], graph.by_name[to]);
        graph.add_edge(from, to);
    }
    for ext in extensions {
        let me = graph.by_name[&ext.name];
        for target in &ext.run_before {
            let other = lookup(&graph, target, &ext.name)?;
            graph.add_edge(me, other);
        }
        for source in &ext.run_after {
            let other = lookup(&graph, source, &ext.name)?;
            graph.add_edge(other, me);
        }
    }

    let mut marks = vec![Mark::Undiscovered; graph.names.len()];
    let mut result: Vec<usize> = Vec::new();
    for &vertex in &graph.start {
        if marks[vertex] == Mark::Undiscovered {
            visit(&graph, vertex, &mut marks, &mut result)?;
        }
    }
    result.reverse();
    Ok(result.into_iter().map(|v| graph.names[v].clone()).collect())
}

fn lookup(graph: &Graph, name: &str, extension: &str) -> Result<usize, PlanError> {
    graph
        .by_name
        .get(name)
        .copied()
        .ok_or_else(|| PlanError::UnknownDependency {
            dependency: name.to_string(),
            extension: extension.to_string(),
        })
}

/// Depth-first visit with an explicit stack, so a long chain cannot overflow the call stack.
/// Finished vertices are appended; the caller reverses (the original inserts at the front).
fn visit(
    graph: &Graph,
    root: usize,
    marks: &mut [Mark],
    result: &mut Vec<usize>,
) -> Result<(), PlanError> {
    let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
    marks[root] = Mark::Discovered;
    while let Some(&mut (vertex, ref mut next)) = stack.last_mut() {
        if let Some(&target) = graph.edges[vertex].get(*next) {
            *next += 1;
            match marks[target] {
                Mark::Undiscovered => {
                    marks[target] = Mark::Discovered;
                    stack.push((target, 0));
                }
                Mark::Discovered => return Err(PlanError::Cycle),
                Mark::Explored => {}
            }
        } else {
            marks[vertex] = Mark::Explored;
            result.push(vertex);
            stack.pop();
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, before: &[&str], after: &[&str]) -> Node {
        Node {
            name: name.into(),
            run_before: before.iter().map(|s| s.to_string()).collect(),
            run_after: after.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn builtins_alone() {
        assert_eq!(
            sort(&[]).unwrap(),
            [
                "collect",
                "stage",
                "store",
                "purge",
                "initialize",
                "validate",
                "rebuild",
                "doctor"
            ]
        );
    }

    #[test]
    fn spec_example() {
        let order = sort(&[node("a", &["stage"], &["collect"]), node("b", &[], &[])]).unwrap();
        assert_eq!(
            order,
            [
                "b",
                "collect",
                "a",
                "stage",
                "store",
                "purge",
                "initialize",
                "validate",
                "rebuild",
                "doctor"
            ]
        );
    }

    #[test]
    fn run_before_collect_goes_first() {
        let order = sort(&[node("postgresql", &["collect"], &[])]).unwrap();
        assert_eq!(&order[..2], ["postgresql", "collect"]);
    }

    #[test]
    fn unknown_dependency() {
        let err = sort(&[node("a", &["nosuch"], &[])]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "dependency nosuch on extension a is unknown; fix <run_before>/<run_after> of that extension"
        );
    }

    #[test]
    fn cycle_is_detected() {
        let err = sort(&[node("a", &["b"], &[]), node("b", &["a"], &[])]).unwrap_err();
        assert!(matches!(err, PlanError::Cycle));
        // A cycle through a built-in edge.
        let err = sort(&[node("a", &["collect"], &["purge"])]).unwrap_err();
        assert!(matches!(err, PlanError::Cycle));
    }

    #[test]
    fn self_dependency_is_a_cycle() {
        assert!(matches!(
            sort(&[node("a", &["a"], &[])]).unwrap_err(),
            PlanError::Cycle
        ));
    }

    #[test]
    fn duplicate_edges_are_harmless() {
        let order = sort(&[node("a", &["stage", "stage"], &["collect", "collect"])]).unwrap();
        assert_eq!(&order[..3], ["collect", "a", "stage"]);
    }

    #[test]
    fn extension_reusing_builtin_name_is_rejected_like_a_cycle() {
        // Observed on the original: a vertex name created twice is reported as recursion.
        for name in ["collect", "purge", "rebuild"] {
            assert!(matches!(
                sort(&[node(name, &[], &[])]).unwrap_err(),
                PlanError::Cycle
            ));
        }
    }

    #[test]
    fn long_chain_does_not_overflow() {
        let mut nodes = vec![node("x0", &[], &["purge"])];
        for i in 1..5000 {
            let prev = format!("x{}", i - 1);
            nodes.push(Node {
                name: format!("x{i}"),
                run_before: vec![],
                run_after: vec![prev],
            });
        }
        let order = sort(&nodes).unwrap();
        assert_eq!(order.len(), BUILTINS.len() + 5000);
    }
}
