//! `PATCH /api/v2/users/{id}`: the UpdateUser schema, validated and applied to a
//! stored user, as pure functions (the route does the version check and locking).
//!
//! Genesys semantics kept here: unknown fields are a 400 naming the field;
//! `version` is required; when `state` is present only the state changes; arrays
//! and `employerInfo` are replaced whole; `manager` is an id string stored as a
//! reference object; empty strings and null clear optional text fields.
//! `addresses` follow [`crate::contacts`]; fields named in `Quirks::ignore_fields`
//! are accepted and not applied (SDK 269: `username` "is ignored").

use chrono::NaiveDate;
use serde_json::{Map, Value};

use crate::contacts;
use crate::seed;

/// Every UpdateUser field (official SDK model). `id`, `primaryContactInfo` and
/// `selfUri` are read-only: accepted and ignored.
const FIELDS: &[&str] = &[
    "id",
    "name",
    "chat",
    "department",
    "email",
    "primaryContactInfo",
    "addresses",
    "title",
    "username",
    "preferredName",
    "manager",
    "images",
    "version",
    "profileSkills",
    "locations",
    "groups",
    "state",
    "acdAutoAnswer",
    "certifications",
    "biography",
    "employerInfo",
    "selfUri",
];

const STATES: &[&str] = &["active", "inactive", "deleted"];

/// A syntactically valid UpdateUser body.
#[derive(Clone, Debug, PartialEq)]
pub struct Update {
    pub version: i64,
    fields: Map<String, Value>,
}

/// Parse the body: a JSON object of known fields with an integer `version`.
pub fn parse(body: &[u8]) -> Result<Update, String> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        format!("The request could not be understood by the server due to malformed syntax: {e}")
    })?;
    let Value::Object(fields) = value else {
        return Err("The request body must be a JSON object (UpdateUser).".into());
    };
    if let Some(unknown) = fields.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(format!(
            "Unrecognized field \"{unknown}\": it is not a field of UpdateUser"
        ));
    }
    let version = match fields.get("version") {
        None | Some(Value::Null) => return Err("The version field is required".into()),
        Some(v) => v
            .as_i64()
            .ok_or_else(|| format!("version must be an integer, got {v}"))?,
    };
    Ok(Update { version, fields })
}

impl Update {
    /// The manager id the body names, if any (to check it exists before applying).
    pub fn manager_id(&self) -> Option<&str> {
        self.fields.get("manager").and_then(Value::as_str)
    }

    /// A field of the body, as sent.
    pub fn field(&self, key: &str) -> Option<&Value> {
        self.fields.get(key)
    }

    /// Whether the body sets `state` (the only field then applied; it restores a
    /// deleted user).
    pub fn sets_state(&self) -> bool {
        self.fields.contains_key("state")
    }
}

/// What [`apply`] needs besides the body: whether the named manager exists and the
/// quirks that bend the rules.
pub struct Rules<'a> {
    pub manager_exists: bool,
    /// Top-level fields accepted but not applied (`Quirks::ignore_fields`).
    pub ignore_fields: &'a [String],
    /// `Quirks::keep_omitted_email`.
    pub keep_omitted_email: bool,
    /// `Quirks::contact_rules`.
    pub contact_rules: bool,
}

