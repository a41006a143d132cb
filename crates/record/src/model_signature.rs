//! What a model declares at its edges (tensor names, element types, shapes, opset and
//! producer), and the check that an adapter describes it: the names it reads exist, the
//! ranks and static sizes fit, the class count matches the decoder's channels. A misfit is
//! caught when an engine is frozen and whenever it is loaded, and the message shows what the
//! model really has, so nobody has to parse an ONNX file by hand.

use serde::Serialize;

use crate::adapter::{Adapter, Layout, OutputSpec};

/// One dimension: a fixed size, or a symbol the model leaves open (`batch`, `N`, ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Dim {
    Fixed(u64),
    Symbolic(String),
}

impl Dim {
    pub fn fixed(&self) -> Option<u64> {
        match self {
            Dim::Fixed(n) => Some(*n),
            Dim::Symbolic(_) => None,
        }
    }
}

impl std::fmt::Display for Dim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Dim::Fixed(n) => write!(f, "{n}"),
            Dim::Symbolic(s) => write!(f, "{s}"),
        }
    }
}

/// A graph input or output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TensorSignature {
    pub name: String,
    /// ONNX element type name (`float32`, `int32`, ...).
    pub dtype: String,
    /// `None` when the model declares no shape at all.
    pub shape: Option<Vec<Dim>>,
}

impl std::fmt::Display for TensorSignature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.shape {
            Some(s) => {
                let dims: Vec<String> = s.iter().map(|d| d.to_string()).collect();
                write!(f, "`{}` {} [{}]", self.name, self.dtype, dims.join(", "))
            }
            None => write!(f, "`{}` {} (shape not declared)", self.name, self.dtype),
        }
    }
}

/// The model's edges and provenance, as `adasval engine probe` prints them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModelSignature {
    pub producer: String,
    pub producer_version: String,
    /// The default-domain opset, when declared.
    pub opset: Option<i64>,
    pub inputs: Vec<TensorSignature>,
    pub outputs: Vec<TensorSignature>,
}

impl ModelSignature {
    /// "inputs: ...; outputs: ..." for error messages.
    pub fn describe(&self) -> String {
        let list = |v: &[TensorSignature]| {
            v.iter()
                .map(|t| t.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        format!(
            "the model has inputs {} and outputs {}",
            list(&self.inputs),
            list(&self.outputs)
        )
    }

    fn output(&self, name: &str) -> Option<&TensorSignature> {
        self.outputs.iter().find(|t| t.name == name)
    }
}

/// One way an adapter does not describe its model: the adapter field, what it says, and
/// what the model has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Misfit {
    pub field: String,
    pub problem: String,
}

impl std::fmt::Display for Misfit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "adapter field `{}`: {}", self.field, self.problem)
    }
}

