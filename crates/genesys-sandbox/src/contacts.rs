//! `addresses` (a list of Contact) as the server keeps it: phone numbers in E.164
//! with a server-derived `display`, every entry a JSON object whose unknown fields
//! (`integration`, anything newer) are stored and echoed.
//!
//! Rules, from ../shared/genesys-api.md and fixtures/genesys/README.md:
//! - `display` is read-only ("formatted version of the address property"): what a
//!   client sends is dropped and derived again from the stored number.
//! - A phone `address` is normalised to E.164: spaces, dashes, dots and parentheses
//!   are stripped; `+` keeps its country code; without `+` the entry's
//!   `countryCode` (default US, the sandbox org's country) supplies one. A number
//!   that cannot be normalised is a 400 naming it.
//! - Number + extension comes back as `extension` + `display` with no `address`
//!   (Terraform's case 3, the fixture's WORK3). Sent back that way, the entry keeps
//!   the number the server holds for that type and extension.
//! - An EMAIL PRIMARY entry whose address differs from the user's `email` is a 400
//!   (SDK 269: "the PRIMARY email address cannot be changed"); an equal one is
//!   accepted and not stored (the primary email lives in `email`).

use serde_json::{Map, Value};

use crate::update::valid_email;

pub const MEDIA_TYPES: &[&str] = &["PHONE", "EMAIL", "SMS"];
pub const CONTACT_TYPES: &[&str] = &[
    "PRIMARY", "WORK", "WORK2", "WORK3", "WORK4", "HOME", "MOBILE", "MAIN", "OTHER",
];

/// (ISO country, calling code) the normaliser knows; national numbers drop one
/// leading 0 (trunk prefix) except under +1.
const COUNTRIES: &[(&str, &str)] = &[
    ("US", "1"),
    ("CA", "1"),
    ("GB", "44"),
    ("IE", "353"),
    ("DE", "49"),
    ("FR", "33"),
    ("ES", "34"),
    ("IT", "39"),
    ("NL", "31"),
    ("AU", "61"),
    ("JP", "81"),
    ("MX", "52"),
    ("BR", "55"),
    ("IN", "91"),
];

/// Calling codes of two digits the formatter splits off (others: 1, else three).
const TWO_DIGIT_CODES: &[&str] = &[
    "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45", "46", "47",
    "48", "49", "51", "52", "53", "54", "55", "56", "57", "58", "60", "61", "62", "63", "64", "65",
    "66", "81", "82", "84", "86", "90", "91", "92", "93", "94", "95", "98",
];

/// `raw` in E.164, or `None` when it is not a phone number the sandbox can place.
pub fn e164(raw: &str, country: Option<&str>) -> Option<String> {
    let s: String = raw
        .trim()
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
        .collect();
    let (plus, digits) = match s.strip_prefix('+') {
        Some(rest) => (true, rest.to_string()),
        None => (false, s.clone()),
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let full = if plus {
        digits
    } else {
        let iso = country.unwrap_or("US").to_ascii_uppercase();
        let (_, code) = COUNTRIES.iter().find(|(c, _)| *c == iso)?;
        if *code == "1" {
            match digits.len() {
                10 => format!("1{digits}"),
                11 if digits.starts_with('1') => digits,
                _ => return None,
            }
        } else {
            let national = digits.strip_prefix('0').unwrap_or(&digits);
            format!("{code}{national}")
        }
    };
    let ok = if full.starts_with('1') {
        full.len() == 11
    } else {
        (8..=15).contains(&full.len())
    };
    ok.then(|| format!("+{full}"))
}

/// The display Genesys derives from an E.164 number: `+1 317-555-0142` under +1,
/// `+CC REST` elsewhere.
pub fn display(e164: &str) -> String {
    let digits = e164.trim_start_matches('+');
    if digits.len() == 11 && digits.starts_with('1') {
        return format!("+1 {}-{}-{}", &digits[1..4], &digits[4..7], &digits[7..11]);
    }
    let cc_len = if digits.starts_with('7') {
        1
    } else if TWO_DIGIT_CODES.iter().any(|c| digits.starts_with(c)) {
        2
    } else {
        3
    };
    let cc_len = cc_len.min(digits.len());
    format!("+{} {}", &digits[..cc_len], &digits[cc_len..])
}

fn text<'a>(e: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    e.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// An entry as a GET returns it: a number with an extension shows only in
/// `display` (no `address`).
pub fn public(entry: &Map<String, Value>) -> Map<String, Value> {
    let mut out = entry.clone();
    let phone = matches!(text(entry, "mediaType"), Some("PHONE" | "SMS"));
    if phone && text(entry, "extension").is_some() {
        out.remove("address");
    }
    out
}

/// The new `addresses` of a user from a PATCH's `addresses` value. `current` is
/// what the user holds, `email` its primary email. Nothing is returned on error.
pub fn replace(
    current: &[Value],
    incoming: &Value,
    email: Option<&str>,
    opts: Options,
) -> Result<Vec<Value>, String> {
    let keep_omitted_email = opts.keep_omitted_email;
    let list = match incoming {
        Value::Null => return Ok(Vec::new()),
        Value::Array(list) => list,
        other => {
            return Err(format!(
                "addresses must be an array of Contact, got {other}"
            ));
        }
    };
    let mut out: Vec<Map<String, Value>> = Vec::with_capacity(list.len());
    for item in list {
        let Value::Object(entry) = item else {
            return Err(format!(
                "addresses: each entry must be an object, got {item}"
            ));
        };
        let checked = if opts.rules {
            entry_in(entry, current, email)?
        } else {
            Some(entry_as_sent(entry)?)
        };
        if let Some(e) = checked {
            let key = (text(&e, "mediaType"), text(&e, "type"));
            if out
                .iter()
                .any(|o| (text(o, "mediaType"), text(o, "type")) == key)
            {
                return Err(format!(
                    "addresses: more than one {} {} entry",
                    key.0.unwrap_or_default(),
                    key.1.unwrap_or_default()
                ));
            }
            out.push(e);
        }
    }
    if keep_omitted_email {
        for held in current.iter().filter_map(Value::as_object) {
            let is_email = text(held, "mediaType") == Some("EMAIL");
            let kind = text(held, "type");
            let sent = out
                .iter()
                .any(|o| text(o, "mediaType") == Some("EMAIL") && text(o, "type") == kind);
            if is_email && !sent {
                out.push(held.clone());
            }
        }
    }
    Ok(out.into_iter().map(Value::Object).collect())
}

/// How [`replace`] treats entries (from the quirks).
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// `Quirks::contact_rules`.
    pub rules: bool,
    /// `Quirks::keep_omitted_email`.
    pub keep_omitted_email: bool,
}

