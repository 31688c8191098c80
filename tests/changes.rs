//! The transactional write path and the change feed, through the public API:
//! transactions (read-your-writes, rollback), change sets, the log (read,
//! follow, trim), consumer groups across reopens, the context cache fed by
//! change sets, concurrent resolution, and `check()` on what it guards.

use kith::resolve::ResolveConfig;
use kith::{
    attrs, Change, ChangeId, Db, Decimal, Direction, EdgeProps, EntityKind, FeedError, NewEntity,
    Patch, RelKind, Retention, Timestamp, Value, WriteError,
};
use std::time::{Duration, Instant};

#[test]
fn a_transaction_reads_its_own_writes_and_commits_once() {
    let db = Db::temporary().unwrap();
    let done = db
        .transaction(|tx| {
            let ann = tx.create(
                NewEntity::person()
                    .attr(attrs::EMAIL, "ann@example.com")
                    .identifier("crm", "A"),
            )?;
            let acct = tx.create(
                NewEntity::account().attr(attrs::BALANCE, Decimal::parse("10.00").unwrap()),
            )?;
            tx.relate(ann, RelKind::OWNS, acct, EdgeProps::new())?;
            assert_eq!(tx.lookup("crm", "A").unwrap(), Some(ann));
            assert_eq!(
                tx.find(kith::Index::Email, "ANN@example.com").unwrap(),
                vec![ann]
            );
            assert_eq!(
                tx.neighbour_ids(acct, RelKind::OWNS, Direction::In)
                    .unwrap(),
                vec![ann]
            );
            // Not visible outside until committed.
            assert_eq!(db.lookup("crm", "A").unwrap(), None);
            Ok::<_, WriteError>((ann, acct))
        })
        .unwrap();
    let (ann, acct) = done.value;
    assert_eq!(db.lookup("crm", "A").unwrap(), Some(ann));
    let c = &done.changes;
    assert_eq!(c.customers, vec![ann]);
    assert!(c.touched.contains(&ann) && c.touched.contains(&acct));
    let types: Vec<&str> = c.changes.iter().map(|e| e.change.type_name()).collect();
    assert_eq!(
        types,
        [
            "entity.created",
            "identifier.added",
            "entity.created",
            "relationship.added",
            "commit"
        ]
    );
    let commit = c.changes[0].id.seq;
    assert!(c.changes.iter().all(|e| e.commit == commit));
    for w in c.changes.windows(2) {
        assert_eq!(w[1].id.seq, w[0].id.seq + 1);
        assert!(w[1].id > w[0].id);
    }
    assert!(db.check().unwrap().is_ok());
}

#[test]
fn a_failed_transaction_leaves_nothing_not_even_a_change() {
    let db = Db::temporary().unwrap();
    db.create(NewEntity::person().identifier("crm", "taken"))
        .unwrap();
    let before = db.changes().last();
    let r = db.transaction(|tx| {
        tx.create(NewEntity::person().identifier("crm", "fresh"))?;
        tx.create(NewEntity::person().identifier("crm", "taken"))?;
        Ok::<_, WriteError>(())
    });
    assert!(
        matches!(r, Err(WriteError::IdentifierTaken { .. })),
        "{r:?}"
    );
    assert_eq!(db.lookup("crm", "fresh").unwrap(), None);
    assert_eq!(db.changes().last(), before);
    assert_eq!(db.stats().unwrap().entities["person"], 1);
    assert!(db.check().unwrap().is_ok());
}

