//! timeline.html opens in a real browser: a clean mock run's page is drawn by
//! headless Chromium without a script error.

mod common;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const CHROMIUM: &str = "/usr/bin/chromium";
/// Long enough for a cold start on a busy 2-core machine.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(120);

#[test]
fn the_timeline_of_a_clean_run_renders_in_a_browser() {
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: run `bash docker/setup.sh` (as root), which installs it"
    );
    let run = common::run_full("scenarios/mock/clean.toml");
    assert_eq!(run.code, 0, "the clean scenario passes");
    let dir = PathBuf::from(run.verdict["dir"].as_str().expect("run folder in verdict.json"));
    let page = dir.join("timeline.html");
    assert!(page.exists(), "no {}", page.display());
    let data = common::timeline_data(&dir);
    let v = &run.verdict["verdict"];
    assert_eq!(sum(&data["processed"]), v["totals"]["processed"].as_u64(), "the page counts what the verdict counts");
    assert_eq!(sum(&data["redelivered"]), v["counts"]["redelivery"].as_u64());
    assert_eq!(data["members"].as_array().map(Vec::len), Some(2), "one row per member");
    assert_eq!(data["lag"][0]["group"], "g0", "group names are shortened on the page");

    let dom = dump_dom(&page);
    let body = body_tag(&dom).unwrap_or_else(|| panic!("no <body> in the dumped DOM:\n{dom}"));
    assert_eq!(attr(body, "data-error"), None, "script error on the page: {body}");
    assert_eq!(attr(body, "data-rendered").as_deref(), Some("ok"), "chart not drawn: {body}");
    let marks: u64 = attr(body, "data-marks").and_then(|m| m.parse().ok()).unwrap_or(0);
    assert!(marks > 0, "nothing drawn in the lanes: {body}");
}

fn sum(series: &Value) -> Option<u64> {
    series.as_array().map(|values| values.iter().filter_map(Value::as_u64).sum())
}

/// The DOM after the page's scripts ran, as headless Chromium serializes it.
fn dump_dom(page: &Path) -> String {
    let profile = tempfile::tempdir().expect("temp dir");
    let out_path = profile.path().join("dom.html");
    let mut child = Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--virtual-time-budget=5000",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.path().join("profile").display()))
        .arg(format!("file://{}", page.display()))
        // A file, not a pipe: the DOM can outgrow a pipe buffer while we wait.
        .stdout(File::create(&out_path).expect("dom file"))
        .stderr(Stdio::null())
        .spawn()
        .expect("chromium starts");
    let deadline = Instant::now() + BROWSER_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for chromium") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within {BROWSER_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "chromium failed: {status}");
    std::fs::read_to_string(&out_path).expect("dumped DOM")
}

/// The opening `<body ...>` tag.
fn body_tag(dom: &str) -> Option<&str> {
    let start = dom.find("<body")?;
    let len = dom[start..].find('>')?;
    Some(&dom[start..=start + len])
}

/// The value of attribute `name` in a tag (Chromium quotes values with `"`).
fn attr(tag: &str, name: &str) -> Option<String> {
    let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    let len = tag[start..].find('"')?;
    Some(tag[start..start + len].to_string())
}
