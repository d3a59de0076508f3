//! Charts as SVG rendered on the server: no script, no inline style (the CSP allows
//! neither), presentation attributes and classes only. Each chart is an `img` with a title
//! and a description naming its numbers; the pages also print those numbers in a table.
//! They scale to the width of the screen through their `viewBox`.

use std::fmt::Write;

/// `s` escaped for XML text and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// One line of a line chart: its name, its CSS class (its colour) and a value per x label.
pub struct Series<'a> {
    pub name: &'a str,
    pub class: &'a str,
    pub values: Vec<i64>,
}

/// The top of the y axis: the smallest "nice" number (1, 2 or 5 × 10ⁿ) at or above `max`.
fn nice_ceiling(max: i64) -> i64 {
    if max <= 0 {
        return 1;
    }
    let mut step = 1;
    loop {
        for m in [1, 2, 5] {
            if m * step >= max {
                return m * step;
            }
        }
        step *= 10;
    }
}

/// The drawing's width: narrow, so that its 13-px text stays 13 px on a phone.
const W: f64 = 400.0;
const PAD_L: f64 = 44.0;
const PAD_R: f64 = 12.0;
const PAD_T: f64 = 12.0;

/// The opening of an accessible chart: `<svg role="img">` with its title and description.
fn open(out: &mut String, id: &str, title: &str, desc: &str, height: f64) {
    let _ = write!(
        out,
        r#"<svg class="chart" id="{id}" viewBox="0 0 {W} {height}" role="img" aria-labelledby="{id}-t {id}-d" preserveAspectRatio="xMidYMid meet" xmlns="http://www.w3.org/2000/svg"><title id="{id}-t">{}</title><desc id="{id}-d">{}</desc>"#,
        esc(title),
        esc(desc)
    );
}

