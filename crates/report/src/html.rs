//! The HTML rendering of a [`Document`]: one self-contained page, inline CSS and SVG, no
//! scripts and nothing loaded from the network.

use crate::doc::{Block, Document, Figure, Row, Section, Span, Table};
use crate::esc;

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px;color:#222}\
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px;text-align:left}\
th{background:#f3f3f3}code{font-size:12px}.pass{color:#1a7f37}.fail{color:#cf222e}.nodata{color:#9a6700}\
figure{display:inline-block;margin:0 1em 1em 0}section>svg{max-width:100%;height:auto}figcaption{font-size:12px;color:#555}nav a{margin-right:1em}\
.banner{font-size:18px;font-weight:700;padding:.5em 1em;border:2px solid}.banner.pass{background:#dafbe1}.banner.fail{background:#ffebe9}\
.warning{background:#fff8c5;border:1px solid #d4a72c;padding:.5em 1em;font-weight:600}";

pub fn page(d: &Document) -> String {
    page_warned(d, &[])
}

/// The page with `warnings` shown as a banner under the title.
pub fn page_warned(d: &Document, warnings: &[String]) -> String {
    let banner: String = warnings
        .iter()
        .map(|w| format!("<p class=\"warning\" role=\"alert\">⚠️ {}</p>", esc(w)))
        .collect();
    let nav: String = d
        .sections
        .iter()
        .map(|s| format!("<a href=\"#{}\">{}</a>", esc(&s.id), esc(&s.title)))
        .collect();
    let body: String = d.sections.iter().map(section).collect();
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title><style>{STYLE}</style></head><body><h1>{t}</h1>{banner}<nav>{nav}</nav>{body}</body></html>\n",
        t = esc(&d.title)
    )
}

pub fn section(s: &Section) -> String {
    format!(
        "<section id=\"{}\"><h2>{}</h2>{}</section>",
        esc(&s.id),
        esc(&s.title),
        blocks(&s.blocks)
    )
}

pub fn blocks(bs: &[Block]) -> String {
    bs.iter()
        .map(|b| match b {
            Block::Paragraph(sp) => format!("<p>{}</p>", spans(sp)),
            Block::Heading(h) => format!("<h3>{}</h3>", esc(h)),
            Block::Banner(tone, text) => format!(
                "<p class=\"banner {}\" role=\"status\" id=\"result\">{}</p>",
                tone.class(),
                esc(text)
            ),
            Block::List(items) => format!(
                "<ul>{}</ul>",
                items
                    .iter()
                    .map(|i| format!("<li>{}</li>", spans(i)))
                    .collect::<String>()
            ),
            Block::Table(t) => table(t),
            Block::Figures(figs) => format!(
                "<div class=\"plots\">{}</div>",
                figs.iter().map(figure).collect::<String>()
            ),
        })
        .collect()
}

fn figure(f: &Figure) -> String {
    if f.caption.is_empty() {
        format!("<figure>{}</figure>", f.svg)
    } else {
        format!(
            "<figure>{}<figcaption>{}</figcaption></figure>",
            f.svg,
            esc(&f.caption)
        )
    }
}

pub fn table(t: &Table) -> String {
    let mut attrs = String::new();
    if let Some(id) = &t.id {
        attrs += &format!(" id=\"{}\"", esc(id));
    }
    if let Some(c) = &t.class {
        attrs += &format!(" class=\"{}\"", esc(c));
    }
    let head: String = t
        .head
        .iter()
        .map(|h| format!("<th>{}</th>", esc(h)))
        .collect();
    let rows: String = t.rows.iter().map(row).collect();
    format!("<table{attrs}><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
}

fn row(r: &Row) -> String {
    let mut attrs = String::new();
    if let Some(c) = &r.class {
        attrs += &format!(" class=\"{}\"", esc(c));
    }
    for (k, v) in &r.data {
        attrs += &format!(" data-{}=\"{}\"", esc(k), esc(v));
    }
    let cells: String = r
        .cells
        .iter()
        .map(|c| match &c.class {
            Some(class) => format!("<td class=\"{}\">{}</td>", esc(class), spans(&c.spans)),
            None => format!("<td>{}</td>", spans(&c.spans)),
        })
        .collect();
    format!("<tr{attrs}>{cells}</tr>\n")
}

pub fn spans(sp: &[Span]) -> String {
    sp.iter()
        .map(|s| match s {
            Span::Text(x) => esc(x),
            Span::Strong(x) => format!("<b>{}</b>", esc(x)),
            Span::Code(x) => format!("<code>{}</code>", esc(x)),
            Span::Hash { short, full } => {
                format!("<code title=\"{}\">{}</code>", esc(full), esc(short))
            }
            Span::Tone(t, x) => format!("<b class=\"{}\">{}</b>", t.class(), esc(x)),
        })
        .collect()
}
