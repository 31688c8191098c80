//! Identity resolution: records become customers as they arrive.

use kith::resolve::{Outcome, ResolveConfig};
use kith::{attrs, Attrs, Date, Db, Direction, EntityKind, RelKind, Value};

fn rec(pairs: &[(&str, &str)]) -> Attrs {
    pairs
        .iter()
        .map(|(k, v)| {
            let value = if *k == attrs::BIRTH_DATE {
                Value::Date(Date::parse(v).unwrap())
            } else {
                Value::from(*v)
            };
            (k.to_string(), value)
        })
        .collect()
}

fn upsert(db: &Db, system: &str, key: &str, r: Attrs) -> Outcome {
    db.upsert_record(
        system,
        key,
        EntityKind::PERSON,
        r,
        &ResolveConfig::default(),
    )
    .unwrap()
}

fn customer(o: &Outcome) -> kith::EntityId {
    o.customer()
}

#[test]
fn a_nickname_and_a_typo_still_link_to_one_customer() {
    let db = Db::temporary().unwrap();
    let a = upsert(
        &db,
        "crm",
        "1",
        rec(&[
            ("given_name", "Robert"),
            ("family_name", "Smith"),
            ("birth_date", "1970-03-04"),
            ("postal_code", "2000"),
            ("house_number", "12"),
            ("street", "Oak Street"),
        ]),
    );
    assert!(matches!(a, Outcome::Created { .. }));
    let b = upsert(
        &db,
        "core",
        "A-9",
        rec(&[
            ("given_name", "Bob"),
            ("family_name", "Smyth"),
            ("birth_date", "1970-03-04"),
            ("postal_code", "2000"),
            ("house_number", "12"),
            ("street", "oak st"),
        ]),
    );
    assert!(matches!(b, Outcome::Linked { .. }), "{b:?}");
    assert_eq!(customer(&a), customer(&b));
    assert_eq!(
        db.customer_of_record("core", "A-9").unwrap(),
        Some(customer(&a))
    );
    // The customer carries identifiers of both records in its context.
    let ctx = db.context(customer(&a)).unwrap();
    let ids: Vec<String> = ctx.identifiers.iter().map(|x| x.to_string()).collect();
    assert_eq!(ids, vec!["core:A-9", "crm:1"]);
    assert!(db.check().unwrap().is_ok());
}

#[test]
fn a_household_sharing_phone_and_address_stays_separate_people() {
    let db = Db::temporary().unwrap();
    let shared = [
        ("phone", "555 010 0001"),
        ("postal_code", "2000"),
        ("house_number", "12"),
        ("street", "Oak Street"),
        ("family_name", "Nguyen"),
    ];
    let mut ann = shared.to_vec();
    ann.extend([("given_name", "Ann"), ("birth_date", "1980-01-01")]);
    let mut tom = shared.to_vec();
    tom.extend([("given_name", "Tom"), ("birth_date", "2008-06-30")]);
    let a = upsert(&db, "crm", "1", rec(&ann));
    let t = upsert(&db, "crm", "2", rec(&tom));
    assert_ne!(customer(&a), customer(&t), "{t:?}");
}

#[test]
fn email_only_records_link_by_email() {
    let db = Db::temporary().unwrap();
    let a = upsert(
        &db,
        "crm",
        "1",
        rec(&[
            ("given_name", "Ann"),
            ("family_name", "Lee"),
            ("email", "ann.lee@example.com"),
        ]),
    );
    let b = upsert(&db, "web", "u1", rec(&[("email", "Ann.Lee@Example.com")]));
    assert_eq!(customer(&a), customer(&b), "{b:?}");
    let c = upsert(&db, "web", "u2", rec(&[("email", "someone@else.com")]));
    assert_ne!(customer(&a), customer(&c));
}

#[test]
fn a_record_that_bridges_two_customers_merges_them() {
    let db = Db::temporary().unwrap();
    // Two records of one person that share nothing strong: two customers.
    let a = upsert(
        &db,
        "crm",
        "1",
        rec(&[
            ("given_name", "Ann"),
            ("family_name", "Lee"),
            ("email", "ann@x.io"),
        ]),
    );
    let b = upsert(
        &db,
        "billing",
        "7",
        rec(&[
            ("given_name", "Ann"),
            ("family_name", "Lee"),
            ("national_id", "123456789"),
        ]),
    );
    assert_ne!(customer(&a), customer(&b));
    // A third record holds both the email and the national id.
    let c = upsert(
        &db,
        "core",
        "X",
        rec(&[
            ("given_name", "Ann"),
            ("family_name", "Lee"),
            ("email", "ann@x.io"),
            ("national_id", "123456789"),
        ]),
    );
    match &c {
        Outcome::Merged {
            survivor, merged, ..
        } => {
            assert_eq!(*survivor, customer(&a).min(customer(&b)));
            assert_eq!(merged.len(), 1);
            let gone = merged[0];
            assert_eq!(
                db.get(gone).unwrap().unwrap().attr(attrs::MERGED_INTO),
                Some(Value::Int(survivor.0 as i64))
            );
            assert!(
                db.edges(gone, Direction::In).unwrap().is_empty(),
                "relationships move to the survivor"
            );
            // The redirect keeps nothing else: no stale golden values that
            // `find` or name search would answer beside the survivor.
            let left = db.get(gone).unwrap().unwrap().attrs();
            assert_eq!(left.keys().collect::<Vec<_>>(), vec![attrs::MERGED_INTO]);
            let by_id = db.find(kith::Index::NationalId, "123456789").unwrap();
            assert!(!by_id.contains(&gone), "{by_id:?}");
            let by_name = db.search_names("ann lee", 10).unwrap().matches;
            assert_eq!(by_name.len(), 1, "{by_name:?}");
            assert_eq!(by_name[0].id, *survivor);
            // One person, not two: the redirect is counted apart.
            let stats = db.stats().unwrap();
            assert_eq!(stats.entities["person"], 1, "{stats:?}");
            assert_eq!(stats.merged["person"], 1, "{stats:?}");
        }
        other => panic!("expected a merge, got {other:?}"),
    }
    for (s, k) in [("crm", "1"), ("billing", "7"), ("core", "X")] {
        assert_eq!(db.customer_of_record(s, k).unwrap(), Some(customer(&c)));
    }
    assert_eq!(
        db.neighbour_ids(customer(&c), RelKind::RESOLVES_TO, Direction::In)
            .unwrap()
            .len(),
        3
    );
    assert!(db.check().unwrap().is_ok());
}

