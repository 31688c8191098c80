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
//! With [`RecordsConfig::messy`] the records carry what real sources make
//! hard (columns [`MESSY_COLUMNS`] added): family mailboxes shared by a
//! household, role mailboxes (`info@`, `sales@` of an employer) shared by
//! many people, a personal mobile beside the household phone, twins (same
//! birth date, address and phone, other given name and national id), care
//! homes whose address many unrelated people share, duplicates with a
//! mistyped national id or a former family name; aliases (a nickname the
//! person also goes by) and former family names (a maiden name) as columns
//! of their own, which older sources give as the only name; a mailing
//! address beside the home address, which a billing source gives as the
//! only address; and the employers behind the role mailboxes as
//! organization records of their own (name variants, a registration number
//! some duplicates lack), whose employees are persons who share the
//! company's mailbox and must never merge into it. The employments are
//! written to a file of their own ([`generate_records_with`]), to be
//! imported as relationships (`bench/records/messy-employment.toml`).
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

/// The columns [`RecordsConfig::messy`] adds after [`RECORD_COLUMNS`].
/// An organization's row has `kind` `organization`, `org_name` and
/// `reg_no`, its truth (`person`) `org-N`, and no person columns.
pub const MESSY_COLUMNS: &[&str] = &[
    "phone_mobile",
    "email_work",
    "given_alias",
    "former_surname",
    "mail_street_number",
    "mail_address_1",
    "mail_suburb",
    "mail_postcode",
    "kind",
    "org_name",
    "reg_no",
];

/// The columns of the employment file [`generate_records_with`] writes: a
/// person's record and the registration number of its employer.
pub const EMPLOYMENT_COLUMNS: &[&str] = &["rec_id", "employer_reg"];

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
    /// Add the difficulties of real sources (see the module docs) and the
    /// [`MESSY_COLUMNS`].
    pub messy: bool,
}

