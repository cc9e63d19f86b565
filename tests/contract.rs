//! The client's half of the contract: the golden payloads in fixtures/genesys/
//! (written from the official SDK models, shared with the sandbox crate, which has
//! types of its own) read into genupdate's wire types and back without losing a
//! field, and classify as the API documents them.

use genupdate::client::retry::{Verdict, classify, limit_per_minute, missing_permission};
use genupdate::input::{ContactType, MediaType};
use genupdate::model::{ErrorBody, Page, TokenResponse, User};
use genupdate::plan::contact_value;
use serde_json::Value;

fn fixture(name: &str) -> Value {
    let path = format!("{}/fixtures/genesys/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn a_full_user_round_trips_every_field_including_unknown_ones() {
    let golden = fixture("user-full.json");
    let user: User = serde_json::from_value(golden.clone()).unwrap();
    assert_eq!(serde_json::to_value(&user).unwrap(), golden);
    assert_eq!(
        user.division_id(),
        Some("e5a3f1b2-7c4d-4e8f-9a0b-1c2d3e4f5a6b")
    );
    assert!(!user.is_deleted());
}

#[test]
fn every_contact_shape_of_a_real_org_reads_as_the_number_it_holds() {
    let user: User = serde_json::from_value(fixture("user-full.json")).unwrap();
    let find = |media: MediaType, kind: ContactType| {
        user.addresses
            .iter()
            .find(|c| {
                c.media_type.as_deref() == Some(media.wire())
                    && c.kind.as_deref() == Some(kind.wire())
            })
            .unwrap_or_else(|| panic!("{media:?} {kind:?} in the fixture"))
    };
    let work = find(MediaType::Phone, ContactType::Work);
    assert_eq!(
        contact_value(work, MediaType::Phone).as_deref(),
        Some("+13175550142")
    );
    // Extension only: display is the extension, there is no number.
    let ext = find(MediaType::Phone, ContactType::Work2);
    assert_eq!(contact_value(ext, MediaType::Phone), None);
    // Number + extension: the number is only in display.
    let both = find(MediaType::Phone, ContactType::Work3);
    assert_eq!(
        contact_value(both, MediaType::Phone).as_deref(),
        Some("+13175550143")
    );
    let teams = find(MediaType::Phone, ContactType::Other);
    assert_eq!(teams.integration.as_deref(), Some("microsoftteams"));
}

#[test]
fn list_pages_read_with_or_without_expanded_parts() {
    for name in ["users-page-list.json", "users-page-by-id.json"] {
        let golden = fixture(name);
        let page: Page<User> = serde_json::from_value(golden.clone()).unwrap();
        assert!(!page.entities.is_empty(), "{name}");
        let entities: Vec<Value> = page
            .entities
            .iter()
            .map(|u| serde_json::to_value(u).unwrap())
            .collect();
        assert_eq!(
            Value::Array(entities),
            golden["entities"],
            "{name}: users round-trip"
        );
    }
}

#[test]
fn a_deleted_user_is_recognised() {
    let user: User = serde_json::from_value(fixture("user-deleted.json")).unwrap();
    assert!(user.is_deleted());
}

#[test]
fn error_bodies_classify_as_documented() {
    let body = |name| serde_json::from_value::<ErrorBody>(fixture(name)).unwrap();
    let forbidden = body("error-403-division.json");
    assert!(matches!(
        classify(403, Some(&forbidden), None),
        Verdict::Forbidden { .. }
    ));
    assert!(missing_permission(&forbidden).is_some_and(|p| p.contains("directory:user:edit")));
    assert_eq!(
        classify(409, Some(&body("error-409-version.json")), None),
        Verdict::Conflict
    );
    assert_eq!(
        classify(400, Some(&body("error-400-version-mismatch.json")), None),
        Verdict::Conflict
    );
    let with = body("error-429-with-limit.json");
    let limit = with.limit.expect("limit");
    assert_eq!(limit_per_minute(&limit.key, limit.value), Some(180.0));
    assert!(body("error-429-without-limit.json").limit.is_none());
    assert_eq!(
        with.context_id.as_deref(),
        Some("9d4e7a2b-1c5f-4e8a-b3d6-0f2c4a6e8b1d")
    );
}

#[test]
fn the_token_response_reads_and_its_secret_never_prints() {
    let golden = fixture("token.json");
    let token: TokenResponse = serde_json::from_value(golden.clone()).unwrap();
    assert_eq!(token.expires_in, 86399);
    let secret = golden["access_token"].as_str().unwrap();
    assert!(!format!("{token:?}").contains(secret));
}