#[test]
fn updates_log_before_and_after_and_identifier_moves() {
    let db = Db::temporary().unwrap();
    let a = db
        .create(
            NewEntity::person()
                .attr(attrs::GIVEN_NAME, "Ann")
                .identifier("crm", "X"),
        )
        .unwrap();
    let b = db.create(NewEntity::person()).unwrap();
    let after = db.changes().last();
    db.update(
        a,
        Patch::new()
            .set(attrs::GIVEN_NAME, "Anne")
            .set("tier", "gold"),
    )
    .unwrap();
    db.transaction(|tx| {
        tx.update(a, Patch::new().remove_identifier("crm", "X"))?;
        tx.update(b, Patch::new().add_identifier("crm", "X"))?;
        Ok::<_, WriteError>(())
    })
    .unwrap();
    let log = db.changes().read_after(after, 100).unwrap();
    let Change::EntityUpdated { id, changed, .. } = &log[0].change else {
        panic!("{:?}", log[0]);
    };
    assert_eq!(*id, a);
    assert_eq!(changed.len(), 2);
    assert_eq!(changed[0].name, attrs::GIVEN_NAME);
    assert_eq!(changed[0].before, Some(Value::Text("Ann".into())));
    assert_eq!(changed[0].after, Some(Value::Text("Anne".into())));
    assert_eq!(changed[1].before, None);
    assert!(log.iter().any(|e| e.change
        == Change::IdentifierMoved {
            system: "crm".into(),
            key: "X".into(),
            from: a,
            to: b
        }));
}

#[test]
fn an_account_change_reaches_its_owners_household() {
    let db = Db::temporary().unwrap();
    let (p, q) = (
        db.create(NewEntity::person()).unwrap(),
        db.create(NewEntity::person()).unwrap(),
    );
    let h = db.create(NewEntity::household()).unwrap();
    let acct = db.create(NewEntity::account()).unwrap();
    db.relate(p, RelKind::MEMBER_OF, h, EdgeProps::new())
        .unwrap();
    db.relate(q, RelKind::MEMBER_OF, h, EdgeProps::new())
        .unwrap();
    db.relate(p, RelKind::OWNS, acct, EdgeProps::new()).unwrap();
    let c = db
        .transaction(|tx| {
            tx.update(
                acct,
                Patch::new().set(attrs::BALANCE, Decimal::parse("5.00").unwrap()),
            )
        })
        .unwrap();
    assert_eq!(c.changes.customers, vec![p, q]);
    let Change::Committed { customers, changes } = &c.changes.changes.last().unwrap().change else {
        panic!()
    };
    assert_eq!((customers.clone(), *changes), (vec![p, q], 1));
}

#[test]
fn moving_an_old_interaction_to_the_front_refreshes_the_cached_context() {
    let db = Db::temporary().unwrap();
    let p = db.create(NewEntity::person()).unwrap();
    let mut first = None;
    for i in 0..150 {
        let id = db
            .append_interaction(
                p,
                NewEntity::new(EntityKind::INTERACTION)
                    .attr(attrs::INTERACTION_TYPE, "call")
                    .attr(attrs::STATUS, "closed")
                    .attr(
                        attrs::OCCURRED_AT,
                        Timestamp::from_micros(1_000_000 * (i + 1)),
                    ),
            )
            .unwrap();
        first.get_or_insert(id);
    }
    let oldest = first.unwrap();
    let ctx = db.context(p).unwrap();
    assert!(ctx.open_items.is_empty());
    assert!(ctx.recent_interactions.iter().all(|i| i.id != oldest));
    // The oldest interaction (outside the window the context read) becomes
    // the newest, and open: the party's cached context must show it.
    db.update(
        oldest,
        Patch::new()
            .set(attrs::OCCURRED_AT, Timestamp::from_micros(1_000_000_000))
            .set(attrs::STATUS, "open"),
    )
    .unwrap();
    let ctx = db.context(p).unwrap();
    assert_eq!(ctx.recent_interactions[0].id, oldest);
    assert_eq!(ctx.open_items.len(), 1, "{:?}", ctx.open_items);
}

