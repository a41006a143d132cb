//! Self-contained HTML: inline CSS and SVG, no scripts from the network.

use super::{esc, Section};

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px;color:#222}\
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px;text-align:left}\
th{background:#f3f3f3}code{font-size:12px}.pass{color:#1a7f37}.fail{color:#cf222e}.nodata{color:#9a6700}\
figure{display:inline-block;margin:0 1em 1em 0}section>svg{max-width:100%;height:auto}figcaption{font-size:12px;color:#555}nav a{margin-right:1em}";

pub fn page(title: &str, sections: &[Section]) -> String {
    let nav: String = sections
        .iter()
        .map(|s| format!("<a href=\"#{}\">{}</a>", esc(&s.id), esc(&s.title)))
        .collect();
    let body: String = sections
        .iter()
        .map(|s| {
            format!(
                "<section id=\"{}\"><h2>{}</h2>{}</section>",
                esc(&s.id),
                esc(&s.title),
                s.html
            )
        })
        .collect();
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title><style>{STYLE}</style></head><body><h1>{t}</h1><nav>{nav}</nav>{body}</body></html>\n",
        t = esc(title)
    )
}