/// A line chart of `series` over the x `labels` (dates, oldest first); the first and last
/// labels are written under the axis, with the y axis's top and zero.
pub fn line_chart(
    id: &str,
    title: &str,
    desc: &str,
    labels: &[String],
    series: &[Series<'_>],
) -> String {
    const H: f64 = 230.0;
    const PAD_B: f64 = 52.0;
    let mut out = String::new();
    open(&mut out, id, title, desc, H);
    let top = nice_ceiling(
        series
            .iter()
            .flat_map(|s| s.values.iter().copied())
            .max()
            .unwrap_or(0),
    );
    let (x0, x1, y0, y1) = (PAD_L, W - PAD_R, H - PAD_B, PAD_T);
    let n = labels.len().max(1);
    let x = |i: usize| {
        if n == 1 {
            (x0 + x1) / 2.0
        } else {
            x0 + (x1 - x0) * i as f64 / (n - 1) as f64
        }
    };
    let y = |v: i64| y0 - (y0 - y1) * v as f64 / top as f64;
    // Grid and axis labels.
    for (v, class) in [(0, "axis"), (top / 2, "grid"), (top, "grid")] {
        let _ = write!(
            out,
            r#"<line class="{class}" x1="{x0}" y1="{yv:.1}" x2="{x1}" y2="{yv:.1}"/><text class="tick" x="{tx}" y="{ty:.1}" text-anchor="end">{v}</text>"#,
            yv = y(v),
            tx = x0 - 6.0,
            ty = y(v) + 4.0,
        );
    }
    if let (Some(first), Some(last)) = (labels.first(), labels.last()) {
        let _ = write!(
            out,
            r#"<text class="tick" x="{x0}" y="{ly}" text-anchor="start">{}</text><text class="tick" x="{x1}" y="{ly}" text-anchor="end">{}</text>"#,
            esc(first),
            esc(last),
            ly = y0 + 18.0,
        );
    }
    for s in series {
        let points: Vec<String> = s
            .values
            .iter()
            .enumerate()
            .map(|(i, v)| format!("{:.1},{:.1}", x(i), y(*v)))
            .collect();
        let _ = write!(
            out,
            r#"<polyline class="line {}" fill="none" points="{}"/>"#,
            esc(s.class),
            points.join(" ")
        );
    }
    // The legend, under the dates.
    let mut lx = x0;
    for s in series {
        let _ = write!(
            out,
            r#"<rect class="key {}" x="{lx}" y="{ky}" width="14" height="4"/><text class="legend" x="{tx}" y="{ty}">{}</text>"#,
            esc(s.class),
            esc(s.name),
            ky = H - 14.0,
            tx = lx + 20.0,
            ty = H - 8.0,
        );
        lx += 36.0 + 8.0 * s.name.chars().count() as f64;
    }
    out.push_str("</svg>");
    out
}

/// One bar: its label (written above it) and its value (written at its end).
pub struct Bar {
    pub label: String,
    pub value: i64,
    /// What is written at the end of the bar (the value, or a percentage).
    pub shown: String,
    /// An extra CSS class (`flag` to mark a bar a signal is about).
    pub class: &'static str,
}

/// Horizontal bars, one per row with its label above it, so long labels stay readable on a
/// phone; the longest bar is `max` (or the largest value).
pub fn bar_chart(id: &str, title: &str, desc: &str, bars: &[Bar], max: Option<i64>) -> String {
    const ROW: f64 = 44.0;
    let h = PAD_T + ROW * bars.len().max(1) as f64;
    let mut out = String::new();
    open(&mut out, id, title, desc, h);
    let top = max
        .unwrap_or_else(|| bars.iter().map(|b| b.value).max().unwrap_or(0))
        .max(1);
    let width = W - 110.0;
    for (i, b) in bars.iter().enumerate() {
        let y = PAD_T + ROW * i as f64;
        let len = (width * b.value.max(0) as f64 / top as f64).max(1.0);
        let _ = write!(
            out,
            r#"<text class="label" x="0" y="{ly:.1}">{}</text><rect class="bar {}" x="0" y="{by:.1}" width="{len:.1}" height="16" rx="3"/><text class="value" x="{vx:.1}" y="{vy:.1}">{}</text>"#,
            esc(&b.label),
            b.class,
            esc(&b.shown),
            ly = y + 12.0,
            by = y + 18.0,
            vx = len + 6.0,
            vy = y + 31.0,
        );
    }
    out.push_str("</svg>");
    out
}

/// A small trend line for a table cell; decorative (the cell beside it says the numbers).
pub fn sparkline(values: &[i64]) -> String {
    const SW: f64 = 120.0;
    const SH: f64 = 28.0;
    let top = values.iter().copied().max().unwrap_or(0).max(1);
    let n = values.len().max(2);
    let points: Vec<String> = values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            format!(
                "{:.1},{:.1}",
                SW * i as f64 / (n - 1) as f64,
                SH - 2.0 - (SH - 4.0) * *v as f64 / top as f64
            )
        })
        .collect();
    format!(
        r#"<svg class="spark" viewBox="0 0 {SW} {SH}" aria-hidden="true" focusable="false" xmlns="http://www.w3.org/2000/svg"><polyline class="line learners" fill="none" points="{}"/></svg>"#,
        points.join(" ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_are_labelled_images_that_escape_their_text() {
        let svg = line_chart(
            "c",
            "Learners <daily>",
            "From 1 to 3 & back",
            &["2026-11-01".into(), "2026-11-02".into()],
            &[Series {
                name: "Learners",
                class: "learners",
                values: vec![3, 7],
            }],
        );
        assert!(svg.starts_with("<svg class=\"chart\" id=\"c\""));
        assert!(svg.contains(r#"role="img" aria-labelledby="c-t c-d""#));
        assert!(svg.contains("<title id=\"c-t\">Learners &lt;daily&gt;</title>"));
        assert!(svg.contains("From 1 to 3 &amp; back"));
        // The y axis tops out at 10 (the nice ceiling of 7): 7 sits at 70% of the height.
        assert!(svg.contains(">10</text>"), "{svg}");
        assert_eq!(nice_ceiling(7), 10);
        assert_eq!(nice_ceiling(11), 20);
        assert_eq!(nice_ceiling(300), 500);
        assert_eq!(nice_ceiling(0), 1);
        let bars = bar_chart(
            "b",
            "Reach",
            "Lesson 1: 10",
            &[
                Bar {
                    label: "1. <Intro>".into(),
                    value: 10,
                    shown: "10".into(),
                    class: "",
                },
                Bar {
                    label: "2".into(),
                    value: 5,
                    shown: "5".into(),
                    class: "flag",
                },
            ],
            None,
        );
        assert!(bars.contains("1. &lt;Intro&gt;"));
        assert!(
            bars.contains(r#"class="bar flag" x="0" y="74.0" width="145.0""#),
            "{bars}"
        );
        assert!(sparkline(&[0, 1]).contains("aria-hidden=\"true\""));
    }
}
