//! Typed attribute values: text, integer, decimal, date, timestamp, bool, list.
//!
//! Money is a [`Decimal`] (an integer mantissa and a decimal scale), never a
//! float. The stored encoding of [`Value`] is frozen: variants are only ever
//! appended, and a golden-bytes test guards the order.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A typed attribute value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Value {
    /// UTF-8 text.
    Text(String),
    /// A signed 64-bit integer.
    Int(i64),
    /// An exact decimal number (money, shares, rates).
    Decimal(Decimal),
    /// A calendar date.
    Date(Date),
    /// An instant, microseconds since the Unix epoch, UTC.
    Timestamp(Timestamp),
    /// A boolean.
    Bool(bool),
    /// A list of values (several emails, several phones).
    List(Vec<Value>),
}

impl Value {
    /// The text, if this is a text value.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }

    /// The decimal, if this is a decimal value (an integer is widened).
    pub fn as_decimal(&self) -> Option<Decimal> {
        match self {
            Value::Decimal(d) => Some(*d),
            Value::Int(i) => Some(Decimal::new(*i as i128, 0)),
            _ => None,
        }
    }

    /// The date, if this is a date value.
    pub fn as_date(&self) -> Option<Date> {
        match self {
            Value::Date(d) => Some(*d),
            _ => None,
        }
    }

    /// Text values in this value: itself, or each text element of a list.
    pub fn texts(&self) -> Vec<&str> {
        match self {
            Value::Text(s) => vec![s.as_str()],
            Value::List(items) => items.iter().filter_map(Value::as_text).collect(),
            _ => Vec::new(),
        }
    }

