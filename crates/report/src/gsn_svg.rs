//! Hand-laid-out SVG of a GSN argument: elements in rows by depth of the supportedBy tree,
//! contextual elements beside the element that references them, standard GSN shapes, and
//! goals coloured and labelled by status. Self-contained: no scripts, fonts or links out.

use crate::trace::escape_html as esc;
use adasval_judge::safety::gsn::{GoalStatus, Gsn, GsnKind, GsnNode};
use adasval_judge::safety::Evaluation;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;

const LINE_H: f64 = 15.0;
const PAD: f64 = 10.0;
const H_GAP: f64 = 30.0;
const V_GAP: f64 = 60.0;
const MARGIN: f64 = 20.0;

struct Placed<'a> {
    node: &'a GsnNode,
    lines: Vec<String>,
    w: f64,
    h: f64,
    x: f64,
    y: f64,
}

fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut cur = String::new();
    for word in text.split_whitespace() {
        let mut word = word.to_string();
        while word.chars().count() > width {
            if !cur.is_empty() {
                lines.push(std::mem::take(&mut cur));
            }
            let head: String = word.chars().take(width).collect();
            word = word.chars().skip(width).collect();
            lines.push(head);
        }
        if !cur.is_empty() && cur.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(&word);
    }
    if !cur.is_empty() {
        lines.push(cur);
    }
    lines
}

fn size(node: &GsnNode) -> (Vec<String>, f64, f64) {
    let chars = match node.kind {
        GsnKind::Solution => 20,
        _ => 30,
    };
    let mut lines = wrap(&node.text, chars);
    for e in &node.evidence {
        lines.extend(wrap(&format!("▸ {e}"), chars));
    }
    if let Some(r) = &node.requirement {
        lines.push(format!("requirement {r}"));
    }
    let text_h = (lines.len() as f64 + 1.0) * LINE_H;
    let w = chars as f64 * 6.8 + 2.0 * PAD;
    let (w, h) = match node.kind {
        GsnKind::Solution => {
            let d = (text_h + 2.0 * PAD).max(w) * 1.05;
            (d, d)
        }
        GsnKind::Assumption | GsnKind::Justification => (w * 1.3, text_h + 4.0 * PAD),
        GsnKind::Strategy => (w + 30.0, text_h + 2.0 * PAD),
        _ => (w, text_h + 2.0 * PAD),
    };
    (lines, w, h)
}

fn fill(node: &GsnNode, status: Option<GoalStatus>) -> &'static str {
    match (node.kind, status) {
        (GsnKind::Goal, Some(GoalStatus::Supported)) => "#d4edda",
        (GsnKind::Goal, Some(GoalStatus::Failed)) => "#f8d7da",
        (GsnKind::Goal, Some(GoalStatus::Undeveloped)) => "#fff3cd",
        (GsnKind::Solution, _) => "#e7f0fb",
        _ => "#ffffff",
    }
}

/// Self-contained SVG of the argument with goal statuses from `eval`.
pub fn render_svg(gsn: &Gsn, eval: &Evaluation) -> String {
    render(gsn, &gsn.statuses(eval))
}

