//! Field comparisons with graded agreement, combined as Fellegi-Sunter
//! weights (log2 of m/u): each field adds its agreement weight or its
//! disagreement penalty; a missing field adds nothing.

use super::normalize;
use crate::model::attrs as a;
use crate::model::{Attrs, Date, Value};
use std::borrow::Cow;

/// How well one field agrees.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Agreement {
    /// Equal after normalization.
    Exact,
    /// Close: a typo, a transposition, a nickname, a day/month swap.
    Close,
    /// Somewhat alike (Jaro-Winkler above the lower threshold).
    Partial,
    /// One side has no value.
    Missing,
    /// Different.
    Disagree,
}

/// One field's comparison and its weight.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldScore {
    /// The canonical attribute.
    pub field: &'static str,
    /// How it agreed.
    pub agreement: Agreement,
    /// The weight it added.
    pub weight: f64,
}

/// Weights of one field: exact, close, partial, disagree.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Weights {
    /// Weight when equal.
    pub exact: f64,
    /// Weight when close.
    pub close: f64,
    /// Weight when partially alike.
    pub partial: f64,
    /// Weight (negative) when different.
    pub disagree: f64,
}

const fn w(exact: f64, close: f64, partial: f64, disagree: f64) -> Weights {
    Weights {
        exact,
        close,
        partial,
        disagree,
    }
}

/// Added when the given names disagree, the birth dates do not agree, and no
/// identifier one person alone holds agrees (a household member).
pub const DIFFERENT_PERSON: f64 = -12.0;

/// The most the parts of an address (street, number, unit, city, postcode,
/// region) add together: they describe one place.
pub const ADDRESS_CAP: f64 = 14.0;

const ADDRESS_FIELDS: &[&str] = &[
    a::STREET,
    a::HOUSE_NUMBER,
    a::UNIT,
    a::CITY,
    a::POSTAL_CODE,
    a::REGION,
];

/// The default weights for persons, by field.
pub const PERSON_WEIGHTS: &[(&str, Weights)] = &[
    (a::NATIONAL_ID, w(12.0, 7.0, 0.0, -7.0)),
    (a::GIVEN_NAME, w(5.0, 3.5, 1.5, -3.0)),
    (a::FAMILY_NAME, w(6.0, 4.0, 2.0, -4.0)),
    (a::BIRTH_DATE, w(6.0, 3.0, 2.0, -5.0)),
    (a::HOUSE_NUMBER, w(2.5, 1.5, 0.0, -1.0)),
    (a::STREET, w(4.0, 3.0, 1.0, -1.5)),
    (a::UNIT, w(2.5, 1.5, 0.5, -0.5)),
    (a::CITY, w(3.5, 2.5, 1.0, -1.5)),
    (a::POSTAL_CODE, w(3.5, 2.0, 0.0, -1.5)),
    (a::REGION, w(0.5, 0.0, 0.0, -1.0)),
    (a::EMAIL, w(12.0, 4.0, 0.0, -2.0)),
    (a::PHONE, w(6.0, 3.0, 0.0, -1.0)),
    (a::TAX_ID, w(12.0, 7.0, 0.0, -7.0)),
    (a::ACCOUNT_NUMBER, w(12.0, 0.0, 0.0, 0.0)),
    (a::PASSPORT, w(12.0, 7.0, 0.0, 0.0)),
    (a::DRIVERS_LICENCE, w(10.0, 5.0, 0.0, 0.0)),
];

/// The default weights for organizations, by field. Names are compared
/// without legal forms (`Acme Ltd` = `ACME Limited`); a registration
/// number or tax id that differs is strong evidence of two companies.
pub const ORGANIZATION_WEIGHTS: &[(&str, Weights)] = &[
    (a::ORGANIZATION_NAME, w(9.0, 5.0, 2.0, -6.0)),
    (a::REGISTRATION_NUMBER, w(14.0, 7.0, 0.0, -12.0)),
    (a::TAX_ID, w(12.0, 7.0, 0.0, -10.0)),
    (a::HOUSE_NUMBER, w(2.5, 1.5, 0.0, -1.0)),
    (a::STREET, w(4.0, 3.0, 1.0, -1.5)),
    (a::UNIT, w(2.5, 1.5, 0.5, -0.5)),
    (a::CITY, w(3.0, 2.0, 1.0, -1.5)),
    (a::POSTAL_CODE, w(3.0, 2.0, 0.0, -1.5)),
    (a::REGION, w(0.5, 0.0, 0.0, -1.0)),
    (a::EMAIL, w(10.0, 4.0, 0.0, -1.0)),
    (a::PHONE, w(5.0, 3.0, 0.0, -1.0)),
    (a::ACCOUNT_NUMBER, w(12.0, 0.0, 0.0, 0.0)),
    (a::LEI, w(14.0, 7.0, 0.0, -12.0)),
    (a::DUNS, w(12.0, 7.0, 0.0, -10.0)),
];

/// The families of blocking keys, each of which can be switched off.
pub const BLOCKING_FAMILIES: &[&str] = &[
    "identifier",
    "email",
    "phone",
    "account",
    "name_dob",
    "family_year",
    "names",
    "address",
    "organization_name",
];