/// The known fields' types and enums of an entry, shared by both modes.
fn check_basics(entry: &Map<String, Value>) -> Result<(String, String), String> {
    let media = text(entry, "mediaType").unwrap_or_default().to_string();
    let kind = text(entry, "type").unwrap_or_default().to_string();
    if !MEDIA_TYPES.contains(&media.as_str()) {
        return Err(format!(
            "addresses: mediaType must be PHONE, EMAIL or SMS, got '{media}'"
        ));
    }
    if !CONTACT_TYPES.contains(&kind.as_str()) {
        return Err(format!("addresses: type '{kind}' is not a contact type"));
    }
    for key in [
        "address",
        "extension",
        "countryCode",
        "integration",
        "display",
    ] {
        if let Some(v) = entry.get(key)
            && !v.is_string()
            && !v.is_null()
        {
            return Err(format!("addresses: {key} must be a string, got {v}"));
        }
    }
    if text(entry, "address").is_none() && text(entry, "extension").is_none() {
        return Err(format!(
            "addresses: the {media} {kind} entry needs an address or an extension"
        ));
    }
    if media == "EMAIL" {
        let a = text(entry, "address").unwrap_or_default();
        if !valid_email(a) {
            return Err(format!("addresses: '{a}' is not a valid email address"));
        }
    }
    Ok((media, kind))
}

/// Without the contact rules: stored as sent, `display` filled in when missing.
fn entry_as_sent(entry: &Map<String, Value>) -> Result<Map<String, Value>, String> {
    check_basics(entry)?;
    let mut e = entry.clone();
    if text(entry, "display").is_none()
        && let Some(d) = text(entry, "address").or_else(|| text(entry, "extension"))
    {
        e.insert("display".into(), Value::String(d.to_string()));
    }
    Ok(e)
}

/// One entry checked and normalised; `None` for an accepted PRIMARY email.
fn entry_in(
    entry: &Map<String, Value>,
    current: &[Value],
    email: Option<&str>,
) -> Result<Option<Map<String, Value>>, String> {
    let (media, kind) = check_basics(entry)?;
    let mut e = entry.clone();
    e.remove("display");
    let address = text(entry, "address").map(str::to_string);
    let extension = text(entry, "extension").map(str::to_string);
    if media == "EMAIL" {
        let a = address.unwrap_or_default();
        if kind == "PRIMARY" {
            if email.is_some_and(|m| m.eq_ignore_ascii_case(&a)) {
                return Ok(None);
            }
            return Err(format!(
                "addresses: the PRIMARY email address cannot be changed through this field \
                 ('{a}' differs from the user's email)"
            ));
        }
        return Ok(Some(e));
    }
    let number = match (&address, &extension) {
        (Some(a), _) => {
            let country = text(entry, "countryCode");
            Some(e164(a, country).ok_or_else(|| {
                format!("addresses: '{a}' is not a phone number that can be stored in E.164")
            })?)
        }
        (None, Some(x)) => held_number(current, &media, &kind, x),
        (None, None) => None,
    };
    match &number {
        Some(n) => {
            e.insert("address".into(), Value::String(n.clone()));
            e.insert("display".into(), Value::String(display(n)));
        }
        None => {
            e.remove("address");
            let x = extension.unwrap_or_default();
            e.insert("display".into(), Value::String(x));
        }
    }
    Ok(Some(e))
}

