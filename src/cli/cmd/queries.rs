//! Relationship queries: `household`, `guarantors`, `group`, `path`, `connected`, `shared`, `graph`.

#[allow(unused_imports)]
use crate::cli::*;

/// Which relationships a query follows by their dates.
#[derive(clap::Args, Clone, Debug, Default)]
pub(crate) struct WhenArgs {
    /// Only relationships valid on this day (YYYY-MM-DD).
    #[arg(long)]
    at: Option<String>,
    /// Only relationships begun on or after this day (YYYY-MM-DD; one
    /// whose first day is unknown is left out).
    #[arg(long)]
    since: Option<String>,
    /// Only relationships begun on or before this day (YYYY-MM-DD; one
    /// whose first day is unknown is left out).
    #[arg(long)]
    until: Option<String>,
}

impl WhenArgs {
    fn when(&self) -> Result<kith::traverse::When, Box<dyn std::error::Error>> {
        Ok(kith::traverse::When::parse(
            self.at.as_deref(),
            self.since.as_deref(),
            self.until.as_deref(),
            ["--at", "--since", "--until"],
        )?)
    }
}

/// Arguments of `kith household`.
#[derive(clap::Args)]
pub(crate) struct HouseholdArgs {
    /// Party or household id.
    id: u64,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    when: WhenArgs,
}

/// `kith household`.
pub(crate) fn household(db: &Db, args: HouseholdArgs) -> CliResult {
    let when = args.when.when()?;
    let views = db.household_on(customer_target(db, args.id)?, &when)?;
    if args.json {
        say!("{}", kith::json::queries::household(db, &views));
    } else {
        show::household(db, &views);
    }
    Ok(0)
}

/// Arguments of `kith guarantors`.
#[derive(clap::Args)]
pub(crate) struct GuarantorsArgs {
    /// Party id.
    id: u64,
    /// How many hops to follow.
    #[arg(long, default_value_t = 7)]
    depth: usize,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    when: WhenArgs,
}

/// `kith guarantors`.
pub(crate) fn guarantors(db: &Db, args: GuarantorsArgs) -> CliResult {
    let when = args.when.when()?;
    let n = db.guarantors_on(customer_target(db, args.id)?, args.depth, &when)?;
    if args.json {
        say!("{}", kith::json::queries::guarantors(db, &n));
    } else {
        show::guarantors(db, &n)?;
    }
    Ok(0)
}

/// Arguments of `kith group`.
#[derive(clap::Args)]
pub(crate) struct GroupArgs {
    /// Organization id.
    id: u64,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    when: WhenArgs,
}

/// `kith group`.
pub(crate) fn group(db: &Db, args: GroupArgs) -> CliResult {
    let when = args.when.when()?;
    let g = db.group_on(
        customer_target(db, args.id)?,
        &when,
        kith::traverse::MAX_GROUP_MEMBERS,
    )?;
    if args.json {
        say!("{}", kith::json::queries::group(&g));
    } else {
        show::group(db, &g)?;
    }
    Ok(0)
}

/// Arguments of `kith owners`.
#[derive(clap::Args)]
pub(crate) struct OwnersArgs {
    /// Organization id.
    id: u64,
    /// Only owners holding at least this many percent (default 25).
    #[arg(long, default_value = "25")]
    min_share: String,
    /// Only persons (the ultimate beneficial owners).
    #[arg(long)]
    persons_only: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    when: WhenArgs,
}

/// A percentage as a fraction (`25` → 0.25), or an error naming the option.
fn percent(text: &str) -> Result<kith::Decimal, Box<dyn std::error::Error>> {
    let pct = kith::Decimal::parse(text.trim().trim_end_matches('%'))
        .map_err(|_| format!("--min-share {text:?} is not a number of percent"))?;
    if pct.mantissa() < 0 {
        return Err(format!("--min-share {text:?} is negative").into());
    }
    Ok(kith::Decimal::new(
        pct.mantissa(),
        pct.scale().saturating_add(2),
    ))
}

/// `kith owners`.
pub(crate) fn owners(db: &Db, args: OwnersArgs) -> CliResult {
    let when = args.when.when()?;
    let fraction = percent(&args.min_share)?;
    let o = db.owners_on(
        customer_target(db, args.id)?,
        fraction,
        args.persons_only,
        &when,
    )?;
    if args.json {
        say!("{}", kith::json::queries::owners(db, &o));
        return Ok(0);
    }
    for w in &o.owners {
        let e = db
            .get(w.id)?
            .map(|e| show::one_line(db, &e))
            .unwrap_or_default();
        let chain: Vec<String> = w
            .chain
            .iter()
            .enumerate()
            .map(|(i, c)| match w.chain_props.get(i) {
                Some(p) => format!("{c}{}", show::bracketed(p)),
                None => c.to_string(),
            })
            .collect();
        say!(
            "{e}  effective {}{}  via {}",
            w.effective_share,
            w.direct_share
                .map(|d| format!(" (direct {d})"))
                .unwrap_or_default(),
            chain.join(" → ")
        );
    }
    if o.owners.is_empty() {
        say!("no owner holds {}% or more", args.min_share);
    }
    if let Some(why) = &o.truncation {
        say!("(truncated: {why})");
    }
    Ok(0)
}

