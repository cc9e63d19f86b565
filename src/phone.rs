//! Phone numbers as Genesys stores them: E.164 (`+13175550142`).
//!
//! Pure functions over the `phonenumber` crate, which carries libphonenumber's
//! numbering plans (national prefixes, lengths, number ranges in use). Nothing here
//! hand-rolls a national rule. Callers see [`Country`] and [`PhoneError`], never the
//! crate's own types.
//!
//! Decisions:
//! - A number written without a leading `+` is national and needs a country
//!   ([`to_e164`]'s `default_country`, the `--default-country` flag). There is no
//!   implicit default: guessing a country turns a German `030 123456` into a wrong
//!   US number without a word.
//! - Validity is libphonenumber's `is_valid` (the number falls in a range in use for
//!   its country), not only a plausible length. The fictional `555-01xx` numbers the
//!   README and the sandbox use are valid there (`+1 317 555 0142` is), so strict
//!   validity costs nothing for them; ranges libphonenumber does not know as assigned
//!   (`+1 555 555 5555`, Ofcom's drama range `+44 7700 900xxx`) are refused.
//! - Extensions are refused: Genesys keeps them in a Contact's own `extension` field.

use std::fmt;
use std::str::FromStr;

use phonenumber::country::Id;
use phonenumber::metadata::DATABASE;
use phonenumber::{Mode, PhoneNumber};

/// A country, as an ISO 3166 alpha-2 code (`US`, `GB`, `IE`, `DE`) that
/// libphonenumber has numbering rules for. Parsed in any case (`us` is `US`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Country(Id);

/// Codes shown in messages as examples.
const COUNTRY_EXAMPLES: &str = "US, CA, GB, IE, DE, FR, NL, AU, IN";

impl Country {
    /// The alpha-2 code, upper case (`US`).
    pub fn code(&self) -> &str {
        self.0.as_ref()
    }

    /// Its country calling code (`1` for US, `44` for GB).
    pub fn calling_code(&self) -> Option<u16> {
        DATABASE.by_id(self.0.as_ref()).map(|m| m.country_code())
    }
}

impl fmt::Display for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_ref())
    }
}

/// A value that is not a country code genupdate can use.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct CountryError {
    message: String,
}

impl FromStr for Country {
    type Err = CountryError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let shown = if t.is_empty() { s } else { t };
        let fail = |why: &str| CountryError {
            message: format!(
                "'{}' is not a country{why}: use an ISO 3166 alpha-2 code such as \
                 {COUNTRY_EXAMPLES}",
                shown.escape_debug()
            ),
        };
        if t.len() != 2 || !t.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(fail(" (two letters are expected)"));
        }
        let upper = t.to_ascii_uppercase();
        if upper == "UK" {
            return Err(fail(" (the United Kingdom is GB)"));
        }
        match Id::from_str(&upper) {
            Ok(id) if DATABASE.by_id(id.as_ref()).is_some() => Ok(Country(id)),
            _ => Err(fail(" that phone numbering rules exist for")),
        }
    }
}

/// Why a value is not a phone number genupdate can send.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("the number is empty")]
    Empty,
    /// No leading `+` and no default country to read it in.
    #[error(
        "the number has no country code: write it with its country code (+1 ...) \
         or pass --default-country US"
    )]
    NoCountryCode,
    /// `phonenumber` could not read it at all.
    #[error("it cannot be read as a phone number ({0})")]
    Unreadable(String),
    /// It carries an extension (`x123`, `ext. 5`).
    #[error("it has an extension; Genesys keeps extensions apart from the number")]
    Extension,
    /// It reads as a number, but not one in use in its country's numbering plan.
    #[error("{0}")]
    Invalid(String),
}

/// Normalise a number written by a person to E.164.
///
/// A number that starts with `+` (after trimming) is read on its own; any other needs
/// `default_country` to be read as a national number (`(317) 555-0142` with US), or
/// as dialled from that country (`011 44 20 7946 0958` with US). The result must be
/// a valid number by libphonenumber's rules.
pub fn to_e164(raw: &str, default_country: Option<Country>) -> Result<String, PhoneError> {
    let s = raw.trim();
    if s.is_empty() {
        return Err(PhoneError::Empty);
    }
    let region = if s.starts_with('+') {
        None
    } else {
        match default_country {
            Some(c) => Some(c.0),
            None => return Err(PhoneError::NoCountryCode),
        }
    };
    let number = parse(region, s).map_err(PhoneError::Unreadable)?;
    if number.extension().is_some() {
        return Err(PhoneError::Extension);
    }
    if !number.is_valid() {
        return Err(PhoneError::Invalid(why_invalid(&number)));
    }
    Ok(e164(&number))
}