/// The number the user holds for (media, kind) with this extension, if any.
fn held_number(current: &[Value], media: &str, kind: &str, extension: &str) -> Option<String> {
    current.iter().filter_map(Value::as_object).find_map(|h| {
        let same = text(h, "mediaType") == Some(media)
            && text(h, "type") == Some(kind)
            && text(h, "extension") == Some(extension);
        if same {
            text(h, "address").map(str::to_string)
        } else {
            None
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const RULES: Options = Options {
        rules: true,
        keep_omitted_email: false,
    };
    const KEEP: Options = Options {
        rules: true,
        keep_omitted_email: true,
    };

    #[test]
    fn without_the_rules_entries_are_stored_as_sent() {
        let opts = Options {
            rules: false,
            keep_omitted_email: false,
        };
        let sent = json!([{"address": "+1 555 0100", "mediaType": "PHONE", "type": "OTHER"}]);
        let out = replace(&[], &sent, None, opts).unwrap();
        assert_eq!(out[0]["address"], "+1 555 0100");
        assert_eq!(out[0]["display"], "+1 555 0100");
        let bad = json!([{"mediaType": "PHONE", "type": "WORK"}]);
        assert!(replace(&[], &bad, None, opts).is_err());
    }

    #[test]
    fn numbers_are_normalised_to_e164() {
        for (raw, cc, want) in [
            ("+1 317-555-0142", None, Some("+13175550142")),
            ("(317) 555.0142", None, Some("+13175550142")),
            ("317-555-0142", Some("US"), Some("+13175550142")),
            ("1 317 555 0142", Some("US"), Some("+13175550142")),
            ("+44 20 7946 0958", None, Some("+442079460958")),
            ("020 7946 0958", Some("GB"), Some("+442079460958")),
            ("555-0142", Some("US"), None),
            ("+1 317 555", None, None),
            ("call me", None, None),
            ("12345", Some("ZZ"), None),
        ] {
            assert_eq!(e164(raw, cc).as_deref(), want, "{raw} {cc:?}");
        }
    }

    #[test]
    fn display_is_derived_from_the_number() {
        assert_eq!(display("+13175550142"), "+1 317-555-0142");
        assert_eq!(display("+442079460958"), "+44 2079460958");
        assert_eq!(display("+353861234567"), "+353 861234567");
    }

    #[test]
    fn display_is_ignored_and_the_extension_keeps_its_number() {
        let current = vec![
            json!({"address": "+13175550143", "display": "+1 317-555-0143",
            "extension": "4143", "mediaType": "PHONE", "type": "WORK3"}),
        ];
        let sent = json!([
            {"display": "+1 317-555-0143", "extension": "4143", "mediaType": "PHONE", "type": "WORK3"},
            {"address": "317.555.0150", "display": "stale", "mediaType": "PHONE", "type": "WORK", "countryCode": "US"},
            {"display": "4142", "extension": "4142", "mediaType": "PHONE", "type": "WORK2"},
            {"address": "+13175550177", "mediaType": "PHONE", "type": "OTHER", "integration": "microsoftteams"}
        ]);
        let out = replace(&current, &sent, Some("a@b.co"), RULES).unwrap();
        assert_eq!(out[0]["address"], "+13175550143");
        assert_eq!(public(out[0].as_object().unwrap()).get("address"), None);
        assert_eq!(out[1]["address"], "+13175550150");
        assert_eq!(out[1]["display"], "+1 317-555-0150");
        assert_eq!(out[2]["display"], "4142");
        assert_eq!(out[3]["integration"], "microsoftteams");
    }

    #[test]
    fn primary_email_must_equal_the_users_email() {
        let ok = json!([{"address": "a@b.co", "mediaType": "EMAIL", "type": "PRIMARY"}]);
        assert_eq!(
            replace(&[], &ok, Some("A@b.co"), RULES).unwrap(),
            Vec::<Value>::new()
        );
        let bad = json!([{"address": "x@b.co", "mediaType": "EMAIL", "type": "PRIMARY"}]);
        assert!(replace(&[], &bad, Some("a@b.co"), RULES).is_err());
    }

    #[test]
    fn omitted_emails_are_kept_only_when_asked() {
        let current = vec![json!({"address": "h@b.co", "mediaType": "EMAIL", "type": "HOME"})];
        let sent = json!([]);
        assert!(replace(&current, &sent, None, RULES).unwrap().is_empty());
        assert_eq!(replace(&current, &sent, None, KEEP).unwrap(), current);
    }

    #[test]
    fn bad_entries_are_refused() {
        for sent in [
            json!([{"address": "1", "mediaType": "FAX", "type": "WORK"}]),
            json!([{"address": "abc", "mediaType": "PHONE", "type": "WORK"}]),
            json!([{"mediaType": "PHONE", "type": "WORK"}]),
            json!([{"address": "+13175550100", "mediaType": "PHONE", "type": "WORK"},
                   {"address": "+13175550101", "mediaType": "PHONE", "type": "WORK"}]),
            json!({"address": "x"}),
        ] {
            assert!(replace(&[], &sent, None, RULES).is_err(), "{sent}");
        }
    }
}
