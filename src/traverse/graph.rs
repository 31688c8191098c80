//! Subgraphs extracted into petgraph, for graph algorithms and drawing:
//! shortest connection paths, and Graphviz DOT of a neighbourhood.

use super::{Follow, Hop, TraverseError, TraverseSpec, When};
use crate::model::{Direction, EntityId, RelKind};
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

/// What a path search follows and how far.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathSpec {
    /// Relationship kinds to follow, each in a direction.
    pub follow: Vec<(RelKind, Follow)>,
    /// How many hops at most.
    pub max_depth: usize,
    /// How many shortest paths at most.
    pub max_paths: usize,
    /// Only relationships of these dates.
    pub when: When,
}

impl PathSpec {
    /// Follows `follow` up to `max_depth` hops, at most 10 paths, any dates.
    pub fn new(follow: Vec<(RelKind, Follow)>, max_depth: usize) -> PathSpec {
        PathSpec {
            follow,
            max_depth,
            max_paths: 10,
            when: When::ANY,
        }
    }
}

/// One path between two entities.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Path {
    /// The entities along it, from the first end to the second.
    pub nodes: Vec<EntityId>,
    /// The relationships crossed, with their properties: `hops[i]` links
    /// `nodes[i]` and `nodes[i + 1]`.
    pub hops: Vec<Hop>,
}

/// What a path search found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Paths {
    /// The shortest paths, at most `max_paths` of them.
    pub paths: Vec<Path>,
    /// Whether more shortest paths exist than `max_paths` let through.
    pub truncated: bool,
}

/// A step the search took into a node: from `from` by `kind` in `dir`.
type Pred = (EntityId, RelKind, Direction);

/// Every shortest path (up to `spec.max_paths`) from `a` to `b` following
/// each relationship kind only in its direction (`Out`: from source to
/// target, `In`: against it, `Both`), at most `spec.max_depth` hops, in
/// ascending order of their nodes, each with the relationships it crosses.
/// Empty when `b` cannot be reached that way; `truncated` when more
/// shortest paths exist than `max_paths`. A breadth-first search that keeps
/// every predecessor one hop closer to `a`, then every path walked back.
pub fn shortest_paths_following(
    db: &Db,
    a: EntityId,
    b: EntityId,
    spec: &PathSpec,
) -> Result<Paths, TraverseError> {
    for end in [a, b] {
        if !db.contains(end)? {
            return Err(TraverseError::NotFound(end));
        }
    }
    if a == b {
        return Ok(Paths {
            paths: vec![Path {
                nodes: vec![a],
                hops: Vec::new(),
            }],
            truncated: false,
        });
    }
    let Some(preds) = predecessors(db, a, b, spec)? else {
        return Ok(Paths {
            paths: Vec::new(),
            truncated: false,
        });
    };
    let (found, truncated) = walk_back(a, b, &preds, spec.max_paths);
    let mut paths = Vec::new();
    for nodes in found {
        let mut hops = Vec::with_capacity(nodes.len() - 1);
        for w in nodes.windows(2) {
            hops.push(hop_between(db, w[0], w[1], &preds, &spec.when)?);
        }
        paths.push(Path { nodes, hops });
    }
    paths.sort_by(|x, y| x.nodes.cmp(&y.nodes));
    Ok(Paths { paths, truncated })
}

