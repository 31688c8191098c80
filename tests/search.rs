//! Name search: prefix words, fuzzy words, limits that say they cut, the
//! index kept exact through updates and deletes.
use kith::{attrs, Db, NewEntity, Patch};

fn person(db: &Db, given: &str, family: &str) -> kith::EntityId {
    db.create(
        NewEntity::person()
            .attr(attrs::GIVEN_NAME, given)
            .attr(attrs::FAMILY_NAME, family),
    )
    .unwrap()
}

#[test]
fn words_match_by_prefix_then_fuzzily() {
    let db = Db::temporary().unwrap();
    let ann = person(&db, "Ann", "Lee");
    let annabel = person(&db, "Annabel", "Leeds");
    let john = person(&db, "John", "Smith");
    let acme = db
        .create(NewEntity::organization().attr(attrs::ORGANIZATION_NAME, "Acme Holdings Ltd"))
        .unwrap();
    // An account named like a person is not a party: not found.
    db.create(NewEntity::account().attr(attrs::NAME, "Ann Lee savings"))
        .unwrap();

    let ids = |q: &str| -> Vec<kith::EntityId> {
        db.search_names(q, 10)
            .unwrap()
            .matches
            .iter()
            .map(|m| m.id)
            .collect()
    };
    assert_eq!(ids("ann le"), vec![ann, annabel]);
    assert_eq!(ids("LEE"), vec![ann, annabel], "the whole word ranks first");
    assert_eq!(db.search_names("lee", 1).unwrap().matches[0].id, ann);
    // Close names follow the exact ones, marked as fuzzy.
    let both = db.search_names("leeds annabel", 10).unwrap().matches;
    assert_eq!((both[0].id, both[0].prefix), (annabel, true));
    assert_eq!((both[1].id, both[1].prefix), (ann, false));
    assert_eq!(ids("leeds annabel")[..1], [annabel]);
    assert_eq!(ids("acme"), vec![acme]);
    assert_eq!(ids("holdings"), vec![acme]);
    assert!(ids("nobody").is_empty());
    let obrien = person(&db, "Kate", "O'Brien");
    assert_eq!(ids("obrien"), vec![obrien]);
    assert_eq!(ids("o'brien kate"), vec![obrien]);
    assert!(ids("  ,; ").is_empty());
    let fuzzy = db.search_names("jon smyth", 10).unwrap();
    assert_eq!(fuzzy.matches.len(), 1, "{fuzzy:?}");
    assert_eq!(fuzzy.matches[0].id, john);
    assert!(!fuzzy.matches[0].prefix);
    assert!(db.search_names("smith", 10).unwrap().matches[0].prefix);

    let cut = db.search_names("le", 1).unwrap();
    assert_eq!(cut.matches.len(), 1);
    let why = cut.truncated.expect("a cut answer says so");
    assert!(why.contains("2 parties match"), "{why}");
    assert_eq!(db.search_names("ann", 10).unwrap().truncated, None);

    // Renaming moves the index; deleting empties it.
    db.update(john, Patch::new().set(attrs::FAMILY_NAME, "Smithers"))
        .unwrap();
    assert_eq!(ids("smithers"), vec![john]);
    assert_eq!(ids("john smithers"), vec![john]);
    db.delete(annabel).unwrap();
    assert_eq!(ids("lee"), vec![ann]);
    let report = db.check().unwrap();
    assert!(report.is_ok(), "{:?}", report.violations);
}

#[test]
fn a_merged_party_answers_as_its_survivor() {
    use kith::resolve::ResolveConfig;
    let db = Db::temporary().unwrap();
    let rec = |key: &str, given: &str, born: &str| {
        let fields = kith::Attrs::from_iter([
            (attrs::GIVEN_NAME.to_string(), kith::Value::from(given)),
            (attrs::FAMILY_NAME.to_string(), kith::Value::from("Quist")),
            (attrs::BIRTH_DATE.to_string(), kith::Value::from(born)),
        ]);
        db.upsert_record(
            "crm",
            key,
            kith::EntityKind::PERSON,
            fields,
            &ResolveConfig::default(),
        )
        .unwrap()
        .customer()
    };
    let a = rec("1", "Zelda", "1970-03-01");
    let b = rec("2", "Zora", "1981-11-30");
    assert_ne!(a, b);
    assert_eq!(db.search_names("quist", 10).unwrap().matches.len(), 2);
    let survivor = db.force_together(("crm", "1"), ("crm", "2")).unwrap();
    let found = db.search_names("quist", 10).unwrap();
    assert_eq!(found.matches.len(), 1, "{found:?}");
    assert_eq!(found.matches[0].id, survivor);
}
