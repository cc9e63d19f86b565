//! Query strings as Genesys reads them: repeated keys (`id=a&id=b`), comma lists
//! (`expand=skills,languages`), and paging with Genesys' bounds. axum's `Query<T>`
//! cannot collect repeated keys into a struct, so the pairs are taken raw and
//! interpreted here, as pure functions.

use axum::extract::Query;
use axum::http::Uri;

/// Every `key=value` pair of the query string, decoded, in order.
pub fn pairs(uri: &Uri) -> Vec<(String, String)> {
    Query::<Vec<(String, String)>>::try_from_uri(uri)
        .map(|q| q.0)
        .unwrap_or_default()
}

/// What `expand` asked for; only these change what the sandbox returns.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Expand {
    pub skills: bool,
    pub languages: bool,
    pub employer_info: bool,
    /// The user's `locations` (stored always, shown only when asked for).
    pub locations: bool,
    /// The user's groups, `[{id, selfUri}]`.
    pub groups: bool,
}

impl Expand {
    pub const ALL: Expand = Expand {
        skills: true,
        languages: true,
        employer_info: true,
        locations: true,
        groups: true,
    };

    /// Set what one `expand` value asks for; unknown values are ignored.
    pub fn ask(&mut self, value: &str) {
        match value {
            "skills" => self.skills = true,
            "languages" => self.languages = true,
            "employerInfo" => self.employer_info = true,
            "locations" => self.locations = true,
            "groups" => self.groups = true,
            _ => {}
        }
    }
}

/// The `state` filter of the user listing (Genesys' default is `active`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StateFilter {
    Active,
    Inactive,
    Deleted,
    Any,
}

impl StateFilter {
    pub fn admits(self, state: &str) -> bool {
        match self {
            StateFilter::Any => true,
            StateFilter::Active => state == "active",
            StateFilter::Inactive => state == "inactive",
            StateFilter::Deleted => state == "deleted",
        }
    }
}

/// The parameters of a Genesys listing call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListParams {
    pub page_size: u32,
    pub page_number: u32,
    /// Repeated `id` (the bulk read), in request order, duplicates removed.
    pub ids: Vec<String>,
    pub expand: Expand,
    /// `name` (routing listings: a case-insensitive prefix).
    pub name: Option<String>,
    pub state: StateFilter,
}

pub const DEFAULT_PAGE_SIZE: u32 = 25;
pub const MAX_PAGE_SIZE: u32 = 500;

/// Interpret listing parameters. Unknown keys and unknown `expand` values are
/// ignored, as Genesys ignores them; malformed paging is a 400 (the `Err` message).
pub fn list_params(pairs: &[(String, String)]) -> Result<ListParams, String> {
    let mut p = ListParams {
        page_size: DEFAULT_PAGE_SIZE,
        page_number: 1,
        ids: Vec::new(),
        expand: Expand::default(),
        name: None,
        state: StateFilter::Active,
    };
    for (key, value) in pairs {
        match key.as_str() {
            "pageSize" => {
                p.page_size = parse_int(key, value)?;
                if p.page_size == 0 || p.page_size > MAX_PAGE_SIZE {
                    return Err(format!(
                        "pageSize must be between 1 and {MAX_PAGE_SIZE}, got {value}"
                    ));
                }
            }
            "pageNumber" => {
                p.page_number = parse_int(key, value)?;
                if p.page_number == 0 {
                    return Err("pageNumber must be at least 1".into());
                }
            }
            "id" => {
                for id in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                    if !p.ids.iter().any(|seen| seen == id) {
                        p.ids.push(id.to_string());
                    }
                }
            }
            "expand" => {
                for e in value.split(',').map(str::trim) {
                    p.expand.ask(e);
                }
            }
            "name" => p.name = Some(value.clone()),
            "state" => {
                p.state = match value.as_str() {
                    "active" => StateFilter::Active,
                    "inactive" => StateFilter::Inactive,
                    "deleted" => StateFilter::Deleted,
                    "any" => StateFilter::Any,
                    other => {
                        return Err(format!(
                            "state must be one of active, inactive, deleted, any; got '{other}'"
                        ));
                    }
                }
            }
            _ => {}
        }
    }
    Ok(p)
}

fn parse_int(key: &str, value: &str) -> Result<u32, String> {
    value
        .trim()
        .parse()
        .map_err(|_| format!("{key} must be a positive integer, got '{value}'"))
}

/// The slice of `total` items that page `number` of size `size` covers.
pub fn page_range(total: usize, size: u32, number: u32) -> std::ops::Range<usize> {
    let start = (number as usize - 1)
        .saturating_mul(size as usize)
        .min(total);
    let end = start.saturating_add(size as usize).min(total);
    start..end
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(q: &str) -> Result<ListParams, String> {
        let uri: Uri = format!("/api/v2/users?{q}").parse().unwrap();
        list_params(&pairs(&uri))
    }

    #[test]
    fn repeated_ids_are_collected_in_order_without_duplicates() {
        let p = parse("id=a&id=b&id=a&pageSize=100").unwrap();
        assert_eq!(p.ids, ["a", "b"]);
        assert_eq!(p.page_size, 100);
        // Comma lists work too, as the SDKs send them for array parameters.
        assert_eq!(parse("id=a,b&id=c").unwrap().ids, ["a", "b", "c"]);
    }

    #[test]
    fn expand_takes_comma_lists_and_repeats_and_ignores_unknown_values() {
        let p = parse("expand=skills,routingStatus&expand=employerInfo").unwrap();
        assert_eq!(
            p.expand,
            Expand {
                skills: true,
                employer_info: true,
                ..Expand::default()
            }
        );
        assert_eq!(parse("").unwrap().expand, Expand::default());
    }

    #[test]
    fn paging_defaults_and_bounds() {
        let p = parse("").unwrap();
        assert_eq!((p.page_size, p.page_number), (25, 1));
        assert_eq!(p.state, StateFilter::Active);
        assert!(parse("pageSize=501").is_err());
        assert!(parse("pageSize=0").is_err());
        assert!(parse("pageSize=x").is_err());
        assert!(parse("pageNumber=0").is_err());
        assert!(parse("state=gone").is_err());
        assert_eq!(parse("state=any").unwrap().state, StateFilter::Any);
    }

    #[test]
    fn names_are_percent_decoded() {
        let p = parse("name=Technical%20Sup").unwrap();
        assert_eq!(p.name.as_deref(), Some("Technical Sup"));
        assert_eq!(
            parse("name=Spanish+S").unwrap().name.as_deref(),
            Some("Spanish S")
        );
    }

    #[test]
    fn page_ranges_clamp_to_the_total() {
        assert_eq!(page_range(10, 4, 1), 0..4);
        assert_eq!(page_range(10, 4, 3), 8..10);
        assert_eq!(page_range(10, 4, 4), 10..10);
    }
}
