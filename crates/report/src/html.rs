//! Reports as one self-contained HTML file each (styles, script and
//! diagrams inline; nothing fetched from the network): the comparison
//! matrix with its filters and every failure's sequence diagram, and a
//! single replayed run.

use std::fmt::Write as _;

use crate::compare::{Comparison, AREAS};
use crate::diagram::{self, Diagram};
use crate::markup::esc;

fn page(title: &str, body: &str, script: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{PAGE_STYLE}</style>\n</head>\n<body>\n{body}\
         <script>{script}</script>\n</body>\n</html>\n",
        esc(title)
    )
}

/// The comparison as a page: totals per broker, the matrix (filtered by
/// area and by outcome), and beside it the failure chosen in the matrix
/// with its reason and sequence diagram.
pub fn comparison(c: &Comparison) -> String {
    let mut b = String::new();
    let _ = writeln!(b, "<header><h1>Broker comparison</h1>");
    let _ = writeln!(
        b,
        "<p class=\"meta\">gauntlet {}, seed {}, {}. Each scenario and workload of the \
         library, on each MQTT version it covers, against each broker over real TCP.</p>",
        esc(&c.gauntlet_version),
        c.seed,
        esc(&c.date)
    );
    let _ = writeln!(
        b,
        "<table id=\"totals\"><thead><tr><th>broker</th><th>version</th>\
         <th>pass</th><th>advisory</th><th>fail</th><th>skip</th></tr></thead><tbody>"
    );
    for br in &c.brokers {
        let _ = writeln!(
            b,
            "<tr><td>{}</td><td>{}</td><td class=\"n pass\">{}</td>\
             <td class=\"n advisory\">{}</td><td class=\"n fail\">{}</td>\
             <td class=\"n skip\">{}</td></tr>",
            esc(&br.name),
            esc(br.version.as_deref().unwrap_or("?")),
            br.totals.pass,
            br.totals.advisory,
            br.totals.fail,
            br.totals.skip
        );
    }
    let _ = writeln!(b, "</tbody></table></header>");

    let _ = writeln!(b, "<form id=\"filters\" onsubmit=\"return false\">");
    let _ = writeln!(b, "<fieldset id=\"areas\"><legend>Area</legend>");
    for area in AREAS {
        let n = c.rows.iter().filter(|r| r.area == *area).count();
        if n == 0 {
            continue;
        }
        let _ = writeln!(
            b,
            "<label><input type=\"checkbox\" name=\"area\" value=\"{}\" checked> {} \
             <span class=\"count\">{n}</span></label>",
            esc(area),
            esc(area)
        );
    }
    let _ = writeln!(b, "</fieldset>");
    let _ = writeln!(
        b,
        "<fieldset id=\"outcomes\"><legend>Outcome</legend>\
         <label>show <select id=\"outcome\" name=\"outcome\">\
         <option value=\"all\">every scenario</option>\
         <option value=\"fail\">failing on some broker</option>\
         <option value=\"advisory\">with an advisory on some broker</option>\
         <option value=\"skip\">skipped on some broker</option>\
         <option value=\"pass\">passing on every broker</option>\
         <option value=\"differ\">differing between brokers</option>\
         </select></label> <span id=\"shown\"></span></fieldset>"
    );
    let _ = writeln!(b, "</form>");

    let _ = writeln!(b, "<main><div id=\"matrix-pane\"><table id=\"matrix\"><thead><tr><th>scenario</th><th>area</th>");
    for br in &c.brokers {
        let _ = write!(b, "<th>{}</th>", esc(&br.name));
    }
    let _ = writeln!(b, "</tr></thead><tbody>");
    let mut details = String::new();
    let mut failure_no = 0;
    for row in &c.rows {
        let outcomes: Vec<&str> = row.cells.iter().map(|c| c.outcome.column()).collect();
        let mut kinds = outcomes.clone();
        kinds.sort_unstable();
        kinds.dedup();
        let _ = write!(
            b,
            "<tr data-area=\"{}\" data-outcomes=\"{}\"><td class=\"name\" title=\"{}\">{}</td><td class=\"area\">{}</td>",
            esc(row.area),
            kinds.join(" "),
            esc(&format!("{} ({})", row.title, row.file)),
            esc(&row.name),
            esc(row.area)
        );
        for (cell, br) in row.cells.iter().zip(&c.brokers) {
            let flaky = if cell.flaky { " flaky" } else { "" };
            let column = cell.outcome.column();
            let label = if cell.flaky {
                format!("{column} (flaky)")
            } else {
                column.to_owned()
            };
            match cell.outcome {
                o if o.failed() => {
                    failure_no += 1;
                    let id = format!("failure-{failure_no}");
                    let _ = write!(
                        b,
                        "<td class=\"cell fail{flaky}\"><button type=\"button\" class=\"pick\" \
                         data-target=\"{id}\" title=\"{}\">{label}</button></td>",
                        esc(cell.reason.as_deref().unwrap_or(""))
                    );
                    let _ = writeln!(
                        details,
                        "<article class=\"failure\" id=\"{id}\" hidden>\
                         <h2>{} <span class=\"on\">on</span> {}</h2>\
                         <p class=\"file\">{} — {}</p>\
                         <p class=\"reason\">{}</p>",
                        esc(&row.name),
                        esc(&br.name),
                        esc(&row.file),
                        esc(&row.title),
                        esc(cell.reason.as_deref().unwrap_or("failed"))
                    );
                    // The raw account, where the reason line is a reviewed
                    // one that does not already quote it.
                    let reason = cell.reason.as_deref().unwrap_or("");
                    let quoted =
                        |m: &str| m.lines().next().is_some_and(|l| reason.contains(l.trim()));
                    if let Some(m) = cell.message.as_deref().filter(|m| !quoted(m)) {
                        let _ = writeln!(details, "<pre class=\"message\">{}</pre>", esc(m));
                    }
                    match &cell.diagram {
                        Some(d) => {
                            let title = format!("{} on {}", row.name, br.name);
                            let _ = writeln!(
                                details,
                                "<div class=\"diagram\">{}</div>",
                                diagram::svg(d, &title, &format!("d{failure_no}"))
                            );
                        }
                        None => {
                            let _ = writeln!(
                                details,
                                "<p class=\"none\">No trace: the run failed before any packet was exchanged.</p>"
                            );
                        }
                    }
                    let _ = writeln!(details, "</article>");
                }
                _ => {
                    let title = cell
                        .reason
                        .as_deref()
                        .map(|r| format!(" title=\"{}\"", esc(r)))
                        .unwrap_or_default();
                    let _ = write!(b, "<td class=\"cell {column}{flaky}\"{title}>{label}</td>");
                }
            }
        }
        let _ = writeln!(b, "</tr>");
    }
    let _ = writeln!(b, "</tbody></table></div>");
    let _ = writeln!(
        b,
        "<aside id=\"details\"><p id=\"placeholder\">{}</p>\n{details}</aside></main>",
        if failure_no == 0 {
            "No failures: every run passed or was skipped."
        } else {
            "Select a failure in the matrix to see its sequence diagram."
        }
    );
    page("gauntlet: broker comparison", &b, COMPARISON_SCRIPT)
}

