//! Roles and grants: `GET /api/v2/authorization/roles` (`name` is a substring
//! match, not exact: `Admin` finds `Admin` and `Admin Lite`),
//! `GET /api/v2/authorization/subjects/{subjectId}` (direct and inherited grants;
//! an inherited grant carries the group's id as `subjectId`), and the writes
//! `bulkadd`, `bulkremove`, `bulkreplace` and the one-grant `DELETE`, all
//! answering 204 with no body.
//!
//! `bulkremove` fails whole (404) when any grant names a role or division that
//! does not exist (the documented trap); `bulkadd` and `bulkreplace` answer 404
//! for one too. `divisionId: "*"` is all divisions. Writes for a subject or a
//! grant outside the client's divisions answer 403 naming
//! `authorization:grant:add` or `authorization:grant:delete`.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::org::{Grant, GrantDivision, substring_matches};
use super::query::{self, page_range};
use super::server::{Shared, lock};
use super::state::Store;
use super::wire::{ApiError, Listing};

pub const GRANT_ADD: &str = "authorization:grant:add";
pub const GRANT_DELETE: &str = "authorization:grant:delete";

/// A subject of grants: a user (store index) or a group (org index).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Subject {
    User(u32),
    Group(usize),
}

/// Every grant user `u` holds: direct ones under the user's id, then those of
/// each group the user is in, under the group's id.
pub fn effective_grants(store: &Store, u: u32) -> Vec<(String, Grant)> {
    let me = store.id_string(u as usize);
    let mut out: Vec<(String, Grant)> = store
        .org
        .grants_of_user(u)
        .into_iter()
        .map(|g| (me.clone(), g))
        .collect();
    for g in store.org.groups_of(u) {
        let id = &store.org.groups[g].id;
        for grant in &store.org.group_grants[g] {
            out.push((id.clone(), grant.clone()));
        }
    }
    out
}

fn role_json(store: &Store, r: usize) -> Value {
    let role = &store.org.roles[r];
    json!({
        "id": role.id,
        "name": role.name,
        "description": role.description,
        "default": false,
        "selfUri": format!("/api/v2/authorization/roles/{}", role.id),
    })
}

/// A division as the authorization endpoints show it.
pub fn division_entity(store: &Store, d: GrantDivision) -> Value {
    match d {
        GrantDivision::One(d) => {
            let div = &store.catalogue.divisions[d];
            json!({
                "id": div.id,
                "name": div.name,
                "description": format!("The {} division", div.name),
                "homeDivision": d == crate::seed::HOME,
                "selfUri": format!("/api/v2/authorization/divisions/{}", div.id),
            })
        }
        GrantDivision::All => json!({
            "id": "*",
            "name": "All divisions",
            "description": "Every division, present and future",
            "homeDivision": false,
            "selfUri": "/api/v2/authorization/divisions/*",
        }),
    }
}

pub async fn roles(State(sh): State<Arc<Shared>>, uri: Uri) -> Result<Response, ApiError> {
    let p = query::list_params(&query::pairs(&uri)).map_err(ApiError::bad_request)?;
    let store = lock(&sh.store);
    let found: Vec<Value> = (0..store.org.roles.len())
        .filter(|&r| {
            let role = &store.org.roles[r];
            p.name
                .as_deref()
                .is_none_or(|n| substring_matches(n, &role.name))
                && (p.ids.is_empty() || p.ids.contains(&role.id))
        })
        .map(|r| role_json(&store, r))
        .collect();
    drop(store);
    let total = found.len();
    let page = found[page_range(total, p.page_size, p.page_number)].to_vec();
    let base = "/api/v2/authorization/roles";
    Ok(Json(Listing::new(page, total, p.page_size, p.page_number, base)).into_response())
}

fn subject_not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("The subject {id} could not be found."))
}

