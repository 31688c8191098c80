//! Relationship traversal: bounded, cycle-safe walks over the graph, and the
//! domain queries built on them (household, guarantor network, corporate
//! group, connection paths, shared identifiers).
//!
//! Everything here uses `Db`'s public reads only.

mod graph;
mod owners;
mod queries;
mod shares;

pub use graph::{
    neighbourhood_dot, shortest_paths, shortest_paths_following, Path, PathSpec, Paths, Subgraph,
    MAX_PATH_SEARCH,
};
pub use owners::{Owner, Owners, MAX_OWNERS};
pub use queries::{
    AccountHolding, CorporateGroup, GroupMember, GuarantorLink, GuarantorNetwork, HouseholdMember,
    HouseholdView, SharedIdentifier, MAX_GROUP_MEMBERS,
};

use crate::error::ReadError;
use crate::model::{Date, Direction, EdgeProps, EntityId, EntityKind, RelKind};
use crate::Db;
use std::collections::{HashMap, VecDeque};

/// The deepest any traversal may go. Deeper requests are refused with
/// [`TraverseError::TooDeep`].
pub const MAX_DEPTH: usize = 16;

/// Which way to follow a relationship kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Follow {
    /// From source to target.
    Out,
    /// From target to source.
    In,
    /// Both ways.
    Both,
}

/// Which relationships a query follows by their dates: valid on a day
/// (`at`), and begun within a window (`since` ..= `until`, by the
/// relationship's first day). Every field is optional; the default follows
/// every relationship, whatever its dates.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct When {
    /// Only relationships that hold on this day (`since <= at <= until`;
    /// an open end holds).
    pub at: Option<Date>,
    /// Only relationships that began on or after this day. One whose first
    /// day is unknown is left out.
    pub since: Option<Date>,
    /// Only relationships that began on or before this day. One whose first
    /// day is unknown is left out.
    pub until: Option<Date>,
}

impl When {
    /// Every relationship.
    pub const ANY: When = When {
        at: None,
        since: None,
        until: None,
    };

    /// Relationships valid on `day` (`None`: every relationship).
    pub fn on(day: Option<Date>) -> When {
        When {
            at: day,
            ..When::ANY
        }
    }

    /// Whether this follows every relationship.
    pub fn is_any(&self) -> bool {
        *self == When::ANY
    }

    /// Whether a relationship with these properties is followed.
    pub fn admits(&self, p: &EdgeProps) -> bool {
        if let Some(day) = self.at {
            if !p.holds_on(day) {
                return false;
            }
        }
        if self.since.is_some() || self.until.is_some() {
            let Some(began) = p.since else {
                return false;
            };
            if self.since.is_some_and(|s| began < s) || self.until.is_some_and(|u| began > u) {
                return false;
            }
        }
        true
    }

    /// Parses the three optional days (`YYYY-MM-DD`; a date-time's date part
    /// is not accepted here), naming the option that is wrong: `what` says
    /// how each is spelled to the user (`["--at", "--since", "--until"]` or
    /// `["AT", "SINCE", "UNTIL"]`). A window whose start is after its end is
    /// an error, not an empty answer.
    pub fn parse(
        at: Option<&str>,
        since: Option<&str>,
        until: Option<&str>,
        what: [&str; 3],
    ) -> Result<When, String> {
        let day = |t: Option<&str>, name: &str| -> Result<Option<Date>, String> {
            t.map(|t| {
                Date::parse(t.trim())
                    .map_err(|_| format!("{name} {t:?} is not a date (YYYY-MM-DD)"))
            })
            .transpose()
        };
        let when = When {
            at: day(at, what[0])?,
            since: day(since, what[1])?,
            until: day(until, what[2])?,
        };
        if let (Some(s), Some(u)) = (when.since, when.until) {
            if s > u {
                return Err(format!(
                    "{} {s} is after {} {u}: the window is empty",
                    what[1], what[2]
                ));
            }
        }
        Ok(when)
    }
}

/// A filter on relationship properties: keep an edge when it returns true.
pub type EdgeFilter = std::sync::Arc<dyn Fn(RelKind, &EdgeProps) -> bool + Send + Sync>;

