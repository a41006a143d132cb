//! The HTML report of a real `validate` run in headless Chromium: it leads with one verdict
//! row per requirement, its SVG plots are non-empty, it logs nothing to the console, it
//! references nothing outside itself, and a screenshot is kept as a test artefact.
//! Skips without Chromium unless CI=true.

use crate::common;
use crate::safety_fixture;

use common::*;
use safety_fixture::browser::{check_page, chromium, external_references};

#[test]
fn validate_report_renders_cleanly() {
    let Some(bin) = chromium() else { return };
    let d = noop_project();
    let sc = d.path().join("safety-case");
    std::fs::create_dir_all(&sc).unwrap();
    std::fs::copy(
        repo_root().join("safety-case/gsn.yaml"),
        sc.join("gsn.yaml"),
    )
    .unwrap();
    let reqs = std::fs::read_to_string(repo_root().join("safety-case/requirements.yaml")).unwrap();
    std::fs::write(sc.join("requirements.yaml"), &reqs).unwrap();
    let n_reqs = reqs
        .lines()
        .filter(|l| l.trim_start().starts_with("- id:"))
        .count();
    assert!(n_reqs >= 4);

    let (code, out, err) = run(adasval().current_dir(d.path()).args([
        "validate",
        "--backend",
        "noop",
        "--repetitions",
        "40",
    ]));
    assert!(code == 0 || code == 1, "{out}{err}");
    let html = d.path().join(out.trim()).join("report.html");
    let text = std::fs::read_to_string(&html).unwrap();
    assert!(
        external_references(&text).is_empty(),
        "{:?}",
        external_references(&text)
    );
    // Verdicts lead the page.
    let first_section = text.find("<section id=\"").unwrap();
    assert!(text[first_section..].starts_with("<section id=\"verdicts\""));

    let page = check_page(&bin, &html, "validate-report", (1400, 2400));
    assert!(page.console.is_empty(), "console: {:?}", page.console);
    let rows = page.dom.matches("data-verdict=").count();
    assert_eq!(rows, n_reqs, "one verdict row per requirement");
    // Every plot is a real SVG with drawn content.
    let svgs: Vec<&str> = page.dom.split("<svg").skip(1).collect();
    assert!(
        svgs.len() >= 2,
        "expected the latency histogram and the GSN diagram"
    );
    for s in &svgs {
        let body = &s[..s.find("</svg>").unwrap_or(s.len())];
        assert!(
            body.contains("<rect") || body.contains("<path") || body.contains("<polygon"),
            "empty SVG"
        );
    }
    let png = std::fs::read(&page.screenshot).unwrap();
    assert!(png.len() > 10_000, "screenshot looks blank");
}
