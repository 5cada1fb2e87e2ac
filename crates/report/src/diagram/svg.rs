//! The drawing of a [`Diagram`] as a self-contained SVG element.

use std::fmt::Write as _;

use super::{time_label, Diagram, Net, What, BROKER};
use crate::markup::esc;

// Geometry, in SVG user units (pixels).
const LEFT: u32 = 76;
const COLUMN: u32 = 270;
const MIN_COLUMN: u32 = 170;
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

/// The width of a lifeline's column: wide enough for a packet's key
/// fields, narrower when there are many lifelines so that all of them fit
/// a report's panel (which scales the drawing down to its width).
fn column(lifelines: usize) -> u32 {
    const FIT: u32 = 1_000;
    (FIT / lifelines.max(1) as u32).clamp(MIN_COLUMN, COLUMN)
}

/// The diagram as an SVG element (no XML prolog, so it can sit inside HTML
/// as well as in a file of its own). `title` is its accessible name; `id`
/// makes the ids inside it unique among several diagrams on one page.
pub fn svg(d: &Diagram, title: &str, id: &str) -> String {
    let columns = d.lifelines.len().max(1) as u32;
    let col = column(d.lifelines.len());
    let width = LEFT + col * columns + 40;
    let x_of = |name: &str| -> u32 {
        let i = d.lifelines.iter().position(|n| n == name).unwrap_or(0) as u32;
        LEFT + col / 2 + i * col
    };
    let full_chars = ((width - LEFT - 8) as f64 / CHAR) as usize;
    // Each row's lines of text, top and height, first: a held packet's
    // arrow runs down to a later row, a shaded period spans rows.
    let texts: Vec<Vec<String>> = d
        .rows
        .iter()
        .map(|row| match &row.what {
            // Bold text runs about a tenth wider than CHAR.
            What::Failure { label } | What::Advisory { label } => {
                wrap(label, WRAP.min(full_chars * 9 / 10))
            }
            _ => vec![String::new()],
        })
        .collect();
    let mut tops = Vec::with_capacity(d.rows.len());
    let mut y = HEAD + 10;
    for lines in &texts {
        tops.push(y);
        y += ROW * lines.len() as u32;
    }
    let bottom = y;
    let height = bottom + 16;
    let mid_of = |i: usize| tops[i] + ROW / 2;
    let mut body = String::new();
    let mut last_time = None;
    for (i, row) in d.rows.iter().enumerate() {
        let lines = &texts[i];
        let y = tops[i];
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
            What::Packet {
                from,
                to,
                label,
                net,
            } => {
                let (x1, x2) = (x_of(from), x_of(to));
                let span = x1.abs_diff(x2).max(col) as f64;
                let shown = shorten(label, (span / CHAR) as usize - 2);
                let class = if from == BROKER { "in" } else { "out" };
                let tip = match net.says() {
                    Some(said) => format!("{label} ({said})"),
                    None => label.clone(),
                };
                let xm = (x1 + x2) / 2;
                let line_y = mid + 5;
                let drawn = match net {
                    Net::Passed => format!(
                        r#"<line x1="{x1}" y1="{line_y}" x2="{x2}" y2="{line_y}" marker-end="url(#{id}-arrow)"/>"#
                    ),
                    // Down to the row it arrived on (or the bottom, if
                    // that row is not drawn).
                    Net::Held { at_ms } => {
                        let arrives = (i + 1..d.rows.len())
                            .find(|&k| {
                                matches!(&d.rows[k].what, What::Arrival { from: f, to: t, label: l, .. }
                                    if f == from && t == to && l == label && d.rows[k].at_ms == *at_ms)
                            })
                            .map_or(bottom, |k| mid_of(k) + 5);
                        format!(
                            r#"<line class="held" x1="{x1}" y1="{line_y}" x2="{x2}" y2="{arrives}" marker-end="url(#{id}-arrow)"/>"#
                        )
                    }
                    // Ends at the link, in a cross: it never got across.
                    Net::Lost | Net::Reset | Net::Pending => {
                        let kind = match net {
                            Net::Lost => "lost",
                            Net::Reset => "reset",
                            _ => "pending",
                        };
                        let (a, b) = (xm - 6, xm + 6);
                        let cross = if *net == Net::Pending {
                            String::new()
                        } else {
                            format!(
                                r#"<path class="cross" d="M {a} {} L {b} {} M {a} {} L {b} {}"/>"#,
                                line_y - 6,
                                line_y + 6,
                                line_y + 6,
                                line_y - 6
                            )
                        };
                        format!(
                            r#"<line class="{kind}" x1="{x1}" y1="{line_y}" x2="{xm}" y2="{line_y}"/>{cross}"#
                        )
                    }
                };
                let net_class = match net {
                    Net::Passed => "",
                    Net::Held { .. } => " held",
                    Net::Lost => " lost",
                    Net::Reset => " reset",
                    Net::Pending => " pending",
                };
                let _ = writeln!(
                    body,
                    r#"<g class="packet {class}{net_class}"><title>{}</title>{drawn}<text x="{xm}" y="{mid}">{}</text></g>"#,
                    esc(&tip),
                    esc(&shown),
                );
            }
            What::Arrival {
                from,
                to,
                label,
                sent_ms,
            } => {
                let x = x_of(to);
                let text = format!("arrives, held since {}", time_label(*sent_ms));
                // The text sits on the side the arrow came from.
                let (tx, anchor) = if x_of(from) < x {
                    (x - 8, "end")
                } else {
                    (x + 8, "start")
                };
                let _ = writeln!(
                    body,
                    r#"<g class="arrival"><title>{} — {text}</title><circle cx="{x}" cy="{}" r="4"/><text x="{tx}" y="{}" text-anchor="{anchor}">{}</text></g>"#,
                    esc(label),
                    mid + 5,
                    mid + 4,
                    esc(&text),
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
                    esc(&clip(label, (col as f64 / CHAR) as usize - 2)),
                );
            }
            What::Fault { on, label } => {
                // A fault on a client's link spans the link; one at the
                // broker sits on its lifeline.
                let (x1, x2) = if on == BROKER {
                    let text = (label.chars().count() as f64 * CHAR) as u32 + 30;
                    let half = text.clamp(80, col - 10) / 2;
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
    }
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
            x - col / 2 + 20,
            col - 40,
            esc(&clip(name, 28.min(((col - 50) as f64 / CHAR) as usize))),
        );
    }
    // Cut and stalled links, shaded on the client's lifeline under the
    // packets.
    for p in d.periods() {
        let x = x_of(&p.on);
        let top = p.from.map_or(HEAD, mid_of);
        let end = p.to.map_or(bottom, mid_of);
        let (class, what) = if p.stall {
            ("period stalled", "stalled")
        } else {
            ("period cut", "cut")
        };
        let when = |row: Option<usize>, or: &str| {
            row.map_or(or.to_owned(), |k| time_label(d.rows[k].at_ms))
        };
        let _ = writeln!(
            s,
            r#"<rect class="{class}" x="{}" y="{top}" width="12" height="{}"><title>{} {what} from {} to {}</title></rect>"#,
            x - 6,
            end.saturating_sub(top).max(2),
            esc(&p.on),
            when(p.from, "before"),
            when(p.to, "the end"),
        );
    }
    s.push_str(&body);
    s.push_str("</svg>\n");
    s
}