/// A subject by id: a live user or a group. `kind` narrows it (`PC_USER`,
/// `PC_GROUP`); `None` accepts either.
fn subject(store: &Store, id: &str, kind: Option<&str>) -> Result<Subject, ApiError> {
    let user = || {
        store
            .lookup(id)
            .filter(|&i| store.state_of(i) != "deleted")
            .map(|i| Subject::User(i as u32))
    };
    let group = || {
        store
            .org
            .groups
            .iter()
            .position(|g| g.id.eq_ignore_ascii_case(id))
            .map(Subject::Group)
    };
    let found = match kind {
        Some("PC_USER") => user(),
        Some("PC_GROUP") => group(),
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "subjectType must be PC_USER or PC_GROUP in the sandbox, got '{other}'"
            )));
        }
        None => user().or_else(group),
    };
    found.ok_or_else(|| subject_not_found(id))
}

fn subject_id(store: &Store, s: Subject) -> String {
    match s {
        Subject::User(u) => store.id_string(u as usize),
        Subject::Group(g) => store.org.groups[g].id.clone(),
    }
}

fn grants_of(store: &Store, s: Subject) -> Vec<Grant> {
    match s {
        Subject::User(u) => store.org.grants_of_user(u),
        Subject::Group(g) => store.org.group_grants[g].clone(),
    }
}

fn grant_json(store: &Store, subject_id: &str, g: &Grant) -> Value {
    json!({
        "subjectId": subject_id,
        "division": division_entity(store, g.division),
        "role": role_json(store, g.role),
        "grantMadeAt": g.made_at,
    })
}

/// `GET /api/v2/authorization/subjects/{subjectId}`: `includeDuplicates`
/// (default false: an inherited grant of a role and division the subject also
/// holds otherwise is left out).
pub async fn get_subject(
    State(sh): State<Arc<Shared>>,
    Path(id): Path<String>,
    uri: Uri,
) -> Result<Response, ApiError> {
    let duplicates = query::pairs(&uri)
        .iter()
        .any(|(k, v)| k == "includeDuplicates" && v == "true");
    let store = lock(&sh.store);
    let s = subject(&store, &id, None)?;
    let me = subject_id(&store, s);
    let all: Vec<(String, Grant)> = match s {
        Subject::User(u) => effective_grants(&store, u),
        Subject::Group(_) => grants_of(&store, s)
            .into_iter()
            .map(|g| (me.clone(), g))
            .collect(),
    };
    let mut seen: Vec<(usize, GrantDivision)> = Vec::new();
    let mut grants = Vec::new();
    for (sid, g) in &all {
        let key = (g.role, g.division);
        if !duplicates && seen.contains(&key) {
            continue;
        }
        seen.push(key);
        grants.push(grant_json(&store, sid, g));
    }
    let version = store.org.subject_versions.get(&me).copied().unwrap_or(1);
    Ok(Json(json!({
        "id": me,
        "grants": grants,
        "version": version,
        "selfUri": format!("/api/v2/authorization/subjects/{me}"),
    }))
    .into_response())
}

/// Parse `{grants: [{roleId, divisionId}]}` against the org; an unknown role or
/// division is a 404 naming it.
fn parse_grants(store: &Store, body: &[u8]) -> Result<Vec<(usize, GrantDivision)>, ApiError> {
    let body: Value = serde_json::from_slice(body).map_err(|_| ApiError::malformed_body())?;
    let list = body
        .get("grants")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            ApiError::bad_request("grants (an array of {roleId, divisionId}) is required")
        })?;
    let mut out = Vec::with_capacity(list.len());
    for g in list {
        let role_id = g.get("roleId").and_then(Value::as_str).unwrap_or_default();
        let division_id = g
            .get("divisionId")
            .and_then(Value::as_str)
            .unwrap_or_default();
        out.push(resolve_grant(store, role_id, division_id)?);
    }
    Ok(out)
}