/// Apply a version-checked update to the user document `doc` (not bumping the
/// version). Nothing is changed when an error is returned.
pub fn apply(doc: &mut Map<String, Value>, update: &Update, rules: &Rules) -> Result<(), String> {
    let mut next = doc.clone();
    if let Some(state) = update.fields.get("state") {
        // Genesys applies `state` alone: every other field of the body is ignored.
        let s = state.as_str().unwrap_or_default();
        if !STATES.contains(&s) {
            return Err(format!(
                "state must be one of active, inactive, deleted; got {state}"
            ));
        }
        next.insert("state".into(), Value::String(s.to_string()));
        *doc = next;
        return Ok(());
    }
    let own_id = doc
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    for (key, value) in &update.fields {
        if rules.ignore_fields.iter().any(|f| f == key) {
            continue;
        }
        match key.as_str() {
            "id" | "primaryContactInfo" | "selfUri" | "version" => {}
            "name" => set(&mut next, key, Some(required_text(key, value)?)),
            "email" => {
                let email = required_text(key, value)?;
                if !valid_email(&email) {
                    return Err(format!("email '{email}' is not a valid email address"));
                }
                set(&mut next, key, Some(email));
            }
            "username" => {
                let username = required_text(key, value)?;
                if !valid_email(&username) {
                    return Err(format!(
                        "username '{username}' is not a valid email address"
                    ));
                }
                set(&mut next, key, Some(username));
            }
            "title" | "department" | "preferredName" => {
                set(&mut next, key, optional_text(key, value)?)
            }
            "manager" => match optional_text(key, value)? {
                None => {
                    next.remove("manager");
                }
                Some(id) if id.eq_ignore_ascii_case(&own_id) => {
                    return Err("a user cannot be their own manager".into());
                }
                Some(id) if !rules.manager_exists => {
                    return Err(format!("manager '{id}' is not a user of this organization"));
                }
                Some(id) => {
                    next.insert("manager".into(), seed::manager_ref(&id.to_lowercase()));
                }
            },
            "acdAutoAnswer" => {
                let b = value
                    .as_bool()
                    .ok_or_else(|| format!("acdAutoAnswer must be a boolean, got {value}"))?;
                next.insert(key.clone(), Value::Bool(b));
            }
            "addresses" => {}
            "employerInfo" => match employer_info(value)? {
                Some(info) => {
                    next.insert(key.clone(), info);
                }
                None => {
                    next.remove(key);
                }
            },
            "profileSkills" | "certifications" => {
                let ok = value
                    .as_array()
                    .is_some_and(|a| a.iter().all(Value::is_string));
                if !ok && !value.is_null() {
                    return Err(format!("{key} must be an array of strings"));
                }
                store_other(&mut next, key, value);
            }
            "images" | "locations" | "groups" => {
                if !value.is_array() && !value.is_null() {
                    return Err(format!("{key} must be an array"));
                }
                store_other(&mut next, key, value);
            }
            "chat" | "biography" => {
                if !value.is_object() && !value.is_null() {
                    return Err(format!("{key} must be an object"));
                }
                store_other(&mut next, key, value);
            }
            // `parse` rejects every other field.
            _ => return Err(format!("Unrecognized field \"{key}\"")),
        }
    }
    // Addresses last: a PRIMARY email entry is judged against the new `email`.
    if let Some(value) = update.fields.get("addresses")
        && !rules.ignore_fields.iter().any(|f| f == "addresses")
    {
        let current: Vec<Value> = doc
            .get("addresses")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let email = next.get("email").and_then(Value::as_str);
        let opts = contacts::Options {
            rules: rules.contact_rules,
            keep_omitted_email: rules.keep_omitted_email,
        };
        let list = contacts::replace(&current, value, email, opts)?;
        next.insert("addresses".into(), Value::Array(list));
    }
    *doc = next;
    Ok(())
}

fn set(doc: &mut Map<String, Value>, key: &str, value: Option<String>) {
    match value {
        Some(v) => doc.insert(key.to_string(), Value::String(v)),
        None => doc.remove(key),
    };
}

fn store_other(doc: &mut Map<String, Value>, key: &str, value: &Value) {
    if value.is_null() {
        doc.remove(key);
    } else {
        doc.insert(key.to_string(), value.clone());
    }
}

fn required_text(key: &str, value: &Value) -> Result<String, String> {
    match value.as_str().map(str::trim) {
        Some(s) if !s.is_empty() => Ok(s.to_string()),
        Some(_) | None if value.is_string() || value.is_null() => {
            Err(format!("{key} must not be empty"))
        }
        _ => Err(format!("{key} must be a string, got {value}")),
    }
}

fn optional_text(key: &str, value: &Value) -> Result<Option<String>, String> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) if s.trim().is_empty() => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        _ => Err(format!("{key} must be a string, got {value}")),
    }
}

/// A plausible address: one `@`, a non-empty local part, a dotted domain, no spaces.
pub fn valid_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && !s.chars().any(char::is_whitespace)
        && domain.split('.').collect::<Vec<_>>().as_slice().len() >= 2
        && domain.split('.').all(|p| !p.is_empty())
}

