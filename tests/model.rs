//! Model-based test: random sequences of creates, updates, deletes,
//! relationship adds and removes, merges, multi-operation transactions (some
//! rolled back on purpose, some failing part-way) and reopens, applied to
//! kith and to a plain in-memory model, compared after every step (with
//! `check()`). At the end the change log is replayed into a fresh model,
//! which must equal the database.
//!
//! A failure prints its seed; rerun one seed with
//! `KITH_MODEL_SEED=<seed> cargo test --test model`. More seeds:
//! `KITH_MODEL_SEEDS=2000 cargo test --release --test model`.

use kith::generate::Rng;
use kith::{
    attrs, Attrs, Date, Db, Direction, EdgeProps, EntityId, EntityKind, ExternalId, Index,
    NewEntity, Patch, RelKind, StorageEngine, Value, WriteError,
};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

const EMAILS: &[&str] = &["a@x.io", "B@x.io", "c@x.io", " d@X.io"];
const PHONES: &[&str] = &["555 000 1111", "(555) 000-2222", "+1 555 000 3333"];
const FAMILIES: &[&str] = &["Lee", "Kim", "O'Neil"];
const SYSTEMS: &[&str] = &["crm", "web"];
const KINDS: &[EntityKind] = &[
    EntityKind::PERSON,
    EntityKind::HOUSEHOLD,
    EntityKind::ACCOUNT,
];
const RELS: &[RelKind] = &[
    RelKind::OWNS,
    RelKind::MEMBER_OF,
    RelKind::GUARANTEES,
    RelKind::HAD_INTERACTION,
];

#[derive(Clone, Debug)]
struct MEntity {
    kind: EntityKind,
    attrs: Attrs,
    ids: BTreeSet<ExternalId>,
}

#[derive(Default, Clone, Debug)]
struct Model {
    entities: BTreeMap<EntityId, MEntity>,
    edges: BTreeMap<(EntityId, RelKind, EntityId), EdgeProps>,
}

impl Model {
    fn owner(&self, x: &ExternalId) -> Option<EntityId> {
        self.entities
            .iter()
            .find(|(_, e)| e.ids.contains(x))
            .map(|(id, _)| *id)
    }

    fn find(
        &self,
        attr: &str,
        query: &str,
        norm: impl Fn(&str) -> Option<String>,
    ) -> Vec<EntityId> {
        let Some(q) = norm(query) else { return vec![] };
        self.entities
            .iter()
            .filter(|(_, e)| {
                e.attrs
                    .get(attr)
                    .is_some_and(|v| v.texts().iter().any(|t| norm(t).as_deref() == Some(&q)))
            })
            .map(|(id, _)| *id)
            .collect()
    }
}

fn dob(r: &mut Rng) -> Date {
    Date::from_ymd(1970 + r.below(2) as i32, 1, 1).unwrap()
}

fn random_attrs(r: &mut Rng) -> Attrs {
    let mut a = Attrs::new();
    if r.chance(50) {
        let v = if r.chance(25) {
            Value::List(vec![(*r.pick(EMAILS)).into(), (*r.pick(EMAILS)).into()])
        } else {
            (*r.pick(EMAILS)).into()
        };
        a.insert(attrs::EMAIL.into(), v);
    }
    if r.chance(50) {
        a.insert(attrs::PHONE.into(), (*r.pick(PHONES)).into());
    }
    if r.chance(50) {
        a.insert(attrs::FAMILY_NAME.into(), (*r.pick(FAMILIES)).into());
    }
    if r.chance(50) {
        a.insert(attrs::BIRTH_DATE.into(), dob(r).into());
    }
    if r.chance(30) {
        a.insert("note".into(), Value::Int(r.below(5) as i64));
    }
    if r.chance(30) {
        let t = kith::Timestamp::from_micros(r.below(3) as i64 * 1_000_000 - 1_000_000);
        a.insert(attrs::OCCURRED_AT.into(), t.into());
    }
    a
}

fn random_xid(r: &mut Rng) -> ExternalId {
    ExternalId::new(*r.pick(SYSTEMS), r.below(6).to_string())
}

