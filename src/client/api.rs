//! One typed method per Genesys endpoint genupdate uses, on top of [`Client::send`].
//!
//! No retries here: every method builds a [`Request`] (path segments and query values
//! percent-encoded, the right [`Replay`]) and parses the answer, so retry behaviour is
//! the same for every endpoint and lives in one place. The only loops are for limits
//! the API sets (100 ids per bulk read, 50 items per bulk write, paged listings).

use serde_json::json;

use tracing::{info, warn};

use super::{
    ApiError, Client, DEFAULT_RATE_PER_MINUTE, Fatal, Replay, Request, TOKEN_RATE_KEY,
    USER_RATE_KEY,
};
use crate::model::{
    LimitsResponse, Organization, Page, ProficiencyUpdate, RoutingEntity, User,
    UserRoutingLanguage, UserRoutingSkill,
};

/// Most ids per `GET /api/v2/users?id=...`.
pub const MAX_IDS_PER_READ: usize = 100;
/// Most items per bulk PATCH (users/bulk, routingskills/bulk, routinglanguages/bulk).
pub const MAX_ITEMS_PER_BULK: usize = 50;
/// The smallest page a 400 may halve a page size to before the 400 is an error.
const MIN_PAGE: u32 = 25;

/// One page of a user listing or search, users parsed one by one.
#[derive(Debug, Default)]
pub struct UserPage {
    pub users: Vec<User>,
    /// Entities in the answer (parsed or not), to know when a listing ends.
    pub entities: usize,
    /// Users the whole listing or search holds.
    pub total: u64,
    pub page_count: u32,
}

/// Safety stop for listings that never end.
const MAX_PAGES: u32 = 1000;

/// Everything but the RFC 3986 unreserved characters (`A-Z a-z 0-9 - . _ ~`).
const NOT_UNRESERVED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encode a path segment or a query value: everything but the RFC 3986
/// unreserved characters, so an id or a skill name can never change the URL's shape.
pub fn encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, NOT_UNRESERVED).to_string()
}

fn expand_query(expand: &[&str]) -> String {
    if expand.is_empty() {
        return String::new();
    }
    let list: Vec<String> = expand.iter().map(|e| encode(e)).collect();
    format!("expand={}", list.join(","))
}

impl Client {
    /// Users by id, 100 per request (`GET /api/v2/users?id=..&id=..&state=any`). Ids
    /// the org does not have are simply absent from the result. `state=any` because
    /// the listing's default filter is `active`: without it an inactive user (whom a
    /// row may be re-activating) would look missing.
    pub async fn get_users(&self, ids: &[String], expand: &[&str]) -> Result<Vec<User>, ApiError> {
        let mut users = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(MAX_IDS_PER_READ) {
            let mut path = String::from("/api/v2/users?");
            for id in chunk {
                path.push_str("id=");
                path.push_str(&encode(id));
                path.push('&');
            }
            path.push_str(&format!("pageSize={MAX_IDS_PER_READ}&state=any"));
            let expand = expand_query(expand);
            if !expand.is_empty() {
                path.push('&');
                path.push_str(&expand);
            }
            // Each user is read on its own: one malformed entity costs that user (the
            // caller confirms it with a single GET), not the whole batch.
            let page: Page<serde_json::Value> = self.send(Request::get(path)).await?.json()?;
            for entity in page.entities {
                match serde_json::from_value::<User>(entity) {
                    Ok(user) => users.push(user),
                    Err(e) => warn!(
                        "a user in a bulk read has an unexpected shape ({e}); it is read again on its own"
                    ),
                }
            }
        }
        Ok(users)
    }

