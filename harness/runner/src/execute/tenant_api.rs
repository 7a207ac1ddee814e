//! The mock tenant as the runner talks to it: the admin API exactly as the ExchangeOnlineManagement
//! V3 module calls it (client-credentials token, `POST /adminapi/beta/{tenant}/InvokeCommand`,
//! `@odata.nextLink` pages, EXO error shape), and the lab-only endpoints (`/lab/...`).

use std::time::Duration;

use serde_json::{Value, json};

use lab::TenantEndpoint;

/// The resource whose `/.default` scope the module asks a token for.
const EXCHANGE_SCOPE: &str = "https://outlook.office365.com/.default";
/// More pages than any cmdlet the lab calls can produce: a loop in `@odata.nextLink` ends here.
const MAX_PAGES: usize = 1000;
/// The header the tenant's `/lab` endpoints want the lab secret in.
const LAB_SECRET_HEADER: &str = "X-Lab-Secret";

/// The URL of the next page: the path and query of `link` on `base`, the address the runner
/// reaches the tenant at. The tenant names itself by its public URL, which in the containers
/// runtime is its name on the lab network (`http://tenant`), not the host's mapped port; and
/// the bearer token only ever goes where the runner was pointed, whatever host a link names.
/// `None` for a link to anything but this tenant's InvokeCommand.
fn next_page_url(base: &str, tenant: &str, link: &str) -> Option<String> {
    let (_, after_scheme) = link.split_once("://")?;
    let path = &after_scheme[after_scheme.find('/')?..];
    let expected = format!("/adminapi/beta/{tenant}/InvokeCommand?");
    path.starts_with(&expected)
        .then(|| format!("{}{path}", base.trim_end_matches('/')))
}

/// What went wrong talking to the tenant.
#[derive(Debug, thiserror::Error)]
pub enum TenantApiError {
    /// The request did not get an answer (refused, reset, timed out).
    #[error("{what}: the mock tenant at {url} did not answer: {source}")]
    Transport {
        what: String,
        url: String,
        #[source]
        source: reqwest::Error,
    },
    /// The tenant answered with an EXO-shaped error: an outcome a scenario may expect.
    #[error("{cmdlet} failed: {message}")]
    Cmdlet {
        cmdlet: String,
        status: u16,
        /// `error.code`.
        code: String,
        /// `error.message`.
        message: String,
        /// `error.details[].message`, `<ExCode>|<ExceptionType>|<text>`.
        details: Vec<String>,
    },
    /// The answer is not what the wire format says (a bug in the tenant or the runner).
    #[error("{what}: unexpected answer from the mock tenant (HTTP {status}): {body}")]
    Protocol {
        what: String,
        status: u16,
        body: String,
    },
}

/// A session with one tenant: its token is fetched on first use and renewed when refused.
#[derive(Clone, Debug)]
pub struct TenantApi {
    http: reqwest::Client,
    endpoint: TenantEndpoint,
    token: std::sync::Arc<tokio::sync::Mutex<Option<String>>>,
}

impl TenantApi {
    pub fn new(http: reqwest::Client, endpoint: TenantEndpoint) -> Self {
        Self {
            http,
            endpoint,
            token: Default::default(),
        }
    }

