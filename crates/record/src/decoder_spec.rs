//! The adapter's description of the decoders beyond the three fixed layouts: the general
//! grid (anchor-free or anchor-based), end-to-end query outputs, box deltas against priors,
//! and already-decoded tables. Pure data and its checks; decoding lives in the run crate.

use serde::{Deserialize, Serialize};

use crate::adapter::{BoxFormat, InputSpec, OutputSpec};

/// An element-wise function applied to a raw output channel before it is used.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    #[default]
    None,
    Sigmoid,
    Tanh,
    Exp,
    /// Over the class channels only (the scores of one cell sum to 1).
    Softmax,
}

impl Activation {
    /// Apply an element-wise activation (`softmax` is applied by the caller over a vector).
    pub fn apply(self, v: f32) -> f32 {
        match self {
            Activation::None | Activation::Softmax => v,
            Activation::Sigmoid => 1.0 / (1.0 + (-v).exp()),
            Activation::Tanh => v.tanh(),
            Activation::Exp => v.exp(),
        }
    }
}

/// How the grid's values are laid out in its tensor(s).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum GridLayout {
    /// One tensor per stride, `[1, A·K, H, W]` (A anchors per cell, K channels each).
    ChannelFirst,
    /// One tensor per stride, `[1, H, W, A·K]`.
    ChannelLast,
    /// One tensor for all strides, `[1, N, K]`: rows of K channels, N = Σ A·H·W in stride
    /// order, each stride's cells anchor-major then row-major.
    Rows,
    /// One tensor for all strides, `[1, K, N]` (YOLOv8/v11's export).
    Columns,
}

impl GridLayout {
    fn per_stride(self) -> bool {
        matches!(self, GridLayout::ChannelFirst | GridLayout::ChannelLast)
    }
}

/// Which channel of a grid row holds what.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ChannelMap {
    /// First of the 4 box channels (4 × `dfl_bins` with DFL).
    #[serde(rename = "box", default)]
    pub box_: usize,
    /// The objectness (or centre-ness) channel, if the model has one.
    #[serde(default)]
    pub objectness: Option<usize>,
    /// First of the class channels (one per adapter class).
    pub classes: usize,
}

/// What a box value is measured in.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// Grid cells: a centre is `(value + cell) × stride`.
    Cell,
    /// Strides: a size or distance is `value × stride`.
    Stride,
    /// The cell's anchor (anchor-based grids): a size is `value × anchor`.
    Anchor,
    /// Fractions of the network input's width / height.
    Input,
    /// Network-input pixels.
    Pixels,
}

/// One box field: `((scale · activation(raw)) + offset) ^ power`, in `unit`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BoxField {
    #[serde(default)]
    pub activation: Activation,
    #[serde(default = "one")]
    pub scale: f32,
    #[serde(default)]
    pub offset: f32,
    #[serde(default = "one")]
    pub power: f32,
    pub unit: Unit,
}

impl BoxField {
    pub fn value(&self, raw: f32) -> f32 {
        let v = self.scale * self.activation.apply(raw) + self.offset;
        if self.power == 1.0 {
            v
        } else {
            v.powf(self.power)
        }
    }
}

fn one() -> f32 {
    1.0
}

/// How the 4 box channels encode a box.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "encoding", rename_all = "snake_case", deny_unknown_fields)]
pub enum BoxEncoding {
    /// Centre (`xy`) and size (`wh`): YOLOX (`xy` in cells, `wh` exp × stride), YOLOv5/v7
    /// (`xy` 2σ − 0.5 cells, `wh` (2σ)² × anchor), exported YOLOv8 (both in pixels).
    CenterSize { xy: BoxField, wh: BoxField },
    /// Distances from the cell's point to the left, top, right and bottom edges (FCOS,
    /// YOLOv8 before export), optionally as DFL bins: softmax over `dfl_bins` values per
    /// side, distance = Σ i · p(i).
    Ltrb {
        #[serde(default)]
        activation: Activation,
        #[serde(default)]
        dfl_bins: Option<usize>,
        /// `stride`, `pixels` or `input`.
        unit: Unit,
        /// The cell's point is `(cell + cell_center) × stride`: 0.5 in YOLOv8, 0 in FCOS.
        #[serde(default = "half")]
        cell_center: f32,
    },
}

