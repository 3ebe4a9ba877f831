//! The dependency rules of docs/architecture.md, checked on the source: no import loop between
//! the engine's feature modules (a feature's pure part and its `store` count apart, since the
//! WASM client compiles only the pure part), nor between the modules of `app/` or `server/`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Graph = BTreeMap<String, BTreeSet<String>>;

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("source directory") {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// The code of a file without its test module and without comments.
fn code(text: &str) -> String {
    let end = ["#[cfg(test)]", "#[cfg(all(test"]
        .iter()
        .filter_map(|marker| text.find(marker))
        .min()
        .unwrap_or(text.len());
    text[..end]
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The paths named after each `crate::` in `code`: `a` and, when there is one, `a/b`.
fn crate_paths(code: &str) -> Vec<(String, Option<String>)> {
    let ident = |s: &str| {
        let len = s
            .find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
            .unwrap_or(s.len());
        s[..len].to_string()
    };
    code.match_indices("crate::")
        .map(|(at, _)| {
            let rest = &code[at + "crate::".len()..];
            let first = ident(rest);
            let second = rest[first.len()..]
                .strip_prefix("::")
                .map(ident)
                .filter(|s| !s.is_empty());
            (first, second)
        })
        .filter(|(first, _)| !first.is_empty())
        .collect()
}

/// The module graph of one crate's `src`. A node is a file's first `depth` path components
/// (`disputes`, or `disputes/store` at depth 2); test files are left out.
fn graph(src: &Path, depth: usize) -> Graph {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut sources: BTreeMap<String, String> = BTreeMap::new();
    for file in files {
        let relative = file
            .strip_prefix(src)
            .expect("under src")
            .with_extension("");
        let parts: Vec<String> = relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        let test_only =
            parts.last().is_some_and(|p| p == "tests") || parts == ["ledger", "properties"];
        if test_only || parts[0] == "lib" || parts[0] == "main" {
            continue;
        }
        let node = parts[..parts.len().min(depth)].join("/");
        let text = std::fs::read_to_string(&file).expect("source file");
        sources.entry(node).or_default().push_str(&code(&text));
    }
    let nodes: BTreeSet<String> = sources.keys().cloned().collect();
    sources
        .iter()
        .map(|(node, code)| {
            let mut deps: BTreeSet<String> = crate_paths(code)
                .into_iter()
                .map(|(first, second)| match second {
                    Some(second) if nodes.contains(&format!("{first}/{second}")) => {
                        format!("{first}/{second}")
                    }
                    _ => first,
                })
                .filter(|dep| dep != node && nodes.contains(dep))
                .collect();
            // A submodule's `super::` is its parent feature.
            if let Some((parent, _)) = node.split_once('/')
                && code.contains("super::")
            {
                deps.insert(parent.to_string());
            }
            (node.clone(), deps)
        })
        .collect()
}

/// One import loop of the graph, if it has any.
fn a_loop(graph: &Graph) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &Graph,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for dep in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(dep, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn the_engine_features_depend_on_each_other_one_way() {
    let graph = graph(&workspace().join("src"), 2);
    assert!(graph.contains_key("receivables/store"), "{graph:?}");
    assert_eq!(a_loop(&graph), None);
}

#[test]
fn the_ui_and_the_server_modules_have_no_import_loop() {
    for krate in ["app", "server"] {
        let graph = graph(&workspace().join(krate).join("src"), 1);
        assert!(graph.len() > 5, "{krate}: {graph:?}");
        assert_eq!(a_loop(&graph), None, "{krate}");
    }
}

#[test]
fn a_loop_is_found_where_there_is_one_and_not_where_there_is_none() {
    let edges = |pairs: &[(&str, &str)]| {
        let mut graph = Graph::new();
        for (from, to) in pairs {
            graph
                .entry(from.to_string())
                .or_default()
                .insert(to.to_string());
            graph.entry(to.to_string()).or_default();
        }
        graph
    };
    let looped = edges(&[("a", "b"), ("b", "c"), ("c", "a"), ("d", "a")]);
    assert_eq!(a_loop(&looped).map(|c| c.len()), Some(4));
    assert_eq!(a_loop(&edges(&[("a", "b"), ("b", "c"), ("a", "c")])), None);
    assert_eq!(
        crate_paths("use crate::disputes::store::{x}; crate::money::Money"),
        vec![
            ("disputes".into(), Some("store".into())),
            ("money".into(), None),
        ]
    );
}