    pub fn endpoint(&self) -> &TenantEndpoint {
        &self.endpoint
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    async fn token(&self, renew: bool) -> Result<String, TenantApiError> {
        let mut cached = self.token.lock().await;
        if !renew && let Some(token) = cached.as_ref() {
            return Ok(token.clone());
        }
        let url = format!(
            "{}/{}/oauth2/v2.0/token",
            self.endpoint.url, self.endpoint.tenant
        );
        let response = self
            .http
            .post(&url)
            // A form body, built by hand: reqwest's `form` feature is off in the workspace set.
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(form_body(&[
                ("grant_type", "client_credentials"),
                ("client_id", self.endpoint.client_id.as_str()),
                ("client_secret", self.endpoint.client_secret.as_str()),
                ("scope", EXCHANGE_SCOPE),
            ]))
            .send()
            .await
            .map_err(|source| TenantApiError::Transport {
                what: "token request".into(),
                url: url.clone(),
                source,
            })?;
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        let Some(token) = body["access_token"].as_str().filter(|_| status == 200) else {
            return Err(TenantApiError::Protocol {
                what: "token request with the lab's client credentials".into(),
                status,
                body: body.to_string(),
            });
        };
        *cached = Some(token.to_owned());
        Ok(token.to_owned())
    }

    /// Runs a cmdlet and returns every object of its output (all pages). An EXO error is
    /// [`TenantApiError::Cmdlet`].
    pub async fn invoke(
        &self,
        cmdlet: &str,
        parameters: serde_json::Map<String, Value>,
    ) -> Result<Invoked, TenantApiError> {
        let mut objects = Vec::new();
        let warnings = self
            .invoke_by_page(cmdlet, parameters, |page| {
                objects.extend(page);
                Ok(())
            })
            .await?;
        Ok(Invoked { objects, warnings })
    }

    /// [`Self::invoke`], handing each page's objects to `on_page` as it arrives instead of
    /// keeping them: 100,000 recipients as JSON values are over a gigabyte, their certificates
    /// read from each page are a fraction of it. Returns the warnings.
    pub async fn invoke_by_page(
        &self,
        cmdlet: &str,
        parameters: serde_json::Map<String, Value>,
        mut on_page: impl FnMut(Vec<Value>) -> Result<(), TenantApiError>,
    ) -> Result<Vec<String>, TenantApiError> {
        let mut url = format!(
            "{}/adminapi/beta/{}/InvokeCommand",
            self.endpoint.url, self.endpoint.tenant
        );
        let body = json!({ "CmdletInput": { "CmdletName": cmdlet, "Parameters": parameters } });
        let mut warnings = Vec::new();
        for page in 0..MAX_PAGES {
            let mut renewed = false;
            let (status, answer) = loop {
                let token = self.token(renewed).await?;
                // The first page is the POST; `@odata.nextLink` pages are GETs, as the module does.
                let request = if page == 0 {
                    self.http.post(&url).json(&body)
                } else {
                    self.http.get(&url)
                };
                let response = request.bearer_auth(&token).send().await.map_err(|source| {
                    TenantApiError::Transport {
                        what: cmdlet.to_owned(),
                        url: url.clone(),
                        source,
                    }
                })?;
                let status = response.status().as_u16();
                if status == 401 && !renewed {
                    renewed = true;
                    continue;
                }
                let text = response.text().await.unwrap_or_default();
                break (status, text);
            };
            let mut value: Value = serde_json::from_str(&answer).unwrap_or(Value::Null);
            if !(200..300).contains(&status) {
                return Err(cmdlet_error(cmdlet, status, &value, &answer));
            }
            let Value::Array(objects) = value["value"].take() else {
                return Err(TenantApiError::Protocol {
                    what: cmdlet.to_owned(),
                    status,
                    body: answer,
                });
            };
            drop(answer);
            on_page(objects)?;
            if let Some(said) = value["@adminapi.warnings"].as_array() {
                warnings.extend(said.iter().filter_map(|w| w.as_str().map(str::to_owned)));
            }
            match value["@odata.nextLink"].as_str() {
                Some(next) => {
                    url = next_page_url(&self.endpoint.url, &self.endpoint.tenant, next)
                        .ok_or_else(|| TenantApiError::Protocol {
                            what: cmdlet.to_owned(),
                            status,
                            body: format!(
                                "@odata.nextLink '{next}' is not a link to this tenant's \
                                 InvokeCommand"
                            ),
                        })?;
                }
                None => return Ok(warnings),
            }
        }
        Err(TenantApiError::Protocol {
            what: cmdlet.to_owned(),
            status: 200,
            body: format!("more than {MAX_PAGES} pages of output"),
        })
    }

    /// `GET` or `POST` a lab-only endpoint (`/lab/...`) with the lab secret (`X-Lab-Secret`) and
    /// the bearer token; the JSON answer, or the lab's `{"error": {code, message}}` as
    /// [`TenantApiError::Cmdlet`] named `what`.
    pub async fn lab_call(
        &self,
        what: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
        timeout: Option<Duration>,
    ) -> Result<Value, TenantApiError> {
        let url = format!("{}{path}", self.endpoint.url);
        let mut renewed = false;
        loop {
            let token = self.token(renewed).await?;
            let mut request = self
                .http
                .request(method.clone(), &url)
                .header(LAB_SECRET_HEADER, &self.endpoint.lab_secret)
                .bearer_auth(&token);
            if let Some(body) = body {
                request = request.json(body);
            }
            if let Some(timeout) = timeout {
                request = request.timeout(timeout);
            }
            let response = request
                .send()
                .await
                .map_err(|source| TenantApiError::Transport {
                    what: what.to_owned(),
                    url: url.clone(),
                    source,
                })?;
            let status = response.status().as_u16();
            if status == 401 && !renewed {
                renewed = true;
                continue;
            }
            let text = response.text().await.unwrap_or_default();
            let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            if (200..300).contains(&status) {
                return Ok(value);
            }
            return Err(cmdlet_error(what, status, &value, &text));
        }
    }
}

/// A cmdlet's output.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Invoked {
    pub objects: Vec<Value>,
    /// `@adminapi.warnings` of every page.
    pub warnings: Vec<String>,
}

