//! Subgraphs extracted into petgraph, for graph algorithms and drawing:
//! shortest connection paths, and Graphviz DOT of a neighbourhood.

use super::{Follow, TraverseError, TraverseSpec};
use crate::model::{EntityId, RelKind};
use crate::Db;
use petgraph::graph::{NodeIndex, UnGraph};
use std::collections::HashMap;
use std::fmt::Write;

/// A neighbourhood of the graph held in petgraph: every node a traversal
/// reached, and every relationship of the followed kinds among them.
pub struct Subgraph {
    /// Nodes are entity ids; edge weights are `(kind, source)` (the entity
    /// the relationship points from).
    pub graph: UnGraph<EntityId, (RelKind, EntityId)>,
    /// Where each entity sits in `graph`.
    pub index: HashMap<EntityId, NodeIndex>,
    /// Whether a traversal limit cut the neighbourhood short.
    pub truncated: bool,
}

impl Db {
    /// Extracts the neighbourhood `spec` reaches from `start` into petgraph.
    pub fn subgraph(
        &self,
        start: EntityId,
        spec: &TraverseSpec,
    ) -> Result<Subgraph, TraverseError> {
        let t = self.traverse(start, spec)?;
        let mut graph = UnGraph::new_undirected();
        let mut index = HashMap::new();
        index.insert(start, graph.add_node(start));
        for r in &t.reached {
            index.insert(r.id, graph.add_node(r.id));
        }
        let kinds: Vec<RelKind> = spec.follow.iter().map(|(k, _)| *k).collect();
        for (&id, &ix) in &index {
            for n in self.edges(id, crate::model::Direction::Out)? {
                if !kinds.contains(&n.kind) {
                    continue;
                }
                if let Some(&other) = index.get(&n.id) {
                    graph.add_edge(ix, other, (n.kind, id));
                }
            }
        }
        Ok(Subgraph {
            graph,
            index,
            truncated: t.truncated,
        })
    }
}

/// Most entities a path search reaches before it stops with an error.
pub const MAX_PATH_SEARCH: usize = 100_000;

/// Every shortest path (up to `max_paths`) from `a` to `b` following each
/// relationship kind only in its direction (`Out`: from source to target,
/// `In`: against it, `Both`), at most `max_depth` hops, ascending. Empty
/// when `b` cannot be reached that way. With `as_of`, only relationships
/// valid on that day are followed. A breadth-first search that keeps
/// every predecessor one hop closer to `a`, then every path walked back.
pub fn shortest_paths_following(
    db: &Db,
    a: EntityId,
    b: EntityId,
    follow: &[(RelKind, Follow)],
    max_depth: usize,
    max_paths: usize,
    as_of: Option<crate::model::Date>,
) -> Result<Vec<Vec<EntityId>>, TraverseError> {
    use crate::model::Direction;
    for end in [a, b] {
        if !db.contains(end)? {
            return Err(TraverseError::NotFound(end));
        }
    }
    if a == b {
        return Ok(vec![vec![a]]);
    }
    let mut dist: HashMap<EntityId, usize> = HashMap::from([(a, 0)]);
    let mut preds: HashMap<EntityId, Vec<EntityId>> = HashMap::new();
    let mut frontier = vec![a];
    for depth in 0..max_depth {
        let mut next = Vec::new();
        for &u in &frontier {
            for (kind, how) in follow {
                let dirs: &[Direction] = match how {
                    Follow::Out => &[Direction::Out],
                    Follow::In => &[Direction::In],
                    Follow::Both => &[Direction::Out, Direction::In],
                };
                for d in dirs {
                    let ends: Vec<EntityId> = match as_of {
                        None => db.neighbour_ids(u, *kind, *d)?,
                        Some(day) => db
                            .neighbours(u, *kind, *d)?
                            .into_iter()
                            .filter(|n| n.props.holds_on(day))
                            .map(|n| n.id)
                            .collect(),
                    };
                    for v in ends {
                        match dist.get(&v) {
                            None => {
                                dist.insert(v, depth + 1);
                                preds.insert(v, vec![u]);
                                next.push(v);
                            }
                            Some(&dv) if dv == depth + 1 => {
                                let p = preds.entry(v).or_default();
                                if !p.contains(&u) {
                                    p.push(u);
                                }
                            }
                            Some(_) => {}
                        }
                    }
                }
            }
        }
        if dist.contains_key(&b) || next.is_empty() {
            break;
        }
        if dist.len() > MAX_PATH_SEARCH {
            // Never an empty answer that only means "gave up".
            return Err(TraverseError::Invalid(format!(
                "the path search reached more than {MAX_PATH_SEARCH} entities within {} hops without reaching {b}: name fewer kinds, a direction or a smaller depth",
                depth + 1
            )));
        }
        frontier = next;
    }
    if !dist.contains_key(&b) {
        return Ok(Vec::new());
    }
    let mut paths = Vec::new();
    let mut stack = vec![vec![b]];
    while let Some(path) = stack.pop() {
        let last = *path.last().expect("paths are never empty");
        if last == a {
            let mut p = path.clone();
            p.reverse();
            paths.push(p);
            if paths.len() >= max_paths {
                break;
            }
            continue;
        }
        let mut ps = preds.get(&last).cloned().unwrap_or_default();
        ps.sort();
        for u in ps.into_iter().rev() {
            let mut p = path.clone();
            p.push(u);
            stack.push(p);
        }
    }
    paths.sort();
    Ok(paths)
}