fn pick_id(r: &mut Rng, m: &Model) -> EntityId {
    if m.entities.is_empty() || r.chance(10) {
        return EntityId(10_000 + r.below(3));
    }
    let keys: Vec<EntityId> = m.entities.keys().copied().collect();
    *r.pick(&keys)
}

fn compare(db: &Db, m: &Model, step: usize) {
    let ctx = |what: &str| format!("step {step}: {what}");
    for (id, e) in &m.entities {
        let got = db
            .get(*id)
            .unwrap()
            .unwrap_or_else(|| panic!("{}", ctx(&format!("{id} missing"))));
        assert_eq!(got.kind, e.kind, "{}", ctx("kind"));
        assert_eq!(got.attrs(), e.attrs, "{}", ctx(&format!("attrs of {id}")));
        let ids: BTreeSet<ExternalId> = got.identifiers().into_iter().collect();
        assert_eq!(ids, e.ids, "{}", ctx(&format!("identifiers of {id}")));
        for kind in RELS {
            for (dir, out) in [(Direction::Out, true), (Direction::In, false)] {
                let got: Vec<(EntityId, EdgeProps)> = db
                    .neighbours(*id, *kind, dir)
                    .unwrap()
                    .into_iter()
                    .map(|n| (n.id, n.props))
                    .collect();
                let want: Vec<(EntityId, EdgeProps)> = m
                    .edges
                    .iter()
                    .filter(|((f, k, t), _)| k == kind && if out { f == id } else { t == id })
                    .map(|((f, _, t), p)| (if out { *t } else { *f }, p.clone()))
                    .collect();
                assert_eq!(got, want, "{}", ctx(&format!("{kind} {dir:?} of {id}")));
            }
        }
    }
    for extra in 10_000..10_003 {
        assert_eq!(
            db.get(EntityId(extra)).unwrap(),
            None,
            "{}",
            ctx("phantom entity")
        );
    }
    for s in SYSTEMS {
        for k in 0..6 {
            let x = ExternalId::new(*s, k.to_string());
            assert_eq!(
                db.lookup(s, &x.key).unwrap(),
                m.owner(&x),
                "{}",
                ctx(&format!("lookup {x}"))
            );
        }
    }
    let cc = db.default_country_code().to_string();
    for q in EMAILS {
        let want = m.find(attrs::EMAIL, q, kith::normalize::email);
        assert_eq!(
            db.find(Index::Email, q).unwrap(),
            want,
            "{}",
            ctx(&format!("find email {q}"))
        );
    }
    for q in PHONES {
        let want = m.find(attrs::PHONE, q, |t| kith::normalize::phone(t, &cc));
        assert_eq!(
            db.find(Index::Phone, q).unwrap(),
            want,
            "{}",
            ctx(&format!("find phone {q}"))
        );
    }
    for f in FAMILIES {
        for y in [1970, 1971] {
            let d = Date::from_ymd(y, 1, 1).unwrap();
            let want: Vec<EntityId> = m
                .entities
                .iter()
                .filter(|(_, e)| {
                    e.attrs.get(attrs::FAMILY_NAME).and_then(Value::as_text) == Some(*f)
                        && e.attrs.get(attrs::BIRTH_DATE).and_then(Value::as_date) == Some(d)
                })
                .map(|(id, _)| *id)
                .collect();
            let got = db.find(Index::NameBirthDate, &format!("{f}|{d}")).unwrap();
            assert_eq!(got, want, "{}", ctx("find name+dob"));
        }
    }
    for id in m.entities.keys() {
        let mut want: Vec<(i64, EntityId)> = m
            .edges
            .keys()
            .filter(|(f, k, _)| f == id && *k == RelKind::HAD_INTERACTION)
            .map(|(_, _, t)| {
                let e = &m.entities[t];
                let when = match e.attrs.get(attrs::OCCURRED_AT) {
                    Some(Value::Timestamp(ts)) => ts.as_micros(),
                    _ => db.get(*t).unwrap().unwrap().created.as_micros(),
                };
                (when, *t)
            })
            .collect();
        want.sort();
        want.reverse();
        let got: Vec<(i64, EntityId)> = db
            .recent_interactions(*id, 1000)
            .unwrap()
            .into_iter()
            .map(|(t, i)| (t.as_micros(), i))
            .collect();
        assert_eq!(got, want, "{}", ctx(&format!("timeline of {id}")));
    }
    let stats = db.stats().unwrap();
    for kind in KINDS {
        let of_kind = || m.entities.values().filter(|e| e.kind == *kind);
        let merged = of_kind()
            .filter(|e| e.attrs.contains_key("merged_into"))
            .count() as u64;
        let live = of_kind().count() as u64 - merged;
        let name = db.entity_kind_name(*kind).unwrap();
        assert_eq!(stats.entities[&name], live, "{}", ctx("entity count"));
        assert_eq!(
            stats.merged.get(&name).copied().unwrap_or(0),
            merged,
            "{}",
            ctx("merged count")
        );
    }
    for kind in RELS {
        let n = m.edges.keys().filter(|(_, k, _)| k == kind).count() as u64;
        assert_eq!(
            stats.relationships[&kind.to_string()],
            n,
            "{}",
            ctx("relationship count")
        );
    }
    let report = db.check().unwrap();
    assert!(report.is_ok(), "{}: {:?}", ctx("check"), report.violations);
}