    /// The value as JSON. Text, integers, booleans and lists are plain JSON;
    /// decimals, dates and timestamps are tagged so that they read back with
    /// their type: `{"$decimal": "12.50"}`, `{"$date": "2024-01-31"}`,
    /// `{"$timestamp": "2024-01-31T12:00:00Z"}`.
    #[cfg(feature = "json")]
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        let tagged = |tag: &str, text: String| {
            let mut m = serde_json::Map::new();
            m.insert(tag.to_string(), J::String(text));
            J::Object(m)
        };
        match self {
            Value::Text(s) => J::String(s.clone()),
            Value::Int(i) => J::from(*i),
            Value::Decimal(d) => tagged("$decimal", d.to_string()),
            Value::Date(d) => tagged("$date", d.to_string()),
            Value::Timestamp(t) => tagged("$timestamp", t.to_string()),
            Value::Bool(b) => J::Bool(*b),
            Value::List(items) => J::Array(items.iter().map(Value::to_json).collect()),
        }
    }

    /// Reads the JSON form written by [`Value::to_json`]. A JSON number with a
    /// fraction is read as a decimal (exactly, from its text), never a float.
    #[cfg(feature = "json")]
    pub fn from_json(j: &serde_json::Value) -> Result<Value, ParseValueError> {
        use serde_json::Value as J;
        let err = |what: &'static str| ParseValueError {
            what,
            input: j.to_string(),
        };
        match j {
            J::String(s) => Ok(Value::Text(s.clone())),
            J::Bool(b) => Ok(Value::Bool(*b)),
            J::Number(n) => match n.as_i64() {
                Some(i) => Ok(Value::Int(i)),
                None => Decimal::parse(&n.to_string()).map(Value::Decimal),
            },
            J::Array(items) => items
                .iter()
                .map(Value::from_json)
                .collect::<Result<_, _>>()
                .map(Value::List),
            J::Object(m) if m.len() == 1 => {
                let (tag, v) = m.iter().next().expect("one entry");
                let text = v.as_str().ok_or_else(|| err("tagged value"))?;
                match tag.as_str() {
                    "$decimal" => Decimal::parse(text).map(Value::Decimal),
                    "$date" => Date::parse(text).map(Value::Date),
                    "$timestamp" => Timestamp::parse(text).map(Value::Timestamp),
                    _ => Err(err("value (unknown tag)")),
                }
            }
            J::Null => Err(err("value (null is not a value)")),
            J::Object(_) => Err(err("value (an object must be one tag)")),
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Text(s) => f.write_str(s),
            Value::Int(i) => write!(f, "{i}"),
            Value::Decimal(d) => write!(f, "{d}"),
            Value::Date(d) => write!(f, "{d}"),
            Value::Timestamp(t) => write!(f, "{t}"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::List(items) => {
                f.write_str("[")?;
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_str("]")
            }
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::Text(s.to_string())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::Text(s)
    }
}
impl From<i64> for Value {
    fn from(i: i64) -> Value {
        Value::Int(i)
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}
impl From<Decimal> for Value {
    fn from(d: Decimal) -> Value {
        Value::Decimal(d)
    }
}
impl From<Date> for Value {
    fn from(d: Date) -> Value {
        Value::Date(d)
    }
}
impl From<Timestamp> for Value {
    fn from(t: Timestamp) -> Value {
        Value::Timestamp(t)
    }
}

/// A value borrowed from a stored entity, without copying its text.
///
/// The variants mirror [`Value`] one for one (and in the same order: the
/// stored encoding is shared).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub enum ValueRef<'a> {
    /// UTF-8 text.
    Text(&'a str),
    /// A signed 64-bit integer.
    Int(i64),
    /// An exact decimal number.
    Decimal(Decimal),
    /// A calendar date.
    Date(Date),
    /// An instant.
    Timestamp(Timestamp),
    /// A boolean.
    Bool(bool),
    /// A list of values.
    List(#[serde(borrow)] Vec<ValueRef<'a>>),
}

impl ValueRef<'_> {
    /// An owned copy.
    pub fn to_value(&self) -> Value {
        match self {
            ValueRef::Text(s) => Value::Text((*s).to_string()),
            ValueRef::Int(i) => Value::Int(*i),
            ValueRef::Decimal(d) => Value::Decimal(*d),
            ValueRef::Date(d) => Value::Date(*d),
            ValueRef::Timestamp(t) => Value::Timestamp(*t),
            ValueRef::Bool(b) => Value::Bool(*b),
            ValueRef::List(items) => Value::List(items.iter().map(ValueRef::to_value).collect()),
        }
    }
}

/// An error parsing a decimal, date or timestamp from text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseValueError {
    /// What was being parsed ("decimal", "date", "timestamp").
    pub what: &'static str,
    /// The text that did not parse.
    pub input: String,
}

impl fmt::Display for ParseValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not a valid {}: {:?}", self.what, self.input)
    }
}

impl std::error::Error for ParseValueError {}

/// An exact decimal: `mantissa × 10^-scale`.
///
/// `Decimal::parse("1234.50")` is mantissa 123450, scale 2. Equality is by
/// value (`1.50 == 1.5`).
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct Decimal {
    mantissa: i128,
    scale: u8,
}

/// The largest scale a decimal may carry.
const MAX_SCALE: u8 = 18;

impl Decimal {
    /// `mantissa × 10^-scale`; a scale above 18 is clamped by rounding toward zero.
    pub fn new(mantissa: i128, scale: u8) -> Decimal {
        let mut d = Decimal { mantissa, scale };
        while d.scale > MAX_SCALE {
            d.mantissa /= 10;
            d.scale -= 1;
        }
        d
    }

    /// Zero.
    pub const ZERO: Decimal = Decimal {
        mantissa: 0,
        scale: 0,
    };

    /// The integer mantissa.
    pub fn mantissa(&self) -> i128 {
        self.mantissa
    }

    /// The number of decimal places.
    pub fn scale(&self) -> u8 {
        self.scale
    }