/// Scoring rules: weights per party kind and the blocking-key families in
/// use. [`Rules::default`] holds good defaults for FEBRL-like person data.
#[derive(Clone, Debug, PartialEq)]
pub struct Rules {
    /// Weights of person records, by field.
    pub person: Vec<(&'static str, Weights)>,
    /// Weights of organization records, by field.
    pub organization: Vec<(&'static str, Weights)>,
    /// Blocking-key families in use (a subset of [`BLOCKING_FAMILIES`]).
    pub blocking: Vec<&'static str>,
    /// Strong evidence that two person records are different people, which
    /// no amount of shared contact data outweighs (a subset of [`VETOES`]).
    pub vetoes: Vec<&'static str>,
}

/// The vetoes: `national_id` — both records hold a national id, the two
/// differ by more than two edits (not a typo), and fewer than two of the
/// given name, the family name and the birth date are alike (names also
/// compared swapped), or the given names plainly differ, or the birth dates
/// clearly differ (as for `birth_date`); `birth_date` — both hold a full birth date, fewer than two of
/// year, month and day agree, the digits are not one typo or transposition
/// apart, the national ids do not agree, and the given and family names are
/// not both alike (Jaro-Winkler over the lower threshold). So two people who share a mailbox, a phone or an address
/// (a family, a company's `info@`) stay two customers, while one person
/// whose source mistyped an id or a date still links. Two person records a
/// veto holds apart are never linked on the strength of each other, and a
/// third record that matches both without a veto joins one of their
/// customers, not both (a record never bridges two people).
pub const VETOES: &[&str] = &["national_id", "birth_date"];
/// The vetoes on by default.
pub const DEFAULT_VETOES: &[&str] = VETOES;

impl Default for Rules {
    fn default() -> Rules {
        Rules {
            person: PERSON_WEIGHTS.to_vec(),
            organization: ORGANIZATION_WEIGHTS.to_vec(),
            blocking: BLOCKING_FAMILIES.to_vec(),
            vetoes: DEFAULT_VETOES.to_vec(),
        }
    }
}

impl Rules {
    /// Sets the weights of one field for `person` or `organization`
    /// records. An unknown kind or a field that kind does not compare is an
    /// error naming it.
    pub fn set_weights(&mut self, kind: &str, field: &str, weights: Weights) -> Result<(), String> {
        let table = match kind {
            "person" => &mut self.person,
            "organization" => &mut self.organization,
            other => {
                return Err(format!(
                    "weights are for person or organization, not {other:?}"
                ))
            }
        };
        let known: Vec<&str> = table.iter().map(|(f, _)| *f).collect();
        match table.iter_mut().find(|(f, _)| *f == field) {
            Some((_, w)) => {
                *w = weights;
                Ok(())
            }
            None => Err(format!(
                "{kind} records do not compare {field:?}; they compare {}",
                known.join(", ")
            )),
        }
    }

    /// Uses only these blocking-key families. An unknown family is an error.
    pub fn set_blocking(&mut self, families: &[String]) -> Result<(), String> {
        let mut out = Vec::new();
        for f in families {
            match BLOCKING_FAMILIES.iter().find(|k| **k == f.as_str()) {
                Some(k) => out.push(*k),
                None => {
                    return Err(format!(
                        "unknown blocking key family {f:?}; known: {}",
                        BLOCKING_FAMILIES.join(", ")
                    ))
                }
            }
        }
        if out.is_empty() {
            return Err("at least one blocking key family is needed".into());
        }
        self.blocking = out;
        Ok(())
    }

    fn uses(&self, family: &str) -> bool {
        self.blocking.contains(&family)
    }

    /// Uses only these vetoes (none: an empty list). An unknown veto is an
    /// error naming the known ones.
    pub fn set_vetoes(&mut self, vetoes: &[String]) -> Result<(), String> {
        let mut out = Vec::new();
        for v in vetoes {
            match VETOES.iter().find(|k| **k == v.as_str()) {
                Some(k) => out.push(*k),
                None => return Err(format!("unknown veto {v:?}; known: {}", VETOES.join(", "))),
            }
        }
        self.vetoes = out;
        Ok(())
    }

    /// Which veto, if any, holds two person records apart (see [`VETOES`]).
    pub fn veto(&self, x: &Attrs, y: &Attrs) -> Option<&'static str> {
        if is_organization(x) || is_organization(y) {
            return None;
        }
        let field = |f: &'static str| alike(compare_field(f, x, y));
        // Given and family names, also when one source swapped them.
        let swapped_names = swapped_alike(x, y);
        let given_agreement = compare_field(a::GIVEN_NAME, x, y);
        let (given, family) = (alike(given_agreement), field(a::FAMILY_NAME));
        let names = (given && family) || swapped_names;
        let ids = (
            text(x, a::NATIONAL_ID).map(alnum),
            text(y, a::NATIONAL_ID).map(alnum),
        );
        let ids_agree = matches!(&ids, (Some(p), Some(q)) if p == q && !p.is_empty());
        if self.vetoes.contains(&"national_id") {
            if let (Some(p), Some(q)) = &ids {
                // A source that mistyped or replaced the id still agrees on
                // the person: two of the given name, the family name and
                // the birth date.
                let agreeing = if swapped_names {
                    2
                } else {
                    given as u8 + family as u8
                } + field(a::BIRTH_DATE) as u8;
                // Twins and siblings share a family name, a birth date or
                // both; a given name that plainly differs leaves nothing of
                // the person to excuse the id.
                let given_differs = !swapped_names && given_agreement == Agreement::Disagree;
                // Twins share a family name, a home and a birth date, and
                // parents give them near names (ricky / rickie, zeke /
                // zachary): with one birth date and two ids, a given name
                // that is not the same (nor one typo away) is a second
                // person.
                let typo_apart =
                    self::names(x, y, a::GIVEN_NAME).is_some_and(|(p, q)| one_edit(&p, &q));
                let twins = !swapped_names
                    && !matches!(given_agreement, Agreement::Exact | Agreement::Missing)
                    && !typo_apart
                    && matches!(
                        (date(x, a::BIRTH_DATE), date(y, a::BIRTH_DATE)),
                        (Some(p), Some(q)) if p == q
                    );
                // A parent and a child may share a family name, a home
                // and a near given name (a junior); not a birth date.
                if ids_far(p, q) && (agreeing < 2 || given_differs || twins || dates_differ(x, y)) {
                    return Some("national_id");
                }
            }
        }
        if self.vetoes.contains(&"birth_date") && !ids_agree && !names && dates_differ(x, y) {
            return Some("birth_date");
        }
        None
    }
}

/// Whether two national ids (letters and digits only) are more than a typo
/// apart: two people's, as the `national_id` veto reads them.
pub(crate) fn ids_far(p: &str, q: &str) -> bool {
    p.len() >= 4 && q.len() >= 4 && strsim::damerau_levenshtein(p, q) > 2
}

/// An agreement that counts as alike: exact, close or partial.
fn alike(g: Agreement) -> bool {
    matches!(g, Agreement::Exact | Agreement::Close | Agreement::Partial)
}

/// Whether `x`'s given and family names are alike `y`'s swapped.
fn swapped_alike(x: &Attrs, y: &Attrs) -> bool {
    // `y` with its two names swapped (only they are compared).
    let mut y2 = Attrs::new();
    if let Some(f) = y.get(a::FAMILY_NAME) {
        y2.insert(a::GIVEN_NAME.into(), f.clone());
    }
    if let Some(g) = y.get(a::GIVEN_NAME) {
        y2.insert(a::FAMILY_NAME.into(), g.clone());
    }
    alike(compare_field(a::GIVEN_NAME, x, &y2)) && alike(compare_field(a::FAMILY_NAME, x, &y2))
}

/// Whether two person records' given and family names are both alike
/// (exact, close or partial), also when one source swapped them.
pub(crate) fn names_alike(x: &Attrs, y: &Attrs) -> bool {
    (alike(compare_field(a::GIVEN_NAME, x, y)) && alike(compare_field(a::FAMILY_NAME, x, y)))
        || swapped_alike(x, y)
}

/// Whether two records hold full birth dates that clearly differ: fewer
/// than two of year, month and day agree, and the digits are not one typo
/// or a day/month swap apart.
fn dates_differ(x: &Attrs, y: &Attrs) -> bool {
    let (Some(p), Some(q)) = (date(x, a::BIRTH_DATE), date(y, a::BIRTH_DATE)) else {
        return false;
    };
    let ((py, pm, pd), (qy, qm, qd)) = (p.ymd(), q.ymd());
    let same = (py == qy) as u8 + (pm == qm) as u8 + (pd == qd) as u8;
    let swapped = py == qy && pm == qd && pd == qm;
    let digits = |d: Date| d.to_string().replace('-', "");
    same < 2 && !swapped && !one_edit(&digits(p), &digits(q))
}

/// How many stored records share some of a record's values: a phone or an
/// address shared by many records (a household, an office) is weak
/// evidence, a rare family name strong evidence. Zero means unknown.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Frequencies {
    /// Records with the same phone.
    pub phone: usize,
    /// Records with the same postcode and house number.
    pub address: usize,
    /// Records with the same family name.
    pub family_name: usize,
    /// Records with the same email.
    pub email: usize,
}

