//! Traversal and the domain queries, on hand-built graphs whose answers are known.

use kith::traverse::{shortest_paths, Follow, TraverseError, TraverseSpec, When, MAX_DEPTH};
use kith::{attrs, Date, Db, Decimal, EdgeProps, EntityId, EntityKind, NewEntity, RelKind};
use std::collections::BTreeSet;

fn dec(s: &str) -> Decimal {
    Decimal::parse(s).unwrap()
}

fn account(db: &Db, product: &str, balance: &str) -> EntityId {
    db.create(
        NewEntity::account()
            .attr(attrs::PRODUCT_TYPE, product)
            .attr(attrs::BALANCE, dec(balance)),
    )
    .unwrap()
}

fn person(db: &Db, name: &str) -> EntityId {
    db.create(
        NewEntity::person()
            .attr(attrs::GIVEN_NAME, name)
            .attr(attrs::EMAIL, format!("{}@example.com", name.to_lowercase())),
    )
    .unwrap()
}

fn rel(db: &Db, a: EntityId, k: RelKind, b: EntityId, p: EdgeProps) {
    db.relate(a, k, b, p).unwrap();
}

fn role(r: &str) -> EdgeProps {
    EdgeProps::new().attr(attrs::ROLE, r)
}

struct Bank {
    db: Db,
    ann: EntityId,
    bob: EntityId,
    carl: EntityId,
    dana: EntityId,
    eve: EntityId,
    hh: EntityId,
    l1: EntityId,
    l2: EntityId,
}

fn bank() -> Bank {
    let db = Db::temporary().unwrap();
    let hh = db
        .create(NewEntity::household().attr(attrs::NAME, "Lee household"))
        .unwrap();
    let ann = db
        .create(
            NewEntity::person()
                .attr(attrs::GIVEN_NAME, "Ann")
                .attr(attrs::EMAIL, "ann@example.com")
                .attr(attrs::PHONE, "555 010 0001")
                .attr(attrs::HOUSE_NUMBER, "12")
                .attr(attrs::STREET, "Oak Ave")
                .attr(attrs::POSTAL_CODE, "62701"),
        )
        .unwrap();
    let bob = db
        .create(
            NewEntity::person()
                .attr(attrs::GIVEN_NAME, "Bob")
                .attr(attrs::PHONE, "(555) 010-0001")
                .attr(attrs::HOUSE_NUMBER, "12")
                .attr(attrs::STREET, "oak ave")
                .attr(attrs::POSTAL_CODE, "62701"),
        )
        .unwrap();
    rel(&db, ann, RelKind::MEMBER_OF, hh, role("head"));
    rel(&db, bob, RelKind::MEMBER_OF, hh, role("member"));
    let a1 = account(&db, "checking", "100.00");
    let m1 = account(&db, "mortgage", "200000.00");
    let c1 = account(&db, "card", "50.50");
    rel(&db, ann, RelKind::OWNS, a1, role("primary"));
    rel(&db, ann, RelKind::OWNS, m1, role("primary"));
    rel(&db, bob, RelKind::OWNS, m1, role("joint"));
    rel(&db, bob, RelKind::OWNS, c1, role("primary"));

    let carl = person(&db, "Carl");
    let dana = person(&db, "Dana");
    let eve = person(&db, "Eve");
    let l1 = account(&db, "loan", "1000.00");
    let l2 = account(&db, "loan", "2000.00");
    let s = account(&db, "savings", "500.00");
    rel(&db, eve, RelKind::OWNS, l1, role("primary"));
    rel(&db, eve, RelKind::OWNS, l2, role("primary"));
    rel(&db, eve, RelKind::OWNS, s, role("primary"));
    let g = |amount: &str| EdgeProps::new().attr(attrs::AMOUNT, dec(amount));
    rel(
        &db,
        carl,
        RelKind::GUARANTEES,
        ann,
        g("5000").valid(None, Date::parse("2020-12-31").ok()),
    );
    rel(&db, dana, RelKind::GUARANTEES, carl, g("5000"));
    rel(&db, ann, RelKind::GUARANTEES, l1, g("1000"));
    rel(&db, ann, RelKind::GUARANTEES, eve, g("3000"));
    rel(&db, eve, RelKind::GUARANTEES, dana, g("10")); // closes a cycle
    Bank {
        db,
        ann,
        bob,
        carl,
        dana,
        eve,
        hh,
        l1,
        l2,
    }
}

