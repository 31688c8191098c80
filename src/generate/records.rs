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

/// The columns of one record, as [`RECORD_COLUMNS`] orders them after the
/// record and person ids.
struct Fields {
    given: String,
    family: String,
    number: String,
    street: String,
    unit: String,
    suburb: String,
    postcode: String,
    state: String,
    dob: String,
    phone: String,
    ssn: String,
    email: String,
}

impl Fields {
    fn of(p: &Person) -> Fields {
        let (sub, state) = SUBURBS[p.suburb];
        let (y, m, d) = p.dob;
        Fields {
            given: p.given.clone(),
            family: p.family.clone(),
            number: p.number.to_string(),
            street: p.street.clone(),
            unit: p.unit.clone().unwrap_or_default(),
            suburb: sub.to_string(),
            postcode: p.postcode.to_string(),
            state: state.to_string(),
            dob: format!("{y:04}{m:02}{d:02}"),
            phone: p.phone.clone(),
            ssn: p.ssn.to_string(),
            email: if p.email {
                format!("{}.{}{}@mail.example", p.given, p.family, p.id % 1000)
            } else {
                String::new()
            },
        }
    }

    /// One corruption of a duplicate, as real sources make them: a typo, a
    /// nickname, swapped names or day and month, a field left out.
    fn damage(&mut self, r: &mut Rng, (y, m, d): (i32, u32, u32)) {
        match r.below(12) {
            0 | 1 => self.given = typo(r, &self.given),
            2 | 3 => self.family = typo(r, &self.family),
            4 => {
                let nick = normalize::nicknames_of(&self.given);
                if !nick.is_empty() {
                    self.given = r.pick(&nick).to_string();
                }
            }
            5 => std::mem::swap(&mut self.given, &mut self.family),
            6 => {
                if d <= 12 && m != d {
                    self.dob = format!("{y:04}{d:02}{m:02}");
                } else {
                    self.dob = typo(r, &self.dob);
                }
            }
            7 => self.street = typo(r, &self.street),
            8 => self.phone = typo(r, &self.phone),
            9 => self.ssn = String::new(),
            10 => match r.below(6) {
                0 => self.number.clear(),
                1 => self.unit.clear(),
                2 => self.suburb.clear(),
                3 => self.postcode.clear(),
                4 => self.phone.clear(),
                _ => self.dob.clear(),
            },
            _ => {
                self.state.clear();
                self.email.clear();
            }
        }
    }
}

fn row(p: &Person, rec: &str, dup: Option<&mut Rng>) -> Vec<String> {
    let mut f = Fields::of(p);
    if let Some(r) = dup {
        for _ in 0..1 + r.below(3) {
            f.damage(r, p.dob);
        }
    }
    vec![
        rec.to_string(),
        p.id.to_string(),
        f.given,
        f.family,
        f.number,
        f.street,
        f.unit,
        f.suburb,
        f.postcode,
        f.state,
        f.dob,
        f.phone,
        f.ssn,
        f.email,
    ]
}

/// The rows written so far, through a window in which they are shuffled
/// (so that a person's duplicates do not arrive next to each other).
struct Shuffled<'a> {
    w: csv::Writer<&'a mut dyn Write>,
    buffer: Vec<Vec<String>>,
    window: usize,
    written: u64,
}

impl Shuffled<'_> {
    fn emit(&mut self, row: Vec<String>, r: &mut Rng) -> io::Result<()> {
        self.written += 1;
        if self.buffer.len() < self.window {
            self.buffer.push(row);
            return Ok(());
        }
        let i = r.below(self.buffer.len() as u64) as usize;
        let old = std::mem::replace(&mut self.buffer[i], row);
        Ok(self.w.write_record(&old)?)
    }

    /// Drains the window in random order.
    fn finish(mut self, r: &mut Rng) -> io::Result<()> {
        while !self.buffer.is_empty() {
            let i = r.below(self.buffer.len() as u64) as usize;
            let row = self.buffer.swap_remove(i);
            self.w.write_record(&row)?;
        }
        self.w.flush()
    }
}

/// Writes `cfg.records` records as CSV (header [`RECORD_COLUMNS`]) to `out`.
pub fn generate_records(cfg: &RecordsConfig, out: &mut dyn Write) -> io::Result<RecordsSummary> {
    let mut r = Rng::new(cfg.seed);
    let given_pool = normalize::nickname_names();
    let mut w = csv::Writer::from_writer(out);
    w.write_record(RECORD_COLUMNS)?;
    let mut out = Shuffled {
        w,
        buffer: Vec::with_capacity(cfg.shuffle_window.min(1 << 20)),
        window: cfg.shuffle_window.max(1),
        written: 0,
    };
    let mut s = RecordsSummary::default();
    while out.written < cfg.records {
        let members = if r.chance(25) { 2 + r.below(3) } else { 1 };
        let home = Person {
            id: 0,
            given: String::new(),
            family: family(&mut r),
            number: 1 + r.below(300) as u32,
            street: format!("{} {}", r.pick(STREET_NAMES), r.pick(STREET_TYPES)),
            unit: r.chance(20).then(|| format!("unit {}", 1 + r.below(40))),
            suburb: 0,
            postcode: 0,
            dob: (0, 0, 0),
            phone: String::new(),
            ssn: 0,
            email: false,
        };
        let suburb = r.below(SUBURBS.len() as u64) as usize;
        let postcode = 2000 + suburb as u32 * 300 + r.below(300) as u32;
        let phone = format!("04{:08}", r.below(100_000_000));
        let mut used = Vec::new();
        for _ in 0..members {
            if out.written >= cfg.records {
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
                family: home.family.clone(),
                street: home.street.clone(),
                unit: home.unit.clone(),
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
                ..home
            };
            s.people += 1;
            let copies = write_person(&mut out, &mut r, &p, cfg)?;
            s.true_pairs += copies * (copies - 1) / 2;
        }
    }
    s.records = out.written;
    out.finish(&mut r)?;
    Ok(s)
}

/// Writes a person's record and, by chance, up to three damaged duplicates;
/// returns how many records it wrote.
fn write_person(
    out: &mut Shuffled<'_>,
    r: &mut Rng,
    p: &Person,
    cfg: &RecordsConfig,
) -> io::Result<u64> {
    out.emit(row(p, &format!("rec-{}", out.written), None), r)?;
    let dups = if r.chance(cfg.duplicate_percent) {
        1 + r.below(3)
    } else {
        0
    };
    let mut copies = 1u64;
    for _ in 0..dups {
        if out.written >= cfg.records {
            break;
        }
        let mut dr = Rng::new(r.next_u64());
        out.emit(row(p, &format!("rec-{}", out.written), Some(&mut dr)), r)?;
        copies += 1;
    }
    Ok(copies)
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