/// The prefix of the email key (its hits count the email's frequency).
pub const EMAIL_KEY: &str = "e:";

/// Local parts of shared role mailboxes (`info@`, `sales@`, …): an exact
/// match on one is weak evidence of one person, whoever else shares it.
pub const ROLE_MAILBOXES: &[&str] = &[
    "info",
    "sales",
    "admin",
    "administrator",
    "contact",
    "contactus",
    "office",
    "support",
    "help",
    "hello",
    "enquiries",
    "enquiry",
    "inquiries",
    "inquiry",
    "billing",
    "accounts",
    "accounting",
    "finance",
    "team",
    "mail",
    "email",
    "noreply",
    "no-reply",
    "reception",
    "service",
    "customerservice",
    "marketing",
    "hr",
    "jobs",
    "careers",
    "webmaster",
    "postmaster",
    "orders",
    "bookings",
    "reservations",
    "general",
];

/// Whether two records share an email that is not a role mailbox (of
/// several emails each, any pair).
fn personal_email_shared(x: &Attrs, y: &Attrs) -> bool {
    let ys = texts(y, a::EMAIL);
    texts(x, a::EMAIL)
        .into_iter()
        .any(|p| !is_role_mailbox(p) && ys.iter().any(|q| p.eq_ignore_ascii_case(q)))
}

/// Whether an email is a shared role mailbox (`info@acme.example`).
pub fn is_role_mailbox(email: &str) -> bool {
    let local = email
        .trim()
        .split('@')
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    let local = local.split('+').next().unwrap_or("");
    ROLE_MAILBOXES.contains(&local)
}

/// A family name shared by at most this many records is rare (stronger evidence).
pub const RARE_NAME: usize = 2;
/// What a rare family name adds to an exact agreement on it.
pub const RARE_BONUS: f64 = 0.75;
/// A family name shared by at least this many records is common (weaker evidence).
pub const COMMON_NAME: usize = 64;

impl Frequencies {
    /// The weight of exact agreement on `field`, adjusted for how common the value is.
    fn exact(&self, field: &str, w: f64) -> f64 {
        let shared = shared_weight;
        match field {
            a::PHONE => w * shared(self.phone),
            a::EMAIL => w * shared(self.email),
            a::STREET | a::HOUSE_NUMBER | a::UNIT | a::POSTAL_CODE => w * shared(self.address),
            a::FAMILY_NAME if self.family_name == 0 => w,
            a::FAMILY_NAME if self.family_name <= RARE_NAME => w + RARE_BONUS,
            a::FAMILY_NAME if self.family_name >= COMMON_NAME => w - 1.5,
            _ => w,
        }
    }
}

impl Frequencies {
    /// What of these counts a comparison uses: the weight step of each
    /// shared contact and whether the family name is rare, common or
    /// neither. Two `Frequencies` of one class score every pair alike.
    pub fn class(&self) -> [u8; 4] {
        let step = |n: usize| (shared_weight(n) * 4.0) as u8;
        let family = match self.family_name {
            0 => 0,
            n if n <= RARE_NAME => 1,
            n if n >= COMMON_NAME => 2,
            _ => 0,
        };
        [
            step(self.phone),
            step(self.email),
            step(self.address),
            family,
        ]
    }
}