impl Default for RecordsConfig {
    fn default() -> RecordsConfig {
        RecordsConfig {
            records: 10_000,
            seed: 7,
            duplicate_percent: 40,
            shuffle_window: 50_000,
            messy: false,
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
    /// Organizations among the people (messy records: the employers).
    pub organizations: u64,
    /// Rows of the employment file.
    pub employments: u64,
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
    /// Messy records: the email written instead of a personal one (a
    /// family mailbox), a mobile, a work (role) mailbox.
    shared_email: Option<String>,
    mobile: Option<String>,
    work_email: Option<String>,
    /// Messy records: a nickname the person also goes by, a former family
    /// name, a mailing address (house number, street, suburb, postcode),
    /// the employer behind the work mailbox.
    alias: Option<String>,
    former: Option<String>,
    mail: Option<(u32, String, usize, u32)>,
    employer: Option<u64>,
}

/// Employers whose role mailboxes messy records give.
const EMPLOYERS: u64 = 200;
const ROLES: &[&str] = &["info", "sales", "office", "contact", "admin"];

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
    mobile: String,
    work_email: String,
    alias: String,
    former: String,
    mail_number: String,
    mail_street: String,
    mail_suburb: String,
    mail_postcode: String,
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
            email: match (&p.shared_email, p.email) {
                (Some(shared), _) => shared.clone(),
                (None, true) => format!("{}.{}{}@mail.example", p.given, p.family, p.id % 1000),
                (None, false) => String::new(),
            },
            mobile: p.mobile.clone().unwrap_or_default(),
            work_email: p.work_email.clone().unwrap_or_default(),
            alias: p.alias.clone().unwrap_or_default(),
            former: p.former.clone().unwrap_or_default(),
            mail_number: p.mail.as_ref().map(|m| m.0.to_string()).unwrap_or_default(),
            mail_street: p.mail.as_ref().map(|m| m.1.clone()).unwrap_or_default(),
            mail_suburb: p
                .mail
                .as_ref()
                .map(|m| SUBURBS[m.2].0.to_string())
                .unwrap_or_default(),
            mail_postcode: p.mail.as_ref().map(|m| m.3.to_string()).unwrap_or_default(),
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

    /// What messy sources add to a duplicate: a national id with one digit
    /// mistyped, a former family name, the mobile or work mailbox left out;
    /// and a source that knows only one name or one address: the alias as
    /// the given name, the former family name as the family name, the
    /// mailing address as the address (their own columns left empty).
    fn damage_messy(&mut self, r: &mut Rng) {
        match r.below(8) {
            0 if !self.ssn.is_empty() => self.ssn = mistype_digit(r, &self.ssn),
            1 => self.family = family(r),
            2 => self.mobile.clear(),
            3 => self.work_email.clear(),
            _ => {}
        }
        if !self.alias.is_empty() && r.chance(33) {
            self.given = std::mem::take(&mut self.alias);
        }
        if !self.former.is_empty() && r.chance(33) {
            self.family = std::mem::take(&mut self.former);
        }
        if !self.mail_street.is_empty() && r.chance(25) {
            self.number = std::mem::take(&mut self.mail_number);
            self.street = std::mem::take(&mut self.mail_street);
            self.unit.clear();
            self.suburb = std::mem::take(&mut self.mail_suburb);
            self.postcode = std::mem::take(&mut self.mail_postcode);
        }
    }
}

/// `digits` with one digit replaced by another.
fn mistype_digit(r: &mut Rng, digits: &str) -> String {
    let mut c: Vec<char> = digits.chars().collect();
    let i = r.below(c.len() as u64) as usize;
    let old = c[i].to_digit(10).unwrap_or(0);
    c[i] = char::from_digit((old + 1 + r.below(9) as u32) % 10, 10).unwrap_or('0');
    c.into_iter().collect()
}

fn row(p: &Person, rec: &str, dup: Option<&mut Rng>, messy: bool) -> Vec<String> {
    let mut f = Fields::of(p);
    if let Some(r) = dup {
        for _ in 0..1 + r.below(3) {
            f.damage(r, p.dob);
        }
        if messy {
            f.damage_messy(r);
        }
    }
    let mut out = vec![
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
    ];
    if messy {
        out.extend([
            f.mobile,
            f.work_email,
            f.alias,
            f.former,
            f.mail_number,
            f.mail_street,
            f.mail_suburb,
            f.mail_postcode,
            "person".to_string(),
            String::new(),
            String::new(),
        ]);
    }
    out
}

/// An employer of messy records: a company with a name, a registration
/// number, an office and the role mailboxes its employees share.
struct Employer {
    n: u64,
    name: String,
    reg: String,
    number: u32,
    street: String,
    suburb: usize,
    postcode: u32,
    phone: String,
}

impl Employer {
    fn draw(m: &mut Rng, n: u64) -> Employer {
        let a = SYLLABLES_A[m.below(SYLLABLES_A.len() as u64) as usize];
        let b = SYLLABLES_B[m.below(SYLLABLES_B.len() as u64) as usize];
        let trade = [
            "holdings",
            "logistics",
            "foods",
            "engineering",
            "partners",
            "group",
        ][m.below(6) as usize];
        let suburb = m.below(SUBURBS.len() as u64) as usize;
        Employer {
            n,
            name: format!("{a}{b} {trade} pty ltd"),
            // Nine digits, one number per employer.
            reg: format!("{:09}", 100_000_000 + n * 4_999_999 % 900_000_000),
            number: 1 + m.below(400) as u32,
            street: format!("{} {}", m.pick(STREET_NAMES), m.pick(STREET_TYPES)),
            suburb,
            postcode: 2000 + suburb as u32 * 300 + m.below(300) as u32,
            phone: format!("03{:08}", 9_000_000 + n),
        }
    }