#[test]
fn household_lists_members_accounts_and_totals_counting_joint_accounts_once() {
    let b = bank();
    let views = b.db.household(b.ann).unwrap();
    assert_eq!(views.len(), 1);
    let v = &views[0];
    assert_eq!(v.household.id, b.hh);
    let members: Vec<(EntityId, Option<String>, usize)> = v
        .members
        .iter()
        .map(|m| (m.person.id, m.role.clone(), m.accounts.len()))
        .collect();
    assert_eq!(
        members,
        vec![
            (b.ann, Some("head".into()), 2),
            (b.bob, Some("member".into()), 2)
        ]
    );
    assert_eq!(v.totals["checking"], dec("100.00"));
    assert_eq!(v.totals["mortgage"], dec("200000.00"));
    assert_eq!(v.totals["card"], dec("50.50"));
    assert_eq!(v.totals.len(), 3);
    // Asking with the household itself gives the same view.
    assert_eq!(b.db.household(b.hh).unwrap(), views);
    // A party in no household has none.
    assert!(b.db.household(b.carl).unwrap().is_empty());
    assert!(matches!(
        b.db.household(EntityId(999)),
        Err(TraverseError::NotFound(_))
    ));
}

#[test]
fn guarantor_network_follows_chains_and_cycles_with_exposure() {
    let b = bank();
    let n = b.db.guarantors(b.ann, 7).unwrap();
    let ids = |v: &[kith::traverse::GuarantorLink]| v.iter().map(|l| l.id).collect::<BTreeSet<_>>();
    assert_eq!(
        ids(&n.guarantees),
        BTreeSet::from([b.l1, b.eve, b.dana, b.carl])
    );
    assert_eq!(
        ids(&n.guaranteed_by),
        BTreeSet::from([b.carl, b.dana, b.eve])
    );
    let dana = n.guarantees.iter().find(|l| l.id == b.dana).unwrap();
    assert_eq!(dana.depth, 2);
    assert_eq!(dana.chain, vec![b.ann, b.eve, b.dana]);
    // The properties of each relationship crossed, in chain order.
    assert_eq!(dana.props.len(), 2);
    let direct =
        b.db.neighbours(b.ann, RelKind::GUARANTEES, kith::Direction::Out)
            .unwrap()
            .into_iter()
            .find(|x| x.id == b.eve)
            .unwrap();
    assert_eq!(dana.props[0], direct.props);
    // L1 guaranteed directly, L2 owned by Eve whom Ann guarantees; savings excluded.
    assert_eq!(n.exposed_accounts, vec![b.l1, b.l2]);
    assert_eq!(n.total_exposure, dec("3000.00"));
    assert!(!n.truncated);
    let one = b.db.guarantors(b.ann, 1).unwrap();
    assert_eq!(ids(&one.guarantees), BTreeSet::from([b.l1, b.eve]));
    assert_eq!(ids(&one.guaranteed_by), BTreeSet::from([b.carl]));
    assert!(matches!(
        b.db.guarantors(b.ann, MAX_DEPTH + 1),
        Err(TraverseError::TooDeep { .. })
    ));
}

#[test]
fn corporate_group_with_effective_shares_over_every_path_and_exposure() {
    let db = Db::temporary().unwrap();
    let org = |n: &str| {
        db.create(NewEntity::organization().attr(attrs::ORGANIZATION_NAME, n))
            .unwrap()
    };
    let (p, s1, s2, s3) = (org("P"), org("S1"), org("S2"), org("S3"));
    let share = |s: &str| EdgeProps::new().attr(attrs::SHARE, dec(s));
    rel(&db, s1, RelKind::SUBSIDIARY_OF, p, share("0.60"));
    rel(&db, s2, RelKind::SUBSIDIARY_OF, p, share("1"));
    rel(&db, s3, RelKind::SUBSIDIARY_OF, s1, share("0.5"));
    rel(&db, s3, RelKind::SUBSIDIARY_OF, s2, share("0.25"));
    let loan = account(&db, "loan", "1000.00");
    let mtg = account(&db, "mortgage", "500.00");
    let chk = account(&db, "checking", "99.00");
    rel(&db, s1, RelKind::OWNS, loan, EdgeProps::new());
    rel(&db, s3, RelKind::OWNS, mtg, EdgeProps::new());
    rel(&db, p, RelKind::OWNS, chk, EdgeProps::new());
    let g = db.group(s3).unwrap();
    assert_eq!(g.parents, vec![s1, p]);
    assert_eq!(g.ultimate_parent, p);
    let members: Vec<(EntityId, usize, Decimal)> = g
        .members
        .iter()
        .map(|m| (m.id, m.depth, m.effective_share))
        .collect();
    assert_eq!(members.len(), 4);
    assert_eq!(members[0], (p, 0, dec("1")));
    let share_of = |id| members.iter().find(|m| m.0 == id).unwrap().2;
    assert_eq!(share_of(s1), dec("0.6"));
    assert_eq!(share_of(s2), dec("1"));
    assert_eq!(share_of(s3), dec("0.55"));
    assert_eq!(g.consolidated_exposure, dec("1500.00"));
    // The same group from the top.
    assert_eq!(db.group(p).unwrap().members, g.members);
    // An ownership cycle does not loop.
    rel(&db, p, RelKind::SUBSIDIARY_OF, s3, share("0.01"));
    let cyc = db.group(s1).unwrap();
    assert!(cyc.members.len() == 4, "{cyc:?}");
}