/// Every misfit between `adapter` and `model` (empty: the adapter describes the model).
pub fn check_adapter(adapter: &Adapter, model: &ModelSignature) -> Vec<Misfit> {
    let mut out = Vec::new();
    let mut misfit = |field: &str, problem: String| {
        out.push(Misfit {
            field: field.into(),
            problem,
        })
    };
    let input = &adapter.input;
    match model.inputs.iter().find(|t| t.name == input.tensor) {
        None => misfit(
            "input.tensor",
            format!(
                "names `{}`, which is not an input of the model",
                input.tensor
            ),
        ),
        Some(t) => {
            if t.dtype != "float32" {
                misfit(
                    "input.tensor",
                    format!("`{}` is {} but adasval feeds float32", t.name, t.dtype),
                );
            }
            if let Some(shape) = &t.shape {
                let (w, h) = (input.width as u64, input.height as u64);
                let want = match input.layout {
                    Layout::Nchw => [1, 3, h, w],
                    Layout::Nhwc => [1, h, w, 3],
                };
                if shape.len() != 4 {
                    misfit(
                        "input.layout",
                        format!(
                            "expects a rank-4 input, the model's `{}` has rank {}",
                            t.name,
                            shape.len()
                        ),
                    );
                } else {
                    let fixed: Vec<Option<u64>> = shape.iter().map(Dim::fixed).collect();
                    let clash = fixed
                        .iter()
                        .zip(want)
                        .any(|(d, w)| d.is_some_and(|d| d != w));
                    if clash {
                        let swapped = match input.layout {
                            Layout::Nchw => [1, 3, w, h],
                            Layout::Nhwc => [1, w, h, 3],
                        };
                        let is_swapped = w != h
                            && fixed
                                .iter()
                                .zip(swapped)
                                .all(|(d, s)| d.is_none_or(|d| d == s));
                        let hint = if is_swapped {
                            ": width and height look swapped"
                        } else {
                            ""
                        };
                        misfit(
                            "input.width/height/layout",
                            format!(
                                "give {:?} {want:?}, the model's `{}` is {t}{hint}",
                                input.layout, t.name
                            ),
                        );
                    }
                }
            }
        }
    }
    let classes = adapter.classes.len() as u64;
    let names = adapter.output.tensor_fields();
    for (field, name) in &names {
        if model.output(name).is_none() {
            misfit(
                field,
                format!("names `{name}`, which is not an output of the model"),
            );
        }
    }
    let mut shape_misfits = Vec::new();
    let mut last_dim = |field: &'static str, name: &str, want: u64, what: &str| {
        let Some(t) = model.output(name) else { return };
        if let Some(d) = t.shape.as_ref().and_then(|s| s.last()).and_then(Dim::fixed) {
            if d != want {
                shape_misfits.push(Misfit {
                    field: field.into(),
                    problem: format!(
                        "the `{}` decoder expects {want} {what} in the last dimension; the model's output is {t}{}",
                        adapter.output.decoder_name(),
                        nearest(model)
                    ),
                });
            }
        }
    };
    match &adapter.output {
        OutputSpec::Yolox { tensor, strides } => {
            if let Some(shape) = model.output(tensor).and_then(|t| t.shape.as_ref()) {
                if shape.len() != 3 {
                    misfit(
                        "output.decoder",
                        format!(
                            "`yolox` reads [1, cells, 5 + classes]; the model's `{tensor}` has rank {}",
                            shape.len()
                        ),
                    );
                } else {
                    if let Some(k) = shape[2].fixed() {
                        if k != 5 + classes {
                            misfit(
                                "classes",
                                format!(
                                    "lists {classes} classes, so `yolox` expects 5 + {classes} = {} channels; the model's `{tensor}` has {k} ({} classes)",
                                    5 + classes,
                                    k.saturating_sub(5)
                                ),
                            );
                        }
                    }
                    if let Some(n) = shape[1].fixed() {
                        let (w, h) = (adapter.input.width as u64, adapter.input.height as u64);
                        let cells: u64 = strides
                            .iter()
                            .map(|&s| (w / s as u64) * (h / s as u64))
                            .sum();
                        if n != cells {
                            misfit(
                                "output.strides",
                                format!(
                                    "strides {strides:?} on a {w}x{h} input give {cells} cells; the model's `{tensor}` has {n}"
                                ),
                            );
                        }
                    }
                }
            }
        }
        OutputSpec::Grid(g) => {
            let (w, h) = (adapter.input.width, adapter.input.height);
            for (name, want) in g.expected_shapes(w, h, adapter.classes.len()) {
                let Some(t) = model.output(&name) else {
                    continue;
                };
                let Some(shape) = &t.shape else { continue };
                let strip = |s: Vec<Option<u64>>| -> Vec<Option<u64>> {
                    let first = s.iter().position(|d| *d != Some(1)).unwrap_or(s.len());
                    s[first..].to_vec()
                };
                let have = strip(shape.iter().map(Dim::fixed).collect());
                let want_dims = strip(want.iter().map(|d| Some(*d as u64)).collect());
                let fits = have.len() == want_dims.len()
                    && have
                        .iter()
                        .zip(&want_dims)
                        .all(|(a, b)| a.is_none() || a == b);
                if !fits {
                    misfit(
                        "output.channels/strides/layout",
                        format!(
                            "the `grid` decoder ({:?}, strides {:?}, {} channels per prediction for {classes} classes, {} anchor(s) per cell) reads {want:?}; the model's output is {t}{}",
                            g.layout,
                            g.strides,
                            g.row_len(adapter.classes.len()),
                            g.anchors_per_cell(),
                            nearest(model)
                        ),
                    );
                }
            }
        }
        OutputSpec::BoxesScoresClasses { boxes, .. } | OutputSpec::EfficientNms { boxes, .. } => {
            if let Some(shape) = model.output(boxes).and_then(|t| t.shape.as_ref()) {
                if shape.last().and_then(Dim::fixed).is_some_and(|d| d != 4) {
                    misfit(
                        "output.boxes",
                        format!(
                            "boxes need 4 numbers each; the model's {} ends in {}",
                            model
                                .output(boxes)
                                .map(|t| t.to_string())
                                .unwrap_or_default(),
                            shape.last().map(|d| d.to_string()).unwrap_or_default()
                        ),
                    );
                }
            }
        }
        OutputSpec::EndToEnd(e) => {
            let extra = usize::from(e.scoring == crate::adapter::QueryScoring::SoftmaxNoObject);
            last_dim(
                "output.logits",
                &e.logits,
                classes + extra as u64,
                "class logits (one per class, plus `no object` with softmax_no_object)",
            );
            last_dim("output.boxes", &e.boxes, 4, "4 numbers per box");
        }
        OutputSpec::Priors(p) => {
            let extra = usize::from(p.background != crate::adapter::Background::None);
            last_dim(
                "output.scores",
                &p.scores,
                classes + extra as u64,
                "scores (one per class, plus background unless `background: none`)",
            );
            last_dim("output.deltas", &p.deltas, 4, "4 deltas per prior");
            last_dim("output.priors", &p.priors, 4, "4 numbers per prior");
        }
        OutputSpec::Table(t) => {
            last_dim(
                "output.columns",
                &t.tensor,
                t.columns.len() as u64,
                "one value per declared column",
            );
        }
    }
    out.extend(shape_misfits);
    out
}

