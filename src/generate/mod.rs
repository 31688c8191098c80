//! Synthetic retail banks: deterministic by seed, from a few customers to millions.
//!
//! The demo, the tests and the benchmarks all build their databases here.
//! Person `i` (counting from 0) always has the identifier
//! `("core_banking", core_key(i))` and the email `email(i)`, so callers can
//! draw keys that exist without reading the database.

#[cfg(feature = "records")]
mod records;
mod rng;
mod rules;

#[cfg(feature = "records")]
pub use records::{
    generate_records, generate_records_with, RecordsConfig, RecordsSummary, EMPLOYMENT_COLUMNS,
    MESSY_COLUMNS, RECORD_COLUMNS,
};
pub use rng::Rng;
pub use rules::rule_set;

use crate::model::attrs as a;
use crate::model::{Date, Decimal, EdgeProps, EntityId, NewEntity, RelKind, Value};
use crate::{Db, Error, WriteSet};

/// What to generate.
#[derive(Clone, Debug)]
pub struct BankConfig {
    /// Number of persons.
    pub persons: u64,
    /// Seed: the same seed and size give the same bank.
    pub seed: u64,
    /// Interactions generated per person (calls, web sessions, tickets).
    pub interactions_per_person: u64,
}

impl Default for BankConfig {
    fn default() -> BankConfig {
        BankConfig {
            persons: 5_000,
            seed: 42,
            interactions_per_person: 1,
        }
    }
}

/// What was generated.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BankSummary {
    /// Persons created.
    pub persons: u64,
    /// Organizations created.
    pub organizations: u64,
    /// Households created.
    pub households: u64,
    /// Accounts created.
    pub accounts: u64,
    /// Interactions created.
    pub interactions: u64,
    /// Relationships created.
    pub relationships: u64,
    /// Id of the first person created.
    pub first_person: Option<EntityId>,
}

/// The core-banking key of person `i`.
pub fn core_key(i: u64) -> String {
    format!("CB{i:09}")
}

/// The CRM key of person `i`.
pub fn crm_key(i: u64) -> String {
    format!("CRM-{i:08}")
}

/// The email of person `i`.
pub fn email(i: u64) -> String {
    let (g, f) = name_of(i);
    format!("{}.{}{}@example.com", g.to_lowercase(), f.to_lowercase(), i)
}

const GIVEN: &[&str] = &[
    "James",
    "Mary",
    "Robert",
    "Patricia",
    "John",
    "Jennifer",
    "Michael",
    "Linda",
    "David",
    "Elizabeth",
    "William",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Charles",
    "Karen",
    "Daniel",
    "Lisa",
    "Matthew",
    "Nancy",
    "Anthony",
    "Betty",
    "Mark",
    "Sandra",
    "Donald",
    "Ashley",
    "Steven",
    "Emily",
    "Andrew",
    "Donna",
    "Paul",
    "Michelle",
    "Joshua",
    "Carol",
    "Kenneth",
    "Amanda",
    "Kevin",
    "Melissa",
    "Brian",
    "Deborah",
    "Timothy",
    "Stephanie",
    "Ronald",
    "Rebecca",
    "George",
    "Sharon",
    "Jason",
    "Laura",
    "Edward",
    "Cynthia",
    "Jeffrey",
    "Amy",
    "Ryan",
    "Kathleen",
    "Jacob",
    "Angela",
    "Nicole",
    "Aisha",
    "Wei",
    "Priya",
    "Mateo",
    "Sofia",
    "Olga",
    "Hiroshi",
    "Fatima",
    "Liam",
];

const FAMILY: &[&str] = &[
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Torres",
    "Nguyen",
    "Hill",
    "Flores",
    "Green",
    "Adams",
    "Nelson",
    "Baker",
    "Hall",
    "Rivera",
    "Campbell",
    "Mitchell",
    "Carter",
    "Roberts",
    "Okafor",
    "Kowalski",
    "Novak",
    "Haddad",
    "Schmidt",
    "Rossi",
    "Dubois",
    "Yamamoto",
    "Chen",
    "Patel",
    "O'Brien",
    "Müller",
];

const STREETS: &[&str] = &[
    "Main St",
    "Oak Ave",
    "Maple Dr",
    "Cedar Ln",
    "Pine St",
    "Elm St",
    "Washington Ave",
    "Lake Rd",
    "Hill St",
    "Park Ave",
    "River Rd",
    "Sunset Blvd",
    "Church St",
    "Mill Rd",
];

