//! `PATCH /api/v2/users/{id}`: the UpdateUser schema, validated and applied to a
//! stored user, as pure functions (the route does the version check and locking).
//!
//! Genesys semantics kept here: unknown fields are a 400 naming the field;
//! `version` is required; when `state` is present only the state changes; arrays
//! and `employerInfo` are replaced whole; `manager` is an id string stored as a
//! reference object; empty strings and null clear optional text fields.

use chrono::NaiveDate;
use serde_json::{Map, Value};

use crate::model::{Contact, EmployerInfo, User};

use super::seed;

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

const MEDIA_TYPES: &[&str] = &["PHONE", "EMAIL", "SMS"];
const CONTACT_TYPES: &[&str] = &[
    "PRIMARY", "WORK", "WORK2", "WORK3", "WORK4", "HOME", "MOBILE", "MAIN", "OTHER",
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
}

/// Apply a version-checked update to `user` (not bumping the version). `manager_ok`
/// says whether a manager id exists. Nothing is changed when an error is returned.
pub fn apply(
    user: &mut User,
    update: &Update,
    manager_ok: impl Fn(&str) -> bool,
) -> Result<(), String> {
    let mut next = user.clone();
    if let Some(state) = update.fields.get("state") {
        // Genesys applies `state` alone: every other field of the body is ignored.
        let s = state.as_str().unwrap_or_default();
        if !STATES.contains(&s) {
            return Err(format!(
                "state must be one of active, inactive, deleted; got {state}"
            ));
        }
        next.state = Some(s.to_string());
        *user = next;
        return Ok(());
    }
    for (key, value) in &update.fields {
        match key.as_str() {
            "id" | "primaryContactInfo" | "selfUri" | "version" => {}
            "name" => next.name = Some(required_text(key, value)?),
            "email" => {
                let email = required_text(key, value)?;
                if !valid_email(&email) {
                    return Err(format!("email '{email}' is not a valid email address"));
                }
                next.other.insert(
                    "primaryContactInfo".into(),
                    seed::primary_contact_info(&email),
                );
                next.email = Some(email);
            }
            "username" => {
                let username = required_text(key, value)?;
                if !valid_email(&username) {
                    return Err(format!(
                        "username '{username}' is not a valid email address"
                    ));
                }
                next.username = Some(username);
            }
            "title" => next.title = optional_text(key, value)?,
            "department" => next.department = optional_text(key, value)?,
            "preferredName" => next.preferred_name = optional_text(key, value)?,
            "manager" => {
                next.manager = match optional_text(key, value)? {
                    None => None,
                    Some(id) if id == user.id => {
                        return Err("a user cannot be their own manager".into());
                    }
                    Some(id) if !manager_ok(&id) => {
                        return Err(format!("manager '{id}' is not a user of this organization"));
                    }
                    Some(id) => Some(seed::manager_ref(&id.to_lowercase())),
                }
            }
            "acdAutoAnswer" => {
                next.acd_auto_answer = Some(
                    value
                        .as_bool()
                        .ok_or_else(|| format!("acdAutoAnswer must be a boolean, got {value}"))?,
                )
            }
            "addresses" => next.addresses = contacts(value)?,
            "employerInfo" => next.employer_info = employer_info(value)?,
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
            _ => unreachable!("parse rejects unknown fields"),
        }
    }
    *user = next;
    Ok(())
}

