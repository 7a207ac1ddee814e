//! The HTML report opened in a real browser (Debian's Chromium, headless, through
//! `test_support::chromium`): the matrices render as tables a person can see, a cell's link opens
//! the step it stands for, and the page logs no console error, warning or exception. Each page's
//! top is saved as a PNG: `target/smime-lab/screenshots/` by default, or the folder named by
//! `SMIME_LAB_SCREENSHOT_DIR` (README's pictures in `docs/` are made with
//! `SMIME_LAB_SCREENSHOT_DIR=docs cargo nextest run -p runner in_chromium`).
//!
//! nextest puts these tests in the `chromium` group (`.config/nextest.toml`): one browser at a
//! time on a 2-core machine.

// Test code (the module is `cfg(all(test, unix))`, which clippy's allow-in-tests does not see):
// a failed expectation is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};
use test_support::chromium::{BROWSER_DEADLINE, Headless};

use super::html::render;
use super::model::RunReport;
use super::sample;

fn screenshot_dir() -> PathBuf {
    match std::env::var_os("SMIME_LAB_SCREENSHOT_DIR") {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() {
                dir
            } else {
                test_support::repo_root().join(dir)
            }
        }
        None => test_support::repo_root().join("target/smime-lab/screenshots"),
    }
}

/// Console messages, exceptions and log entries of level warning or error.
fn problems(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .filter(|e| match e["method"].as_str() {
            Some("Runtime.exceptionThrown") => true,
            Some("Runtime.consoleAPICalled") => {
                matches!(
                    e["params"]["type"].as_str(),
                    Some("error" | "warning" | "assert")
                )
            }
            Some("Log.entryAdded") => {
                matches!(
                    e["params"]["entry"]["level"].as_str(),
                    Some("error" | "warning")
                )
            }
            _ => false,
        })
        .map(Value::to_string)
        .collect()
}

/// The page in a fresh tab, loaded, with console and log events switched on before it loads.
struct OpenReport {
    browser: Headless,
    session: String,
    deadline: Instant,
    /// The page's folder, removed after the browser (fields drop in order).
    _dir: tempfile::TempDir,
}

fn open(report: &RunReport, name: &str) -> OpenReport {
    let dir = tempfile::tempdir().expect("temporary directory");
    let page = test_support::write(dir.path(), name, render(report).as_bytes());
    let mut browser = Headless::start();
    let deadline = Instant::now() + BROWSER_DEADLINE;
    let session = browser.open("about:blank", deadline);
    for domain in ["Runtime.enable", "Log.enable", "Page.enable"] {
        browser.call(domain, json!({}), Some(&session), deadline);
    }
    browser.call(
        "Emulation.setDeviceMetricsOverride",
        json!({ "width": 1200, "height": 760, "deviceScaleFactor": 1, "mobile": false }),
        Some(&session),
        deadline,
    );
    browser.call(
        "Page.navigate",
        json!({ "url": format!("file://{}", page.display()) }),
        Some(&session),
        deadline,
    );
    loop {
        let state = browser.evaluate(
            &session,
            "location.protocol + ' ' + document.readyState",
            deadline,
        );
        if state == "file: complete" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the report did not load: {state}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // Late console messages (none are expected) have a moment to arrive.
    browser.drain_events(Duration::from_millis(500), |_| false);
    OpenReport {
        browser,
        session,
        deadline,
        _dir: dir,
    }
}

impl OpenReport {
    fn eval(&mut self, expression: &str) -> Value {
        self.browser
            .evaluate(&self.session, expression, self.deadline)
    }

    fn screenshot(&mut self, file: &str) {
        let shot = self.browser.call(
            "Page.captureScreenshot",
            json!({ "format": "png" }),
            Some(&self.session),
            self.deadline,
        );
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().expect("screenshot data"))
            .expect("base64 PNG");
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).expect("screenshot folder");
        std::fs::write(dir.join(file), png).expect("screenshot written");
    }

    fn assert_quiet(&self) {
        let problems = problems(self.browser.events());
        assert!(
            problems.is_empty(),
            "the page logged problems:\n{}",
            problems.join("\n")
        );
    }
}

/// What a matrix looks like to the browser: visible size, rows, and per cell its text, class,
/// link target and whether that target exists.
const DESCRIBE_MATRIX: &str = r#"(selector) => {
  const table = document.querySelector(selector);
  if (!table) return null;
  const box = table.getBoundingClientRect();
  const rows = [...table.querySelectorAll('tbody tr')].map(tr => [...tr.children].map(td => {
    const links = [...td.querySelectorAll('a')];
    return {
      text: td.textContent.trim(),
      links: links.map(a => ({
        href: a.getAttribute('href'),
        class: a.className,
        target: !!document.getElementById(a.getAttribute('href').slice(1)),
        background: getComputedStyle(a).backgroundColor,
      })),
    };
  }));
  const headers = [...table.querySelectorAll('thead th')].map(th => th.textContent.trim());
  return { width: box.width, height: box.height, visible: box.top < innerHeight, headers, rows };
}"#;

fn describe(page: &mut OpenReport, selector: &str) -> Value {
    let expression = format!("({DESCRIBE_MATRIX})({})", json!(selector));
    page.eval(&expression)
}

