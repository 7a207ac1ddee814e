//! The cmdlets the tenant answers, and how one `InvokeCommand` runs: find the cmdlet (names
//! without regard to case), bind its parameters, run it against the state (changes saved before
//! the answer), project `$select`, cut the output into pages.

pub mod cas_mailbox;
pub mod mobile_policy;
pub mod params;
pub mod recipients;
pub mod smime_config;

use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::store::{Change, Store, StoreError, View};
use crate::wire::{ExoError, SkipToken};
use params::{BoundParameters, ParamSpec};

/// The domain controller named in "couldn't be found on '...'" texts. Exchange Online names a
/// real DC of the tenant's forest there; this one says it is a mock.
pub const DOMAIN_CONTROLLER: &str = "MOCKPR01A001DC001.MOCKPR01A001.PROD.OUTLOOK.COM";

/// What a cmdlet needs to know besides the state and its parameters.
#[derive(Debug, Clone)]
pub struct TenantContext {
    pub tenant: String,
    pub now: OffsetDateTime,
    /// Refuse malformed `OWA*Algorithms` strings instead of warning (not Exchange's behaviour).
    pub strict_algorithms: bool,
}

/// A cmdlet's output: the objects it wrote to the pipeline and its warnings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CmdletOutput {
    pub values: Vec<Value>,
    pub warnings: Vec<String>,
    /// `Some(total)` when the cmdlet cut the page itself: `values` are then the objects of the
    /// requested [`Window`] out of `total`. A cmdlet over many recipients pages in the store
    /// so that a page of 1,000 out of 100,000 loads 1,000 rows.
    pub paged_total: Option<usize>,
}

/// The page a request asks for: objects `offset..offset + size` of the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub offset: usize,
    pub size: usize,
}

pub type ReadFn =
    fn(&TenantContext, &View<'_>, &BoundParameters, Window) -> Result<CmdletOutput, ExoError>;
pub type WriteFn =
    fn(&TenantContext, &mut Change<'_>, &BoundParameters) -> Result<CmdletOutput, ExoError>;

/// Whether a cmdlet only reads (and may be paged) or changes the tenant.
#[derive(Clone, Copy)]
pub enum Run {
    Read(ReadFn),
    Write(WriteFn),
}

/// One cmdlet.
pub struct Cmdlet {
    pub name: &'static str,
    pub params: &'static [ParamSpec],
    /// Parameters the real cmdlet has that the mock refuses as "not modelled".
    pub not_modelled: &'static [&'static str],
    pub run: Run,
}

/// Every cmdlet the tenant answers.
pub fn all() -> [&'static Cmdlet; 11] {
    [
        &smime_config::GET,
        &smime_config::SET,
        &mobile_policy::GET,
        &mobile_policy::NEW,
        &mobile_policy::SET,
        &mobile_policy::REMOVE,
        &recipients::GET_MAILBOX,
        &recipients::GET_RECIPIENT,
        &recipients::SET_MAILBOX,
        &cas_mailbox::GET,
        &cas_mailbox::SET,
    ]
}

pub fn find(name: &str) -> Option<&'static Cmdlet> {
    all()
        .into_iter()
        .find(|c| c.name.eq_ignore_ascii_case(name.trim()))
}

impl From<StoreError> for ExoError {
    fn from(e: StoreError) -> Self {
        ExoError::Internal(e.to_string())
    }
}

/// One request: a first page (`offset` 0) or a page reached through `$skiptoken`.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub cmdlet: String,
    pub parameters: Map<String, Value>,
    pub select: Option<Vec<String>>,
    pub offset: usize,
    pub page_size: usize,
    /// When the first page was asked for (tenant clock, unix seconds).
    pub issued: i64,
}

/// A page of output, and the token of the next page.
#[derive(Debug, Clone, PartialEq)]
pub struct PageOutput {
    pub values: Vec<Value>,
    pub warnings: Vec<String>,
    pub next: Option<SkipToken>,
}