fn resolve_grant(
    store: &Store,
    role_id: &str,
    division_id: &str,
) -> Result<(usize, GrantDivision), ApiError> {
    let role = store
        .org
        .roles
        .iter()
        .position(|r| r.id.eq_ignore_ascii_case(role_id))
        .ok_or_else(|| ApiError::not_found(format!("The role {role_id} could not be found.")))?;
    let division = if division_id == "*" {
        GrantDivision::All
    } else {
        GrantDivision::One(
            store
                .catalogue
                .divisions
                .iter()
                .position(|d| d.id.eq_ignore_ascii_case(division_id))
                .ok_or_else(|| {
                    ApiError::not_found(format!("The division {division_id} could not be found."))
                })?,
        )
    };
    Ok((role, division))
}

/// 403 when the subject (a user's or group's division) or a grant's division is
/// outside the client's reach. `*` is not: it is every division, not one.
fn check_writable(
    store: &Store,
    s: Subject,
    grants: &[(usize, GrantDivision)],
    permission: &str,
) -> Result<(), ApiError> {
    let code = &store.quirks().forbidden_code;
    let subject_division = match s {
        Subject::User(u) if store.is_restricted(u as usize) => {
            Some(store.division_name(u as usize))
        }
        Subject::Group(g) => {
            let d = &store.catalogue.divisions[store.org.groups[g].division];
            (!store.catalogue.writable_division(&d.id)).then(|| d.name.clone())
        }
        Subject::User(_) => None,
    };
    if let Some(name) = subject_division {
        return Err(ApiError::forbidden(code, permission, &name));
    }
    for (_, d) in grants {
        if let GrantDivision::One(d) = d {
            let div = &store.catalogue.divisions[*d];
            if !store.catalogue.writable_division(&div.id) {
                return Err(ApiError::forbidden(code, permission, &div.name));
            }
        }
    }
    Ok(())
}

/// Replace a subject's direct grants, bump its version, count the changes.
fn store_grants(sh: &Shared, store: &mut Store, s: Subject, next: Vec<Grant>, changes: u64) {
    if changes == 0 {
        return;
    }
    let id = subject_id(store, s);
    match s {
        Subject::User(u) => {
            store.org.user_grants.insert(u, next);
        }
        Subject::Group(g) => store.org.group_grants[g] = next,
    }
    *store.org.subject_versions.entry(id).or_insert(1) += 1;
    lock(&sh.stats).membership_writes += changes;
}

fn now_stamp() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

fn subject_type(uri: &Uri) -> String {
    query::pairs(uri)
        .into_iter()
        .rev()
        .find(|(k, _)| k == "subjectType")
        .map_or_else(|| "PC_USER".to_string(), |(_, v)| v)
}

/// Which write: add, remove or replace.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Add,
    Remove,
    Replace,
}

/// The direct grants after `op`, and how many grants changed.
fn plan_grants(current: &[Grant], wanted: &[(usize, GrantDivision)], op: Op) -> (Vec<Grant>, u64) {
    let named = |g: &Grant| wanted.iter().any(|&(r, d)| g.role == r && g.division == d);
    let mut next: Vec<Grant> = match op {
        Op::Add => current.to_vec(),
        // Remove keeps what is not named; replace keeps what is.
        Op::Remove => current.iter().filter(|g| !named(g)).cloned().collect(),
        Op::Replace => current.iter().filter(|g| named(g)).cloned().collect(),
    };
    if op != Op::Remove {
        for &(r, d) in wanted {
            if !next.iter().any(|g| g.role == r && g.division == d) {
                next.push(Grant {
                    role: r,
                    division: d,
                    made_at: now_stamp(),
                });
            }
        }
    }
    let removed = current.iter().filter(|g| !next.contains(g)).count();
    let added = next.iter().filter(|g| !current.contains(g)).count();
    (next, (removed + added) as u64)
}