/// Arguments of `kith path`.
#[derive(clap::Args)]
pub(crate) struct PathArgs {
    /// One end.
    a: u64,
    /// The other end.
    b: u64,
    /// Relationship kinds to follow, comma-separated, each with an
    /// optional direction: `GUARANTEES:out,OWNS:any` (`out` along the
    /// relationship, `in` against it, `any` either way, the default).
    /// Default: every kind but identity resolution's, either way.
    #[arg(long)]
    kinds: Option<String>,
    /// Most hops.
    #[arg(long, default_value_t = 6)]
    depth: usize,
    /// Most paths to print.
    #[arg(long, default_value_t = 10)]
    max_paths: usize,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    when: WhenArgs,
}

/// `kith path`.
pub(crate) fn path(db: &Db, args: PathArgs) -> CliResult {
    let when = args.when.when()?;
    let mut spec =
        kith::traverse::PathSpec::new(parse_follows(db, args.kinds.as_deref())?, args.depth);
    spec.max_paths = args.max_paths;
    spec.when = when;
    let (a, b) = (customer_target(db, args.a)?, customer_target(db, args.b)?);
    let paths = kith::traverse::shortest_paths_following(db, a, b, &spec)?;
    if args.json {
        say!("{}", kith::json::queries::paths(db, &paths));
        return Ok(0);
    }
    if paths.paths.is_empty() {
        note!("no path between {a} and {b} within {} hops", args.depth);
        return Ok(1);
    }
    for p in &paths.paths {
        say!("{}", show::path(db, p));
    }
    if paths.truncated {
        say!(
            "(truncated: more shortest paths exist than the {} shown; raise --max-paths)",
            args.max_paths
        );
    }
    Ok(0)
}

/// Arguments of `kith connected`.
#[derive(clap::Args)]
pub(crate) struct ConnectedArgs {
    /// Party id.
    id: u64,
    /// Most hops.
    #[arg(long, default_value_t = 2)]
    depth: usize,
    /// Relationship kinds to follow, comma-separated, each with an
    /// optional direction: `GUARANTEES:out,OWNS:any` (`out` along the
    /// relationship, `in` against it, `any` either way, the default).
    /// Default: every kind but identity resolution's, either way.
    #[arg(long)]
    kinds: Option<String>,
    #[command(flatten)]
    when: WhenArgs,
}

/// `kith connected`.
pub(crate) fn connected(db: &Db, args: ConnectedArgs) -> CliResult {
    let when = args.when.when()?;
    let mut spec = kith::traverse::TraverseSpec::new(&[], kith::traverse::Follow::Both, args.depth);
    spec.follow = parse_follows(db, args.kinds.as_deref())?;
    spec.when = when;
    spec.node_kinds = Some(vec![
        kith::EntityKind::PERSON,
        kith::EntityKind::ORGANIZATION,
    ]);
    let t = db.traverse(customer_target(db, args.id)?, &spec)?;
    for r in &t.reached {
        if let Some(e) = db.get(r.id)? {
            let via = r.path.last().map(|h| show::hop(db, h)).unwrap_or_default();
            say!("{} hop(s)  {}  {via}", r.depth, show::one_line(db, &e));
        }
    }
    if t.truncated {
        say!("(truncated at the traversal limits)");
    }
    Ok(0)
}

/// `kith shared`.
pub(crate) fn shared(db: &Db, id: u64, json: bool) -> CliResult {
    let s = db.shared_identifiers(customer_target(db, id)?)?;
    if json {
        say!("{}", kith::json::queries::shared(&s));
        return Ok(0);
    }
    for x in &s {
        let who = db
            .get(x.id)?
            .map(|e| show::one_line(db, &e))
            .unwrap_or_default();
        say!("{:<8} {:<32} {who}", x.what, x.value);
    }
    Ok(0)
}

/// `kith graph`.
pub(crate) fn graph(db: &Db, id: u64, depth: usize, dot: bool) -> CliResult {
    let _ = dot;
    let text = kith::traverse::neighbourhood_dot(db, customer_target(db, id)?, depth, |n| {
        db.get(n)
            .ok()
            .flatten()
            .map(|e| show::one_line(db, &e))
            .unwrap_or_else(|| n.to_string())
    })?;
    say_raw!("{text}");
    Ok(0)
}
