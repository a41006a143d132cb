//! Self-test cases of the detection metrics: matching (ignore regions, crowd boxes) with the
//! log-average miss rate built on it, and the KITTI devkit's 2-D AP read from label and
//! result files as `eval --kitti` reads them.

use super::estimators::{field, num, Context, Obtained};
use crate::metrics::frames::FrameEval;
use crate::metrics::kitti;
use crate::metrics::lamr::{log_average_miss_rate, ScoredOutcome};
use crate::metrics::matching::{match_objects, Outcome};
use crate::metrics::safety::{critical_misses as find_critical_misses, CriticalSettings};
use crate::types::{Detection, GtObject};
use serde_json::{json, Value};

fn list<'a>(v: &'a Value, name: &str) -> Result<&'a Vec<Value>, String> {
    field(v, name)?
        .as_array()
        .ok_or_else(|| format!("input `{name}` is not a list"))
}

fn bbox(v: &Value, at: &str) -> Result<[f32; 4], String> {
    let b = v
        .get("bbox")
        .and_then(Value::as_array)
        .filter(|b| b.len() == 4)
        .ok_or_else(|| format!("{at}: `bbox` is not a list of 4 numbers"))?;
    let mut out = [0.0f32; 4];
    for (o, x) in out.iter_mut().zip(b) {
        *o = x
            .as_f64()
            .ok_or_else(|| format!("{at}: `bbox` holds a non-number"))? as f32;
    }
    Ok(out)
}

fn flag(v: &Value, name: &str) -> bool {
    v.get(name).and_then(Value::as_bool).unwrap_or(false)
}

fn gt_object(v: &Value, at: &str) -> Result<GtObject, String> {
    serde_json::from_value(json!({
        "class_id": 0,
        "bbox": bbox(v, at)?,
        "ignore": flag(v, "ignore"),
        "crowd": flag(v, "crowd"),
    }))
    .map_err(|e| format!("{at}: {e}"))
}

fn detection(v: &Value, at: &str) -> Result<Detection, String> {
    let score = v
        .get("score")
        .and_then(Value::as_f64)
        .ok_or_else(|| format!("{at}: no numeric `score`"))?;
    Ok(Detection {
        class_id: 0,
        score: score as f32,
        bbox: bbox(v, at)?,
    })
}

/// `frames`: `[{gt: [{bbox, ignore, crowd}], dt: [{bbox, score}]}]`, one class, matched at
/// `iou`: the outcome counts and the LAMR with its 9 sampled miss rates.
pub fn match_lamr(input: &Value, _: &Context) -> Result<Obtained, String> {
    let threshold = num(input, "iou")?;
    let frames = list(input, "frames")?;
    let (mut tp, mut fp, mut ignored, mut missed, mut positives) = (0u64, 0u64, 0u64, 0u64, 0);
    let mut scored = Vec::new();
    for (f, frame) in frames.iter().enumerate() {
        let gts = list(frame, "gt")?
            .iter()
            .enumerate()
            .map(|(i, g)| gt_object(g, &format!("frames[{f}].gt[{i}]")))
            .collect::<Result<Vec<_>, _>>()?;
        let dets = list(frame, "dt")?
            .iter()
            .enumerate()
            .map(|(i, d)| detection(d, &format!("frames[{f}].dt[{i}]")))
            .collect::<Result<Vec<_>, _>>()?;
        let m = match_objects(
            &gts.iter().collect::<Vec<_>>(),
            &dets.iter().collect::<Vec<_>>(),
            threshold,
        );
        for (d, o) in dets.iter().zip(&m.outcomes) {
            match o {
                Outcome::TruePositive => tp += 1,
                Outcome::FalsePositive => fp += 1,
                Outcome::Ignored => ignored += 1,
            }
            scored.push(ScoredOutcome {
                score: d.score as f64,
                outcome: *o,
            });
        }
        for (g, hit) in gts.iter().zip(&m.gt_match) {
            if !(g.ignore || g.crowd) {
                positives += 1;
                if hit.is_none() {
                    missed += 1;
                }
            }
        }
    }
    let mut out: Obtained = [
        ("tp", tp),
        ("fp", fp),
        ("ignored", ignored),
        ("missed", missed),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), json!(v)))
    .collect();
    let report = log_average_miss_rate(&scored, positives, frames.len())
        .ok_or("no positives or no frames: the miss rate is undefined")?;
    out.insert("lamr".into(), json!(report.lamr));
    for (i, (_, mr)) in report.points.iter().enumerate() {
        out.insert(format!("mr_at_fppi_{i}"), json!(mr));
    }
    Ok(out)
}

