//! Normalized attribute indexes: which attributes are indexed and how values
//! are normalized before they are stored or looked up.

use crate::model::attrs;
use crate::model::{Attrs, Value};
use std::fmt;

/// An attribute index. Lookups by [`crate::Db::find`] normalize the query the
/// same way the stored values were normalized.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Index {
    /// `email`: trimmed, lower-case.
    Email,
    /// `phone`: digits only, with the database's default country code.
    Phone,
    /// `national_id`: upper-case letters and digits only.
    NationalId,
    /// `tax_id`: upper-case letters and digits only.
    TaxId,
    /// `account_number`: upper-case letters and digits only.
    AccountNumber,
    /// `family_name` + `birth_date`: query as `"Smith|1980-02-01"`.
    NameBirthDate,
    /// `postal_code`: upper-case letters and digits only.
    PostalCode,
    /// `registration_number`: upper-case letters and digits only.
    RegistrationNumber,
    /// `blocking_keys`: identity resolution's candidate keys, exactly as given.
    BlockingKey,
    /// `name`: each word of a party's names (given, middle, family, full,
    /// organization, `name`), lower-case letters and digits. Persons and
    /// organizations only; searched by prefix with [`crate::Db::search_names`].
    Name,
}

impl Index {
    /// Every index.
    pub const ALL: [Index; 10] = [
        Index::Email,
        Index::Phone,
        Index::NationalId,
        Index::TaxId,
        Index::AccountNumber,
        Index::NameBirthDate,
        Index::PostalCode,
        Index::RegistrationNumber,
        Index::BlockingKey,
        Index::Name,
    ];

    /// The stored code of the index (never changes once given).
    pub(crate) fn code(self) -> u8 {
        match self {
            Index::Email => 1,
            Index::Phone => 2,
            Index::NationalId => 3,
            Index::TaxId => 4,
            Index::AccountNumber => 5,
            Index::NameBirthDate => 6,
            Index::PostalCode => 7,
            Index::RegistrationNumber => 8,
            Index::BlockingKey => 9,
            Index::Name => 10,
        }
    }

    pub(crate) fn from_code(code: u8) -> Option<Index> {
        Index::ALL.into_iter().find(|i| i.code() == code)
    }

    /// The index's name, as `kith find` takes it.
    pub fn name(self) -> &'static str {
        match self {
            Index::Email => attrs::EMAIL,
            Index::Phone => attrs::PHONE,
            Index::NationalId => attrs::NATIONAL_ID,
            Index::TaxId => attrs::TAX_ID,
            Index::AccountNumber => attrs::ACCOUNT_NUMBER,
            Index::NameBirthDate => "family_name+birth_date",
            Index::PostalCode => attrs::POSTAL_CODE,
            Index::RegistrationNumber => attrs::REGISTRATION_NUMBER,
            Index::BlockingKey => attrs::BLOCKING_KEYS,
            Index::Name => attrs::NAME,
        }
    }

    /// The index of a name (`email`, `phone`, `family_name+birth_date`, …).
    pub fn from_name(name: &str) -> Option<Index> {
        let n = name.trim().to_ascii_lowercase();
        Index::ALL
            .into_iter()
            .find(|i| i.name() == n || (n == "name_dob" && *i == Index::NameBirthDate))
    }

    /// Normalizes a query value; `None` if it can never match anything.
    pub fn normalize(self, raw: &str, country_code: &str) -> Option<String> {
        match self {
            Index::Email => email(raw),
            Index::Phone => phone(raw, country_code),
            Index::NameBirthDate => {
                let (name, date) = raw.split_once('|')?;
                let date = crate::model::Date::parse(date).ok()?;
                name_key(name).map(|n| format!("{n}|{date}"))
            }
            Index::BlockingKey => {
                let t = raw.trim();
                (!t.is_empty()).then(|| t.to_string())
            }
            Index::Name => name_key(raw),
            _ => identifier(raw),
        }
    }
}

impl fmt::Display for Index {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Trimmed, lower-case; must contain one `@` with text on both sides.
pub fn email(raw: &str) -> Option<String> {
    let e = raw.trim().to_lowercase();
    let (local, domain) = e.split_once('@')?;
    if local.is_empty() || domain.is_empty() || domain.contains('@') {
        return None;
    }
    Some(e)
}

/// Digits only, in international form without `+`: `+44 20 7946 0018` and
/// `020 7946 0018` (country code 44) both give `442079460018`.
pub fn phone(raw: &str, country_code: &str) -> Option<String> {
    let t = raw.trim();
    let digits: String = t.chars().filter(|c| c.is_ascii_digit()).collect();
    let intl = if t.starts_with('+') {
        digits
    } else if let Some(rest) = digits.strip_prefix("00") {
        rest.to_string()
    } else if let Some(rest) = digits.strip_prefix('0') {
        format!("{country_code}{rest}")
    } else if digits.len() > 10 && digits.starts_with(country_code) {
        digits
    } else {
        format!("{country_code}{digits}")
    };
    if intl.len() < 7 || intl.len() > 15 {
        return None;
    }
    Some(intl)
}

/// Upper-case letters and digits only.
pub fn identifier(raw: &str) -> Option<String> {
    let s: String = raw
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_uppercase)
        .collect();
    (!s.is_empty()).then_some(s)
}

