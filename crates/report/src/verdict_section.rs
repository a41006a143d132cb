//! The verdict table that leads a run's report: one row per requirement.

use crate::doc::{Block, Cell, Section, Span, Table, Tone};
use adasval_judge::safety::{Evaluation, Verdict};
use adasval_record::record::RunRecord;

/// One row per requirement, leading the report.
pub fn section(e: &Evaluation, r: &RunRecord) -> Section {
    let intro = Block::Paragraph(vec![
        Span::Text("Run ".into()),
        Span::Tone(
            Tone::of(r.complete),
            if r.complete {
                "complete"
            } else {
                "INCOMPLETE (never passes)"
            }
            .into(),
        ),
        Span::Text("; engines and adapters ".into()),
        Span::Tone(
            Tone::of(e.integrity_verified),
            if e.integrity_verified {
                "verified against the lock"
            } else {
                "NOT verified"
            }
            .into(),
        ),
        Span::Text(".".into()),
    ]);
    let mut t = Table::new(&[
        "requirement",
        "text",
        "kind",
        "verdict",
        "instances (pass / total)",
        "worst measured",
        "limit",
    ]);
    t.id = Some("verdicts".into());
    for q in &e.requirements {
        let worst = q.worst();
        let measured = match worst {
            Some(w) => w
                .measured
                .map(|v| format!("{v:.4}"))
                .unwrap_or_else(|| format!("no figure: {}", w.detail)),
            None => "–".into(),
        };
        let limit = worst
            .and_then(|w| w.limit)
            .map(|v| format!("{v:.4}"))
            .unwrap_or_else(|| "–".into());
        let tone = match q.verdict {
            Verdict::Pass => Tone::Pass,
            Verdict::Fail => Tone::Fail,
            Verdict::NoEvidence => Tone::NoData,
        };
        let row = t.row([
            Cell::from(q.id.as_str()),
            q.text.as_str().into(),
            q.kind.as_str().into(),
            Cell::strong(q.verdict.as_str()).class(tone.class()),
            format!("{} / {}", q.count(Verdict::Pass), q.instances.len()).into(),
            measured.into(),
            limit.into(),
        ]);
        row.class = Some("verdict".into());
        row.data = vec![
            ("requirement".into(), q.id.clone()),
            ("verdict".into(), q.verdict.as_str().into()),
        ];
    }
    Section::new("verdicts", "Verdicts").with(intro).with(t)
}
