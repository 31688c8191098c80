//! The public API: creates, reads, updates, deletes, relationships, indexes,
//! listings, the kind registry, write sets.

use kith::{
    attrs, Date, Db, Decimal, Direction, EdgeProps, EntityId, EntityKind, Index, NewEntity, Patch,
    ReadError, RelKind, Value, WriteError,
};

fn ann() -> NewEntity {
    NewEntity::person()
        .attr(attrs::GIVEN_NAME, "Ann")
        .attr(attrs::FAMILY_NAME, "Lee")
        .attr(attrs::BIRTH_DATE, Date::parse("1980-02-01").unwrap())
        .attr(attrs::EMAIL, "Ann.Lee@Example.com")
        .attr(attrs::PHONE, "(555) 123-4567")
        .attr(attrs::NATIONAL_ID, "123-45-6789")
        .attr(attrs::POSTAL_CODE, "sw1a 1aa")
        .identifier("crm", "C-1")
        .identifier("core_banking", "CB-1")
}

#[test]
fn create_get_lookup_and_find_by_every_index() {
    let db = Db::temporary().unwrap();
    let id = db.create(ann()).unwrap();
    let e = db.get(id).unwrap().unwrap();
    assert_eq!(e.kind, EntityKind::PERSON);
    assert_eq!(e.text(attrs::GIVEN_NAME), Some("Ann"));
    assert_eq!(e.identifiers().len(), 2);
    assert_eq!(db.lookup("crm", "C-1").unwrap(), Some(id));
    assert_eq!(db.lookup("crm", "C-2").unwrap(), None);
    assert_eq!(
        db.lookup("CRM", "C-1").unwrap(),
        None,
        "systems are case-sensitive"
    );
    assert_eq!(
        db.find(Index::Email, " ann.lee@example.COM").unwrap(),
        vec![id]
    );
    assert_eq!(db.find(Index::Phone, "+1 555 123 4567").unwrap(), vec![id]);
    assert_eq!(db.find(Index::NationalId, "123456789").unwrap(), vec![id]);
    assert_eq!(db.find(Index::PostalCode, "SW1A1AA").unwrap(), vec![id]);
    assert_eq!(
        db.find(Index::NameBirthDate, "LEE|1980-02-01").unwrap(),
        vec![id]
    );
    assert_eq!(
        db.find(Index::NameBirthDate, "Lee|1980-02-02").unwrap(),
        vec![]
    );
    assert_eq!(db.find(Index::Email, "not an email").unwrap(), vec![]);
    assert!(db.check().unwrap().is_ok());
}

#[test]
fn unknown_ids_are_none_or_not_found() {
    let db = Db::temporary().unwrap();
    let missing = EntityId(999);
    assert_eq!(db.get(missing).unwrap(), None);
    assert_eq!(
        db.update(missing, Patch::new().set("x", "y")).unwrap_err(),
        WriteError::NotFound(missing)
    );
    assert!(!db.delete(missing).unwrap());
    let id = db.create(ann()).unwrap();
    assert_eq!(
        db.relate(id, RelKind::SPOUSE_OF, missing, EdgeProps::new())
            .unwrap_err(),
        WriteError::NotFound(missing)
    );
    assert!(!db.unrelate(id, RelKind::SPOUSE_OF, missing).unwrap());
    assert_eq!(
        db.neighbours(missing, RelKind::OWNS, Direction::Out)
            .unwrap(),
        vec![]
    );
}

#[test]
fn duplicate_identifier_is_refused_and_nothing_is_written() {
    let db = Db::temporary().unwrap();
    let first = db.create(ann()).unwrap();
    let before = db.stats().unwrap();
    let err = db
        .create(
            NewEntity::person()
                .attr(attrs::EMAIL, "other@example.com")
                .identifier("web", "W-1")
                .identifier("crm", "C-1"),
        )
        .unwrap_err();
    match err {
        WriteError::IdentifierTaken { identifier, owner } => {
            assert_eq!(identifier.to_string(), "crm:C-1");
            assert_eq!(owner, first);
        }
        other => panic!("expected IdentifierTaken, got {other:?}"),
    }
    assert_eq!(
        db.lookup("web", "W-1").unwrap(),
        None,
        "half of the write stored"
    );
    assert_eq!(db.find(Index::Email, "other@example.com").unwrap(), vec![]);
    assert_eq!(db.stats().unwrap(), before);
    // Taking it through an update is refused too.
    let second = db
        .create(NewEntity::person().identifier("web", "W-2"))
        .unwrap();
    assert!(matches!(
        db.update(second, Patch::new().add_identifier("core_banking", "CB-1")),
        Err(WriteError::IdentifierTaken { .. })
    ));
    assert_eq!(db.lookup("core_banking", "CB-1").unwrap(), Some(first));
    assert!(db.check().unwrap().is_ok());
}