/// "; nearest decoder: X" from the probe's suggestion, or nothing when none fits.
fn nearest(model: &ModelSignature) -> String {
    suggest_adapter(model, "model")
        .decoder
        .map(|d| format!("; the decoder that fits its outputs: `{d}` (see `adasval engine probe`)"))
        .unwrap_or_default()
}

/// The 80 COCO class names in the order COCO-trained detectors output them.
pub const COCO_CLASSES: [&str; 80] = [
    "person",
    "bicycle",
    "car",
    "motorcycle",
    "airplane",
    "bus",
    "train",
    "truck",
    "boat",
    "traffic light",
    "fire hydrant",
    "stop sign",
    "parking meter",
    "bench",
    "bird",
    "cat",
    "dog",
    "horse",
    "sheep",
    "cow",
    "elephant",
    "bear",
    "zebra",
    "giraffe",
    "backpack",
    "umbrella",
    "handbag",
    "tie",
    "suitcase",
    "frisbee",
    "skis",
    "snowboard",
    "sports ball",
    "kite",
    "baseball bat",
    "baseball glove",
    "skateboard",
    "surfboard",
    "tennis racket",
    "bottle",
    "wine glass",
    "cup",
    "fork",
    "knife",
    "spoon",
    "bowl",
    "banana",
    "apple",
    "sandwich",
    "orange",
    "broccoli",
    "carrot",
    "hot dog",
    "pizza",
    "donut",
    "cake",
    "chair",
    "couch",
    "potted plant",
    "bed",
    "dining table",
    "toilet",
    "tv",
    "laptop",
    "mouse",
    "remote",
    "keyboard",
    "cell phone",
    "microwave",
    "oven",
    "toaster",
    "sink",
    "refrigerator",
    "book",
    "clock",
    "vase",
    "scissors",
    "teddy bear",
    "hair drier",
    "toothbrush",
];

/// DFL bins per box side of YOLOv8/v11 heads (`reg_max`).
const DFL_BINS: u64 = 16;

/// Whether `[1, channels, cells]` reads as a raw YOLOv8/v11 head (4 × 16 DFL bins + C) rather
/// than the exported layout (4 + C): at least 65 channels, unless 4 + C would be one of the
/// large public vocabularies (COCO's 80, Objects365's 365, Open Images' 601), which exported
/// models carry far more often than raw heads carry the 16, 301 or 537 classes they imply.
fn raw_dfl_head(channels: u64) -> bool {
    channels > 4 * DFL_BINS && !matches!(channels - 4, 80 | 365 | 601)
}