    /// Parses `-1234.56`, `+7`, `0.5`.
    pub fn parse(text: &str) -> Result<Decimal, ParseValueError> {
        let err = || ParseValueError {
            what: "decimal",
            input: text.to_string(),
        };
        let t = text.trim();
        let (neg, body) = match t.as_bytes().first() {
            Some(b'-') => (true, &t[1..]),
            Some(b'+') => (false, &t[1..]),
            _ => (false, t),
        };
        let (int, frac) = match body.split_once('.') {
            Some((i, f)) => (i, f),
            None => (body, ""),
        };
        if (int.is_empty() && frac.is_empty())
            || !int.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
            || frac.len() > MAX_SCALE as usize
            || int.len() + frac.len() > 36
        {
            return Err(err());
        }
        let mut m: i128 = 0;
        for b in int.bytes().chain(frac.bytes()) {
            m = m * 10 + (b - b'0') as i128;
        }
        Ok(Decimal {
            mantissa: if neg { -m } else { m },
            scale: frac.len() as u8,
        })
    }

    fn rescaled(self, scale: u8) -> Option<i128> {
        let mut m = self.mantissa;
        for _ in self.scale..scale {
            m = m.checked_mul(10)?;
        }
        Some(m)
    }

    /// This decimal with at most `places` decimal places (rounded toward zero).
    pub fn rounded_to(self, places: u8) -> Decimal {
        let mut d = self;
        while d.scale > places {
            d.mantissa /= 10;
            d.scale -= 1;
        }
        d
    }

    /// The exact sum, or `None` on overflow.
    pub fn checked_add(self, other: Decimal) -> Option<Decimal> {
        let scale = self.scale.max(other.scale);
        let m = self.rescaled(scale)?.checked_add(other.rescaled(scale)?)?;
        Some(Decimal { mantissa: m, scale })
    }
}

impl PartialEq for Decimal {
    fn eq(&self, other: &Decimal) -> bool {
        self.cmp(other) == std::cmp::Ordering::Equal
    }
}
impl Eq for Decimal {}

impl PartialOrd for Decimal {
    fn partial_cmp(&self, other: &Decimal) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Decimal {
    fn cmp(&self, other: &Decimal) -> std::cmp::Ordering {
        let scale = self.scale.max(other.scale);
        match (self.rescaled(scale), other.rescaled(scale)) {
            (Some(a), Some(b)) => a.cmp(&b),
            // Overflow only at extreme magnitudes: fall back to sign, then magnitude order.
            _ => (self.mantissa as f64 / 10f64.powi(self.scale as i32))
                .total_cmp(&(other.mantissa as f64 / 10f64.powi(other.scale as i32))),
        }
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let neg = self.mantissa < 0;
        let digits = self.mantissa.unsigned_abs().to_string();
        let scale = self.scale as usize;
        let (int, frac) = if digits.len() > scale {
            let (i, fr) = digits.split_at(digits.len() - scale);
            (i.to_string(), fr.to_string())
        } else {
            ("0".to_string(), format!("{digits:0>scale$}"))
        };
        if neg {
            f.write_str("-")?;
        }
        f.write_str(&int)?;
        if scale > 0 {
            write!(f, ".{frac}")?;
        }
        Ok(())
    }
}

/// A calendar date (proleptic Gregorian), stored as days since 1970-01-01.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Date(i32);

impl Date {
    /// The date of a year, month (1–12) and day (1–31), if it exists.
    pub fn from_ymd(year: i32, month: u32, day: u32) -> Option<Date> {
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return None;
        }
        if !(-9999..=9999).contains(&year) {
            return None;
        }
        Some(Date(days_from_civil(year, month, day)))
    }

    /// Days since 1970-01-01.
    pub fn days_since_epoch(&self) -> i32 {
        self.0
    }

    /// The date `days` days after 1970-01-01.
    pub fn from_days_since_epoch(days: i32) -> Date {
        Date(days)
    }

    /// `(year, month, day)`.
    pub fn ymd(&self) -> (i32, u32, u32) {
        civil_from_days(self.0 as i64)
    }

