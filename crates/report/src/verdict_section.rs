//! The verdict table that leads a run's report: one row per requirement.

use crate::doc::{Block, Cell, Section, Span, Table, Tone};
use adasval_judge::safety::{Evaluation, Verdict, WaiverStatus};
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
        "waiver",
    ]);
    t.id = Some("verdicts".into());
    for q in &e.requirements {
        let worst = q.worst();
        let mut measured = match worst {
            Some(w) => w
                .measured
                .map(|v| format!("{v:.4}"))
                .unwrap_or_else(|| format!("no figure: {}", w.detail)),
            None => "–".into(),
        };
        // A figure on a slice is never shown without the slice and its rule.
        if let Some(s) = &q.slice {
            measured.push_str(&format!(" on slice: {s}"));
        }
        let limit = worst
            .and_then(|w| w.limit)
            .map(|v| format!("{v:.4}"))
            .unwrap_or_else(|| "–".into());
        let waiver = q.waiver.as_ref().filter(|_| q.waived());
        let tone = match q.verdict {
            Verdict::Pass => Tone::Pass,
            Verdict::Fail => Tone::Fail,
            Verdict::NoEvidence | Verdict::NotApplicable => Tone::NoData,
        };
        let row = t.row([
            Cell::from(q.id.as_str()),
            q.text.as_str().into(),
            q.kind.as_str().into(),
            Cell::strong(q.shown()).class(tone.class()),
            format!("{} / {}", q.count(Verdict::Pass), q.instances.len()).into(),
            measured.into(),
            limit.into(),
            waiver
                .map(|w| format!("by {} until {}: {}", w.owner, w.expires, w.reason))
                .unwrap_or_else(|| "–".into())
                .into(),
        ]);
        row.class = Some("verdict".into());
        row.data = vec![
            ("requirement".into(), q.id.clone()),
            ("verdict".into(), q.verdict.as_str().into()),
            ("waived".into(), waiver.is_some().to_string()),
        ];
    }
    let mut section = Section::new("verdicts", "Verdicts").with(intro);
    // Expired and unused waivers belong to no requirement row's verdict; name them here.
    for u in e
        .waivers
        .iter()
        .filter(|u| u.status != WaiverStatus::Applied)
    {
        let w = &u.waiver;
        section = section.with(Block::Paragraph(vec![
            Span::Tone(
                Tone::of(u.status == WaiverStatus::Unused),
                format!("{} waiver for {}", u.status.as_str(), w.requirement),
            ),
            Span::Text(format!(
                " (expires {}, {}): {}{}",
                w.expires,
                w.owner,
                w.reason,
                if u.status == WaiverStatus::Expired {
                    "; an expired waiver fails the gate."
                } else {
                    "; the requirement did not fail."
                }
            )),
        ]));
    }
    section.with(t)
}
