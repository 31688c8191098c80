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
    assert!(db.delete_record("core", "9", &cfg).unwrap().unwrap().customer_deleted);
    assert_eq!(db.get(customer(&b)).unwrap(), None);
    assert!(db.delete_record("core", "9", &cfg).unwrap().is_none());
    assert!(db.check().unwrap().is_ok());
}

/// FEBRL's first set (../shared/data, beside the checkout), as `kith import`
/// with bench/febrl/febrl.toml would read it.
fn febrl1() -> Vec<(String, Attrs)> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/data/febrl/febrl1.csv"
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

#[test]
fn loading_records_in_another_order_yields_the_same_customers() {
    let records = febrl1();
    assert_eq!(records.len(), 1000);
    let original = partition(&records);
    for seed in [1u64, 2] {
        let mut shuffled = records.clone();
        let mut r = kith::generate::Rng::new(seed);
        for i in (1..shuffled.len()).rev() {
            shuffled.swap(i, r.below(i as u64 + 1) as usize);
        }
        assert_eq!(
            partition(&shuffled),
            original,
            "order {seed} gave other customers"
        );
    }
}