fn half() -> f32 {
    0.5
}

/// score = objectness^objectness_power × class^class_power (the class factor alone when the
/// grid has no objectness channel).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ScoreSpec {
    #[serde(default)]
    pub objectness: Activation,
    #[serde(default)]
    pub classes: Activation,
    #[serde(default = "one")]
    pub objectness_power: f32,
    #[serde(default = "one")]
    pub class_power: f32,
    /// Every class above the threshold is a candidate (FCOS, torchvision; ultralytics'
    /// `multi_label`), not only the best one.
    #[serde(default)]
    pub multi_label: bool,
}

impl Default for ScoreSpec {
    fn default() -> Self {
        ScoreSpec {
            objectness: Activation::None,
            classes: Activation::None,
            objectness_power: 1.0,
            class_power: 1.0,
            multi_label: false,
        }
    }
}

/// The general grid decoder: every cell (and anchor) of every stride predicts one box, its
/// objectness and its class scores; the best class is kept.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct GridSpec {
    /// One tensor per stride (`channel_first`, `channel_last`) or one for all.
    pub tensors: Vec<String>,
    pub layout: GridLayout,
    pub strides: Vec<u32>,
    /// Anchor sizes `[w, h]` in input pixels, one list per stride (YOLOv5/v7); empty for
    /// anchor-free grids (one prediction per cell).
    #[serde(default)]
    pub anchors: Vec<Vec<[f32; 2]>>,
    pub channels: ChannelMap,
    pub boxes: BoxEncoding,
    #[serde(default)]
    pub score: ScoreSpec,
}

impl GridSpec {
    /// YOLOX's layout: `[1, N, 4 + 1 + C]`, xy in cells, wh = exp × stride, obj × cls.
    pub fn yolox(tensor: &str, strides: &[u32]) -> Self {
        let field = |activation, unit| BoxField {
            activation,
            scale: 1.0,
            offset: 0.0,
            power: 1.0,
            unit,
        };
        GridSpec {
            tensors: vec![tensor.to_string()],
            layout: GridLayout::Rows,
            strides: strides.to_vec(),
            anchors: vec![],
            channels: ChannelMap {
                box_: 0,
                objectness: Some(4),
                classes: 5,
            },
            boxes: BoxEncoding::CenterSize {
                xy: field(Activation::None, Unit::Cell),
                wh: field(Activation::Exp, Unit::Stride),
            },
            score: ScoreSpec::default(),
        }
    }

    /// Predictions per cell.
    pub fn anchors_per_cell(&self) -> usize {
        self.anchors.first().map_or(1, |a| a.len().max(1))
    }

    /// Box channels: 4, or 4 × DFL bins.
    pub fn box_channels(&self) -> usize {
        match &self.boxes {
            BoxEncoding::Ltrb {
                dfl_bins: Some(b), ..
            } => 4 * b,
            _ => 4,
        }
    }

    /// Channels per prediction (K): the highest channel any field reads, plus one.
    pub fn row_len(&self, classes: usize) -> usize {
        let c = &self.channels;
        (c.box_ + self.box_channels())
            .max(c.objectness.map_or(0, |o| o + 1))
            .max(c.classes + classes)
    }

    /// `(gw, gh)` of each stride's grid on a `w × h` input.
    pub fn grids(&self, w: u32, h: u32) -> Vec<(usize, usize)> {
        self.strides
            .iter()
            .map(|s| ((w / s) as usize, (h / s) as usize))
            .collect()
    }