/// The share of an exact agreement's weight that a value held by `n`
/// records keeps: whole up to 3 records, then a quarter less each time the
/// count doubles (4–7: 0.75, 8–15: 0.5, 16 and more: 0.25). A step
/// function, so that one more record changes the weight of the others'
/// pairs only when it crosses a step ([`shared_step`]).
pub fn shared_weight(n: usize) -> f64 {
    match n {
        0..=3 => 1.0,
        4..=7 => 0.75,
        8..=15 => 0.5,
        _ => 0.25,
    }
}

/// Whether a value now held by `n` records weighs differently than with
/// one record more or one fewer.
pub fn shared_step(n: usize) -> bool {
    shared_weight(n) != shared_weight(n + 1)
        || shared_weight(n) != shared_weight(n.saturating_sub(1))
}

/// The identifiers that, when they differ, make two organizations two
/// companies whatever else agrees.
pub const HARD_IDENTIFIERS: &[&str] = &[a::REGISTRATION_NUMBER, a::TAX_ID, a::LEI, a::DUNS];

/// Whether two organization records (or a record and a customer's
/// profile) hold different registration numbers or tax ids.
pub fn hard_conflict(x: &Attrs, y: &Attrs) -> bool {
    hard_conflict_on(x, y).is_some()
}

/// The first of [`HARD_IDENTIFIERS`] on which two organization records
/// differ.
pub fn hard_conflict_on(x: &Attrs, y: &Attrs) -> Option<&'static str> {
    HARD_IDENTIFIERS
        .iter()
        .copied()
        .find(|f| compare_field(f, x, y) == Agreement::Disagree)
}

/// Whether a record describes an organization (its `party_kind`).
pub fn is_organization(r: &Attrs) -> bool {
    text(r, PARTY_KIND) == Some("organization")
}

/// The bookkeeping attribute naming a record's party kind.
pub const PARTY_KIND: &str = "party_kind";

/// A field's value, or the first (primary) of several.
fn text<'x>(attrs: &'x Attrs, f: &str) -> Option<&'x str> {
    let usable = |t: &'x str| Some(t.trim()).filter(|t| !t.is_empty());
    match attrs.get(f)? {
        Value::Text(t) => usable(t),
        Value::List(items) => items.iter().filter_map(Value::as_text).find_map(usable),
        _ => None,
    }
}

/// Every value of a field (one, or each of a list), trimmed, without empty ones.
fn texts<'x>(attrs: &'x Attrs, f: &str) -> Vec<&'x str> {
    attrs
        .get(f)
        .map(Value::texts)
        .unwrap_or_default()
        .into_iter()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .collect()
}

fn date(attrs: &Attrs, f: &str) -> Option<Date> {
    match attrs.get(f) {
        Some(Value::Date(d)) => Some(*d),
        Some(Value::Text(t)) => normalize::date(t, &["iso", "compact"]),
        _ => None,
    }
}

/// Levenshtein distance at most 1, or one adjacent transposition.
///
/// Linear in the length: called for every compared pair of names and
/// streets, where a full edit-distance matrix cost more than the rest of the
/// comparison.
fn one_edit(x: &str, y: &str) -> bool {
    fn check<T: PartialEq>(x: &[T], y: &[T]) -> bool {
        let (x, y) = if x.len() >= y.len() { (x, y) } else { (y, x) };
        if x.len() - y.len() > 1 {
            return false;
        }
        let Some(i) = x.iter().zip(y).position(|(a, b)| a != b) else {
            return true;
        };
        if x.len() != y.len() {
            return x[i + 1..] == y[i..];
        }
        x[i + 1..] == y[i + 1..]
            || (i + 1 < x.len() && x[i] == y[i + 1] && x[i + 1] == y[i] && x[i + 2..] == y[i + 2..])
    }
    if x.is_ascii() && y.is_ascii() {
        check(x.as_bytes(), y.as_bytes())
    } else {
        let (x, y): (Vec<char>, Vec<char>) = (x.chars().collect(), y.chars().collect());
        check(&x, &y)
    }
}

fn strings(x: &str, y: &str) -> Agreement {
    if x == y {
        return Agreement::Exact;
    }
    let jw = strsim::jaro_winkler(x, y);
    // A typo counts only between values longer than three characters
    // (both of them: agreement must not depend on which record came first).
    if jw >= 0.92 || (x.len().min(y.len()) > 3 && one_edit(x, y)) {
        Agreement::Close
    } else if jw >= 0.85 {
        Agreement::Partial
    } else {
        Agreement::Disagree
    }
}

/// Both records' values of a name-like field, normalized; `None` if either is missing.
fn names<'x>(x: &'x Attrs, y: &'x Attrs, field: &str) -> Option<(Cow<'x, str>, Cow<'x, str>)> {
    let p = text(x, field)
        .map(normalize::name_cow)
        .filter(|n| !n.is_empty())?;
    let q = text(y, field)
        .map(normalize::name_cow)
        .filter(|n| !n.is_empty())?;
    Some((p, q))
}

/// How well one field agrees; a field with several values on either side
/// (a list: home and mobile phones, two emails) agrees as its best-agreeing
/// pair of values.
fn compare_field(field: &'static str, x: &Attrs, y: &Attrs) -> Agreement {
    let many = |r: &Attrs| matches!(r.get(field), Some(Value::List(_)));
    if !many(x) && !many(y) {
        return compare_one(field, x, y);
    }
    let values = |r: &Attrs| -> Vec<Attrs> {
        match r.get(field) {
            Some(Value::List(vs)) => vs
                .iter()
                .map(|v| Attrs::from_iter([(field.to_string(), v.clone())]))
                .collect(),
            Some(v) => vec![Attrs::from_iter([(field.to_string(), v.clone())])],
            None => Vec::new(),
        }
    };
    let rank = |g: Agreement| match g {
        Agreement::Exact => 0,
        Agreement::Close => 1,
        Agreement::Partial => 2,
        Agreement::Disagree => 3,
        Agreement::Missing => 4,
    };
    let (xs, ys) = (values(x), values(y));
    let mut best = Agreement::Missing;
    for p in &xs {
        for q in &ys {
            let g = compare_one(field, p, q);
            if rank(g) < rank(best) {
                best = g;
            }
        }
    }
    best
}

