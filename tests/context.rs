//! The customer context: what it assembles, and a cache that is invalidated
//! exactly when anything a context contains changes.

use kith::generate::Rng;
use kith::{
    attrs, Date, Db, Decimal, Direction, EdgeProps, EntityId, EntityKind, NewEntity, Patch,
    RelKind, Timestamp, Value,
};
use std::sync::Arc;

fn dec(s: &str) -> Decimal {
    Decimal::parse(s).unwrap()
}

fn account(db: &Db, product: &str, balance: &str, status: &str) -> EntityId {
    db.create(
        NewEntity::account()
            .attr(attrs::PRODUCT_TYPE, product)
            .attr(attrs::BALANCE, dec(balance))
            .attr(attrs::STATUS, status)
            .attr(attrs::OPENED, Date::parse("2020-01-01").unwrap()),
    )
    .unwrap()
}

struct World {
    db: Db,
    ann: EntityId,
    bob: EntityId,
    hh: EntityId,
    chk: EntityId,
    loan: EntityId,
    employer: EntityId,
}

fn world() -> World {
    let db = Db::temporary().unwrap();
    let ann = db
        .create(
            NewEntity::person()
                .attr(attrs::GIVEN_NAME, "Ann")
                .attr(attrs::FAMILY_NAME, "Lee")
                .attr(attrs::TIER, "gold")
                .identifier("crm", "C-1"),
        )
        .unwrap();
    let rec = db
        .create(
            NewEntity::new(EntityKind::SOURCE_RECORD)
                .attr(attrs::GIVEN_NAME, "Ann")
                .identifier("core_banking", "CB-7"),
        )
        .unwrap();
    db.relate(rec, RelKind::RESOLVES_TO, ann, EdgeProps::new())
        .unwrap();
    let bob = db
        .create(NewEntity::person().attr(attrs::GIVEN_NAME, "Bob"))
        .unwrap();
    let hh = db.create(NewEntity::household()).unwrap();
    db.relate(
        ann,
        RelKind::MEMBER_OF,
        hh,
        EdgeProps::new().attr(attrs::ROLE, "head"),
    )
    .unwrap();
    db.relate(
        bob,
        RelKind::MEMBER_OF,
        hh,
        EdgeProps::new().attr(attrs::ROLE, "member"),
    )
    .unwrap();
    let chk = account(&db, "checking", "100.00", "open");
    let loan = account(&db, "loan", "900.00", "delinquent");
    let old = account(&db, "savings", "0", "closed");
    db.relate(
        ann,
        RelKind::OWNS,
        chk,
        EdgeProps::new().attr(attrs::ROLE, "primary"),
    )
    .unwrap();
    db.relate(
        ann,
        RelKind::OWNS,
        loan,
        EdgeProps::new().attr(attrs::ROLE, "primary"),
    )
    .unwrap();
    db.relate(ann, RelKind::OWNS, old, EdgeProps::new())
        .unwrap();
    let bob_card = account(&db, "card", "50.00", "open");
    db.relate(bob, RelKind::OWNS, bob_card, EdgeProps::new())
        .unwrap();
    let employer = db
        .create(NewEntity::organization().attr(attrs::ORGANIZATION_NAME, "Acme"))
        .unwrap();
    db.relate(ann, RelKind::EMPLOYED_BY, employer, EdgeProps::new())
        .unwrap();
    db.relate(bob, RelKind::GUARANTEES, loan, EdgeProps::new())
        .unwrap();
    db.relate(ann, RelKind::SPOUSE_OF, bob, EdgeProps::new())
        .unwrap();
    for (i, (kind, status)) in [
        ("inquiry", "closed"),
        ("dispute", "open"),
        ("complaint", "closed"),
    ]
    .iter()
    .enumerate()
    {
        db.append_interaction(
            ann,
            NewEntity::new(EntityKind::INTERACTION)
                .attr(attrs::INTERACTION_TYPE, *kind)
                .attr(attrs::STATUS, *status)
                .attr(
                    attrs::OCCURRED_AT,
                    Timestamp::from_micros(1_700_000_000_000_000 + i as i64 * 1_000_000),
                ),
        )
        .unwrap();
    }
    World {
        db,
        ann,
        bob,
        hh,
        chk,
        loan,
        employer,
    }
}