/// Every link in a matrix leads to an element of the page.
fn assert_links_resolve(matrix: &Value) {
    for row in matrix["rows"].as_array().expect("rows") {
        for cell in row.as_array().expect("cells") {
            for link in cell["links"].as_array().expect("links") {
                assert_eq!(link["target"], true, "a link to nowhere: {link}");
            }
        }
    }
}

#[test]
fn the_scenario_matrix_renders_in_chromium() {
    let report = sample::run_report();
    let mut page = open(&report, "report.html");
    let matrix = describe(&mut page, "table.matrix.scenarios");
    assert!(!matrix.is_null(), "no scenario matrix on the page");
    assert!(
        matrix["width"].as_f64().expect("width") > 400.0
            && matrix["height"].as_f64().expect("height") > 60.0,
        "the matrix has no visible size: {matrix}"
    );
    assert_eq!(
        matrix["visible"], true,
        "the matrix is not at the top: {matrix}"
    );
    assert_eq!(
        matrix["headers"],
        json!([
            "scenario",
            "setup",
            "1 publish",
            "2 collection",
            "3 sync",
            "4 policy",
            "5 clients",
            "messages"
        ])
    );
    let rows = matrix["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), report.scenarios.len());
    // expired-ca-in-sst: the collection failed, its message passed.
    let expired = &rows[1];
    assert_eq!(expired[0]["text"], "expired-ca-in-sst");
    assert_eq!(expired[3]["text"], "\u{2717} 0/1", "{expired}");
    assert_eq!(expired[3]["links"][0]["href"], "#scenario-2-step-2");
    assert_eq!(expired[7]["text"], "\u{2713} 2", "{expired}");
    // A failed cell is coloured apart from a passed one.
    assert_ne!(
        expired[3]["links"][0]["background"], expired[1]["links"][0]["background"],
        "{expired}"
    );
    // The scenario that never started says so in its setup cell.
    assert_eq!(rows[2][1]["text"], "! not run", "{}", rows[2]);
    // The hostile scenario's name is text, not markup.
    assert_eq!(rows[3][0]["text"], sample::HOSTILE_NAME);
    assert_links_resolve(&matrix);

    // A passed step's details are closed; following its cell's link opens them.
    let opened = page.eval(
        "(() => { const a = document.querySelector('table.matrix.scenarios tbody tr a.cell[href=\"#scenario-1-step-2\"]');
                  const d = document.getElementById('scenario-1-step-2').closest('details');
                  const before = d.open; a.click(); return [before, d.open, location.hash]; })()",
    );
    assert_eq!(opened, json!([false, true, "#scenario-1-step-2"]));
    page.eval("window.scrollTo(0, 0)");
    page.screenshot("report-matrix.png");
    page.assert_quiet();
}

#[test]
fn the_vendor_matrices_render_in_chromium() {
    let report = sample::vendor_report();
    let mut page = open(&report, "vendor-report.html");
    let checks = describe(&mut page, "table.matrix.checks");
    assert!(!checks.is_null(), "no checks matrix on the page");
    assert_eq!(
        checks["headers"],
        json!([
            "check",
            "alice@fabrikam.example (alice.p12)",
            "bob@fabrikam.example (bob.p12)"
        ])
    );
    let rows = checks["rows"].as_array().expect("rows");
    let catalogue_rows = smime::checks::CATALOGUE
        .iter()
        .filter(|c| c.id.starts_with("PKI-"))
        .count();
    assert_eq!(rows.len(), catalogue_rows);
    let row = |id: &str| {
        rows.iter()
            .find(|r| r[0]["text"].as_str().is_some_and(|t| t.starts_with(id)))
            .unwrap_or_else(|| panic!("no row {id}"))
            .clone()
    };
    let ski = row("PKI-SKI-001");
    assert_eq!(ski[1]["text"], "\u{2713}");
    assert_eq!(ski[2]["text"], "\u{2717} error");
    let expiring = row("PKI-VAL-003");
    assert_eq!(expiring[1]["text"], "! warning");
    assert_eq!(expiring[2]["text"], "\u{2713}");
    assert_links_resolve(&checks);

    let clients = describe(&mut page, "table.matrix.clients");
    assert!(!clients.is_null(), "no clients matrix on the page");
    assert_eq!(
        clients["headers"],
        json!([
            "client",
            "alice@fabrikam.example \u{2192} bob@fabrikam.example",
            "bob@fabrikam.example \u{2192} alice@fabrikam.example"
        ])
    );
    let texts: Vec<Vec<Value>> = clients["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            r.as_array()
                .expect("cells")
                .iter()
                .map(|c| c["text"].clone())
                .collect()
        })
        .collect();
    assert_eq!(
        texts,
        vec![
            vec![json!("outlook"), json!("\u{2713} 1"), json!("\u{2713} 2")],
            vec![json!("owa"), json!("\u{2713} 3"), json!("\u{2713} 4")],
            vec![json!("mobile"), json!("\u{2713} 5"), json!("\u{2717} 6")],
        ]
    );
    assert_links_resolve(&clients);
    page.eval("document.getElementById('vendor-checks').scrollIntoView()");
    page.screenshot("report-vendor.png");
    page.assert_quiet();
}