fn compare_one(field: &'static str, x: &Attrs, y: &Attrs) -> Agreement {
    match field {
        a::BIRTH_DATE => compare_dates(field, x, y),
        a::ORGANIZATION_NAME => {
            let (Some(p), Some(q)) = (text(x, field), text(y, field)) else {
                return Agreement::Missing;
            };
            let (p, q) = (
                normalize::organization_name(p),
                normalize::organization_name(q),
            );
            if p.is_empty() || q.is_empty() {
                return Agreement::Missing;
            }
            strings(&p, &q)
        }
        a::NATIONAL_ID
        | a::POSTAL_CODE
        | a::HOUSE_NUMBER
        | a::PHONE
        | a::TAX_ID
        | a::REGISTRATION_NUMBER
        | a::ACCOUNT_NUMBER
        | a::PASSPORT
        | a::DRIVERS_LICENCE
        | a::LEI
        | a::DUNS => compare_numbers(field, x, y),
        a::EMAIL => {
            let (Some(p), Some(q)) = (text(x, field), text(y, field)) else {
                return Agreement::Missing;
            };
            if p.eq_ignore_ascii_case(q) {
                Agreement::Exact
            } else {
                Agreement::Disagree
            }
        }
        a::GIVEN_NAME => compare_given_names(field, x, y),
        a::STREET | a::UNIT => {
            let f = if field == a::STREET {
                normalize::street
            } else {
                normalize::unit
            };
            let (Some(p), Some(q)) = (text(x, field).map(f), text(y, field).map(f)) else {
                return Agreement::Missing;
            };
            if p.is_empty() || q.is_empty() {
                return Agreement::Missing;
            }
            strings(&p, &q)
        }
        _ => {
            let Some((p, q)) = names(x, y, field) else {
                return Agreement::Missing;
            };
            strings(&p, &q)
        }
    }
}

/// Dates: exact, day and month swapped (close), two of three parts
/// (partial); a date kept as text (it did not parse) by its digits.
fn compare_dates(field: &'static str, x: &Attrs, y: &Attrs) -> Agreement {
    let (Some(p), Some(q)) = (date(x, field), date(y, field)) else {
        let digits = |r: &Attrs| match r.get(field) {
            Some(Value::Text(t)) => {
                Some(t.chars().filter(char::is_ascii_digit).collect::<String>())
            }
            Some(Value::Date(d)) => Some(d.to_string().replace('-', "")),
            _ => None,
        };
        return match (digits(x), digits(y)) {
            (Some(p), Some(q)) if !p.is_empty() && !q.is_empty() => {
                // A year (`1970`) or a month (`1970-03`) against a date in it.
                let (short, long) = if p.len() <= q.len() {
                    (&p, &q)
                } else {
                    (&q, &p)
                };
                if p == q {
                    Agreement::Exact
                } else if ((short.len() == 4 || short.len() == 6)
                    && long.starts_with(short.as_str()))
                    || one_edit(&p, &q)
                {
                    Agreement::Partial
                } else {
                    Agreement::Disagree
                }
            }
            _ => Agreement::Missing,
        };
    };
    if p == q {
        return Agreement::Exact;
    }
    let ((py, pm, pd), (qy, qm, qd)) = (p.ymd(), q.ymd());
    if py == qy && pm == qd && pd == qm {
        Agreement::Close // day and month swapped
    } else if (py == qy) as u8 + (pm == qm) as u8 + (pd == qd) as u8 == 2 {
        Agreement::Partial
    } else {
        Agreement::Disagree
    }
}

/// Identifiers, codes and numbers: exact, or one edit apart (close) but
/// never for account numbers; phones by their last nine digits (the
/// national number: `+61 412 345 678` = `0412 345 678`).
fn compare_numbers(field: &'static str, x: &Attrs, y: &Attrs) -> Agreement {
    let norm = |t: &str| {
        if field == a::REGISTRATION_NUMBER || field == a::TAX_ID {
            company_number(t)
        } else {
            alnum(t)
        }
    };
    let (Some(mut p), Some(mut q)) = (text(x, field).map(norm), text(y, field).map(norm)) else {
        return Agreement::Missing;
    };
    if field == a::PHONE {
        for v in [&mut p, &mut q] {
            if v.len() > 9 {
                *v = v[v.len() - 9..].to_string();
            }
        }
    }
    if p.is_empty() || q.is_empty() {
        Agreement::Missing
    } else if p == q {
        Agreement::Exact
    } else if field == a::ACCOUNT_NUMBER {
        Agreement::Disagree
    } else if p.len().min(q.len()) > 3 && one_edit(&p, &q) {
        Agreement::Close
    } else {
        Agreement::Disagree
    }
}

/// Given names: exact, nicknames (close), an initial against a full name
/// (partial), else by string similarity.
fn compare_given_names(field: &'static str, x: &Attrs, y: &Attrs) -> Agreement {
    let Some((p, q)) = names(x, y, field) else {
        return Agreement::Missing;
    };
    if p == q {
        return Agreement::Exact;
    }
    if normalize::nicknames(&p, &q) {
        return Agreement::Close;
    }
    if (p.len() == 1 && q.starts_with(p.as_ref())) || (q.len() == 1 && p.starts_with(q.as_ref())) {
        return Agreement::Partial;
    }
    strings(&p, &q)
}

/// A comparison of two records.
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    /// Each field's agreement and weight (and any rule that fired).
    pub fields: Vec<FieldScore>,
    /// The total weight.
    pub total: f64,
    /// The total without the account number: what the records say about
    /// who they are. A joint account alone does not make two people one.
    pub identifying: f64,
}

/// Compares two records field by field with the default rules; returns each
/// field's score and the total.
pub fn compare(x: &Attrs, y: &Attrs) -> (Vec<FieldScore>, f64) {
    let c = compare_with(&Rules::default(), x, y, &Frequencies::default());
    (c.fields, c.total)
}