/// Every shortest path (up to `max_paths`) between `a` and `b` over the
/// given relationship kinds in either direction, at most `max_depth` hops.
/// Empty when they are not connected within that depth.
pub fn shortest_paths(
    db: &Db,
    a: EntityId,
    b: EntityId,
    kinds: &[RelKind],
    max_depth: usize,
    max_paths: usize,
) -> Result<Vec<Vec<EntityId>>, TraverseError> {
    let follow: Vec<(RelKind, Follow)> = kinds.iter().map(|k| (*k, Follow::Both)).collect();
    shortest_paths_following(db, a, b, &follow, max_depth, max_paths, None)
}

/// Graphviz DOT of the neighbourhood of `id` to `depth` hops over every
/// relationship kind but identity resolution's, for a person to look at. `label` names a node.
pub fn neighbourhood_dot(
    db: &Db,
    id: EntityId,
    depth: usize,
    label: impl Fn(EntityId) -> String,
) -> Result<String, TraverseError> {
    let kinds = super::default_kinds(db);
    let mut spec = TraverseSpec::new(&kinds, Follow::Both, depth);
    spec.max_results = 500;
    let sub = db.subgraph(id, &spec)?;
    let mut out = String::from("digraph kith {\n  rankdir=LR;\n  node [shape=box, fontsize=10];\n");
    let mut nodes: Vec<EntityId> = sub.index.keys().copied().collect();
    nodes.sort();
    for n in nodes {
        let style = if n == id { ", style=bold" } else { "" };
        let _ = writeln!(out, "  n{} [label={:?}{style}];", n.0, label(n));
    }
    let mut edges: Vec<(EntityId, EntityId, String)> = sub
        .graph
        .edge_indices()
        .map(|e| {
            let (x, y) = sub.graph.edge_endpoints(e).expect("edge exists");
            let (kind, from) = sub.graph[e];
            let (x, y) = (sub.graph[x], sub.graph[y]);
            let to = if from == x { y } else { x };
            let name = db
                .relationship_kind_name(kind)
                .unwrap_or_else(|| kind.to_string());
            (from, to, name)
        })
        .collect();
    edges.sort();
    for (from, to, name) in edges {
        let _ = writeln!(out, "  n{} -> n{} [label={name:?}];", from.0, to.0);
    }
    if sub.truncated {
        out.push_str("  truncated [label=\"(more not shown)\", shape=plaintext];\n");
    }
    out.push_str("}\n");
    Ok(out)
}