#[test]
fn updates_and_deletes_keep_indexes_exact() {
    let db = Db::temporary().unwrap();
    let id = db.create(ann()).unwrap();
    let e = db
        .update(
            id,
            Patch::new()
                .set(
                    attrs::EMAIL,
                    Value::List(vec!["a@x.io".into(), "b@x.io".into()]),
                )
                .remove(attrs::PHONE)
                .remove_identifier("crm", "C-1")
                .add_identifier("web", "W-9"),
        )
        .unwrap();
    assert!(e.updated >= e.created);
    assert_eq!(
        db.find(Index::Email, "ann.lee@example.com").unwrap(),
        vec![]
    );
    assert_eq!(db.find(Index::Email, "b@x.io").unwrap(), vec![id]);
    assert_eq!(db.find(Index::Phone, "555 123 4567").unwrap(), vec![]);
    assert_eq!(db.lookup("crm", "C-1").unwrap(), None);
    assert_eq!(db.lookup("web", "W-9").unwrap(), Some(id));
    assert!(db.check().unwrap().is_ok());
    // The freed identifier can be taken by someone else.
    let other = db
        .create(NewEntity::person().identifier("crm", "C-1"))
        .unwrap();
    assert_eq!(db.lookup("crm", "C-1").unwrap(), Some(other));

    let acct = db
        .create(NewEntity::account().attr(attrs::ACCOUNT_NUMBER, "ACC-1"))
        .unwrap();
    db.relate(id, RelKind::OWNS, acct, EdgeProps::new())
        .unwrap();
    db.relate(other, RelKind::SPOUSE_OF, id, EdgeProps::new())
        .unwrap();
    db.relate(id, RelKind::GUARANTEES, id, EdgeProps::new())
        .unwrap(); // a self-loop
    assert!(db.delete(id).unwrap());
    assert_eq!(db.get(id).unwrap(), None);
    assert_eq!(db.find(Index::Email, "a@x.io").unwrap(), vec![]);
    assert_eq!(
        db.find(Index::NameBirthDate, "Lee|1980-02-01").unwrap(),
        vec![]
    );
    assert_eq!(db.lookup("web", "W-9").unwrap(), None);
    assert_eq!(
        db.neighbours(acct, RelKind::OWNS, Direction::In).unwrap(),
        vec![]
    );
    assert_eq!(
        db.neighbours(other, RelKind::SPOUSE_OF, Direction::Out)
            .unwrap(),
        vec![]
    );
    let s = db.stats().unwrap();
    assert_eq!(s.relationships["OWNS"], 0);
    assert_eq!(s.relationships["GUARANTEES"], 0);
    assert_eq!(s.entities["person"], 1);
    let report = db.check().unwrap();
    assert!(report.is_ok(), "{:?}", report.violations);
}