fn render(gsn: &Gsn, statuses: &BTreeMap<String, GoalStatus>) -> String {
    let index: HashMap<&str, &GsnNode> = gsn.nodes.iter().map(|n| (n.id.as_str(), n)).collect();
    // Depth = longest supportedBy path from a root, so shared children sit below all parents.
    let mut depth: HashMap<&str, usize> = HashMap::new();
    let roots = gsn.roots();
    for r in &roots {
        depth.insert(r.id.as_str(), 0);
    }
    for _ in 0..gsn.nodes.len() {
        let mut changed = false;
        for n in &gsn.nodes {
            let Some(&d) = depth.get(n.id.as_str()) else {
                continue;
            };
            for c in &n.supported_by {
                let e = depth.entry(c.as_str()).or_insert(0);
                if *e < d + 1 {
                    *e = d + 1;
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }

    // Row order: depth-first from the roots; contextual elements follow their referrer.
    let mut rows: Vec<Vec<&GsnNode>> = Vec::new();
    let mut placed: HashMap<&str, ()> = HashMap::new();
    fn visit<'a>(
        n: &'a GsnNode,
        row: usize,
        index: &HashMap<&str, &'a GsnNode>,
        depth: &HashMap<&str, usize>,
        rows: &mut Vec<Vec<&'a GsnNode>>,
        placed: &mut HashMap<&'a str, ()>,
    ) {
        if placed.contains_key(n.id.as_str()) {
            return;
        }
        placed.insert(n.id.as_str(), ());
        while rows.len() <= row {
            rows.push(Vec::new());
        }
        rows[row].push(n);
        for c in &n.in_context_of {
            if let Some(cn) = index.get(c.as_str()) {
                if !placed.contains_key(c.as_str()) {
                    placed.insert(cn.id.as_str(), ());
                    rows[row].push(cn);
                }
            }
        }
        for c in &n.supported_by {
            if let Some(cn) = index.get(c.as_str()) {
                let d = depth.get(c.as_str()).copied().unwrap_or(row + 1);
                visit(cn, d, index, depth, rows, placed);
            }
        }
    }
    for r in &roots {
        visit(r, 0, &index, &depth, &mut rows, &mut placed);
    }

    let mut items: Vec<Placed> = Vec::new();
    let mut row_spans: Vec<(usize, usize, f64, f64)> = Vec::new(); // start, end, width, height
    for row in &rows {
        let start = items.len();
        let mut width = 0.0;
        let mut height: f64 = 0.0;
        for n in row {
            let (lines, w, h) = size(n);
            if items.len() > start {
                width += H_GAP;
            }
            items.push(Placed {
                node: n,
                lines,
                w,
                h,
                x: width,
                y: 0.0,
            });
            width += w;
            height = height.max(h);
        }
        row_spans.push((start, items.len(), width, height));
    }
    let total_w = row_spans.iter().map(|r| r.2).fold(0.0, f64::max) + 2.0 * MARGIN;
    let mut y = MARGIN * 2.0;
    for &(s, e, w, h) in &row_spans {
        let off = (total_w - w) / 2.0;
        for it in &mut items[s..e] {
            it.x += off;
            it.y = y + (h - it.h) / 2.0;
        }
        // Leave room below for undeveloped diamonds.
        y += h + V_GAP;
    }
    let total_h = y - V_GAP + MARGIN + 20.0;
    let pos: HashMap<&str, usize> = items
        .iter()
        .enumerate()
        .map(|(i, p)| (p.node.id.as_str(), i))
        .collect();

    let mut s = String::new();
    let _ = write!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"adasval-gsn\" width=\"{total_w:.0}\" height=\"{total_h:.0}\" viewBox=\"0 0 {total_w:.0} {total_h:.0}\" font-family=\"sans-serif\" font-size=\"12\">\n<title>GSN safety case</title>\n\
<defs><marker id=\"gsn-solid\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"8\" markerHeight=\"8\" orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#333\"/></marker>\
<marker id=\"gsn-hollow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"8\" markerHeight=\"8\" orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#fff\" stroke=\"#333\"/></marker></defs>\n"
    );
    // Edges first so shapes draw over line ends.
    s.push_str("<g class=\"gsn-edges\" stroke=\"#333\" fill=\"none\">\n");
    for (i, it) in items.iter().enumerate() {
        for c in &it.node.supported_by {
            if let Some(&j) = pos.get(c.as_str()) {
                let t = &items[j];
                let _ = writeln!(
                    s,
                    "<line class=\"gsn-supported-by\" x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" marker-end=\"url(#gsn-solid)\"/>",
                    it.x + it.w / 2.0,
                    it.y + it.h,
                    t.x + t.w / 2.0,
                    t.y
                );
            }
        }
        for c in &it.node.in_context_of {
            if let Some(&j) = pos.get(c.as_str()) {
                let t = &items[j];
                if j == i + 1 || j + 1 == i {
                    // Neighbours: GSN's usual horizontal arrow.
                    let (x1, x2) = if t.x >= it.x {
                        (it.x + it.w, t.x)
                    } else {
                        (it.x, t.x + t.w)
                    };
                    let _ = writeln!(
                        s,
                        "<path class=\"gsn-in-context-of\" d=\"M{x1:.1},{:.1} L{x2:.1},{:.1}\" marker-end=\"url(#gsn-hollow)\"/>",
                        it.y + it.h / 2.0,
                        t.y + t.h / 2.0
                    );
                } else {
                    // Arc over the elements in between rather than through them.
                    let (sx, sy) = (it.x + it.w * 0.75, it.y);
                    let (tx, ty) = (t.x + t.w / 2.0, t.y);
                    let lift = sy.min(ty) - (V_GAP * 0.6).min(sy.min(ty) - 2.0);
                    let _ = writeln!(
                        s,
                        "<path class=\"gsn-in-context-of\" d=\"M{sx:.1},{sy:.1} C{sx:.1},{lift:.1} {tx:.1},{lift:.1} {tx:.1},{ty:.1}\" marker-end=\"url(#gsn-hollow)\"/>"
                    );
                }
            }
        }
    }
    s.push_str("</g>\n");

    for it in &items {
        let n = it.node;
        let status = statuses.get(&n.id).copied();
        let status_attr = match (n.kind, status) {
            (GsnKind::Goal | GsnKind::Strategy, Some(st)) => st.as_str(),
            _ => "none",
        };
        let _ = writeln!(
            s,
            "<g class=\"gsn-node gsn-{kind} status-{status_attr}\" id=\"gsn-{id}\" data-id=\"{id}\" data-kind=\"{kind}\" data-status=\"{status_attr}\">",
            kind = n.kind.as_str(),
            id = esc(&n.id)
        );
        let (x, y, w, h) = (it.x, it.y, it.w, it.h);
        let f = fill(n, status);
        let stroke = match (n.kind, status) {
            (GsnKind::Goal, Some(GoalStatus::Failed)) => "#b02a37",
            (GsnKind::Goal, Some(GoalStatus::Supported)) => "#1e7e34",
            (GsnKind::Goal, Some(GoalStatus::Undeveloped)) => "#b58105",
            _ => "#333",
        };
        let shape = match n.kind {
            GsnKind::Goal => format!("<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{h:.1}\""),
            GsnKind::Context => format!("<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{h:.1}\" rx=\"18\" ry=\"18\""),
            GsnKind::Strategy => format!(
                "<polygon points=\"{:.1},{y:.1} {:.1},{y:.1} {:.1},{:.1} {x:.1},{:.1}\"",
                x + 20.0, x + w, x + w - 20.0, y + h, y + h
            ),
            GsnKind::Solution => format!(
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"{:.1}\"",
                x + w / 2.0, y + h / 2.0, w / 2.0
            ),
            GsnKind::Assumption | GsnKind::Justification => format!(
                "<ellipse cx=\"{:.1}\" cy=\"{:.1}\" rx=\"{:.1}\" ry=\"{:.1}\"",
                x + w / 2.0, y + h / 2.0, w / 2.0, h / 2.0
            ),
        };
        let _ = writeln!(
            s,
            "{shape} class=\"gsn-shape\" fill=\"{f}\" stroke=\"{stroke}\" stroke-width=\"{}\"/>",
            if n.kind == GsnKind::Goal { 2 } else { 1 }
        );
        // Text block: id (+ status label for goals), then the wrapped text, centred.
        let block_h = (it.lines.len() as f64 + 1.0) * LINE_H;
        let cx = x + w / 2.0;
        let mut ty = y + (h - block_h) / 2.0 + LINE_H - 3.0;
        let label = match (n.kind, status) {
            (GsnKind::Goal, Some(st)) => format!(
                " <tspan class=\"gsn-status\" fill=\"{stroke}\">[{}]</tspan>",
                st.as_str().to_uppercase()
            ),
            _ => String::new(),
        };
        let _ = writeln!(
            s,
            "<text x=\"{cx:.1}\" y=\"{ty:.1}\" text-anchor=\"middle\"><tspan class=\"gsn-id\" font-weight=\"bold\">{}</tspan>{label}</text>",
            esc(&n.id)
        );
        for line in &it.lines {
            ty += LINE_H;
            let _ = writeln!(
                s,
                "<text x=\"{cx:.1}\" y=\"{ty:.1}\" text-anchor=\"middle\">{}</text>",
                esc(line)
            );
        }
        match n.kind {
            GsnKind::Assumption | GsnKind::Justification => {
                let mark = if n.kind == GsnKind::Assumption {
                    "A"
                } else {
                    "J"
                };
                let _ = writeln!(
                    s,
                    "<text class=\"gsn-mark\" x=\"{:.1}\" y=\"{:.1}\" font-weight=\"bold\" font-size=\"14\">{mark}</text>",
                    x + w - 8.0,
                    y + h + 2.0
                );
            }
            GsnKind::Goal | GsnKind::Strategy
                if n.supported_by.is_empty() && (n.undeveloped || n.requirement.is_none()) =>
            {
                // GSN's undeveloped mark: a hollow diamond under the element.
                let (dx, dy) = (x + w / 2.0, y + h);
                let _ = writeln!(
                    s,
                    "<polygon class=\"gsn-undeveloped-mark\" points=\"{dx:.1},{dy:.1} {:.1},{:.1} {dx:.1},{:.1} {:.1},{:.1}\" fill=\"#fff\" stroke=\"#333\"/>",
                    dx + 9.0, dy + 9.0, dy + 18.0, dx - 9.0, dy + 9.0
                );
            }
            _ => {}
        }
        s.push_str("</g>\n");
    }
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::wrap;

    #[test]
    fn wrapping_keeps_words_and_breaks_long_ones() {
        assert_eq!(wrap("aa bb cc", 5), vec!["aa bb", "cc"]);
        assert_eq!(wrap("abcdefghij", 4), vec!["abcd", "efgh", "ij"]);
        assert_eq!(wrap("", 4), Vec::<String>::new());
        for line in wrap("The frozen perception engine is acceptably safe", 12) {
            assert!(line.chars().count() <= 12, "{line}");
        }
    }
}
