//! `Action::Clock`: the lab clock moves forward to a time after the scenario's start. The
//! executor's `Context::now` (what the clients look recipients up at and date their messages
//! with) and the tenant's clock (`PUT /lab/clock`, at which Outlook on the web's validation
//! judges certificate validity and CRL `nextUpdate`) move together.

use serde_json::json;

use super::{Context, TenantApiError, fail, new_step};
use crate::report::model::{Outcome, Stage, StepReport};
use scenario::model::LabOffset;

pub async fn advance(ctx: &mut Context<'_>, at: LabOffset) -> StepReport {
    let now = at.after(ctx.plan.now);
    let shown = smime::certificate::rfc3339(now);
    let mut step = new_step(
        Stage::Messages,
        format!("lab clock to {shown} ({at} after the start)"),
    );
    step.expected = Some(format!("the tenant's clock reads {shown}"));
    let body = json!({ "now": shown });
    match ctx
        .tenant
        .lab_call(
            "set the tenant's clock",
            reqwest::Method::PUT,
            "/lab/clock",
            Some(&body),
            None,
        )
        .await
    {
        Ok(answer) if answer["now"].as_str() == Some(shown.as_str()) => {
            ctx.now = now;
            step.details
                .push(format!("tenant clock: {}", answer["now"]));
        }
        Ok(answer) => {
            // The executor's clock still moves: the messages are dated by the plan.
            ctx.now = now;
            fail(
                &mut step,
                Outcome::Failed,
                format!("the tenant's clock reads {} after being set", answer["now"]),
            );
        }
        Err(e) => {
            ctx.now = now;
            let (outcome, why) = match &e {
                TenantApiError::Transport { .. } => ctx.unreachable(
                    lab::Service::Tenant,
                    "set the tenant's clock",
                    &e.to_string(),
                ),
                _ => (Outcome::Error, format!("set the tenant's clock: {e}")),
            };
            fail(&mut step, outcome, why);
        }
    }
    step
}
