//! Step 4: the browser policy file the plan made (by `browser_policy::generate_entry`, the one
//! writer) is written into the run's output directory, read back from there, and judged by the
//! browser-policy checker (`BRW-*` checks) as installed at its place for its browser. The step
//! passes when the checker's verdict (no error findings = valid) is what the scenario expects:
//! a typo'd value must be found, the documented one must be clean.

use browser_policy::CheckOptions;
use smime::checks::Severity;

use super::{Context, fail, new_step, write_artifact};
use crate::report::model::{CheckFinding, Outcome, Stage, StepReport};
use scenario::plan::PolicyArtifact;

pub fn write_and_check(ctx: &mut Context<'_>, artifact: &PolicyArtifact) -> StepReport {
    let mut step = new_step(
        Stage::BrowserPolicy,
        format!(
            "browser policy for {}: {} ({})",
            artifact.browser.name(),
            artifact.file_name,
            artifact.location
        ),
    );
    step.expected = Some(if artifact.expect_valid {
        "the checker finds the policy valid".to_owned()
    } else {
        "the checker finds the policy wrong".to_owned()
    });
    step.details.push(format!(
        "ExtensionInstallForcelist entry {:?} ({})",
        artifact.value,
        if artifact.documented {
            "the documented value"
        } else {
            "NOT the documented value"
        }
    ));
    let relative = format!("browser-policy/{}", artifact.file_name);
    let written = match write_artifact(&ctx.out_dir, &relative, &artifact.content) {
        Ok(path) => path,
        Err(e) => {
            fail(&mut step, Outcome::Error, e);
            return step;
        }
    };
    step.artifacts.push(written);
    // Judge what is on disk: the file an admin would deploy.
    let path = ctx.out_dir.join(&relative);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) => {
            fail(
                &mut step,
                Outcome::Error,
                format!("cannot read back {}: {e}", path.display()),
            );
            return step;
        }
    };
    let report = match browser_policy::check_artifact(
        &bytes,
        &CheckOptions {
            path: Some(&artifact.check_path),
            browser: Some(artifact.target_browser()),
        },
    ) {
        Ok(report) => report,
        Err(e) => {
            // Our own writer's output not reading is a bug, not a finding about the policy.
            fail(
                &mut step,
                Outcome::Error,
                format!("the checker cannot read the file the lab wrote: {e}"),
            );
            return step;
        }
    };
    step.checks = report
        .findings
        .iter()
        .map(|f| CheckFinding {
            id: f.id.to_owned(),
            severity: f.severity.as_str().to_owned(),
            message: f.message.clone(),
        })
        .collect();
    let valid = !report.has_errors();
    let errors: Vec<&str> = report
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .map(|f| f.id)
        .collect();
    match (valid, artifact.expect_valid) {
        (true, true) => step.details.push("the checker finds no error".to_owned()),
        (false, false) => step
            .details
            .push(format!("the checker finds {}", errors.join(", "))),
        (true, false) => fail(
            &mut step,
            Outcome::Failed,
            "the checker finds no error in the policy, which the scenario expects to be wrong",
        ),
        (false, true) => fail(
            &mut step,
            Outcome::Failed,
            format!("the checker finds {}", errors.join(", ")),
        ),
    }
    step
}