#[test]
fn shortest_paths_and_k_hop_connections() {
    let b = bank();
    let kinds = [RelKind::GUARANTEES];
    assert_eq!(
        shortest_paths(&b.db, b.ann, b.eve, &kinds, 4, 10).unwrap(),
        vec![vec![b.ann, b.eve]]
    );
    let two = shortest_paths(&b.db, b.ann, b.dana, &kinds, 4, 10).unwrap();
    assert_eq!(two.len(), 2);
    assert!(two.contains(&vec![b.ann, b.eve, b.dana]));
    assert!(two.contains(&vec![b.ann, b.carl, b.dana]));
    // Not connected within the depth, or by those kinds.
    assert!(shortest_paths(&b.db, b.ann, b.bob, &kinds, 4, 10)
        .unwrap()
        .is_empty());
    let via_household = shortest_paths(
        &b.db,
        b.ann,
        b.bob,
        &[RelKind::MEMBER_OF, RelKind::OWNS],
        4,
        10,
    )
    .unwrap();
    assert_eq!(via_household.len(), 2, "{via_household:?}"); // through the household and through the mortgage
                                                             // Parties within 2 hops by GUARANTEES, either way.
    let mut spec = TraverseSpec::new(&kinds, Follow::Both, 2);
    spec.node_kinds = Some(vec![EntityKind::PERSON, EntityKind::ORGANIZATION]);
    let t = b.db.traverse(b.ann, &spec).unwrap();
    let got: BTreeSet<EntityId> = t.reached.iter().map(|r| r.id).collect();
    assert_eq!(got, BTreeSet::from([b.carl, b.dana, b.eve]));
}

#[test]
fn traversal_filters_limits_and_paths() {
    let b = bank();
    // Validity: Carl's guarantee ended in 2020.
    let mut spec = TraverseSpec::new(&[RelKind::GUARANTEES], Follow::In, 3);
    spec.when = When::on(Date::parse("2024-01-01").ok());
    let t = b.db.traverse(b.ann, &spec).unwrap();
    assert!(t.reached.is_empty(), "{t:?}");
    spec.when = When::on(Date::parse("2019-01-01").ok());
    assert_eq!(b.db.traverse(b.ann, &spec).unwrap().reached.len(), 3);
    // Edge property filter: guarantees of at least 1000.
    let mut spec = TraverseSpec::new(&[RelKind::GUARANTEES], Follow::Out, 5);
    spec.edge_filter = Some(std::sync::Arc::new(|_, p| {
        p.attrs
            .get(attrs::AMOUNT)
            .and_then(|v| v.as_decimal())
            .is_some_and(|a| a >= dec("1000"))
    }));
    let got: BTreeSet<EntityId> =
        b.db.traverse(b.ann, &spec)
            .unwrap()
            .reached
            .iter()
            .map(|r| r.id)
            .collect();
    assert_eq!(got, BTreeSet::from([b.l1, b.eve]));
    // Paths record each hop.
    let spec = TraverseSpec::new(&[RelKind::GUARANTEES], Follow::Out, 5);
    let t = b.db.traverse(b.ann, &spec).unwrap();
    let carl = t.reached.iter().find(|r| r.id == b.carl).unwrap();
    let hops: Vec<(EntityId, EntityId)> = carl.path.iter().map(|h| (h.from, h.to)).collect();
    assert_eq!(
        hops,
        vec![(b.ann, b.eve), (b.eve, b.dana), (b.dana, b.carl)]
    );
    assert_eq!(carl.depth, 3);
    // Limits report truncation instead of growing.
    let mut spec = TraverseSpec::new(&[RelKind::GUARANTEES], Follow::Both, 5);
    spec.max_results = 2;
    let t = b.db.traverse(b.ann, &spec).unwrap();
    assert_eq!(t.reached.len(), 2);
    assert!(t.truncated);
    let mut spec = TraverseSpec::new(&[RelKind::OWNS], Follow::Out, 1);
    spec.max_fanout = 1;
    let t = b.db.traverse(b.ann, &spec).unwrap();
    assert_eq!(t.reached.len(), 1);
    assert!(t.truncated);
    // Bad specs.
    assert!(matches!(
        b.db.traverse(b.ann, &TraverseSpec::new(&[RelKind::OWNS], Follow::Out, 0)),
        Err(TraverseError::TooDeep { .. })
    ));
    assert!(matches!(
        b.db.traverse(
            b.ann,
            &TraverseSpec::new(&[RelKind::OWNS], Follow::Out, MAX_DEPTH + 1)
        ),
        Err(TraverseError::TooDeep { .. })
    ));
    assert!(matches!(
        b.db.traverse(b.ann, &TraverseSpec::new(&[], Follow::Out, 2)),
        Err(TraverseError::Invalid(_))
    ));
    assert!(matches!(
        b.db.traverse(EntityId(999), &spec),
        Err(TraverseError::NotFound(_))
    ));
}

