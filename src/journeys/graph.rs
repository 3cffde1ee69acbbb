//! Journey definitions: named nodes, a start node, and for each node where
//! each of its outcomes leads. Built-in journeys are declared in the same
//! TOML shape as the config's, and both are checked the same way: every
//! outcome leads somewhere that exists, every node is reachable, and from
//! every node the journey can still end.

use super::nodes::{self, Node};
use crate::config::{JourneyDefinition, Settings};
use std::collections::{BTreeMap, BTreeSet};

/// Where an outcome leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Another node of the journey.
    Node(String),
    /// The journey ends with a session for the user identified so far.
    Success,
    /// The journey ends with an error.
    Failure,
}

/// Failed attempts a node allows when its definition names none.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;

/// One node of a journey and its transitions.
pub struct NodeSpec {
    pub kind: String,
    pub node: Box<dyn Node>,
    pub next: BTreeMap<String, Next>,
    pub max_attempts: u32,
}

/// A journey: a graph of nodes.
pub struct Journey {
    pub name: String,
    /// Heading of the HTML pages ("Sign in").
    pub title: String,
    /// Whether the journey steps up an existing session.
    pub step_up: bool,
    pub start: String,
    pub nodes: BTreeMap<String, NodeSpec>,
}

/// A journey that cannot run.
#[derive(Debug, thiserror::Error)]
#[error("journey `{journey}`, node `{node}`: {problem}")]
pub struct GraphError {
    pub journey: String,
    pub node: String,
    pub problem: String,
}

/// The built-in journeys, in the config's own shape.
const BUILTIN: &str = include_str!("builtin.toml");

/// The built-in journeys' definitions.
pub fn builtin_definitions() -> BTreeMap<String, JourneyDefinition> {
    // The file is compiled in and covered by tests; an error here is a bug
    // caught by `builtin_journeys_are_valid_graphs`.
    config::Config::builder()
        .add_source(config::File::from_str(BUILTIN, config::FileFormat::Toml))
        .build()
        .and_then(|c| c.try_deserialize())
        .unwrap_or_default()
}

/// The journeys a configuration gives.
#[derive(Default)]
pub struct Journeys {
    /// Those that can be run, by name.
    pub available: BTreeMap<String, Journey>,
    /// Those left out because they register accounts and self-registration
    /// is off.
    pub registration_closed: BTreeSet<String>,
}

/// Every journey: the built-in ones, replaced or joined by the config's.
/// Without self-registration, journeys with a `register` node are left out.
pub fn all(settings: &Settings) -> Result<Journeys, GraphError> {
    let mut definitions = builtin_definitions();
    definitions.extend(settings.journeys.definitions.clone());
    let mut journeys = Journeys::default();
    for (name, definition) in definitions {
        let registers = definition
            .nodes
            .values()
            .any(|node| node.kind == "register");
        if registers && !settings.accounts.self_registration {
            journeys.registration_closed.insert(name);
            continue;
        }
        let journey = Journey::build(&name, &definition)?;
        journeys.available.insert(name, journey);
    }
    Ok(journeys)
}

impl Journey {
    /// Builds and checks a journey from its definition.
    pub fn build(name: &str, definition: &JourneyDefinition) -> Result<Self, GraphError> {
        let problem = |node: &str, problem: String| GraphError {
            journey: name.to_owned(),
            node: node.to_owned(),
            problem,
        };
        let mut nodes = BTreeMap::new();
        for (id, spec) in &definition.nodes {
            if id == "success" || id == "failure" {
                return Err(problem(
                    id,
                    "`success` and `failure` are reserved: they end the journey".into(),
                ));
            }
            let node = nodes::build(&spec.kind, &spec.options).map_err(|err| problem(id, err))?;
            let next = spec
                .next
                .iter()
                .map(|(outcome, target)| {
                    let target = match target.as_str() {
                        "success" => Next::Success,
                        "failure" => Next::Failure,
                        other => Next::Node(other.to_owned()),
                    };
                    (outcome.clone(), target)
                })
                .collect();
            let max_attempts = spec.max_attempts.unwrap_or(DEFAULT_MAX_ATTEMPTS);
            if max_attempts == 0 {
                return Err(problem(id, "`max_attempts` must be at least 1".into()));
            }
            nodes.insert(
                id.clone(),
                NodeSpec {
                    kind: spec.kind.clone(),
                    node,
                    next,
                    max_attempts,
                },
            );
        }
        let journey = Self {
            name: name.to_owned(),
            title: definition.title.clone().unwrap_or_else(|| "Sign in".into()),
            step_up: definition.step_up,
            start: definition.start.clone(),
            nodes,
        };
        journey.validate()?;
        Ok(journey)
    }

    fn problem(&self, node: &str, problem: impl Into<String>) -> GraphError {
        GraphError {
            journey: self.name.clone(),
            node: node.to_owned(),
            problem: problem.into(),
        }
    }