/// One replayed run for the replay page.
pub struct ReplayRun {
    pub title: String,
    pub passed: bool,
    /// What went wrong, for a failed run.
    pub message: Option<String>,
    pub diagram: Diagram,
    /// The whole trace as text.
    pub trace: String,
}

/// Runs of one scenario replayed from a seed, each drawn as a sequence
/// diagram with its text trace below.
pub fn replay(scenario: &str, file: &str, seed: u64, runs: &[ReplayRun]) -> String {
    let mut b = String::new();
    let _ = writeln!(
        b,
        "<header><h1>{}</h1><p class=\"meta\">{} — seed {seed}, replayed in simulation \
         against the reference broker.</p></header>",
        esc(scenario),
        esc(file)
    );
    for (i, r) in runs.iter().enumerate() {
        let (class, verdict) = if r.passed {
            ("pass", "passed")
        } else {
            ("fail", "FAILED")
        };
        let _ = writeln!(
            b,
            "<section class=\"run\"><h2>{} <span class=\"verdict {class}\">{verdict}</span></h2>",
            esc(&r.title)
        );
        if let Some(m) = &r.message {
            let _ = writeln!(b, "<pre class=\"message\">{}</pre>", esc(m));
        }
        let _ = writeln!(
            b,
            "<div class=\"diagram\">{}</div>",
            diagram::svg(&r.diagram, &r.title, &format!("r{}", i + 1))
        );
        let _ = writeln!(
            b,
            "<details><summary>trace as text</summary><pre>{}</pre></details></section>",
            esc(&r.trace)
        );
    }
    page(&format!("gauntlet replay: {scenario}"), &b, "")
}