/// Lower-case letters and digits only (a family name as an index key).
pub fn name_key(raw: &str) -> Option<String> {
    let s: String = raw
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect();
    (!s.is_empty()).then_some(s)
}

/// The attributes whose words the [`Index::Name`] index holds.
pub const NAME_ATTRS: [&str; 6] = [
    attrs::GIVEN_NAME,
    attrs::MIDDLE_NAME,
    attrs::FAMILY_NAME,
    attrs::FULL_NAME,
    attrs::ORGANIZATION_NAME,
    attrs::NAME,
];

/// The words of a name as [`Index::Name`] keys: split at anything that is not
/// a letter or digit, lower-case (`"O'Brien-Smith"` gives `o`, `brien`, `smith`).
pub fn name_words(raw: &str) -> impl Iterator<Item = String> + '_ {
    raw.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w.chars().flat_map(char::to_lowercase).collect())
}

/// Every `(index, normalized value)` an entity of `kind` with `attrs` has,
/// sorted, unique.
pub(crate) fn entries(
    kind: crate::model::EntityKind,
    attrs: &Attrs,
    country_code: &str,
) -> Vec<(Index, String)> {
    let mut out = Vec::new();
    if kind == crate::model::EntityKind::PERSON || kind == crate::model::EntityKind::ORGANIZATION {
        for name in NAME_ATTRS {
            if let Some(v) = attrs.get(name) {
                for t in v.texts() {
                    out.extend(name_words(t).map(|w| (Index::Name, w)));
                    // `O'Brien` is also found as `obrien`.
                    out.extend(name_key(t).map(|w| (Index::Name, w)));
                }
            }
        }
    }
    let mut each_text = |name: &str, index: Index, f: &dyn Fn(&str) -> Option<String>| {
        if let Some(v) = attrs.get(name) {
            for t in v.texts() {
                if let Some(n) = f(t) {
                    out.push((index, n));
                }
            }
        }
    };
    each_text(attrs::EMAIL, Index::Email, &email);
    each_text(attrs::PHONE, Index::Phone, &|t| phone(t, country_code));
    each_text(attrs::NATIONAL_ID, Index::NationalId, &identifier);
    each_text(attrs::TAX_ID, Index::TaxId, &identifier);
    each_text(attrs::ACCOUNT_NUMBER, Index::AccountNumber, &identifier);
    each_text(attrs::POSTAL_CODE, Index::PostalCode, &identifier);
    each_text(
        attrs::REGISTRATION_NUMBER,
        Index::RegistrationNumber,
        &identifier,
    );
    each_text(attrs::BLOCKING_KEYS, Index::BlockingKey, &|t: &str| {
        let t = t.trim();
        (!t.is_empty()).then(|| t.to_string())
    });
    let dob = match attrs.get(attrs::BIRTH_DATE) {
        Some(Value::Date(d)) => Some(*d),
        Some(Value::Text(t)) => crate::model::Date::parse(t).ok(),
        _ => None,
    };
    if let (Some(dob), Some(family)) = (dob, attrs.get(attrs::FAMILY_NAME)) {
        for t in family.texts() {
            if let Some(n) = name_key(t) {
                out.push((Index::NameBirthDate, format!("{n}|{dob}")));
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_normalize_to_international_digits() {
        assert_eq!(phone("+44 20 7946 0018", "44").unwrap(), "442079460018");
        assert_eq!(phone("020 7946 0018", "44").unwrap(), "442079460018");
        assert_eq!(phone("0044 20 7946 0018", "1").unwrap(), "442079460018");
        assert_eq!(phone("(555) 123-4567", "1").unwrap(), "15551234567");
        assert_eq!(phone("1-555-123-4567", "1").unwrap(), "15551234567");
        assert_eq!(phone("12", "1"), None);
    }

    #[test]
    fn emails_and_identifiers_normalize() {
        assert_eq!(
            email("  Ann.Lee@Example.COM ").unwrap(),
            "ann.lee@example.com"
        );
        assert_eq!(email("no-at-sign"), None);
        assert_eq!(identifier("123-45-6789").unwrap(), "123456789");
        assert_eq!(identifier("sw1a 1aa").unwrap(), "SW1A1AA");
        assert_eq!(identifier(" - "), None);
    }

    #[test]
    fn entries_cover_lists_and_name_with_birth_date() {
        let mut a = Attrs::new();
        a.insert(
            "email".into(),
            Value::List(vec!["A@x.io".into(), "a@X.io".into(), "b@x.io".into()]),
        );
        a.insert("family_name".into(), "O'Brien".into());
        a.insert(
            "birth_date".into(),
            Value::Date(crate::model::Date::parse("1980-02-01").unwrap()),
        );
        let e = entries(crate::model::EntityKind::PERSON, &a, "1");
        assert_eq!(
            e,
            vec![
                (Index::Email, "a@x.io".to_string()),
                (Index::Email, "b@x.io".to_string()),
                (Index::NameBirthDate, "obrien|1980-02-01".to_string()),
                (Index::Name, "brien".to_string()),
                (Index::Name, "o".to_string()),
                (Index::Name, "obrien".to_string()),
            ]
        );
        assert_eq!(
            Index::NameBirthDate
                .normalize("O'BRIEN|1980-02-01", "1")
                .unwrap(),
            "obrien|1980-02-01"
        );
    }
}