    /// The tensor shapes this grid reads on a `w × h` input with `classes` classes.
    pub fn expected_shapes(&self, w: u32, h: u32, classes: usize) -> Vec<(String, Vec<usize>)> {
        let k = self.row_len(classes);
        let a = self.anchors_per_cell();
        let grids = self.grids(w, h);
        match self.layout {
            GridLayout::ChannelFirst => self
                .tensors
                .iter()
                .zip(&grids)
                .map(|(t, (gw, gh))| (t.clone(), vec![1, a * k, *gh, *gw]))
                .collect(),
            GridLayout::ChannelLast => self
                .tensors
                .iter()
                .zip(&grids)
                .map(|(t, (gw, gh))| (t.clone(), vec![1, *gh, *gw, a * k]))
                .collect(),
            GridLayout::Rows | GridLayout::Columns => {
                let n: usize = grids.iter().map(|(gw, gh)| a * gw * gh).sum();
                let shape = if self.layout == GridLayout::Rows {
                    vec![1, n, k]
                } else {
                    vec![1, k, n]
                };
                self.tensors
                    .iter()
                    .map(|t| (t.clone(), shape.clone()))
                    .collect()
            }
        }
    }

    fn validate(&self, input: &InputSpec, classes: usize) -> Result<(), (&'static str, String)> {
        if self.strides.is_empty() || self.strides.contains(&0) {
            return Err(("output.strides", "need positive strides".into()));
        }
        for s in &self.strides {
            if !input.width.is_multiple_of(*s) || !input.height.is_multiple_of(*s) {
                return Err((
                    "output.strides",
                    format!(
                        "the {}x{} input is not a multiple of stride {s}",
                        input.width, input.height
                    ),
                ));
            }
        }
        let want_tensors = if self.layout.per_stride() {
            self.strides.len()
        } else {
            1
        };
        if self.tensors.len() != want_tensors {
            return Err((
                "output.tensors",
                format!(
                    "layout {:?} reads {want_tensors} tensor(s) ({} strides), the adapter names {}",
                    self.layout,
                    self.strides.len(),
                    self.tensors.len()
                ),
            ));
        }
        if !self.anchors.is_empty() {
            let a = self.anchors[0].len();
            if self.anchors.len() != self.strides.len()
                || a == 0
                || self.anchors.iter().any(|l| l.len() != a)
            {
                return Err((
                    "output.anchors",
                    format!(
                        "need one list of the same number of [w, h] anchors per stride ({} strides)",
                        self.strides.len()
                    ),
                ));
            }
            if self
                .anchors
                .iter()
                .flatten()
                .flatten()
                .any(|v| !(v.is_finite() && *v > 0.0))
            {
                return Err(("output.anchors", "anchor sizes must be positive".into()));
            }
        }
        let c = &self.channels;
        let box_end = c.box_ + self.box_channels();
        let overlaps = |start: usize, len: usize| start < box_end && c.box_ < start + len;
        if c.objectness
            .is_some_and(|o| overlaps(o, 1) || (c.classes..c.classes + classes).contains(&o))
            || overlaps(c.classes, classes)
        {
            return Err((
                "output.channels",
                format!(
                    "box channels {}..{box_end}, objectness {:?} and {classes} class channels from {} overlap",
                    c.box_, c.objectness, c.classes
                ),
            ));
        }
        let uses_anchor = match &self.boxes {
            BoxEncoding::CenterSize { xy, wh } => {
                if matches!(xy.unit, Unit::Stride | Unit::Anchor) {
                    return Err((
                        "output.boxes.xy.unit",
                        format!(
                            "a centre is in `cell`, `input` or `pixels`, not {:?}",
                            xy.unit
                        ),
                    ));
                }
                if wh.unit == Unit::Cell {
                    return Err((
                        "output.boxes.wh.unit",
                        "a size is in `stride`, `anchor`, `input` or `pixels`, not `cell`".into(),
                    ));
                }
                for (f, name) in [(xy, "output.boxes.xy"), (wh, "output.boxes.wh")] {
                    if f.activation == Activation::Softmax {
                        return Err((name, "softmax applies to class scores only".into()));
                    }
                    if ![f.scale, f.offset, f.power].iter().all(|v| v.is_finite()) {
                        return Err((name, "scale, offset and power must be finite".into()));
                    }
                }
                wh.unit == Unit::Anchor
            }
            BoxEncoding::Ltrb {
                activation,
                dfl_bins,
                unit,
                cell_center,
            } => {
                if matches!(unit, Unit::Cell | Unit::Anchor) {
                    return Err((
                        "output.boxes.unit",
                        format!(
                            "ltrb distances are in `stride`, `pixels` or `input`, not {unit:?}"
                        ),
                    ));
                }
                if *activation == Activation::Softmax {
                    return Err((
                        "output.boxes.activation",
                        "softmax applies to class scores (DFL bins take `dfl_bins`)".into(),
                    ));
                }
                if *dfl_bins == Some(0) || dfl_bins.is_some_and(|b| b > 1024) {
                    return Err(("output.boxes.dfl_bins", "must be in 1..=1024".into()));
                }
                if !cell_center.is_finite() {
                    return Err(("output.boxes.cell_center", "must be finite".into()));
                }
                false
            }
        };
        if uses_anchor && self.anchors.is_empty() {
            return Err((
                "output.anchors",
                "`wh.unit: anchor` needs anchors per stride".into(),
            ));
        }
        let s = &self.score;
        if s.objectness == Activation::Softmax {
            return Err((
                "output.score.objectness",
                "softmax applies to class scores only".into(),
            ));
        }
        let positive = |p: f32| p.is_finite() && p > 0.0;
        if !(positive(s.objectness_power) && positive(s.class_power)) {
            return Err(("output.score", "powers must be positive".into()));
        }
        Ok(())
    }
}

