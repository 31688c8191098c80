//! Columns of JSON Lines sources as paths into each line's document:
//! `address.city`, `NAMES[0].FIRST`, every element `PHONES[*].NUMBER`, or
//! the elements whose field has a value, `NAMES[TYPE=PRIMARY].LAST` (the
//! style of entity-resolution feeds that send typed lists of names,
//! addresses and identifiers). An array met without a selector stands for
//! all its elements, so `emails` of `{"emails": ["a@x.io", "b@x.io"]}` gives
//! both values (stored as a list). A key written with a dot or bracket in
//! the document is found as it is before the path is tried.

use serde_json::Value;

/// How elements of an array are chosen.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Select {
    /// `[N]`
    Index(usize),
    /// `[*]`
    All,
    /// `[FIELD=VALUE]`: elements whose field is the value (the value
    /// compared case-blind, the field exactly).
    Where(String, String),
}

/// One step: a key, then selectors.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Step {
    key: String,
    select: Vec<Select>,
}

/// A parsed path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Path {
    steps: Vec<Step>,
}

impl Path {
    /// Parses `a.b[0].c[TYPE=X][*]`; a malformed path is an error saying
    /// where.
    pub fn parse(text: &str) -> Result<Path, String> {
        let mut steps = Vec::new();
        for part in split_dots(text) {
            let (key, mut rest) = match part.find('[') {
                Some(i) => (&part[..i], &part[i..]),
                None => (part, ""),
            };
            let mut select = Vec::new();
            while !rest.is_empty() {
                let Some(body) = rest.strip_prefix('[') else {
                    return Err(format!("path {text:?}: {rest:?} after ']'"));
                };
                let Some(end) = body.find(']') else {
                    return Err(format!("path {text:?}: '[' without ']'"));
                };
                let inner = body[..end].trim();
                select.push(if inner == "*" {
                    Select::All
                } else if let Ok(n) = inner.parse::<usize>() {
                    Select::Index(n)
                } else if let Some((f, v)) = inner.split_once('=') {
                    if f.trim().is_empty() {
                        return Err(format!("path {text:?}: [{inner}] names no field"));
                    }
                    Select::Where(f.trim().to_string(), v.trim().trim_matches('"').to_string())
                } else {
                    return Err(format!(
                        "path {text:?}: [{inner}] is not an index, * or FIELD=VALUE"
                    ));
                });
                rest = &body[end + 1..];
            }
            // Only a path that starts with a selector (`[0]`) has an empty first key.
            let leading_selector = steps.is_empty() && !select.is_empty();
            if key.is_empty() && !leading_selector {
                return Err(format!("path {text:?}: an empty key"));
            }
            steps.push(Step {
                key: key.to_string(),
                select,
            });
        }
        Ok(Path { steps })
    }

    /// The values the path reaches in `doc`, as text, in document order;
    /// empty when it reaches nothing (or only nulls). A path that ends on an
    /// object is an error.
    pub fn values(&self, doc: &Value, name: &str) -> Result<Vec<String>, String> {
        let mut at: Vec<&Value> = vec![doc];
        for step in &self.steps {
            let mut next = Vec::new();
            for v in at {
                let v = if step.key.is_empty() {
                    Some(v)
                } else {
                    all(v).into_iter().filter_map(|o| o.get(&step.key)).next()
                };
                if let Some(v) = v {
                    next.push(v);
                }
            }
            for s in &step.select {
                next = next
                    .into_iter()
                    .flat_map(|v| match (v, s) {
                        (Value::Array(a), Select::Index(i)) => a.get(*i).into_iter().collect(),
                        (Value::Array(a), Select::All) => a.iter().collect(),
                        (Value::Array(a), Select::Where(f, want)) => a
                            .iter()
                            .filter(|e| {
                                e.get(f)
                                    .and_then(scalar)
                                    .is_some_and(|t| t.eq_ignore_ascii_case(want))
                            })
                            .collect(),
                        // A selector on a single object: it is the only element.
                        (o, Select::Index(0) | Select::All) => vec![o],
                        (o, Select::Where(f, want)) => o
                            .get(f)
                            .and_then(scalar)
                            .filter(|t| t.eq_ignore_ascii_case(want))
                            .map(|_| o)
                            .into_iter()
                            .collect(),
                        _ => Vec::new(),
                    })
                    .collect();
            }
            // An array without a selector: each element, for the next step.
            at = next.into_iter().flat_map(all).collect();
        }
        let mut out = Vec::new();
        for v in at {
            match v {
                Value::Null => {}
                Value::Object(_) => {
                    return Err(format!("{name} holds an object, not a value"));
                }
                v => out.extend(scalar(v)),
            }
        }
        Ok(out)
    }
}