#[test]
fn relationships_in_both_directions_with_properties() {
    let db = Db::temporary().unwrap();
    let a = db.create(ann()).unwrap();
    let b = db
        .create(NewEntity::person().attr(attrs::GIVEN_NAME, "Bo"))
        .unwrap();
    let hh = db.create(NewEntity::household()).unwrap();
    let loan = db
        .create(
            NewEntity::account()
                .attr(attrs::PRODUCT_TYPE, "loan")
                .attr(attrs::BALANCE, Decimal::parse("1500.25").unwrap()),
        )
        .unwrap();
    let props = EdgeProps::new()
        .attr(attrs::AMOUNT, Decimal::parse("1000.00").unwrap())
        .valid(Some(Date::parse("2020-01-01").unwrap()), None);
    assert!(db
        .relate(b, RelKind::GUARANTEES, loan, props.clone())
        .unwrap());
    assert!(db
        .relate(
            a,
            RelKind::MEMBER_OF,
            hh,
            EdgeProps::new().attr(attrs::ROLE, "head")
        )
        .unwrap());
    assert!(db
        .relate(
            b,
            RelKind::MEMBER_OF,
            hh,
            EdgeProps::new().attr(attrs::ROLE, "member")
        )
        .unwrap());
    // Relating again replaces the properties and is not a new relationship.
    assert!(!db
        .relate(
            b,
            RelKind::MEMBER_OF,
            hh,
            EdgeProps::new().attr(attrs::ROLE, "head")
        )
        .unwrap());

    let g = db
        .neighbours(loan, RelKind::GUARANTEES, Direction::In)
        .unwrap();
    assert_eq!(g.len(), 1);
    assert_eq!(g[0].id, b);
    assert_eq!(g[0].direction, Direction::In);
    assert_eq!(g[0].props, props);
    assert!(g[0].props.holds_on(Date::parse("2021-06-01").unwrap()));
    assert!(!g[0].props.holds_on(Date::parse("2019-06-01").unwrap()));
    let members = db
        .neighbour_ids(hh, RelKind::MEMBER_OF, Direction::In)
        .unwrap();
    assert_eq!(members, vec![a, b]);
    let roles: Vec<_> = db
        .neighbours(hh, RelKind::MEMBER_OF, Direction::In)
        .unwrap()
        .into_iter()
        .map(|n| n.props.attrs[attrs::ROLE].clone())
        .collect();
    assert_eq!(roles, vec![Value::from("head"), Value::from("head")]);
    assert_eq!(db.edges(b, Direction::Out).unwrap().len(), 2);
    assert!(db.unrelate(b, RelKind::GUARANTEES, loan).unwrap());
    assert!(!db.unrelate(b, RelKind::GUARANTEES, loan).unwrap());
    assert_eq!(db.stats().unwrap().relationships["MEMBER_OF"], 2);
    // A relationship that ends before it starts is refused.
    let bad = EdgeProps::new().valid(
        Date::parse("2020-01-02").ok(),
        Date::parse("2020-01-01").ok(),
    );
    assert!(matches!(
        db.relate(a, RelKind::SPOUSE_OF, b, bad),
        Err(WriteError::Invalid(_))
    ));
    assert!(db.check().unwrap().is_ok());
}

#[test]
fn listing_by_kind_is_paginated() {
    let db = Db::temporary().unwrap();
    let mut persons = Vec::new();
    for i in 0..25 {
        persons.push(
            db.create(NewEntity::person().identifier("s", i.to_string()))
                .unwrap(),
        );
        db.create(NewEntity::household()).unwrap();
    }
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = db.list(EntityKind::PERSON, after, 10).unwrap();
        seen.extend(page.ids.iter().copied());
        match page.next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    assert_eq!(seen, persons);
    assert_eq!(db.list(EntityKind::PERSON, None, 25).unwrap().next, None);
    assert!(matches!(
        db.list(EntityKind::PERSON, None, 0),
        Err(ReadError::InvalidQuery(_))
    ));
}

#[test]
fn kind_registry_lives_in_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let (invests, branch) = {
        let db = Db::open(dir.path()).unwrap();
        let invests = db.register_relationship_kind("INVESTS_IN").unwrap();
        assert_eq!(
            db.register_relationship_kind("INVESTS_IN").unwrap(),
            invests
        );
        let branch = db.register_entity_kind("branch").unwrap();
        assert!(matches!(
            db.register_relationship_kind("invests in"),
            Err(WriteError::Invalid(_))
        ));
        assert!(matches!(
            db.register_entity_kind("Branch"),
            Err(WriteError::Invalid(_))
        ));
        let a = db.create(NewEntity::organization()).unwrap();
        let b = db.create(NewEntity::new(branch)).unwrap();
        db.relate(
            a,
            invests,
            b,
            EdgeProps::new().attr("ratio", Decimal::parse("0.25").unwrap()),
        )
        .unwrap();
        (invests, branch)
    };
    let db = Db::open(dir.path()).unwrap();
    assert_eq!(db.relationship_kind("INVESTS_IN"), Some(invests));
    assert_eq!(db.entity_kind("branch"), Some(branch));
    assert_eq!(db.relationship_kind("OWNS"), Some(RelKind::OWNS));
    assert_eq!(db.stats().unwrap().relationships["INVESTS_IN"], 1);
    assert_eq!(db.stats().unwrap().entities["branch"], 1);
    assert!(db.check().unwrap().is_ok());
    // A kind registered in another database is unknown here.
    let other = Db::temporary().unwrap();
    assert!(matches!(
        other.create(NewEntity::new(branch)),
        Err(WriteError::UnknownKind { .. })
    ));
    let x = other.create(NewEntity::person()).unwrap();
    assert!(matches!(
        other.relate(x, invests, x, EdgeProps::new()),
        Err(WriteError::UnknownKind { .. })
    ));
}

