//! What a bench run found: one [`Figure`] per measurement, each beside the anchor measured in the
//! same run, printed as a table, written as `bench.json`, and the organisation-size figures drawn
//! as an SVG chart (hand-written: a few lines, where a plotting crate costs minutes of compile).

use std::fmt::Write as _;

use serde::Serialize;

/// One measurement and its anchor.
#[derive(Clone, Debug, Serialize)]
pub struct Figure {
    /// `pipeline`, `directory`, `catalogue`, `overhead`.
    pub area: String,
    pub name: String,
    /// Organisation size (users) where it applies.
    pub size: Option<u64>,
    /// The value, or `None` when the measurement failed (then `error` says why).
    pub value: Option<f64>,
    pub unit: String,
    pub anchor: Option<Anchor>,
    /// The goal as issue 13 states it, for the reader to compare (never asserted).
    pub goal: Option<String>,
    pub error: Option<String>,
}

/// The same work done by an independent tool in the same run.
#[derive(Clone, Debug, Serialize)]
pub struct Anchor {
    pub name: String,
    pub value: Option<f64>,
    pub unit: String,
    pub error: Option<String>,
}

impl Figure {
    pub fn new(area: &str, name: &str, unit: &str, value: anyhow::Result<f64>) -> Self {
        let (value, error) = split(value);
        Figure {
            area: area.into(),
            name: name.into(),
            size: None,
            value,
            unit: unit.into(),
            anchor: None,
            goal: None,
            error,
        }
    }

    pub fn size(mut self, size: u64) -> Self {
        self.size = Some(size);
        self
    }

    /// The goal to print beside the figure; an empty one is none.
    pub fn goal(mut self, goal: &str) -> Self {
        self.goal = (!goal.is_empty()).then(|| goal.into());
        self
    }

    pub fn anchor(mut self, name: &str, unit: &str, value: anyhow::Result<f64>) -> Self {
        let (value, error) = split(value);
        self.anchor = Some(Anchor {
            name: name.into(),
            value,
            unit: unit.into(),
            error,
        });
        self
    }
}

fn split(value: anyhow::Result<f64>) -> (Option<f64>, Option<String>) {
    match value {
        Ok(v) => (Some(v), None),
        Err(e) => (None, Some(format!("{e:#}"))),
    }
}

/// The whole run, as `bench.json` holds it.
#[derive(Debug, Serialize)]
pub struct BenchReport {
    /// RFC 3339, UTC.
    pub date: String,
    pub cores: usize,
    /// `quick`, `default` or `full`.
    pub mode: String,
    /// The cargo profile the bench ran in (`release` unless asked otherwise).
    pub profile: String,
    pub figures: Vec<Figure>,
}

fn number(value: Option<f64>) -> String {
    match value {
        None => "-".into(),
        Some(v) if v >= 100.0 => format!("{v:.0}"),
        Some(v) if v >= 10.0 => format!("{v:.1}"),
        Some(v) => format!("{v:.2}"),
    }
}

/// The table printed at the end of a run (plain text, one row per figure).
pub fn table(report: &BenchReport) -> String {
    let rows: Vec<[String; 6]> = report
        .figures
        .iter()
        .map(|f| {
            let name = match f.size {
                Some(size) => format!("{} ({size} users)", f.name),
                None => f.name.clone(),
            };
            let value = match &f.error {
                Some(_) => "error".into(),
                None => format!("{} {}", number(f.value), f.unit),
            };
            let (anchor_name, anchor_value) = match &f.anchor {
                None => (String::new(), String::new()),
                Some(a) => (
                    a.name.clone(),
                    match &a.error {
                        Some(_) => "error".into(),
                        None => format!("{} {}", number(a.value), a.unit),
                    },
                ),
            };
            [
                f.area.clone(),
                name,
                value,
                anchor_name,
                anchor_value,
                f.goal.clone().unwrap_or_default(),
            ]
        })
        .collect();
    let header = ["area", "figure", "value", "anchor", "anchor value", "goal"].map(String::from);
    let mut widths = header.clone().map(|h| h.len());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(&header).chain(&rows) {
        let line: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        let _ = writeln!(out, "{}", line.join("  ").trim_end());
    }
    for f in &report.figures {
        let label = match f.size {
            Some(size) => format!("{} ({size} users)", f.name),
            None => f.name.clone(),
        };
        if let Some(e) = &f.error {
            let _ = writeln!(out, "error: {}: {label}: {e}", f.area);
        }
        if let Some(e) = f.anchor.as_ref().and_then(|a| a.error.as_ref()) {
            let _ = writeln!(out, "error: {}: {label}, anchor: {e}", f.area);
        }
    }
    out
}