/// `employerInfo` checked (known keys, `dateHire` a date); `None` when empty.
fn employer_info(value: &Value) -> Result<Option<Value>, String> {
    if value.is_null() {
        return Ok(None);
    }
    let Value::Object(map) = value else {
        return Err(format!("employerInfo must be an object, got {value}"));
    };
    if let Some(k) = map
        .keys()
        .find(|k| !["officialName", "employeeId", "employeeType", "dateHire"].contains(&k.as_str()))
    {
        return Err(format!("Unrecognized field \"employerInfo.{k}\""));
    }
    let text = |k: &str| {
        optional_text(
            &format!("employerInfo.{k}"),
            map.get(k).unwrap_or(&Value::Null),
        )
    };
    let mut info = Map::new();
    for k in ["officialName", "employeeId", "employeeType", "dateHire"] {
        if let Some(v) = text(k)? {
            info.insert(k.into(), Value::String(v));
        }
    }
    if let Some(d) = info.get("dateHire").and_then(Value::as_str)
        && NaiveDate::parse_from_str(d, "%Y-%m-%d").is_err()
    {
        return Err(format!(
            "employerInfo.dateHire must be a date (YYYY-MM-DD), got '{d}'"
        ));
    }
    Ok((!info.is_empty()).then_some(Value::Object(info)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user() -> Map<String, Value> {
        let Value::Object(m) = json!({"id": "u1", "name": "Ann", "title": "Agent",
            "email": "ann@example.com", "username": "ann@example.com",
            "state": "active", "version": 3})
        else {
            unreachable!()
        };
        m
    }

    fn upd(v: Value) -> Result<Update, String> {
        parse(v.to_string().as_bytes())
    }

    fn rules(manager_exists: bool) -> Rules<'static> {
        Rules {
            manager_exists,
            ignore_fields: &[],
            keep_omitted_email: false,
            contact_rules: true,
        }
    }

    #[test]
    fn unknown_fields_are_named_and_version_is_required() {
        let e = upd(json!({"version": 1, "nickname": "x"})).unwrap_err();
        assert!(e.contains("\"nickname\""), "{e}");
        assert!(upd(json!({"name": "x"})).unwrap_err().contains("version"));
        assert!(upd(json!({"version": "3"})).is_err());
        assert!(parse(b"not json").is_err());
        assert!(parse(b"[1]").is_err());
    }

    #[test]
    fn state_is_applied_alone() {
        let mut u = user();
        let up = upd(json!({"version": 3, "state": "inactive", "title": "Boss"})).unwrap();
        apply(&mut u, &up, &rules(true)).unwrap();
        assert_eq!(u["state"], "inactive");
        assert_eq!(u["title"], "Agent");
        let bad = upd(json!({"version": 3, "state": "gone"})).unwrap();
        assert!(apply(&mut u, &bad, &rules(true)).is_err());
    }

    #[test]
    fn fields_are_validated_and_nothing_changes_on_error() {
        let mut u = user();
        for body in [
            json!({"version": 3, "title": "X", "email": "not-an-email"}),
            json!({"version": 3, "manager": "nobody"}),
            json!({"version": 3, "manager": "u1"}),
            json!({"version": 3, "name": ""}),
            json!({"version": 3, "acdAutoAnswer": "yes"}),
            json!({"version": 3, "employerInfo": {"dateHire": "2020-13-01"}}),
            json!({"version": 3, "addresses": [{"address": "1", "mediaType": "FAX", "type": "WORK"}]}),
            json!({"version": 3, "addresses": [
                {"address": "+13175550100", "mediaType": "PHONE", "type": "WORK"},
                {"address": "+13175550101", "mediaType": "PHONE", "type": "WORK"}]}),
        ] {
            let up = upd(body.clone()).unwrap();
            assert!(apply(&mut u, &up, &rules(false)).is_err(), "{body}");
            assert_eq!(u, user(), "{body}");
        }
    }

    #[test]
    fn manager_is_stored_as_a_reference_and_cleared_by_empty_or_null() {
        let mut u = user();
        apply(
            &mut u,
            &upd(json!({"version": 3, "manager": "m1"})).unwrap(),
            &rules(true),
        )
        .unwrap();
        assert_eq!(
            u["manager"],
            json!({"id": "m1", "selfUri": "/api/v2/users/m1"})
        );
        apply(
            &mut u,
            &upd(json!({"version": 3, "manager": ""})).unwrap(),
            &rules(true),
        )
        .unwrap();
        assert!(u.get("manager").is_none());
        apply(
            &mut u,
            &upd(json!({"version": 3, "manager": "m1"})).unwrap(),
            &rules(true),
        )
        .unwrap();
        apply(
            &mut u,
            &upd(json!({"version": 3, "manager": null})).unwrap(),
            &rules(true),
        )
        .unwrap();
        assert!(u.get("manager").is_none());
    }

    #[test]
    fn arrays_and_employer_info_are_replaced_whole() {
        let mut u = user();
        let up = upd(json!({"version": 3,
            "addresses": [{"address": "+1 317 555 1234", "mediaType": "PHONE", "type": "WORK"}],
            "employerInfo": {"employeeId": "E1", "dateHire": "2021-02-03"},
            "certifications": ["a", "b"],
            "department": ""}))
        .unwrap();
        apply(&mut u, &up, &rules(true)).unwrap();
        assert_eq!(u["addresses"][0]["address"], "+13175551234");
        assert_eq!(u["addresses"][0]["display"], "+1 317-555-1234");
        assert_eq!(
            u["employerInfo"],
            json!({"employeeId": "E1", "dateHire": "2021-02-03"})
        );
        assert_eq!(u["certifications"], json!(["a", "b"]));
        assert!(u.get("department").is_none());
        let up = upd(json!({"version": 3, "addresses": []})).unwrap();
        apply(&mut u, &up, &rules(true)).unwrap();
        assert_eq!(u["addresses"], json!([]));
    }

    #[test]
    fn ignored_fields_are_accepted_and_not_applied() {
        let mut u = user();
        let ignore = vec!["username".to_string()];
        let r = Rules {
            manager_exists: true,
            ignore_fields: &ignore,
            keep_omitted_email: false,
            contact_rules: true,
        };
        let up =
            upd(json!({"version": 3, "username": "new@example.com", "title": "Lead"})).unwrap();
        apply(&mut u, &up, &r).unwrap();
        assert_eq!(u["username"], "ann@example.com");
        assert_eq!(u["title"], "Lead");
    }

    #[test]
    fn email_validation() {
        for ok in ["a@b.co", "first.last+x@example.com"] {
            assert!(valid_email(ok), "{ok}");
        }
        for bad in [
            "",
            "a",
            "a@",
            "@b.com",
            "a@b",
            "a b@c.com",
            "a@b@c.com",
            "a@b..com",
        ] {
            assert!(!valid_email(bad), "{bad}");
        }
    }
}