/// The values of one JSON value as text: a scalar, or each scalar of an
/// array (nulls left out); an object (or an object in the array) is an
/// error.
pub fn values_of(v: &Value, name: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for v in all(v) {
        match v {
            Value::Null => {}
            Value::Object(_) => return Err(format!("{name} holds an object, not a value")),
            Value::Array(_) => return Err(format!("{name} holds an array of arrays")),
            v => out.extend(scalar(v)),
        }
    }
    Ok(out)
}

/// `a.b` split at dots outside brackets.
fn split_dots(text: &str) -> Vec<&str> {
    let (mut out, mut depth, mut start) = (Vec::new(), 0i32, 0);
    for (i, c) in text.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            '.' if depth == 0 => {
                out.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&text[start..]);
    out
}

/// An array's elements, or the value itself.
fn all(v: &Value) -> Vec<&Value> {
    match v {
        Value::Array(a) => a.iter().collect(),
        v => vec![v],
    }
}

/// A scalar as text (strings trimmed).
fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(t) => Some(t.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Whether a column name is a path rather than a plain key.
pub fn is_path(name: &str) -> bool {
    name.contains('.') || name.contains('[')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(doc: &str, path: &str) -> Vec<String> {
        let doc: Value = serde_json::from_str(doc).unwrap();
        Path::parse(path).unwrap().values(&doc, path).unwrap()
    }

    const DOC: &str = r#"{
        "id": 7,
        "NAMES": [
            {"TYPE": "PRIMARY", "FIRST": "Ann", "LAST": "Lee"},
            {"TYPE": "AKA", "FIRST": "Annie", "LAST": "Lee"},
            {"TYPE": "FORMER", "FIRST": "Ann", "LAST": "Smith"}
        ],
        "address": {"city": "Springfield", "lines": ["12 Main St", "Apt 4"]},
        "PHONES": [{"TYPE": "HOME", "NUMBER": "555-0100"}, {"TYPE": "MOBILE", "NUMBER": "555-0199"}],
        "emails": ["ann@x.io", "ann.lee@y.io"],
        "vip": true,
        "gone": null
    }"#;

    #[test]
    fn paths_reach_keys_elements_and_typed_elements() {
        assert_eq!(get(DOC, "id"), ["7"]);
        assert_eq!(get(DOC, "address.city"), ["Springfield"]);
        assert_eq!(get(DOC, "address.lines[1]"), ["Apt 4"]);
        assert_eq!(get(DOC, "NAMES[0].FIRST"), ["Ann"]);
        assert_eq!(get(DOC, "NAMES[TYPE=PRIMARY].LAST"), ["Lee"]);
        assert_eq!(get(DOC, "NAMES[TYPE=former].LAST"), ["Smith"]);
        assert_eq!(get(DOC, "NAMES[TYPE=AKA].FIRST"), ["Annie"]);
        assert_eq!(get(DOC, "PHONES[*].NUMBER"), ["555-0100", "555-0199"]);
        assert_eq!(get(DOC, "PHONES.NUMBER"), ["555-0100", "555-0199"]);
        assert_eq!(get(DOC, "emails"), ["ann@x.io", "ann.lee@y.io"]);
        assert_eq!(get(DOC, "vip"), ["true"]);
        assert!(get(DOC, "gone").is_empty());
        assert!(get(DOC, "missing.key").is_empty());
        assert!(get(DOC, "NAMES[TYPE=MAIDEN].LAST").is_empty());
        assert!(get(DOC, "NAMES[9].FIRST").is_empty());
    }

    #[test]
    fn an_object_at_the_end_and_malformed_paths_are_errors() {
        let doc: Value = serde_json::from_str(DOC).unwrap();
        let e = Path::parse("address")
            .unwrap()
            .values(&doc, "address")
            .unwrap_err();
        assert!(e.contains("object"), "{e}");
        for bad in ["a[", "a[x]", "a..b", "a[0]x", "a[=1]"] {
            assert!(Path::parse(bad).is_err(), "{bad}");
        }
    }
}