#[test]
fn shared_identifiers_find_household_phone_and_address_and_email() {
    let b = bank();
    let frank =
        b.db.create(NewEntity::person().attr(attrs::EMAIL, " ANN@example.com"))
            .unwrap();
    let shared = b.db.shared_identifiers(b.ann).unwrap();
    let got: BTreeSet<(EntityId, &str)> = shared.iter().map(|s| (s.id, s.what)).collect();
    assert_eq!(
        got,
        BTreeSet::from([(b.bob, "phone"), (b.bob, "address"), (frank, "email")])
    );
    assert!(b.db.shared_identifiers(b.dana).unwrap().is_empty());
}

#[test]
fn dot_output_draws_the_neighbourhood() {
    let b = bank();
    let dot =
        kith::traverse::neighbourhood_dot(&b.db, b.ann, 1, |id| format!("entity {id}")).unwrap();
    assert!(dot.starts_with("digraph kith {"));
    assert!(dot.contains(&format!(
        "n{} [label=\"entity {}\", style=bold]",
        b.ann.0, b.ann.0
    )));
    assert!(dot.contains(&format!(
        "n{} -> n{} [label=\"MEMBER_OF\"]",
        b.ann.0, b.hh.0
    )));
    assert!(dot.contains(&format!(
        "n{} -> n{} [label=\"GUARANTEES\"]",
        b.carl.0, b.ann.0
    )));
    assert!(
        !dot.contains(&format!("n{} ", b.dana.0)),
        "depth 1 must not reach Dana"
    );
    assert!(dot.trim_end().ends_with('}'));
}

#[test]
fn corporate_groups_of_any_depth_with_cross_holdings_solved() {
    let db = Db::temporary().unwrap();
    let org = |n: String| {
        db.create(NewEntity::organization().attr(attrs::ORGANIZATION_NAME, n))
            .unwrap()
    };
    let share = |s: &str| EdgeProps::new().attr(attrs::SHARE, dec(s));
    // A chain 25 deep, each holding 90% of the next: every member found, at
    // its depth, with 0.9^depth.
    let top = org("top".into());
    let mut chain = vec![top];
    for i in 1..=25 {
        let c = org(format!("c{i}"));
        rel(
            &db,
            c,
            RelKind::SUBSIDIARY_OF,
            *chain.last().unwrap(),
            share("0.9"),
        );
        chain.push(c);
    }
    let g = db.group(chain[20]).unwrap();
    assert_eq!(g.ultimate_parent, top);
    assert_eq!(g.parents.len(), 20);
    assert_eq!(g.members.len(), 26, "no hidden depth limit");
    assert!(!g.truncated && g.truncation.is_none());
    let deepest = g.members.iter().find(|m| m.id == chain[25]).unwrap();
    assert_eq!(deepest.depth, 25);
    let want = 0.9f64.powi(25);
    let got: f64 = deepest.effective_share.to_string().parse().unwrap();
    assert!((got - want).abs() < 1e-9, "{got} against {want}");
    // Cross-holdings: top holds 50% of b; b holds 30% of c; c holds 20% of
    // b. e(b) = 0.5 + 0.2 e(c), e(c) = 0.3 e(b): e(b) = 0.5 / 0.94.
    let (b, c) = (org("b".into()), org("c".into()));
    rel(&db, b, RelKind::SUBSIDIARY_OF, top, share("0.5"));
    rel(&db, c, RelKind::SUBSIDIARY_OF, b, share("0.3"));
    rel(&db, b, RelKind::SUBSIDIARY_OF, c, share("0.2"));
    let g = db.group(top).unwrap();
    let e = |id| -> f64 {
        g.members
            .iter()
            .find(|m| m.id == id)
            .unwrap()
            .effective_share
            .to_string()
            .parse()
            .unwrap()
    };
    assert!((e(b) - 0.5 / 0.94).abs() < 1e-9, "{}", e(b));
    assert!((e(c) - 0.3 * 0.5 / 0.94).abs() < 1e-9, "{}", e(c));
    assert!(!g.truncated);
    // A limit cuts the group and says so.
    let cut = db.group_on(top, &When::ANY, 10).unwrap();
    assert_eq!(cut.members.len(), 10);
    assert!(cut.truncated);
    assert!(cut.truncation.unwrap().contains("more than 10 members"));
}