    /// Parses ISO `YYYY-MM-DD`.
    pub fn parse(text: &str) -> Result<Date, ParseValueError> {
        let err = || ParseValueError {
            what: "date (YYYY-MM-DD)",
            input: text.to_string(),
        };
        let t = text.trim();
        let b = t.as_bytes();
        let digits_at = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
        if b.len() != 10
            || b[4] != b'-'
            || b[7] != b'-'
            || !digits_at(0..4)
            || !digits_at(5..7)
            || !digits_at(8..10)
        {
            return Err(err());
        }
        let num = |s: &str| s.parse::<u32>().map_err(|_| err());
        let y = num(&t[0..4])? as i32;
        let m = num(&t[5..7])?;
        let d = num(&t[8..10])?;
        Date::from_ymd(y, m, d).ok_or_else(err)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = self.ymd();
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

/// An instant: microseconds since 1970-01-01T00:00:00Z.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Timestamp(i64);

impl Timestamp {
    /// The instant `micros` microseconds after the epoch.
    pub fn from_micros(micros: i64) -> Timestamp {
        Timestamp(micros)
    }

    /// Microseconds since the epoch.
    pub fn as_micros(&self) -> i64 {
        self.0
    }

    /// Now, from the system clock.
    pub fn now() -> Timestamp {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Timestamp(d.as_micros() as i64)
    }

    /// Parses RFC 3339: `2024-05-01T12:30:00Z`, with optional fraction and
    /// `+HH:MM` / `-HH:MM` offset.
    pub fn parse(text: &str) -> Result<Timestamp, ParseValueError> {
        let err = || ParseValueError {
            what: "timestamp (RFC 3339)",
            input: text.to_string(),
        };
        let t = text.trim();
        if t.len() < 20 || !t.is_ascii() {
            return Err(err());
        }
        let date = Date::parse(&t[..10]).map_err(|_| err())?;
        let rest = &t[10..];
        let b = rest.as_bytes();
        if !(b[0] == b'T' || b[0] == b't' || b[0] == b' ') || b[3] != b':' || b[6] != b':' {
            return Err(err());
        }
        let num = |s: &str| -> Result<i64, ParseValueError> {
            if s.bytes().all(|c| c.is_ascii_digit()) && !s.is_empty() {
                s.parse::<i64>().map_err(|_| err())
            } else {
                Err(err())
            }
        };
        let (h, mi, s) = (num(&rest[1..3])?, num(&rest[4..6])?, num(&rest[7..9])?);
        if h > 23 || mi > 59 || s > 60 {
            return Err(err());
        }
        let mut tail = &rest[9..];
        let mut micros = 0i64;
        if let Some(fr) = tail.strip_prefix('.') {
            let n = fr.bytes().take_while(|c| c.is_ascii_digit()).count();
            if n == 0 {
                return Err(err());
            }
            let digits = &fr[..n.min(6)];
            micros = num(digits)? * 10i64.pow(6 - digits.len() as u32);
            tail = &fr[n..];
        }
        let offset_s = match tail {
            "Z" | "z" => 0,
            _ if tail.len() == 6 && (tail.starts_with('+') || tail.starts_with('-')) => {
                if &tail[3..4] != ":" {
                    return Err(err());
                }
                let (oh, om) = (num(&tail[1..3])?, num(&tail[4..6])?);
                if oh > 23 || om > 59 {
                    return Err(err());
                }
                let v = oh * 3600 + om * 60;
                if tail.starts_with('-') {
                    -v
                } else {
                    v
                }
            }
            _ => return Err(err()),
        };
        let secs = date.days_since_epoch() as i64 * 86_400 + h * 3600 + mi * 60 + s - offset_s;
        Ok(Timestamp(secs * 1_000_000 + micros))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Hand-formatted into a stack buffer: timestamps are printed in every
        // entity's JSON, and the formatting machinery is costly there.
        let secs = self.0.div_euclid(1_000_000);
        let micros = self.0.rem_euclid(1_000_000) as u32;
        let days = secs.div_euclid(86_400);
        let sod = secs.rem_euclid(86_400) as u32;
        let (y, m, d) = civil_from_days(days);
        if !(0..=9999).contains(&y) {
            return write!(
                f,
                "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}{}Z",
                sod / 3600,
                (sod / 60) % 60,
                sod % 60,
                if micros != 0 {
                    format!(".{micros:06}")
                } else {
                    String::new()
                }
            );
        }
        let mut b = *b"0000-00-00T00:00:00.000000Z";
        let put = |b: &mut [u8; 27], at: usize, width: usize, mut v: u32| {
            for i in (0..width).rev() {
                b[at + i] = b'0' + (v % 10) as u8;
                v /= 10;
            }
        };
        put(&mut b, 0, 4, y as u32);
        put(&mut b, 5, 2, m);
        put(&mut b, 8, 2, d);
        put(&mut b, 11, 2, sod / 3600);
        put(&mut b, 14, 2, (sod / 60) % 60);
        put(&mut b, 17, 2, sod % 60);
        let text = if micros != 0 {
            put(&mut b, 20, 6, micros);
            &b[..]
        } else {
            b[19] = b'Z';
            &b[..20]
        };
        f.write_str(std::str::from_utf8(text).expect("ASCII digits"))
    }
}

fn is_leap(y: i32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(y) => 29,
        2 => 28,
        _ => 0,
    }
}

// Howard Hinnant's days_from_civil / civil_from_days.
fn days_from_civil(y: i32, m: u32, d: u32) -> i32 {
    let y = if m <= 2 { y - 1 } else { y } as i64;
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era * 146_097 + doe - 719_468) as i32
}

