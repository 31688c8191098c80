//! Opening: the format-v1 fixture and its migration, and every kind of bad
//! database: corrupt values, foreign directories, newer formats, locks.

use kith::raw::RawStore;
use kith::{
    attrs, Db, EntityId, EntityKind, Index, NewEntity, OpenError, ReadError, StorageEngine,
    StorageError,
};
use std::path::Path;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

/// A copy of the fixture `name` (under `tests/fixtures`, written by sled)
/// in a temporary directory, carried row for row into `engine`: the
/// directory (kept while the guard lives) and the copy.
fn fixture(name: &str, engine: StorageEngine) -> (tempfile::TempDir, std::path::PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let sled = tmp.path().join("sled");
    copy_dir(&Path::new("tests/fixtures").join(name), &sled);
    if engine == StorageEngine::Sled {
        return (tmp, sled);
    }
    let dir = tmp.path().join("db");
    RawStore::copy(&sled, &dir, engine).unwrap();
    (tmp, dir)
}

/// Opens with kith, waiting the same way for a just-closed raw handle.
fn kith_open(dir: &Path) -> Result<Db, OpenError> {
    for _ in 0..100 {
        match Db::builder().path(dir).upgrade(true).open() {
            Err(OpenError::Locked { .. }) => {
                std::thread::sleep(std::time::Duration::from_millis(20))
            }
            other => return other,
        }
    }
    Db::open(dir)
}

/// The raw value of a key, read with the engine directly (the database must be closed).
fn raw_get(dir: &Path, key: &[u8]) -> Option<Vec<u8>> {
    RawStore::open(dir, StorageEngine::Sled).unwrap().get(key)
}

/// Writes a raw row with `engine` (the engine of the directory, when it
/// has one), behind kith's back.
fn raw_put(dir: &Path, engine: StorageEngine, key: &[u8], value: &[u8]) {
    RawStore::open(dir, engine).unwrap().put(key, value)
}

/// A new database of `engine` at `dir`.
fn create(dir: &Path, engine: StorageEngine) -> Db {
    Db::builder().engine(engine).path(dir).open().unwrap()
}

fn meta_key(name: &str) -> Vec<u8> {
    let mut k = vec![0u8];
    k.extend_from_slice(name.as_bytes());
    k
}

fn format_v1_fixture_opens_migrates_and_reads(engine: StorageEngine) {
    let (_tmp, dir) = fixture("format-v1", engine);
    assert_eq!(
        raw_get(&dir, &meta_key("format")),
        Some(vec![1, 0, 0, 0, 0, 0, 0, 0, 1])
    );
    {
        let db = kith_open(&dir).unwrap();
        // Written by `kith generate --persons 12 --seed 7 --interactions 1` at format 1.
        let s = db.stats().unwrap();
        assert_eq!(s.entities["person"], 12);
        assert_eq!(s.entities["organization"], 3);
        assert_eq!(s.entities["household"], 7);
        assert_eq!(s.entities["account"], 36);
        assert_eq!(s.entities["interaction"], 12);
        assert_eq!(s.relationships["OWNS"], 38);
        assert_eq!(s.relationships["MEMBER_OF"], 12);
        let org = db.get(EntityId(1)).unwrap().unwrap();
        assert_eq!(org.kind, EntityKind::ORGANIZATION);
        assert_eq!(org.text(attrs::ORGANIZATION_NAME), Some("Blue Sun LLC #0"));
        assert_eq!(
            db.lookup("corporate_crm", "ORG0000000").unwrap(),
            Some(EntityId(1))
        );
        let p = db
            .lookup("core_banking", &kith::generate::core_key(0))
            .unwrap()
            .unwrap();
        assert_eq!(
            db.find(Index::Email, &kith::generate::email(0)).unwrap(),
            vec![p]
        );
        let report = db.check().unwrap();
        assert!(report.is_ok(), "{:?}", report.violations);
        // Format 3's timelines were built from the stored interactions.
        let recent = db.recent_interactions(p, 5).unwrap();
        assert_eq!(recent.len(), 1);
        let i = db.get(recent[0].1).unwrap().unwrap();
        assert_eq!(
            i.attr(attrs::OCCURRED_AT),
            Some(kith::Value::Timestamp(recent[0].0))
        );
        // New writes after migration keep counters exact.
        db.create(NewEntity::person().identifier("crm", "after-migration"))
            .unwrap();
        assert_eq!(db.stats().unwrap().entities["person"], 13);
        assert!(db.check().unwrap().is_ok());
    }
    assert_eq!(
        raw_get(&dir, &meta_key("format")),
        Some(vec![1, 0, 0, 0, 0, 0, 0, 0, 7])
    );
    let db = kith_open(&dir).unwrap();
    assert_eq!(db.stats().unwrap().entities["person"], 13);
}