/// Given and family names swapped between the two records (and in
/// neither record are the two names alike, which would make a swap
/// meaningless; asking it of both keeps the test symmetric).
fn names_swapped(x: &Attrs, y: &Attrs) -> bool {
    fn g<'x>(r: &'x Attrs, f: &str) -> Option<Cow<'x, str>> {
        text(r, f)
            .map(normalize::name_cow)
            .filter(|s| !s.is_empty())
    }
    let alike = |p: &str, q: &str| matches!(strings(p, q), Agreement::Exact | Agreement::Close);
    matches!(
        (g(x, a::GIVEN_NAME), g(y, a::FAMILY_NAME), g(x, a::FAMILY_NAME), g(y, a::GIVEN_NAME)),
        (Some(p), Some(q), Some(r), Some(s))
            if alike(&p, &q) && alike(&r, &s) && !alike(&p, &r) && !alike(&s, &q)
    )
}

/// The adjustments after the fields' weights, added to `out`: the parts of
/// one address count as one piece of evidence, not five; and two people who
/// share a surname, an address and a phone (a household) but have different
/// given names are different people — unless their birth dates agree or an
/// identifier only one person holds (national id, email, tax id) agrees.
/// Each is added to `total` too.
fn adjust(out: &mut Vec<FieldScore>, org: bool, total: &mut f64) {
    let address: f64 = out
        .iter()
        .filter(|s| ADDRESS_FIELDS.contains(&s.field) && s.weight > 0.0)
        .map(|s| s.weight)
        .sum();
    if address > ADDRESS_CAP {
        let excess = ADDRESS_CAP - address;
        out.push(FieldScore {
            field: "address (capped)",
            agreement: Agreement::Exact,
            weight: excess,
        });
        *total += excess;
    }
    let is = |f: &str, ag: Agreement| out.iter().any(|s| s.field == f && s.agreement == ag);
    let identified = [
        a::NATIONAL_ID,
        a::EMAIL,
        a::TAX_ID,
        a::PASSPORT,
        a::DRIVERS_LICENCE,
    ]
    .iter()
    .any(|f| is(f, Agreement::Exact));
    let born_same = is(a::BIRTH_DATE, Agreement::Exact) || is(a::BIRTH_DATE, Agreement::Close);
    if !org && is(a::GIVEN_NAME, Agreement::Disagree) && !born_same && !identified {
        out.push(FieldScore {
            field: "given_name differs",
            agreement: Agreement::Disagree,
            weight: DIFFERENT_PERSON,
        });
        *total += DIFFERENT_PERSON;
    }
}

/// Compares two records field by field under `rules`, with the frequencies
/// of `x`'s values among stored records. A person never matches an
/// organization.
pub fn compare_with(rules: &Rules, x: &Attrs, y: &Attrs, freq: &Frequencies) -> Comparison {
    match agreements(rules, x, y) {
        Some(agreements) => weigh(rules, x, y, &agreements, freq),
        None => Comparison {
            fields: vec![FieldScore {
                field: PARTY_KIND,
                agreement: Agreement::Disagree,
                weight: f64::NEG_INFINITY,
            }],
            total: f64::NEG_INFINITY,
            identifying: f64::NEG_INFINITY,
        },
    }
}

/// How well each field of the rules' table agrees between two records (the
/// costly part of a comparison, which the counts of shared values do not
/// change); `None` for a person and an organization.
pub(crate) fn agreements(rules: &Rules, x: &Attrs, y: &Attrs) -> Option<Vec<Agreement>> {
    let org = is_organization(x);
    if org != is_organization(y) {
        return None;
    }
    let table = if org {
        &rules.organization
    } else {
        &rules.person
    };
    let swapped = !org && names_swapped(x, y);
    Some(
        table
            .iter()
            .map(|(field, _)| {
                if swapped && (*field == a::GIVEN_NAME || *field == a::FAMILY_NAME) {
                    Agreement::Close
                } else {
                    compare_field(field, x, y)
                }
            })
            .collect(),
    )
}

/// The comparison of two records whose fields agree as `agreements` (from
/// [`agreements`] of the same records and rules), weighed with `freq`.
pub(crate) fn weigh(
    rules: &Rules,
    x: &Attrs,
    y: &Attrs,
    agreements: &[Agreement],
    freq: &Frequencies,
) -> Comparison {
    let org = is_organization(x);
    let table = if org {
        &rules.organization
    } else {
        &rules.person
    };
    let mut out = Vec::with_capacity(table.len() + 1);
    let mut total = 0.0;
    let mut account = 0.0;
    for ((field, wt), agreement) in table.iter().zip(agreements.iter().copied()) {
        let weight = match agreement {
            // A person's shared role mailbox identifies no one.
            Agreement::Exact if *field == a::EMAIL && !org && !personal_email_shared(x, y) => {
                wt.exact * 0.25
            }
            Agreement::Exact => freq.exact(field, wt.exact),
            Agreement::Close => wt.close,
            Agreement::Partial => wt.partial,
            Agreement::Missing => 0.0,
            Agreement::Disagree => wt.disagree,
        };
        total += weight;
        if *field == a::ACCOUNT_NUMBER {
            account = weight;
        }
        out.push(FieldScore {
            field,
            agreement,
            weight,
        });
    }
    adjust(&mut out, org, &mut total);
    Comparison {
        fields: out,
        total,
        identifying: total - account,
    }
}

/// The candidate keys of a record. Several independent keys, so that two
/// records of one person share at least one even when a typo, a swap or a
/// missing value breaks the others: exact identifiers and halves of the
/// national id; email; phone; each name's Soundex with the birth date;
/// the family name's Soundex with the birth year; both names' Soundex codes
/// in either order; postcode with house number; street with postcode; street
/// with house number.
pub fn blocking_keys(r: &Attrs) -> Vec<String> {
    blocking_keys_with(&Rules::default(), r)
}