/// `from` merged into `into`, as `Db::merge_into` documents it.
fn model_merge(m: &mut Model, from: EntityId, into: EntityId, set: &Attrs) {
    let moved: Vec<((EntityId, RelKind, EntityId), EdgeProps)> = m
        .edges
        .iter()
        .filter(|((f, _, t), _)| *f == from || *t == from)
        .map(|(k, p)| (*k, p.clone()))
        .collect();
    for (k, _) in &moved {
        m.edges.remove(k);
    }
    let mv = |e: EntityId| if e == from { into } else { e };
    for ((f, k, t), p) in moved {
        let (src, dst) = (mv(f), mv(t));
        if src == into && dst == into {
            continue;
        }
        m.edges.entry((src, k, dst)).or_insert(p);
    }
    m.entities
        .get_mut(&from)
        .expect("checked")
        .attrs
        .extend(set.clone());
}

/// A model rebuilt from nothing but the change log.
fn replay(db: &Db) -> Model {
    let mut m = Model::default();
    let kind_of = |name: &str| {
        db.entity_kind(name)
            .unwrap_or_else(|| panic!("replay: unknown kind {name}"))
    };
    for e in db
        .changes()
        .follow(kith::ChangeId::ZERO)
        .timeout(std::time::Duration::ZERO)
    {
        match e.unwrap().change {
            kith::Change::EntityCreated { id, kind, attrs } => {
                let old = m.entities.insert(
                    id,
                    MEntity {
                        kind: kind_of(&kind),
                        attrs,
                        ids: BTreeSet::new(),
                    },
                );
                assert!(old.is_none(), "replay: {id} created twice");
            }
            kith::Change::EntityUpdated { id, changed, .. } => {
                let e = m
                    .entities
                    .get_mut(&id)
                    .expect("replay: update of a missing entity");
                for c in changed {
                    assert_eq!(
                        e.attrs.get(&c.name),
                        c.before.as_ref(),
                        "replay: before of {}",
                        c.name
                    );
                    match c.after {
                        Some(v) => e.attrs.insert(c.name, v),
                        None => e.attrs.remove(&c.name),
                    };
                }
            }
            kith::Change::EntityDeleted { id, .. } => {
                assert!(
                    m.entities.remove(&id).is_some(),
                    "replay: delete of a missing {id}"
                );
            }
            kith::Change::RelationshipAdded {
                from,
                kind,
                to,
                props,
                ..
            } => {
                let k = db.relationship_kind(&kind).unwrap();
                m.edges.insert((from, k, to), props);
            }
            kith::Change::RelationshipRemoved { from, kind, to } => {
                let k = db.relationship_kind(&kind).unwrap();
                assert!(
                    m.edges.remove(&(from, k, to)).is_some(),
                    "replay: removal of a missing edge"
                );
            }
            kith::Change::IdentifierAdded {
                system,
                key,
                entity,
            } => {
                m.entities
                    .get_mut(&entity)
                    .unwrap()
                    .ids
                    .insert(ExternalId::new(system, key));
            }
            kith::Change::IdentifierRemoved {
                system,
                key,
                entity,
            } => {
                if let Some(e) = m.entities.get_mut(&entity) {
                    e.ids.remove(&ExternalId::new(system, key));
                }
            }
            kith::Change::IdentifierMoved {
                system,
                key,
                from,
                to,
            } => {
                let x = ExternalId::new(system, key);
                if let Some(e) = m.entities.get_mut(&from) {
                    e.ids.remove(&x);
                }
                m.entities.get_mut(&to).unwrap().ids.insert(x);
            }
            _ => {}
        }
    }
    m
}