fn corrupt_value_is_an_error_naming_the_key_and_nothing_else_is_lost(engine: StorageEngine) {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = {
        let db = create(tmp.path(), engine);
        let a = db
            .create(NewEntity::person().identifier("crm", "A"))
            .unwrap();
        let b = db
            .create(NewEntity::person().identifier("crm", "B"))
            .unwrap();
        (a, b)
    };
    let mut node_key = vec![1u8];
    node_key.extend_from_slice(&a.0.to_be_bytes());
    raw_put(
        tmp.path(),
        engine,
        &node_key,
        &[1, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x07],
    );
    let db = kith_open(tmp.path()).unwrap();
    match db.get(a) {
        Err(ReadError::Storage(StorageError::Corrupt { key, .. })) => {
            assert_eq!(key, format!("node/{}", a.0))
        }
        other => panic!("expected a corruption error, got {other:?}"),
    }
    // The rest of the database reads fine.
    assert!(db.get(b).unwrap().is_some());
    assert_eq!(db.lookup("crm", "A").unwrap(), Some(a));
    // check() reports it (and the identifier that now points at it) without stopping.
    let report = db.check().unwrap();
    assert!(!report.is_ok());
    assert!(report
        .violations
        .iter()
        .any(|v| v.key == format!("node/{}", a.0)));
    // Writes touching the corrupt entity are refused, not half-applied.
    assert!(db.update(a, kith::Patch::new().set("x", "y")).is_err());
    assert!(db.get(b).unwrap().is_some());
}

fn a_directory_of_other_files_is_not_a_database(engine: StorageEngine) {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("notes.txt"), "hello").unwrap();
    match Db::builder().engine(engine).path(tmp.path()).open() {
        Err(OpenError::NotADatabase { reason, .. }) => assert!(reason.contains("other files")),
        other => panic!("expected NotADatabase, got {other:?}"),
    }
    // Nothing was written there.
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 1);
    // A plain file.
    let f = tmp.path().join("notes.txt");
    assert!(matches!(Db::open(&f), Err(OpenError::NotADatabase { .. })));
    // A store of the same engine that some other program wrote.
    let other = tmp.path().join("other");
    raw_put(&other, engine, b"somebody else's key", b"value");
    assert!(matches!(
        kith_open(&other),
        Err(OpenError::NotADatabase { .. })
    ));
    assert_eq!(
        raw_get(&other, b"somebody else's key"),
        Some(b"value".to_vec())
    );
}

fn a_newer_format_is_refused_and_left_untouched(engine: StorageEngine) {
    let tmp = tempfile::tempdir().unwrap();
    {
        let db = create(tmp.path(), engine);
        db.create(NewEntity::person().identifier("crm", "A"))
            .unwrap();
    }
    let newer = [1, 0, 0, 0, 0, 0, 0, 0, 99];
    raw_put(tmp.path(), engine, &meta_key("format"), &newer);
    match kith_open(tmp.path()) {
        Err(OpenError::NewerFormat { found, supported }) => {
            assert_eq!(found, 99);
            assert_eq!(supported, 7);
        }
        other => panic!("expected NewerFormat, got {other:?}"),
    }
    assert_eq!(
        raw_get(tmp.path(), &meta_key("format")),
        Some(newer.to_vec())
    );
    let mut id_key = vec![3u8];
    id_key.extend_from_slice(b"crm\0\x01A\0\x01");
    assert!(raw_get(tmp.path(), &id_key).is_some());
}