/// Normalise a number as the server holds it in a Contact, for comparing with a
/// cell's [`to_e164`]: usually E.164 already, sometimes a formatted `display`
/// (`+1 317-555-0143`), or a national number with the entry's `countryCode` (ISO
/// alpha-2, or a calling code such as `1` or `+44`). Validity is not required: the
/// server holds what it holds. None when it cannot be read as a number.
pub fn stored_e164(address: &str, country_code: Option<&str>) -> Option<String> {
    let s = address.trim();
    if s.is_empty() {
        return None;
    }
    if s.starts_with('+') {
        return parse(None, s).ok().map(|n| e164(&n));
    }
    let cc = country_code.map(str::trim).filter(|c| !c.is_empty())?;
    if let Ok(country) = cc.parse::<Country>() {
        return parse(Some(country.0), s).ok().map(|n| e164(&n));
    }
    let digits = cc.strip_prefix('+').unwrap_or(cc);
    if (1..=3).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) {
        return parse(None, &format!("+{digits} {s}"))
            .ok()
            .map(|n| e164(&n));
    }
    None
}

fn parse(region: Option<Id>, s: &str) -> Result<PhoneNumber, String> {
    phonenumber::parse(region, s).map_err(|e| e.to_string())
}

fn e164(n: &PhoneNumber) -> String {
    n.format().mode(Mode::E164).to_string()
}