/// A transaction of a few random operations, applied to a copy of the
/// model as they succeed; committed (and the copy kept) only if all of them
/// succeed and the dice do not roll it back.
fn random_transaction(db: &Db, m: &mut Model, r: &mut Rng, step: usize) {
    let mut mm = m.clone();
    let n = 1 + r.below(4);
    let rollback = r.chance(30);
    #[derive(Debug)]
    enum Stop {
        Write(WriteError),
        Rollback,
    }
    impl From<WriteError> for Stop {
        fn from(e: WriteError) -> Stop {
            Stop::Write(e)
        }
    }
    let mut seeds: Vec<u64> = (0..n).map(|_| r.below(1 << 30)).collect();
    let before = db.changes().last();
    let result = db.transaction(|tx| {
        for s in seeds.drain(..) {
            let mut r = Rng::new(s);
            match r.below(3) {
                0 => {
                    let kind = *r.pick(KINDS);
                    let mut new = NewEntity::new(kind);
                    new.attrs = random_attrs(&mut r);
                    let x = random_xid(&mut r);
                    new.identifiers.push(x.clone());
                    let id = tx.create(new.clone())?;
                    assert_eq!(
                        tx.lookup(&x.system, &x.key).unwrap(),
                        Some(id),
                        "step {step}: tx reads its own identifier"
                    );
                    assert!(
                        tx.get(id).unwrap().is_some(),
                        "step {step}: tx reads its own create"
                    );
                    mm.entities.insert(
                        id,
                        MEntity {
                            kind,
                            attrs: new.attrs,
                            ids: BTreeSet::from([x]),
                        },
                    );
                }
                1 => {
                    let id = pick_id(&mut r, &mm);
                    let set = random_attrs(&mut r);
                    let mut patch = Patch::new();
                    for (k, v) in &set {
                        patch = patch.set(k.clone(), v.clone());
                    }
                    tx.update(id, patch)?;
                    mm.entities
                        .get_mut(&id)
                        .expect("update succeeded")
                        .attrs
                        .extend(set);
                    assert_eq!(
                        tx.get(id).unwrap().unwrap().attrs(),
                        mm.entities[&id].attrs,
                        "step {step}: tx reads its own update"
                    );
                }
                _ => {
                    let (a, b) = (pick_id(&mut r, &mm), pick_id(&mut r, &mm));
                    let kind = *r.pick(RELS);
                    tx.relate(a, kind, b, EdgeProps::new())?;
                    mm.edges.insert((a, kind, b), EdgeProps::new());
                    assert!(
                        tx.neighbour_ids(a, kind, Direction::Out)
                            .unwrap()
                            .contains(&b),
                        "step {step}: tx reads its own edge"
                    );
                }
            }
        }
        if rollback {
            return Err(Stop::Rollback);
        }
        Ok(())
    });
    match result {
        Ok(c) => {
            *m = mm;
            if let Some(last) = c.changes.last() {
                assert!(last > before, "step {step}: positions go forward");
            }
        }
        Err(Stop::Rollback)
        | Err(Stop::Write(WriteError::NotFound(_)))
        | Err(Stop::Write(WriteError::IdentifierTaken { .. })) => {
            assert_eq!(
                db.changes().last(),
                before,
                "step {step}: a rolled-back transaction logs nothing"
            );
        }
        Err(other) => panic!("step {step}: transaction failed with {other:?}"),
    }
}