#[test]
fn the_same_record_again_changes_nothing() {
    let db = Db::temporary().unwrap();
    let r = rec(&[
        ("given_name", "Ann"),
        ("family_name", "Lee"),
        ("birth_date", "1980-01-01"),
    ]);
    let a = upsert(&db, "crm", "1", r.clone());
    let before = db.stats().unwrap();
    let again = upsert(&db, "crm", "1", r);
    assert_eq!(
        again,
        Outcome::Unchanged {
            customer: customer(&a)
        }
    );
    assert_eq!(db.stats().unwrap(), before);
    assert!(db
        .upsert_record(
            "crm",
            "2",
            EntityKind::ACCOUNT,
            Attrs::new(),
            &ResolveConfig::default()
        )
        .is_err());
}

#[test]
fn explain_shows_the_comparisons_and_delete_removes_a_record() {
    let db = Db::temporary().unwrap();
    upsert(
        &db,
        "crm",
        "1",
        rec(&[
            ("given_name", "Robert"),
            ("family_name", "Smith"),
            ("birth_date", "1970-03-04"),
            ("national_id", "123-45-6789"),
        ]),
    );
    let b = upsert(
        &db,
        "core",
        "9",
        rec(&[
            ("given_name", "Bob"),
            ("family_name", "Smith"),
            ("birth_date", "1970-03-04"),
            ("national_id", "123456789"),
        ]),
    );
    let x = db.explain("core", "9").unwrap();
    assert_eq!(x.customer, Some(customer(&b)));
    assert_eq!(x.comparisons.len(), 1);
    let (other, scores, total) = &x.comparisons[0];
    assert_eq!(other.to_string(), "crm:1");
    let given = scores
        .iter()
        .find(|s| s.field == attrs::GIVEN_NAME)
        .unwrap();
    assert_eq!(
        given.agreement,
        kith::resolve::compare::Agreement::Close,
        "a nickname is close"
    );
    assert!(*total >= ResolveConfig::default().match_threshold);
    let (_, pair_total) = db.compare_records(("crm", "1"), ("core", "9")).unwrap();
    assert_eq!(pair_total, *total);
    assert!(db.explain("crm", "nope").is_err());
    // Deleting one record keeps the customer; deleting the last removes it.
    let cfg = ResolveConfig::default();
    let d = db.delete_record("crm", "1", &cfg).unwrap().unwrap();
    assert_eq!(d.customer, Some(customer(&b)));
    assert!(!d.customer_deleted);
    assert_eq!(
        db.customer_of_record("core", "9").unwrap(),
        Some(customer(&b))
    );
    assert!(
        db.delete_record("core", "9", &cfg)
            .unwrap()
            .unwrap()
            .customer_deleted
    );
    assert_eq!(db.get(customer(&b)).unwrap(), None);
    assert!(db.delete_record("core", "9", &cfg).unwrap().is_none());
    assert!(db.check().unwrap().is_ok());
}

/// FEBRL's first set (../shared/data, beside the checkout), as `kith import`
/// with bench/febrl/febrl.toml would read it.
fn febrl1() -> Vec<(String, Attrs)> {
    febrl("febrl1")
}