const CITIES: &[(&str, &str, &str)] = &[
    ("Springfield", "IL", "627"),
    ("Riverside", "CA", "925"),
    ("Franklin", "TN", "370"),
    ("Greenville", "SC", "296"),
    ("Bristol", "CT", "060"),
    ("Clinton", "IA", "527"),
    ("Fairview", "OR", "970"),
    ("Salem", "MA", "019"),
    ("Madison", "WI", "537"),
    ("Georgetown", "TX", "786"),
];

const ORG_WORDS: &[&str] = &[
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Stark",
    "Wayne",
    "Wonka",
    "Tyrell",
    "Cyberdyne",
    "Soylent",
    "Hooli",
    "Vandelay",
    "Gringotts",
    "Oscorp",
    "Aperture",
    "Monarch",
    "Blue Sun",
];

const ORG_SUFFIX: &[&str] = &[
    "Ltd", "Limited", "Inc.", "LLC", "Holdings", "Group", "Corp.",
];

fn name_of(i: u64) -> (&'static str, &'static str) {
    let mut r = Rng::new(i.wrapping_mul(0x2545_F491_4F6C_DD1D));
    (*r.pick(GIVEN), *r.pick(FAMILY))
}

fn money(r: &mut Rng, max_units: u64) -> Decimal {
    Decimal::new((r.below(max_units * 100)) as i128, 2)
}

fn date_between(r: &mut Rng, from_year: i32, to_year: i32) -> Date {
    let y = from_year + r.below((to_year - from_year + 1) as u64) as i32;
    let m = 1 + r.below(12) as u32;
    let d = 1 + r.below(28) as u32;
    Date::from_ymd(y, m, d).expect("day 1..28 always exists")
}

/// Creates and relationships per atomic commit while generating.
const COMMIT_EVERY: usize = 4096;

struct Builder<'a> {
    db: &'a Db,
    ws: WriteSet<'a>,
    r: Rng,
    s: BankSummary,
    next_account: u64,
}

impl<'a> Builder<'a> {
    fn create(&mut self, e: NewEntity) -> Result<EntityId, Error> {
        Ok(self.ws.create(e)?)
    }

    fn relate(
        &mut self,
        from: EntityId,
        kind: RelKind,
        to: EntityId,
        p: EdgeProps,
    ) -> Result<(), Error> {
        Ok(self.ws.relate(from, kind, to, p)?)
    }

    /// Commits what was built since the last commit, atomically, once it is
    /// large enough (or always, with `force`). Bigger batches load faster and
    /// leave the engine's log less fragmented.
    fn commit_if_large(&mut self, force: bool) -> Result<(), Error> {
        if !force && self.ws.len() < COMMIT_EVERY {
            return Ok(());
        }
        let ws = std::mem::replace(&mut self.ws, self.db.write_set());
        self.s.relationships += ws.commit()?.new_relationships;
        Ok(())
    }

    fn account(
        &mut self,
        product: &str,
        system: &str,
        max_balance: u64,
    ) -> Result<EntityId, Error> {
        self.next_account += 1;
        let n = self.next_account;
        let prefix = match product {
            "checking" => "CHK",
            "savings" => "SAV",
            "mortgage" => "MTG",
            "loan" => "LN",
            "card" => "CRD",
            _ => "BRK",
        };
        let balance = money(&mut self.r, max_balance);
        let status = if self.r.chance(3) && matches!(product, "loan" | "mortgage" | "card") {
            "delinquent"
        } else if self.r.chance(4) {
            "closed"
        } else {
            "open"
        };
        let opened = date_between(&mut self.r, 1995, 2025);
        let id = self.create(
            NewEntity::account()
                .attr(a::PRODUCT_TYPE, product)
                .attr(a::ACCOUNT_NUMBER, format!("{prefix}{n:010}"))
                .attr(a::BALANCE, balance)
                .attr(a::CURRENCY, "USD")
                .attr(a::STATUS, status)
                .attr(a::OPENED, opened)
                .identifier(system, format!("{prefix}{n:010}")),
        )?;
        self.s.accounts += 1;
        Ok(id)
    }