#[test]
fn queries_do_not_cross_identity_resolution_links_unless_asked() {
    let db = Db::temporary().unwrap();
    let a = db.create(NewEntity::organization()).unwrap();
    let b = db.create(NewEntity::organization()).unwrap();
    rel(&db, a, RelKind::POSSIBLY_SAME, b, EdgeProps::new());
    let kinds = kith::traverse::default_kinds(&db);
    for k in [
        RelKind::RESOLVES_TO,
        RelKind::POSSIBLY_SAME,
        RelKind::SAME_AS,
        RelKind::NOT_SAME,
    ] {
        assert!(!kinds.contains(&k), "{k} followed by default");
    }
    assert!(kinds.contains(&RelKind::GUARANTEES));
    assert!(shortest_paths(&db, a, b, &kinds, 4, 10).unwrap().is_empty());
    // Named, it is followed.
    assert_eq!(
        shortest_paths(&db, a, b, &[RelKind::POSSIBLY_SAME], 4, 10).unwrap(),
        vec![vec![a, b]]
    );
}

#[test]
fn paths_follow_each_kind_in_its_direction() {
    use kith::traverse::{parse_follow, shortest_paths_following, Follow, PathSpec};
    let nodes = |db: &Db, x, y, f: &[(RelKind, Follow)]| -> Vec<Vec<EntityId>> {
        shortest_paths_following(db, x, y, &PathSpec::new(f.to_vec(), 6))
            .unwrap()
            .paths
            .into_iter()
            .map(|p| p.nodes)
            .collect()
    };
    let db = Db::temporary().unwrap();
    let p = |_: u8| db.create(NewEntity::person()).unwrap();
    let (a, b, c) = (p(0), p(1), p(2));
    rel(&db, a, RelKind::GUARANTEES, b, EdgeProps::new());
    rel(&db, b, RelKind::GUARANTEES, c, EdgeProps::new());
    let out = [parse_follow(&db, "guarantees:out", Follow::Both).unwrap()];
    let inn = [parse_follow(&db, "GUARANTEES:in", Follow::Both).unwrap()];
    let any = [parse_follow(&db, "GUARANTEES", Follow::Both).unwrap()];
    assert_eq!(out[0], (RelKind::GUARANTEES, Follow::Out));
    assert_eq!(nodes(&db, a, c, &out), vec![vec![a, b, c]]);
    assert!(nodes(&db, c, a, &out).is_empty(), "against the guarantees");
    assert_eq!(nodes(&db, c, a, &inn), vec![vec![c, b, a]]);
    assert_eq!(nodes(&db, c, a, &any), vec![vec![c, b, a]]);
    assert!(parse_follow(&db, "GUARANTEES:up", Follow::Both)
        .unwrap_err()
        .contains("out, in or any"));
    assert!(parse_follow(&db, "NOPE", Follow::Both).is_err());
}

