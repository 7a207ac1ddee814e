//! The lab as the scenario needs it before step 1, and the faults it injects.
//!
//! - `ServePki`: every CRL and CA certificate URL the certificates name is fetched from pki-web
//!   (through its host-side address, the URL's path kept): each must answer 200 with exactly the
//!   plan's bytes, or the lab is not what the scenario was planned against (`error`).
//! - `CreateUsers`: each user's `inetOrgPerson` object in the directory, then Entra Connect's
//!   first export, which creates the mailboxes as directory-synced recipients (why: see
//!   [`super::lab_setup`]); every mailbox is then read back with `Get-Mailbox`/`Get-Recipient`.
//! - `Fault`: a service stopped or started through the lab runtime, and its port probed to prove
//!   the fault took (or was repaired).

use std::time::Duration;

use super::directory::{NewUser, add_users, source_anchor};
use super::sync::{Cycle, ExportRules, Standing, check_tenant, export};
use super::{Context, fail, lab_setup, new_step, write_artifact};
use crate::report::model::{Outcome, Stage, StepReport};
use scenario::model::SyncOutcome;
use scenario::plan::{FaultChange, PlannedUser, ServePki};

/// How long a stopped service may keep accepting connections before the fault counts as not
/// taken (a container's port proxy goes away a moment after the container stops).
const FAULT_SETTLE: Duration = Duration::from_secs(10);
const PROBE_INTERVAL: Duration = Duration::from_millis(250);
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// Fetches every CRL and CA certificate back from pki-web.
pub async fn serve_pki(ctx: &mut Context<'_>, serve: &ServePki) -> StepReport {
    let mut step = new_step(
        Stage::Setup,
        format!(
            "serve {} CA certificate{} and {} CRL{} on pki-web",
            serve.ca_certificates.len(),
            if serve.ca_certificates.len() == 1 {
                ""
            } else {
                "s"
            },
            serve.crls.len(),
            if serve.crls.len() == 1 { "" } else { "s" }
        ),
    );
    step.expected =
        Some("every URL the certificates name answers 200 with the plan's bytes".into());
    let base = match ctx.endpoints.pki_web() {
        Ok(pki_web) => pki_web.url.clone(),
        Err(e) => {
            fail(&mut step, Outcome::Error, e.to_string());
            return step;
        }
    };
    let files = match lab_setup::served_files(ctx.plan) {
        Ok(files) => files,
        Err(e) => {
            fail(&mut step, Outcome::Error, e.to_string());
            return step;
        }
    };
    for (url, expected) in files {
        let Some(path) = lab_setup::url_path(&url) else {
            fail(
                &mut step,
                Outcome::Error,
                format!("{url} is not an http:// URL with a path"),
            );
            continue;
        };
        let fetched = format!("{base}/{path}");
        let answer = async {
            let response = ctx.http.get(&fetched).send().await?;
            let status = response.status().as_u16();
            let body = response.bytes().await?;
            Ok::<_, reqwest::Error>((status, body))
        }
        .await;
        match answer {
            Ok((200, body)) if body.as_ref() == expected.as_slice() => {
                step.details
                    .push(format!("{url}: 200, {} bytes, as planned", body.len()));
            }
            Ok((200, body)) => fail(
                &mut step,
                Outcome::Error,
                format!(
                    "{url} (as {fetched}): 200 but {} bytes that are not the plan's {}",
                    body.len(),
                    expected.len()
                ),
            ),
            Ok((status, _)) => fail(
                &mut step,
                Outcome::Error,
                format!("{url} (as {fetched}): HTTP {status}"),
            ),
            Err(e) => {
                let (outcome, why) = ctx.unreachable(
                    lab::Service::PkiWeb,
                    &format!("{url} (as {fetched})"),
                    &e.to_string(),
                );
                fail(&mut step, outcome, why);
            }
        }
    }
    step
}