fn run(seed: u64, dir: Option<&Path>, steps: usize, engine: StorageEngine) {
    let open = || match dir {
        Some(d) => Db::builder().engine(engine).path(d).open().unwrap(),
        None => Db::builder().engine(engine).temporary().open().unwrap(),
    };
    let mut db = open();
    let mut m = Model::default();
    let mut r = Rng::new(seed);
    for step in 0..steps {
        let roll = r.below(100);
        match roll {
            0..=29 => {
                let kind = *r.pick(KINDS);
                let attrs = random_attrs(&mut r);
                let mut new = NewEntity::new(kind);
                new.attrs = attrs.clone();
                let mut ids = BTreeSet::new();
                for _ in 0..r.below(3) {
                    let x = random_xid(&mut r);
                    new.identifiers.push(x.clone());
                    ids.insert(x);
                }
                let taken = ids.iter().find_map(|x| m.owner(x));
                match (db.create(new), taken) {
                    (Ok(id), None) => {
                        assert!(!m.entities.contains_key(&id), "step {step}: id {id} reused");
                        m.entities.insert(id, MEntity { kind, attrs, ids });
                    }
                    (Err(WriteError::IdentifierTaken { owner, .. }), Some(_)) => {
                        assert!(m.entities.contains_key(&owner), "step {step}")
                    }
                    (got, want) => {
                        panic!("step {step}: create gave {got:?}, model expected owner {want:?}")
                    }
                }
            }
            30..=49 => {
                let id = pick_id(&mut r, &m);
                let mut patch = Patch::new();
                for (k, v) in random_attrs(&mut r) {
                    patch = patch.set(k, v);
                }
                if r.chance(40) {
                    patch = patch.remove(*r.pick(&[
                        attrs::EMAIL,
                        attrs::PHONE,
                        attrs::FAMILY_NAME,
                        "note",
                    ]));
                }
                if r.chance(40) {
                    let x = random_xid(&mut r);
                    patch.remove_identifiers.push(x);
                }
                if r.chance(40) {
                    let x = random_xid(&mut r);
                    patch.add_identifiers.push(x);
                }
                let result = db.update(id, patch.clone());
                match m.entities.get(&id).cloned() {
                    None => assert_eq!(result, Err(WriteError::NotFound(id)), "step {step}"),
                    Some(mut e) => {
                        for k in &patch.remove {
                            e.attrs.remove(k);
                        }
                        e.attrs.extend(patch.set.clone());
                        for x in &patch.remove_identifiers {
                            e.ids.remove(x);
                        }
                        let taken = patch
                            .add_identifiers
                            .iter()
                            .filter(|x| !e.ids.contains(*x))
                            .find_map(|x| m.owner(x).filter(|o| *o != id));
                        match (result, taken) {
                            (Ok(_), None) => {
                                e.ids.extend(patch.add_identifiers.iter().cloned());
                                m.entities.insert(id, e);
                            }
                            (Err(WriteError::IdentifierTaken { .. }), Some(_)) => {}
                            (got, want) => {
                                panic!("step {step}: update gave {got:?}, model expected {want:?}")
                            }
                        }
                    }
                }
            }
            50..=59 => {
                let id = pick_id(&mut r, &m);
                let existed = m.entities.remove(&id).is_some();
                assert_eq!(db.delete(id).unwrap(), existed, "step {step}: delete {id}");
                m.edges.retain(|(f, _, t), _| *f != id && *t != id);
            }
            60..=84 => {
                let (a, b) = (pick_id(&mut r, &m), pick_id(&mut r, &m));
                let kind = *r.pick(RELS);
                let mut props = EdgeProps::new();
                if r.chance(50) {
                    props = props.attr(attrs::ROLE, *r.pick(&["primary", "joint"]));
                }
                if r.chance(20) {
                    props = props.valid(Some(dob(&mut r)), None);
                }
                let result = db.relate(a, kind, b, props.clone());
                let missing = [a, b].into_iter().find(|x| !m.entities.contains_key(x));
                match (result, missing) {
                    (Ok(new), None) => {
                        let was = m.edges.insert((a, kind, b), props).is_some();
                        assert_eq!(new, !was, "step {step}: relate novelty");
                    }
                    (Err(WriteError::NotFound(x)), Some(_)) => {
                        assert!(!m.entities.contains_key(&x))
                    }
                    (got, want) => panic!("step {step}: relate gave {got:?}, missing {want:?}"),
                }
            }
            85..=87 => random_transaction(&db, &mut m, &mut r, step),
            88..=89 => {
                let (a, b) = (pick_id(&mut r, &m), pick_id(&mut r, &m));
                let mut set = Attrs::new();
                set.insert("merged_into".into(), Value::Int(b.0 as i64));
                let patch = Patch::new().set("merged_into", Value::Int(b.0 as i64));
                let result = db.merge_into(a, b, patch);
                let missing = [a, b].into_iter().find(|x| !m.entities.contains_key(x));
                match (result, missing) {
                    (Err(WriteError::Invalid(_)), _) if a == b => {}
                    (Ok(()), None) => model_merge(&mut m, a, b, &set),
                    (Err(WriteError::NotFound(x)), Some(_)) => {
                        assert!(!m.entities.contains_key(&x), "step {step}")
                    }
                    (got, want) => panic!("step {step}: merge gave {got:?}, missing {want:?}"),
                }
            }
            90..=94 => {
                let (a, b) = if !m.edges.is_empty() && r.chance(70) {
                    let keys: Vec<_> = m.edges.keys().copied().collect();
                    let (a, k, b) = *r.pick(&keys);
                    let existed = m.edges.remove(&(a, k, b)).is_some();
                    assert_eq!(db.unrelate(a, k, b).unwrap(), existed, "step {step}");
                    (a, b)
                } else {
                    let (a, b) = (pick_id(&mut r, &m), pick_id(&mut r, &m));
                    let k = *r.pick(RELS);
                    let existed = m.edges.remove(&(a, k, b)).is_some();
                    assert_eq!(db.unrelate(a, k, b).unwrap(), existed, "step {step}");
                    (a, b)
                };
                let _ = (a, b);
            }
            _ => {
                if dir.is_some() {
                    drop(db);
                    db = open();
                }
            }
        }
        compare(&db, &m, step);
    }
    let replayed = replay(&db);
    assert_eq!(
        replayed.entities.len(),
        m.entities.len(),
        "replayed entity count"
    );
    for (id, e) in &m.entities {
        let r = &replayed.entities[id];
        assert_eq!(
            (r.kind, &r.attrs, &r.ids),
            (e.kind, &e.attrs, &e.ids),
            "replayed {id}"
        );
    }
    assert_eq!(replayed.edges, m.edges, "replayed relationships");
}

