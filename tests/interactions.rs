//! Interactions and their per-party timelines: newest first and time ranges
//! without scanning older ones, kept exact through updates, unrelates and deletes.

use kith::{attrs, Db, EntityId, NewEntity, Patch, RelKind, Timestamp};

fn at(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

fn call(when: &str) -> NewEntity {
    NewEntity::new(kith::EntityKind::INTERACTION)
        .attr(attrs::CHANNEL, "call")
        .attr(attrs::OCCURRED_AT, at(when))
}

#[test]
fn newest_first_and_time_ranges() {
    let db = Db::temporary().unwrap();
    let ann = db.create(NewEntity::person()).unwrap();
    let bob = db.create(NewEntity::person()).unwrap();
    let times = [
        "2024-03-01T10:00:00Z",
        "1969-07-20T20:17:00Z",
        "2024-01-15T09:00:00Z",
        "2025-06-30T23:59:59Z",
        "2024-03-01T10:00:00Z",
    ];
    let ids: Vec<EntityId> = times
        .iter()
        .map(|t| db.append_interaction(ann, call(t)).unwrap())
        .collect();
    let other = db
        .append_interaction(bob, call("2030-01-01T00:00:00Z"))
        .unwrap();

    let recent = db.recent_interactions(ann, 3).unwrap();
    assert_eq!(
        recent,
        vec![
            (at(times[3]), ids[3]),
            (at(times[4]), ids[4]),
            (at(times[0]), ids[0])
        ],
        "newest first; equal times by id, highest first"
    );
    assert_eq!(db.recent_interactions(ann, 100).unwrap().len(), 5);
    assert_eq!(
        db.recent_interactions(bob, 10).unwrap(),
        vec![(at("2030-01-01T00:00:00Z"), other)]
    );
    let range = db
        .interactions_between(
            ann,
            at("2024-01-01T00:00:00Z"),
            at("2024-12-31T00:00:00Z"),
            10,
        )
        .unwrap();
    assert_eq!(
        range.iter().map(|r| r.1).collect::<Vec<_>>(),
        vec![ids[2], ids[0], ids[4]]
    );
    let early = db
        .interactions_between(
            ann,
            at("1900-01-01T00:00:00Z"),
            at("1970-01-01T00:00:00Z"),
            10,
        )
        .unwrap();
    assert_eq!(early, vec![(at(times[1]), ids[1])]);
    assert!(db.check().unwrap().is_ok());

    // Moving an interaction in time moves it in the timeline.
    db.update(
        ids[1],
        Patch::new().set(attrs::OCCURRED_AT, at("2099-01-01T00:00:00Z")),
    )
    .unwrap();
    assert_eq!(
        db.recent_interactions(ann, 1).unwrap(),
        vec![(at("2099-01-01T00:00:00Z"), ids[1])]
    );
    assert!(db.check().unwrap().is_ok());
    // An interaction without a time sits at its creation time.
    db.update(ids[1], Patch::new().remove(attrs::OCCURRED_AT))
        .unwrap();
    let created = db.get(ids[1]).unwrap().unwrap().created;
    assert!(db
        .recent_interactions(ann, 10)
        .unwrap()
        .contains(&(created, ids[1])));
    assert!(db.check().unwrap().is_ok());
    // Unrelating, deleting the interaction, deleting the party: rows go too.
    assert!(db.unrelate(ann, RelKind::HAD_INTERACTION, ids[0]).unwrap());
    assert!(db.delete(ids[2]).unwrap());
    assert_eq!(db.recent_interactions(ann, 10).unwrap().len(), 3);
    assert!(db.check().unwrap().is_ok());
    assert!(db.delete(ann).unwrap());
    assert!(db.recent_interactions(ann, 10).unwrap().is_empty());
    let report = db.check().unwrap();
    assert!(report.is_ok(), "{:?}", report.violations);
}

#[test]
fn relating_an_existing_interaction_adds_it_to_the_timeline() {
    let db = Db::temporary().unwrap();
    let ann = db.create(NewEntity::person()).unwrap();
    let bob = db.create(NewEntity::person()).unwrap();
    let i = db
        .append_interaction(ann, call("2024-05-05T05:05:05Z"))
        .unwrap();
    // A joint call: Bob was on it too.
    db.relate(bob, RelKind::HAD_INTERACTION, i, kith::EdgeProps::new())
        .unwrap();
    assert_eq!(
        db.recent_interactions(bob, 5).unwrap(),
        vec![(at("2024-05-05T05:05:05Z"), i)]
    );
    db.update(
        i,
        Patch::new().set(attrs::OCCURRED_AT, at("2024-06-06T06:06:06Z")),
    )
    .unwrap();
    assert_eq!(
        db.recent_interactions(ann, 5).unwrap()[0].0,
        at("2024-06-06T06:06:06Z")
    );
    assert_eq!(
        db.recent_interactions(bob, 5).unwrap()[0].0,
        at("2024-06-06T06:06:06Z")
    );
    assert!(db.check().unwrap().is_ok());
    assert!(matches!(
        db.append_interaction(EntityId(999), call("2024-01-01T00:00:00Z")),
        Err(kith::WriteError::NotFound(_))
    ));
    assert_eq!(
        db.stats().unwrap().entities["interaction"],
        1,
        "a failed append writes nothing"
    );
}