/// Runs an invocation.
pub fn invoke(
    store: &Store,
    ctx: &TenantContext,
    invocation: &Invocation,
) -> Result<PageOutput, ExoError> {
    let cmdlet = find(&invocation.cmdlet)
        .ok_or_else(|| ExoError::UnknownCmdlet(invocation.cmdlet.clone()))?;
    let bound = params::bind(
        cmdlet.name,
        cmdlet.params,
        cmdlet.not_modelled,
        &invocation.parameters,
    )?;
    let page_size = invocation.page_size.max(1);
    let window = Window {
        offset: invocation.offset,
        size: page_size,
    };
    let output = match cmdlet.run {
        Run::Read(run) => store.read(|data| run(ctx, data, &bound, window))?,
        Run::Write(run) => {
            if invocation.offset != 0 {
                // A link to "the next page" of a change would apply the change again.
                return Err(ExoError::InvalidPagination);
            }
            if bound.switch("WhatIf") {
                // -WhatIf describes the change on the host and changes nothing.
                store.dry_run(|data| run(ctx, data, &bound))?;
                CmdletOutput::default()
            } else {
                store.update(|data| run(ctx, data, &bound))?
            }
        }
    };

    let (mut page, total, start) = match output.paged_total {
        Some(total) => (output.values, total, invocation.offset.min(total)),
        None => {
            let mut values = output.values;
            let total = values.len();
            let start = invocation.offset.min(total);
            let end = start.saturating_add(page_size).min(total);
            values.truncate(end);
            values.drain(..start);
            (values, total, start)
        }
    };
    if let Some(select) = &invocation.select {
        page = page.into_iter().map(|v| project(v, select)).collect();
    }
    let end = start.saturating_add(page.len());
    // An empty page ends the result too, so a next link can never point at the same page.
    let is_last = end >= total || page.is_empty();
    let next = (!is_last && matches!(cmdlet.run, Run::Read(_))).then(|| SkipToken {
        cmdlet: cmdlet.name.to_owned(),
        parameters: invocation.parameters.clone(),
        select: invocation.select.clone(),
        offset: end,
        page_size,
        issued: invocation.issued,
    });
    Ok(PageOutput {
        values: page,
        // Warnings describe the whole result, so they come with its last page.
        warnings: if is_last { output.warnings } else { Vec::new() },
        next,
    })
}

/// Keeps the `$select`ed properties (and their `@odata.type` / `@data.type` annotations).
fn project(value: Value, select: &[String]) -> Value {
    let Value::Object(map) = value else {
        return value;
    };
    let keep = |key: &str| {
        let base = key.split('@').next().unwrap_or(key);
        select.iter().any(|s| s.eq_ignore_ascii_case(base))
    };
    Value::Object(map.into_iter().filter(|(k, _)| keep(k)).collect())
}

/// Record-building helpers: the annotations the admin API puts beside typed values.
pub mod record {
    use serde_json::{Map, Value, json};
    use time::OffsetDateTime;

    /// A multi-valued property, with `"Name@odata.type":"#Collection(String)"` as on the wire.
    pub fn collection(map: &mut Map<String, Value>, name: &str, values: Vec<Value>) {
        map.insert(format!("{name}@odata.type"), json!("#Collection(String)"));
        map.insert(name.to_owned(), Value::Array(values));
    }

    /// A `System.DateTime`, with `"Name@data.type":"System.DateTime"`.
    pub fn datetime(map: &mut Map<String, Value>, name: &str, at: Option<OffsetDateTime>) {
        match at {
            Some(at) => {
                map.insert(format!("{name}@data.type"), json!("System.DateTime"));
                map.insert(
                    name.to_owned(),
                    Value::String(crate::clock::dotnet_datetime(at)),
                );
            }
            None => {
                map.insert(name.to_owned(), Value::Null);
            }
        }
    }

    /// A `System.Guid`.
    pub fn guid(map: &mut Map<String, Value>, name: &str, guid: &str) {
        map.insert(format!("{name}@data.type"), json!("System.Guid"));
        map.insert(format!("{name}@odata.type"), json!("#Guid"));
        map.insert(name.to_owned(), json!(guid));
    }
}

/// Matches an identity against candidate strings without regard to case, with `*` wildcards as
/// Exchange's identity parameters accept them.
pub fn identity_matches(pattern: &str, candidates: &[&str]) -> bool {
    let pattern = pattern.trim();
    candidates.iter().any(|c| wildcard(pattern, c))
}

fn wildcard(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.to_lowercase().chars().collect();
    let text: Vec<char> = text.to_lowercase().chars().collect();
    // Iterative glob with backtracking on the last '*': linear in practice, no recursion.
    let (mut p, mut t) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, t));
                p = p.saturating_add(1);
            }
            Some(c) if Some(c) == text.get(t) => {
                p = p.saturating_add(1);
                t = t.saturating_add(1);
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp.saturating_add(1);
                    t = st.saturating_add(1);
                    star = Some((sp, t));
                }
                None => return false,
            },
        }
    }
    pattern
        .get(p..)
        .is_some_and(|rest| rest.iter().all(|c| *c == '*'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(identity_matches("alice", &["Alice"]));
        assert!(identity_matches("al*", &["x", "alice@contoso.com"]));
        assert!(identity_matches("*@contoso.com", &["bob@contoso.com"]));
        assert!(identity_matches("*", &["anything"]));
        assert!(!identity_matches("al*x", &["alice"]));
        assert!(!identity_matches("bob", &["bobby"]));
    }

    #[test]
    fn every_cmdlet_name_is_unique_and_found() {
        let names: Vec<&str> = all().iter().map(|c| c.name).collect();
        for name in &names {
            assert_eq!(find(&name.to_lowercase()).map(|c| c.name), Some(*name));
            assert_eq!(names.iter().filter(|n| *n == name).count(), 1);
        }
        assert!(find("Get-Nothing").is_none());
    }
}