    /// Its row; a duplicate (`dup`) as another source writes it: the name
    /// spelt out or abbreviated otherwise, or with a typo, the registration
    /// number or the mailbox left out, a changed phone digit.
    fn row(&self, rec: &str, dup: Option<&mut Rng>) -> Vec<String> {
        let (mut name, mut reg, mut email, mut phone) = (
            self.name.clone(),
            self.reg.clone(),
            format!("info@employer{}.example", self.n),
            self.phone.clone(),
        );
        if let Some(r) = dup {
            match r.below(4) {
                0 => name = name.replace("pty ltd", "proprietary limited"),
                1 => name = name.replace("pty ltd", "pty. ltd.").to_uppercase(),
                2 => name = typo(r, &name),
                _ => name = name.replace(" pty ltd", ""),
            }
            match r.below(4) {
                0 => reg.clear(),
                1 => email.clear(),
                2 => phone = typo(r, &phone),
                _ => {}
            }
        }
        let (sub, state) = SUBURBS[self.suburb];
        let mut out = vec![
            rec.to_string(),
            format!("org-{}", self.n),
            String::new(),
            String::new(),
            self.number.to_string(),
            self.street.clone(),
            String::new(),
            sub.to_string(),
            self.postcode.to_string(),
            state.to_string(),
            String::new(),
            phone,
            String::new(),
            email,
        ];
        out.extend(std::iter::repeat_n(String::new(), 8));
        out.extend(["organization".to_string(), name, reg]);
        out
    }
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
    generate_records_with(cfg, out, None)
}

/// [`generate_records`], and with messy records the employments (header
/// [`EMPLOYMENT_COLUMNS`]: each record of a person who works for one of the
/// generated organizations, with the organization's registration number)
/// to `employment`.
pub fn generate_records_with(
    cfg: &RecordsConfig,
    out: &mut dyn Write,
    employment: Option<&mut dyn Write>,
) -> io::Result<RecordsSummary> {
    let mut jobs = employment.map(csv::Writer::from_writer);
    if let Some(j) = jobs.as_mut() {
        j.write_record(EMPLOYMENT_COLUMNS)?;
    }
    let mut employers: std::collections::BTreeMap<u64, Employer> = Default::default();
    let mut r = Rng::new(cfg.seed);
    let given_pool = normalize::nickname_names();
    let mut w = csv::Writer::from_writer(out);
    if cfg.messy {
        let header: Vec<&str> = RECORD_COLUMNS
            .iter()
            .chain(MESSY_COLUMNS)
            .copied()
            .collect();
        w.write_record(header)?;
    } else {
        w.write_record(RECORD_COLUMNS)?;
    }
    // The difficulties draw from a generator of their own: the people and
    // their damage are the same with and without them.
    let mut m = Rng::new(cfg.seed ^ 0x006d_6573_7379);
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
            shared_email: None,
            mobile: None,
            work_email: None,
            alias: None,
            former: None,
            mail: None,
            employer: None,
        };
        let suburb = r.below(SUBURBS.len() as u64) as usize;
        let postcode = 2000 + suburb as u32 * 300 + r.below(300) as u32;
        let phone = format!("04{:08}", r.below(100_000_000));
        let mut mess = Household::draw(cfg.messy, &mut m, members, &home.family);
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
                shared_email: None,
                mobile: None,
                work_email: None,
                alias: None,
                former: None,
                mail: None,
                employer: None,
                ..home
            };
            let p = mess.apply(&mut m, p, used.len() - 1);
            // The employer comes into the file with its first employee.
            if let Some(n) = p.employer {
                if let std::collections::btree_map::Entry::Vacant(e) = employers.entry(n) {
                    let employer = e.insert(Employer::draw(&mut m, n));
                    s.people += 1;
                    s.organizations += 1;
                    let copies = write_employer(&mut out, &mut r, &mut m, employer, cfg)?;
                    s.true_pairs += copies * (copies - 1) / 2;
                }
            }
            s.people += 1;
            let first = out.written;
            let copies = write_person(&mut out, &mut r, &p, cfg)?;
            s.true_pairs += copies * (copies - 1) / 2;
            if let (Some(n), Some(j)) = (p.employer, jobs.as_mut()) {
                for rec in first..out.written {
                    j.write_record([format!("rec-{rec}"), employers[&n].reg.clone()])?;
                    s.employments += 1;
                }
            }
        }
    }
    s.records = out.written;
    out.finish(&mut r)?;
    if let Some(mut j) = jobs {
        j.flush()?;
    }
    Ok(s)
}