#[test]
fn a_write_set_is_all_or_nothing() {
    let db = Db::temporary().unwrap();
    db.create(NewEntity::person().identifier("crm", "taken"))
        .unwrap();
    let before = db.stats().unwrap();
    let mut w = db.write_set();
    let p = w
        .create(NewEntity::person().identifier("crm", "new"))
        .unwrap();
    let h = w.create(NewEntity::household()).unwrap();
    w.relate(p, RelKind::MEMBER_OF, h, EdgeProps::new())
        .unwrap();
    w.create(NewEntity::person().identifier("crm", "taken"))
        .unwrap();
    assert!(matches!(
        w.commit(),
        Err(WriteError::IdentifierTaken { .. })
    ));
    assert_eq!(db.get(p).unwrap(), None);
    assert_eq!(db.lookup("crm", "new").unwrap(), None);
    assert_eq!(db.stats().unwrap(), before);

    let mut w = db.write_set();
    let p = w
        .create(NewEntity::person().identifier("crm", "new"))
        .unwrap();
    let h = w.create(NewEntity::household()).unwrap();
    w.relate(p, RelKind::MEMBER_OF, h, EdgeProps::new())
        .unwrap();
    w.relate(p, RelKind::MEMBER_OF, h, EdgeProps::new())
        .unwrap();
    let c = w.commit().unwrap();
    assert_eq!(c.created, vec![p, h]);
    assert_eq!(c.new_relationships, 1);
    assert_eq!(
        db.neighbour_ids(h, RelKind::MEMBER_OF, Direction::In)
            .unwrap(),
        vec![p]
    );
    // Two creates in one set claiming one identifier.
    let mut w = db.write_set();
    w.create(NewEntity::person().identifier("x", "1")).unwrap();
    w.create(NewEntity::person().identifier("x", "1")).unwrap();
    assert!(matches!(
        w.commit(),
        Err(WriteError::IdentifierTaken { .. })
    ));
    assert_eq!(db.lookup("x", "1").unwrap(), None);
    assert!(db.check().unwrap().is_ok());
}

#[test]
fn invalid_writes_are_refused() {
    let db = Db::temporary().unwrap();
    assert!(matches!(
        db.create(NewEntity::person().identifier("", "k")),
        Err(WriteError::Invalid(_))
    ));
    assert!(matches!(
        db.create(NewEntity::person().identifier("s", "  ")),
        Err(WriteError::Invalid(_))
    ));
    assert!(matches!(
        db.create(NewEntity::person().attr("", "v")),
        Err(WriteError::Invalid(_))
    ));
    assert_eq!(db.stats().unwrap().entities["person"], 0);
}