/// The prefix of the key that only counts a family name's frequency; it is
/// never used to find candidates.
pub const FAMILY_COUNT: &str = "f:";
/// The prefix of the phone key (its hits count the phone's frequency).
pub const PHONE_KEY: &str = "p:";
/// The prefix of the postcode + house number key (its hits count the address's frequency).
pub const ADDRESS_KEY: &str = "ah:";
/// The prefix of the street + house number key.
pub const STREET_HOUSE_KEY: &str = "sh:";

fn alnum(s: &str) -> String {
    s.chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_uppercase()
}

/// A registration number or tax id without its label: the digits when there
/// are at least six (`ACN 000 111 222` = `000111222`), else letters and digits.
fn company_number(s: &str) -> String {
    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
    if digits.len() >= 6 {
        digits
    } else {
        alnum(s)
    }
}

/// The candidate keys of a record under `rules` (see [`blocking_keys`]).
pub fn blocking_keys_with(rules: &Rules, r: &Attrs) -> Vec<String> {
    let mut keys = Vec::new();
    let t = |f| text(r, f);
    let org = is_organization(r);
    let kind = if org { "o" } else { "" };
    if rules.uses("identifier") {
        identifier_keys(r, &mut keys);
    }
    if rules.uses("account") {
        if let Some(v) = t(a::ACCOUNT_NUMBER).map(alnum).filter(|v| !v.is_empty()) {
            keys.push(format!("acct:{v}"));
        }
    }
    // Every value of a multi-valued email or phone is a key.
    let all = |f: &str| -> Vec<&str> {
        r.get(f)
            .map(|v| {
                v.texts()
                    .into_iter()
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    };
    if rules.uses("email") {
        for e in all(a::EMAIL) {
            keys.push(format!("{kind}e:{}", e.to_lowercase()));
        }
    }
    if rules.uses("phone") {
        for p in all(a::PHONE) {
            let d: String = p.chars().filter(char::is_ascii_digit).collect();
            if d.len() >= 6 {
                let national = &d[d.len().saturating_sub(9)..];
                keys.push(format!("{kind}{PHONE_KEY}{national}"));
            }
        }
    }
    if !org {
        person_name_keys(rules, r, &mut keys);
    } else if rules.uses("organization_name") {
        if let Some(n) = t(a::ORGANIZATION_NAME).map(normalize::organization_name) {
            if !n.is_empty() {
                keys.push(format!("on:{n}"));
                if let Some(pc) = t(a::POSTAL_CODE) {
                    keys.push(format!("onp:{}/{pc}", &n[..n.len().min(5)]));
                }
            }
        }
    }
    if rules.uses("address") {
        address_keys(r, kind, &mut keys);
    }
    keys.sort();
    keys.dedup();
    keys
}

/// National id (whole, and each half for one typo), tax id, registration
/// number.
fn identifier_keys(r: &Attrs, keys: &mut Vec<String>) {
    if let Some(n) = text(r, a::NATIONAL_ID) {
        let d = alnum(n);
        if !d.is_empty() {
            keys.push(format!("n:{d}"));
        }
        if d.len() >= 6 {
            let half = d.len() / 2;
            keys.push(format!("na:{}", &d[..half + 1]));
            keys.push(format!("nb:{}", &d[half..]));
        }
    }
    for (f, p) in [(a::TAX_ID, "t:"), (a::REGISTRATION_NUMBER, "r:")] {
        if let Some(v) = text(r, f).map(company_number).filter(|v| !v.is_empty()) {
            keys.push(format!("{p}{v}"));
        }
    }
    // Typed identifiers, every value of each.
    for (f, p) in [
        (a::PASSPORT, "pp:"),
        (a::DRIVERS_LICENCE, "dl:"),
        (a::LEI, "lei:"),
        (a::DUNS, "duns:"),
    ] {
        for v in texts(r, f).into_iter().map(alnum).filter(|v| v.len() >= 4) {
            keys.push(format!("{p}{v}"));
        }
    }
}

/// A person's names with the birth date, family name with the birth year,
/// both names, and the family-name frequency key.
fn person_name_keys(rules: &Rules, r: &Attrs, keys: &mut Vec<String>) {
    // Every value of a name (a primary and an alias, a current and a former
    // family name) is a key: a record under a former name still meets the
    // records of its person.
    let sx = |f| -> Vec<String> {
        let mut out: Vec<String> = texts(r, f)
            .into_iter()
            .take(MAX_NAMES)
            .map(normalize::name)
            .map(|n| normalize::soundex(&n))
            .filter(|s| !s.is_empty())
            .collect();
        out.dedup();
        out
    };
    let (families, givens) = (sx(a::FAMILY_NAME), sx(a::GIVEN_NAME));
    let dob = date(r, a::BIRTH_DATE);
    if rules.uses("name_dob") {
        for s in families.iter().chain(&givens) {
            if let Some(d) = dob {
                keys.push(format!("sd:{s}{d}"));
            }
        }
    }
    if rules.uses("family_year") {
        if let Some(d) = dob {
            for f in &families {
                keys.push(format!("fy:{f}{}", d.ymd().0));
            }
        }
    }
    if rules.uses("names") {
        for f in &families {
            for g in &givens {
                let (x, y) = if f <= g { (f, g) } else { (g, f) };
                keys.push(format!("fg:{x}{y}"));
            }
        }
    }
    for f in texts(r, a::FAMILY_NAME).into_iter().take(MAX_NAMES) {
        let f = normalize::name(f);
        if !f.is_empty() {
            keys.push(format!("{FAMILY_COUNT}{f}"));
        }
    }
}

/// The most values of one name that make blocking keys (a primary and a
/// few aliases; a longer list is cut, never the comparison).
const MAX_NAMES: usize = 4;

/// Postcode with house number, street with postcode, street with house
/// number — of each address a record holds (a home and a mailing address:
/// the parts' lists taken position by position, a part with one value
/// standing for every address, as a shared postcode is written once).
fn address_keys(r: &Attrs, kind: &str, keys: &mut Vec<String>) {
    let (streets, houses, postcodes) = (
        texts(r, a::STREET),
        texts(r, a::HOUSE_NUMBER),
        texts(r, a::POSTAL_CODE),
    );
    let n = streets
        .len()
        .max(houses.len())
        .max(postcodes.len())
        .min(MAX_ADDRESSES);
    let nth = |v: &[&'_ str], i: usize| -> Option<String> {
        let x = if v.len() == 1 { v.first() } else { v.get(i) };
        x.map(|s| s.to_string())
    };
    for i in 0..n {
        let street = nth(&streets, i)
            .map(|s| normalize::street(&s))
            .filter(|s| s.len() >= 4);
        let house = nth(&houses, i);
        let postcode = nth(&postcodes, i);
        if let (Some(pc), Some(h)) = (&postcode, &house) {
            keys.push(format!("{kind}{ADDRESS_KEY}{pc}/{h}"));
        }
        if let (Some(st), Some(pc)) = (&street, &postcode) {
            keys.push(format!("{kind}sp:{}/{pc}", &st[..st.len().min(8)]));
        }
        if let (Some(st), Some(h)) = (&street, &house) {
            keys.push(format!(
                "{kind}{STREET_HOUSE_KEY}{}/{h}",
                &st[..st.len().min(8)]
            ));
        }
    }
}

/// The most addresses of one record that make blocking keys.
const MAX_ADDRESSES: usize = 4;

#[cfg(test)]
mod tests {
    use super::{compare_field, one_edit, strings};
    use crate::model::{attrs as a, Attrs, Value};

    /// Every string over a small alphabet (with a non-ASCII letter) up to
    /// length 4.
    fn short_strings() -> Vec<String> {
        let alphabet = ['a', 'b', 'c', 'é'];
        let mut all = vec![String::new()];
        let mut last = vec![String::new()];
        for _ in 0..4 {
            last = last
                .iter()
                .flat_map(|s| alphabet.iter().map(move |c| format!("{s}{c}")))
                .collect();
            all.extend(last.iter().cloned());
        }
        all
    }

    /// Agreement does not depend on which record is the incoming one (a
    /// typo between a four- and a three-letter value once did).
    #[test]
    fn agreement_is_symmetric() {
        let all = short_strings();
        for x in &all {
            for y in &all {
                assert_eq!(strings(x, y), strings(y, x), "{x:?} vs {y:?}");
            }
        }
        // A swap of given and family names, where only one record's two
        // names are alike: "aaaa aaab" against "aabb aaaa".
        let person = |g: &str, f: &str| {
            Attrs::from([
                (a::GIVEN_NAME.to_string(), Value::Text(g.into())),
                (a::FAMILY_NAME.to_string(), Value::Text(f.into())),
            ])
        };
        let (x, y) = (person("aaaa", "aaab"), person("aabb", "aaaa"));
        let agree = |p: &Attrs, q: &Attrs| {
            super::compare(p, q)
                .0
                .into_iter()
                .map(|s| (s.field, s.agreement))
                .collect::<Vec<_>>()
        };
        assert_eq!(agree(&x, &y), agree(&y, &x));
        let rec = |f: &str, v: &str| Attrs::from([(f.to_string(), Value::Text(v.into()))]);
        for f in [a::GIVEN_NAME, a::FAMILY_NAME, a::PHONE, a::NATIONAL_ID] {
            for (p, q) in [("eqqq", "qqq"), ("1234", "123"), ("abcd", "abc")] {
                let (x, y) = (rec(f, p), rec(f, q));
                assert_eq!(compare_field(f, &x, &y), compare_field(f, &y, &x), "{f}");
            }
        }
    }

    /// Against the full Damerau-Levenshtein distance.
    #[test]
    fn one_edit_agrees_with_the_full_edit_distance() {
        let all = short_strings();
        let mut close = 0;
        for x in &all {
            for y in &all {
                let want = strsim::damerau_levenshtein(x, y) <= 1;
                assert_eq!(one_edit(x, y), want, "{x:?} vs {y:?}");
                close += usize::from(want);
            }
        }
        assert!(close > all.len(), "the test covers close pairs too");
    }
}

#[cfg(test)]
mod twins {
    use super::Rules;
    use crate::model::{attrs as a, Attrs, Date, Value};

    fn person(given: &str, id: &str, dob: &str) -> Attrs {
        let mut r = Attrs::new();
        for (k, v) in [
            (a::GIVEN_NAME, given),
            (a::FAMILY_NAME, "carman"),
            (a::HOUSE_NUMBER, "117"),
            (a::STREET, "park road"),
            (a::POSTAL_CODE, "4320"),
            (a::PHONE, "0473131337"),
            (a::NATIONAL_ID, id),
        ] {
            r.insert(k.into(), Value::Text(v.into()));
        }
        r.insert(a::BIRTH_DATE.into(), Value::Date(Date::parse(dob).unwrap()));
        r
    }

    #[test]
    fn twins_with_near_names_and_two_ids_are_two_people() {
        let rules = Rules::default();
        let ricky = person("ricky", "8432022921", "2004-11-23");
        // A twin: the same birth date and home, a near name, another id.
        for twin in ["rickie", "richard"] {
            let other = person(twin, "4383748082", "2004-11-23");
            assert_eq!(rules.veto(&ricky, &other), Some("national_id"), "{twin}");
            assert_eq!(rules.veto(&other, &ricky), Some("national_id"), "{twin}");
        }
        // One person: the same name with a mistyped id, a one-letter typo
        // of the name with another id, or no given name to tell by.
        let typo_id = person("ricky", "8432022981", "2004-11-23");
        assert_eq!(rules.veto(&ricky, &typo_id), None);
        let typo_name = person("rickt", "4383748082", "2004-11-23");
        assert_eq!(rules.veto(&ricky, &typo_name), None);
        let mut nameless = person("", "4383748082", "2004-11-23");
        nameless.remove(a::GIVEN_NAME);
        assert_eq!(rules.veto(&ricky, &nameless), None);
    }
}