/// How an end-to-end detector scores its queries.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum QueryScoring {
    /// DETR: softmax over C + 1 logits, the last is "no object"; the best real class wins.
    SoftmaxNoObject,
    /// RT-DETR / Deformable DETR: sigmoid per class; every (query, class) pair is a
    /// candidate and the best `queries` pairs are kept.
    Sigmoid,
    /// Scores are already probabilities: the best class wins.
    None,
}

/// End-to-end outputs: boxes `[1, Q, 4]` and class logits `[1, Q, C(+1)]`, no NMS.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EndToEndSpec {
    pub boxes: String,
    pub logits: String,
    #[serde(default = "cxcywh")]
    pub box_format: BoxFormat,
    /// Boxes are fractions of the network input (DETR's); false: input pixels.
    #[serde(default = "yes")]
    pub normalized: bool,
    pub scoring: QueryScoring,
}

fn cxcywh() -> BoxFormat {
    BoxFormat::Cxcywh
}
fn yes() -> bool {
    true
}

/// Where the background class sits among the scores of a priors decoder.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Background {
    /// Score 0 is background (SSD, torchvision).
    First,
    Last,
    /// No background score (RetinaNet's sigmoid scores).
    None,
}

/// Box deltas against priors (SSD, RetinaNet): `deltas` `[1, N, 4]` as (dx, dy, dw, dh),
/// `scores` `[1, N, C (+ background)]`, `priors` `[N, 4]` or `[1, N, 4]` (a model output).
/// centre = prior centre + d_xy · variance_xy · prior size, size = exp(d_wh · variance_wh)
/// · prior size (d_wh clamped at ln(1000/16), as torchvision does). Every (prior, class)
/// pair above the threshold is a candidate.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PriorsSpec {
    pub deltas: String,
    pub scores: String,
    pub priors: String,
    #[serde(default)]
    pub prior_format: BoxFormat,
    /// Priors are fractions of the network input rather than pixels.
    #[serde(default)]
    pub normalized: bool,
    /// SSD's 0.1 / 0.2 (torchvision's weights 10, 10, 5, 5); RetinaNet's 1, 1, 1, 1.
    #[serde(default = "ssd_variances")]
    pub variances: [f32; 4],
    pub scores_activation: Activation,
    pub background: Background,
}