fn class_id(v: &Value, at: &str) -> Result<u32, String> {
    v.get("class_id")
        .and_then(Value::as_u64)
        .and_then(|c| u32::try_from(c).ok())
        .ok_or_else(|| format!("{at}: no `class_id`"))
}

/// `frames`: `[{frame, gt: [{class_id, bbox, track_id}], dt: [{class_id, bbox, score}]}]`
/// and the `settings` of the critical-miss analysis: the misses found, their frames, and
/// each as "track T: frames F-L" in the order reported.
pub fn critical_misses(input: &Value, _: &Context) -> Result<Obtained, String> {
    let settings: CriticalSettings = serde_json::from_value(field(input, "settings")?.clone())
        .map_err(|e| format!("input `settings`: {e}"))?;
    let mut frames = Vec::new();
    for (f, frame) in list(input, "frames")?.iter().enumerate() {
        let at = format!("frames[{f}]");
        let index = frame
            .get("frame")
            .and_then(Value::as_u64)
            .ok_or_else(|| format!("{at}: no `frame`"))? as usize;
        let mut gt = Vec::new();
        for (i, g) in list(frame, "gt")?.iter().enumerate() {
            let at = format!("{at}.gt[{i}]");
            let mut o = gt_object(g, &at)?;
            o.class_id = class_id(g, &at)?;
            o.track_id = g.get("track_id").and_then(Value::as_u64);
            gt.push(o);
        }
        let mut dets = Vec::new();
        for (i, d) in list(frame, "dt")?.iter().enumerate() {
            let at = format!("{at}.dt[{i}]");
            let mut det = detection(d, &at)?;
            det.class_id = class_id(d, &at)?;
            dets.push(det);
        }
        frames.push(FrameEval {
            frame: index,
            gt,
            dets,
            width: 640,
            height: 480,
        });
    }
    let misses = find_critical_misses(&frames, &settings);
    let runs: Vec<String> = misses
        .iter()
        .map(|m| {
            let track = m
                .track_id
                .map_or_else(|| "untracked".to_string(), |t| t.to_string());
            format!("track {track}: frames {}-{}", m.first_frame, m.last_frame)
        })
        .collect();
    Ok([
        ("misses", json!(misses.len())),
        (
            "missed_frames",
            json!(misses.iter().map(|m| m.frames).sum::<usize>()),
        ),
        ("runs", json!(runs.join(";"))),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect())
}

/// `frames`: `[{gt: "KITTI label lines", dt: "KITTI result lines"}]`, written as the devkit's
/// two folders and evaluated for `classes`: AP at 11 and 40 recall points per difficulty.
pub fn kitti_ap(input: &Value, ctx: &Context) -> Result<Obtained, String> {
    let frames = list(input, "frames")?;
    let classes = list(input, "classes")?
        .iter()
        .map(|c| {
            c.as_str()
                .ok_or("input `classes` holds a non-string".to_string())
                .and_then(|c| kitti::class_by_name(c).map_err(|e| e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    for sub in ["gt", "dt"] {
        let dir = ctx.scratch.join(sub);
        std::fs::create_dir_all(&dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
        for (i, frame) in frames.iter().enumerate() {
            let text = frame
                .get(sub)
                .and_then(Value::as_str)
                .ok_or_else(|| format!("frames[{i}].{sub} is not a string"))?;
            let path = dir.join(format!("{i:06}.txt"));
            std::fs::write(&path, text).map_err(|e| format!("write {}: {e}", path.display()))?;
        }
    }
    let report = kitti::evaluate_dirs(&ctx.scratch.join("gt"), &ctx.scratch.join("dt"), &classes)
        .map_err(|e| e.to_string())?;
    let mut out = Obtained::new();
    for c in &report.classes {
        for l in &c.levels {
            for (k, v) in [("ap11", l.ap11), ("ap40", l.ap40)] {
                // No counted object: the devkit prints 0, adasval says undefined; the case
                // then fails as "not obtained" rather than agreeing by accident.
                if let Some(v) = v {
                    out.insert(format!("{}_{}_{k}", c.class, l.difficulty.name()), json!(v));
                }
            }
        }
    }
    Ok(out)
}
