//! `kith demo`: a made-up retail bank, and everything kith knows about one customer.

use super::show;
use kith::generate::{generate_bank, BankConfig, BankSummary};
use kith::{attrs, Db, Direction, Durability, EntityId, EntityKind, Index, RelKind};
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
    let db = Db::builder()
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
    println!();
    println!("Try: kith --db {} context {customer}", dir.display());
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
