//! Role grants and the division and role directories
//! (`/api/v2/authorization/...`): one method per endpoint, no retries inside but the
//! one the API calls for: a `bulkadd` answered 404 is sent again a few times, because
//! a role or division just created may not have reached the authorization cache yet
//! (Terraform does the same).
//!
//! Removal is one `DELETE` per grant, never `bulkremove`: that fails whole when one
//! grant's role or division no longer exists, and a grant already gone (404) is
//! simply removed. `bulkreplace` is not used either: it needs grant:add *and*
//! grant:delete for every replace, even one that only adds, and it fails whole.

use std::time::Duration;

use serde::Deserialize;
use serde_json::json;

use super::api::encode;
use super::{ApiError, Client, Replay, Request};

/// An entity reference as the authorization API returns it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct NamedRef {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
}

/// One grant on a subject (`AuthzGrant`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthzGrant {
    /// The user's id for a direct grant; a group's id for an inherited one.
    pub subject_id: String,
    pub division: NamedRef,
    pub role: NamedRef,
}

/// `GET /api/v2/authorization/subjects/{id}` (`AuthzSubject`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct AuthzSubject {
    #[serde(default)]
    pub grants: Vec<AuthzGrant>,
}

/// Times a `bulkadd` answered 404 is sent again.
pub const GRANT_404_RETRIES: u32 = 3;

/// The pause before sending a `bulkadd` again after its `attempt`-th 404 (1-based),
/// or `None` when the 404 stands: 1 s, 2 s, 4 s.
pub fn grant_404_pause(attempt: u32) -> Option<Duration> {
    (attempt <= GRANT_404_RETRIES).then(|| Duration::from_secs(1 << (attempt - 1).min(4)))
}

impl Client {
    /// The org's home division (`GET /api/v2/authorization/divisions/home`).
    pub async fn home_division(&self) -> Result<NamedRef, ApiError> {
        self.send(Request::get("/api/v2/authorization/divisions/home"))
            .await?
            .json()
    }

    /// Divisions the name filter matches (`GET /api/v2/authorization/divisions?name=`):
    /// not an exact match, so the caller compares names exactly.
    pub async fn find_divisions(&self, name: &str) -> Result<Vec<NamedRef>, ApiError> {
        self.list_all(&format!(
            "/api/v2/authorization/divisions?name={}",
            encode(name)
        ))
        .await
    }

    /// Roles the name filter matches (`GET /api/v2/authorization/roles?name=`): not an
    /// exact match either.
    pub async fn find_roles(&self, name: &str) -> Result<Vec<NamedRef>, ApiError> {
        self.list_all(&format!(
            "/api/v2/authorization/roles?name={}",
            encode(name)
        ))
        .await
    }

    /// A user's grants, direct and inherited
    /// (`GET /api/v2/authorization/subjects/{id}?includeDuplicates=true`).
    pub async fn subject_grants(&self, user_id: &str) -> Result<Vec<AuthzGrant>, ApiError> {
        let path = format!(
            "/api/v2/authorization/subjects/{}?includeDuplicates=true",
            encode(user_id)
        );
        Ok(self
            .send(Request::get(path))
            .await?
            .json::<AuthzSubject>()?
            .grants)
    }

    /// Grant `(role id, division id)` pairs to a user in one call
    /// (`POST .../subjects/{id}/bulkadd?subjectType=PC_USER`); adding a grant twice
    /// leaves the same state, so it is safe to replay. A 404 is sent again
    /// [`GRANT_404_RETRIES`] times (see the module docs). Returns the HTTP attempts.
    pub async fn add_grants(
        &self,
        user_id: &str,
        grants: &[(String, String)],
    ) -> Result<u32, ApiError> {
        let path = format!(
            "/api/v2/authorization/subjects/{}/bulkadd?subjectType=PC_USER",
            encode(user_id)
        );
        let body = json!({
            "grants": grants
                .iter()
                .map(|(role, division)| json!({"roleId": role, "divisionId": division}))
                .collect::<Vec<_>>()
        });
        let mut attempts = 0;
        let mut not_found = 0;
        loop {
            match self
                .send(Request::post(path.clone(), body.clone(), Replay::Safe))
                .await
            {
                Ok(r) => return Ok(attempts + r.attempts),
                Err(e) if e.is_not_found() => {
                    attempts += e.attempts();
                    not_found += 1;
                    let Some(pause) = grant_404_pause(not_found) else {
                        return Err(e);
                    };
                    tokio::select! {
                        biased;
                        () = self.cancel_token().cancelled() => return Err(e),
                        () = tokio::time::sleep(pause) => {}
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Remove one grant
    /// (`DELETE .../subjects/{id}/divisions/{divisionId}/roles/{roleId}`); a grant
    /// already gone (404) counts as removed.
    pub async fn delete_grant(
        &self,
        user_id: &str,
        division_id: &str,
        role_id: &str,
    ) -> Result<(), ApiError> {
        self.delete_gone_ok(format!(
            "/api/v2/authorization/subjects/{}/divisions/{}/roles/{}",
            encode(user_id),
            encode(division_id),
            encode(role_id)
        ))
        .await
    }

    /// Move users into a division
    /// (`POST /api/v2/authorization/divisions/{id}/objects/USER`, a JSON array of ids).
    /// Moving a user where it already is leaves the same state: safe to replay.
    pub async fn move_users(&self, division_id: &str, user_ids: &[String]) -> Result<(), ApiError> {
        let path = format!(
            "/api/v2/authorization/divisions/{}/objects/USER",
            encode(division_id)
        );
        self.send(Request::post(path, json!(user_ids), Replay::Safe))
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bulkadd_404_is_retried_three_times_with_growing_pauses() {
        let table = [
            (1, Some(1)),
            (2, Some(2)),
            (3, Some(4)),
            (4, None),
            (100, None),
        ];
        for (attempt, secs) in table {
            assert_eq!(
                grant_404_pause(attempt),
                secs.map(Duration::from_secs),
                "{attempt}"
            );
        }
    }

    #[test]
    fn the_subject_fixture_parses_with_direct_and_inherited_grants() {
        let text = include_str!("../../fixtures/genesys/subject-grants.json");
        let subject: AuthzSubject = serde_json::from_str(text).unwrap();
        let user = "6a1d7c0e-3f4b-4e2a-9c61-2b8f0d9e4a17";
        let direct: Vec<_> = subject
            .grants
            .iter()
            .filter(|g| g.subject_id == user)
            .map(|g| g.role.name.as_deref())
            .collect();
        assert_eq!(direct, vec![Some("Customer Care Agent")]);
        assert_eq!(subject.grants.len(), 2);
    }
}