#[test]
fn owners_direct_and_indirect_with_cross_holdings_solved() {
    let db = Db::temporary().unwrap();
    let org = |n: &str| {
        db.create(NewEntity::organization().attr(attrs::ORGANIZATION_NAME, n))
            .unwrap()
    };
    let share = |s: &str| EdgeProps::new().attr(attrs::SHARE, dec(s));
    let (t, a, b) = (org("T"), org("A"), org("B"));
    let p = db.create(NewEntity::person()).unwrap();
    let q = db.create(NewEntity::person()).unwrap();
    rel(&db, t, RelKind::SUBSIDIARY_OF, a, share("0.6"));
    rel(&db, t, RelKind::SUBSIDIARY_OF, b, share("0.4"));
    rel(&db, b, RelKind::SUBSIDIARY_OF, a, share("0.3")); // A holds 30% of B
    rel(&db, a, RelKind::SUBSIDIARY_OF, b, share("0.2")); // B holds 20% of A
    rel(&db, p, RelKind::OWNS, a, share("0.5"));
    rel(&db, q, RelKind::OWNS, b, share("0.7"));
    // f(A) = 0.6 + 0.3 f(B), f(B) = 0.4 + 0.2 f(A): f(A) = 0.72 / 0.94.
    let fa = 0.72 / 0.94;
    let fb = 0.4 + 0.2 * fa;
    let as_f = |d: Decimal| -> f64 { d.to_string().parse().unwrap() };
    let all = db.owners(t, Decimal::ZERO, false).unwrap();
    assert!(!all.truncated);
    let got: std::collections::HashMap<EntityId, f64> = all
        .owners
        .iter()
        .map(|o| (o.id, as_f(o.effective_share)))
        .collect();
    assert_eq!(got.len(), 4);
    for (id, want) in [(a, fa), (b, fb), (p, 0.5 * fa), (q, 0.7 * fb)] {
        assert!(
            (got[&id] - want).abs() < 1e-9,
            "{id}: {} against {want}",
            got[&id]
        );
    }
    // Persons holding 25% or more, largest first, with their chains.
    let ubo = db.owners(t, dec("0.25"), true).unwrap();
    let ids: Vec<EntityId> = ubo.owners.iter().map(|o| o.id).collect();
    assert_eq!(ids, vec![q, p]);
    assert_eq!(ubo.owners[0].chain, vec![q, b, t]);
    assert_eq!(ubo.owners[1].chain, vec![p, a, t]);
    assert_eq!(ubo.owners[1].direct_share, None);
    let direct = all.owners.iter().find(|o| o.id == a).unwrap();
    assert_eq!(direct.direct_share, Some(dec("0.6")));
    // A 40% threshold leaves nobody among the persons.
    assert!(db.owners(t, dec("0.40"), true).unwrap().owners.is_empty());
    // Owners far above: no depth limit.
    let mut below = t;
    let mut top = t;
    for i in 0..20 {
        top = org(&format!("up{i}"));
        rel(&db, below, RelKind::SUBSIDIARY_OF, top, share("1"));
        below = top;
    }
    let deep = db.owners(t, Decimal::ZERO, false).unwrap();
    let far = deep.owners.iter().find(|o| o.id == top).unwrap();
    assert_eq!(far.chain.len(), 21);
}

#[test]
fn guarantors_on_a_day_follow_only_the_guarantees_valid_then() {
    let db = Db::temporary().unwrap();
    let p = |_: u8| db.create(NewEntity::person()).unwrap();
    let (a, b, c) = (p(0), p(1), p(2));
    let d = |s: &str| kith::Date::parse(s).unwrap();
    rel(
        &db,
        a,
        RelKind::GUARANTEES,
        b,
        EdgeProps::new().valid(Some(d("2020-01-01")), Some(d("2020-12-31"))),
    );
    rel(
        &db,
        a,
        RelKind::GUARANTEES,
        c,
        EdgeProps::new().valid(Some(d("2021-01-01")), None),
    );
    let ids =
        |n: kith::traverse::GuarantorNetwork| n.guarantees.iter().map(|l| l.id).collect::<Vec<_>>();
    assert_eq!(
        ids(db
            .guarantors_on(a, 3, &When::on(Some(d("2020-06-01"))))
            .unwrap()),
        vec![b]
    );
    assert_eq!(
        ids(db
            .guarantors_on(a, 3, &When::on(Some(d("2022-06-01"))))
            .unwrap()),
        vec![c]
    );
    assert_eq!(ids(db.guarantors(a, 3).unwrap()).len(), 2);
}

#[test]
fn owners_on_a_day_follow_only_the_holdings_valid_then() {
    let db = Db::temporary().unwrap();
    let t = db.create(NewEntity::organization()).unwrap();
    let (old, new) = (
        db.create(NewEntity::person()).unwrap(),
        db.create(NewEntity::person()).unwrap(),
    );
    let d = |s: &str| kith::Date::parse(s).unwrap();
    let held = |since: &str, until: Option<&str>| {
        EdgeProps::new()
            .attr(attrs::SHARE, dec("0.6"))
            .valid(Some(d(since)), until.map(d))
    };
    rel(
        &db,
        old,
        RelKind::OWNS,
        t,
        held("2010-01-01", Some("2019-12-31")),
    );
    rel(&db, new, RelKind::OWNS, t, held("2020-01-01", None));
    let who = |day: Option<&str>| -> Vec<EntityId> {
        db.owners_on(t, dec("0.25"), true, &When::on(day.map(d)))
            .unwrap()
            .owners
            .iter()
            .map(|o| o.id)
            .collect()
    };
    assert_eq!(who(Some("2015-06-01")), vec![old]);
    assert_eq!(who(Some("2024-06-01")), vec![new]);
    assert_eq!(who(None).len(), 2);
}

/// A small dated structure: `t` owned 60 % by `a` (since 2015) and held by
/// `b` (since 2021, 40 %); `a` guarantees `b` (since 2019, 1,000); all
/// three in one household, `a` since 2010, `b` since 2022, `t` with no day.
struct Dated {
    db: Db,
    t: EntityId,
    a: EntityId,
    b: EntityId,
    hh: EntityId,
}