fn write(sh: &Shared, id: &str, uri: &Uri, body: &[u8], op: Op) -> Result<Response, ApiError> {
    let mut store = lock(&sh.store);
    let kind = (op != Op::Remove).then(|| subject_type(uri));
    let s = subject(&store, id, kind.as_deref())?;
    let wanted = parse_grants(&store, body)?;
    let current = grants_of(&store, s);
    let (next, changes) = plan_grants(&current, &wanted, op);
    let removed: Vec<(usize, GrantDivision)> = current
        .iter()
        .filter(|g| !next.contains(g))
        .map(|g| (g.role, g.division))
        .collect();
    match op {
        Op::Add => check_writable(&store, s, &wanted, GRANT_ADD)?,
        Op::Remove => check_writable(&store, s, &wanted, GRANT_DELETE)?,
        Op::Replace => {
            check_writable(&store, s, &wanted, GRANT_ADD)?;
            check_writable(&store, s, &removed, GRANT_DELETE)?;
        }
    }
    store_grants(sh, &mut store, s, next, changes);
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub async fn bulkadd(
    State(sh): State<Arc<Shared>>,
    Path(id): Path<String>,
    uri: Uri,
    body: Bytes,
) -> Result<Response, ApiError> {
    write(&sh, &id, &uri, &body, Op::Add)
}

pub async fn bulkremove(
    State(sh): State<Arc<Shared>>,
    Path(id): Path<String>,
    uri: Uri,
    body: Bytes,
) -> Result<Response, ApiError> {
    write(&sh, &id, &uri, &body, Op::Remove)
}

pub async fn bulkreplace(
    State(sh): State<Arc<Shared>>,
    Path(id): Path<String>,
    uri: Uri,
    body: Bytes,
) -> Result<Response, ApiError> {
    write(&sh, &id, &uri, &body, Op::Replace)
}

/// `DELETE .../subjects/{id}/divisions/{divisionId}/roles/{roleId}`: 204 whether
/// or not the grant was held; 404 for an unknown subject, role or division.
pub async fn delete_grant(
    State(sh): State<Arc<Shared>>,
    Path((id, division_id, role_id)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let mut store = lock(&sh.store);
    let s = subject(&store, &id, None)?;
    let grant = resolve_grant(&store, &role_id, &division_id)?;
    check_writable(&store, s, &[grant], GRANT_DELETE)?;
    let current = grants_of(&store, s);
    let (next, changes) = plan_grants(&current, &[grant], Op::Remove);
    store_grants(&sh, &mut store, s, next, changes);
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(role: usize, d: usize) -> Grant {
        Grant {
            role,
            division: GrantDivision::One(d),
            made_at: "t".into(),
        }
    }

    fn pairs(list: &[Grant]) -> Vec<(usize, GrantDivision)> {
        list.iter().map(|g| (g.role, g.division)).collect()
    }

    #[test]
    fn grant_writes_are_planned() {
        let current = vec![g(0, 0), g(1, 0)];
        let one = |r, d| (r, GrantDivision::One(d));
        // (op, wanted) -> (resulting grants, changes)
        let table = [
            (Op::Add, vec![one(1, 0)], vec![one(0, 0), one(1, 0)], 0),
            (
                Op::Add,
                vec![one(2, 2), one(2, 2)],
                vec![one(0, 0), one(1, 0), one(2, 2)],
                1,
            ),
            (
                Op::Add,
                vec![(3, GrantDivision::All)],
                vec![one(0, 0), one(1, 0), (3, GrantDivision::All)],
                1,
            ),
            (Op::Remove, vec![one(1, 0), one(4, 0)], vec![one(0, 0)], 1),
            (
                Op::Replace,
                vec![one(1, 0), one(2, 0)],
                vec![one(1, 0), one(2, 0)],
                2,
            ),
            (Op::Replace, vec![], vec![], 2),
        ];
        for (op, wanted, want, changes) in table {
            let (next, n) = plan_grants(&current, &wanted, op);
            assert_eq!((pairs(&next), n), (want.clone(), changes), "{wanted:?}");
        }
        // A grant kept by a replace keeps its grantMadeAt.
        let (next, _) = plan_grants(&current, &[one(1, 0)], Op::Replace);
        assert_eq!(next[0].made_at, "t");
    }
}