/// Escapes text for SVG.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Seconds against organisation size (log-log), one line per directory figure measured in
/// seconds, anchors dashed. Figures without a size or in another unit are left out.
pub fn chart(report: &BenchReport) -> String {
    // (name, dashed, points (size, seconds)).
    type Series = (String, bool, Vec<(f64, f64)>);
    let mut series: Vec<Series> = Vec::new();
    let mut push = |name: String, dashed: bool, size: u64, value: Option<f64>| {
        let Some(value) = value.filter(|v| *v > 0.0) else {
            return;
        };
        let point = (size as f64, value);
        match series.iter_mut().find(|(n, _, _)| *n == name) {
            Some((_, _, points)) => points.push(point),
            None => series.push((name, dashed, vec![point])),
        }
    };
    for f in &report.figures {
        let Some(size) = f.size else { continue };
        if f.unit == "s" {
            push(f.name.clone(), false, size, f.value);
        }
        if let Some(a) = f.anchor.as_ref().filter(|a| a.unit == "s") {
            push(a.name.clone(), true, size, a.value);
        }
    }
    let (width, height, left, right, top, bottom) = (760.0, 420.0, 70.0, 250.0, 30.0, 50.0);
    let points = series.iter().flat_map(|(_, _, p)| p.iter());
    let (mut x_min, mut x_max, mut y_min, mut y_max) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for (x, y) in points {
        x_min = x_min.min(*x);
        x_max = x_max.max(*x);
        y_min = y_min.min(*y);
        y_max = y_max.max(*y);
    }
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
         font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"{left}\" y=\"18\">directory: seconds against organisation size (log-log; dashed: anchors)</text>\n"
    );
    if series.is_empty() {
        svg.push_str("<text x=\"70\" y=\"200\">no directory figures in this run</text>\n</svg>\n");
        return svg;
    }
    // Decades around the data, so that a single size still gets an axis.
    let (lx0, lx1) = (
        x_min.log10().floor(),
        (x_max.log10().ceil()).max(x_min.log10().floor() + 1.0),
    );
    let (ly0, ly1) = (
        y_min.log10().floor(),
        (y_max.log10().ceil()).max(y_min.log10().floor() + 1.0),
    );
    let plot_w = width - left - right;
    let plot_h = height - top - bottom;
    let px = |x: f64| left + (x.log10() - lx0) / (lx1 - lx0) * plot_w;
    let py = |y: f64| top + plot_h - (y.log10() - ly0) / (ly1 - ly0) * plot_h;
    let _ = writeln!(
        svg,
        "<rect x=\"{left}\" y=\"{top}\" width=\"{plot_w}\" height=\"{plot_h}\" fill=\"none\" stroke=\"#888\"/>"
    );
    let mut decade = lx0;
    while decade <= lx1 {
        let x = left + (decade - lx0) / (lx1 - lx0) * plot_w;
        let _ = writeln!(
            svg,
            "<text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            top + plot_h + 18.0,
            10f64.powf(decade)
        );
        decade += 1.0;
    }
    let mut decade = ly0;
    while decade <= ly1 {
        let y = top + plot_h - (decade - ly0) / (ly1 - ly0) * plot_h;
        let _ = writeln!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{} s</text>",
            left - 6.0,
            y + 4.0,
            10f64.powf(decade)
        );
        decade += 1.0;
    }
    let _ = writeln!(
        svg,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">users</text>",
        left + plot_w / 2.0,
        height - 8.0
    );
    const COLOURS: [&str; 8] = [
        "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf",
    ];
    for (i, (name, dashed, points)) in series.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let path: Vec<String> = points
            .iter()
            .map(|(x, y)| format!("{:.1},{:.1}", px(*x), py(*y)))
            .collect();
        let dash = if *dashed {
            " stroke-dasharray=\"5,4\""
        } else {
            ""
        };
        let _ = writeln!(
            svg,
            "<polyline points=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\"{dash}/>",
            path.join(" ")
        );
        for (x, y) in points {
            let _ = writeln!(
                svg,
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"{colour}\"/>",
                px(*x),
                py(*y)
            );
        }
        let ly = top + 10.0 + 18.0 * i as f64;
        let lx = width - right + 12.0;
        let _ = writeln!(
            svg,
            "<line x1=\"{lx}\" y1=\"{ly}\" x2=\"{:.1}\" y2=\"{ly}\" stroke=\"{colour}\" stroke-width=\"2\"{dash}/>\
             <text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            lx + 24.0,
            lx + 30.0,
            ly + 4.0,
            escape(name)
        );
    }
    svg.push_str("</svg>\n");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(figures: Vec<Figure>) -> BenchReport {
        BenchReport {
            date: "2026-12-07T00:00:00Z".into(),
            cores: 2,
            mode: "quick".into(),
            profile: "release".into(),
            figures,
        }
    }

    #[test]
    fn the_table_shows_each_figure_beside_its_anchor_and_spells_out_errors() {
        let report = report(vec![
            Figure::new("directory", "full sync", "users/s", Ok(125.0))
                .size(1000)
                .anchor("ldapsearch, paged", "users/s", Ok(25_000.0))
                .goal(">= 50% of the anchor"),
            Figure::new(
                "pipeline",
                "messages",
                "msg/s",
                Err(anyhow::anyhow!("the sink refused")),
            ),
        ]);
        let table = table(&report);
        let row = table
            .lines()
            .find(|l| l.contains("full sync (1000 users)"))
            .unwrap_or_default();
        assert!(row.contains("125 users/s"), "{table}");
        assert!(row.contains("ldapsearch, paged"), "{table}");
        assert!(row.contains("25000 users/s"), "{table}");
        assert!(
            table.contains("error: pipeline: messages: the sink refused"),
            "{table}"
        );
    }

    #[test]
    fn the_chart_draws_one_line_per_timed_directory_figure_and_its_anchor() {
        let report = report(vec![
            Figure::new("directory", "publish", "s", Ok(2.0))
                .size(1000)
                .anchor("ldapadd <same LDIF>", "s", Ok(0.5)),
            Figure::new("directory", "publish", "s", Ok(20.0))
                .size(10_000)
                .anchor("ldapadd <same LDIF>", "s", Ok(5.0)),
            Figure::new("pipeline", "messages", "msg/s", Ok(500.0)),
        ]);
        let svg = chart(&report);
        assert_eq!(svg.matches("<polyline").count(), 2, "{svg}");
        assert_eq!(svg.matches("stroke-dasharray").count(), 2, "{svg}");
        assert!(svg.contains("ldapadd &lt;same LDIF&gt;"), "{svg}");
        assert!(!svg.contains("messages"), "{svg}");
    }
}
