//! The drawing of a [`Diagram`] as a self-contained SVG element.

use std::fmt::Write as _;

use super::{time_label, Diagram, What, BROKER};
use crate::markup::esc;

// Geometry, in SVG user units (pixels).
const LEFT: u32 = 76;
const COLUMN: u32 = 270;
const HEAD: u32 = 44;
const ROW: u32 = 22;
const CHAR: f64 = 6.6;
const WRAP: usize = 130;

/// `s` cut to `max` characters, with an ellipsis if anything was cut.
pub(super) fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}

/// Lines of at most `width` characters, broken at spaces where possible.
pub(super) fn wrap(s: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    for para in s.lines() {
        let mut line = String::new();
        for word in para.split(' ') {
            let len = line.chars().count();
            if len > 0 && len + 1 + word.chars().count() > width {
                lines.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
            while line.chars().count() > width {
                let head: String = line.chars().take(width).collect();
                line = line.chars().skip(width).collect();
                lines.push(head);
            }
        }
        lines.push(line);
    }
    lines
}

/// The diagram as an SVG element (no XML prolog, so it can sit inside HTML
/// as well as in a file of its own). `title` is its accessible name; `id`
/// makes the ids inside it unique among several diagrams on one page.
pub fn svg(d: &Diagram, title: &str, id: &str) -> String {
    let columns = d.lifelines.len().max(1) as u32;
    let width = LEFT + COLUMN * columns + 40;
    let x_of = |name: &str| -> u32 {
        let i = d.lifelines.iter().position(|n| n == name).unwrap_or(0) as u32;
        LEFT + COLUMN / 2 + i * COLUMN
    };
    let full_chars = ((width - LEFT - 8) as f64 / CHAR) as usize;
    let mut body = String::new();
    let mut y = HEAD + 10;
    let mut last_time = None;
    for row in &d.rows {
        let lines: Vec<String> = match &row.what {
            // Bold text runs about a tenth wider than CHAR.
            What::Failure { label } | What::Advisory { label } => {
                wrap(label, WRAP.min(full_chars * 9 / 10))
            }
            _ => vec![String::new()],
        };
        let height = ROW * lines.len() as u32;
        let mid = y + ROW / 2;
        if last_time != Some(row.at_ms) {
            let _ = writeln!(
                body,
                r#"<text class="time" x="{}" y="{}">{}</text>"#,
                LEFT - 8,
                mid + 4,
                time_label(row.at_ms)
            );
            last_time = Some(row.at_ms);
        }
        match &row.what {
            What::Packet { from, to, label } => {
                let (x1, x2) = (x_of(from), x_of(to));
                let span = x1.abs_diff(x2).max(COLUMN) as f64;
                let shown = clip(label, (span / CHAR) as usize - 2);
                let class = if from == BROKER { "in" } else { "out" };
                let _ = writeln!(
                    body,
                    r#"<g class="packet {class}"><title>{}</title><line x1="{x1}" y1="{}" x2="{x2}" y2="{}" marker-end="url(#{id}-arrow)"/><text x="{}" y="{}">{}</text></g>"#,
                    esc(label),
                    mid + 5,
                    mid + 5,
                    (x1 + x2) / 2,
                    mid,
                    esc(&shown),
                );
            }
            What::Note { on, label } => {
                let x = x_of(on);
                let _ = writeln!(
                    body,
                    r#"<g class="note"><title>{}</title><circle cx="{x}" cy="{mid}" r="4"/><text x="{}" y="{}">{}</text></g>"#,
                    esc(label),
                    x + 8,
                    mid + 4,
                    esc(&clip(label, (COLUMN as f64 / CHAR) as usize - 2)),
                );
            }
            What::Fault { on, label } => {
                // A fault on a client's link spans the link; one at the
                // broker sits on its lifeline.
                let (x1, x2) = if on == BROKER {
                    let text = (label.chars().count() as f64 * CHAR) as u32 + 30;
                    let half = text.clamp(80, COLUMN - 10) / 2;
                    (x_of(BROKER) - half, x_of(BROKER) + half)
                } else {
                    let (a, b) = (x_of(on), x_of(BROKER));
                    (a.min(b), a.max(b))
                };
                let _ = writeln!(
                    body,
                    r#"<g class="fault"><title>{}</title><rect x="{x1}" y="{}" width="{}" height="{}" rx="3"/><text x="{}" y="{}">⚡ {}</text></g>"#,
                    esc(label),
                    y + 3,
                    x2 - x1,
                    ROW - 6,
                    (x1 + x2) / 2,
                    mid + 4,
                    esc(&clip(label, ((x2 - x1) as f64 / CHAR) as usize - 3)),
                );
            }
            What::Step { label, failed } => {
                let class = if *failed { "step failed" } else { "step" };
                let _ = writeln!(
                    body,
                    r#"<g class="{class}"><title>{}</title><line x1="{LEFT}" y1="{mid}" x2="{}" y2="{mid}"/><text x="{}" y="{}">{}</text></g>"#,
                    esc(label),
                    width - 8,
                    LEFT + 4,
                    mid - 3,
                    esc(&clip(label, full_chars)),
                );
            }
            What::Failure { .. } | What::Advisory { .. } => {
                let class = match row.what {
                    What::Failure { .. } => "failure",
                    _ => "advisory",
                };
                let _ = write!(
                    body,
                    r#"<g class="{class}"><rect x="{LEFT}" y="{}" width="{}" height="{}" rx="3"/>"#,
                    y + 1,
                    width - LEFT - 8,
                    height - 2
                );
                for (i, line) in lines.iter().enumerate() {
                    let _ = write!(
                        body,
                        r#"<text x="{}" y="{}">{}</text>"#,
                        LEFT + 6,
                        y + ROW * i as u32 + ROW / 2 + 4,
                        esc(line)
                    );
                }
                let _ = writeln!(body, "</g>");
            }
        }
        y += height;
    }
    let height = y + 16;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="sequence" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="{}">"#,
        esc(title)
    );
    let _ = writeln!(s, "<title>{}</title>", esc(title));
    s.push_str(STYLE);
    let _ = writeln!(
        s,
        r#"<defs><marker id="{id}-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z"/></marker></defs>"#
    );
    for name in &d.lifelines {
        let x = x_of(name);
        let class = if name == BROKER {
            "lifeline broker"
        } else {
            "lifeline"
        };
        let _ = writeln!(
            s,
            r#"<g class="{class}"><line x1="{x}" y1="{}" x2="{x}" y2="{}"/><rect x="{}" y="6" width="{}" height="26" rx="4"/><text x="{x}" y="24">{}</text></g>"#,
            HEAD - 12,
            height - 6,
            x - COLUMN / 2 + 20,
            COLUMN - 40,
            esc(&clip(name, 28)),
        );
    }
    s.push_str(&body);
    s.push_str("</svg>\n");
    s
}