fn ssd_variances() -> [f32; 4] {
    [0.1, 0.1, 0.2, 0.2]
}

/// A column of an already-decoded table.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Column {
    X1,
    Y1,
    X2,
    Y2,
    Cx,
    Cy,
    W,
    H,
    Score,
    Class,
    /// The batch index of ONNX NMS exports; rows of other images are skipped.
    Batch,
    Ignore,
}

/// One detection per row: `[N, K]` or `[1, N, K]` with K = `columns.len()`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TableSpec {
    pub tensor: String,
    pub columns: Vec<Column>,
    #[serde(default)]
    pub normalized: bool,
    /// Apply NMS after thresholding (false when the model already did).
    #[serde(default)]
    pub apply_nms: bool,
}

impl TableSpec {
    pub fn col(&self, c: Column) -> Option<usize> {
        self.columns.iter().position(|x| *x == c)
    }

    fn validate(&self) -> Result<(), (&'static str, String)> {
        use Column::*;
        for c in [X1, Y1, X2, Y2, Cx, Cy, W, H, Score, Class, Batch] {
            if self.columns.iter().filter(|x| **x == c).count() > 1 {
                return Err(("output.columns", format!("{c:?} appears twice")));
            }
        }
        let has = |cs: &[Column]| cs.iter().all(|c| self.col(*c).is_some());
        if !(has(&[X1, Y1, X2, Y2]) || has(&[Cx, Cy, W, H])) {
            return Err((
                "output.columns",
                "need x1, y1, x2, y2 or cx, cy, w, h".into(),
            ));
        }
        if !has(&[Score, Class]) {
            return Err(("output.columns", "need a score and a class column".into()));
        }
        Ok(())
    }
}