#[test]
fn a_follower_is_woken_by_the_commit() {
    let db = Db::temporary().unwrap();
    let start = db.changes().last();
    let follower = {
        let db = db.clone();
        std::thread::spawn(move || {
            let e = db
                .changes()
                .follow(start)
                .timeout(Duration::from_secs(10))
                .next()
                .expect("woken")
                .unwrap();
            (e, Instant::now())
        })
    };
    std::thread::sleep(Duration::from_millis(100));
    let id = db.create(NewEntity::person()).unwrap();
    let committed = Instant::now();
    let (e, seen) = follower.join().unwrap();
    assert_eq!(
        e.change,
        Change::EntityCreated {
            id,
            kind: "person".into(),
            attrs: Default::default()
        }
    );
    assert!(seen.duration_since(committed) < Duration::from_secs(2));
    // Nothing new: wait gives up at its timeout.
    assert!(!db
        .changes()
        .wait(db.changes().last(), Some(Duration::from_millis(20))));
}

#[test]
fn an_actions_follower_waits_while_the_log_moves_on_without_actions() {
    // Commits without an action move the change log past the follower's
    // position on the actions stream; it must wait (and end at its
    // timeout), not return to an empty read at once for ever.
    let db = Db::temporary().unwrap();
    let start = db.actions().last();
    db.create(NewEntity::person()).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    {
        let db = db.clone();
        std::thread::spawn(move || {
            let t = Instant::now();
            let got = db
                .actions()
                .follow(start)
                .timeout(Duration::from_millis(200))
                .next();
            let _ = tx.send((got.is_none(), t.elapsed()));
        });
    }
    let (ended, took) = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the follower ends at its timeout");
    assert!(ended, "no action was raised, so none is yielded");
    assert!(took >= Duration::from_millis(200), "{took:?}");
}

#[test]
fn a_trimmed_position_is_an_error_never_a_silent_skip() {
    let db = Db::builder()
        .temporary()
        .retention(Retention {
            max_changes: Some(10),
            max_age: None,
        })
        .open()
        .unwrap();
    let early = {
        db.create(NewEntity::person()).unwrap();
        db.changes().last()
    };
    for _ in 0..20 {
        db.create(NewEntity::person()).unwrap();
    }
    db.changes().trim(3).unwrap();
    assert_eq!(db.changes().len(), 10);
    match db.changes().read_after(early, 10) {
        Err(FeedError::Trimmed { asked, trimmed }) => {
            assert_eq!(asked, early);
            assert!(trimmed > early);
        }
        other => panic!("expected Trimmed, got {other:?}"),
    }
    let all = db.changes().read_after(ChangeId::ZERO, 100).unwrap();
    assert_eq!(all.len(), 10);
    assert_eq!(all[0].id.seq, db.changes().trimmed().seq + 1);
    assert!(db.check().unwrap().is_ok());
}

#[test]
fn consumer_groups_survive_a_reopen_and_pending_changes_can_be_claimed() {
    let tmp = tempfile::tempdir().unwrap();
    let delivered;
    {
        let db = Db::open(tmp.path()).unwrap();
        for _ in 0..3 {
            db.create(NewEntity::person()).unwrap();
        }
        let ch = db.changes();
        ch.create_group("billing", ChangeId::ZERO).unwrap();
        assert!(matches!(
            ch.create_group("billing", ChangeId::ZERO),
            Err(FeedError::GroupExists(_))
        ));
        delivered = ch.read_group("billing", "worker-1", 4, false).unwrap();
        assert_eq!(delivered.len(), 4);
        assert_eq!(ch.ack("billing", &[delivered[0].id]).unwrap(), 1);
        assert_eq!(ch.ack("billing", &[delivered[0].id]).unwrap(), 0);
    }
    let db = Db::open(tmp.path()).unwrap();
    assert!(db.check().unwrap().is_ok());
    let ch = db.changes();
    let s = ch.pending_summary("billing").unwrap();
    assert_eq!(s.count, 3);
    assert_eq!(s.consumers, vec![("worker-1".to_string(), 3)]);
    // The next read continues after what was delivered.
    let next = ch.read_group("billing", "worker-2", 100, false).unwrap();
    assert_eq!(
        next.first().unwrap().id.seq,
        delivered.last().unwrap().id.seq + 1
    );
    // worker-1 died: worker-2 claims its pending changes.
    let (cursor, claimed, gone) = ch
        .autoclaim("billing", "worker-2", 0, ChangeId::ZERO, 100, false)
        .unwrap();
    assert_eq!(cursor, ChangeId::ZERO);
    assert!(gone.is_empty());
    assert_eq!(claimed.len(), 3 + next.len());
    assert!(ch
        .pending(
            "billing",
            ChangeId::ZERO,
            ChangeId::MAX,
            100,
            Some("worker-1"),
            0
        )
        .unwrap()
        .is_empty());
    assert!(matches!(
        ch.read_group("nope", "c", 1, false),
        Err(FeedError::NoGroup(_))
    ));
    assert!(ch.destroy_group("billing").unwrap());
    assert!(ch.groups().unwrap().is_empty());
    assert!(db.check().unwrap().is_ok());
}