/// A FEBRL set from `../shared/data` (beside the checkout) as records.
fn febrl(set: &str) -> Vec<(String, Attrs)> {
    let path = &format!(
        "{}/../shared/data/febrl/{set}.csv",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut rdr = csv::Reader::from_path(path).unwrap_or_else(|e| {
        panic!("{path}: {e} (the shared reference data must sit beside the checkout)")
    });
    let map = [
        ("given_name", "given_name"),
        ("surname", "family_name"),
        ("street_number", "house_number"),
        ("address_1", "street"),
        ("address_2", "unit"),
        ("suburb", "city"),
        ("postcode", "postal_code"),
        ("state", "region"),
        ("soc_sec_id", "national_id"),
    ];
    let headers = rdr.headers().unwrap().clone();
    rdr.records()
        .map(|r| {
            let r = r.unwrap();
            let get = |name: &str| {
                r.get(headers.iter().position(|h| h == name).unwrap())
                    .unwrap()
                    .trim()
                    .to_string()
            };
            let mut a = Attrs::new();
            for (col, attr) in map {
                let v = get(col);
                if !v.is_empty() {
                    a.insert(attr.to_string(), Value::Text(v));
                }
            }
            let dob = get("date_of_birth");
            if !dob.is_empty() {
                let v = match kith::resolve::normalize::date(&dob, &["compact"]) {
                    Some(d) => Value::Date(d),
                    None => Value::Text(dob),
                };
                a.insert(attrs::BIRTH_DATE.to_string(), v);
            }
            (get("rec_id"), a)
        })
        .collect()
}

fn partition(
    records: &[(String, Attrs)],
) -> std::collections::BTreeSet<std::collections::BTreeSet<String>> {
    let db = Db::builder()
        .temporary()
        .durability(kith::Durability::Background { every_ms: 1000 })
        .open()
        .unwrap();
    for (key, a) in records {
        db.upsert_record(
            "febrl",
            key,
            EntityKind::PERSON,
            a.clone(),
            &ResolveConfig::default(),
        )
        .unwrap();
    }
    let mut groups: std::collections::BTreeMap<kith::EntityId, std::collections::BTreeSet<String>> =
        Default::default();
    for (_, key, c) in db.links().unwrap() {
        groups.entry(c).or_default().insert(key);
    }
    groups.into_values().collect()
}

/// The customers `records` give in their own order and in each shuffle
/// named by `seeds` (as sets of record keys): all must be the same.
fn assert_order_independent(records: &[(String, Attrs)], seeds: std::ops::RangeInclusive<u64>) {
    let original = partition(records);
    for seed in seeds {
        let mut shuffled = records.to_vec();
        let mut r = kith::generate::Rng::new(seed);
        for i in (1..shuffled.len()).rev() {
            shuffled.swap(i, r.below(i as u64 + 1) as usize);
        }
        let got = partition(&shuffled);
        let moved: Vec<_> = got.symmetric_difference(&original).take(4).collect();
        assert!(
            moved.is_empty(),
            "order {seed} gave other customers: {moved:?}"
        );
    }
}

#[test]
fn loading_records_in_another_order_yields_the_same_customers() {
    let records = febrl1();
    assert_eq!(records.len(), 1000);
    assert_order_independent(&records, 1..=10);
}

/// FEBRL 2 (5,000 records, up to nine per person, corrupted names, ids
/// and dates): two shuffles here; ten with `--ignored`.
#[test]
fn febrl2_in_two_other_orders_gives_the_same_customers() {
    let records = febrl("febrl2");
    assert_eq!(records.len(), 5000);
    assert_order_independent(&records, 1..=2);
}

#[test]
#[ignore = "ten imports of FEBRL 2: about two minutes in a debug build (docs/testing.md)"]
fn febrl2_in_ten_other_orders_gives_the_same_customers() {
    assert_order_independent(&febrl("febrl2"), 1..=10);
}

fn cfg() -> ResolveConfig {
    ResolveConfig::default()
}

fn org(pairs: &[(&str, &str)]) -> Attrs {
    rec(pairs)
}

fn upsert_org(db: &Db, system: &str, key: &str, r: Attrs) -> Outcome {
    db.upsert_record(system, key, EntityKind::ORGANIZATION, r, &cfg())
        .unwrap()
}

/// Ann's CRM record (email) and billing record (national id), and the
/// core-banking record that holds both.
fn bridged(db: &Db) -> (kith::EntityId, kith::EntityId) {
    let a = upsert(
        db,
        "crm",
        "1",
        rec(&[
            ("given_name", "Ann"),
            ("family_name", "Lee"),
            ("email", "ann@x.io"),
        ]),
    );
    let b = upsert(
        db,
        "billing",
        "7",
        rec(&[
            ("given_name", "Ann"),
            ("family_name", "Lee"),
            ("national_id", "123456789"),
        ]),
    );
    assert_ne!(customer(&a), customer(&b));
    let c = upsert(
        db,
        "core",
        "X",
        rec(&[
            ("given_name", "Ann"),
            ("family_name", "Lee"),
            ("email", "ann@x.io"),
            ("national_id", "123456789"),
        ]),
    );
    assert!(matches!(c, Outcome::Merged { .. }), "{c:?}");
    (customer(&a), customer(&b))
}

#[test]
fn deleting_the_bridging_record_unmerges_and_relationships_go_back() {
    let db = Db::temporary().unwrap();
    let (a, b) = bridged(&db);
    let survivor = db.customer_of_record("crm", "1").unwrap().unwrap();
    // An account the billing record's system says it owns, stated through
    // that record, and one stated by nobody (the API).
    let acct = db
        .create(kith::NewEntity::new(EntityKind::ACCOUNT).identifier("billing", "ACC-1"))
        .unwrap();
    let billing_rec = db.lookup("billing", "7").unwrap().unwrap();
    db.relate(
        survivor,
        RelKind::OWNS,
        acct,
        kith::EdgeProps::new().attr(attrs::FROM_RECORD, Value::Int(billing_rec.0 as i64)),
    )
    .unwrap();
    let hh = db
        .create(kith::NewEntity::new(EntityKind::HOUSEHOLD))
        .unwrap();
    db.relate(survivor, RelKind::MEMBER_OF, hh, kith::EdgeProps::new())
        .unwrap();

    let d = db.delete_record("core", "X", &cfg()).unwrap().unwrap();
    assert_eq!(d.customer, Some(survivor));
    assert!(!d.customer_deleted);
    assert_eq!(d.split_off.len(), 1, "{d:?}");
    let crm = db.customer_of_record("crm", "1").unwrap().unwrap();
    let billing = db.customer_of_record("billing", "7").unwrap().unwrap();
    assert_ne!(crm, billing, "the two records no longer hold together");
    assert_eq!(
        crm,
        a.min(b),
        "the part holding the oldest record keeps the id"
    );
    // The account went back with the billing record; the household stayed.
    assert_eq!(
        db.neighbour_ids(billing, RelKind::OWNS, Direction::Out)
            .unwrap(),
        vec![acct]
    );
    assert!(db
        .neighbour_ids(crm, RelKind::OWNS, Direction::Out)
        .unwrap()
        .is_empty());
    assert_eq!(
        db.neighbour_ids(crm, RelKind::MEMBER_OF, Direction::Out)
            .unwrap(),
        vec![hh]
    );
    // Each customer's profile comes from its own records only.
    let c = db.get(crm).unwrap().unwrap();
    assert_eq!(c.text(attrs::EMAIL), Some("ann@x.io"));
    assert_eq!(c.attr(attrs::NATIONAL_ID), None);
    let b2 = db.get(billing).unwrap().unwrap();
    assert_eq!(b2.text(attrs::NATIONAL_ID), Some("123456789"));
    assert_eq!(b2.attr(attrs::EMAIL), None);
    assert!(db.check().unwrap().is_ok());
}

#[test]
fn a_changed_record_is_resolved_again_and_its_customer_splits() {
    let db = Db::temporary().unwrap();
    bridged(&db);
    // The bridging record loses its email: the CRM record no longer matches.
    let o = upsert(
        &db,
        "core",
        "X",
        rec(&[
            ("given_name", "Ann"),
            ("family_name", "Lee"),
            ("national_id", "123456789"),
        ]),
    );
    match &o {
        Outcome::Updated { split_off, .. } => assert_eq!(split_off.len(), 1, "{o:?}"),
        other => panic!("expected an update, got {other:?}"),
    }
    let x = db.customer_of_record("core", "X").unwrap();
    assert_eq!(x, db.customer_of_record("billing", "7").unwrap());
    assert_ne!(x, db.customer_of_record("crm", "1").unwrap());
    // The same fields again change nothing.
    let again = upsert(
        &db,
        "core",
        "X",
        rec(&[
            ("given_name", "Ann"),
            ("family_name", "Lee"),
            ("national_id", "123456789"),
        ]),
    );
    assert!(matches!(again, Outcome::Unchanged { .. }), "{again:?}");
    // Given the email back, it bridges (and merges) again.
    let back = upsert(
        &db,
        "core",
        "X",
        rec(&[
            ("given_name", "Ann"),
            ("family_name", "Lee"),
            ("email", "ann@x.io"),
            ("national_id", "123456789"),
        ]),
    );
    assert!(
        matches!(&back, Outcome::Updated { placed, .. } if matches!(**placed, Outcome::Merged { .. })),
        "{back:?}"
    );
    assert_eq!(
        db.customer_of_record("crm", "1").unwrap(),
        db.customer_of_record("billing", "7").unwrap()
    );
    assert!(db.check().unwrap().is_ok());
}

#[test]
fn a_record_alone_on_its_customer_keeps_the_customer_when_it_changes() {
    let db = Db::temporary().unwrap();
    let a = upsert(
        &db,
        "crm",
        "1",
        rec(&[
            ("given_name", "Ann"),
            ("family_name", "Lee"),
            ("email", "ann@x.io"),
        ]),
    );
    let acct = db
        .create(kith::NewEntity::new(EntityKind::ACCOUNT))
        .unwrap();
    db.relate(customer(&a), RelKind::OWNS, acct, kith::EdgeProps::new())
        .unwrap();
    let o = upsert(
        &db,
        "crm",
        "1",
        rec(&[
            ("given_name", "Ann"),
            ("family_name", "Lee"),
            ("email", "ann@y.io"),
        ]),
    );
    assert_eq!(o.customer(), customer(&a));
    let c = db.get(customer(&a)).unwrap().unwrap();
    assert_eq!(
        c.text(attrs::EMAIL),
        Some("ann@y.io"),
        "the profile follows"
    );
    assert_eq!(
        db.neighbour_ids(customer(&a), RelKind::OWNS, Direction::Out)
            .unwrap(),
        vec![acct]
    );
}

#[test]
fn users_force_records_together_and_apart_and_resolution_respects_it() {
    let db = Db::temporary().unwrap();
    let a = upsert(
        &db,
        "crm",
        "1",
        rec(&[
            ("given_name", "Jo"),
            ("family_name", "Park"),
            ("phone", "0412000111"),
        ]),
    );
    let b = upsert(
        &db,
        "web",
        "u9",
        rec(&[("given_name", "Joanna"), ("family_name", "Parke")]),
    );
    assert_ne!(customer(&a), customer(&b));
    let together = db.force_together(("crm", "1"), ("web", "u9")).unwrap();
    assert_eq!(db.customer_of_record("web", "u9").unwrap(), Some(together));
    assert_eq!(db.customer_of_record("crm", "1").unwrap(), Some(together));
    // A change to one of them re-resolves it, but it stays with its partner.
    let o = upsert(
        &db,
        "web",
        "u9",
        rec(&[("given_name", "Joanna"), ("family_name", "Parker")]),
    );
    assert_eq!(o.customer(), together, "{o:?}");

    // Two records that match strongly, kept apart by a user.
    let c = upsert(
        &db,
        "crm",
        "2",
        rec(&[
            ("given_name", "Sam"),
            ("family_name", "Ng"),
            ("email", "sam@ng.io"),
        ]),
    );
    let d = upsert(
        &db,
        "billing",
        "2",
        rec(&[
            ("given_name", "Sam"),
            ("family_name", "Ng"),
            ("email", "sam@ng.io"),
        ]),
    );
    assert_eq!(customer(&c), customer(&d));
    let (x, y) = db
        .force_apart(("crm", "2"), ("billing", "2"), &cfg())
        .unwrap();
    assert_ne!(x, y);
    // Re-resolving the kept-apart record does not put it back.
    let o = upsert(
        &db,
        "billing",
        "2",
        rec(&[
            ("given_name", "Sam"),
            ("family_name", "Ng"),
            ("email", "sam@ng.io"),
            ("phone", "0499000000"),
        ]),
    );
    assert_ne!(
        o.customer(),
        db.customer_of_record("crm", "2").unwrap().unwrap()
    );
    // A third record matching both joins one of them, never merging them.
    let e = upsert(
        &db,
        "web",
        "sam",
        rec(&[
            ("given_name", "Sam"),
            ("family_name", "Ng"),
            ("email", "sam@ng.io"),
        ]),
    );
    assert!(!matches!(e, Outcome::Merged { .. }), "{e:?}");
    assert_ne!(
        db.customer_of_record("crm", "2").unwrap(),
        db.customer_of_record("billing", "2").unwrap()
    );
    assert!(db.force_apart(("crm", "2"), ("crm", "2"), &cfg()).is_err());
    assert!(db.force_together(("crm", "2"), ("nope", "0")).is_err());
    assert!(db.check().unwrap().is_ok());
}

#[test]
fn survivorship_follows_trust_then_frequency_then_recency_with_lineage() {
    let db = Db::temporary().unwrap();
    let with = |pairs: &[(&str, &str)], trust: Option<i64>| {
        let mut r = rec(pairs);
        if let Some(t) = trust {
            r.insert(attrs::TRUST.into(), Value::Int(t));
        }
        r
    };
    let base = [
        ("given_name", "Maria"),
        ("family_name", "Lopez"),
        ("national_id", "555443333"),
    ];
    let mut v = base.to_vec();
    v.push(("email", "maria@old.io"));
    v.push(("city", "Springfield"));
    let a = upsert(&db, "crm", "1", with(&v, Some(1)));
    let mut v = base.to_vec();
    v.push(("email", "maria@new.io"));
    v.push(("city", "Shelbyville"));
    upsert(&db, "web", "1", with(&v, Some(1)));
    let mut v = base.to_vec();
    v.push(("city", "Springfield"));
    upsert(&db, "mortgage", "1", with(&v, Some(1)));
    let mut v = base.to_vec();
    v.push(("given_name", "María"));
    upsert(&db, "core", "1", with(&v, Some(9)));
    let c = customer(&a);
    let lineage = db.lineage(c).unwrap();
    let of = |attr: &str| lineage.iter().find(|l| l.attr == attr).unwrap().clone();
    // The most trusted source wins the given name.
    assert_eq!(of("given_name").value, Value::from("María"));
    assert_eq!(of("given_name").record.to_string(), "core:1");
    assert_eq!(of("given_name").rule, "trust");
    // Two records say Springfield, one Shelbyville.
    assert_eq!(of("city").value, Value::from("Springfield"));
    assert_eq!(of("city").rule, "frequency");
    // Equal trust and frequency: the most recent record.
    assert_eq!(of("email").value, Value::from("maria@new.io"));
    assert_eq!(of("email").record.to_string(), "web:1");
    assert_eq!(of("email").rule, "recency");
    assert_eq!(of("family_name").rule, "only");
    let cust = db.get(c).unwrap().unwrap();
    for l in &lineage {
        assert_eq!(cust.attr(&l.attr).as_ref(), Some(&l.value), "{}", l.attr);
    }
    assert!(
        cust.attr(attrs::TRUST).is_none(),
        "bookkeeping stays on records"
    );
}

#[test]
fn organizations_match_across_legal_forms_and_registration_numbers_decide() {
    let db = Db::temporary().unwrap();
    let a = upsert_org(
        &db,
        "crm",
        "O1",
        org(&[
            ("organization_name", "Acme Widgets Ltd"),
            ("postal_code", "2000"),
            ("phone", "0290001111"),
        ]),
    );
    let b = upsert_org(
        &db,
        "kyc",
        "K1",
        org(&[
            ("organization_name", "ACME WIDGETS LIMITED"),
            ("postal_code", "2000"),
            ("registration_number", "ACN 000 111 222"),
        ]),
    );
    assert_eq!(customer(&a), customer(&b), "{b:?}");
    let c = upsert_org(
        &db,
        "loans",
        "L1",
        org(&[
            ("organization_name", "The Acme Widgets Company, Inc."),
            ("registration_number", "000111222"),
        ]),
    );
    assert_eq!(customer(&c), customer(&a), "{c:?}");
    // Same name, another registration number: another company.
    let d = upsert_org(
        &db,
        "loans",
        "L2",
        org(&[
            ("organization_name", "Acme Widgets Ltd"),
            ("postal_code", "2000"),
            ("registration_number", "999888777"),
        ]),
    );
    assert_ne!(customer(&d), customer(&a), "{d:?}");
    // A person never joins an organization, whatever they share.
    let p = upsert(
        &db,
        "crm",
        "P1",
        rec(&[
            ("given_name", "Acme"),
            ("family_name", "Widgets"),
            ("phone", "0290001111"),
        ]),
    );
    assert_ne!(customer(&p), customer(&a));
    assert_eq!(
        db.get(customer(&a)).unwrap().unwrap().kind,
        EntityKind::ORGANIZATION
    );
}

#[test]
fn account_number_only_records_link_to_the_accounts_owner() {
    let db = Db::temporary().unwrap();
    // A record that carries the account number links by it.
    let a = upsert(
        &db,
        "core",
        "C1",
        rec(&[
            ("given_name", "Li"),
            ("family_name", "Wei"),
            ("account_number", "12-3456-789"),
        ]),
    );
    let b = upsert(&db, "cards", "K1", rec(&[("account_number", "123456789")]));
    assert_eq!(customer(&b), customer(&a), "{b:?}");
    // An account entity owned by a customer whose records never named it.
    let o = upsert(
        &db,
        "crm",
        "9",
        rec(&[
            ("given_name", "Tom"),
            ("family_name", "Hale"),
            ("email", "tom@h.io"),
        ]),
    );
    let acct = db
        .create(kith::NewEntity::new(EntityKind::ACCOUNT).attr(attrs::ACCOUNT_NUMBER, "55-0001"))
        .unwrap();
    db.relate(customer(&o), RelKind::OWNS, acct, kith::EdgeProps::new())
        .unwrap();
    let r = upsert(
        &db,
        "statements",
        "S1",
        rec(&[("account_number", "550001")]),
    );
    assert_eq!(customer(&r), customer(&o), "linked through OWNS: {r:?}");
    // A joint account: two owners, so a record naming only the account is
    // a possible match, never a merge of the two owners.
    let p = upsert(
        &db,
        "crm",
        "10",
        rec(&[
            ("given_name", "Uma"),
            ("family_name", "Hale"),
            ("email", "uma@h.io"),
        ]),
    );
    db.relate(customer(&p), RelKind::OWNS, acct, kith::EdgeProps::new())
        .unwrap();
    let j = upsert(
        &db,
        "statements",
        "S2",
        rec(&[("account_number", "550001")]),
    );
    assert!(matches!(j, Outcome::Possible { .. }), "{j:?}");
    assert_ne!(customer(&o), customer(&p));
}

#[test]
fn a_phone_many_records_share_is_weak_evidence() {
    use kith::resolve::compare::{compare_with, Frequencies, Rules};
    let x = rec(&[
        ("given_name", "Kim"),
        ("family_name", "Roe"),
        ("phone", "0411222333"),
    ]);
    let y = x.clone();
    let rare = compare_with(&Rules::default(), &x, &y, &Frequencies::default());
    let shared = compare_with(
        &Rules::default(),
        &x,
        &y,
        &Frequencies {
            phone: 40,
            ..Frequencies::default()
        },
    );
    assert!(
        shared.total < rare.total - 3.0,
        "{} vs {}",
        shared.total,
        rare.total
    );
    let rare_name = compare_with(
        &Rules::default(),
        &x,
        &y,
        &Frequencies {
            family_name: 1,
            ..Frequencies::default()
        },
    );
    let common_name = compare_with(
        &Rules::default(),
        &x,
        &y,
        &Frequencies {
            family_name: 5_000,
            ..Frequencies::default()
        },
    );
    assert!(rare_name.total > common_name.total + 2.0);
}

#[test]
fn addresses_and_phones_compare_after_normalization() {
    use kith::resolve::compare::{compare, Agreement};
    let x = rec(&[
        ("street", "12 High St."),
        ("unit", "Apt 5B"),
        ("phone", "+61 412 345 678"),
    ]);
    let y = rec(&[
        ("street", "12 high street"),
        ("unit", "#5b"),
        ("phone", "0412 345 678"),
    ]);
    let (fields, _) = compare(&x, &y);
    for f in [attrs::STREET, attrs::UNIT, attrs::PHONE] {
        let s = fields.iter().find(|s| s.field == f).unwrap();
        assert_eq!(s.agreement, Agreement::Exact, "{f}");
    }
    let z = rec(&[("street", "12 High Lane"), ("phone", "0412 345 679")]);
    let (fields, _) = compare(&x, &z);
    let street = fields.iter().find(|s| s.field == attrs::STREET).unwrap();
    assert_ne!(street.agreement, Agreement::Exact);
}

/// Two people of one family: one mailbox, one phone, one address; their
/// national ids, birth dates and first names all differ.
fn family(config: &ResolveConfig) -> (Db, kith::EntityId, kith::EntityId) {
    let db = Db::temporary().unwrap();
    let shared = [
        ("email", "the.smiths@example.com"),
        ("phone", "+1 555 010 2000"),
        ("house_number", "12"),
        ("street", "Elm Road"),
        ("city", "Springfield"),
        ("postal_code", "62701"),
    ];
    let person = |given, born, nid| {
        let mut r: Vec<(&str, &str)> = vec![
            ("given_name", given),
            ("family_name", "Smith"),
            ("birth_date", born),
            ("national_id", nid),
        ];
        r.extend(shared);
        rec(&r)
    };
    let a = db
        .upsert_record(
            "crm",
            "1",
            EntityKind::PERSON,
            person("John", "1961-03-04", "111-22-3333"),
            config,
        )
        .unwrap();
    let b = db
        .upsert_record(
            "web",
            "9",
            EntityKind::PERSON,
            person("Mary", "1964-11-23", "444-55-6666"),
            config,
        )
        .unwrap();
    (db, customer(&a), customer(&b))
}

#[test]
fn people_who_share_a_mailbox_phone_and_address_are_not_merged() {
    let (db, john, mary) = family(&ResolveConfig::default());
    assert_ne!(
        john, mary,
        "a shared email, phone and address merged two people"
    );
    assert!(db.check().unwrap().is_ok());
    // Without the vetoes the shared contact data alone merges them: the
    // vetoes are what holds them apart.
    let mut off = ResolveConfig::default();
    off.rules.set_vetoes(&[]).unwrap();
    let (_, j, m) = family(&off);
    assert_eq!(j, m, "the case no longer needs a veto; make it harder");
    // Only the national-id veto, or only the birth-date one, holds too.
    for only in ["national_id", "birth_date"] {
        let mut one = ResolveConfig::default();
        one.rules.set_vetoes(&[only.to_string()]).unwrap();
        let (_, j, m) = family(&one);
        assert_ne!(j, m, "{only} alone");
    }
    assert!(ResolveConfig::default()
        .rules
        .set_vetoes(&["nid".into()])
        .unwrap_err()
        .contains("national_id"));
}

/// The Novaks' family name, mailbox, phone and home.
const NOVAK_HOME: [(&str, &str); 6] = [
    ("family_name", "Novak"),
    ("email", "novak.home@example.com"),
    ("phone", "+1 555 010 3000"),
    ("house_number", "7"),
    ("street", "Birch Lane"),
    ("postal_code", "62704"),
];

/// Twins: one family name, one birth date, one home and mailbox; their
/// first names and national ids differ.
fn twin(db: &Db, key: &str, given: &str, nid: Option<&str>, born: Option<&str>) -> Outcome {
    let mut r = vec![("given_name", given)];
    r.extend(NOVAK_HOME);
    r.extend(nid.map(|n| ("national_id", n)));
    r.extend(born.map(|b| ("birth_date", b)));
    upsert(db, "crm", key, rec(&r))
}

#[test]
fn twins_with_their_own_national_ids_are_not_merged() {
    let db = Db::temporary().unwrap();
    let a = twin(&db, "1", "Petra", Some("111-22-3333"), Some("1990-05-06"));
    let b = twin(&db, "2", "Elena", Some("444-55-6666"), Some("1990-05-06"));
    assert_ne!(customer(&a), customer(&b), "twins merged: {b:?}");
    // Another record of Petra (her id, a nickname) still joins her.
    let c = twin(&db, "3", "Pet", Some("111-22-3333"), Some("1990-05-06"));
    assert_eq!(customer(&a), customer(&c), "{c:?}");
    assert!(db.check().unwrap().is_ok());
}

#[test]
fn a_record_bridging_two_people_joins_one_of_them() {
    let db = Db::temporary().unwrap();
    let petra = twin(&db, "1", "Petra", Some("111-22-3333"), Some("1990-05-06"));
    let elena = twin(&db, "2", "Elena", Some("444-55-6666"), Some("1990-05-06"));
    assert_ne!(customer(&petra), customer(&elena));
    // No national id, no birth date and no given name: it agrees with both
    // on the household's mailbox, phone and address and vetoes neither.
    let bridge = upsert(&db, "web", "W", rec(&NOVAK_HOME));
    assert!(
        !matches!(bridge, Outcome::Merged { .. }),
        "a record bridged two people into one: {bridge:?}"
    );
    assert_ne!(
        db.customer_of_record("crm", "1").unwrap(),
        db.customer_of_record("crm", "2").unwrap()
    );
    // "Why not": the web record and the twin it did not join match, but
    // joining them would put the two twins in one customer.
    let joined = db.customer_of_record("web", "W").unwrap();
    let other = if joined == db.customer_of_record("crm", "1").unwrap() {
        "2"
    } else {
        "1"
    };
    let why = db
        .explain_pair(("web", "W"), ("crm", other), &ResolveConfig::default())
        .unwrap()
        .why;
    match why {
        kith::resolve::PairWhy::Conflict { reason, .. } => assert_eq!(reason, "national_id"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert!(db.check().unwrap().is_ok());
}

#[test]
fn a_mistyped_id_or_date_still_links_one_person() {
    let db = Db::temporary().unwrap();
    let a = upsert(
        &db,
        "crm",
        "1",
        rec(&[
            ("given_name", "Ann"),
            ("family_name", "Okafor"),
            ("birth_date", "1980-02-01"),
            ("national_id", "123-45-6789"),
            ("email", "ann@x.io"),
        ]),
    );
    // Another system replaced the id by a wrong one, and mistyped the date.
    let b = upsert(
        &db,
        "billing",
        "7",
        rec(&[
            ("given_name", "Ann"),
            ("family_name", "Okafor"),
            ("birth_date", "1980-02-10"),
            ("national_id", "987-00-1111"),
            ("email", "ann@x.io"),
        ]),
    );
    assert_eq!(customer(&a), customer(&b), "{b:?}");
    // Given and family names swapped by a source, a different id: still one.
    let c = upsert(
        &db,
        "core",
        "X",
        rec(&[
            ("given_name", "Okafor"),
            ("family_name", "Ann"),
            ("birth_date", "1980-02-01"),
            ("national_id", "555-66-7777"),
            ("email", "ann@x.io"),
        ]),
    );
    assert_eq!(customer(&a), customer(&c), "{c:?}");
}

#[test]
#[cfg(feature = "import")]
fn a_mapping_file_chooses_the_vetoes() {
    let m = kith::import::Mapping::parse(
        "system = \"crm\"\nkey = \"id\"\n[columns]\ngiven_name = \"g\"\n[resolution]\nvetoes = [\"birth_date\"]\n",
    )
    .unwrap();
    assert_eq!(m.config().unwrap().rules.vetoes, vec!["birth_date"]);
    let e = kith::import::Mapping::parse(
        "system = \"crm\"\nkey = \"id\"\n[columns]\ngiven_name = \"g\"\n[resolution]\nvetoes = [\"dob\"]\n",
    )
    .unwrap_err();
    assert!(
        e.contains("unknown veto \"dob\"") && e.contains("birth_date"),
        "{e}"
    );
}

#[test]
fn the_review_queue_lists_undecided_possible_matches_best_first() {
    let db = Db::temporary().unwrap();
    let c = |key: &str, given: &str, family: &str, born: &str| {
        customer(&upsert(
            &db,
            "crm",
            key,
            rec(&[
                ("given_name", given),
                ("family_name", family),
                ("birth_date", born),
            ]),
        ))
    };
    let (a, b) = (
        c("1", "Ann", "Lee", "1970-01-02"),
        c("2", "Anne", "Leigh", "1981-05-06"),
    );
    let (x, y) = (
        c("3", "Bob", "Ray", "1960-03-04"),
        c("4", "Rob", "Rae", "1962-07-08"),
    );
    assert!(db.review_queue(10).unwrap().matches.is_empty());
    let possible = |p, q, score| {
        db.relate(
            p,
            RelKind::POSSIBLY_SAME,
            q,
            kith::EdgeProps::new().attr("score", Value::Int(score)),
        )
        .unwrap()
    };
    possible(b, a, 950);
    possible(y, x, 1100);
    let q = db.review_queue(10).unwrap();
    assert_eq!(q.total, 2);
    assert_eq!(
        (
            q.matches[0].customer,
            q.matches[0].candidate,
            q.matches[0].score
        ),
        (y, x, 11.0)
    );
    assert_eq!(q.matches[1].score, 9.5);
    assert_eq!(db.review_queue(1).unwrap().matches.len(), 1, "the limit");
    assert_eq!(db.review_queue(1).unwrap().total, 2, "the count is of all");
    // Deciding takes a pair off the queue, either way.
    db.force_apart(("crm", "3"), ("crm", "4"), &ResolveConfig::default())
        .unwrap();
    let q = db.review_queue(10).unwrap();
    assert_eq!(q.total, 1, "{q:?}");
    db.force_together(("crm", "1"), ("crm", "2")).unwrap();
    assert_eq!(db.review_queue(10).unwrap().total, 0);
}

#[test]
fn a_shared_role_mailbox_identifies_no_one() {
    let db = Db::temporary().unwrap();
    let a = upsert(
        &db,
        "crm",
        "1",
        rec(&[
            ("given_name", "J"),
            ("family_name", "Smith"),
            ("email", "info@acme.example"),
        ]),
    );
    let b = upsert(
        &db,
        "web",
        "2",
        rec(&[
            ("given_name", "Jo"),
            ("family_name", "Smith"),
            ("email", "INFO@acme.example"),
        ]),
    );
    assert_ne!(customer(&a), customer(&b), "info@ merged two people: {b:?}");
    // A personal address still links one person's records.
    let c = upsert(
        &db,
        "crm",
        "3",
        rec(&[
            ("given_name", "J"),
            ("family_name", "Smith"),
            ("email", "j.smith@acme.example"),
        ]),
    );
    let d = upsert(
        &db,
        "web",
        "4",
        rec(&[
            ("given_name", "Jo"),
            ("family_name", "Smith"),
            ("email", "j.smith@acme.example"),
        ]),
    );
    assert_eq!(customer(&c), customer(&d), "{d:?}");
    assert!(kith::resolve::compare::is_role_mailbox(
        "Sales+eu@shop.example"
    ));
    assert!(!kith::resolve::compare::is_role_mailbox(
        "sally@shop.example"
    ));
}

/// A mother and her daughter with near given names (Sherri, Sher), their
/// own national ids and birth dates, one home, mailbox and phone: two
/// customers, related `SHARES_CONTACT` by the veto that holds them apart.
#[test]
fn a_parent_and_a_child_with_near_names_stay_two_and_share_contact() {
    let db = Db::temporary().unwrap();
    let person = |given: &str, nid: &str, born: &str| {
        let mut r = vec![
            ("given_name", given),
            ("national_id", nid),
            ("birth_date", born),
        ];
        r.extend(NOVAK_HOME);
        rec(&r)
    };
    let mother = upsert(&db, "crm", "m", person("Sherri", "4017733", "1950-03-27"));
    let daughter = upsert(&db, "crm", "d", person("Sher", "2877113", "1982-04-24"));
    assert_ne!(mother.customer(), daughter.customer(), "{daughter:?}");
    // One link, in either direction (it relates the two; its direction
    // follows the records' canonical order).
    let mut links = db
        .neighbours(daughter.customer(), RelKind::SHARES_CONTACT, Direction::Out)
        .unwrap();
    links.extend(
        db.neighbours(daughter.customer(), RelKind::SHARES_CONTACT, Direction::In)
            .unwrap(),
    );
    assert_eq!(links.len(), 1, "{links:?}");
    assert_eq!(links[0].id, mother.customer());
    assert_eq!(
        links[0].props.attrs.get("via"),
        Some(&Value::from("national_id"))
    );
    // The daughter's second record, without a national id, joins her.
    let again = upsert(
        &db,
        "web",
        "d2",
        rec(&[
            ("given_name", "Sher"),
            ("family_name", "Novak"),
            ("birth_date", "1982-04-24"),
            ("email", "novak.home@example.com"),
        ]),
    );
    assert_eq!(again.customer(), daughter.customer(), "{again:?}");
    assert!(db.check().unwrap().is_ok());
}

/// A record holding a current and a maiden family name meets the record of
/// another system that knows only the maiden name: blocked and compared on
/// each value, one customer; the golden family name is one of the values.
#[test]
fn a_former_name_links_and_survivorship_picks_one_value_of_a_list() {
    let db = Db::temporary().unwrap();
    let mut a = rec(&[
        ("given_name", "Maria"),
        ("birth_date", "1971-08-14"),
        ("national_id", "555-12-9876"),
        ("postal_code", "10115"),
    ]);
    a.insert(
        attrs::FAMILY_NAME.into(),
        Value::List(vec![Value::from("Lopez"), Value::from("Garcia")]),
    );
    let first = upsert(&db, "core", "A", a);
    // The old system knows her by her maiden name only, and no id.
    let second = upsert(
        &db,
        "legacy",
        "B",
        rec(&[
            ("given_name", "Maria"),
            ("family_name", "Garcia"),
            ("birth_date", "1971-08-14"),
            ("postal_code", "10115"),
        ]),
    );
    assert_eq!(second.customer(), first.customer(), "{second:?}");
    let lineage = db.lineage(first.customer()).unwrap();
    let family = lineage.iter().find(|l| l.attr == "family_name").unwrap();
    assert_eq!(family.value, Value::from("Garcia"), "{family:?}");
    assert_eq!(family.agreeing, 2);
    assert_eq!(family.rule, "frequency");
    // The golden record holds one value, not the list.
    let c = db.get(first.customer()).unwrap().unwrap();
    assert_eq!(c.text(attrs::FAMILY_NAME), Some("Garcia"));
    assert!(db.check().unwrap().is_ok());
}

/// Typed identifiers: a passport number links a person's records across
/// systems that share nothing else strong; two companies with different
/// LEIs stay two, whatever their names.
#[test]
fn passports_link_people_and_different_leis_keep_companies_apart() {
    let db = Db::temporary().unwrap();
    let a = upsert(
        &db,
        "kyc",
        "1",
        rec(&[
            ("given_name", "Ines"),
            ("family_name", "Duarte"),
            ("passport", "PT:CB123456"),
        ]),
    );
    let b = upsert(
        &db,
        "travel",
        "9",
        rec(&[
            ("given_name", "Ines"),
            ("family_name", "Duarte Silva"),
            ("passport", "PT CB123456"),
        ]),
    );
    assert_eq!(a.customer(), b.customer(), "{b:?}");
    let (_, total) = db.compare_records(("kyc", "1"), ("travel", "9")).unwrap();
    assert!(total >= 12.0, "{total}");
    let org = |key: &str, lei: &str| {
        upsert_org(
            &db,
            "crm",
            key,
            org(&[
                ("organization_name", "Acme Holdings Ltd"),
                ("postal_code", "EC1A 1BB"),
                ("lei", lei),
            ]),
        )
    };
    let x = org("o1", "5493001KJTIIGC8Y1R12");
    let y = org("o2", "213800D1EI4B9WTWWD28");
    assert_ne!(x.customer(), y.customer(), "{y:?}");
    let z = org("o3", "5493001KJTIIGC8Y1R12");
    assert_eq!(z.customer(), x.customer(), "{z:?}");
    assert!(db.check().unwrap().is_ok());
}

/// A record with a personal and a role mailbox shares only the role one
/// with another: a quarter of the email's weight, as for one role mailbox.
#[test]
fn a_role_mailbox_in_a_list_of_emails_still_weighs_a_quarter() {
    let db = Db::temporary().unwrap();
    let mut x = rec(&[("given_name", "Ann"), ("family_name", "Lee")]);
    x.insert(
        attrs::EMAIL.into(),
        Value::List(vec![
            Value::from("ann.lee@mail.example"),
            Value::from("info@acme.example"),
        ]),
    );
    upsert(&db, "crm", "1", x);
    upsert(
        &db,
        "crm",
        "2",
        rec(&[
            ("given_name", "Bob"),
            ("family_name", "Ray"),
            ("email", "INFO@acme.example"),
        ]),
    );
    let (fields, _) = db.compare_records(("crm", "1"), ("crm", "2")).unwrap();
    let email = fields.iter().find(|f| f.field == "email").unwrap();
    assert_eq!(email.weight, 3.0, "{email:?}");
    assert_ne!(
        db.customer_of_record("crm", "1").unwrap(),
        db.customer_of_record("crm", "2").unwrap()
    );
}

/// Twins (Carly and Ernie Carley: one birth date, home and mailbox, two
/// national ids) where one source swapped Ernie's names ("Carley Ernie"):
/// that record is a letter from Carly's given name and holds Ernie's id,
/// but it never makes the two one — in any order of arrival.
#[test]
fn a_twin_record_with_swapped_names_does_not_merge_the_twins() {
    let home = [
        ("house_number", "159"),
        ("street", "oxford lane"),
        ("postal_code", "6437"),
        ("birth_date", "1986-06-17"),
        ("phone", "0433477338"),
        ("email", "carley.home60@mail.example"),
    ];
    let person = |given: &str, family: &str, nid: &str| {
        let mut r = vec![
            ("given_name", given),
            ("family_name", family),
            ("national_id", nid),
        ];
        r.extend(home);
        rec(&r)
    };
    let records = [
        ("1", person("carly", "carley", "3524040434")),
        ("2", person("ernie", "carley", "1923562271")),
        ("3", person("ernie", "carley", "1923562271")),
        ("4", person("carley", "ernie", "1923562271")),
    ];
    for order in [[0, 1, 2, 3], [3, 2, 1, 0], [1, 3, 0, 2], [3, 0, 1, 2]] {
        let db = Db::temporary().unwrap();
        for i in order {
            let (key, r) = &records[i];
            upsert(&db, "crm", key, r.clone());
        }
        let of = |k: &str| db.customer_of_record("crm", k).unwrap();
        assert_ne!(of("1"), of("2"), "twins merged in order {order:?}");
        assert_eq!(of("2"), of("3"), "order {order:?}");
        assert!(db.check().unwrap().is_ok());
    }
}