#[test]
#[cfg(feature = "cli")] // runs the `kith` command as the other process
fn a_database_open_in_another_process_is_refused() {
    for engine in StorageEngine::available_engines() {
        let tmp = tempfile::tempdir().unwrap();
        let db = create(tmp.path(), engine);
        db.create(NewEntity::person()).unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_kith"))
            .arg("--db")
            .arg(tmp.path())
            .arg("stats")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{engine}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("in use by another process"),
            "{engine}: {stderr}"
        );
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        // The same within one process: a second handle must share the first (clone it).
        assert!(
            matches!(Db::open(tmp.path()), Err(OpenError::Locked { .. })),
            "{engine}"
        );
        assert_eq!(db.stats().unwrap().entities["person"], 1);
    }
}

#[test]
fn invalid_options_are_refused() {
    assert!(matches!(
        Db::builder().temporary().default_country_code("+44").open(),
        Err(OpenError::InvalidOption(_))
    ));
    assert!(matches!(
        Db::builder()
            .temporary()
            .durability(kith::Durability::Background { every_ms: 0 })
            .open(),
        Err(OpenError::InvalidOption(_))
    ));
}

fn the_country_code_is_fixed_at_creation(engine: StorageEngine) {
    let tmp = tempfile::tempdir().unwrap();
    {
        let db = Db::builder()
            .engine(engine)
            .path(tmp.path())
            .default_country_code("44")
            .open()
            .unwrap();
        db.create(NewEntity::person().attr(attrs::PHONE, "020 7946 0018"))
            .unwrap();
    }
    let db = Db::builder()
        .path(tmp.path())
        .default_country_code("1")
        .open()
        .unwrap();
    assert_eq!(db.default_country_code(), "44");
    assert_eq!(db.find(Index::Phone, "+44 20 7946 0018").unwrap().len(), 1);
    assert_eq!(db.find(Index::Phone, "020 7946 0018").unwrap().len(), 1);
}

fn format_v2_fixture_gains_timelines_on_open(engine: StorageEngine) {
    let (_tmp, dir) = fixture("format-v2", engine);
    assert_eq!(
        raw_get(&dir, &meta_key("format")),
        Some(vec![1, 0, 0, 0, 0, 0, 0, 0, 2])
    );
    {
        // Written by `kith generate --persons 10 --seed 11 --interactions 2` at format 2.
        let db = kith_open(&dir).unwrap();
        let s = db.stats().unwrap();
        assert_eq!(s.entities["person"], 10);
        assert_eq!(s.entities["interaction"], 20);
        assert_eq!(s.relationships["HAD_INTERACTION"], 20);
        let p = db
            .lookup("core_banking", &kith::generate::core_key(3))
            .unwrap()
            .unwrap();
        let recent = db.recent_interactions(p, 10).unwrap();
        assert_eq!(recent.len(), 2);
        assert!(recent[0].0 >= recent[1].0, "newest first");
        let report = db.check().unwrap();
        assert!(report.is_ok(), "{:?}", report.violations);
    }
    assert_eq!(
        raw_get(&dir, &meta_key("format")),
        Some(vec![1, 0, 0, 0, 0, 0, 0, 0, 7])
    );
}

fn format_v3_fixture_gains_an_empty_change_log_on_open(engine: StorageEngine) {
    let (_tmp, dir) = fixture("format-v3", engine);
    assert_eq!(
        raw_get(&dir, &meta_key("format")),
        Some(vec![1, 0, 0, 0, 0, 0, 0, 0, 3])
    );
    {
        // Written by `kith generate --persons 10 --seed 13 --interactions 2` at format 3.
        let db = kith_open(&dir).unwrap();
        let s = db.stats().unwrap();
        assert_eq!(s.entities["person"], 10);
        assert_eq!(s.entities["interaction"], 20);
        assert!(db.changes().is_empty());
        assert_eq!(db.changes().last(), kith::ChangeId::ZERO);
        let id = db.create(NewEntity::person()).unwrap();
        let log = db.changes().read_after(kith::ChangeId::ZERO, 10).unwrap();
        assert_eq!(log[0].id.seq, 1);
        assert_eq!(
            log[0].change,
            kith::Change::EntityCreated {
                id,
                kind: "person".into(),
                attrs: Default::default()
            }
        );
        let report = db.check().unwrap();
        assert!(report.is_ok(), "{:?}", report.violations);
    }
    assert_eq!(
        raw_get(&dir, &meta_key("format")),
        Some(vec![1, 0, 0, 0, 0, 0, 0, 0, 7])
    );
}