/// What a traversal follows and how far.
#[derive(Clone)]
pub struct TraverseSpec {
    /// Relationship kinds to follow, each in a direction.
    pub follow: Vec<(RelKind, Follow)>,
    /// How many hops at most (1 to [`MAX_DEPTH`]).
    pub max_depth: usize,
    /// Only enter nodes of these kinds (`None`: any kind).
    pub node_kinds: Option<Vec<EntityKind>>,
    /// Only follow relationships of these dates (valid on a day, begun in a
    /// window).
    pub when: When,
    /// Only follow relationships this filter accepts.
    pub edge_filter: Option<EdgeFilter>,
    /// Stop after reaching this many nodes (default 10,000).
    pub max_results: usize,
    /// Follow at most this many relationships out of any one node (default 10,000).
    pub max_fanout: usize,
}

impl TraverseSpec {
    /// Follows `kinds` in `direction` up to `max_depth` hops, with default limits.
    pub fn new(kinds: &[RelKind], direction: Follow, max_depth: usize) -> TraverseSpec {
        TraverseSpec {
            follow: kinds.iter().map(|k| (*k, direction)).collect(),
            max_depth,
            node_kinds: None,
            when: When::ANY,
            edge_filter: None,
            max_results: 10_000,
            max_fanout: 10_000,
        }
    }
}

impl std::fmt::Debug for TraverseSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TraverseSpec")
            .field("follow", &self.follow)
            .field("max_depth", &self.max_depth)
            .field("node_kinds", &self.node_kinds)
            .field("when", &self.when)
            .field("edge_filter", &self.edge_filter.is_some())
            .field("max_results", &self.max_results)
            .field("max_fanout", &self.max_fanout)
            .finish()
    }
}

/// One hop of a path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hop {
    /// Where the hop starts.
    pub from: EntityId,
    /// The relationship kind.
    pub kind: RelKind,
    /// `Out` if the relationship points from `from` to `to`.
    pub direction: Direction,
    /// Where the hop ends.
    pub to: EntityId,
    /// The relationship's properties.
    pub props: EdgeProps,
}

/// A node reached, with the (first, shortest) path that reached it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reached {
    /// The node.
    pub id: EntityId,
    /// Hops from the start.
    pub depth: usize,
    /// The hops from the start to it.
    pub path: Vec<Hop>,
}

/// What a traversal found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Traversal {
    /// The start node.
    pub start: EntityId,
    /// Nodes reached, in order of depth (the start is not included).
    pub reached: Vec<Reached>,
    /// Whether a limit (results or fan-out) cut the traversal short.
    pub truncated: bool,
}

/// Why a traversal failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TraverseError {
    /// The start node does not exist.
    #[error("no entity with id {0}")]
    NotFound(EntityId),
    /// The depth asked for exceeds [`MAX_DEPTH`] (or is zero).
    #[error("depth {asked} is out of range: 1 to {max}")]
    TooDeep {
        /// The depth asked for.
        asked: usize,
        /// The maximum.
        max: usize,
    },
    /// A limit is zero or the spec follows nothing.
    #[error("invalid traversal: {0}")]
    Invalid(String),
    /// A read failed.
    #[error(transparent)]
    Read(#[from] ReadError),
}

fn directions(f: Follow) -> &'static [Direction] {
    match f {
        Follow::Out => &[Direction::Out],
        Follow::In => &[Direction::In],
        Follow::Both => &[Direction::Out, Direction::In],
    }
}

impl Db {
    /// Walks the graph breadth-first from `start` as `spec` says. Each node
    /// is reached once (by a shortest path), so cycles end the walk instead
    /// of looping; limits stop it and set `truncated` instead of growing
    /// without bound.
    pub fn traverse(
        &self,
        start: EntityId,
        spec: &TraverseSpec,
    ) -> Result<Traversal, TraverseError> {
        check_spec(spec)?;
        if !self.contains(start)? {
            return Err(TraverseError::NotFound(start));
        }
        // Parent pointers: node -> the hop that reached it.
        let mut seen: HashMap<EntityId, Option<Hop>> = HashMap::new();
        seen.insert(start, None);
        let mut order: Vec<(EntityId, usize)> = vec![(start, 0)];
        let mut queue = VecDeque::from([(start, 0usize)]);
        let mut truncated = false;
        let mut kinds = KindCache::default();
        'walk: while let Some((node, depth)) = queue.pop_front() {
            if depth == spec.max_depth {
                continue;
            }
            let mut followed = 0usize;
            'node: for (kind, follow) in &spec.follow {
                for dir in directions(*follow) {
                    for n in self.neighbours(node, *kind, *dir)? {
                        if !spec.when.admits(&n.props)
                            || spec
                                .edge_filter
                                .as_ref()
                                .is_some_and(|f| !f(n.kind, &n.props))
                            || seen.contains_key(&n.id)
                            || !kinds.admits(self, n.id, spec.node_kinds.as_deref())?
                        {
                            continue;
                        }
                        followed += 1;
                        if followed > spec.max_fanout {
                            truncated = true;
                            break 'node;
                        }
                        if order.len() > spec.max_results {
                            truncated = true;
                            break 'walk;
                        }
                        let hop = Hop {
                            from: node,
                            kind: n.kind,
                            direction: n.direction,
                            to: n.id,
                            props: n.props,
                        };
                        seen.insert(n.id, Some(hop));
                        order.push((n.id, depth + 1));
                        queue.push_back((n.id, depth + 1));
                    }
                }
            }
        }
        Ok(Traversal {
            start,
            reached: paths_back(&order[1..], &seen),
            truncated,
        })
    }
}

