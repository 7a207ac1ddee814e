//! Step 5's admin cmdlets (`Set-SmimeConfig` OWA settings, `Set-`/`New-MobileDeviceMailboxPolicy`,
//! `Set-CASMailbox -ActiveSyncMailboxPolicy`): run through the admin API, then read back with the
//! matching `Get-` cmdlet (the object the `Identity`, or a `New-` cmdlet's `Name`, names), whose
//! output must show every parameter as given. A refusal is a finding (`failed`): the scenario configures
//! something the tenant does not take.

use serde_json::{Map, Value};

use super::{Context, TenantApiError, fail, new_step};
use crate::report::model::{Outcome, Stage, StepReport};
use scenario::plan::{Action, CmdletCall};

/// The cmdlet that reads back what `cmdlet` sets or makes: `Set-X` or `New-X` → `Get-X`.
pub fn reader(cmdlet: &str) -> Option<String> {
    cmdlet
        .strip_prefix("Set-")
        .or_else(|| cmdlet.strip_prefix("New-"))
        .map(|noun| format!("Get-{noun}"))
}

/// Whether the value `Get-` shows is the value given. PowerShell binds enum names and strings
/// without regard to case (`tripledes` sets `TripleDES`), so strings compare that way.
pub fn same_value(given: &Value, shown: &Value) -> bool {
    match (given, shown) {
        (Value::String(a), Value::String(b)) => a.eq_ignore_ascii_case(b),
        (a, b) => a == b,
    }
}

pub async fn run(ctx: &mut Context<'_>, call: &CmdletCall) -> StepReport {
    let mut step = new_step(Stage::Clients, Action::Cmdlet(call.clone()).to_string());
    let settings: Vec<(&String, &Value)> = call
        .parameters
        .iter()
        .filter(|(name, _)| name.as_str() != "Identity")
        .collect();
    // The object to read back: the one the call names (`Identity`, or `Name` for `New-`).
    let identity = call
        .parameters
        .get("Identity")
        .or_else(|| {
            call.cmdlet
                .starts_with("New-")
                .then(|| call.parameters.get("Name"))
                .flatten()
        })
        .cloned();
    step.expected = Some(format!(
        "the tenant takes {} and shows {} afterwards",
        call.cmdlet,
        if settings.len() == 1 {
            "it".to_owned()
        } else {
            format!("all {} settings", settings.len())
        }
    ));
    let transport = |ctx: &Context<'_>, step: &mut StepReport, what: &str, e: &TenantApiError| {
        let (outcome, why) = match e {
            TenantApiError::Transport { .. } => {
                ctx.unreachable(lab::Service::Tenant, what, &e.to_string())
            }
            _ => (Outcome::Error, format!("{what}: {e}")),
        };
        fail(step, outcome, why);
    };

    match ctx
        .tenant
        .invoke(call.cmdlet, call.parameters.clone())
        .await
    {
        Ok(output) => step
            .details
            .extend(output.warnings.iter().map(|w| format!("warning: {w}"))),
        Err(TenantApiError::Cmdlet {
            message, details, ..
        }) => {
            let said = if details.is_empty() {
                message
            } else {
                details.join("; ")
            };
            fail(
                &mut step,
                Outcome::Failed,
                format!("{} was refused: {said}", call.cmdlet),
            );
            return step;
        }
        Err(e) => {
            transport(ctx, &mut step, call.cmdlet, &e);
            return step;
        }
    }

    let Some(get) = reader(call.cmdlet) else {
        fail(
            &mut step,
            Outcome::Error,
            format!("no Get- cmdlet reads back {}", call.cmdlet),
        );
        return step;
    };
    let mut parameters = Map::new();
    if let Some(identity) = identity {
        parameters.insert("Identity".into(), identity);
    }
    let shown = match ctx.tenant.invoke(&get, parameters).await {
        Ok(output) => output.objects.into_iter().next().unwrap_or(Value::Null),
        Err(e) => {
            transport(ctx, &mut step, &get, &e);
            return step;
        }
    };
    for (name, given) in settings {
        let value = &shown[name.as_str()];
        if same_value(given, value) {
            step.details.push(format!("{get}: {name} {value}"));
        } else {
            fail(
                &mut step,
                Outcome::Failed,
                format!("{get} shows {name} {value}, not {given}"),
            );
        }
    }
    step
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn readers_and_values() {
        assert_eq!(
            reader("Set-SmimeConfig").as_deref(),
            Some("Get-SmimeConfig")
        );
        assert_eq!(
            reader("Set-MobileDeviceMailboxPolicy").as_deref(),
            Some("Get-MobileDeviceMailboxPolicy")
        );
        assert_eq!(
            reader("New-MobileDeviceMailboxPolicy").as_deref(),
            Some("Get-MobileDeviceMailboxPolicy")
        );
        assert_eq!(reader("Set-CASMailbox").as_deref(), Some("Get-CASMailbox"));
        assert_eq!(reader("Remove-Thing"), None);
        assert!(same_value(&json!("tripledes"), &json!("TripleDES")));
        assert!(same_value(&json!("800C"), &json!("800c")));
        assert!(same_value(&json!(true), &json!(true)));
        assert!(!same_value(&json!(true), &json!("true")));
        assert!(!same_value(&json!(60000), &json!(6000)));
        assert!(!same_value(&json!("6610"), &Value::Null));
    }
}