fn format_v4_fixture_keeps_its_change_log_and_gains_an_actions_stream(engine: StorageEngine) {
    let (_tmp, dir) = fixture("format-v4", engine);
    assert_eq!(
        raw_get(&dir, &meta_key("format")),
        Some(vec![1, 0, 0, 0, 0, 0, 0, 0, 4])
    );
    {
        // Written by `kith generate --persons 10 --seed 17 --interactions 2
        // --change-log` at format 4.
        let db = kith_open(&dir).unwrap();
        assert_eq!(db.migrated_from(), Some(4));
        let s = db.stats().unwrap();
        assert_eq!(s.entities["person"], 10);
        let before = db.changes().len();
        assert!(before > 100, "the fixture's log: {before}");
        assert!(db.actions().is_empty());
        let first = db.changes().first().unwrap().unwrap();
        assert_eq!(first.id.seq, 1);
        assert_eq!(first.change.type_name(), "entity.created");
        #[cfg(feature = "rules")]
        assert!(db.rules().unwrap().is_empty());
        let report = db.check().unwrap();
        assert!(report.is_ok(), "{:?}", report.violations);
    }
    assert_eq!(
        raw_get(&dir, &meta_key("format")),
        Some(vec![1, 0, 0, 0, 0, 0, 0, 0, 7])
    );
}

fn format_v5_fixture_gains_a_name_index(engine: StorageEngine) {
    let (_tmp, dir) = fixture("format-v5", engine);
    // Written by `kith generate --persons 10 --seed 17 --interactions 2
    // --change-log` at format 5.
    let db = kith_open(&dir).unwrap();
    assert_eq!(db.migrated_from(), Some(5));
    let persons = db.list(kith::EntityKind::PERSON, None, 100).unwrap().ids;
    assert_eq!(persons.len(), 10);
    for id in persons {
        let e = db.get(id).unwrap().unwrap();
        let family = e.text(kith::attrs::FAMILY_NAME).unwrap().to_string();
        let found = db.search_names(&family, 1_000).unwrap();
        assert!(
            found.matches.iter().any(|m| m.id == id),
            "{family}: {found:?}"
        );
    }
    let orgs = db
        .list(kith::EntityKind::ORGANIZATION, None, 100)
        .unwrap()
        .ids;
    let e = db.get(orgs[0]).unwrap().unwrap();
    let name = e.text(kith::attrs::ORGANIZATION_NAME).unwrap().to_string();
    assert!(db
        .search_names(&name, 10)
        .unwrap()
        .matches
        .iter()
        .any(|m| m.id == orgs[0]));
    let report = db.check().unwrap();
    assert!(report.is_ok(), "{:?}", report.violations);
}

fn format_v6_fixture_counts_merged_customers_apart(engine: StorageEngine) {
    let (_tmp, dir) = fixture("format-v6", engine);
    // Written by `kith apply` at format 6: Ann Lee's second customer was
    // merged into her first when a third record joined them; Bo Chan alone.
    let db = kith_open(&dir).unwrap();
    assert_eq!(db.migrated_from(), Some(6));
    let stats = db.stats().unwrap();
    assert_eq!(stats.entities["person"], 2, "{stats:?}");
    assert_eq!(stats.merged["person"], 1, "{stats:?}");
    assert_eq!(stats.entities["source_record"], 4, "{stats:?}");
    let report = db.check().unwrap();
    assert!(report.is_ok(), "{:?}", report.violations);
}