/// A spec's depth and limits are in range and it follows something.
fn check_spec(spec: &TraverseSpec) -> Result<(), TraverseError> {
    if spec.max_depth == 0 || spec.max_depth > MAX_DEPTH {
        return Err(TraverseError::TooDeep {
            asked: spec.max_depth,
            max: MAX_DEPTH,
        });
    }
    if spec.follow.is_empty() || spec.max_results == 0 || spec.max_fanout == 0 {
        return Err(TraverseError::Invalid(
            "follow at least one kind, with non-zero limits".into(),
        ));
    }
    Ok(())
}

/// The kinds of the nodes a traversal met, read once each.
#[derive(Default)]
struct KindCache(HashMap<EntityId, Option<EntityKind>>);

impl KindCache {
    /// Whether `id` may be entered: any node when `kinds` is `None`.
    fn admits(
        &mut self,
        db: &Db,
        id: EntityId,
        kinds: Option<&[EntityKind]>,
    ) -> Result<bool, TraverseError> {
        let Some(kinds) = kinds else {
            return Ok(true);
        };
        let k = match self.0.get(&id) {
            Some(k) => *k,
            None => {
                let k = db.get(id)?.map(|e| e.kind);
                self.0.insert(id, k);
                k
            }
        };
        Ok(k.is_some_and(|k| kinds.contains(&k)))
    }
}

/// Each node reached with its path, walked back through the hops that
/// reached each node.
fn paths_back(
    reached: &[(EntityId, usize)],
    seen: &HashMap<EntityId, Option<Hop>>,
) -> Vec<Reached> {
    reached
        .iter()
        .map(|(id, depth)| {
            let mut path = Vec::with_capacity(*depth);
            let mut cur = *id;
            while let Some(Some(hop)) = seen.get(&cur) {
                path.push(hop.clone());
                cur = hop.from;
            }
            path.reverse();
            Reached {
                id: *id,
                depth: *depth,
                path,
            }
        })
        .collect()
}

/// Parses `KIND[:out|in|any]` (any: both ways) into a kind to follow and
/// its direction; `default` when no direction is given.
pub fn parse_follow(db: &Db, text: &str, default: Follow) -> Result<(RelKind, Follow), String> {
    let (name, how) = match text.rsplit_once(':') {
        Some((n, d)) => (n, Some(d)),
        None => (text, None),
    };
    let name = name.trim().to_ascii_uppercase();
    let kind = db
        .relationship_kind(&name)
        .ok_or_else(|| format!("unknown relationship kind {name:?}"))?;
    let follow = match how.map(|d| d.trim().to_ascii_lowercase()) {
        None => default,
        Some(d) if d == "out" => Follow::Out,
        Some(d) if d == "in" => Follow::In,
        Some(d) if d == "any" || d == "both" => Follow::Both,
        Some(d) => return Err(format!("direction {d:?} of {name} must be out, in or any")),
    };
    Ok((kind, follow))
}

/// The relationship kinds a query follows when none are named: every
/// registered kind but identity resolution's (a review link such as
/// `POSSIBLY_SAME` does not connect two customers).
pub fn default_kinds(db: &Db) -> Vec<RelKind> {
    db.relationship_kinds()
        .into_iter()
        .map(|(k, _)| k)
        .filter(|k| !k.is_identity_resolution())
        .collect()
}
