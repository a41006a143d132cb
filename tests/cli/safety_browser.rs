//! The verdict renderings (traceability table, GSN diagram) in a real headless browser:
//! no console messages, no external references, every row and element in the DOM, and a
//! non-blank screenshot kept as a test artefact. Skips without Chromium unless CI=true.

use crate::safety_fixture;

use adasval::report::{gsn_svg, trace};
use adasval::safety::{evaluate, Gsn, Requirements};
use safety_fixture::browser::{check_page, chromium, external_references, png_size};
use std::path::Path;

const REQS: &str = "schema_version: 1\nrequirements:
  - id: REQ-DET-001
    text: recall
    kind: detection
    metric: recall_lcb
    threshold: 0.8
  - id: REQ-TIM-001
    text: timing
    kind: timing
    metric: pwcet_ucb
    probability: 1.0e-6
  - id: REQ-CON-001
    text: flips
    kind: consistency
    metric: decision_flips
    threshold: 0
";

const GSN: &str = "G1:
  text: The engine is acceptably safe <for> pedestrians & cyclists.
  supportedBy: [S1]
  inContextOf: [C1]
C1:
  text: Operating domain.
S1:
  text: Argue over hazards.
  supportedBy: [G2, G3, G4]
G2:
  text: Recall holds.
  requirement: REQ-DET-001
  supportedBy: [Sn1]
G3:
  text: Timing holds.
  requirement: REQ-TIM-001
  supportedBy: [Sn1]
G4:
  text: Night.
  undeveloped: true
Sn1:
  text: Metrics
  evidence: [evidence.json]
";

fn page() -> (String, usize, usize) {
    let reqs = Requirements::parse(Path::new("r.yaml"), REQS).expect("reqs");
    let set = safety_fixture::evidence_set(&"e".repeat(64), &"a".repeat(64), true);
    let eval = evaluate(&reqs.requirements, &set);
    let rows = adasval::safety::traceability(&eval);
    let gsn = Gsn::parse(Path::new("g.yaml"), GSN).expect("gsn");
    let html = format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>verdicts</title>\
<style>td,th{{border:1px solid #999;padding:2px 6px}} .verdict-fail{{background:#f8d7da}}</style></head>\
<body><h1>Verdicts</h1>\n{}\n<h2>Safety case</h2>\n{}</body></html>\n",
        trace::html(&rows),
        gsn_svg::render_svg(&gsn, &eval)
    );
    (html, rows.len(), gsn.nodes.len())
}

#[test]
fn verdict_page_renders_cleanly_in_chromium() {
    let Some(bin) = chromium() else { return };
    let (html, rows, nodes) = page();
    assert_eq!(external_references(&html), Vec::<String>::new());
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("verdicts.html");
    std::fs::write(&path, &html).expect("write");
    let check = check_page(&bin, &path, "verdicts", (1400, 1000));
    assert_eq!(check.console, Vec::<String>::new(), "console messages");
    // The browser parsed every table row and every GSN element.
    assert_eq!(check.dom.matches("<tr><td>").count(), rows);
    assert_eq!(check.dom.matches("class=\"gsn-node ").count(), nodes);
    assert!(check.dom.contains("&lt;for&gt; pedestrians &amp; cyclists"));
    assert_eq!(png_size(&check.screenshot), (1400, 1000));
    // Not blank: a good share of the pixels are neither white nor one flat colour.
    let img = image::open(&check.screenshot).expect("decode").to_rgb8();
    let coloured = img.pixels().filter(|p| p.0 != [255, 255, 255]).count();
    assert!(
        coloured > 10_000,
        "screenshot nearly blank: {coloured} non-white pixels"
    );
    let reds = img.pixels().filter(|p| p.0 == [0xf8, 0xd7, 0xda]).count();
    assert!(
        reds > 100,
        "the failed goal / verdict cell is drawn in the failure colour"
    );
    eprintln!("screenshot kept at {}", check.screenshot.display());
}

/// The checks above can fail: a throwing script shows up as console output, and an
/// external image is flagged.
#[test]
fn harness_detects_console_errors_and_external_references() {
    let Some(bin) = chromium() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bad.html");
    let html = "<!doctype html><html><body><p>x</p><img src=\"https://example.invalid/a.png\">\
<script>throw new Error('boom')</script></body></html>";
    std::fs::write(&path, html).expect("write");
    assert_eq!(
        external_references(html),
        vec!["src=\"https://example.invalid/a.png"]
    );
    let check = check_page(&bin, &path, "negative-control", (400, 300));
    assert!(
        check
            .console
            .iter()
            .any(|l| l.contains("Uncaught Error: boom")),
        "{:?}",
        check.console
    );
}