#[test]
fn concurrent_upserts_of_one_person_make_one_customer() {
    for round in 0..10 {
        let db = Db::temporary().unwrap();
        let fields = || {
            let mut a = kith::Attrs::new();
            a.insert(attrs::GIVEN_NAME.into(), "Maria".into());
            a.insert(attrs::FAMILY_NAME.into(), "Lopez".into());
            a.insert(
                attrs::BIRTH_DATE.into(),
                kith::Date::from_ymd(1980, 5, 17).unwrap().into(),
            );
            a.insert(attrs::NATIONAL_ID.into(), "123-45-6789".into());
            a.insert(attrs::EMAIL.into(), "maria@example.com".into());
            a
        };
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(2));
        let threads: Vec<_> = ["crm", "web"]
            .into_iter()
            .map(|system| {
                let (db, barrier) = (db.clone(), barrier.clone());
                let f = fields();
                std::thread::spawn(move || {
                    barrier.wait();
                    db.upsert_record(
                        system,
                        "1",
                        EntityKind::PERSON,
                        f,
                        &ResolveConfig::default(),
                    )
                    .unwrap()
                    .customer()
                })
            })
            .collect();
        let customers: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        assert_eq!(customers[0], customers[1], "round {round}: two customers");
        assert_eq!(db.stats().unwrap().entities["person"], 1, "round {round}");
        assert!(db.check().unwrap().is_ok());
    }
}

#[test]
fn check_finds_a_source_record_without_a_customer() {
    let db = Db::temporary().unwrap();
    let r = db
        .create(NewEntity::new(EntityKind::SOURCE_RECORD).identifier("crm", "1"))
        .unwrap();
    let report = db.check().unwrap();
    assert_eq!(report.violations.len(), 1, "{:?}", report.violations);
    assert!(report.violations[0].problem.contains("0 customers"));
    let c = db.create(NewEntity::person()).unwrap();
    db.relate(r, RelKind::RESOLVES_TO, c, EdgeProps::new())
        .unwrap();
    assert!(db.check().unwrap().is_ok());
}

#[test]
fn one_upsert_is_one_commit_with_its_link() {
    let db = Db::temporary().unwrap();
    let before = db.changes().last();
    let mut f = kith::Attrs::new();
    f.insert(attrs::GIVEN_NAME.into(), "Ann".into());
    f.insert(attrs::FAMILY_NAME.into(), "Lee".into());
    let o = db
        .upsert_record("crm", "1", EntityKind::PERSON, f, &ResolveConfig::default())
        .unwrap();
    let log = db.changes().read_after(before, 100).unwrap();
    let commits: std::collections::BTreeSet<u64> = log.iter().map(|e| e.commit).collect();
    assert_eq!(commits.len(), 1, "{log:?}");
    let rec = db.lookup("crm", "1").unwrap().unwrap();
    assert!(log.iter().any(|e| e.change
        == Change::RecordLinked {
            record: rec,
            customer: o.customer()
        }));
    let Change::Committed { customers, .. } = &log.last().unwrap().change else {
        panic!()
    };
    assert_eq!(customers, &vec![o.customer()]);
}
