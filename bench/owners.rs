//! Ownership queries on a generated cyclic structure: `owners` (beneficial
//! owners ≥ 25 %, and all owners) and `group`, beside a plain `get` in the
//! same run.
//!
//! `cargo bench --bench owners` (10,000 companies by default:
//! `KITH_BENCH_COMPANIES`). Structure: corporate groups of 100 companies;
//! in a group, each company is held by one or two of the ten companies
//! added just before it (so chains run 10–60 deep), one in ten also holds a
//! share back in a company below it (cross-holdings, cycles), and 2,000
//! persons hold stakes in the first companies of the groups.

mod common;

use common::*;
use criterion::{criterion_group, Criterion};
use kith::generate::Rng;
use kith::{attrs, Db, Decimal, EdgeProps, EntityId, NewEntity, RelKind};
use std::hint::black_box;

fn structure(n: u64) -> (Db, Vec<EntityId>) {
    let db = Db::builder()
        .temporary()
        .durability(kith::Durability::Background { every_ms: 1000 })
        .change_log(false)
        .open()
        .unwrap();
    let mut r = Rng::new(7);
    let share = |pct: u64| EdgeProps::new().attr(attrs::SHARE, Decimal::new(pct as i128, 2));
    let mut companies = Vec::with_capacity(n as usize);
    let group = 100usize;
    for i in 0..n as usize {
        let mut w = db.write_set();
        let c = w
            .create(NewEntity::organization().attr(attrs::ORGANIZATION_NAME, format!("Co {i}")))
            .unwrap();
        let pos = i % group;
        if pos > 0 {
            let start = i - pos;
            let window = pos.min(10);
            let k = 1 + r.below(2) as usize;
            for _ in 0..k {
                let owner = companies[i - 1 - r.below(window as u64) as usize];
                w.relate(c, RelKind::SUBSIDIARY_OF, owner, share(20 + r.below(40)))
                    .unwrap();
            }
            if r.chance(10) && pos > 1 {
                // A cross-holding: this company holds a share back above it.
                let up = companies[start + r.below(pos as u64) as usize];
                w.relate(up, RelKind::SUBSIDIARY_OF, c, share(1 + r.below(9)))
                    .unwrap();
            }
        }
        w.commit().unwrap();
        companies.push(c);
    }
    for _ in 0..2_000 {
        let p = db.create(NewEntity::person()).unwrap();
        let g = r.below((companies.len() / group).max(1) as u64) as usize;
        let c = companies[(g * group + r.below(5) as usize).min(companies.len() - 1)];
        db.relate(p, RelKind::OWNS, c, share(20 + r.below(60)))
            .unwrap();
    }
    (db, companies)
}

fn benches(c: &mut Criterion) {
    let n = env_u64("KITH_BENCH_COMPANIES", 10_000);
    let (db, companies) = structure(n);
    let targets: Vec<EntityId> = draws(companies.len() as u64, 2_000, 3)
        .into_iter()
        .map(|i| companies[i as usize])
        .collect();
    let quarter = Decimal::new(25, 2);
    let rows = vec![
        percentiles("owners ≥ 25 %, persons", &targets, |t| {
            black_box(db.owners(*t, quarter, true).unwrap());
        }),
        percentiles("owners, all", &targets, |t| {
            black_box(db.owners(*t, Decimal::ZERO, false).unwrap());
        }),
        percentiles("group", &targets[..200], |t| {
            black_box(db.group(*t).unwrap());
        }),
    ];
    let baseline = percentiles("get by id (baseline)", &targets, |t| {
        black_box(db.get(*t).unwrap());
    });
    report(&format!("owners {n} companies"), &rows, &baseline);
    let mut g = c.benchmark_group(format!("owners/{n}-companies"));
    let mut i = 0usize;
    let mut next = || {
        i = (i + 1) % targets.len();
        targets[i]
    };
    g.bench_function("owners >= 25%, persons", |b| {
        b.iter(|| black_box(db.owners(next(), quarter, true).unwrap()))
    });
    g.finish();
}

criterion_group!(owners, benches);

fn main() {
    owners();
    Criterion::default().configure_from_args().final_summary();
}