/// `label` in at most `max` characters, keeping what says what the packet
/// is: its type, QoS, DUP, RETAIN and packet id. A long topic is shortened
/// in the middle (`maison/…/temperature`), then the properties and the
/// payload go, then the topic's middle characters; the end is cut only
/// past those fields.
pub fn shorten(label: &str, max: usize) -> String {
    let fits = |s: &str| s.chars().count() <= max;
    let mut s = label.to_owned();
    if fits(&s) {
        return s;
    }
    // First the topic's middle levels, then what follows the flags (the
    // properties last on the line, then the payload), then the topic's
    // middle characters.
    let original = quoted_after(&s, "topic=").map(|(a, b)| s[a..b].to_owned());
    shorten_topic(&mut s, |topic| {
        middle_levels(topic).unwrap_or_else(|| topic.to_owned())
    });
    for field in [" props=", " payload="] {
        if fits(&s) {
            return s;
        }
        if let Some(at) = s.find(field) {
            s.truncate(at);
            s.push_str(" …");
        }
    }
    if let (false, Some(original)) = (fits(&s), original) {
        let over = s.chars().count() - max;
        shorten_topic(&mut s, |topic| {
            let keep = topic.chars().count().saturating_sub(over).max(3);
            middle_chars(&original, keep)
        });
    }
    // Past the flags only: a label a little too wide beats one that no
    // longer says what the packet was.
    let flags = [" qos=", " id=", " dup=", " retain="]
        .iter()
        .filter_map(|key| {
            let at = s.find(key)? + key.len();
            let end = s[at..].find(' ').map_or(s.len(), |n| at + n);
            Some(s[..end].chars().count())
        })
        .max()
        .unwrap_or(0);
    clip(&s, max.max(flags + 2))
}

/// Replaces the topic in `s` (`topic="a/b"`) with what `f` makes of it.
fn shorten_topic(s: &mut String, f: impl Fn(&str) -> String) {
    if let Some((start, end)) = quoted_after(s, "topic=") {
        let short = f(&s[start..end]);
        s.replace_range(start..end, &short);
    }
}

/// The byte range of the quoted string after `key` in `s` (a Rust-quoted
/// topic: `topic="a/b"`), without its quotes.
fn quoted_after(s: &str, key: &str) -> Option<(usize, usize)> {
    let start = s.find(&format!("{key}\""))? + key.len() + 1;
    let mut escaped = false;
    for (i, c) in s[start..].char_indices() {
        match c {
            '\\' if !escaped => escaped = true,
            '"' if !escaped => return Some((start, start + i)),
            _ => escaped = false,
        }
    }
    None
}

/// `topic`'s first and last levels around an ellipsis, if it has levels
/// between them.
fn middle_levels(topic: &str) -> Option<String> {
    let levels: Vec<&str> = topic.split('/').collect();
    (levels.len() > 2).then(|| format!("{}/…/{}", levels[0], levels[levels.len() - 1]))
}

/// `text` in `keep` characters: its two ends around an ellipsis.
fn middle_chars(text: &str, keep: usize) -> String {
    let n = text.chars().count();
    if n <= keep {
        return text.to_owned();
    }
    let head = keep.saturating_sub(1).div_ceil(2);
    let tail = keep.saturating_sub(1) - head;
    let mut out: String = text.chars().take(head).collect();
    out.push('…');
    out.extend(text.chars().skip(n - tail));
    out
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
.sequence .packet.held line { stroke-dasharray: 6 3; }
.sequence .packet.lost line, .sequence .packet.reset line, .sequence .packet.pending line { stroke: #c62828; stroke-dasharray: 5 3; }
.sequence .packet .cross { stroke: #c62828; stroke-width: 2.4; fill: none; }
.sequence .packet.lost text, .sequence .packet.reset text { fill: #b71c1c; }
.sequence .arrival circle { fill: #2b5aa0; }
.sequence .arrival text { fill: #2b5aa0; font-style: italic; }
.sequence .period.cut { fill: #c62828; opacity: .18; }
.sequence .period.stalled { fill: #d9822b; opacity: .22; }
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