    /// One page of the whole org (`GET /api/v2/users?pageSize=&pageNumber=&state=any`),
    /// deleted users included (the caller drops them), starting at user `offset`.
    /// `page_size` is halved on a 400 (a page too large for this org) down to 25;
    /// `offset` must be a multiple of it, which halving keeps.
    pub async fn list_users_page(
        &self,
        page_size: &mut u32,
        offset: u64,
        expand: &[&str],
    ) -> Result<UserPage, ApiError> {
        loop {
            let number = offset / u64::from(*page_size) + 1;
            let mut path =
                format!("/api/v2/users?pageSize={page_size}&pageNumber={number}&state=any");
            let expand = expand_query(expand);
            if !expand.is_empty() {
                path.push('&');
                path.push_str(&expand);
            }
            match self.send(Request::get(path)).await {
                Ok(answer) => {
                    let page: Page<serde_json::Value> = answer.json()?;
                    let entities = page.entities.len();
                    return Ok(UserPage {
                        users: parse_users(page.entities),
                        entities,
                        total: page.total,
                        page_count: page.page_count,
                    });
                }
                Err(e) if e.status() == Some(400) && *page_size / 2 >= MIN_PAGE => {
                    warn!("the users listing refused pageSize={page_size} ({e}); halving it");
                    *page_size /= 2;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Users whose `field` is exactly one of `values` (`POST /api/v2/users/search`,
    /// an `EXACT` query), page `number` of size `page_size`; a 400 halves the page
    /// size as for the listing (the caller restarts at page 1 when it changed).
    pub async fn search_users(
        &self,
        field: &str,
        values: &[String],
        page_size: &mut u32,
        number: u32,
        expand: &[&str],
    ) -> Result<UserPage, ApiError> {
        loop {
            let body = json!({
                "pageSize": *page_size,
                "pageNumber": number,
                "query": [{"type": "EXACT", "fields": [field], "values": values}],
                "expand": expand,
            });
            let req = Request::post("/api/v2/users/search", body, Replay::Safe);
            match self.send(req).await {
                Ok(answer) => {
                    let page: SearchPage = answer.json()?;
                    let entities = page.results.len();
                    return Ok(UserPage {
                        users: parse_users(page.results),
                        entities,
                        total: page.total,
                        page_count: page.page_count,
                    });
                }
                Err(e) if e.status() == Some(400) && *page_size / 2 >= MIN_PAGE => {
                    warn!("the user search refused pageSize={page_size} ({e}); halving it");
                    *page_size /= 2;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// One user (`GET /api/v2/users/{id}`); a missing user is `Rejected` with 404.
    pub async fn get_user(&self, id: &str, expand: &[&str]) -> Result<User, ApiError> {
        let mut path = format!("/api/v2/users/{}", encode(id));
        let expand = expand_query(expand);
        if !expand.is_empty() {
            path.push('?');
            path.push_str(&expand);
        }
        self.send(Request::get(path)).await?.json()
    }

    /// `PATCH /api/v2/users/{id}` with an UpdateUser body carrying the version just
    /// read. Guarded: a dropped connection comes back as `Uncertain`, a stale version
    /// as `Conflict`.
    pub async fn patch_user(&self, id: &str, body: &serde_json::Value) -> Result<User, ApiError> {
        let path = format!("/api/v2/users/{}", encode(id));
        self.send(Request::patch(path, body.clone(), Replay::Guarded))
            .await?
            .json()
    }

    /// `PATCH /api/v2/users/bulk`: sets `acdAutoAnswer`, 50 users per request.
    pub async fn patch_users_bulk_acd(&self, items: &[(String, bool)]) -> Result<(), ApiError> {
        for chunk in items.chunks(MAX_ITEMS_PER_BULK) {
            let body: Vec<_> = chunk
                .iter()
                .map(|(id, on)| json!({"id": id, "acdAutoAnswer": on}))
                .collect();
            let req = Request::patch("/api/v2/users/bulk", json!(body), Replay::Safe);
            self.send(req).await?;
        }
        Ok(())
    }

    /// Skills whose name starts with `name` (the API's match is a prefix match, so
    /// the caller compares names exactly). Follows every page.
    pub async fn find_skills(&self, name: &str) -> Result<Vec<RoutingEntity>, ApiError> {
        self.list_all(&format!("/api/v2/routing/skills?name={}", encode(name)))
            .await
    }

    /// Languages whose name starts with `name`; as [`Client::find_skills`].
    pub async fn find_languages(&self, name: &str) -> Result<Vec<RoutingEntity>, ApiError> {
        self.list_all(&format!("/api/v2/routing/languages?name={}", encode(name)))
            .await
    }

    /// Every skill of the org (`GET /api/v2/routing/skills`, every page): the
    /// candidates of a "did you mean" after a name matched nothing.
    pub async fn all_skills(&self) -> Result<Vec<RoutingEntity>, ApiError> {
        self.list_all("/api/v2/routing/skills?").await
    }

    /// Every language of the org; as [`Client::all_skills`].
    pub async fn all_languages(&self) -> Result<Vec<RoutingEntity>, ApiError> {
        self.list_all("/api/v2/routing/languages?").await
    }

    /// A user's skills (`GET /api/v2/users/{id}/routingskills`), every page.
    pub async fn get_user_skills(&self, user_id: &str) -> Result<Vec<UserRoutingSkill>, ApiError> {
        self.list_all(&format!("/api/v2/users/{}/routingskills?", encode(user_id)))
            .await
    }

    /// A user's languages (`GET /api/v2/users/{id}/routinglanguages`), every page.
    pub async fn get_user_languages(
        &self,
        user_id: &str,
    ) -> Result<Vec<UserRoutingLanguage>, ApiError> {
        self.list_all(&format!(
            "/api/v2/users/{}/routinglanguages?",
            encode(user_id)
        ))
        .await
    }

    /// Add or update skills (`PATCH .../routingskills/bulk`), 50 per request. Returns
    /// the user's skills as the last answer listed them, when it listed them.
    pub async fn patch_user_skills(
        &self,
        user_id: &str,
        skills: &[ProficiencyUpdate],
    ) -> Result<Option<Vec<UserRoutingSkill>>, ApiError> {
        self.patch_proficiencies(user_id, "routingskills", skills)
            .await
    }

    /// Add or update languages (`PATCH .../routinglanguages/bulk`), 50 per request;
    /// returns the languages the last answer listed, as for skills.
    pub async fn patch_user_languages(
        &self,
        user_id: &str,
        languages: &[ProficiencyUpdate],
    ) -> Result<Option<Vec<UserRoutingLanguage>>, ApiError> {
        self.patch_proficiencies(user_id, "routinglanguages", languages)
            .await
    }

    /// Remove one skill from a user; one that is already gone (404) counts as removed.
    pub async fn delete_user_skill(&self, user_id: &str, skill_id: &str) -> Result<(), ApiError> {
        self.delete_gone_ok(format!(
            "/api/v2/users/{}/routingskills/{}",
            encode(user_id),
            encode(skill_id)
        ))
        .await
    }

    /// Remove one language from a user; 404 counts as removed.
    pub async fn delete_user_language(
        &self,
        user_id: &str,
        language_id: &str,
    ) -> Result<(), ApiError> {
        self.delete_gone_ok(format!(
            "/api/v2/users/{}/routinglanguages/{}",
            encode(user_id),
            encode(language_id)
        ))
        .await
    }

    /// The org the token belongs to (`GET /api/v2/organizations/me`). Its permission
    /// is not documented: callers treat any error as "name unknown".
    pub async fn organization(&self) -> Result<Organization, ApiError> {
        self.send(Request::get("/api/v2/organizations/me"))
            .await?
            .json()
    }

    /// The org's limits in one namespace
    /// (`GET /api/v2/organizations/limits/namespaces/{namespace}`).
    pub async fn limits(&self, namespace: &str) -> Result<LimitsResponse, ApiError> {
        let path = format!(
            "/api/v2/organizations/limits/namespaces/{}",
            encode(namespace)
        );
        self.send(Request::get(path)).await?.json()
    }

    /// The tightest of the token limit and the user-endpoint limit the org reports;
    /// 300/min when the limits cannot be read (missing permission, old org...).
    pub(super) async fn read_limits(&self) -> Result<f64, ApiError> {
        let mut found: Option<f64> = None;
        for (namespace, key) in [
            ("platform.api", TOKEN_RATE_KEY),
            ("directory", USER_RATE_KEY),
        ] {
            match self.limits(namespace).await {
                Ok(l) => {
                    let value = l
                        .entities
                        .iter()
                        .find(|e| e.key == key)
                        .map(|e| e.value)
                        .filter(|v| *v > 0.0);
                    if let Some(v) = value {
                        info!(namespace, key, value = v, "org rate limit");
                        found = Some(found.map_or(v, |f: f64| f.min(v)));
                    } else if key == TOKEN_RATE_KEY {
                        warn!(
                            "the org's limits do not include {key}; assuming {DEFAULT_RATE_PER_MINUTE}/min"
                        );
                    }
                }
                Err(
                    e @ ApiError::Fatal(
                        Fatal::TokenRejected { .. }
                        | Fatal::Unreachable { .. }
                        | Fatal::Network { .. },
                    ),
                ) => {
                    return Err(e);
                }
                Err(e) if key == TOKEN_RATE_KEY => {
                    warn!(error = %e, "could not read the org's rate limits; assuming {DEFAULT_RATE_PER_MINUTE}/min");
                }
                Err(_) => {}
            }
        }
        Ok(found.unwrap_or(DEFAULT_RATE_PER_MINUTE))
    }

    async fn patch_proficiencies(
        &self,
        user_id: &str,
        kind: &str,
        items: &[ProficiencyUpdate],
    ) -> Result<Option<Vec<UserRoutingSkill>>, ApiError> {
        let path = format!("/api/v2/users/{}/{kind}/bulk", encode(user_id));
        let mut listed = None;
        for chunk in items.chunks(MAX_ITEMS_PER_BULK) {
            let answer = self
                .send(Request::patch(path.clone(), json!(chunk), Replay::Safe))
                .await?;
            // The answer is documented as the user's list (UserSkillEntityListing);
            // an answer without one confirms nothing and is not an error.
            listed = answer
                .json::<Page<UserRoutingSkill>>()
                .ok()
                .map(|p| p.entities);
        }
        Ok(listed)
    }

    pub(super) async fn delete_gone_ok(&self, path: String) -> Result<(), ApiError> {
        match self.send(Request::delete(path)).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Every entity of a paged listing. `base` ends with `?` or carries a query.
    pub(super) async fn list_all<T: serde::de::DeserializeOwned>(
        &self,
        base: &str,
    ) -> Result<Vec<T>, ApiError> {
        let sep = if base.ends_with('?') { "" } else { "&" };
        let mut all = Vec::new();
        for number in 1..=MAX_PAGES {
            let path = format!("{base}{sep}pageSize=100&pageNumber={number}");
            let page: Page<T> = self.send(Request::get(path)).await?.json()?;
            // Without a pageCount, a short page is the last one.
            let done = page.entities.is_empty()
                || (page.page_count > 0 && number >= page.page_count)
                || (page.page_count == 0 && page.entities.len() < 100);
            all.extend(page.entities);
            if done {
                break;
            }
        }
        Ok(all)
    }
}

/// A user search answer (`{total, pageCount, pageNumber, results}`).
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct SearchPage {
    #[serde(default)]
    results: Vec<serde_json::Value>,
    #[serde(default)]
    total: u64,
    #[serde(default)]
    page_count: u32,
}

/// Users parsed one by one: a malformed entity is skipped with a warning (the
/// caller reads that user on its own when it needs it), not the whole page.
fn parse_users(entities: Vec<serde_json::Value>) -> Vec<User> {
    entities
        .into_iter()
        .filter_map(|entity| match serde_json::from_value::<User>(entity) {
            Ok(user) => Some(user),
            Err(e) => {
                warn!("a user in a listing has an unexpected shape ({e}); skipped");
                None
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_keeps_unreserved_and_escapes_the_rest() {
        let table = [
            ("abc-DEF_1.2~", "abc-DEF_1.2~"),
            ("a b", "a%20b"),
            ("x&id=y", "x%26id%3Dy"),
            ("../admin", "..%2Fadmin"),
            ("Français", "Fran%C3%A7ais"),
            ("a+b?c#d", "a%2Bb%3Fc%23d"),
            ("100%", "100%25"),
            ("\u{1b}\r\n", "%1B%0D%0A"),
        ];
        for (raw, want) in table {
            assert_eq!(encode(raw), want);
        }
    }

    #[test]
    fn expand_is_a_comma_list_of_encoded_names() {
        assert_eq!(
            expand_query(&["skills", "languages", "employerInfo"]),
            "expand=skills,languages,employerInfo"
        );
        assert_eq!(expand_query(&[]), "");
    }
}