fn cmdlet_error(cmdlet: &str, status: u16, value: &Value, raw: &str) -> TenantApiError {
    let error = &value["error"];
    match (error["code"].as_str(), error["message"].as_str()) {
        (Some(code), Some(message)) => TenantApiError::Cmdlet {
            cmdlet: cmdlet.to_owned(),
            status,
            code: code.to_owned(),
            message: message.to_owned(),
            details: error["details"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|d| d["message"].as_str().map(str::to_owned))
                .collect(),
        },
        _ => TenantApiError::Protocol {
            what: cmdlet.to_owned(),
            status,
            body: raw.chars().take(2000).collect(),
        },
    }
}

/// `application/x-www-form-urlencoded`: unreserved characters as they are, every other byte
/// percent-encoded (what browsers and the module send).
fn form_body(fields: &[(&str, &str)]) -> String {
    fn encode(text: &str) -> String {
        text.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    }
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The `results` of a lab batch endpoint's answer (`POST /lab/recipients/certificates`,
/// `POST /lab/owa/{tenant}/validate/certificates`): one per item sent, in order.
pub fn batch_results(answer: Value, what: &str, sent: usize) -> Result<Vec<Value>, TenantApiError> {
    let results = match answer {
        Value::Object(mut map) => map.remove("results"),
        _ => None,
    };
    match results {
        Some(Value::Array(results)) if results.len() == sent => Ok(results),
        _ => Err(TenantApiError::Protocol {
            what: what.to_owned(),
            status: 200,
            body: format!("the answer has no results array of {sent} answers"),
        }),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn next_page_links_keep_their_path_on_the_runners_endpoint() {
        let base = "http://127.0.0.1:5000";
        let tenant = "contoso.onmicrosoft.com";
        assert_eq!(
            super::next_page_url(
                base,
                tenant,
                "http://tenant/adminapi/beta/contoso.onmicrosoft.com/InvokeCommand?%24skiptoken=a.b"
            )
            .as_deref(),
            Some(
                "http://127.0.0.1:5000/adminapi/beta/contoso.onmicrosoft.com/InvokeCommand?%24skiptoken=a.b"
            )
        );
        // Another host gets nothing of the runner's; another path is refused.
        assert_eq!(
            super::next_page_url(
                base,
                tenant,
                "http://evil.example/adminapi/beta/contoso.onmicrosoft.com/InvokeCommand?x=1"
            )
            .as_deref(),
            Some("http://127.0.0.1:5000/adminapi/beta/contoso.onmicrosoft.com/InvokeCommand?x=1")
        );
        for bad in [
            "http://tenant/adminapi/beta/fabrikam.onmicrosoft.com/InvokeCommand?x=1",
            "http://tenant/lab/clock",
            "/adminapi/beta/contoso.onmicrosoft.com/InvokeCommand?x=1",
            "",
        ] {
            assert_eq!(super::next_page_url(base, tenant, bad), None, "{bad}");
        }
    }

    #[test]
    fn form_body_percent_encodes_reserved_characters() {
        assert_eq!(
            super::form_body(&[
                ("scope", "https://outlook.office365.com/.default"),
                ("a b", "x&y=z")
            ]),
            "scope=https%3A%2F%2Foutlook.office365.com%2F.default&a%20b=x%26y%3Dz"
        );
    }
}