fn seeds(default: u64) -> Vec<u64> {
    if let Ok(s) = std::env::var("KITH_MODEL_SEED") {
        return vec![s.parse().expect("KITH_MODEL_SEED must be a number")];
    }
    let n = std::env::var("KITH_MODEL_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default);
    (0..n).collect()
}

fn run_reporting_seed(seed: u64, dir: Option<&Path>, steps: usize, engine: StorageEngine) {
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        run(seed, dir, steps, engine)
    }));
    if let Err(e) = result {
        eprintln!(
            "model test failed on {engine} with seed {seed} ({}); rerun with KITH_MODEL_SEED={seed} cargo test --test model {engine}",
            if dir.is_some() { "on disk" } else { "temporary" }
        );
        std::panic::resume_unwind(e);
    }
}

/// Whether this build has `engine` (`cargo test --no-default-features`
/// builds sled alone); says so when it has not.
fn built(engine: StorageEngine) -> bool {
    if !engine.available() {
        eprintln!("{engine} is not in this build (its cargo feature is off): not tested");
    }
    engine.available()
}

fn on_a_temporary_database(engine: StorageEngine) {
    if !built(engine) {
        return;
    }
    for seed in seeds(40) {
        run_reporting_seed(seed, None, 120, engine);
    }
}

fn on_disk_with_reopens(engine: StorageEngine) {
    if !built(engine) {
        return;
    }
    for seed in seeds(12) {
        let tmp = tempfile::tempdir().unwrap();
        run_reporting_seed(seed, Some(tmp.path()), 120, engine);
    }
}

/// The same model test on every storage engine: one module per engine.
macro_rules! on_every_engine {
    ($($engine:ident => $variant:expr),* $(,)?) => {$(
        mod $engine {
            use super::*;

            #[test]
            fn kith_matches_the_model_on_a_temporary_database() {
                on_a_temporary_database($variant);
            }

            #[test]
            fn kith_matches_the_model_on_disk_with_reopens() {
                on_disk_with_reopens($variant);
            }
        }
    )*};
}

on_every_engine!(
    sled => StorageEngine::Sled,
    fjall => StorageEngine::Fjall,
    redb => StorageEngine::Redb,
);
