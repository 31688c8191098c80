//! The README's tour of the Rust API, compiled and run as written (but for
//! the directory), so that it stays true.

use kith::{
    attrs, ChangeId, Db, Decimal, Direction, Durability, EdgeProps, EntityKind, Index, NewEntity,
    Patch, RelKind,
};
use std::time::Duration;

#[test]
fn the_readme_tour_runs() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;

    let db = Db::builder()
        .path(dir.path())
        .durability(Durability::Immediate) // the default: acknowledged = on disk
        .open()?;

    let ann = db.create(
        NewEntity::person()
            .attr(attrs::GIVEN_NAME, "Ann")
            .attr(attrs::FAMILY_NAME, "Lee")
            .attr(attrs::EMAIL, "ann.lee@example.com")
            .identifier("crm", "C-1001")
            .identifier("core_banking", "CB-77"),
    )?;
    let loan = db.create(
        NewEntity::account()
            .attr(attrs::PRODUCT_TYPE, "loan")
            .attr(attrs::BALANCE, Decimal::parse("12500.00")?)
            .identifier("lending", "LN-9"),
    )?;
    db.relate(
        ann,
        RelKind::OWNS,
        loan,
        EdgeProps::new().attr(attrs::ROLE, "primary"),
    )?;

    // Several writes, atomically: all or nothing.
    let mut w = db.write_set();
    let hh = w.create(NewEntity::household())?;
    w.relate(
        ann,
        RelKind::MEMBER_OF,
        hh,
        EdgeProps::new().attr(attrs::ROLE, "head"),
    )?;
    w.commit()?;

    assert_eq!(db.lookup("crm", "C-1001")?, Some(ann));
    assert_eq!(db.find(Index::Email, "ANN.LEE@example.com ")?, vec![ann]);
    let person = db.get(ann)?.expect("exists"); // zero-copy view
    assert_eq!(person.text(attrs::GIVEN_NAME), Some("Ann"));
    for owned in db.neighbours(ann, RelKind::OWNS, Direction::Out)? {
        println!("{} {:?}", owned.id, owned.props.attrs.get(attrs::ROLE));
    }
    assert!(db.check()?.is_ok()); // full integrity check

    // Everything about one customer, assembled once and then served from a
    // cache that every relevant write invalidates.
    let ctx = db.context(ann)?;
    println!(
        "{} accounts, {} open items",
        ctx.accounts.len(),
        ctx.open_items.len()
    );

    // A transaction reads its own writes and commits as one batch; it returns
    // what it changed, as the change log records it.
    let done = db.transaction(|tx| {
        tx.update(
            loan,
            Patch::new().set(attrs::BALANCE, Decimal::parse("12000.00")?),
        )?;
        let call = tx.append_interaction(
            ann,
            NewEntity::new(EntityKind::INTERACTION)
                .attr(attrs::CHANNEL, "call")
                .attr(attrs::STATUS, "open"),
        )?;
        assert_eq!(tx.recent_interactions(ann, 1)?[0].1, call);
        Ok::<_, kith::Error>(call)
    })?;
    assert_eq!(done.changes.customers, vec![ann]); // whose context changed

    // The change feed: every change, in commit order, durable, followed live.
    for change in db
        .changes()
        .follow(ChangeId::ZERO)
        .timeout(Duration::from_millis(10))
    {
        let change = change?;
        println!("{} {}", change.id, change.change.type_name()); // 1764…-1 entity.created
    }
    db.changes().create_group("billing", ChangeId::ZERO)?; // a named, stored consumer
    let batch = db.changes().read_group("billing", "worker-1", 100, false)?;
    db.changes()
        .ack("billing", &batch.iter().map(|c| c.id).collect::<Vec<_>>())?;
    Ok(())
}
