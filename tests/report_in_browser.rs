//! The comparison report as a person sees it: opened in headless Chromium
//! (driven over WebDriver by chromedriver), the matrix renders, the filters
//! hide what they should, and choosing a failure shows its sequence
//! diagram. Saves a screenshot to `target/report-screenshots/`. Skipped,
//! saying so, where chromium or chromedriver is missing (`.ci/run` installs
//! Debian's `chromium` and `chromium-driver`).

mod common;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{gauntlet, text};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

fn on_path(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(program))
            .find(|p| p.is_file())
    })
}

/// chromedriver, killed when the test ends however it ends.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_driver(chromedriver: &Path) -> (Driver, u16) {
    let port = free_port();
    let child = Command::new(chromedriver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let driver = Driver(child);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        assert!(
            Instant::now() < deadline,
            "chromedriver did not listen on {addr} within 20 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    (driver, port)
}

async fn count(c: &Client, css: &str) -> usize {
    c.find_all(Locator::Css(css)).await.unwrap().len()
}

async fn visible_rows(c: &Client) -> usize {
    c.execute(
        "return Array.from(document.querySelectorAll('#matrix tbody tr')).filter(r => !r.hidden && r.offsetParent !== null).length",
        vec![],
    )
    .await
    .unwrap()
    .as_u64()
    .unwrap() as usize
}

#[test]
fn the_comparison_report_renders_and_shows_a_failure_when_selected() {
    let (Some(chromium), Some(chromedriver)) = (
        on_path("chromium").or_else(|| on_path("chromium-browser")),
        on_path("chromedriver"),
    ) else {
        eprintln!(
            "skipped: chromium or chromedriver not found (apt-get install chromium chromium-driver)"
        );
        return;
    };
    let exe = Path::new(env!("CARGO_BIN_EXE_gauntlet"));
    if !exe.with_file_name("reference-broker").is_file() {
        eprintln!(
            "skipped: reference-broker is not built next to gauntlet; run `cargo test --workspace`"
        );
        return;
    }

    // A real comparison: one scenario that passes and one that fails on
    // purpose, against the reference broker over TCP.
    let dir = tempfile::tempdir().unwrap();
    let out = gauntlet(&[
        "compare",
        "--broker",
        "reference",
        "--out",
        dir.path().to_str().unwrap(),
        "--date",
        "2026-12-05",
        "scenarios/conformance/qos0_flow.yaml",
        "tests/fixtures/failing/wrong_payload.yaml",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let html = dir.path().join("comparison.html");
    let page = std::fs::read_to_string(&html).unwrap();
    // Self-contained: nothing to fetch (the only URL is SVG's namespace).
    for (i, _) in page.match_indices("http") {
        assert!(
            page[i..].starts_with("http://www.w3.org/2000/svg"),
            "the report refers to {}",
            &page[i..(i + 60).min(page.len())]
        );
    }

    let (_driver, port) = start_driver(&chromedriver);
    let profile = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": chromium,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-quic", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--window-size=1600,1000",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            }),
        );
        let c = tokio::time::timeout(
            Duration::from_secs(60),
            ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                .capabilities(caps)
                .connect(&format!("http://127.0.0.1:{port}")),
        )
        .await
        .expect("a browser session within 60 s")
        .expect("chromedriver opens a session");
        c.goto(&format!("file://{}", html.display())).await.unwrap();

        // The matrix: a row per run (two scenarios on two versions each).
        assert_eq!(count(&c, "#matrix tbody tr").await, 4);
        assert_eq!(visible_rows(&c).await, 4);
        assert_eq!(count(&c, "#matrix td.cell.pass").await, 2);
        assert_eq!(count(&c, "#matrix td.cell.fail button.pick").await, 2);
        let shown = c.find(Locator::Id("shown")).await.unwrap();
        assert_eq!(shown.text().await.unwrap(), "4 of 4 shown");

        // Before a choice, no failure is shown.
        let first = c
            .find(Locator::Css("#details article.failure"))
            .await
            .unwrap();
        assert!(!first.is_displayed().await.unwrap());
        assert!(c
            .find(Locator::Id("placeholder"))
            .await
            .unwrap()
            .is_displayed()
            .await
            .unwrap());

        // Outcome filter: only the rows that pass everywhere.
        c.find(Locator::Css("#outcome option[value=pass]"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        assert_eq!(visible_rows(&c).await, 2);
        assert_eq!(shown.text().await.unwrap(), "2 of 4 shown");
        c.find(Locator::Css("#outcome option[value=all]"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        assert_eq!(visible_rows(&c).await, 4);

        // Choosing a failure shows its reason and its sequence diagram,
        // with the failing expectation highlighted.
        let button = c
            .find(Locator::Css("#matrix td.cell.fail button.pick"))
            .await
            .unwrap();
        let target = button.attr("data-target").await.unwrap().unwrap();
        button.click().await.unwrap();
        let article = c.find(Locator::Id(&target)).await.unwrap();
        assert!(article.is_displayed().await.unwrap());
        let heading = article
            .find(Locator::Css("h2"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(heading.contains("wrong_payload"), "{heading}");
        let svg = article.find(Locator::Css("svg.sequence")).await.unwrap();
        assert!(svg.is_displayed().await.unwrap());
        let lifelines = article
            .find_all(Locator::Css("svg.sequence .lifeline text"))
            .await
            .unwrap();
        let mut names = Vec::new();
        for l in &lifelines {
            names.push(l.text().await.unwrap());
        }
        assert_eq!(names, ["broker", "dashboard", "sensor"]);
        assert!(count(&c, &format!("#{target} svg .packet")).await >= 6);
        let failure = article
            .find(Locator::Css("svg .failure text"))
            .await
            .unwrap();
        assert!(failure.is_displayed().await.unwrap());
        let said = failure.text().await.unwrap();
        assert!(said.contains("payload"), "{said}");
        assert_eq!(count(&c, &format!("#{target} svg .step.failed")).await, 1);
        // The chosen cell is marked, and the address names the failure.
        assert_eq!(count(&c, "#matrix td.cell.fail.selected").await, 1);
        let url = c.current_url().await.unwrap();
        assert_eq!(url.fragment(), Some(format!("show={target}").as_str()));

        // Every lifeline is in sight in the panel, even a narrow one (the
        // page goes to one column under 1100 px): the drawing scales to
        // the panel's width rather than hiding lifelines past its edge.
        let lifelines_in_sight = |width: u32| {
            let c = c.clone();
            let target = target.clone();
            async move {
                c.set_window_size(width, 1000).await.unwrap();
                c.execute(
                    "const art = document.getElementById(arguments[0]);
                     const box = art.querySelector('.diagram').getBoundingClientRect();
                     const names = Array.from(art.querySelectorAll('svg.sequence .lifeline text'));
                     return names.length > 0 && names.every(t => {
                       const r = t.getBoundingClientRect();
                       return r.width > 0 && r.left >= box.left && r.right <= box.right;
                     });",
                    vec![json!(target)],
                )
                .await
                .unwrap()
                .as_bool()
                .unwrap()
            }
        };
        assert!(
            lifelines_in_sight(800).await,
            "every lifeline in sight at 800 px"
        );
        assert!(
            lifelines_in_sight(1600).await,
            "every lifeline in sight at 1600 px"
        );

        let png = c.screenshot().await.unwrap();
        assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
        let shots = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .parent()
            .unwrap()
            .join("report-screenshots");
        std::fs::create_dir_all(&shots).unwrap();
        let file = shots.join("comparison-failure-selected.png");
        std::fs::write(&file, png).unwrap();
        eprintln!("screenshot: {}", file.display());
        c.close().await.unwrap();
    });
}