const STYLE: &str = r##"<style>
.sequence { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 11px; background: #fff; }
.sequence defs path { fill: #333; }
.sequence .lifeline line { stroke: #bbb; stroke-dasharray: 4 3; }
.sequence .lifeline rect { fill: #eef3fb; stroke: #5b7db1; }
.sequence .lifeline.broker rect { fill: #e8f4ea; stroke: #4a8a55; }
.sequence .lifeline text { text-anchor: middle; font-weight: bold; font-size: 12px; }
.sequence .time { text-anchor: end; fill: #777; }
.sequence .packet line { stroke: #333; stroke-width: 1.2; }
.sequence .packet.in line { stroke: #2b5aa0; }
.sequence .packet text { text-anchor: middle; fill: #222; }
.sequence .note circle { fill: #888; }
.sequence .note text { fill: #555; font-style: italic; }
.sequence .fault rect { fill: #fde7c8; stroke: #d9822b; }
.sequence .fault text { text-anchor: middle; fill: #8a4b08; }
.sequence .step line { stroke: #ddd; }
.sequence .step text { fill: #888; }
.sequence .step.failed line { stroke: #c62828; stroke-width: 2; }
.sequence .step.failed text { fill: #c62828; font-weight: bold; }
.sequence .failure rect { fill: #fdecea; stroke: #c62828; stroke-width: 1.5; }
.sequence .failure text { fill: #b71c1c; font-weight: bold; }
.sequence .advisory rect { fill: #e3ecfa; stroke: #1f4e99; stroke-width: 1; }
.sequence .advisory text { fill: #1f4e99; font-style: italic; }
</style>
"##;