#[test]
fn the_context_assembles_everything_about_a_customer() {
    let w = world();
    let c = w.db.context(w.ann).unwrap();
    assert_eq!(c.customer.id, w.ann);
    // Golden profile with lineage where a source record holds the value.
    let given = c
        .profile
        .iter()
        .find(|p| p.name == attrs::GIVEN_NAME)
        .unwrap();
    assert_eq!(given.value, Value::from("Ann"));
    assert_eq!(
        given.source.as_ref().unwrap().to_string(),
        "core_banking:CB-7"
    );
    let family = c
        .profile
        .iter()
        .find(|p| p.name == attrs::FAMILY_NAME)
        .unwrap();
    assert_eq!(family.source, None);
    let ids: Vec<String> = c.identifiers.iter().map(|x| x.to_string()).collect();
    assert_eq!(ids, vec!["core_banking:CB-7", "crm:C-1"]);
    // Accounts and figures.
    assert_eq!(c.accounts.len(), 3);
    assert_eq!(c.figures.deposits, dec("100.00"));
    assert_eq!(c.figures.credit, dec("900.00"));
    assert_eq!(c.figures.open_products, 2);
    assert_eq!(c.figures.tier.as_deref(), Some("gold"));
    assert!(c.figures.tenure_days.unwrap() > 365);
    // Household with members and totals over every member's accounts.
    assert_eq!(c.households.len(), 1);
    let h = &c.households[0];
    assert_eq!(h.household.id, w.hh);
    assert_eq!(h.role.as_deref(), Some("head"));
    assert_eq!(h.members.len(), 2);
    assert_eq!(h.totals["card"], dec("50.00"));
    assert_eq!(h.totals["loan"], dec("900.00"));
    // Relationships: employer, spouse (out); no accounts or households here.
    let rels: Vec<(RelKind, Direction, EntityId)> = c
        .relationships
        .iter()
        .map(|r| (r.kind, r.direction, r.other.id))
        .collect();
    assert!(rels.contains(&(RelKind::EMPLOYED_BY, Direction::Out, w.employer)));
    assert!(rels.contains(&(RelKind::SPOUSE_OF, Direction::Out, w.bob)));
    assert_eq!(rels.len(), 2, "{rels:?}");
    // Interactions newest first; open items: the delinquent loan and the open dispute.
    let kinds: Vec<&str> = c
        .recent_interactions
        .iter()
        .map(|i| i.text(attrs::INTERACTION_TYPE).unwrap())
        .collect();
    assert_eq!(kinds, vec!["complaint", "dispute", "inquiry"]);
    let open: Vec<&str> = c.open_items.iter().map(|o| o.what.as_str()).collect();
    assert_eq!(open, vec!["delinquent loan account", "open dispute"]);
    // Options: fewer interactions.
    let few =
        w.db.context_uncached(
            w.ann,
            &kith::ContextOptions {
                recent_interactions: 1,
                open_item_window: 100,
            },
        )
        .unwrap();
    assert_eq!(few.recent_interactions.len(), 1);
    assert!(matches!(
        w.db.context(EntityId(424242)),
        Err(kith::ContextError::NotFound(_))
    ));
}

fn fresh(db: &Db, id: EntityId) -> kith::CustomerContext {
    db.context_uncached(id, &kith::ContextOptions::default())
        .unwrap()
}

#[test]
fn the_cache_serves_until_something_in_the_context_changes() {
    let w = world();
    let first = w.db.context(w.ann).unwrap();
    let again = w.db.context(w.ann).unwrap();
    assert!(
        Arc::ptr_eq(&first, &again),
        "second read must come from the cache"
    );
    // A household member's new account.
    let acct = account(&w.db, "savings", "7.00", "open");
    w.db.relate(w.bob, RelKind::OWNS, acct, EdgeProps::new())
        .unwrap();
    let c = w.db.context(w.ann).unwrap();
    assert!(!Arc::ptr_eq(&first, &c));
    assert_eq!(c.households[0].totals["savings"], dec("7.00"));
    assert_eq!(*c, fresh(&w.db, w.ann));
    // A change to a linked account.
    let before = w.db.context(w.ann).unwrap();
    w.db.update(w.chk, Patch::new().set(attrs::BALANCE, dec("5.00")))
        .unwrap();
    let c = w.db.context(w.ann).unwrap();
    assert!(!Arc::ptr_eq(&before, &c));
    assert_eq!(c.figures.deposits, dec("5.00"));
    // A write elsewhere leaves it cached.
    let stranger = w.db.create(NewEntity::person()).unwrap();
    w.db.update(stranger, Patch::new().set("x", 1i64)).unwrap();
    assert!(Arc::ptr_eq(&c, &w.db.context(w.ann).unwrap()));
    // A new relationship to the customer, a new interaction, a deleted employer.
    w.db.relate(stranger, RelKind::GUARANTEES, w.ann, EdgeProps::new())
        .unwrap();
    assert_eq!(*w.db.context(w.ann).unwrap(), fresh(&w.db, w.ann));
    w.db.append_interaction(
        w.ann,
        NewEntity::new(EntityKind::INTERACTION).attr(attrs::STATUS, "open"),
    )
    .unwrap();
    assert_eq!(w.db.context(w.ann).unwrap().recent_interactions.len(), 4);
    w.db.delete(w.employer).unwrap();
    let c = w.db.context(w.ann).unwrap();
    assert!(c.relationships.iter().all(|r| r.other.id != w.employer));
    assert_eq!(*c, fresh(&w.db, w.ann));
    // The loan becomes current: no longer an open item.
    w.db.update(w.loan, Patch::new().set(attrs::STATUS, "open"))
        .unwrap();
    assert!(w
        .db
        .context(w.ann)
        .unwrap()
        .open_items
        .iter()
        .all(|o| o.entity.id != w.loan));
}

