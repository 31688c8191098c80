//! `kith demo`: a made-up retail bank, and everything kith knows about one customer.

use super::show;
use crate::cli::db_builder;
use kith::generate::{generate_bank, BankConfig, BankSummary};
use kith::{attrs, Db, Direction, Durability, EntityId, EntityKind, Index, NewEntity, RelKind};
use std::path::Path;
use std::time::{Duration, Instant};

/// Generates a bank with a progress bar.
pub fn generate(
    db: &Db,
    persons: u64,
    seed: u64,
    interactions: u64,
) -> Result<BankSummary, kith::Error> {
    let bar = indicatif::ProgressBar::new(persons);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{msg} [{bar:40}] {pos}/{len} persons, {per_sec}, eta {eta}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    bar.set_message("generating");
    let s = generate_bank(
        db,
        &BankConfig {
            persons,
            seed,
            interactions_per_person: interactions,
        },
        |n| {
            if n % 256 == 0 || n == persons {
                bar.set_position(n)
            }
        },
    )?;
    bar.finish_and_clear();
    Ok(s)
}

fn micros(d: Duration) -> String {
    format!("{:>8.1} µs", d.as_secs_f64() * 1e6)
}

fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let t = Instant::now();
    let v = f();
    (v, t.elapsed())
}

/// Picks a customer worth showing: a person with many kinds of relationship.
fn pick_customer(db: &Db) -> Result<Option<EntityId>, kith::Error> {
    let page = db.list(EntityKind::PERSON, None, 3_000)?;
    let mut best = None;
    let mut best_score = 0;
    for id in page.ids {
        let mut score = 0;
        for kind in [
            RelKind::MEMBER_OF,
            RelKind::OWNS,
            RelKind::SPOUSE_OF,
            RelKind::EMPLOYED_BY,
        ] {
            score += db.neighbour_ids(id, kind, Direction::Out)?.len().min(3);
        }
        let guarantees = db
            .neighbour_ids(id, RelKind::GUARANTEES, Direction::In)?
            .len()
            + db.neighbour_ids(id, RelKind::GUARANTEES, Direction::Out)?
                .len();
        score += 3 * guarantees.min(2);
        for acct in db.neighbour_ids(id, RelKind::OWNS, Direction::Out)? {
            if let Some(a) = db.get(acct)? {
                if a.text(attrs::PRODUCT_TYPE) == Some("mortgage") {
                    score += 4;
                }
            }
        }
        if score > best_score {
            best_score = score;
            best = Some(id);
        }
    }
    Ok(best)
}

/// Runs the demo.
pub fn run(dir: &Path, persons: u64, seed: u64, fresh: bool) -> super::CliResult {
    if fresh && dir.exists() {
        std::fs::remove_dir_all(dir)?;
    }
    // A synthetic bulk load: nobody follows it, so it skips the change log
    // (which would hold every generated entity).
    let db = db_builder()
        .path(dir)
        .durability(Durability::Background { every_ms: 500 })
        .change_log(false)
        .open()?;
    build_bank(&db, dir, persons, seed)?;
    let customer = pick_customer(&db)?.ok_or("the demo database holds no persons")?;
    let (person, t_get) = timed(|| db.get(customer));
    let person = person?.ok_or("customer vanished")?;
    println!();
    println!(
        "Everything kith knows about customer {} ({}):",
        customer,
        show::label(&person)
    );
    println!("  get by id {}", micros(t_get));
    println!();
    println!("Profile:");
    for (k, v) in &person.attrs() {
        println!("  {k:<14} {v}");
    }
    println!();
    show_lookups(&db, &person)?;
    show_household(&db, customer)?;
    show_accounts(&db, customer)?;
    show_relationships(&db, customer)?;
    show_interactions(&db, customer)?;
    show_context(&db, customer)?;
    drop(db);
    show_rule_firing(dir, customer)?;
    println!();
    println!("Try: kith --db {} context {customer}", dir.display());
    println!(
        "Try: kith --db {} ui   then open http://127.0.0.1:8080/party/{customer}",
        dir.display()
    );
    println!(
        "Try: kith --db {} get {customer}   |   kith --db {} stats   |   kith --db {} check",
        dir.display(),
        dir.display(),
        dir.display()
    );
    Ok(0)
}

type Shown = Result<(), Box<dyn std::error::Error>>;

/// Builds the bank unless the directory holds one.
fn build_bank(db: &Db, dir: &Path, persons: u64, seed: u64) -> Shown {
    let existing = db.list(EntityKind::PERSON, None, 1)?.ids.len();
    if existing == 0 {
        println!(
            "Building a made-up retail bank of {persons} customers in {} …",
            dir.display()
        );
        let t = Instant::now();
        let s = generate(db, persons, seed, 2)?;
        db.flush()?;
        println!(
            "  {} persons, {} organizations, {} households, {} accounts, {} interactions, {} relationships in {:.1} s",
            s.persons, s.organizations, s.households, s.accounts, s.interactions, s.relationships,
            t.elapsed().as_secs_f64()
        );
    } else {
        println!(
            "Using the demo bank already in {} (--fresh rebuilds it).",
            dir.display()
        );
    }
    Ok(())
}

