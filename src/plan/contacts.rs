//! Contact columns (`phone:WORK`, `sms:MOBILE`, `email:HOME`) against the entries a
//! real org holds.
//!
//! The model docs say one entry per media type, but real orgs hold several PHONE
//! entries of different types, number + extension together, extension-only entries
//! (whose `display` is the extension) and entries whose number is only in `display`,
//! some tagged with an `integration`. So a column names one entry by media type and
//! type; two entries of that pair make the row ambiguous for that user (refused,
//! never guessed). A changed entry keeps every other field (type, extension,
//! integration, fields genupdate does not know); its `display` is dropped, because
//! the server derives it from the number. Numbers are compared in E.164, emails
//! without regard to case.

use crate::input::{ContactType, MediaType};
use crate::model::Contact;

/// What merging one contact column did.
#[derive(Debug, PartialEq)]
pub enum Merge {
    /// The entry already holds the value (or there is nothing to clear).
    Unchanged,
    /// Changed; `before` is the value it held ("" for none).
    Changed { before: String },
    /// The user holds this many entries of the media type and type.
    Ambiguous(usize),
}

/// Merge one column's value into `addresses`. `after` is the cell's value ("" to
/// clear), phone and SMS numbers already in E.164.
pub fn merge(
    addresses: &mut Vec<Contact>,
    media: MediaType,
    kind: ContactType,
    after: &str,
) -> Merge {
    let hits: Vec<usize> = addresses
        .iter()
        .enumerate()
        .filter(|(_, c)| is(c, media, kind))
        .map(|(i, _)| i)
        .collect();
    let i = match hits.as_slice() {
        [] if after.is_empty() => return Merge::Unchanged,
        [] => {
            // A new number carries its country, as entries made in the admin UI do
            // (and as the entry a clear removed did, so an undo restores it whole).
            let country_code = match media {
                MediaType::Email => None,
                _ => crate::phone::region_for(after, None),
            };
            addresses.push(Contact {
                address: Some(after.to_string()),
                media_type: Some(media.wire().into()),
                kind: Some(kind.wire().into()),
                country_code,
                ..Contact::default()
            });
            return Merge::Changed {
                before: String::new(),
            };
        }
        [i] => *i,
        many => return Merge::Ambiguous(many.len()),
    };
    let before = value(&addresses[i], media).unwrap_or_default();
    if same(media, &before, after) {
        return Merge::Unchanged;
    }
    let entry = &mut addresses[i];
    if after.is_empty() {
        if entry.extension.is_some() && media != MediaType::Email {
            // The number goes, the extension stays.
            entry.address = None;
            entry.display = None;
        } else {
            addresses.remove(i);
        }
    } else {
        entry.address = Some(after.to_string());
        entry.display = None;
        if entry.country_code.is_some()
            && media != MediaType::Email
            && let Some(region) = crate::phone::region_for(after, entry.country_code.as_deref())
        {
            entry.country_code = Some(region);
        }
    }
    Merge::Changed { before }
}

/// The value an entry holds for its column: the number in E.164 (from `address`,
/// or from `display` when the entry carries its number only there), or the email.
pub fn value(c: &Contact, media: MediaType) -> Option<String> {
    if media == MediaType::Email {
        return c.address.clone().filter(|a| !a.is_empty());
    }
    if let Some(a) = c.address.as_deref().filter(|a| !a.is_empty()) {
        return Some(number(a, c.country_code.as_deref()).unwrap_or_else(|| a.to_string()));
    }
    // Number + extension entries may come back with the number only in `display`;
    // an extension-only entry's display is the extension itself, not a number.
    let display = c.display.as_deref()?;
    if c.extension.as_deref() == Some(display) {
        return None;
    }
    number(display, c.country_code.as_deref())
}

/// Whether `c` is the entry of this media type and type.
pub fn is(c: &Contact, media: MediaType, kind: ContactType) -> bool {
    c.media_type
        .as_deref()
        .is_some_and(|m| m.eq_ignore_ascii_case(media.wire()))
        && c.kind
            .as_deref()
            .is_some_and(|k| k.eq_ignore_ascii_case(kind.wire()))
}

fn same(media: MediaType, before: &str, after: &str) -> bool {
    match media {
        MediaType::Email => before.trim().eq_ignore_ascii_case(after.trim()),
        MediaType::Phone | MediaType::Sms => before == after,
    }
}