#[test]
fn cached_and_fresh_contexts_agree_under_random_updates() {
    for seed in 0..6u64 {
        let db = Db::builder().temporary().context_cache(64).open().unwrap();
        let mut r = Rng::new(seed);
        let mut ids: Vec<EntityId> = Vec::new();
        for i in 0..30 {
            let kind = [
                EntityKind::PERSON,
                EntityKind::ACCOUNT,
                EntityKind::HOUSEHOLD,
                EntityKind::INTERACTION,
            ][i % 4];
            ids.push(
                db.create(
                    NewEntity::new(kind)
                        .attr(attrs::BALANCE, dec("1"))
                        .attr(attrs::PRODUCT_TYPE, "loan"),
                )
                .unwrap(),
            );
        }
        let kinds = [
            RelKind::OWNS,
            RelKind::MEMBER_OF,
            RelKind::GUARANTEES,
            RelKind::HAD_INTERACTION,
            RelKind::SPOUSE_OF,
        ];
        for step in 0..300 {
            let a = *r.pick(&ids);
            let b = *r.pick(&ids);
            match r.below(6) {
                0 | 1 => {
                    let _ = db.relate(
                        a,
                        *r.pick(&kinds),
                        b,
                        EdgeProps::new().attr(attrs::ROLE, "x"),
                    );
                }
                2 => {
                    let _ = db.unrelate(a, *r.pick(&kinds), b);
                }
                3 => {
                    let _ = db.update(
                        a,
                        Patch::new()
                            .set(attrs::BALANCE, Decimal::new(r.below(1000) as i128, 2))
                            .set(attrs::STATUS, *r.pick(&["open", "delinquent", "closed"])),
                    );
                }
                4 => {
                    if r.chance(20) {
                        let _ = db.delete(a);
                        let id = db.create(NewEntity::person()).unwrap();
                        ids.retain(|x| *x != a);
                        ids.push(id);
                    }
                }
                _ => {
                    let _ = db.append_interaction(
                        a,
                        NewEntity::new(EntityKind::INTERACTION).attr(attrs::STATUS, "open"),
                    );
                }
            }
            // Read some contexts through the cache (filling it), then compare all.
            for _ in 0..3 {
                let _ = db.context(*r.pick(&ids));
            }
            for id in &ids {
                if let Ok(cached) = db.context(*id) {
                    assert_eq!(
                        *cached,
                        fresh(&db, *id),
                        "seed {seed} step {step}: stale context of {id}"
                    );
                }
            }
        }
        assert!(db.cached_contexts() <= 64);
    }
}

#[test]
fn concurrent_readers_never_keep_a_stale_context() {
    let w = world();
    let db = w.db.clone();
    let ann = w.ann;
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let db = db.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let _ = db.context(ann).unwrap();
                }
            })
        })
        .collect();
    for i in 0..200 {
        db.update(w.chk, Patch::new().set(attrs::BALANCE, Decimal::new(i, 2)))
            .unwrap();
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for r in readers {
        r.join().unwrap();
    }
    assert_eq!(*db.context(ann).unwrap(), fresh(&db, ann));
    assert_eq!(db.context(ann).unwrap().figures.deposits, dec("1.99"));
}