/// The users' directory objects, then the first export that makes their mailboxes.
pub async fn create_users(ctx: &mut Context<'_>, users: &[PlannedUser]) -> StepReport {
    let list: Vec<&str> = users.iter().map(|u| u.mailbox.as_str()).collect();
    let mut step = new_step(Stage::Setup, format!("create users {}", list.join(", ")));
    step.expected = Some(
        "each user has a directory object, and Entra Connect's first export makes a directory-synced mailbox of it"
            .into(),
    );
    let endpoint = match ctx.endpoints.directory() {
        Ok(endpoint) => endpoint.clone(),
        Err(e) => {
            fail(&mut step, Outcome::Error, e.to_string());
            return step;
        }
    };
    let objects: Vec<NewUser> = users
        .iter()
        .map(|user| NewUser {
            id: user.id.clone(),
            mail: user.mailbox.clone(),
            anchor: source_anchor(&ctx.plan.scenario, &user.id),
            user_certificate: Vec::new(),
            user_smime_certificate: Vec::new(),
            proxy_addresses: user.directory_proxy_addresses(),
        })
        .collect();
    let added = add_users(&endpoint, &objects).await.map(|dns| {
        dns.iter()
            .zip(&objects)
            .map(|(dn, user)| {
                let proxies = if user.proxy_addresses.is_empty() {
                    String::new()
                } else {
                    format!(", proxyAddresses {}", user.proxy_addresses.join(" "))
                };
                format!(
                    "{dn}: inetOrgPerson, mail {}{proxies}, source anchor {}",
                    user.mail, user.anchor
                )
            })
            .collect::<Vec<_>>()
    });
    match added {
        Ok(lines) => step.details.extend(lines),
        Err(e) => {
            fail(&mut step, Outcome::Error, e.to_string());
            return step;
        }
    }

    let result = match export(ctx, Cycle::Full, ExportRules::default()).await {
        Ok(result) => result,
        Err(e) => {
            fail(&mut step, Outcome::Error, format!("the first export: {e}"));
            return step;
        }
    };
    step.details.push(format!(
        "Entra Connect's first export (cycle {}, full): {} object{}",
        result.number,
        result.objects.len(),
        if result.objects.len() == 1 { "" } else { "s" }
    ));
    let answer = serde_json::to_vec_pretty(&result.answer).unwrap_or_default();
    match write_artifact(
        &ctx.out_dir,
        &format!("sync/cycle-{}-full.json", result.number),
        &answer,
    ) {
        Ok(path) => step.artifacts.push(path),
        Err(e) => fail(&mut step, Outcome::Error, e),
    }
    for user in users {
        match result.objects.iter().find(|o| o.user == user.id) {
            // Nothing is in the tenant yet: each user's object is new to it.
            Some(o)
                if o.standing == Standing::Outcome(SyncOutcome::Exported) && o.action == "add" => {}
            Some(o) => fail(
                &mut step,
                Outcome::Error,
                format!("first export of {}", o.line),
            ),
            None => fail(
                &mut step,
                Outcome::Error,
                format!("the first export did not include {}", user.id),
            ),
        }
    }
    match check_tenant(ctx, &result.directory).await {
        Ok((facts, mismatches)) => {
            step.details.extend(facts);
            for mismatch in mismatches {
                fail(&mut step, Outcome::Error, mismatch);
            }
        }
        Err(e) => fail(
            &mut step,
            Outcome::Error,
            format!("reading the mailboxes: {e}"),
        ),
    }
    step
}

/// Starts or repairs a fault, then probes the service's port.
pub async fn fault(
    ctx: &mut Context<'_>,
    lab: &mut lab::RunningLab,
    change: &FaultChange,
) -> StepReport {
    let service = super::translate::lab_service(change.service);
    let mut step = new_step(
        Stage::Fault,
        if change.start {
            format!("fault: {service} down")
        } else {
            format!("fault repaired: {service} up again")
        },
    );
    step.expected = Some(if change.start {
        format!("{service} refuses connections")
    } else {
        format!("{service} answers again, with its data")
    });
    let changed = if change.start {
        lab.stop_service(service).await
    } else {
        lab.start_service(service).await
    };
    if let Err(e) = changed {
        fail(
            &mut step,
            Outcome::Error,
            format!(
                "the lab could not change {service}: {e} (logs: {})",
                lab.logs_hint(service)
            ),
        );
        return step;
    }
    if change.start {
        ctx.down.insert(service);
    } else {
        ctx.down.remove(&service);
    }
    let Some((_, address)) = ctx
        .endpoints
        .listeners()
        .into_iter()
        .find(|(s, _)| *s == service)
    else {
        fail(
            &mut step,
            Outcome::Error,
            format!("{service} has no address in this lab"),
        );
        return step;
    };
    let deadline = tokio::time::Instant::now() + FAULT_SETTLE;
    loop {
        let accepts = matches!(
            tokio::time::timeout(PROBE_TIMEOUT, tokio::net::TcpStream::connect(&address)).await,
            Ok(Ok(_))
        );
        if accepts != change.start {
            step.details.push(format!(
                "{address}: {}",
                if accepts {
                    "accepts connections"
                } else {
                    "refuses connections"
                }
            ));
            return step;
        }
        if tokio::time::Instant::now() >= deadline {
            fail(
                &mut step,
                Outcome::Error,
                format!(
                    "{address} still {} after {}s",
                    if accepts {
                        "accepts connections"
                    } else {
                        "refuses connections"
                    },
                    FAULT_SETTLE.as_secs()
                ),
            );
            return step;
        }
        tokio::time::sleep(PROBE_INTERVAL).await;
    }
}