/// A stored number in E.164, when it can be read as one.
fn number(s: &str, country_code: Option<&str>) -> Option<String> {
    crate::phone::stored_e164(s, country_code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entries(v: serde_json::Value) -> Vec<Contact> {
        serde_json::from_value(v).unwrap()
    }

    fn real_org() -> Vec<Contact> {
        entries(json!([
            {"address": "+13175550142", "display": "+1 317-555-0142", "mediaType": "PHONE", "type": "WORK", "countryCode": "US"},
            {"display": "4142", "mediaType": "PHONE", "type": "WORK2", "extension": "4142"},
            {"display": "+1 317-555-0143", "mediaType": "PHONE", "type": "WORK3", "extension": "4143"},
            {"address": "+13175550177", "display": "+1 317-555-0177", "mediaType": "PHONE", "type": "OTHER", "countryCode": "US", "integration": "microsoftteams", "futureField": {"x": 1}},
            {"address": "jordan@care.example.com", "mediaType": "EMAIL", "type": "WORK"}
        ]))
    }

    #[test]
    fn the_same_number_stored_in_e164_or_only_in_display_is_unchanged() {
        let mut a = real_org();
        let b = a.clone();
        assert_eq!(
            merge(&mut a, MediaType::Phone, ContactType::Work, "+13175550142"),
            Merge::Unchanged
        );
        assert_eq!(
            merge(&mut a, MediaType::Phone, ContactType::Work3, "+13175550143"),
            Merge::Unchanged
        );
        assert_eq!(
            merge(
                &mut a,
                MediaType::Email,
                ContactType::Work,
                "Jordan@Care.Example.com"
            ),
            Merge::Unchanged
        );
        assert_eq!(a, b);
    }

    #[test]
    fn a_changed_number_keeps_type_extension_integration_and_unknown_fields_and_drops_display() {
        let mut a = real_org();
        let m = merge(&mut a, MediaType::Phone, ContactType::Other, "+13175550999");
        assert_eq!(
            m,
            Merge::Changed {
                before: "+13175550177".into()
            }
        );
        let e = &a[3];
        assert_eq!(e.address.as_deref(), Some("+13175550999"));
        assert_eq!(e.display, None, "the server derives display");
        assert_eq!(e.integration.as_deref(), Some("microsoftteams"));
        assert_eq!(e.other["futureField"], json!({"x": 1}));
        let m = merge(&mut a, MediaType::Phone, ContactType::Work3, "+13175550888");
        assert_eq!(
            m,
            Merge::Changed {
                before: "+13175550143".into()
            }
        );
        assert_eq!(a[2].extension.as_deref(), Some("4143"));
        assert_eq!(a.len(), 5, "no entry added or lost");
    }

    #[test]
    fn an_extension_only_entry_has_no_number_and_gains_one_without_losing_the_extension() {
        let mut a = real_org();
        assert_eq!(
            merge(&mut a, MediaType::Phone, ContactType::Work2, ""),
            Merge::Unchanged
        );
        let m = merge(&mut a, MediaType::Phone, ContactType::Work2, "+13175550100");
        assert_eq!(
            m,
            Merge::Changed {
                before: String::new()
            }
        );
        assert_eq!(a[1].extension.as_deref(), Some("4142"));
        assert_eq!(a[1].address.as_deref(), Some("+13175550100"));
    }

    #[test]
    fn clearing_a_number_keeps_an_extension_and_removes_a_plain_entry() {
        let mut a = real_org();
        merge(&mut a, MediaType::Phone, ContactType::Work3, "");
        assert_eq!(a[2].extension.as_deref(), Some("4143"));
        assert_eq!(
            (a[2].address.as_deref(), a[2].display.as_deref()),
            (None, None)
        );
        let m = merge(&mut a, MediaType::Phone, ContactType::Work, "");
        assert_eq!(
            m,
            Merge::Changed {
                before: "+13175550142".into()
            }
        );
        assert_eq!(a.len(), 4);
        assert!(!a.iter().any(|c| is(c, MediaType::Phone, ContactType::Work)));
    }

    #[test]
    fn two_entries_of_one_type_are_ambiguous_and_left_alone() {
        let mut a = real_org();
        a.push(a[0].clone());
        let b = a.clone();
        assert_eq!(
            merge(&mut a, MediaType::Phone, ContactType::Work, "+13175550111"),
            Merge::Ambiguous(2)
        );
        assert_eq!(a, b);
        // Another type of the same user is still fine.
        assert_eq!(
            merge(&mut a, MediaType::Phone, ContactType::Home, "+13175550111"),
            Merge::Changed {
                before: String::new()
            }
        );
    }

    #[test]
    fn a_new_entry_carries_its_country_and_no_display() {
        let mut a = Vec::new();
        merge(&mut a, MediaType::Sms, ContactType::Mobile, "+13175550199");
        assert_eq!(
            serde_json::to_value(&a).unwrap(),
            json!([{"address": "+13175550199", "mediaType": "SMS", "type": "MOBILE", "countryCode": "US"}])
        );
        let mut a = Vec::new();
        merge(&mut a, MediaType::Email, ContactType::Home, "a@example.org");
        assert_eq!(
            serde_json::to_value(&a).unwrap(),
            json!([{"address": "a@example.org", "mediaType": "EMAIL", "type": "HOME"}])
        );
    }
}
