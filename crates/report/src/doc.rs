//! The format-independent content of a report: sections of paragraphs, tables, lists and
//! figures. Stages describe what to say once, here; the Markdown and HTML sinks decide how
//! it looks, so a new output format is one renderer, not an edit in every stage.

/// A whole report: a title and its sections, in reading order.
#[derive(Debug, Clone, Default)]
pub struct Document {
    pub title: String,
    pub sections: Vec<Section>,
}

/// One part of a report, contributed by the stage that owns the data.
#[derive(Debug, Clone, Default)]
pub struct Section {
    /// Anchor in the HTML page (stable: tests and links use it).
    pub id: String,
    pub title: String,
    pub blocks: Vec<Block>,
}

impl Section {
    pub fn new(id: &str, title: &str) -> Self {
        Self {
            id: id.into(),
            title: title.into(),
            blocks: Vec::new(),
        }
    }

    pub fn push(&mut self, b: impl Into<Block>) -> &mut Self {
        self.blocks.push(b.into());
        self
    }

    pub fn with(mut self, b: impl Into<Block>) -> Self {
        self.blocks.push(b.into());
        self
    }
}

#[derive(Debug, Clone)]
pub enum Block {
    Paragraph(Vec<Span>),
    /// The overall verdict, in one sentence, coloured by its tone.
    Banner(Tone, String),
    /// A heading below the section's own.
    Heading(String),
    List(Vec<Vec<Span>>),
    Table(Table),
    /// Figures shown side by side. Markdown links those written to their own file and
    /// leaves out the rest (Markdown cannot hold an inline SVG).
    Figures(Vec<Figure>),
}

impl Block {
    /// A paragraph from text with inline `code` and **strong** marks.
    pub fn text(s: &str) -> Self {
        Block::Paragraph(spans(s))
    }

    pub fn list<I: IntoIterator<Item = S>, S: AsRef<str>>(items: I) -> Self {
        Block::List(items.into_iter().map(|s| spans(s.as_ref())).collect())
    }
}

impl From<Table> for Block {
    fn from(t: Table) -> Self {
        Block::Table(t)
    }
}

/// An inline run of text.
#[derive(Debug, Clone, PartialEq)]
pub enum Span {
    Text(String),
    Strong(String),
    Code(String),
    /// A shortened hash; the full value is kept where the format can hold it (a tooltip).
    Hash {
        short: String,
        full: String,
    },
    /// Text whose colour carries a verdict.
    Tone(Tone, String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Pass,
    Fail,
    NoData,
}

impl Tone {
    pub fn class(self) -> &'static str {
        match self {
            Tone::Pass => "pass",
            Tone::Fail => "fail",
            Tone::NoData => "nodata",
        }
    }

    pub fn of(ok: bool) -> Self {
        if ok {
            Tone::Pass
        } else {
            Tone::Fail
        }
    }
}

/// Split text with inline `code` and **strong** marks into spans. An unmatched mark is
/// kept as text, so no input is lost.
pub fn spans(s: &str) -> Vec<Span> {
    let mut out = Vec::new();
    let mut text = String::new();
    let mut rest = s;
    while !rest.is_empty() {
        let (mark, make): (&str, fn(String) -> Span) = if rest.starts_with("**") {
            ("**", Span::Strong)
        } else if rest.starts_with('`') {
            ("`", Span::Code)
        } else {
            let c = rest.chars().next().unwrap_or_default();
            text.push(c);
            rest = &rest[c.len_utf8()..];
            continue;
        };
        match rest[mark.len()..].find(mark) {
            Some(end) => {
                if !text.is_empty() {
                    out.push(Span::Text(std::mem::take(&mut text)));
                }
                out.push(make(rest[mark.len()..mark.len() + end].to_string()));
                rest = &rest[2 * mark.len() + end..];
            }
            None => {
                text.push_str(mark);
                rest = &rest[mark.len()..];
            }
        }
    }
    if !text.is_empty() {
        out.push(Span::Text(text));
    }
    out
}

#[derive(Debug, Clone, Default)]
pub struct Table {
    /// HTML id, for tables that tests or links find.
    pub id: Option<String>,
    /// HTML class of the table.
    pub class: Option<String>,
    pub head: Vec<String>,
    pub rows: Vec<Row>,
}

impl Table {
    pub fn new<S: AsRef<str>>(head: &[S]) -> Self {
        Self {
            head: head.iter().map(|h| h.as_ref().to_string()).collect(),
            ..Self::default()
        }
    }

    /// A row of plain-text cells.
    pub fn row<S: Into<Cell>>(&mut self, cells: impl IntoIterator<Item = S>) -> &mut Row {
        self.rows.push(Row {
            cells: cells.into_iter().map(Into::into).collect(),
            ..Row::default()
        });
        let last = self.rows.len() - 1;
        &mut self.rows[last]
    }
}

#[derive(Debug, Clone, Default)]
pub struct Row {
    pub cells: Vec<Cell>,
    pub class: Option<String>,
    /// `data-*` attributes of the HTML row (name without the prefix, value).
    pub data: Vec<(String, String)>,
}

#[derive(Debug, Clone, Default)]
pub struct Cell {
    pub spans: Vec<Span>,
    /// HTML class of the cell.
    pub class: Option<String>,
}

impl Cell {
    pub fn spans(spans: Vec<Span>) -> Self {
        Self { spans, class: None }
    }

    pub fn code(s: impl Into<String>) -> Self {
        Self::spans(vec![Span::Code(s.into())])
    }

    pub fn strong(s: impl Into<String>) -> Self {
        Self::spans(vec![Span::Strong(s.into())])
    }

    pub fn class(mut self, class: &str) -> Self {
        self.class = Some(class.into());
        self
    }
}

impl From<String> for Cell {
    fn from(s: String) -> Self {
        Cell::spans(vec![Span::Text(s)])
    }
}

impl From<&str> for Cell {
    fn from(s: &str) -> Self {
        Cell::from(s.to_string())
    }
}

impl From<&String> for Cell {
    fn from(s: &String) -> Self {
        Cell::from(s.clone())
    }
}

#[derive(Debug, Clone, Default)]
pub struct Figure {
    /// A complete `<svg>` element.
    pub svg: String,
    pub caption: String,
    /// The file the same SVG is written to next to the report, when it is.
    pub file: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_marks_become_spans_and_unmatched_marks_stay_text() {
        assert_eq!(
            spans("a `b` **c** d"),
            vec![
                Span::Text("a ".into()),
                Span::Code("b".into()),
                Span::Text(" ".into()),
                Span::Strong("c".into()),
                Span::Text(" d".into())
            ]
        );
        assert_eq!(spans("x ` y"), vec![Span::Text("x ` y".into())]);
        assert_eq!(spans("p ** q é"), vec![Span::Text("p ** q é".into())]);
        assert!(spans("").is_empty());
    }
}
