//! Seeded `addresses` in every shape a real org holds (Terraform's
//! `flattenUserAddresses`: PHONE/SMS entries "have four different ways they can
//! return in the API"; fixtures/genesys/user-full.json shows each one).
//!
//! User `i` gets layout `i % 8`, so the first 20 users hold every shape:
//! 0 number · 1 extension only · 2 number and number+extension · 3 several phone
//! types · 4 Teams number and SMS · 5 extra emails · 6 all of them (the fixture's
//! list) · 7 no addresses. Entries are stored as the server keeps them (a number
//! with an extension keeps its `address`; [`crate::contacts::public`] hides it).

use rand::Rng;
use rand::rngs::StdRng;
use serde_json::{Value, json};

use crate::contacts::display;

/// The phone of the shape-free org: one number with display and country.
pub fn simple_phone(rng: &mut StdRng, kind: &str) -> Value {
    let number = random_number(rng);
    json!({
        "address": number,
        "display": display(&number),
        "mediaType": "PHONE",
        "type": kind,
        "countryCode": "US",
    })
}

fn random_number(rng: &mut StdRng) -> String {
    let area = [317, 212, 415, 312, 646][rng.random_range(0..5)];
    let line: u32 = rng.random_range(0..10_000);
    format!("+1{area}555{line:04}")
}

fn number(rng: &mut StdRng, media: &str, kind: &str) -> Value {
    let n = random_number(rng);
    json!({"address": n, "display": display(&n), "mediaType": media, "type": kind, "countryCode": "US"})
}

fn extension_only(rng: &mut StdRng) -> Value {
    let x = rng.random_range(2000..9000).to_string();
    json!({"display": x, "mediaType": "PHONE", "type": "WORK2", "extension": x})
}

fn number_and_extension(rng: &mut StdRng) -> Value {
    let n = random_number(rng);
    let x = rng.random_range(2000..9000).to_string();
    json!({"address": n, "display": display(&n), "mediaType": "PHONE", "type": "WORK3", "extension": x})
}

fn teams(rng: &mut StdRng) -> Value {
    let n = random_number(rng);
    json!({"address": n, "display": display(&n), "mediaType": "PHONE", "type": "OTHER",
        "countryCode": "US", "integration": "microsoftteams"})
}

fn email(local: &str, domain: &str, kind: &str) -> Value {
    json!({"address": format!("{local}@{domain}"), "mediaType": "EMAIL", "type": kind})
}

/// The addresses of user `i` (see the module docs for the layouts).
pub fn shaped(rng: &mut StdRng, i: usize, local: &str) -> Vec<Value> {
    match i % 8 {
        0 => vec![number(rng, "PHONE", "WORK")],
        1 => vec![extension_only(rng)],
        2 => vec![number(rng, "PHONE", "WORK"), number_and_extension(rng)],
        3 => vec![
            number(rng, "PHONE", "WORK"),
            number(rng, "PHONE", "HOME"),
            number(rng, "PHONE", "MOBILE"),
        ],
        4 => vec![
            number(rng, "PHONE", "WORK"),
            teams(rng),
            number(rng, "SMS", "MOBILE"),
        ],
        5 => vec![
            number(rng, "PHONE", "WORK"),
            email(local, "care.example.com", "WORK"),
            email(local, "home.example.net", "HOME"),
        ],
        6 => vec![
            number(rng, "PHONE", "WORK"),
            extension_only(rng),
            number_and_extension(rng),
            teams(rng),
            number(rng, "SMS", "MOBILE"),
            email(local, "care.example.com", "WORK"),
        ],
        _ => Vec::new(),
    }
}
