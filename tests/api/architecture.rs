//! Keeps the layering true without anyone remembering it. The table below
//! is the intended module graph of `src/`: each top-level module and the
//! top-level modules it may name through `crate::…` paths. The tests read
//! every file under `src/`, build the graph of top-level modules from those
//! paths, and fail on an edge the table does not allow or on any cycle.
//! Domain modules never import actix (or askama), and nothing but the
//! store's embedded backend imports redb: the rest of the store speaks
//! through its traits, so that another backend can take its place.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layering, bottom up: each module and the modules it may use.
const ALLOWED: &[(&str, &str)] = &[
    // Leaves: plain values and settings that know no other module.
    ("clock", ""),
    ("files", ""),
    ("secret", ""),
    ("username", ""),
    ("jwa", ""),
    ("jws", "jwa"),
    ("config", "jwa secret username"),
    ("telemetry", "config"),
    // Counters and the registry `/metrics` exports: a leaf, so that the
    // domain can count what only it knows (a lockout, a grant) with an
    // atomic add, without knowing HTTP.
    ("metrics", ""),
    // The TLS setup of the HTTP requests tessera makes.
    ("outbound", ""),
    // The store speaks tessera's types, never the settings'.
    ("store", "files jwa secret username"),
    // The core every domain area shares (settings, store handle, clock,
    // sealer and issuer, in `context`), and the building blocks that domain
    // services hold (the password hasher, the mailer, the signing keys).
    ("seal", "secret store"),
    ("mail", "clock config secret"),
    ("passwords", "config secret"),
    ("keys", "jwa jws seal secret store"),
    ("context", "clock config metrics seal secret store"),
    // The audit log every domain area records in.
    ("audit", "context store"),
    // Domain areas, over the core and the areas below them.
    // Sessions sit below accounts: ending a user's sessions (a new
    // password, a deleted account) queues their back-channel logout notices.
    ("sessions", "audit context secret store"),
    (
        "accounts",
        "audit clock config context mail metrics passwords seal secret sessions store username",
    ),
    // Passkeys (WebAuthn): the relying party and users' credentials.
    ("passkeys", "audit config context secret store"),
    (
        "journeys",
        "accounts audit clock config context mail passkeys passwords seal secret sessions store \
         username",
    ),
    (
        "oauth",
        "accounts audit clock config context journeys jwa keys metrics seal secret sessions \
         store username",
    ),
    (
        "oidc",
        "accounts config context jwa keys oauth outbound secret sessions store",
    ),
    // Who may administer: over accounts, sessions and the OAuth provider.
    (
        "admin",
        "accounts audit config context keys oauth secret sessions store",
    ),
    // The edges: HTTP, the composition root that builds everything, the CLI.
    (
        "http",
        "accounts admin audit clock config context journeys jwa keys mail metrics oauth oidc \
         passkeys passwords seal secret sessions store telemetry username",
    ),
    (
        "app",
        "accounts admin audit clock config context http journeys jwa keys mail oauth oidc \
         passwords seal secret sessions store telemetry username",
    ),
    (
        "cli",
        "accounts admin app audit clock config context files http journeys jwa keys mail oauth \
         oidc outbound passwords seal secret sessions store telemetry username",
    ),
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            files.push(path);
        }
    }
    files
}

/// Each file under `src/`, relative to it, with its comment lines dropped.
fn sources() -> Vec<(String, String)> {
    let src = src();
    rust_files(&src)
        .into_iter()
        .map(|file| {
            let relative = file
                .strip_prefix(&src)
                .expect("under src")
                .to_string_lossy()
                .replace('\\', "/");
            let text = std::fs::read_to_string(&file).expect("read");
            let code: Vec<&str> = text
                .lines()
                .map(|line| match line.trim_start().starts_with("//") {
                    true => "",
                    false => line,
                })
                .collect();
            (relative, code.join("\n"))
        })
        .collect()
}

/// The top-level module a file belongs to (`oauth/grants.rs` → `oauth`).
fn module_of(relative: &str) -> &str {
    let first = relative.split('/').next().unwrap_or(relative);
    first.strip_suffix(".rs").unwrap_or(first)
}

fn identifier(text: &str) -> &str {
    let end = text
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    &text[..end]
}

/// The top-level modules named by `crate::a::…` and `crate::{a::…, b}` paths.
fn crate_paths(code: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (at, _) in code.match_indices("crate::") {
        let preceded_by_path = code[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':');
        if preceded_by_path {
            continue;
        }
        let rest = code[at + "crate::".len()..].trim_start();
        match rest.strip_prefix('{') {
            Some(group) => {
                let mut depth = 0;
                let mut start = 0;
                for (i, c) in group.char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' if depth == 0 => {
                            found.insert(identifier(group[start..i].trim()).to_owned());
                            break;
                        }
                        '}' => depth -= 1,
                        ',' if depth == 0 => {
                            found.insert(identifier(group[start..i].trim()).to_owned());
                            start = i + 1;
                        }
                        _ => {}
                    }
                }
            }
            None => {
                found.insert(identifier(rest).to_owned());
            }
        }
    }
    found.remove("");
    found
}