fn civil_from_days(z: i64) -> (i32, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    ((if m <= 2 { y + 1 } else { y }) as i32, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_parse_print_and_compare_by_value() {
        for s in ["0", "1.50", "-0.05", "123456789012.34", "7"] {
            assert_eq!(Decimal::parse(s).unwrap().to_string(), s);
        }
        assert_eq!(
            Decimal::parse("1.5").unwrap(),
            Decimal::parse("1.50").unwrap()
        );
        assert!(Decimal::parse("-2").unwrap() < Decimal::parse("1.99").unwrap());
        let sum = Decimal::parse("0.10")
            .unwrap()
            .checked_add(Decimal::parse("0.2").unwrap())
            .unwrap();
        assert_eq!(sum.to_string(), "0.30");
        for bad in ["", ".", "1.2.3", "abc", "1e5", "--1"] {
            assert!(Decimal::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn dates_round_trip_and_reject_impossible_days() {
        for s in [
            "1970-01-01",
            "2000-02-29",
            "1969-12-31",
            "2024-12-31",
            "0001-01-01",
        ] {
            assert_eq!(Date::parse(s).unwrap().to_string(), s);
        }
        assert_eq!(Date::parse("1970-01-02").unwrap().days_since_epoch(), 1);
        for bad in [
            "2023-02-29",
            "2024-13-01",
            "2024-00-10",
            "20240101",
            "2024-1-01",
        ] {
            assert!(Date::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn timestamps_parse_offsets_and_print_utc() {
        let t = Timestamp::parse("2024-05-01T12:30:00+02:00").unwrap();
        assert_eq!(t.to_string(), "2024-05-01T10:30:00Z");
        let t = Timestamp::parse("1970-01-01T00:00:01.5Z").unwrap();
        assert_eq!(t.as_micros(), 1_500_000);
        assert_eq!(t.to_string(), "1970-01-01T00:00:01.500000Z");
        assert!(Timestamp::parse("2024-05-01 12:30").is_err());
        assert!(Timestamp::parse("2024-05-01T25:00:00Z").is_err());
        assert!(Timestamp::parse("2024-05-01T12:00:00+99:00").is_err());
        assert!(Timestamp::parse("2024-05-01T1é:00:00Z").is_err());
    }
}