fn an_upgrade_past_a_corrupt_value_finishes_and_check_names_it(engine: StorageEngine) {
    let (_tmp, dir) = fixture("format-v6", engine);
    let node = |id: u64| {
        let mut k = vec![1u8];
        k.extend_from_slice(&id.to_be_bytes());
        k
    };
    // Find a stored entity and break its value.
    let victim = (1..100u64)
        .find(|id| raw_get(&dir, &node(*id)).is_some())
        .unwrap();
    raw_put(
        &dir,
        engine,
        &node(victim),
        &[1, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x07],
    );
    let db = kith_open(&dir).unwrap();
    assert_eq!(db.migrated_from(), Some(6));
    let report = db.check().unwrap();
    assert!(
        report
            .violations
            .iter()
            .any(|v| v.key == format!("node/{victim}")),
        "{:?}",
        report.violations
    );
    // The rest reads.
    assert!(db.lookup("crm", "2").unwrap().is_some());
}

fn an_older_format_is_refused_untouched_until_upgraded(engine: StorageEngine) {
    for (name, format) in [
        ("format-v1", 1u8),
        ("format-v2", 2),
        ("format-v3", 3),
        ("format-v4", 4),
        ("format-v5", 5),
        ("format-v6", 6),
    ] {
        let (_tmp, dir) = fixture(name, engine);
        let before = raw_get(&dir, &meta_key("format"));
        match Db::open(&dir) {
            Err(e @ OpenError::OlderFormat { .. }) => {
                let OpenError::OlderFormat { found, current, .. } = &e else {
                    unreachable!()
                };
                assert_eq!((*found, *current), (format as u32, Db::format_version()));
                assert!(e.to_string().contains("kith --db"), "{e}");
                assert!(e.to_string().contains("upgrade"), "{e}");
            }
            other => panic!("{name}: expected OlderFormat, got {other:?}"),
        }
        assert_eq!(
            raw_get(&dir, &meta_key("format")),
            before,
            "{name} was rewritten"
        );
        assert_eq!(before, Some(vec![1, 0, 0, 0, 0, 0, 0, 0, format]));
        let db = kith_open(&dir).unwrap();
        assert_eq!(db.migrated_from(), Some(format as u32));
        assert!(db.check().unwrap().is_ok());
        drop(db);
        let db = kith_open(&dir).unwrap();
        assert_eq!(db.migrated_from(), None, "{name}: migrated twice");
    }
}

fn a_database_opened_with_another_engine_named_is_refused_untouched(engine: StorageEngine) {
    let tmp = tempfile::tempdir().unwrap();
    let id = {
        let db = create(tmp.path(), engine);
        assert_eq!(db.engine(), engine);
        db.create(NewEntity::person().identifier("crm", "A"))
            .unwrap()
    };
    for other in StorageEngine::available_engines() {
        let opened = Db::builder().engine(other).path(tmp.path()).open();
        if other == engine {
            assert_eq!(opened.unwrap().engine(), engine);
            continue;
        }
        match opened {
            Err(e @ OpenError::WrongEngine { .. }) => {
                let OpenError::WrongEngine {
                    found, requested, ..
                } = &e
                else {
                    unreachable!()
                };
                assert_eq!((*found, *requested), (engine, other));
                assert!(e.to_string().contains("migrate --to-engine"), "{e}");
            }
            other => panic!("expected WrongEngine, got {:?}", other.map(|_| ())),
        }
    }
    // Named or not, it opens with its own engine and holds what it held.
    let db = Db::open(tmp.path()).unwrap();
    assert_eq!(db.engine(), engine);
    assert_eq!(db.lookup("crm", "A").unwrap(), Some(id));
    assert!(db.check().unwrap().is_ok());
}

fn an_engine_file_naming_no_engine_is_an_error(engine: StorageEngine) {
    let tmp = tempfile::tempdir().unwrap();
    drop(create(tmp.path(), engine));
    std::fs::write(tmp.path().join("ENGINE"), "rocksdb\n").unwrap();
    let e = Db::open(tmp.path()).map(|_| ()).unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("ENGINE") && text.contains("rocksdb"),
        "{text}"
    );
    assert!(text.contains("sled, fjall, redb"), "{text}");
}

