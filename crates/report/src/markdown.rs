//! The Markdown rendering of a [`Document`] (GitHub-flavoured: pipe tables).

use crate::doc::{Block, Document, Row, Section, Span, Table};

pub fn document(d: &Document) -> String {
    let mut out = format!("# {}\n\n", d.title);
    for s in &d.sections {
        out += &section(s);
    }
    out
}

pub fn section(s: &Section) -> String {
    format!("## {}\n\n{}\n\n", s.title, blocks(&s.blocks).trim_end())
}

pub fn blocks(bs: &[Block]) -> String {
    let mut out = String::new();
    for b in bs {
        match b {
            Block::Paragraph(sp) => out += &format!("{}\n\n", spans(sp, false)),
            Block::Heading(h) => out += &format!("### {h}\n\n"),
            Block::Banner(_, text) => out += &format!("**{text}**\n\n"),
            Block::List(items) => {
                for i in items {
                    out += &format!("- {}\n", spans(i, false));
                }
                out += "\n";
            }
            Block::Table(t) => out += &format!("{}\n", table(t)),
            Block::Figures(figs) => {
                let linked: Vec<String> = figs
                    .iter()
                    .filter_map(|f| {
                        f.file
                            .as_ref()
                            .map(|file| format!("![{}]({file})", f.caption))
                    })
                    .collect();
                if !linked.is_empty() {
                    out += &format!("{}\n\n", linked.join("\n"));
                }
            }
        }
    }
    out
}

pub fn table(t: &Table) -> String {
    let head: Vec<String> = t.head.iter().map(|h| cell_text(h)).collect();
    let mut out = format!(
        "| {} |\n|{}\n",
        head.join(" | "),
        "---|".repeat(t.head.len())
    );
    for r in &t.rows {
        out += &row(r);
    }
    out
}

fn row(r: &Row) -> String {
    let cells: Vec<String> = r.cells.iter().map(|c| spans(&c.spans, true)).collect();
    format!("| {} |\n", cells.join(" | "))
}

/// Inline spans; inside a table cell, pipes and line breaks are escaped.
pub fn spans(sp: &[Span], in_cell: bool) -> String {
    let t = |s: &str| if in_cell { cell_text(s) } else { s.to_string() };
    sp.iter()
        .map(|s| match s {
            Span::Text(x) => t(x),
            Span::Strong(x) | Span::Tone(_, x) if x.is_empty() => String::new(),
            Span::Strong(x) | Span::Tone(_, x) => format!("**{}**", t(x)),
            Span::Code(x) => format!("`{}`", t(x)),
            Span::Hash { short, .. } => format!("`{short}`"),
        })
        .collect()
}

fn cell_text(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}