/// Each identifier looked up, and finds by email and phone, timed.
fn show_lookups(db: &Db, person: &kith::Entity) -> Shown {
    let identifiers = person.identifiers();
    println!("Known to {} source systems:", identifiers.len());
    for x in &identifiers {
        let (found, t) = timed(|| db.lookup(&x.system, &x.key));
        println!(
            "  {:<28} lookup {}  -> {:?}",
            x.to_string(),
            micros(t),
            found?.map(|i| i.0)
        );
    }
    if let Some(email) = person.text(attrs::EMAIL) {
        let (found, t) = timed(|| db.find(Index::Email, &email.to_uppercase()));
        println!(
            "  find by email (case-folded)   {}  -> {:?}",
            micros(t),
            found?.iter().map(|i| i.0).collect::<Vec<_>>()
        );
    }
    let (found, t) = timed(|| {
        db.find(
            Index::Phone,
            &person
                .attr(attrs::PHONE)
                .map(|v| v.texts().last().map(|s| s.to_string()).unwrap_or_default())
                .unwrap_or_default(),
        )
    });
    println!(
        "  find by home phone            {}  -> {} people share it",
        micros(t),
        found?.len()
    );

    Ok(())
}

/// The household, members with roles, timed.
fn show_household(db: &Db, customer: EntityId) -> Shown {
    let (hh, t) = timed(|| db.neighbours(customer, RelKind::MEMBER_OF, Direction::Out));
    println!();
    println!("Household ({}):", micros(t).trim());
    for h in hh? {
        let (members, t) = timed(|| db.neighbours(h.id, RelKind::MEMBER_OF, Direction::In));
        let members = members?;
        println!(
            "  household {} — {} members, read in {}",
            h.id,
            members.len(),
            micros(t).trim()
        );
        for m in members {
            if let Some(e) = db.get(m.id)? {
                let role = m
                    .props
                    .attrs
                    .get(attrs::ROLE)
                    .map(|v| v.to_string())
                    .unwrap_or_default();
                println!("    {:<8} {}", role, show::one_line(db, &e));
            }
        }
    }
    Ok(())
}

/// The accounts with roles, co-owners and guarantors, timed.
fn show_accounts(db: &Db, customer: EntityId) -> Shown {
    let (owned, t) = timed(|| db.neighbours(customer, RelKind::OWNS, Direction::Out));
    println!();
    println!("Accounts ({}):", micros(t).trim());
    for a in owned? {
        if let Some(acct) = db.get(a.id)? {
            let role = a
                .props
                .attrs
                .get(attrs::ROLE)
                .map(|v| v.to_string())
                .unwrap_or_default();
            let co: Vec<String> = db
                .neighbours(a.id, RelKind::OWNS, Direction::In)?
                .into_iter()
                .filter(|o| o.id != customer)
                .map(|o| o.id.to_string())
                .collect();
            let guarantors = db.neighbour_ids(a.id, RelKind::GUARANTEES, Direction::In)?;
            print!("  {:<8} {}", role, show::label(&acct));
            if !co.is_empty() {
                print!("  co-owners {}", co.join(","));
            }
            if !guarantors.is_empty() {
                print!(
                    "  guaranteed by {}",
                    guarantors
                        .iter()
                        .map(|g| g.to_string())
                        .collect::<Vec<_>>()
                        .join(",")
                );
            }
            println!();
        }
    }
    Ok(())
}

/// Every other relationship, both ways, timed.
fn show_relationships(db: &Db, customer: EntityId) -> Shown {
    println!();
    println!("Other relationships:");
    for dir in [Direction::Out, Direction::In] {
        let (edges, t) = timed(|| db.edges(customer, dir));
        for n in edges? {
            if matches!(n.kind, k if k == RelKind::OWNS || k == RelKind::MEMBER_OF || k == RelKind::HAD_INTERACTION)
            {
                continue;
            }
            let name = db.relationship_kind_name(n.kind).unwrap_or_default();
            let other = db
                .get(n.id)?
                .map(|o| show::one_line(db, &o))
                .unwrap_or_default();
            let arrow = if dir == Direction::Out { "->" } else { "<-" };
            println!("  {arrow} {name:<12} {other}");
        }
        println!(
            "  (all {} edges read in {})",
            if dir == Direction::Out {
                "outgoing"
            } else {
                "incoming"
            },
            micros(t).trim()
        );
    }
    Ok(())
}

/// The interactions, timed.
fn show_interactions(db: &Db, customer: EntityId) -> Shown {
    let (its, t) = timed(|| db.neighbours(customer, RelKind::HAD_INTERACTION, Direction::Out));
    println!();
    println!("Interactions ({}):", micros(t).trim());
    for i in its? {
        if let Some(e) = db.get(i.id)? {
            println!("  {}", show::label(&e));
        }
    }
    Ok(())
}