#[test]
fn db_is_shared_across_threads() {
    fn assert_send_sync<T: Send + Sync + Clone>() {}
    assert_send_sync::<Db>();
    let db = Db::builder()
        .temporary()
        .durability(kith::Durability::Background { every_ms: 100 })
        .open()
        .unwrap();
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let db = db.clone();
            std::thread::spawn(move || {
                for i in 0..200 {
                    let id = db
                        .create(NewEntity::person().identifier("t", format!("{t}-{i}")))
                        .unwrap();
                    assert_eq!(db.lookup("t", &format!("{t}-{i}")).unwrap(), Some(id));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(db.stats().unwrap().entities["person"], 800);
    assert!(db.check().unwrap().is_ok());
}

#[test]
fn merging_one_entity_into_another_moves_everything_atomically() {
    let db = Db::temporary().unwrap();
    let from = db
        .create(NewEntity::person().identifier("crm", "A"))
        .unwrap();
    let into = db
        .create(NewEntity::person().identifier("crm", "B"))
        .unwrap();
    let acct = db.create(NewEntity::account()).unwrap();
    let hh = db.create(NewEntity::household()).unwrap();
    let other = db.create(NewEntity::person()).unwrap();
    db.relate(
        from,
        RelKind::OWNS,
        acct,
        EdgeProps::new().attr(attrs::ROLE, "joint"),
    )
    .unwrap();
    db.relate(
        into,
        RelKind::OWNS,
        acct,
        EdgeProps::new().attr(attrs::ROLE, "primary"),
    )
    .unwrap();
    db.relate(from, RelKind::MEMBER_OF, hh, EdgeProps::new())
        .unwrap();
    db.relate(other, RelKind::SPOUSE_OF, from, EdgeProps::new())
        .unwrap();
    db.relate(from, RelKind::GUARANTEES, into, EdgeProps::new())
        .unwrap();
    let call = db
        .append_interaction(
            from,
            NewEntity::new(EntityKind::INTERACTION)
                .attr(attrs::OCCURRED_AT, kith::Timestamp::from_micros(5)),
        )
        .unwrap();
    db.merge_into(
        from,
        into,
        Patch::new().set(attrs::MERGED_INTO, Value::Int(into.0 as i64)),
    )
    .unwrap();

    assert!(db.edges(from, Direction::Out).unwrap().is_empty());
    assert!(db.edges(from, Direction::In).unwrap().is_empty());
    assert_eq!(
        db.get(from).unwrap().unwrap().attr(attrs::MERGED_INTO),
        Some(Value::Int(into.0 as i64))
    );
    let owns = db.neighbours(acct, RelKind::OWNS, Direction::In).unwrap();
    assert_eq!(owns.len(), 1, "one owner left");
    assert_eq!(
        owns[0].props.attrs[attrs::ROLE],
        Value::from("primary"),
        "the survivor's properties win"
    );
    assert_eq!(
        db.neighbour_ids(hh, RelKind::MEMBER_OF, Direction::In)
            .unwrap(),
        vec![into]
    );
    assert_eq!(
        db.neighbour_ids(other, RelKind::SPOUSE_OF, Direction::Out)
            .unwrap(),
        vec![into]
    );
    assert!(
        db.neighbour_ids(into, RelKind::GUARANTEES, Direction::In)
            .unwrap()
            .is_empty(),
        "between the two: dropped"
    );
    assert_eq!(
        db.recent_interactions(into, 5).unwrap(),
        vec![(kith::Timestamp::from_micros(5), call)]
    );
    assert!(db.recent_interactions(from, 5).unwrap().is_empty());
    assert_eq!(
        db.lookup("crm", "A").unwrap(),
        Some(from),
        "identifiers stay with their entity"
    );
    let report = db.check().unwrap();
    assert!(report.is_ok(), "{:?}", report.violations);
    assert_eq!(db.stats().unwrap().relationships["OWNS"], 1);
    assert!(matches!(
        db.merge_into(from, from, Patch::new()),
        Err(WriteError::Invalid(_))
    ));
    assert!(matches!(
        db.merge_into(EntityId(999), into, Patch::new()),
        Err(WriteError::NotFound(_))
    ));
}

/// Prewarming reads every stored pair (more as the store grows) and leaves
/// the data as it was, on a store reopened from disk.
#[test]
fn prewarm_reads_the_whole_store_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let ids: Vec<EntityId> = {
        let db = Db::open(&path).unwrap();
        let empty = db.prewarm().unwrap();
        let ids = (0..50)
            .map(|i| {
                db.create(
                    NewEntity::person()
                        .attr(attrs::GIVEN_NAME, format!("P{i}"))
                        .identifier("crm", format!("C-{i}")),
                )
                .unwrap()
            })
            .collect();
        let full = db.prewarm().unwrap();
        assert!(
            full.pairs >= empty.pairs + 50 * 3,
            "each person is a row, a kind listing and an identifier: {empty:?} then {full:?}"
        );
        assert!(full.bytes > empty.bytes);
        ids
    };
    let db = Db::open(&path).unwrap();
    let w = db.prewarm().unwrap();
    assert!(w.pairs > 150);
    for (i, id) in ids.iter().enumerate() {
        assert_eq!(db.lookup("crm", &format!("C-{i}")).unwrap(), Some(*id));
        let e = db.get(*id).unwrap().unwrap();
        assert_eq!(e.text(attrs::GIVEN_NAME), Some(format!("P{i}").as_str()));
    }
    assert!(db.check().unwrap().is_ok());
}