    fn person(&mut self, i: u64, family: &str, addr: &Address) -> Result<EntityId, Error> {
        let (given, own_family) = name_of(i);
        let family = if family.is_empty() {
            own_family
        } else {
            family
        };
        let r = &mut self.r;
        let dob = date_between(r, 1940, 2005);
        let mut e = NewEntity::person()
            .attr(a::GIVEN_NAME, given)
            .attr(a::FAMILY_NAME, family)
            .attr(a::BIRTH_DATE, dob)
            .attr(a::EMAIL, email(i))
            .attr(
                a::PHONE,
                Value::List(vec![
                    Value::Text(format!("+1 {} 555 {:04}", 200 + r.below(700), i % 10_000)),
                    Value::Text(addr.phone.clone()),
                ]),
            )
            .attr(
                a::NATIONAL_ID,
                format!(
                    "{:03}-{:02}-{:04}",
                    100 + i % 800,
                    (i / 800) % 100,
                    i % 10_000
                ),
            )
            .attr(a::HOUSE_NUMBER, addr.number.to_string())
            .attr(a::STREET, addr.street)
            .attr(a::CITY, addr.city)
            .attr(a::REGION, addr.region)
            .attr(a::POSTAL_CODE, addr.postcode.clone())
            .attr(a::COUNTRY, "US")
            .attr(
                a::STATUS,
                if r.chance(92) { "customer" } else { "prospect" },
            )
            .attr(
                a::SEGMENT,
                *r.pick(&["retail", "retail", "retail", "affluent", "private"]),
            )
            .attr(
                a::TIER,
                *r.pick(&["standard", "standard", "gold", "platinum"]),
            )
            .identifier("core_banking", core_key(i))
            .identifier("crm", crm_key(i));
        if r.chance(40) {
            e = e.identifier(
                "web",
                format!("u{:x}", i.wrapping_mul(2_654_435_761) & 0xFFFF_FFFF),
            );
        }
        let id = self.create(e)?;
        self.s.persons += 1;
        self.s.first_person.get_or_insert(id);
        Ok(id)
    }
}

struct Address {
    number: u64,
    street: &'static str,
    city: &'static str,
    region: &'static str,
    postcode: String,
    phone: String,
}

/// Generates a bank into `db`: persons in households with shared addresses
/// and home phones, spouses, checking, savings, joint accounts, mortgages,
/// loans and cards, guarantees (some chained), employers, corporate groups
/// with ownership shares, and interactions. `progress` is called after each
/// person with the number done.
pub fn generate_bank(
    db: &Db,
    config: &BankConfig,
    mut progress: impl FnMut(u64),
) -> Result<BankSummary, Error> {
    let mut b = Builder {
        db,
        ws: db.write_set(),
        r: Rng::new(config.seed),
        s: BankSummary::default(),
        next_account: 0,
    };

    // Organizations first, in corporate groups, so persons can work for them.
    let n_orgs = (config.persons / 40).max(3);
    let orgs = b.organizations(n_orgs)?;
    let mut i = 0;
    let mut recent_loans: Vec<EntityId> = Vec::new();
    let mut recent_persons: Vec<EntityId> = Vec::new();
    while i < config.persons {
        let roll = b.r.below(100);
        let size = match roll {
            0..=39 => 1,
            40..=74 => 2,
            75..=89 => 3,
            _ => 4,
        }
        .min(config.persons - i);
        let (city, region, zip) = *b.r.pick(CITIES);
        let addr = Address {
            number: 1 + b.r.below(9_999),
            street: STREETS[b.r.below(STREETS.len() as u64) as usize],
            city,
            region,
            postcode: format!("{zip}{:02}", b.r.below(100)),
            phone: format!("({}) 555-{:04}", 200 + b.r.below(700), b.r.below(10_000)),
        };
        let family = name_of(i).1;
        let hh = b.create(
            NewEntity::household()
                .attr(a::NAME, format!("{family} household"))
                .attr(a::POSTAL_CODE, addr.postcode.clone()),
        )?;
        b.s.households += 1;
        let mut members = Vec::with_capacity(size as usize);
        for m in 0..size {
            let p = b.member(
                i,
                m,
                family,
                &addr,
                hh,
                &orgs,
                config.interactions_per_person,
                &mut recent_loans,
            )?;
            members.push(p);
            i += 1;
        }
        b.household_links(&members, &mut recent_loans)?;
        b.guarantees(&recent_persons, &recent_loans, &members)?;
        b.commit_if_large(false)?;
        progress(i);
        recent_persons.extend(members.iter().copied());
        if recent_persons.len() > 64 {
            recent_persons.drain(..32);
        }
        if recent_loans.len() > 64 {
            recent_loans.drain(..32);
        }
    }
    b.commit_if_large(true)?;
    Ok(b.s)
}

