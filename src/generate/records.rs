//! FEBRL-like person records with known truth, for identity resolution's
//! accuracy and speed at any size.
//!
//! People live in households (a quarter of them with two to four members who
//! share a family name, an address and a phone, but not a given name or a
//! birth date). Each person has one original record and, for some, one to
//! three duplicates, each corrupted the way source systems corrupt data:
//! typos (a substitution, an insertion, a deletion, a transposition),
//! nicknames, given and family names swapped, missing values, day and month
//! swapped in the birth date, a changed phone digit. Records leave through a
//! bounded shuffle buffer, so duplicates are scattered through the file while
//! memory stays constant whatever the size.
//!
//! The `person` column is the truth: records with the same value describe
//! the same person. A mapping must not map it.

use super::rng::Rng;
use crate::resolve::normalize;
use std::io::{self, Write};

/// The columns of a generated file, in order.
pub const RECORD_COLUMNS: &[&str] = &[
    "rec_id",
    "person",
    "given_name",
    "surname",
    "street_number",
    "address_1",
    "address_2",
    "suburb",
    "postcode",
    "state",
    "date_of_birth",
    "phone",
    "soc_sec_id",
    "email",
];

/// What to generate.
#[derive(Clone, Debug)]
pub struct RecordsConfig {
    /// Number of records (originals and duplicates together).
    pub records: u64,
    /// Seed: the same seed and size give the same file.
    pub seed: u64,
    /// Percent of people with duplicates (each has one to three).
    pub duplicate_percent: u64,
    /// Records held by the shuffle buffer.
    pub shuffle_window: usize,
}

impl Default for RecordsConfig {
    fn default() -> RecordsConfig {
        RecordsConfig {
            records: 10_000,
            seed: 7,
            duplicate_percent: 40,
            shuffle_window: 50_000,
        }
    }
}

/// What was generated.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecordsSummary {
    /// Records written.
    pub records: u64,
    /// Distinct people.
    pub people: u64,
    /// Pairs of records of the same person (the true matches).
    pub true_pairs: u64,
}

const SYLLABLES_A: &[&str] = &[
    "ander", "bal", "bren", "car", "dal", "ell", "fitz", "gar", "hal", "ing", "jor", "kel", "lind",
    "mac", "nor", "ost", "pen", "quin", "ros", "stan", "thor", "ul", "van", "wil", "york", "zel",
    "ash", "bar", "col", "dun", "ed", "fair", "gold", "har", "kirk", "lang", "mont", "new", "old",
    "rad", "sher", "tal", "whit", "brook", "chal", "dor", "grim", "holt", "mer", "pat",
];
const SYLLABLES_B: &[&str] = &[
    "son", "ton", "ley", "man", "field", "ford", "wood", "by", "well", "ridge", "stone", "berg",
    "dale", "worth", "more", "ham", "ington", "er", "ing", "cott", "sen", "ski", "ett", "ow",
    "hurst", "land", "mond", "ock", "an", "ey", "ard", "ins", "ler", "wick", "ston", "den",
];
const STREET_NAMES: &[&str] = &[
    "acacia",
    "banksia",
    "church",
    "darling",
    "elizabeth",
    "flinders",
    "george",
    "high",
    "james",
    "king",
    "lonsdale",
    "market",
    "north",
    "oxford",
    "park",
    "queen",
    "river",
    "station",
    "victoria",
    "william",
    "bridge",
    "hill",
    "lake",
    "mill",
    "spring",
    "wattle",
    "cedar",
    "elm",
    "forest",
    "garden",
    "harbour",
    "jubilee",
    "kent",
    "lincoln",
    "main",
    "ocean",
    "pine",
    "rose",
];
const STREET_TYPES: &[&str] = &[
    "street", "road", "avenue", "place", "crescent", "drive", "lane",
];
const SUBURBS: &[(&str, &str)] = &[
    ("richmond", "vic"),
    ("fitzroy", "vic"),
    ("bondi", "nsw"),
    ("manly", "nsw"),
    ("newtown", "nsw"),
    ("fremantle", "wa"),
    ("subiaco", "wa"),
    ("glenelg", "sa"),
    ("norwood", "sa"),
    ("toowong", "qld"),
    ("paddington", "qld"),
    ("sandy bay", "tas"),
    ("braddon", "act"),
    ("parap", "nt"),
    ("kew", "vic"),
    ("mosman", "nsw"),
];