/// The demo bank's rules file (`docs/rules/large-withdrawal.toml`).
const DEMO_RULES: &str = include_str!("../../docs/rules/large-withdrawal.toml");

/// A platinum customer the rule has not called yet: `shown` if it is one.
fn platinum_customer(db: &Db, shown: EntityId) -> Result<Option<EntityId>, kith::Error> {
    let eligible = |id: EntityId| -> Result<bool, kith::Error> {
        Ok(db.get(id)?.is_some_and(|e| {
            e.text(attrs::TIER) == Some("platinum") && e.text("next_best_action").is_none()
        }))
    };
    if eligible(shown)? {
        return Ok(Some(shown));
    }
    for id in db.list(EntityKind::PERSON, None, 10_000)?.ids {
        if eligible(id)? {
            return Ok(Some(id));
        }
    }
    Ok(None)
}

/// The customer's banker (`MANAGED_BY`): the demo bank's one banker.
fn banker_of(db: &Db, customer: EntityId) -> Result<EntityId, kith::Error> {
    let managed_by = db.register_relationship_kind("MANAGED_BY")?;
    let banker = match db.lookup("staff", "B-001")? {
        Some(b) => b,
        None => db.create(
            NewEntity::person()
                .attr(attrs::GIVEN_NAME, "Robin")
                .attr(attrs::FAMILY_NAME, "Banker")
                .attr(attrs::STATUS, "staff")
                .identifier("staff", "B-001"),
        )?,
    };
    if db
        .neighbour_ids(customer, managed_by, Direction::Out)?
        .is_empty()
    {
        db.relate(customer, managed_by, banker, kith::EdgeProps::new())?;
    }
    Ok(banker)
}

/// One interaction rule firing: the demo bank's rules file is loaded, a
/// platinum customer withdraws $12,500, and the action that appeared on
/// the actions stream is printed.
fn show_rule_firing(dir: &Path, shown: EntityId) -> Shown {
    let db = db_builder().path(dir).open()?;
    let Some(customer) = platinum_customer(&db, shown)? else {
        println!(
            "\nRules: no platinum customer left whom the rule has not called (run with --fresh)"
        );
        return Ok(());
    };
    let banker = banker_of(&db, customer)?;
    let names = db.load_rules(DEMO_RULES)?;
    println!();
    println!(
        "Rules: loaded {} (docs/rules/large-withdrawal.toml)",
        names.join(", ")
    );
    let before = db.changes().last();
    let started = std::time::Instant::now();
    db.append_interaction(
        customer,
        NewEntity::new(EntityKind::INTERACTION)
            .attr(attrs::INTERACTION_TYPE, "withdrawal")
            .attr(attrs::CHANNEL, "branch")
            .attr(attrs::SUMMARY, "cash withdrawal")
            .attr(attrs::AMOUNT, kith::Decimal::parse("12500.00")?),
    )?;
    println!("  customer {customer} (platinum) withdraws $12,500.00 at a branch");
    let caught_up = db.wait_for_rules(std::time::Duration::from_secs(5));
    let took = started.elapsed();
    let actions = db.actions().read_after(before, 10)?;
    if !caught_up || actions.is_empty() {
        println!("  no action appeared (rules caught up: {caught_up})");
        return Ok(());
    }
    for a in &actions {
        if let kith::Change::ActionRaised {
            rule,
            why,
            fields,
            effects,
            ..
        } = &a.change
        {
            println!(
                "  action {} on kith:actions, {} after the withdrawal was sent:",
                a.id,
                micros(took).trim()
            );
            println!("    rule     {rule}");
            for (k, v) in fields {
                println!("    {k:<8} {v}");
            }
            let why: Vec<String> = why.iter().map(|(k, v)| format!("{k} = {v}")).collect();
            println!("    because  {}", why.join(", "));
            for e in effects {
                println!("    did      {e}");
            }
        }
    }
    println!(
        "  (banker {banker}; see `kith --db {} rules actions`)",
        dir.display()
    );
    Ok(())
}

/// The whole context, assembled and from the cache, timed.
fn show_context(db: &Db, customer: EntityId) -> Shown {
    let (ctx, t_uncached) = timed(|| db.context(customer));
    let ctx = ctx?;
    let (_, t_cached) = timed(|| db.context(customer));
    println!();
    println!(
        "The whole customer context ({} accounts, {} households, {} relationships, {} interactions, {} open items):",
        ctx.accounts.len(),
        ctx.households.len(),
        ctx.relationships.len(),
        ctx.recent_interactions.len(),
        ctx.open_items.len()
    );
    println!(
        "  assembled {}   from the context cache {}",
        micros(t_uncached),
        micros(t_cached)
    );
    Ok(())
}