/// Writes an employer's record and up to two duplicates; returns how many
/// records it wrote.
fn write_employer(
    out: &mut Shuffled<'_>,
    r: &mut Rng,
    m: &mut Rng,
    e: &Employer,
    cfg: &RecordsConfig,
) -> io::Result<u64> {
    let mut copies = 0;
    for i in 0..1 + m.below(3) {
        if out.written >= cfg.records {
            break;
        }
        let rec = format!("rec-{}", out.written);
        let mut dr = Rng::new(m.next_u64());
        out.emit(e.row(&rec, (i > 0).then_some(&mut dr)), r)?;
        copies += 1;
    }
    Ok(copies)
}

/// What a messy household has: a shared mailbox, twins, a care home.
#[derive(Default)]
struct Household {
    messy: bool,
    mailbox: Option<String>,
    twins: bool,
    /// The first member's birth date, for a twin.
    first_dob: Option<(i32, u32, u32)>,
    care_home: Option<u64>,
}

/// Care homes (and other shared addresses) of messy records.
const CARE_HOMES: u64 = 20;

impl Household {
    fn draw(messy: bool, m: &mut Rng, members: u64, family: &str) -> Household {
        if !messy {
            return Household::default();
        }
        Household {
            messy,
            mailbox: (members > 1 && m.chance(50))
                .then(|| format!("{family}.home{}@mail.example", m.below(1000))),
            twins: members > 1 && m.chance(10),
            first_dob: None,
            care_home: (members == 1 && m.chance(3)).then(|| m.below(CARE_HOMES)),
        }
    }

    /// Member `i` of the household as messy sources know them.
    fn apply(&mut self, m: &mut Rng, mut p: Person, i: usize) -> Person {
        if !self.messy {
            return p;
        }
        if let Some(h) = self.care_home {
            p.number = 1 + h as u32;
            p.street = format!("{} road", STREET_NAMES[h as usize]);
            p.unit = None;
            p.suburb = h as usize % SUBURBS.len();
            p.postcode = 2000 + p.suburb as u32 * 300 + h as u32;
            p.phone = format!("02{:08}", 5_550_000 + h);
        }
        if i == 0 {
            self.first_dob = Some(p.dob);
        } else if self.twins && i == 1 {
            p.dob = self.first_dob.unwrap_or(p.dob);
        }
        p.shared_email = self.mailbox.clone();
        p.mobile = m
            .chance(60)
            .then(|| format!("05{:08}", m.below(100_000_000)));
        p.work_email = m.chance(10).then(|| {
            let role = ROLES[m.below(ROLES.len() as u64) as usize];
            let n = m.below(EMPLOYERS);
            p.employer = Some(n);
            format!("{role}@employer{n}.example")
        });
        let nicks = normalize::nicknames_of(&p.given);
        if !nicks.is_empty() && m.chance(10) {
            p.alias = Some(m.pick(&nicks).to_string());
        }
        // A spouse who took the household's name, and a few others who
        // changed theirs.
        if (i == 1 && m.chance(40)) || m.chance(3) {
            p.former = Some(family(m));
        }
        if m.chance(15) {
            let suburb = m.below(SUBURBS.len() as u64) as usize;
            p.mail = Some((
                1 + m.below(500) as u32,
                format!("{} {}", m.pick(STREET_NAMES), m.pick(STREET_TYPES)),
                suburb,
                2000 + suburb as u32 * 300 + m.below(300) as u32,
            ));
        }
        p
    }
}