/// YOLOv5's default anchors for strides 8, 16, 32 (COCO, input pixels).
const YOLOV5_ANCHORS: &str =
    "[[[10, 13], [16, 30], [33, 23]], [[30, 61], [62, 45], [59, 119]], [[116, 90], [156, 198], [373, 326]]]";

/// An adapter skeleton for a model, as `adasval engine probe` suggests it.
#[derive(Debug, Clone, Serialize)]
pub struct Suggestion {
    /// The decoder that fits the output shapes, if one does.
    pub decoder: Option<String>,
    /// Adapter YAML to start from (every guess marked `# check`).
    pub adapter_yaml: Option<String>,
    /// What was guessed, and what no decoder can describe yet.
    pub notes: Vec<String>,
}

fn fixed_shape(t: &TensorSignature) -> Option<Vec<u64>> {
    t.shape.as_ref()?.iter().map(Dim::fixed).collect()
}

/// Suggest an adapter from the model's edges alone. Preprocessing is not in an ONNX file:
/// the skeleton says so where it guesses.
pub fn suggest_adapter(model: &ModelSignature, name: &str) -> Suggestion {
    let mut notes = Vec::new();
    let Some(input) = model.inputs.first() else {
        notes.push("the model declares no input".into());
        return Suggestion {
            decoder: None,
            adapter_yaml: None,
            notes,
        };
    };
    let dims: Vec<Option<u64>> = input
        .shape
        .as_ref()
        .map(|s| s.iter().map(Dim::fixed).collect())
        .unwrap_or_default();
    let (layout, w, h) = match dims.as_slice() {
        [_, Some(3), h, w] => ("nchw", *w, *h),
        [_, h, w, Some(3)] => ("nhwc", *w, *h),
        _ => {
            notes.push(format!(
                "input {input} is neither [N, 3, H, W] nor [N, H, W, 3]: set input.layout by hand"
            ));
            ("nchw", None, None)
        }
    };
    if w.is_none() || h.is_none() {
        notes.push(
            "the input's height or width is symbolic: 640 is a placeholder, set the size the model was trained at".into(),
        );
    }
    let (w, h) = (w.unwrap_or(640), h.unwrap_or(640));
    let mut classes_n = None;
    let mut preprocessing_known = false;
    let candidates: [&[u64]; 5] = [&[8, 16, 32], &[8, 16], &[16, 32], &[8, 16, 32, 64], &[8]];
    let strides_for = |n: u64| {
        candidates.iter().copied().find(|ss| {
            ss.iter().all(|s| w % s == 0 && h % s == 0)
                && ss.iter().map(|s| (w / s) * (h / s)).sum::<u64>() == n
        })
    };
    let output_yaml = match model.outputs.as_slice() {
        [out] => match fixed_shape(out).as_deref() {
            Some([1, n, k]) if *k >= 6 && strides_for(*n).is_some() => {
                let ss = strides_for(*n).unwrap_or_default();
                classes_n = Some(k - 5);
                preprocessing_known = true;
                Some((
                    "yolox",
                    format!(
                        "  decoder: yolox\n  tensor: {}\n  strides: {:?}\n",
                        out.name, ss
                    ),
                ))
            }
            Some([1, c, n]) if raw_dfl_head(*c) && n > c && strides_for(*n).is_some() => {
                let ss = strides_for(*n).unwrap_or_default();
                classes_n = Some(c - 4 * DFL_BINS);
                notes.push(format!(
                    "output {out} read as the raw YOLOv8/v11 head [1, 4 x {DFL_BINS} DFL bins + classes, cells] with {} classes: distances to the box edges in strides, class logits (if it is the exported layout [1, 4 + classes, cells] with {} classes, set boxes to center_size in pixels and channels.classes to 4)",
                    c - 4 * DFL_BINS,
                    c - 4
                ));
                Some((
                    "grid",
                    format!(
                        "  decoder: grid\n  tensors: [{}]\n  layout: columns\n  strides: {:?}\n  channels: {{ box: 0, classes: {} }}\n  boxes: {{ encoding: ltrb, dfl_bins: {DFL_BINS}, unit: stride, cell_center: 0.5 }}  # check\n  score: {{ classes: sigmoid }}  # check\n",
                        out.name,
                        ss,
                        4 * DFL_BINS
                    ),
                ))
            }
            Some([1, c, n]) if *c >= 5 && n > c && strides_for(*n).is_some() => {
                let ss = strides_for(*n).unwrap_or_default();
                classes_n = Some(c - 4);
                notes.push(format!(
                    "output {out} read as the exported YOLOv8/v11 layout [1, 4 + classes, cells]: centre and size in input pixels, class scores already sigmoid (for raw DFL heads set boxes to ltrb with dfl_bins)"
                ));
                Some((
                    "grid",
                    format!(
                        "  decoder: grid\n  tensors: [{}]\n  layout: columns\n  strides: {:?}\n  channels: {{ box: 0, classes: 4 }}\n  boxes:\n    encoding: center_size\n    xy: {{ unit: pixels }}\n    wh: {{ unit: pixels }}\n  score: {{ classes: none }}  # check\n",
                        out.name, ss
                    ),
                ))
            }
            Some([1, n, k]) | Some([n, k]) if (*k == 6 || *k == 7) && *n > 0 => {
                let columns = if *k == 6 {
                    "[x1, y1, x2, y2, score, class]"
                } else {
                    "[batch, x1, y1, x2, y2, class, score]"
                };
                notes.push(format!(
                    "output {out} read as an already-decoded table of {n} rows (YOLOv10, ONNX NMS exports): check the column order"
                ));
                Some((
                    "table",
                    format!(
                        "  decoder: table\n  tensor: {}\n  columns: {columns}  # check\n  normalized: false  # check\n",
                        out.name
                    ),
                ))
            }
            Some([1, n, k]) if *k >= 6 => {
                notes.push(format!(
                    "output {out} looks like a [1, cells, 5 + classes] grid, but no stride set among 8/16/32/64 gives {n} cells on a {w}x{h} input"
                ));
                None
            }
            _ => {
                notes.push(format!(
                    "no decoder reads a single output shaped like {out}"
                ));
                None
            }
        },
        outs if outs.len() > 1
            && outs.iter().all(|t| {
                matches!(fixed_shape(t).as_deref(), Some([1, k, gh, gw]) if *k >= 6 && *gw > 0 && *gh > 0 && w % gw == 0 && h % gh == 0 && w / gw == h / gh)
            }) =>
        {
            // One channel-first head per stride, e.g. [1, 5 + C, H/8, W/8], [1, 5 + C, H/16, W/16].
            let shapes: Vec<Vec<u64>> = outs.iter().filter_map(fixed_shape).collect();
            let k = shapes[0][1];
            let strides: Vec<u64> = shapes.iter().map(|s| w / s[3]).collect();
            if shapes.iter().any(|s| s[1] != k) {
                notes.push("per-stride outputs with different channel counts: no decoder reads these".into());
                None
            } else if k.is_multiple_of(3) && k / 3 >= 6 && strides == [8, 16, 32] {
                // 3 × (5 + C) channels: YOLOv5/v7's anchor-based heads, far more common than
                // an anchor-free head whose class count happens to make K a multiple of 3.
                let per_anchor = k / 3;
                classes_n = Some(per_anchor - 5);
                notes.push(format!(
                    "{} channel-first heads of {k} = 3 x (5 + {}) channels read as YOLOv5/v7 anchor-based heads, 3 anchors per cell, with YOLOv5's default COCO anchors (YOLOv7 and custom models have their own: check the model's configuration); for an anchor-free head with {} classes, drop `anchors` and set the box encoding",
                    outs.len(),
                    per_anchor - 5,
                    k - 5
                ));
                Some((
                    "grid",
                    format!(
                        "  decoder: grid\n  tensors: [{}]\n  layout: channel_first\n  strides: {strides:?}\n  anchors: {YOLOV5_ANCHORS}  # check\n  channels: {{ box: 0, objectness: 4, classes: 5 }}\n  boxes:\n    encoding: center_size\n    xy: {{ activation: sigmoid, scale: 2, offset: -0.5, unit: cell }}\n    wh: {{ activation: sigmoid, scale: 2, power: 2, unit: anchor }}\n  score: {{ objectness: sigmoid, classes: sigmoid }}\n",
                        outs.iter().map(|t| t.name.as_str()).collect::<Vec<_>>().join(", ")
                    ),
                ))
            } else {
                classes_n = Some(k - 5);
                notes.push(format!(
                    "{} channel-first heads of {k} channels read as anchor-free grids with [4 box, objectness, {} classes] per cell: check the channel map, activations and box encoding against the model's documentation",
                    outs.len(),
                    k - 5
                ));
                Some((
                    "grid",
                    format!(
                        "  decoder: grid\n  tensors: [{}]\n  layout: channel_first\n  strides: {strides:?}\n  channels: {{ box: 0, objectness: 4, classes: 5 }}  # check\n  boxes:  # check\n    encoding: center_size\n    xy: {{ activation: none, unit: cell }}\n    wh: {{ activation: exp, unit: stride }}\n  score: {{ objectness: sigmoid, classes: sigmoid }}  # check\n",
                        outs.iter().map(|t| t.name.as_str()).collect::<Vec<_>>().join(", ")
                    ),
                ))
            }
        }
        outs => {
            let by = |pred: &dyn Fn(&TensorSignature) -> bool| outs.iter().find(|t| pred(t));
            let last_is = |t: &TensorSignature, d: u64| {
                t.shape.as_ref().and_then(|s| s.last()).and_then(Dim::fixed) == Some(d)
            };
            let rank = |t: &TensorSignature| t.shape.as_ref().map(|s| s.len());
            let boxes = by(&|t| rank(t) == Some(3) && last_is(t, 4));
            let num = by(&|t| t.dtype.starts_with("int") && rank(t) == Some(2) && last_is(t, 1));
            let others: Vec<&TensorSignature> = outs
                .iter()
                .filter(|t| {
                    Some(t.name.as_str()) != boxes.map(|b| b.name.as_str())
                        && Some(t.name.as_str()) != num.map(|b| b.name.as_str())
                })
                .collect();
            let guess_scores_classes = |others: &[&TensorSignature]| {
                let scores = others.iter().find(|t| t.dtype.starts_with("float"))?;
                let classes = others.iter().find(|t| t.name != scores.name)?;
                Some((scores.name.clone(), classes.name.clone()))
            };
            // SSD-style: box deltas [1, N, 4], scores [1, N, K] and the priors [N, 4].
            let n_boxes = boxes
                .and_then(|b| b.shape.as_ref())
                .and_then(|s| s.get(1))
                .and_then(Dim::fixed);
            let priors = others
                .iter()
                .find(|t| matches!(fixed_shape(t).as_deref(), Some([m, 4]) if Some(*m) == n_boxes))
                .copied();
            let prior_scores = priors.and_then(|p| {
                others
                    .iter()
                    .find(|t| t.name != p.name && t.dtype.starts_with("float") && rank(t) == Some(3))
                    .copied()
            });
            match (boxes, num, others.len()) {
                (Some(b), None, 2) if priors.is_some() && prior_scores.is_some() => {
                    let (p, s) = (priors.unwrap_or(b), prior_scores.unwrap_or(b));
                    classes_n = s
                        .shape
                        .as_ref()
                        .and_then(|d| d.last())
                        .and_then(Dim::fixed)
                        .and_then(|k| k.checked_sub(1))
                        .filter(|k| *k > 0);
                    notes.push(format!(
                        "outputs {b}, {s} and {p} read as SSD box deltas, scores with the background first and priors in input pixels: check the prior format, the variances (RetinaNet: [1, 1, 1, 1]), the score activation (RetinaNet: sigmoid, background none, one class more)"
                    ));
                    Some((
                        "priors",
                        format!(
                            "  decoder: priors\n  deltas: {}\n  scores: {}\n  priors: {}\n  prior_format: xyxy  # check\n  normalized: false  # check\n  variances: [0.1, 0.1, 0.2, 0.2]  # check\n  scores_activation: softmax  # check\n  background: first  # check\n",
                            b.name, s.name, p.name
                        ),
                    ))
                }
                (Some(b), Some(n), 2) => guess_scores_classes(&others).map(|(s, c)| {
                    (
                        "efficient_nms",
                        format!(
                            "  decoder: efficient_nms\n  num_detections: {}\n  boxes: {}\n  scores: {s}  # check\n  classes: {c}  # check\n  box_format: xyxy  # check\n",
                            n.name, b.name
                        ),
                    )
                }),
                (Some(b), None, 1)
                    if rank(others[0]) == Some(3) && others[0].dtype.starts_with("float") =>
                {
                    let l = others[0]
                        .shape
                        .as_ref()
                        .and_then(|s| s.last())
                        .and_then(Dim::fixed);
                    classes_n = l;
                    notes.push(format!(
                        "boxes {b} and logits {} read as an end-to-end (DETR-style) output: sigmoid scoring assumed (RT-DETR); DETR's softmax with a `no object` logit is `scoring: softmax_no_object`, with one class fewer",
                        others[0]
                    ));
                    Some((
                        "end_to_end",
                        format!(
                            "  decoder: end_to_end\n  boxes: {}\n  logits: {}\n  box_format: cxcywh  # check\n  normalized: true  # check\n  scoring: sigmoid  # check\n",
                            b.name, others[0].name
                        ),
                    ))
                }
                (Some(b), None, 2) => guess_scores_classes(&others).map(|(s, c)| {
                    (
                        "boxes_scores_classes",
                        format!(
                            "  decoder: boxes_scores_classes\n  boxes: {}\n  scores: {s}  # check\n  classes: {c}  # check\n  box_format: xyxy  # check\n  apply_nms: true  # check: false when the model ran NMS\n",
                            b.name
                        ),
                    )
                }),
                _ => None,
            }
            .or_else(|| {
                notes.push(format!(
                    "no decoder reads these outputs: {}",
                    outs.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(", ")
                ));
                None
            })
        }
    };
    let Some((decoder, output_yaml)) = output_yaml else {
        return Suggestion {
            decoder: None,
            adapter_yaml: None,
            notes,
        };
    };
    let class_list = match classes_n {
        Some(80) => {
            notes.push("80 classes: COCO's names assumed (check the model's documentation)".into());
            COCO_CLASSES
                .iter()
                .map(|c| c.to_string())
                .collect::<Vec<_>>()
        }
        Some(n) => (0..n).map(|i| format!("class_{i}")).collect(),
        None => {
            notes.push("the class count is not in the output shapes: list the classes".into());
            vec!["class_0".to_string()]
        }
    };
    let preprocessing = if preprocessing_known {
        notes.push(
            "preprocessing is not recorded in an ONNX file: the skeleton assumes YOLOX's (BGR, 0-255, letterbox with 114 at the top left)".into(),
        );
        "  channel_order: bgr  # check\n  scale: 1.0  # check\n  resize: { policy: letterbox, pad_value: 114, placement: top_left }  # check\n"
    } else {
        notes.push(
            "preprocessing is not recorded in an ONNX file: set channel_order, scale, mean, std and resize from the model's documentation".into(),
        );
        "  channel_order: rgb  # check\n  scale: 0.00392156862745098  # check\n  resize: { policy: letterbox, pad_value: 114, placement: top_left }  # check\n"
    };
    let yaml = format!(
        "schema_version: 1\nname: {name}\ninput:\n  tensor: {}\n  layout: {layout}\n  width: {w}\n  height: {h}\n{preprocessing}output:\n{output_yaml}classes: [{}]\nsafety_critical: []  # name the classes whose misses are safety-relevant\nscore_threshold: 0.3  # check\nnms_iou: 0.45  # check\nmax_detections: 100\n",
        input.name,
        class_list
            .iter()
            .map(|c| if c.contains(' ') { format!("\"{c}\"") } else { c.clone() })
            .collect::<Vec<_>>()
            .join(", ")
    );
    Suggestion {
        decoder: Some(decoder.to_string()),
        adapter_yaml: Some(yaml),
        notes,
    }
}