/// The breadth-first search from `a`: for every node on a shortest path,
/// each step that reaches it from one hop closer; `None` when `b` is not
/// reached within the depth.
fn predecessors(
    db: &Db,
    a: EntityId,
    b: EntityId,
    spec: &PathSpec,
) -> Result<Option<HashMap<EntityId, Vec<Pred>>>, TraverseError> {
    let mut dist: HashMap<EntityId, usize> = HashMap::from([(a, 0)]);
    let mut preds: HashMap<EntityId, Vec<Pred>> = HashMap::new();
    let mut frontier = vec![a];
    for depth in 0..spec.max_depth {
        let mut next = Vec::new();
        for &u in &frontier {
            for (kind, how) in &spec.follow {
                for d in super::directions(*how) {
                    let ends: Vec<EntityId> = if spec.when.is_any() {
                        db.neighbour_ids(u, *kind, *d)?
                    } else {
                        db.neighbours(u, *kind, *d)?
                            .into_iter()
                            .filter(|n| spec.when.admits(&n.props))
                            .map(|n| n.id)
                            .collect()
                    };
                    for v in ends {
                        match dist.get(&v) {
                            None => {
                                dist.insert(v, depth + 1);
                                preds.insert(v, vec![(u, *kind, *d)]);
                                next.push(v);
                            }
                            Some(&dv) if dv == depth + 1 => {
                                let p = preds.entry(v).or_default();
                                if !p.iter().any(|(w, _, _)| *w == u) {
                                    p.push((u, *kind, *d));
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
    Ok(dist.contains_key(&b).then_some(preds))
}

/// Up to `max_paths` node paths from `a` to `b` through the predecessors,
/// and whether more exist (every partial path left leads back to `a`).
fn walk_back(
    a: EntityId,
    b: EntityId,
    preds: &HashMap<EntityId, Vec<Pred>>,
    max_paths: usize,
) -> (Vec<Vec<EntityId>>, bool) {
    let mut paths = Vec::new();
    let mut stack = vec![vec![b]];
    while let Some(path) = stack.pop() {
        let last = *path.last().expect("paths are never empty");
        if last == a {
            let mut p = path.clone();
            p.reverse();
            paths.push(p);
            if paths.len() >= max_paths {
                return (paths, !stack.is_empty());
            }
            continue;
        }
        let mut ps: Vec<EntityId> = preds
            .get(&last)
            .map(|v| v.iter().map(|(u, _, _)| *u).collect())
            .unwrap_or_default();
        ps.sort();
        for u in ps.into_iter().rev() {
            let mut p = path.clone();
            p.push(u);
            stack.push(p);
        }
    }
    (paths, false)
}

/// The relationship the search crossed from `u` into `v`, with its
/// properties (read once more, for the paths answered only).
fn hop_between(
    db: &Db,
    u: EntityId,
    v: EntityId,
    preds: &HashMap<EntityId, Vec<Pred>>,
    when: &When,
) -> Result<Hop, TraverseError> {
    let (_, kind, dir) = preds
        .get(&v)
        .and_then(|p| p.iter().find(|(w, _, _)| *w == u))
        .copied()
        .expect("a path only crosses steps the search took");
    let n = db
        .neighbours(u, kind, dir)?
        .into_iter()
        .find(|n| n.id == v && when.admits(&n.props))
        .ok_or_else(|| {
            TraverseError::Invalid(format!(
                "the relationship from {u} to {v} changed during the search"
            ))
        })?;
    Ok(Hop {
        from: u,
        kind: n.kind,
        direction: n.direction,
        to: v,
        props: n.props,
    })
}

/// Every shortest path (up to `max_paths`; [`shortest_paths_following`]
/// says whether more exist) between `a` and `b` over the given
/// relationship kinds in either direction, at most `max_depth` hops, as the
/// entities along each. Empty when they are not connected within
/// that depth.
pub fn shortest_paths(
    db: &Db,
    a: EntityId,
    b: EntityId,
    kinds: &[RelKind],
    max_depth: usize,
    max_paths: usize,
) -> Result<Vec<Vec<EntityId>>, TraverseError> {
    let mut spec = PathSpec::new(
        kinds.iter().map(|k| (*k, Follow::Both)).collect(),
        max_depth,
    );
    spec.max_paths = max_paths;
    Ok(shortest_paths_following(db, a, b, &spec)?
        .paths
        .into_iter()
        .map(|p| p.nodes)
        .collect())
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