/// Writes a person's record and, by chance, up to three damaged duplicates;
/// returns how many records it wrote.
fn write_person(
    out: &mut Shuffled<'_>,
    r: &mut Rng,
    p: &Person,
    cfg: &RecordsConfig,
) -> io::Result<u64> {
    out.emit(row(p, &format!("rec-{}", out.written), None, cfg.messy), r)?;
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
        let rec = format!("rec-{}", out.written);
        out.emit(row(p, &rec, Some(&mut dr), cfg.messy), r)?;
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

    #[test]
    fn messy_records_share_mailboxes_between_people_and_keep_the_rest() {
        let cfg = |messy| RecordsConfig {
            records: 5_000,
            messy,
            ..RecordsConfig::default()
        };
        let (mut plain, mut messy) = (Vec::new(), Vec::new());
        let mut jobs = Vec::new();
        let a = generate_records(&cfg(false), &mut plain).unwrap();
        let b = generate_records_with(&cfg(true), &mut messy, Some(&mut jobs)).unwrap();
        // About as many people; the employers come on top.
        assert_eq!(a.organizations, 0);
        assert!(b.organizations > 50, "{b:?}");
        assert!(b.people.abs_diff(a.people) < a.people / 20, "{a:?} {b:?}");
        let mut rdr = csv::Reader::from_reader(&messy[..]);
        let header: Vec<String> = rdr.headers().unwrap().iter().map(String::from).collect();
        let want: Vec<&str> = RECORD_COLUMNS
            .iter()
            .chain(MESSY_COLUMNS)
            .copied()
            .collect();
        assert_eq!(header, want);
        let people_by = |col: usize| {
            let mut m =
                std::collections::HashMap::<String, std::collections::BTreeSet<String>>::new();
            for row in csv::Reader::from_reader(&messy[..]).records() {
                let row = row.unwrap();
                if !row[col].is_empty() {
                    m.entry(row[col].to_string())
                        .or_default()
                        .insert(row[1].to_string());
                }
            }
            m
        };
        let shared = |m: &std::collections::HashMap<String, std::collections::BTreeSet<String>>| {
            m.values().filter(|p| p.len() > 1).count()
        };
        let emails = people_by(13);
        assert!(
            shared(&emails) > 50,
            "family mailboxes: {}",
            shared(&emails)
        );
        let work = people_by(15);
        assert!(work.keys().all(|e| e.contains("@employer")));
        assert!(shared(&work) > 10, "role mailboxes: {}", shared(&work));
        assert!(!people_by(14).is_empty(), "mobiles");
        let col = |name: &str| header.iter().position(|h| h == name).unwrap();
        assert!(
            shared(&people_by(col("given_alias"))) < 50,
            "aliases are people's own"
        );
        assert!(people_by(col("given_alias")).len() > 20, "aliases");
        assert!(people_by(col("former_surname")).len() > 50, "former names");
        assert!(
            people_by(col("mail_address_1")).len() > 50,
            "mailing addresses"
        );
        // Organizations: their own truth, a name, a registration number
        // their duplicates may lack, the role mailbox their employees share.
        let (mut orgs, mut regs) = (0, std::collections::HashSet::new());
        for row in csv::Reader::from_reader(&messy[..]).records() {
            let row = row.unwrap();
            if &row[col("kind")] == "organization" {
                orgs += 1;
                assert!(row[1].starts_with("org-"), "{row:?}");
                assert!(!row[col("org_name")].is_empty());
                assert!(
                    row[2].is_empty() && row[10].is_empty(),
                    "no person columns: {row:?}"
                );
                regs.insert(row[col("reg_no")].to_string());
            } else {
                assert_eq!(&row[col("kind")], "person");
                assert!(!row[1].starts_with("org-"));
            }
        }
        assert!(orgs as u64 >= b.organizations, "{orgs} {b:?}");
        // Each employment names a person's record and a generated employer.
        let mut rdr = csv::Reader::from_reader(&jobs[..]);
        assert_eq!(
            rdr.headers().unwrap().iter().collect::<Vec<_>>(),
            EMPLOYMENT_COLUMNS
        );
        let rows: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
        assert_eq!(rows.len() as u64, b.employments);
        assert!(b.employments > 100, "{b:?}");
        assert!(rows.iter().all(|r| regs.contains(&r[1])), "employers exist");
    }
}
