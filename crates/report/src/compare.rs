//! Markdown of a cross-run consistency comparison (`adasval compare`).

use adasval_judge::compare::*;

/// The pairwise matrix of decision flips summed over scenarios, as Markdown.
pub fn markdown(c: &Comparison) -> String {
    let n = c.participants.len();
    let mut m = vec![vec![0usize; n]; n];
    for p in &c.pairs {
        m[p.a][p.b] += p.decision_flips;
        m[p.b][p.a] += p.decision_flips;
    }
    let mut s = String::from("# adasval compare\n\nRuns read (sealed; manifest SHA-256):\n\n");
    for (i, p) in c.participants.iter().enumerate() {
        s += &format!(
            "- [{i}] `{}` engine sha256 `{}` run `{}` manifest `{}`\n",
            p.label,
            &p.engine_sha256[..16.min(p.engine_sha256.len())],
            p.run_dir,
            p.manifest_sha256
        );
    }
    s += "\n## Frames whose safety decisions differ (all scenarios)\n\n|   |";
    for i in 0..n {
        s += &format!(" [{i}] |");
    }
    s += "\n|---|";
    s += &"---|".repeat(n);
    s += "\n";
    for (i, row) in m.iter().enumerate() {
        s += &format!("| [{i}] |");
        for (j, v) in row.iter().enumerate() {
            s += &if i == j {
                " – |".to_string()
            } else {
                format!(" {v} |")
            };
        }
        s += "\n";
    }
    s += "\n## Per scenario\n\n| scenario | pair | frames | decision flips | bit-identical frames | mean IoU | min IoU | outputs max abs err | within tolerance |\n|---|---|---|---|---|---|---|---|---|\n";
    for p in &c.pairs {
        let f = |v: Option<f64>| v.map(|x| format!("{x:.4}")).unwrap_or_else(|| "–".into());
        let max_abs = p
            .outputs
            .iter()
            .map(|o| o.max_abs)
            .fold(None, |a: Option<f64>, x| Some(a.map_or(x, |a| a.max(x))));
        let within = if p.outputs.is_empty() {
            "–".to_string()
        } else {
            p.outputs.iter().all(|o| o.within_tolerance).to_string()
        };
        s += &format!(
            "| {} | [{}]–[{}] | {} | {} | {} | {} | {} | {} | {} |\n",
            p.scenario,
            p.a,
            p.b,
            p.frames_compared,
            p.decision_flips,
            p.bit_identical_frames,
            f(p.mean_iou),
            f(p.min_iou),
            f(max_abs),
            within
        );
    }
    s
}