impl OutputSpec {
    /// Checks that need no model: each returns the adapter field at fault.
    pub(crate) fn validate(
        &self,
        input: &InputSpec,
        classes: usize,
    ) -> Result<(), (&'static str, String)> {
        match self {
            OutputSpec::Grid(g) => g.validate(input, classes),
            OutputSpec::Table(t) => t.validate(),
            OutputSpec::Priors(p) => {
                if !p.variances.iter().all(|v| v.is_finite() && *v > 0.0) {
                    return Err(("output.variances", "must be positive".into()));
                }
                if p.scores_activation == Activation::Tanh || p.scores_activation == Activation::Exp
                {
                    return Err((
                        "output.scores_activation",
                        "scores take none, sigmoid or softmax".into(),
                    ));
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// The output tensors the decoder reads, with the adapter field naming each.
    pub fn tensor_fields(&self) -> Vec<(&'static str, &str)> {
        match self {
            OutputSpec::Yolox { tensor, .. } => vec![("output.tensor", tensor.as_str())],
            OutputSpec::BoxesScoresClasses {
                boxes,
                scores,
                classes,
                ..
            } => vec![
                ("output.boxes", boxes.as_str()),
                ("output.scores", scores.as_str()),
                ("output.classes", classes.as_str()),
            ],
            OutputSpec::EfficientNms {
                num_detections,
                boxes,
                scores,
                classes,
                ..
            } => vec![
                ("output.num_detections", num_detections.as_str()),
                ("output.boxes", boxes.as_str()),
                ("output.scores", scores.as_str()),
                ("output.classes", classes.as_str()),
            ],
            OutputSpec::Grid(g) => g
                .tensors
                .iter()
                .map(|t| ("output.tensors", t.as_str()))
                .collect(),
            OutputSpec::EndToEnd(e) => vec![
                ("output.boxes", e.boxes.as_str()),
                ("output.logits", e.logits.as_str()),
            ],
            OutputSpec::Priors(p) => vec![
                ("output.deltas", p.deltas.as_str()),
                ("output.scores", p.scores.as_str()),
                ("output.priors", p.priors.as_str()),
            ],
            OutputSpec::Table(t) => vec![("output.tensor", t.tensor.as_str())],
        }
    }

    /// The decoder's name as the adapter spells it.
    pub fn decoder_name(&self) -> &'static str {
        match self {
            OutputSpec::Yolox { .. } => "yolox",
            OutputSpec::BoxesScoresClasses { .. } => "boxes_scores_classes",
            OutputSpec::EfficientNms { .. } => "efficient_nms",
            OutputSpec::Grid(_) => "grid",
            OutputSpec::EndToEnd(_) => "end_to_end",
            OutputSpec::Priors(_) => "priors",
            OutputSpec::Table(_) => "table",
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::adapter::{Adapter, AdapterError};
    use std::path::Path;

    const HEAD: &str = "schema_version: 1\nname: t\ninput: { tensor: images, layout: nchw, width: 64, height: 64, channel_order: rgb, resize: { policy: stretch } }\nclasses: [a, b]\nscore_threshold: 0.3\nnms_iou: 0.5\n";

    fn parse(output: &str) -> Result<Adapter, AdapterError> {
        Adapter::parse(Path::new("a.yaml"), &format!("{HEAD}output:\n{output}"))
    }

    fn field_of(output: &str) -> String {
        match parse(output) {
            Err(AdapterError::Invalid { field, .. }) => field.to_string(),
            other => panic!("expected an invalid field, got {other:?}"),
        }
    }

    const GRID: &str = "  decoder: grid\n  tensors: [p8, p16]\n  layout: channel_first\n  strides: [8, 16]\n  channels: { box: 0, objectness: 4, classes: 5 }\n  boxes: { encoding: center_size, xy: { unit: cell }, wh: { activation: exp, unit: stride } }\n";

    #[test]
    fn a_grid_adapter_parses_and_its_mistakes_name_their_field() {
        let a = parse(GRID).expect("valid");
        let crate::adapter::OutputSpec::Grid(g) = &a.output else {
            panic!("grid")
        };
        assert_eq!(g.row_len(2), 7);
        assert_eq!(
            g.expected_shapes(64, 64, 2),
            vec![
                ("p8".into(), vec![1, 7, 8, 8]),
                ("p16".into(), vec![1, 7, 4, 4])
            ]
        );
        for (edit, field) in [
            (GRID.replace("[p8, p16]", "[p8]"), "output.tensors"),
            (GRID.replace("[8, 16]", "[8, 24]"), "output.strides"),
            (
                GRID.replace("objectness: 4", "objectness: 2"),
                "output.channels",
            ),
            (
                GRID.replace("unit: stride", "unit: anchor"),
                "output.anchors",
            ),
            (
                GRID.replace("unit: cell", "unit: stride"),
                "output.boxes.xy.unit",
            ),
            (
                GRID.replace("activation: exp", "activation: softmax"),
                "output.boxes.wh",
            ),
        ] {
            assert_eq!(field_of(&edit), field, "{edit}");
        }
        // A misspelt key is refused by the YAML reader with its line.
        let e = parse(&GRID.replace("strides", "stride")).unwrap_err();
        assert!(e.to_string().contains("stride"), "{e}");
    }

    #[test]
    fn table_columns_need_a_box_a_score_and_a_class() {
        let t = |cols: &str| format!("  decoder: table\n  tensor: out\n  columns: {cols}\n");
        assert!(parse(&t("[x1, y1, x2, y2, score, class]")).is_ok());
        assert!(parse(&t("[cx, cy, w, h, class, score, batch]")).is_ok());
        for bad in [
            "[x1, y1, x2, score, class]",
            "[x1, y1, x2, y2, score]",
            "[x1, y1, x2, y2, score, class, class]",
        ] {
            assert_eq!(field_of(&t(bad)), "output.columns", "{bad}");
        }
    }
}