struct Person {
    id: u64,
    given: String,
    family: String,
    number: u32,
    street: String,
    unit: Option<String>,
    suburb: usize,
    postcode: u32,
    dob: (i32, u32, u32),
    phone: String,
    ssn: u64,
    email: bool,
}

/// A family name: mostly from a skewed pool of a few thousand, so that
/// some are common and most are rare.
fn family(r: &mut Rng) -> String {
    let bound = r.below(SYLLABLES_A.len() as u64) + 1;
    let a = r.below(bound) as usize;
    let b = r.below(SYLLABLES_B.len() as u64) as usize;
    format!("{}{}", SYLLABLES_A[a], SYLLABLES_B[b])
}

fn typo(r: &mut Rng, s: &str) -> String {
    let mut c: Vec<char> = s.chars().collect();
    if c.len() < 3 {
        return s.to_string();
    }
    let i = 1 + r.below(c.len() as u64 - 2) as usize;
    let letter = (b'a' + r.below(26) as u8) as char;
    match r.below(4) {
        0 => c[i] = letter,
        1 => c.insert(i, letter),
        2 => {
            c.remove(i);
        }
        _ => c.swap(i, i - 1),
    }
    c.into_iter().collect()
}

fn row(p: &Person, rec: &str, dup: Option<&mut Rng>) -> Vec<String> {
    let (sub, state) = SUBURBS[p.suburb];
    let mut given = p.given.clone();
    let mut fam = p.family.clone();
    let mut number = p.number.to_string();
    let mut street = p.street.clone();
    let mut unit = p.unit.clone().unwrap_or_default();
    let mut suburb = sub.to_string();
    let mut postcode = p.postcode.to_string();
    let mut state = state.to_string();
    let (y, m, d) = p.dob;
    let mut dob = format!("{y:04}{m:02}{d:02}");
    let mut phone = p.phone.clone();
    let mut ssn = p.ssn.to_string();
    let mut email = if p.email {
        format!("{}.{}{}@mail.example", p.given, p.family, p.id % 1000)
    } else {
        String::new()
    };
    if let Some(r) = dup {
        for _ in 0..1 + r.below(3) {
            match r.below(12) {
                0 | 1 => given = typo(r, &given),
                2 | 3 => fam = typo(r, &fam),
                4 => {
                    let nick = normalize::nicknames_of(&given);
                    if !nick.is_empty() {
                        given = r.pick(&nick).to_string();
                    }
                }
                5 => std::mem::swap(&mut given, &mut fam),
                6 => {
                    if d <= 12 && m != d {
                        dob = format!("{y:04}{d:02}{m:02}");
                    } else {
                        dob = typo(r, &dob);
                    }
                }
                7 => street = typo(r, &street),
                8 => phone = typo(r, &phone),
                9 => ssn = String::new(),
                10 => {
                    let f = r.below(6);
                    for (i, v) in [&mut number, &mut unit, &mut suburb, &mut postcode]
                        .into_iter()
                        .enumerate()
                    {
                        if i as u64 == f {
                            v.clear();
                        }
                    }
                    if f == 4 {
                        phone.clear();
                    }
                    if f == 5 {
                        dob.clear();
                    }
                }
                _ => {
                    state.clear();
                    email.clear();
                }
            }
        }
    }
    vec![
        rec.to_string(),
        p.id.to_string(),
        given,
        fam,
        number,
        street,
        unit,
        suburb,
        postcode,
        state,
        dob,
        phone,
        ssn,
        email,
    ]
}

