//! The Genesys Cloud wire types genupdate's client reads and writes, and its planner
//! diffs. Field names follow the official SDK models (camelCase on the wire); the
//! golden payloads in `fixtures/genesys/` pin them, and the sandbox (a separate crate
//! with types of its own) is tested against the same files.
//!
//! Every type that is read and written back keeps what it does not know in a
//! catch-all map, so a field a newer API adds (or one genupdate does not manage,
//! such as a contact's `integration`) survives a read-modify-write untouched.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A user as `GET /api/v2/users/{id}` returns it. Fields genupdate does not touch are
/// kept in `other` so that nothing is lost when a value is read and written back.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manager: Option<ManagerRef>,
    /// `active`, `inactive` or `deleted`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acd_auto_answer: Option<bool>,
    /// Absent and empty read the same (no contacts); written as a list.
    #[serde(default)]
    pub addresses: Vec<Contact>,
    /// Returned only with `expand=employerInfo`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employer_info: Option<EmployerInfo>,
    pub version: i64,
    /// Returned only with `expand=skills`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skills: Option<Vec<UserRoutingSkill>>,
    /// Returned only with `expand=languages`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub languages: Option<Vec<UserRoutingLanguage>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_uri: Option<String>,
    /// Everything else the API sent (division, chat, primaryContactInfo, ...).
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl User {
    /// `division.id`, when the read carried it.
    pub fn division_id(&self) -> Option<&str> {
        self.other.get("division")?.get("id")?.as_str()
    }

    /// `division.name`, when the read carried it.
    pub fn division_name(&self) -> Option<&str> {
        self.other.get("division")?.get("name")?.as_str()
    }

    /// A user whose `state` is `deleted`: still readable with `state=any`, but a
    /// write with `state` would restore it, so genupdate treats it as not found.
    pub fn is_deleted(&self) -> bool {
        self.state.as_deref() == Some("deleted")
    }
}

/// `manager` as the API returns it: a reference object, not a bare id.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManagerRef {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_uri: Option<String>,
}

/// One entry of `addresses`. The model docs say one per media type, but real orgs
/// hold several PHONE entries, number + extension together, extension-only entries
/// and entries tagged with an `integration`: every field survives a round trip.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Contact {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extension: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
    /// `PHONE`, `EMAIL` or `SMS`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// `PRIMARY`, `WORK`, `WORK2`, `WORK3`, `WORK4`, `HOME`, `MOBILE`, `MAIN` or `OTHER`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country_code: Option<String>,
    /// e.g. `microsoftteams`: the entry belongs to an integration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integration: Option<String>,
    /// Fields of the entry genupdate does not know, sent back as they came.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EmployerInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub official_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employee_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employee_type: Option<String>,
    /// `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_hire: Option<String>,
}

/// A skill on a user (`GET /api/v2/users/{id}/routingskills`, or `expand=skills`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserRoutingSkill {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub proficiency: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_uri: Option<String>,
    /// `skillUri` / `languageUri` and anything newer.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// A language on a user; same shape as a skill.
pub type UserRoutingLanguage = UserRoutingSkill;

/// The body of `PATCH .../routingskills/bulk` and `.../routinglanguages/bulk`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProficiencyUpdate {
    pub id: String,
    pub proficiency: f64,
}

/// A skill or language of the org (`GET /api/v2/routing/skills`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoutingEntity {
    pub id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_uri: Option<String>,
}

/// One page of a Genesys entity listing.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    pub entities: Vec<T>,
    #[serde(default)]
    pub page_size: u32,
    #[serde(default)]
    pub page_number: u32,
    #[serde(default)]
    pub total: u64,
    #[serde(default)]
    pub page_count: u32,
}

/// A rate limit as the limits endpoint and 429 bodies describe it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LimitRef {
    pub key: String,
    #[serde(default)]
    pub namespace: String,
    pub value: f64,
}

/// `GET /api/v2/organizations/limits/namespaces/{namespace}`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LimitsResponse {
    pub entities: Vec<LimitRef>,
}

/// `GET /api/v2/organizations/me`: the org the token belongs to. Only what genupdate
/// shows is read; the rest of the Organization is ignored.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organization {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
}

/// The normalised Genesys error body.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub status: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_with_params: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_params: Option<Map<String, Value>>,
    #[serde(default)]
    pub details: Vec<Value>,
    #[serde(default)]
    pub errors: Vec<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<LimitRef>,
}

/// The token endpoint's answer.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TokenResponse {
    pub access_token: crate::secret::Secret,
    #[serde(default)]
    pub token_type: String,
    pub expires_in: u64,
}

/// The token endpoint's error body.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct TokenError {
    #[serde(default)]
    pub error: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub error_description: String,
}