fn dated() -> Dated {
    let db = Db::temporary().unwrap();
    let d = |s: &str| Some(Date::parse(s).unwrap());
    let t = db.create(NewEntity::organization()).unwrap();
    let a = db.create(NewEntity::organization()).unwrap();
    let b = db.create(NewEntity::person()).unwrap();
    let hh = db.create(NewEntity::household()).unwrap();
    let share = |s: &str, since: &str| {
        EdgeProps::new()
            .attr(attrs::SHARE, dec(s))
            .valid(d(since), None)
    };
    rel(
        &db,
        t,
        RelKind::SUBSIDIARY_OF,
        a,
        share("0.6", "2015-03-01"),
    );
    rel(&db, b, RelKind::OWNS, t, share("0.4", "2021-05-01"));
    rel(
        &db,
        a,
        RelKind::GUARANTEES,
        b,
        EdgeProps::new()
            .attr(attrs::AMOUNT, dec("1000"))
            .valid(d("2019-01-01"), None),
    );
    let member = |since: Option<&str>| {
        EdgeProps::new()
            .attr(attrs::ROLE, "member")
            .valid(since.and_then(d), None)
    };
    rel(&db, a, RelKind::MEMBER_OF, hh, member(Some("2010-01-01")));
    rel(&db, b, RelKind::MEMBER_OF, hh, member(Some("2022-01-01")));
    rel(&db, t, RelKind::MEMBER_OF, hh, member(None));
    Dated { db, t, a, b, hh }
}

fn window(since: Option<&str>, until: Option<&str>) -> When {
    When::parse(None, since, until, ["--at", "--since", "--until"]).unwrap()
}

#[test]
fn every_traversal_answer_carries_the_properties_of_what_it_crossed() {
    let x = dated();
    let db = &x.db;
    // Owners: the holding along each chain.
    let o = db.owners(x.t, Decimal::ZERO, false).unwrap();
    let a = o.owners.iter().find(|w| w.id == x.a).unwrap();
    assert_eq!(a.chain, vec![x.a, x.t]);
    assert_eq!(a.chain_props.len(), 1);
    assert_eq!(
        a.chain_props[0].attrs.get(attrs::SHARE),
        Some(&dec("0.6").into())
    );
    assert_eq!(a.chain_props[0].since, Date::parse("2015-03-01").ok());
    // Group: each member's ownership relationships.
    let g = db.group(x.t).unwrap();
    let t = g.members.iter().find(|m| m.id == x.t).unwrap();
    assert_eq!(t.owned_by.len(), 1);
    assert_eq!(t.owned_by[0].0, x.a);
    assert_eq!(
        t.owned_by[0].1.attrs.get(attrs::SHARE),
        Some(&dec("0.6").into())
    );
    assert!(g
        .members
        .iter()
        .find(|m| m.id == x.a)
        .unwrap()
        .owned_by
        .is_empty());
    // Household: memberships (and holdings) with their properties.
    let h = db.household(x.hh).unwrap();
    let m = h[0].members.iter().find(|m| m.person.id == x.a).unwrap();
    assert_eq!(m.props.since, Date::parse("2010-01-01").ok());
    assert_eq!(m.role.as_deref(), Some("member"));
    // Path: every hop with its kind, direction and properties.
    let spec = kith::traverse::PathSpec::new(
        vec![
            (RelKind::GUARANTEES, Follow::Out),
            (RelKind::SUBSIDIARY_OF, Follow::In),
        ],
        4,
    );
    let found = kith::traverse::shortest_paths_following(db, x.a, x.b, &spec).unwrap();
    assert!(!found.truncated);
    let p = found.paths;
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].nodes, vec![x.a, x.b]);
    assert_eq!(p[0].hops[0].kind, RelKind::GUARANTEES);
    assert_eq!(p[0].hops[0].direction, kith::Direction::Out);
    assert_eq!(
        p[0].hops[0].props.attrs.get(attrs::AMOUNT),
        Some(&dec("1000").into())
    );
    let back = kith::traverse::shortest_paths_following(
        db,
        x.a,
        x.t,
        &kith::traverse::PathSpec::new(vec![(RelKind::SUBSIDIARY_OF, Follow::In)], 4),
    )
    .unwrap()
    .paths;
    assert_eq!(back[0].hops[0].direction, kith::Direction::In);
    assert_eq!(back[0].hops[0].from, x.a);
    assert_eq!(back[0].hops[0].to, x.t);
}

