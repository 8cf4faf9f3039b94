//! `keyward audit report --html`: the page is rendered in headless Chromium (Debian package
//! `chromium`, installed by scripts/lib.sh `kw_ensure_system_deps`), which must draw every
//! chart with no console message and no script error; the screenshot is kept in
//! `target/tmp/audit-report/` (the page and the log beside it).

mod common;

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use common::audit_fixture::fixture;
use common::Env;

/// Runs chromium headless on `page` with a profile of its own (tests run in parallel).
fn chromium(page: &Path, profile: &Path, args: &[&str]) -> Output {
    let found = Command::new("sh")
        .args(["-c", "command -v chromium"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(
        found,
        "chromium is not installed: the report test renders the page in it \
         (apt-get install chromium; scripts/test.sh installs it)"
    );
    Command::new("timeout")
        .arg("120")
        .arg("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run chromium")
}

/// The DOM after the page's script ran, and chromium's stderr.
fn rendered(page: &Path, profile: &Path) -> (String, String) {
    let out = chromium(page, profile, &["--dump-dom", "--virtual-time-budget=5000"]);
    assert!(out.status.success(), "chromium --dump-dom failed: {out:?}");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// How many drawn marks (bars) the chart `id` holds in the dumped DOM.
fn marks(dom: &str, id: &str) -> usize {
    let start = dom
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} in the page"));
    let end = dom[start..].find("</svg>").map_or(dom.len(), |e| start + e);
    dom[start..end].matches("class=\"mark\"").count()
}

fn console_lines(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| {
            l.contains("CONSOLE") || l.contains("Uncaught") || l.contains("Content Security Policy")
        })
        .collect()
}

#[test]
fn the_html_report_draws_in_chromium() {
    let out_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("audit-report");
    std::fs::create_dir_all(&out_dir).unwrap();
    let work = tempfile::tempdir().unwrap();
    let log = out_dir.join("audit.jsonl");
    let _ = std::fs::remove_file(&log);
    // 100 orders over about 2.5 s: a timeline of about 26 bars of 100 ms.
    fixture(&log, Duration::from_millis(25));
    let page = out_dir.join("report.html");
    // The config of a real set-up with vaults for binance-main and binance-alt: their key
    // dates come from the vault files.
    let env = Env::start();
    let out = env.run(
        &[
            "audit",
            "report",
            "--html",
            page.to_str().unwrap(),
            "--config",
            env.config.to_str().unwrap(),
            log.to_str().unwrap(),
        ],
        None,
    );
    assert!(out.status.success(), "{out:?}");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("122 requests and frames (allow 104, deny 10, refuse 3, error 5)"),
        "{said}"
    );
    let html = std::fs::read_to_string(&page).unwrap();
    // Nothing to fetch: the only URL in the page is the SVG namespace name.
    let urls = html.replace("\"http://www.w3.org/2000/svg\"", "");
    assert!(
        !urls.contains("http://") && !urls.contains("https://") && !urls.contains("src="),
        "the page refers to the network"
    );

    let (dom, stderr) = rendered(&page, &work.path().join("profile"));
    assert!(dom.contains("data-charts=\"5\""), "{dom}");
    assert!(
        dom.contains("data-charts-drawn=\"5\""),
        "not every chart drew: {dom}"
    );
    assert!(dom.contains("data-errors=\"\""), "script errors: {dom}");
    assert_eq!(
        console_lines(&stderr),
        Vec::<&str>::new(),
        "console messages: {stderr}"
    );
    let timeline = marks(&dom, "chart-timeline");
    assert!(timeline >= 20, "{timeline} timeline bars: {dom}");
    // Denied endpoints: the withdrawal and the three refused paths; clients grid-bot, unknown.
    assert_eq!(marks(&dom, "chart-denied-endpoints"), 4);
    assert_eq!(marks(&dom, "chart-denied-clients"), 2);
    assert_eq!(marks(&dom, "chart-latency"), 5);
    // Two credentials, each with its age and (from its vault) the days until it ends.
    assert_eq!(marks(&dom, "chart-credentials"), 4);
    assert!(dom.contains(">p99<") && dom.contains(">5000 ms<"), "{dom}");
    assert!(
        dom.contains(">binance-main<") && dom.contains(">binance-alt<"),
        "{dom}"
    );
    // The hostile path is shown as text; its script did not run.
    assert!(dom.contains("<title>keyward audit report</title>"), "{dom}");
    let vault: serde_json::Value =
        serde_json::from_slice(&std::fs::read(env.dir.join("vault/binance-main.kwv")).unwrap())
            .unwrap();
    let newest = vault["versions"]
        .as_array()
        .and_then(|v| v.last())
        .unwrap_or(&vault);
    let created = newest["created"].as_str().unwrap();
    assert!(
        dom.contains(&format!("<td>{created}</td>")),
        "{created} not shown: {dom}"
    );
    assert!(
        dom.contains("(rotate_after_days = ") || dom.contains("(sealed expiry)"),
        "{dom}"
    );
    assert!(
        dom.contains("&lt;/script&gt;&lt;script&gt;document.title="),
        "{dom}"
    );

    let shot = out_dir.join("report.png");
    let _ = std::fs::remove_file(&shot);
    let out = chromium(
        &page,
        &work.path().join("profile-shot"),
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1280,1400",
            "--virtual-time-budget=5000",
        ],
    );
    assert!(
        out.status.success(),
        "chromium --screenshot failed: {out:?}"
    );
    let png = std::fs::read(&shot).expect("the screenshot was written");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
    assert_eq!(width, 1280);
    assert!(
        png.len() > 20_000,
        "a {} byte screenshot is blank",
        png.len()
    );
    eprintln!("screenshot: {}", shot.display());
}

/// The page's Content-Security-Policy admits only its own script, by hash: a page whose script
/// was altered draws nothing (which is also what the marker check above would catch).
#[test]
fn an_altered_script_is_refused_by_the_pages_policy() {
    let work = tempfile::tempdir().unwrap();
    let log = work.path().join("audit.jsonl");
    fixture(&log, Duration::ZERO);
    let page = work.path().join("report.html");
    let out = Command::new(env!("CARGO_BIN_EXE_keyward"))
        .args(["audit", "report", "--html"])
        .arg(&page)
        .arg(&log)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let html = std::fs::read_to_string(&page).unwrap();
    std::fs::write(
        &page,
        html.replace("<script>\"use strict\";", "<script>\"use strict\"; "),
    )
    .unwrap();
    let (dom, stderr) = rendered(&page, &work.path().join("profile"));
    assert!(dom.contains("data-charts-drawn=\"0\""), "{dom}");
    assert!(!dom.contains("data-charts=\"5\""), "{dom}");
    assert!(
        stderr.contains("Content Security Policy"),
        "chromium did not report the refused script: {stderr}"
    );
}