impl Builder<'_> {
    /// Organizations in corporate groups, with accounts, loans and the
    /// group parents' guarantees.
    fn organizations(&mut self, n_orgs: u64) -> Result<Vec<EntityId>, Error> {
        let mut orgs = Vec::with_capacity(n_orgs as usize);
        let mut o = 0;
        while o < n_orgs {
            let size = 1 + self.r.below(6);
            let word = *self.r.pick(ORG_WORDS);
            let mut group: Vec<EntityId> = Vec::new();
            for j in 0..size.min(n_orgs - o) {
                let suffix = *self.r.pick(ORG_SUFFIX);
                let name = if j == 0 {
                    format!("{word} {suffix}")
                } else {
                    format!(
                        "{word} {} {suffix}",
                        [
                            "Capital",
                            "Services",
                            "Retail",
                            "Labs",
                            "Energy",
                            "Logistics"
                        ][j as usize % 6]
                    )
                };
                let id = self.create(
                    NewEntity::organization()
                        .attr(a::ORGANIZATION_NAME, format!("{name} #{o}"))
                        .attr(a::REGISTRATION_NUMBER, format!("RC{:08}", o))
                        .attr(a::TAX_ID, format!("{:02}-{:07}", 10 + o % 89, o))
                        .attr(a::STATUS, "customer")
                        .attr(a::SEGMENT, "commercial")
                        .identifier("corporate_crm", format!("ORG{o:07}")),
                )?;
                self.s.organizations += 1;
                if let Some(&parent) = group.get(if j <= 1 { 0 } else { self.r.below(j) as usize })
                {
                    let share = Decimal::new((50 + self.r.below(51)) as i128, 2);
                    self.relate(
                        id,
                        RelKind::SUBSIDIARY_OF,
                        parent,
                        EdgeProps::new().attr(a::SHARE, share),
                    )?;
                }
                let acct = self.account("checking", "core_banking", 2_000_000)?;
                self.relate(
                    id,
                    RelKind::OWNS,
                    acct,
                    EdgeProps::new().attr(a::ROLE, "primary"),
                )?;
                if self.r.chance(40) {
                    let loan = self.account("loan", "lending", 5_000_000)?;
                    self.relate(
                        id,
                        RelKind::OWNS,
                        loan,
                        EdgeProps::new().attr(a::ROLE, "primary"),
                    )?;
                    if let Some(&parent) = group.first() {
                        let amount = money(&mut self.r, 1_000_000);
                        self.relate(
                            parent,
                            RelKind::GUARANTEES,
                            loan,
                            EdgeProps::new().attr(a::AMOUNT, amount),
                        )?;
                    }
                }
                group.push(id);
                orgs.push(id);
                o += 1;
            }
            self.commit_if_large(false)?;
        }

        Ok(orgs)
    }

    /// One household member `m` (person `i`): the person, membership,
    /// accounts, employment and interactions.
    #[allow(clippy::too_many_arguments)]
    fn member(
        &mut self,
        i: u64,
        m: u64,
        family: &'static str,
        addr: &Address,
        hh: EntityId,
        orgs: &[EntityId],
        interactions: u64,
        recent_loans: &mut Vec<EntityId>,
    ) -> Result<EntityId, Error> {
        let fam = if m < 2 || self.r.chance(80) {
            family
        } else {
            ""
        };
        let p = self.person(i, fam, addr)?;
        let role = if m == 0 { "head" } else { "member" };
        self.relate(
            p,
            RelKind::MEMBER_OF,
            hh,
            EdgeProps::new().attr(a::ROLE, role),
        )?;
        self.member_accounts(p, recent_loans)?;
        if self.r.chance(30) {
            let org = *self.r.pick(orgs);
            let since = date_between(&mut self.r, 2000, 2024);
            self.relate(
                p,
                RelKind::EMPLOYED_BY,
                org,
                EdgeProps::new().valid(Some(since), None),
            )?;
        }
        for _ in 0..interactions {
            self.interaction(p)?;
        }
        Ok(p)
    }

    /// A member's own accounts: checking always; savings, a card and a loan
    /// (remembered in `recent_loans` for guarantees) by chance.
    fn member_accounts(
        &mut self,
        p: EntityId,
        recent_loans: &mut Vec<EntityId>,
    ) -> Result<(), Error> {
        let primary = || EdgeProps::new().attr(a::ROLE, "primary");
        let chk = self.account("checking", "core_banking", 20_000)?;
        self.relate(p, RelKind::OWNS, chk, primary())?;
        if self.r.chance(50) {
            let sav = self.account("savings", "core_banking", 100_000)?;
            self.relate(p, RelKind::OWNS, sav, primary())?;
        }
        if self.r.chance(60) {
            let card = self.account("card", "cards", 15_000)?;
            self.relate(p, RelKind::OWNS, card, primary())?;
        }
        if self.r.chance(12) {
            let loan = self.account("loan", "lending", 60_000)?;
            self.relate(p, RelKind::OWNS, loan, primary())?;
            recent_loans.push(loan);
        }
        Ok(())
    }

    /// One interaction of person `p` (a call, a web session, a dispute, …).
    fn interaction(&mut self, p: EntityId) -> Result<(), Error> {
        let (channel, kind) = *self.r.pick(&[
            ("call", "inquiry"),
            ("web", "session"),
            ("email", "statement"),
            ("call", "complaint"),
            ("ticket", "dispute"),
            ("branch", "payment"),
        ]);
        let open = matches!(kind, "complaint" | "dispute") && self.r.chance(50);
        let at = crate::model::Timestamp::from_micros(
            1_700_000_000_000_000 + (self.r.below(60_000_000) as i64) * 1_000_000,
        );
        let it = self.create(
            NewEntity::new(crate::model::EntityKind::INTERACTION)
                .attr(a::CHANNEL, channel)
                .attr(a::INTERACTION_TYPE, kind)
                .attr(a::OCCURRED_AT, at)
                .attr(a::SUMMARY, format!("{kind} via {channel}"))
                .attr(a::STATUS, if open { "open" } else { "closed" }),
        )?;
        self.s.interactions += 1;
        self.relate(p, RelKind::HAD_INTERACTION, it, EdgeProps::new())?;
        Ok(())
    }

    /// Spouses, a joint account and a mortgage in a household.
    fn household_links(
        &mut self,
        members: &[EntityId],
        recent_loans: &mut Vec<EntityId>,
    ) -> Result<(), Error> {
        if members.len() >= 2 {
            let since = date_between(&mut self.r, 1970, 2020);
            self.relate(
                members[0],
                RelKind::SPOUSE_OF,
                members[1],
                EdgeProps::new().valid(Some(since), None),
            )?;
            if self.r.chance(50) {
                let joint = self.account("checking", "core_banking", 30_000)?;
                for (n, m) in members[..2].iter().enumerate() {
                    let role = if n == 0 { "primary" } else { "joint" };
                    self.relate(
                        *m,
                        RelKind::OWNS,
                        joint,
                        EdgeProps::new().attr(a::ROLE, role),
                    )?;
                }
            }
        }
        if self.r.chance(30) {
            let mtg = self.account("mortgage", "mortgage", 600_000)?;
            for (n, m) in members.iter().take(2).enumerate() {
                let role = if n == 0 { "primary" } else { "joint" };
                self.relate(*m, RelKind::OWNS, mtg, EdgeProps::new().attr(a::ROLE, role))?;
            }
            recent_loans.push(mtg);
        }
        Ok(())
    }

    /// Guarantees: someone from an earlier household guarantees a loan
    /// here, and sometimes the borrower too (chains form over time).
    fn guarantees(
        &mut self,
        recent_persons: &[EntityId],
        recent_loans: &[EntityId],
        members: &[EntityId],
    ) -> Result<(), Error> {
        // Guarantees: someone from an earlier household guarantees a loan here,
        // and sometimes guarantees the borrower too (chains form over time).
        if !recent_persons.is_empty() && !recent_loans.is_empty() && self.r.chance(20) {
            let g = *self.r.pick(recent_persons);
            let loan = *recent_loans.last().expect("not empty");
            let amount = money(&mut self.r, 100_000);
            self.relate(
                g,
                RelKind::GUARANTEES,
                loan,
                EdgeProps::new().attr(a::AMOUNT, amount),
            )?;
            if self.r.chance(50) {
                self.relate(
                    g,
                    RelKind::GUARANTEES,
                    members[0],
                    EdgeProps::new().attr(a::AMOUNT, amount),
                )?;
            }
        }
        Ok(())
    }
}
