//! Journey definitions: named nodes, a start node, and for each node where
//! each of its outcomes leads.

use super::nodes::{Node, UsernamePassword};
use std::collections::BTreeMap;

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

/// One node of a journey and its transitions.
pub struct NodeSpec {
    pub node: Box<dyn Node>,
    pub next: BTreeMap<&'static str, Next>,
}

/// A journey: a graph of nodes.
pub struct Journey {
    pub name: String,
    /// Heading of the HTML pages ("Sign in").
    pub title: String,
    pub start: String,
    pub nodes: BTreeMap<String, NodeSpec>,
}

/// A journey graph that cannot run.
#[derive(Debug, thiserror::Error)]
#[error("journey `{journey}`, node `{node}`: {problem}")]
pub struct GraphError {
    pub journey: String,
    pub node: String,
    pub problem: String,
}

impl Journey {
    /// The built-in `login` journey: username and password, then a session.
    pub fn login() -> Self {
        let next = BTreeMap::from([("success", Next::Success), ("failure", Next::Failure)]);
        Self {
            name: "login".into(),
            title: "Sign in".into(),
            start: "credentials".into(),
            nodes: BTreeMap::from([(
                "credentials".to_owned(),
                NodeSpec {
                    node: Box::new(UsernamePassword),
                    next,
                },
            )]),
        }
    }

    /// Checks that the start node exists and that every outcome of every
    /// node leads somewhere that exists.
    pub fn validate(&self) -> Result<(), GraphError> {
        let problem = |node: &str, problem: String| GraphError {
            journey: self.name.clone(),
            node: node.to_owned(),
            problem,
        };
        if !self.nodes.contains_key(&self.start) {
            return Err(problem(&self.start, "the start node is not defined".into()));
        }
        for (id, spec) in &self.nodes {
            for outcome in spec.node.outcomes() {
                match spec.next.get(outcome) {
                    None => return Err(problem(id, format!("outcome `{outcome}` leads nowhere"))),
                    Some(Next::Node(target)) if !self.nodes.contains_key(target) => {
                        return Err(problem(
                            id,
                            format!("outcome `{outcome}` leads to unknown node `{target}`"),
                        ));
                    }
                    Some(_) => {}
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_login_journey_is_a_valid_graph() {
        assert!(Journey::login().validate().is_ok());
    }

    #[test]
    fn a_dangling_outcome_is_reported_with_journey_and_node() {
        let mut journey = Journey::login();
        if let Some(spec) = journey.nodes.get_mut("credentials") {
            spec.next.insert("failure", Next::Node("nowhere".into()));
        }
        let err = journey.validate().expect_err("dangling outcome");
        assert_eq!(
            err.to_string(),
            "journey `login`, node `credentials`: outcome `failure` leads to unknown node `nowhere`"
        );
    }
}