fn a_copy_into_every_engine_holds_the_same_database(engine: StorageEngine) {
    let tmp = tempfile::tempdir().unwrap();
    let src = create(&tmp.path().join("src"), engine);
    kith::generate::generate_bank(
        &src,
        &kith::generate::BankConfig {
            persons: 30,
            seed: 5,
            interactions_per_person: 2,
        },
        |_| {},
    )
    .unwrap();
    let want = src.stats().unwrap();
    let key = kith::generate::core_key(3);
    let p = src.lookup("core_banking", &key).unwrap().unwrap();
    let ctx = src.context(p).unwrap();
    for to in StorageEngine::available_engines() {
        let out = tmp.path().join(format!("copy-{to}"));
        let report = src.copy_to_engine(&out, to).unwrap();
        assert_eq!(report.engine, to);
        assert!(report.keys > 100);
        let copy = Db::open(&out).unwrap();
        assert_eq!(copy.engine(), to);
        let got = copy.stats().unwrap();
        assert_eq!(got.entities, want.entities, "{engine} -> {to}");
        assert_eq!(got.relationships, want.relationships, "{engine} -> {to}");
        assert_eq!(copy.lookup("core_banking", &key).unwrap(), Some(p));
        let c = copy.context(p).unwrap();
        assert_eq!(c.accounts.len(), ctx.accounts.len());
        assert!(copy.check().unwrap().is_ok());
        drop(copy);
        // A second copy into the same (now full) directory is refused.
        assert!(matches!(
            src.copy_to_engine(&out, to),
            Err(kith::CopyError::Destination { .. })
        ));
    }
    // Into itself: refused.
    assert!(src.copy_to_engine(&tmp.path().join("src"), engine).is_err());
}

fn an_unfinished_copy_is_never_opened_and_is_started_again(engine: StorageEngine) {
    let tmp = tempfile::tempdir().unwrap();
    let src = create(&tmp.path().join("src"), engine);
    src.create(NewEntity::person().identifier("crm", "A"))
        .unwrap();
    let out = tmp.path().join("copy");
    src.copy_to_engine(&out, engine).unwrap();
    // As a copy cut off part-way leaves it: the marker still there.
    std::fs::write(out.join("COPYING"), "").unwrap();
    match Db::open(&out) {
        Err(OpenError::NotADatabase { reason, .. }) => {
            assert!(reason.contains("unfinished copy"), "{reason}")
        }
        other => panic!("expected NotADatabase, got {:?}", other.map(|_| ())),
    }
    // Copying again starts afresh and finishes.
    src.copy_to_engine(&out, engine).unwrap();
    let copy = Db::open(&out).unwrap();
    assert!(copy.lookup("crm", "A").unwrap().is_some());
}

/// One engine's module of the tests above.
macro_rules! engine_module {
    ($engine:ident, $variant:expr, [$($test:ident),*]) => {
        mod $engine {
            use kith::StorageEngine;
            $(
                #[test]
                fn $test() {
                    if $variant.available() {
                        super::$test($variant);
                    } else {
                        eprintln!("{} is not in this build: not tested", $variant);
                    }
                }
            )*
        }
    };
}

/// The tests above, on every storage engine this build has: one module per
/// engine.
macro_rules! on_every_engine {
    ($($test:ident),* $(,)?) => {
        engine_module!(sled, StorageEngine::Sled, [$($test),*]);
        engine_module!(fjall, StorageEngine::Fjall, [$($test),*]);
        engine_module!(redb, StorageEngine::Redb, [$($test),*]);
    };
}

on_every_engine!(
    format_v1_fixture_opens_migrates_and_reads,
    corrupt_value_is_an_error_naming_the_key_and_nothing_else_is_lost,
    a_directory_of_other_files_is_not_a_database,
    a_newer_format_is_refused_and_left_untouched,
    the_country_code_is_fixed_at_creation,
    format_v2_fixture_gains_timelines_on_open,
    format_v3_fixture_gains_an_empty_change_log_on_open,
    format_v4_fixture_keeps_its_change_log_and_gains_an_actions_stream,
    format_v5_fixture_gains_a_name_index,
    format_v6_fixture_counts_merged_customers_apart,
    an_upgrade_past_a_corrupt_value_finishes_and_check_names_it,
    an_older_format_is_refused_untouched_until_upgraded,
    a_database_opened_with_another_engine_named_is_refused_untouched,
    an_engine_file_naming_no_engine_is_an_error,
    a_copy_into_every_engine_holds_the_same_database,
    an_unfinished_copy_is_never_opened_and_is_started_again,
);
