//! The layout README promises: no import cycle between the files of `src/`, nor between its
//! top-level folders. Imports are read from the source text (every `crate::…`, `super::…` and
//! `self::…` path, with `use` groups), leaving out comments and the `#[cfg(test)] mod tests`
//! block at the end of a file. Needs no service.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Each `.rs` file under `dir`, by its path relative to `src/`.
fn read_files(dir: &Path, root: &Path, out: &mut BTreeMap<String, String>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            read_files(&path, root, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            out.insert(rel, std::fs::read_to_string(&path).expect("read file"));
        }
    }
}

/// The module path of a file: `source/binlog/mod.rs` → `[source, binlog]`.
fn module_of(rel: &str) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .trim_end_matches(".rs")
        .split('/')
        .map(String::from)
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// The file each `src/` file imports from (itself left out).
fn import_graph() -> BTreeMap<String, BTreeSet<String>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = BTreeMap::new();
    read_files(&root, &root, &mut files);
    let modules: BTreeMap<Vec<String>, String> = files
        .keys()
        .map(|rel| (module_of(rel), rel.clone()))
        .collect();
    // The file of the longest module prefix of `path`.
    let resolve = |path: &[String]| {
        (1..=path.len())
            .rev()
            .find_map(|n| modules.get(&path[..n]).cloned())
    };
    let comment = regex::Regex::new(r"//[^\n]*").unwrap();
    let import = regex::Regex::new(r"\b(crate|super|self)((?:::\w+)+)(?:::\{([^;]*?)\})?").unwrap();
    let mut graph = BTreeMap::new();
    for (rel, text) in &files {
        let text = text
            .find("#[cfg(test)]\nmod tests")
            .map_or(text.as_str(), |end| &text[..end]);
        let text = comment.replace_all(text, "");
        let me = module_of(rel);
        let mut deps = BTreeSet::new();
        for m in import.captures_iter(&text) {
            let mut rest: Vec<String> = m[2]
                .split("::")
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect();
            let mut base = match &m[1] {
                "crate" => Vec::new(),
                "self" => me.clone(),
                _ => me[..me.len().saturating_sub(1)].to_vec(),
            };
            while rest.first().is_some_and(|s| s == "super") {
                rest.remove(0);
                base.pop();
            }
            base.extend(rest);
            let mut paths = vec![base.clone()];
            for item in m.get(3).map_or("", |g| g.as_str()).split(',') {
                let item: Vec<String> = item
                    .split("::")
                    .map(|s| {
                        s.trim()
                            .trim_matches(|c: char| !c.is_alphanumeric() && c != '_')
                    })
                    .filter(|s| !s.is_empty() && *s != "self")
                    .map(String::from)
                    .collect();
                if !item.is_empty() {
                    paths.push([base.clone(), item].concat());
                }
            }
            for path in paths {
                if let Some(file) = resolve(&path).filter(|f| f != rel) {
                    deps.insert(file);
                }
            }
        }
        graph.insert(rel.clone(), deps);
    }
    graph
}

/// A cycle of `graph`, as the nodes along it, if there is one.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    // 0: not seen, 1: on the current path, 2: done.
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(node.to_string(), 1);
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            match state.get(next.as_str()).copied().unwrap_or(0) {
                1 => {
                    let start = path.iter().position(|n| n == next).unwrap();
                    return Some([&path[start..], std::slice::from_ref(next)].concat());
                }
                0 => {
                    if let Some(cycle) = visit(next, graph, state, path) {
                        return Some(cycle);
                    }
                }
                _ => {}
            }
        }
        path.pop();
        state.insert(node.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for node in graph.keys() {
        if state.get(node.as_str()).copied().unwrap_or(0) == 0
            && let Some(cycle) = visit(node, graph, &mut state, &mut Vec::new())
        {
            return Some(cycle);
        }
    }
    None
}

#[test]
fn no_import_cycle_between_files_or_folders() {
    let files = import_graph();
    assert!(
        files.values().map(BTreeSet::len).sum::<usize>() > 300,
        "the import reader found too few imports to be reading them"
    );
    if let Some(cycle) = find_cycle(&files) {
        panic!("files import each other in a cycle: {}", cycle.join(" → "));
    }
    let folder = |file: &str| {
        file.split('/')
            .next()
            .unwrap()
            .trim_end_matches(".rs")
            .to_string()
    };
    let mut folders: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (file, deps) in &files {
        for dep in deps {
            if folder(file) != folder(dep) {
                folders.entry(folder(file)).or_default().insert(folder(dep));
            }
        }
    }
    if let Some(cycle) = find_cycle(&folders) {
        panic!(
            "folders import each other in a cycle: {}",
            cycle.join(" → ")
        );
    }
}