    /// Checks the graph: outcomes lead to defined nodes, every node can be
    /// reached from the start, and from every node the journey can end.
    pub fn validate(&self) -> Result<(), GraphError> {
        if !self.nodes.contains_key(&self.start) {
            return Err(self.problem(&self.start, "the start node is not defined"));
        }
        for (id, spec) in &self.nodes {
            for outcome in spec.node.outcomes() {
                if !spec.next.contains_key(*outcome) {
                    return Err(self.problem(
                        id,
                        format!("outcome `{outcome}` leads nowhere (add it to `next`)"),
                    ));
                }
            }
            for (outcome, target) in &spec.next {
                if !spec.node.outcomes().contains(&outcome.as_str()) {
                    return Err(self.problem(
                        id,
                        format!(
                            "`{}` nodes have no outcome `{outcome}`; theirs are {}",
                            spec.kind,
                            spec.node.outcomes().join(", ")
                        ),
                    ));
                }
                if let Next::Node(target) = target
                    && !self.nodes.contains_key(target)
                {
                    return Err(self.problem(
                        id,
                        format!("outcome `{outcome}` leads to unknown node `{target}`"),
                    ));
                }
            }
        }
        let reachable = self.reachable();
        if let Some(id) = self
            .nodes
            .keys()
            .find(|id| !reachable.contains(id.as_str()))
        {
            return Err(self.problem(id, "is not reachable from the start node"));
        }
        let can_end = self.can_end();
        if let Some(id) = self.nodes.keys().find(|id| !can_end.contains(id.as_str())) {
            return Err(self.problem(id, "is in a cycle that can never end the journey"));
        }
        Ok(())
    }

    fn successors<'a>(&'a self, spec: &'a NodeSpec) -> impl Iterator<Item = &'a str> {
        spec.next.values().filter_map(|next| match next {
            Next::Node(id) => Some(id.as_str()),
            _ => None,
        })
    }

    fn reachable(&self) -> BTreeSet<&str> {
        let mut seen = BTreeSet::from([self.start.as_str()]);
        let mut todo = vec![self.start.as_str()];
        while let Some(id) = todo.pop() {
            if let Some(spec) = self.nodes.get(id) {
                for next in self.successors(spec) {
                    if seen.insert(next) {
                        todo.push(next);
                    }
                }
            }
        }
        seen
    }

    /// Nodes from which some path reaches `success` or `failure`.
    fn can_end(&self) -> BTreeSet<&str> {
        let mut ending: BTreeSet<&str> = BTreeSet::new();
        loop {
            let before = ending.len();
            for (id, spec) in &self.nodes {
                let ends = spec.next.values().any(|next| match next {
                    Next::Node(target) => ending.contains(target.as_str()),
                    Next::Success | Next::Failure => true,
                });
                if ends {
                    ending.insert(id.as_str());
                }
            }
            if ending.len() == before {
                return ending;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn definition(toml: &str) -> JourneyDefinition {
        config::Config::builder()
            .add_source(config::File::from_str(toml, config::FileFormat::Toml))
            .build()
            .and_then(|c| c.try_deserialize())
            .expect("definition parses")
    }

    fn error(toml: &str) -> String {
        match Journey::build("test", &definition(toml)) {
            Ok(_) => panic!("expected {toml} to be rejected"),
            Err(err) => err.to_string(),
        }
    }

    #[test]
    fn builtin_journeys_are_valid_graphs() {
        let definitions = builtin_definitions();
        for name in ["login", "register", "reset_password"] {
            let definition = definitions.get(name).expect("built in");
            Journey::build(name, definition).expect("valid");
        }
    }

    #[test]
    fn a_dangling_outcome_names_journey_and_node() {
        let err = error(
            r#"start = "a"
            [nodes.a]
            type = "username_password"
            next = { success = "success", failure = "nowhere" }"#,
        );
        assert_eq!(
            err,
            "journey `test`, node `a`: outcome `failure` leads to unknown node `nowhere`"
        );
        let err = error(
            r#"start = "a"
            [nodes.a]
            type = "username_password"
            next = { success = "success" }"#,
        );
        assert!(err.contains("outcome `failure` leads nowhere"), "{err}");
    }

    #[test]
    fn unknown_types_outcomes_and_options_are_reported() {
        assert!(
            error("start = \"a\"\n[nodes.a]\ntype = \"teleport\"")
                .contains("unknown node type `teleport`")
        );
        let err = error(
            r#"start = "a"
            [nodes.a]
            type = "username_password"
            next = { success = "success", failure = "failure", maybe = "success" }"#,
        );
        assert!(err.contains("no outcome `maybe`"), "{err}");
        let err = error(
            r#"start = "a"
            [nodes.a]
            type = "username_password"
            colour = "blue"
            next = { success = "success", failure = "failure" }"#,
        );
        assert!(err.contains("no option `colour`"), "{err}");
    }

    #[test]
    fn unreachable_nodes_and_endless_cycles_are_reported() {
        let err = error(
            r#"start = "a"
            [nodes.a]
            type = "username_password"
            next = { success = "success", failure = "failure" }
            [nodes.b]
            type = "username_password"
            next = { success = "success", failure = "failure" }"#,
        );
        assert_eq!(
            err,
            "journey `test`, node `b`: is not reachable from the start node"
        );
        let err = error(
            r#"start = "a"
            [nodes.a]
            type = "username_password"
            next = { success = "b", failure = "b" }
            [nodes.b]
            type = "username_password"
            next = { success = "a", failure = "a" }"#,
        );
        assert!(err.contains("cycle that can never end"), "{err}");
    }

    #[test]
    fn a_retry_loop_that_can_end_is_allowed() {
        let journey = Journey::build(
            "test",
            &definition(
                r#"start = "a"
                [nodes.a]
                type = "username_password"
                next = { success = "success", failure = "a" }"#,
            ),
        );
        assert!(journey.is_ok());
    }
}