/// Edges between top-level modules, each with the files that make it.
fn module_graph() -> BTreeMap<String, BTreeMap<String, BTreeSet<String>>> {
    let mut graph: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for (relative, code) in sources() {
        let from = module_of(&relative);
        if from == "lib" || from == "main" {
            continue;
        }
        let edges = graph.entry(from.to_owned()).or_default();
        for to in crate_paths(&code) {
            if to != from {
                edges.entry(to).or_default().insert(relative.clone());
            }
        }
    }
    graph
}

/// A cycle through the graph, if there is one, as the modules along it.
fn find_cycle(graph: &BTreeMap<String, BTreeMap<String, BTreeSet<String>>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeMap<String, BTreeSet<String>>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|seen| seen == node) {
            let mut cycle = path[start..].to_vec();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flat_map(|edges| edges.keys()) {
            if let Some(cycle) = visit(next, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

#[test]
fn the_parser_reads_single_and_grouped_crate_paths() {
    let code = "use crate::a::B;\nuse crate::{\n    c::{D, E},\n    f,\n};\nlet x = crate::g::h(); mycrate::i::j; super::crate::k;";
    let found: Vec<String> = crate_paths(code).into_iter().collect();
    assert_eq!(found, ["a", "c", "f", "g"]);
}

#[test]
fn a_cycle_is_found_and_named_module_by_module() {
    let mut graph: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for (from, to) in [("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")] {
        graph
            .entry(from.to_owned())
            .or_default()
            .insert(to.to_owned(), BTreeSet::new());
    }
    assert_eq!(
        find_cycle(&graph).expect("a cycle"),
        ["a", "b", "c", "a"].map(String::from)
    );
    graph.entry("c".to_owned()).or_default().remove("a");
    assert_eq!(find_cycle(&graph), None);
}

#[test]
fn the_module_graph_has_no_cycles() {
    let graph = module_graph();
    if let Some(cycle) = find_cycle(&graph) {
        let why: Vec<String> = cycle
            .windows(2)
            .map(|pair| {
                let files = &graph[&pair[0]][&pair[1]];
                format!("  {} -> {} ({})", pair[0], pair[1], join(files))
            })
            .collect();
        panic!("module cycle {}:\n{}", cycle.join(" -> "), why.join("\n"));
    }
}

#[test]
fn every_module_edge_is_in_the_allowed_table() {
    let allowed: BTreeMap<&str, Vec<&str>> = ALLOWED
        .iter()
        .map(|(module, may_use)| (*module, may_use.split_whitespace().collect()))
        .collect();
    let mut forbidden = Vec::new();
    for (from, edges) in module_graph() {
        let Some(may_use) = allowed.get(from.as_str()) else {
            forbidden.push(format!("  {from} is not in the table"));
            continue;
        };
        for (to, files) in edges {
            if !may_use.contains(&to.as_str()) {
                forbidden.push(format!("  {from} -> {to} ({})", join(&files)));
            }
        }
    }
    assert!(
        forbidden.is_empty(),
        "edges the table in tests/api/architecture.rs does not allow:\n{}",
        forbidden.join("\n")
    );
}

fn join(files: &BTreeSet<String>) -> String {
    files.iter().cloned().collect::<Vec<_>>().join(", ")
}

/// Lines outside the allowed files that name any of `forbidden` as a path.
fn offenders(forbidden: &[&str], allowed: impl Fn(&str) -> bool) -> Vec<String> {
    let mut found = Vec::new();
    for (relative, code) in sources() {
        if allowed(&relative) {
            continue;
        }
        for (number, line) in code.lines().enumerate() {
            if forbidden
                .iter()
                .any(|name| line.contains(&format!("{name}::")))
            {
                found.push(format!("{relative}:{}: {}", number + 1, line.trim()));
            }
        }
    }
    found
}

#[test]
fn only_the_embedded_backend_imports_redb() {
    let found = offenders(&["redb"], |file| file.starts_with("store/embedded/"));
    assert!(
        found.is_empty(),
        "redb outside src/store/embedded/:\n{}",
        found.join("\n")
    );
}

#[test]
fn only_the_postgres_backend_imports_its_client() {
    let found = offenders(&["tokio_postgres", "deadpool_postgres"], |file| {
        file.starts_with("store/postgres/")
    });
    assert!(
        found.is_empty(),
        "the PostgreSQL client outside src/store/postgres/:\n{}",
        found.join("\n")
    );
}

#[test]
fn domain_modules_never_import_actix_or_askama() {
    let found = offenders(&["actix_web", "actix", "askama"], |file| {
        matches!(module_of(file), "http" | "app" | "cli" | "telemetry")
    });
    assert!(
        found.is_empty(),
        "HTTP types in domain code:\n{}",
        found.join("\n")
    );
}