const PAGE_STYLE: &str = r#"
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 1.2em 2em; color: #1d1d1f; }
h1 { font-size: 1.4em; margin: .6em 0 .2em; }
h2 { font-size: 1.05em; }
.meta, .file { color: #555; font-size: .9em; }
table { border-collapse: collapse; font-size: .85em; }
th, td { border: 1px solid #ddd; padding: 2px 8px; text-align: left; }
th { background: #f4f4f6; position: sticky; top: 0; }
#totals td.n { text-align: right; }
#filters { display: flex; flex-wrap: wrap; gap: .8em; margin: .8em 0; font-size: .9em; }
#filters fieldset { border: 1px solid #ccc; border-radius: 4px; }
#filters label { margin-right: .7em; white-space: nowrap; }
.count { color: #888; font-size: .85em; }
main { display: grid; grid-template-columns: max-content minmax(0, 1fr); gap: 1em; align-items: start; }
#matrix td.name { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: .95em; }
#matrix td.area { color: #777; }
.cell { text-align: center; white-space: nowrap; }
.cell.pass { background: #e6f4e8; color: #1e6b2c; }
.cell.skip { background: #f2f2f2; color: #888; }
.cell.advisory { background: #e3ecfa; color: #1f4e99; font-style: italic; }
.n.advisory { color: #1f4e99; }
.cell.fail { background: #fbe3e1; }
.cell.fail.flaky { background: #fdf1d8; }
.cell.fail button { font: inherit; color: #a31515; font-weight: bold; background: none; border: 0; cursor: pointer; text-decoration: underline; padding: 0; }
.cell.fail.selected { outline: 2px solid #a31515; outline-offset: -2px; }
#details { position: sticky; top: 0; max-height: 100vh; overflow: auto; }
.failure h2 .on { color: #888; font-weight: normal; }
.reason { background: #fbe3e1; border-left: 4px solid #c62828; padding: .4em .6em; }
pre.message { white-space: pre-wrap; font-size: .85em; background: #f7f7f7; padding: .5em; }
.diagram { overflow-x: auto; border: 1px solid #e3e3e3; }
.diagram svg { display: block; max-width: 100%; height: auto; }
.verdict.pass { color: #1e6b2c; }
.verdict.fail { color: #c62828; }
details pre { font-size: .8em; overflow-x: auto; }
@media (max-width: 1100px) { main { grid-template-columns: minmax(0, 1fr); } #matrix-pane { overflow-x: auto; } #details { position: static; max-height: none; } }
"#;

/// Filters rows by area and outcome; a failure's button shows its article
/// (and puts `show=<its id>` in the address, so a link opens on it).
const COMPARISON_SCRIPT: &str = r#"
(function () {
  const rows = Array.from(document.querySelectorAll('#matrix tbody tr'));
  const shown = document.getElementById('shown');
  function apply() {
    const areas = new Set(Array.from(document.querySelectorAll('input[name=area]:checked')).map(i => i.value));
    const want = document.getElementById('outcome').value;
    let n = 0;
    for (const r of rows) {
      const kinds = r.dataset.outcomes.split(' ');
      const ok = want === 'all' ? true
        : want === 'pass' ? kinds.length === 1 && kinds[0] === 'pass'
        : want === 'differ' ? kinds.length > 1
        : kinds.includes(want);
      r.hidden = !(areas.has(r.dataset.area) && ok);
      if (!r.hidden) n++;
    }
    shown.textContent = n + ' of ' + rows.length + ' shown';
  }
  function select(id) {
    const target = document.getElementById(id);
    if (!target || !target.classList.contains('failure')) return false;
    for (const a of document.querySelectorAll('#details article')) a.hidden = a !== target;
    document.getElementById('placeholder').hidden = true;
    for (const c of document.querySelectorAll('.cell.selected')) c.classList.remove('selected');
    const button = document.querySelector('button[data-target="' + id + '"]');
    if (button) button.parentElement.classList.add('selected');
    return true;
  }
  document.getElementById('filters').addEventListener('change', apply);
  document.getElementById('matrix').addEventListener('click', e => {
    const b = e.target.closest('button.pick');
    if (b && select(b.dataset.target)) history.replaceState(null, '', '#show=' + b.dataset.target);
  });
  apply();
  // `#show=failure-3`, not `#failure-3`: the browser would scroll to the
  // article's own id, away from the matrix.
  if (location.hash.startsWith('#show=')) select(location.hash.slice(6));
})();
"#;

#[cfg(test)]
mod tests {
    #[test]
    fn the_comparison_page_embeds_each_failure_diagram() {
        let c = crate::compare::tests::one_failure();
        let d = c.rows[0].cells[0].diagram.as_ref().expect("a diagram");
        let svg = crate::diagram::svg(d, &format!("{} on b", c.rows[0].name), "d1");
        let page = super::comparison(&c);
        assert!(page.contains(&svg), "the HTML report embeds the diagram");
        assert!(page.contains("data-target=\"failure-1\""));
    }
}