fn store_other(user: &mut User, key: &str, value: &Value) {
    if value.is_null() {
        user.other.remove(key);
    } else {
        user.other.insert(key.to_string(), value.clone());
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

fn contacts(value: &Value) -> Result<Vec<Contact>, String> {
    if value.is_null() {
        return Ok(Vec::new());
    }
    let list: Vec<Contact> = serde_json::from_value(value.clone())
        .map_err(|e| format!("addresses must be an array of Contact: {e}"))?;
    let mut seen = Vec::new();
    let mut out = Vec::with_capacity(list.len());
    for mut c in list {
        let media = c.media_type.clone().unwrap_or_default();
        let kind = c.kind.clone().unwrap_or_default();
        if !MEDIA_TYPES.contains(&media.as_str()) {
            return Err(format!(
                "addresses: mediaType must be PHONE, EMAIL or SMS, got '{media}'"
            ));
        }
        if !CONTACT_TYPES.contains(&kind.as_str()) {
            return Err(format!("addresses: type '{kind}' is not a contact type"));
        }
        if c.address.as_deref().unwrap_or("").is_empty()
            && c.extension.as_deref().unwrap_or("").is_empty()
        {
            return Err(format!(
                "addresses: the {media} {kind} entry needs an address or an extension"
            ));
        }
        if media == "EMAIL" && !valid_email(c.address.as_deref().unwrap_or("")) {
            return Err(format!(
                "addresses: '{}' is not a valid email address",
                c.address.unwrap_or_default()
            ));
        }
        if seen.contains(&(media.clone(), kind.clone())) {
            return Err(format!("addresses: more than one {media} {kind} entry"));
        }
        seen.push((media, kind));
        if c.display.is_none() {
            c.display = c.address.clone().or_else(|| c.extension.clone());
        }
        out.push(c);
    }
    Ok(out)
}

fn employer_info(value: &Value) -> Result<Option<EmployerInfo>, String> {
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
    let info = EmployerInfo {
        official_name: text("officialName")?,
        employee_id: text("employeeId")?,
        employee_type: text("employeeType")?,
        date_hire: text("dateHire")?,
    };
    if let Some(d) = &info.date_hire
        && NaiveDate::parse_from_str(d, "%Y-%m-%d").is_err()
    {
        return Err(format!(
            "employerInfo.dateHire must be a date (YYYY-MM-DD), got '{d}'"
        ));
    }
    Ok((info != EmployerInfo::default()).then_some(info))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user() -> User {
        User {
            id: "u1".into(),
            name: Some("Ann".into()),
            title: Some("Agent".into()),
            state: Some("active".into()),
            version: 3,
            ..User::default()
        }
    }

    fn upd(v: Value) -> Result<Update, String> {
        parse(v.to_string().as_bytes())
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
        apply(&mut u, &up, |_| true).unwrap();
        assert_eq!(u.state.as_deref(), Some("inactive"));
        assert_eq!(u.title.as_deref(), Some("Agent"));
        let bad = upd(json!({"version": 3, "state": "gone"})).unwrap();
        assert!(apply(&mut u, &bad, |_| true).is_err());
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
                {"address": "1", "mediaType": "PHONE", "type": "WORK"},
                {"address": "2", "mediaType": "PHONE", "type": "WORK"}]}),
        ] {
            let up = upd(body.clone()).unwrap();
            assert!(apply(&mut u, &up, |id| id == "m1").is_err(), "{body}");
            assert_eq!(u, user(), "{body}");
        }
    }

    #[test]
    fn manager_is_stored_as_a_reference_and_cleared_by_empty_or_null() {
        let mut u = user();
        apply(
            &mut u,
            &upd(json!({"version": 3, "manager": "m1"})).unwrap(),
            |_| true,
        )
        .unwrap();
        assert_eq!(u.manager.as_ref().unwrap().id, "m1");
        assert_eq!(
            u.manager.as_ref().unwrap().self_uri.as_deref(),
            Some("/api/v2/users/m1")
        );
        apply(
            &mut u,
            &upd(json!({"version": 3, "manager": ""})).unwrap(),
            |_| true,
        )
        .unwrap();
        assert!(u.manager.is_none());
        apply(
            &mut u,
            &upd(json!({"version": 3, "manager": "m1"})).unwrap(),
            |_| true,
        )
        .unwrap();
        apply(
            &mut u,
            &upd(json!({"version": 3, "manager": null})).unwrap(),
            |_| true,
        )
        .unwrap();
        assert!(u.manager.is_none());
    }

    #[test]
    fn arrays_and_employer_info_are_replaced_whole() {
        let mut u = user();
        let up = upd(json!({"version": 3,
            "addresses": [{"address": "+15551234", "mediaType": "PHONE", "type": "WORK"}],
            "employerInfo": {"employeeId": "E1", "dateHire": "2021-02-03"},
            "certifications": ["a", "b"],
            "department": ""}))
        .unwrap();
        apply(&mut u, &up, |_| true).unwrap();
        assert_eq!(u.addresses.len(), 1);
        assert_eq!(u.addresses[0].display.as_deref(), Some("+15551234"));
        assert_eq!(u.employer_info.as_ref().unwrap().official_name, None);
        assert_eq!(u.other["certifications"], json!(["a", "b"]));
        assert_eq!(u.department, None);
        let up = upd(json!({"version": 3, "addresses": []})).unwrap();
        apply(&mut u, &up, |_| true).unwrap();
        assert!(u.addresses.is_empty());
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