/// Writes `cfg.records` records as CSV (header [`RECORD_COLUMNS`]) to `out`.
pub fn generate_records(cfg: &RecordsConfig, out: &mut dyn Write) -> io::Result<RecordsSummary> {
    let mut r = Rng::new(cfg.seed);
    let given_pool = normalize::nickname_names();
    let mut w = csv::Writer::from_writer(out);
    w.write_record(RECORD_COLUMNS)?;
    let mut buffer: Vec<Vec<String>> = Vec::with_capacity(cfg.shuffle_window.min(1 << 20));
    let mut s = RecordsSummary::default();
    let mut emit = |row: Vec<String>, r: &mut Rng, w: &mut csv::Writer<&mut dyn Write>| {
        if buffer.len() < cfg.shuffle_window.max(1) {
            buffer.push(row);
            return Ok(());
        }
        let i = r.below(buffer.len() as u64) as usize;
        let old = std::mem::replace(&mut buffer[i], row);
        w.write_record(&old)
    };
    let mut written = 0u64;
    while written < cfg.records {
        let members = if r.chance(25) { 2 + r.below(3) } else { 1 };
        let fam = family(&mut r);
        let number = 1 + r.below(300) as u32;
        let street = format!("{} {}", r.pick(STREET_NAMES), r.pick(STREET_TYPES));
        let unit = r.chance(20).then(|| format!("unit {}", 1 + r.below(40)));
        let suburb = r.below(SUBURBS.len() as u64) as usize;
        let postcode = 2000 + suburb as u32 * 300 + r.below(300) as u32;
        let phone = format!("04{:08}", r.below(100_000_000));
        let mut used = Vec::new();
        for _ in 0..members {
            if written >= cfg.records {
                break;
            }
            let mut given = r.pick(&given_pool).to_string();
            while used.contains(&given) {
                given = r.pick(&given_pool).to_string();
            }
            used.push(given.clone());
            let p = Person {
                id: s.people,
                given,
                family: fam.clone(),
                number,
                street: street.clone(),
                unit: unit.clone(),
                suburb,
                postcode,
                dob: (
                    1930 + r.below(75) as i32,
                    1 + r.below(12) as u32,
                    1 + r.below(28) as u32,
                ),
                phone: phone.clone(),
                ssn: 1_000_000 + r.below(9_000_000_000),
                email: r.chance(30),
            };
            s.people += 1;
            emit(row(&p, &format!("rec-{written}"), None), &mut r, &mut w)?;
            written += 1;
            let dups = if r.chance(cfg.duplicate_percent) {
                1 + r.below(3)
            } else {
                0
            };
            let mut copies = 1u64;
            for _ in 0..dups {
                if written >= cfg.records {
                    break;
                }
                let mut dr = Rng::new(r.next_u64());
                emit(
                    row(&p, &format!("rec-{written}"), Some(&mut dr)),
                    &mut r,
                    &mut w,
                )?;
                written += 1;
                copies += 1;
            }
            s.true_pairs += copies * (copies - 1) / 2;
        }
    }
    // Drain the buffer in random order.
    while !buffer.is_empty() {
        let i = r.below(buffer.len() as u64) as usize;
        let row = buffer.swap_remove(i);
        w.write_record(&row)?;
    }
    w.flush()?;
    s.records = written;
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_with_truth_and_bounded_window() {
        let cfg = RecordsConfig {
            records: 2_000,
            shuffle_window: 100,
            ..RecordsConfig::default()
        };
        let mut a = Vec::new();
        let s = generate_records(&cfg, &mut a).unwrap();
        let mut b = Vec::new();
        generate_records(&cfg, &mut b).unwrap();
        assert_eq!(a, b);
        assert_eq!(s.records, 2_000);
        let mut rdr = csv::Reader::from_reader(&a[..]);
        let rows: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), 2_000);
        let mut by_person = std::collections::HashMap::<String, u64>::new();
        for row in &rows {
            assert_eq!(row.len(), RECORD_COLUMNS.len());
            *by_person.entry(row[1].to_string()).or_default() += 1;
        }
        assert_eq!(by_person.len() as u64, s.people);
        let pairs: u64 = by_person.values().map(|n| n * (n - 1) / 2).sum();
        assert_eq!(pairs, s.true_pairs);
        assert!(s.true_pairs > 300, "{s:?}");
    }
}
