//! Canonical attribute names.
//!
//! Mapping files, identity resolution, the indexes and the customer context
//! all speak of attributes by these names; `docs/attributes.md` describes each.

/// Given (first) name of a person.
pub const GIVEN_NAME: &str = "given_name";
/// Middle name(s) of a person.
pub const MIDDLE_NAME: &str = "middle_name";
/// Family (last) name of a person.
pub const FAMILY_NAME: &str = "family_name";
/// Full name as one string, when the parts are not known.
pub const FULL_NAME: &str = "full_name";
/// Birth date (a date value).
pub const BIRTH_DATE: &str = "birth_date";
/// Email address (text, or a list of texts); indexed.
pub const EMAIL: &str = "email";
/// Phone number (text, or a list); indexed, normalized to digits with country code.
pub const PHONE: &str = "phone";
/// House or building number.
pub const HOUSE_NUMBER: &str = "house_number";
/// Street name, with street type.
pub const STREET: &str = "street";
/// Unit, flat or suite.
pub const UNIT: &str = "unit";
/// Locality / suburb / city.
pub const CITY: &str = "city";
/// Postal code; indexed.
pub const POSTAL_CODE: &str = "postal_code";
/// State, province or region.
pub const REGION: &str = "region";
/// Country (ISO 3166 alpha-2 preferred).
pub const COUNTRY: &str = "country";
/// National identifier of a person (SSN, NI number, …); indexed.
pub const NATIONAL_ID: &str = "national_id";
/// Tax identifier of a party; indexed.
pub const TAX_ID: &str = "tax_id";
/// Passport number of a person (with its country when the source gives it:
/// `US:123456789`); compared by identity resolution. A differing one is no
/// evidence against (passports are renewed under new numbers).
pub const PASSPORT: &str = "passport";
/// Driver's licence number of a person (with its state or country when the
/// source gives it); compared by identity resolution like a passport.
pub const DRIVERS_LICENCE: &str = "drivers_licence";
/// Legal Entity Identifier of an organization (ISO 17442); one that differs
/// makes two companies.
pub const LEI: &str = "lei";
/// D-U-N-S number of an organization; one that differs makes two companies.
pub const DUNS: &str = "duns";
/// Legal name of an organization.
pub const ORGANIZATION_NAME: &str = "organization_name";
/// Company registration number; indexed.
pub const REGISTRATION_NUMBER: &str = "registration_number";
/// Lifecycle status (customer, prospect, closed, open, delinquent, …).
pub const STATUS: &str = "status";
/// Customer segment (retail, private, commercial, …).
pub const SEGMENT: &str = "segment";
/// Service tier (standard, gold, platinum, …).
pub const TIER: &str = "tier";
/// Household display name.
pub const NAME: &str = "name";
/// Account product type: checking, savings, mortgage, loan, card, brokerage.
pub const PRODUCT_TYPE: &str = "product_type";
/// The product types that are credit (their balance is owed): the context's
/// credit figure and the exposure of guarantor networks and groups.
pub const CREDIT_PRODUCTS: &[&str] = &["loan", "mortgage", "card", "credit_line"];
/// Account number; indexed.
pub const ACCOUNT_NUMBER: &str = "account_number";
/// Account balance (a decimal value, never a float).
pub const BALANCE: &str = "balance";
/// ISO 4217 currency code of the balance.
pub const CURRENCY: &str = "currency";
/// Date the account was opened.
pub const OPENED: &str = "opened";
/// Interaction channel: call, web, email, branch, ticket.
pub const CHANNEL: &str = "channel";
/// Interaction type: complaint, dispute, inquiry, payment, …
pub const INTERACTION_TYPE: &str = "interaction_type";
/// When the interaction happened (a timestamp value).
pub const OCCURRED_AT: &str = "occurred_at";
/// One-line summary of an interaction.
pub const SUMMARY: &str = "summary";
/// Edge property: role (primary, joint, head, member, …).
pub const ROLE: &str = "role";
/// Edge property: an amount (a decimal value).
pub const AMOUNT: &str = "amount";
/// Edge property: an ownership share between 0 and 1 (a decimal value).
pub const SHARE: &str = "share";
/// Identity resolution's candidate keys of a source record (a list); indexed.
pub const BLOCKING_KEYS: &str = "blocking_keys";
/// On a customer merged into another: the survivor's id (an integer).
pub const MERGED_INTO: &str = "merged_into";
/// Source trust rank of a source record (higher wins survivorship); an
/// attribute `trust_<name>` overrides it for attribute `<name>`.
pub const TRUST: &str = "trust";
/// On a customer: the attributes survivorship chose from its records (a list).
pub const SURVIVED: &str = "survived_attrs";
/// Edge property: the source record that stated the relationship's start.
pub const FROM_RECORD: &str = "from_record";
/// Edge property: the source record that stated the relationship's end.
pub const TO_RECORD: &str = "to_record";