#[test]
fn every_query_takes_a_day_and_a_window_of_when_relationships_began() {
    let x = dated();
    let db = &x.db;
    let day = |s: &str| When::on(Date::parse(s).ok());
    // Owners: before 2021 only a holds t.
    let who = |w: &When| -> Vec<EntityId> {
        db.owners_on(x.t, Decimal::ZERO, false, w)
            .unwrap()
            .owners
            .iter()
            .map(|o| o.id)
            .collect()
    };
    assert_eq!(who(&day("2020-01-01")), vec![x.a]);
    assert_eq!(who(&day("2014-01-01")), Vec::<EntityId>::new());
    assert_eq!(who(&window(Some("2021-01-01"), None)), vec![x.b]);
    assert_eq!(who(&window(None, Some("2016-01-01"))), vec![x.a]);
    assert_eq!(who(&When::ANY).len(), 2);
    // Group: before 2015 t stands alone.
    assert_eq!(
        db.group_on(x.t, &day("2014-01-01"), 10)
            .unwrap()
            .members
            .len(),
        1
    );
    assert_eq!(
        db.group_on(x.t, &day("2016-01-01"), 10)
            .unwrap()
            .members
            .len(),
        2
    );
    // Household: the member with no known start day is left out of a window.
    let members = |w: &When| -> BTreeSet<EntityId> {
        db.household_on(x.hh, w).unwrap()[0]
            .members
            .iter()
            .map(|m| m.person.id)
            .collect()
    };
    assert_eq!(members(&day("2015-01-01")), BTreeSet::from([x.a, x.t]));
    assert_eq!(members(&When::ANY), BTreeSet::from([x.a, x.b, x.t]));
    assert_eq!(
        members(&window(Some("2000-01-01"), Some("2030-01-01"))),
        BTreeSet::from([x.a, x.b])
    );
    assert_eq!(
        members(&window(Some("2021-06-01"), None)),
        BTreeSet::from([x.b])
    );
    // A customer's households by the customer's own membership.
    assert!(db.household_on(x.b, &day("2021-01-01")).unwrap().is_empty());
    // Guarantors and paths.
    let g = db
        .guarantors_on(x.a, 3, &window(Some("2020-01-01"), None))
        .unwrap();
    assert!(g.guarantees.is_empty());
    let g = db
        .guarantors_on(x.a, 3, &window(Some("2018-01-01"), Some("2019-06-01")))
        .unwrap();
    assert_eq!(g.guarantees.len(), 1);
    let mut spec = kith::traverse::PathSpec::new(vec![(RelKind::GUARANTEES, Follow::Both)], 3);
    spec.when = day("2018-01-01");
    assert!(
        kith::traverse::shortest_paths_following(db, x.a, x.b, &spec)
            .unwrap()
            .paths
            .is_empty()
    );
    spec.when = day("2019-01-01");
    assert_eq!(
        kith::traverse::shortest_paths_following(db, x.a, x.b, &spec)
            .unwrap()
            .paths
            .len(),
        1
    );
}

#[test]
fn a_bad_day_or_an_empty_window_is_an_error_naming_the_option() {
    let names = ["--at", "--since", "--until"];
    let e = When::parse(Some("noon"), None, None, names).unwrap_err();
    assert!(e.contains("--at \"noon\" is not a date"), "{e}");
    let e = When::parse(None, Some("2021-13-01"), None, names).unwrap_err();
    assert!(e.contains("--since"), "{e}");
    let e = When::parse(None, Some("2022-01-01"), Some("2021-01-01"), names).unwrap_err();
    assert!(e.contains("after --until"), "{e}");
    assert!(When::parse(None, None, None, names).unwrap().is_any());
}

#[test]
fn a_path_answer_cut_by_its_limit_says_truncated() {
    use kith::traverse::{shortest_paths_following, PathSpec};
    let db = Db::temporary().unwrap();
    let p = |_: u8| db.create(NewEntity::person()).unwrap();
    let (a, b) = (p(0), p(1));
    // Three shortest paths a - m - b.
    for _ in 0..3 {
        let m = db.create(NewEntity::person()).unwrap();
        rel(&db, a, RelKind::SPOUSE_OF, m, EdgeProps::new());
        rel(&db, m, RelKind::SPOUSE_OF, b, EdgeProps::new());
    }
    let mut spec = PathSpec::new(vec![(RelKind::SPOUSE_OF, Follow::Both)], 4);
    spec.max_paths = 2;
    let cut = shortest_paths_following(&db, a, b, &spec).unwrap();
    assert_eq!(cut.paths.len(), 2);
    assert!(cut.truncated);
    spec.max_paths = 3;
    let all = shortest_paths_following(&db, a, b, &spec).unwrap();
    assert_eq!(all.paths.len(), 3);
    assert!(!all.truncated);
}