/// Why a number that parsed is not valid: a wrong length when the country's plan
/// says so, otherwise a range not in use.
fn why_invalid(n: &PhoneNumber) -> String {
    let code = n.code().value();
    let national = n.national().to_string();
    let metas = DATABASE.by_code(&code).unwrap_or_default();
    let Some(meta) = metas
        .iter()
        .find(|m| m.is_main_country_for_code())
        .or_else(|| metas.first())
    else {
        return format!("+{code} is not a country calling code");
    };
    let regions: Vec<&str> = metas
        .iter()
        .map(|m| m.id())
        .filter(|id| *id != "001")
        .collect();
    let place = if regions.is_empty() {
        format!("+{code}")
    } else if regions.len() <= 3 {
        format!("+{code} ({})", regions.join(", "))
    } else {
        format!("+{code} ({}, ...)", regions[..3].join(", "))
    };
    let lengths = possible_lengths(meta);
    let len = national.len() as u16;
    if !lengths.is_empty() && !lengths.contains(&len) {
        let expected = match lengths.as_slice() {
            [one] => one.to_string(),
            [first, .., last] if usize::from(last - first) + 1 == lengths.len() => {
                format!("{first} to {last}")
            }
            [init @ .., last] => format!(
                "{} or {last}",
                init.iter()
                    .map(u16::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            [] => String::new(),
        };
        return format!(
            "numbers under {place} have {expected} digits after the country code, \
             this one has {len}"
        );
    }
    format!("it is not a number in use under {place} (libphonenumber's numbering plan)")
}

/// The national number lengths of a country's plan: the union over its number
/// types (the crate leaves the general descriptor's list empty).
fn possible_lengths(meta: &phonenumber::Metadata) -> Vec<u16> {
    let d = meta.descriptors();
    let mut lengths: Vec<u16> = [
        Some(d.general()),
        d.fixed_line(),
        d.mobile(),
        d.toll_free(),
        d.premium_rate(),
        d.shared_cost(),
        d.personal_number(),
        d.voip(),
        d.pager(),
        d.uan(),
        d.voicemail(),
    ]
    .into_iter()
    .flatten()
    .flat_map(|desc| desc.possible_length().iter().copied())
    .collect();
    lengths.sort_unstable();
    lengths.dedup();
    lengths
}

#[cfg(test)]
mod tests {
    use super::*;

    fn us() -> Option<Country> {
        Some("US".parse().unwrap())
    }

    #[test]
    fn numbers_normalise_to_e164() {
        let gb: Option<Country> = Some("gb".parse().unwrap());
        let de: Option<Country> = Some("De".parse().unwrap());
        let ie: Option<Country> = Some("ie".parse().unwrap());
        let cases: &[(&str, Option<Country>, &str)] = &[
            // International in, with the usual formatting characters.
            ("+13175550142", None, "+13175550142"),
            ("+1 317-555-0142", None, "+13175550142"),
            ("+1 (317) 555.0142", None, "+13175550142"),
            ("  +1 317 555 0142  ", None, "+13175550142"),
            ("+44 20 7946 0958", None, "+442079460958"),
            ("+44 (0)20 7946 0958", None, "+442079460958"),
            ("+353 1 234 5678", None, "+35312345678"),
            ("+49 30 123456", None, "+4930123456"),
            // A + number ignores the default country.
            ("+44 20 7946 0958", us(), "+442079460958"),
            // National numbers with a default country.
            ("(317) 555-0142", us(), "+13175550142"),
            ("317.555.0142", us(), "+13175550142"),
            ("317 555 0142", us(), "+13175550142"),
            ("1 317 555 0142", us(), "+13175550142"),
            ("020 7946 0958", gb, "+442079460958"),
            ("030 123456", de, "+4930123456"),
            ("01 234 5678", ie, "+35312345678"),
            // Dialled from the default country with its international prefix.
            ("011 44 20 7946 0958", us(), "+442079460958"),
            ("00 1 317 555 0142", gb, "+13175550142"),
            // Fictional 555-01xx numbers are valid for libphonenumber.
            ("+1 317 555 0100", None, "+13175550100"),
            ("+1 800 555 0199", None, "+18005550199"),
        ];
        for (raw, country, want) in cases {
            assert_eq!(
                to_e164(raw, *country).as_deref(),
                Ok(*want),
                "{raw:?} in {country:?}"
            );
        }
    }

    #[test]
    fn a_national_number_needs_a_default_country() {
        for raw in [
            "(317) 555-0142",
            "3175550142",
            "020 7946 0958",
            "1 317 555 0142",
        ] {
            assert_eq!(to_e164(raw, None), Err(PhoneError::NoCountryCode), "{raw}");
        }
        let msg = PhoneError::NoCountryCode.to_string();
        assert!(
            msg.contains("(+1 ...)") && msg.contains("--default-country US"),
            "{msg}"
        );
    }

    #[test]
    fn invalid_numbers_say_why() {
        let cases: &[(&str, Option<Country>, &str)] = &[
            (
                "+1 317 555 014",
                None,
                "have 10 digits after the country code, this one has 9",
            ),
            ("+1 317 555 01423", None, "this one has 11"),
            (
                "+44 20 79",
                None,
                "digits after the country code, this one has 4",
            ),
            ("555-0142", us(), "this one has 7"),
            ("+1 555 555 5555", None, "not a number in use under +1 (US"),
            ("+1 000 555 0142", None, "not a number in use"),
            ("+44 7700 900123", None, "not a number in use under +44 (GB"),
            (
                "+999 123 4567",
                None,
                "cannot be read as a phone number (invalid country code)",
            ),
            ("+0 123", None, "cannot be read"),
            ("+", None, "cannot be read"),
            ("12", us(), "cannot be read"),
            ("", us(), "empty"),
            ("   ", None, "empty"),
        ];
        for (raw, country, want) in cases {
            let err = to_e164(raw, *country).unwrap_err().to_string();
            assert!(err.contains(want), "{raw:?}: {err}");
        }
    }

    #[test]
    fn extensions_and_junk_are_refused() {
        assert_eq!(
            to_e164("+1 317 555 0142 x12", None),
            Err(PhoneError::Extension)
        );
        assert_eq!(
            to_e164("(317) 555-0142 ext. 7", us()),
            Err(PhoneError::Extension)
        );
        for junk in ["+call me", "+1 three one seven"] {
            assert!(
                matches!(to_e164(junk, None), Err(PhoneError::Unreadable(_))),
                "{junk}"
            );
        }
    }

    #[test]
    fn countries_parse_in_any_case_and_say_what_they_expect() {
        for (s, code, calling) in [
            ("US", "US", 1),
            ("us", "US", 1),
            (" gb ", "GB", 44),
            ("Ie", "IE", 353),
            ("de", "DE", 49),
        ] {
            let c: Country = s.parse().unwrap();
            assert_eq!(c.code(), code);
            assert_eq!(c.to_string(), code);
            assert_eq!(c.calling_code(), Some(calling));
        }
        for (bad, hint) in [
            ("USA", "two letters"),
            ("", "two letters"),
            ("1", "two letters"),
            ("U1", "two letters"),
            ("ZZ", "numbering rules"),
            ("uk", "the United Kingdom is GB"),
        ] {
            let msg = bad.parse::<Country>().unwrap_err().to_string();
            assert!(
                msg.contains(hint)
                    && msg.contains("ISO 3166 alpha-2")
                    && msg.contains("US, CA, GB"),
                "{bad:?}: {msg}"
            );
        }
    }

    #[test]
    fn stored_numbers_normalise_as_the_server_holds_them() {
        let cases: &[(&str, Option<&str>, Option<&str>)] = &[
            ("+13175550142", None, Some("+13175550142")),
            ("+13175550142", Some("US"), Some("+13175550142")),
            ("+1 317-555-0143", None, Some("+13175550143")),
            ("+1 (317) 555-0143", Some("GB"), Some("+13175550143")),
            ("3175550143", Some("US"), Some("+13175550143")),
            ("(317) 555-0143", Some("us"), Some("+13175550143")),
            ("020 7946 0958", Some("GB"), Some("+442079460958")),
            ("20 7946 0958", Some("+44"), Some("+442079460958")),
            ("317 555 0143", Some("1"), Some("+13175550143")),
            // Stored numbers need not be valid to be compared.
            ("+15555555555", None, Some("+15555555555")),
            // Unreadable, or national without a country.
            ("3175550143", None, None),
            ("3175550143", Some(""), None),
            ("3175550143", Some("USA"), None),
            ("", Some("US"), None),
            ("not a number", Some("US"), None),
        ];
        for (address, cc, want) in cases {
            assert_eq!(
                stored_e164(address, *cc).as_deref(),
                *want,
                "{address:?} {cc:?}"
            );
        }
    }

    #[test]
    fn a_cell_and_the_stored_number_compare_equal() {
        assert_eq!(
            to_e164("(317) 555-0142", us()).ok(),
            stored_e164("+13175550142", None)
        );
        assert_eq!(
            to_e164("+1 317 555 0142", None).ok(),
            stored_e164("+1 317-555-0142", Some("US"))
        );
    }

    /// The numbers the README, the example file, examples/gen_csv.rs and the
    /// sandbox's seed use (`+1 AAA-555-LLLL`) are valid for every line number.
    #[test]
    fn the_fictional_555_numbers_the_project_uses_are_valid() {
        for area in [317, 212, 415, 312, 646] {
            for line in (0..10_000).step_by(97).chain([0, 100, 142, 199, 9999]) {
                let raw = format!("+1 {area}-555-{line:04}");
                assert_eq!(
                    to_e164(&raw, None),
                    Ok(format!("+1{area}555{line:04}")),
                    "{raw}"
                );
            }
        }
    }
}

/// The ISO region to put in a contact entry's `countryCode` for `e164`, when the
/// entry's `current` one no longer fits: `None` keeps `current` (same calling code,
/// so a Canadian entry under +1 stays CA) or when the number cannot be read.
pub fn region_for(e164: &str, current: Option<&str>) -> Option<String> {
    let number = parse(None, e164).ok()?;
    let code = number.country().code();
    let same = current
        .and_then(|c| c.parse::<Country>().ok())
        .and_then(|c| c.calling_code())
        == Some(code);
    if same {
        return None;
    }
    number.country().id().map(|id| id.as_ref().to_string())
}

#[cfg(test)]
mod region_tests {
    use super::*;

    #[test]
    fn a_country_code_changes_only_with_the_calling_code() {
        assert_eq!(region_for("+13175550142", Some("US")), None);
        assert_eq!(region_for("+14165550142", Some("CA")), None);
        assert_eq!(
            region_for("+442079460958", Some("US")).as_deref(),
            Some("GB")
        );
        assert_eq!(region_for("junk", Some("US")), None);
    }
}
