//! Writing a random-scene dataset: PNG images plus a COCO instances JSON whose
//! labels come straight from the renderer's instance mask. Frames render in
//! parallel; each frame depends only on (seed, index), so the output is the same
//! whatever the thread count.

use super::{check_size, render_random, Frame, SequenceSpec, SynthError, CLASS_NAMES};
use rayon::prelude::*;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What `write_dataset` wrote.
#[derive(Clone, Debug, Serialize)]
pub struct DatasetSummary {
    pub out: PathBuf,
    pub images: u32,
    pub annotations: u64,
    /// Annotations per class name (ignored ones included).
    pub per_class: BTreeMap<String, u64>,
    /// Images per condition name.
    pub per_condition: BTreeMap<String, u64>,
    pub ignored: u64,
}

/// Encode an RGB8 frame as PNG bytes (fast compression: datasets are large).
pub fn png_bytes(frame: &Frame) -> Result<Vec<u8>, image::ImageError> {
    use image::codecs::png::{CompressionType, FilterType, PngEncoder};
    use image::ImageEncoder;
    let mut buf = Vec::new();
    PngEncoder::new_with_quality(&mut buf, CompressionType::Fast, FilterType::Adaptive)
        .write_image(
            &frame.rgb,
            frame.width,
            frame.height,
            image::ExtendedColorType::Rgb8,
        )?;
    Ok(buf)
}

/// COCO image entry for a frame (extra fields carry the scene attributes).
pub fn coco_image(frame: &Frame, id: u64, file_name: &str) -> Value {
    json!({
        "id": id,
        "file_name": file_name,
        "width": frame.width,
        "height": frame.height,
        "condition": frame.condition.name(),
        "lighting": frame.lighting.name(),
        "weather": frame.weather.name(),
        "environment": frame.environment,
    })
}

/// COCO annotations of a frame; ids continue from `next_id`.
pub fn coco_annotations(frame: &Frame, image_id: u64, next_id: &mut u64) -> Vec<Value> {
    frame
        .objects
        .iter()
        .map(|o| {
            let id = *next_id;
            *next_id += 1;
            json!({
                "id": id,
                "image_id": image_id,
                "category_id": o.class_id + 1,
                "bbox": o.bbox,
                "area": o.visible_pixels,
                "iscrowd": 0,
                "occlusion": o.occlusion,
                "truncation": o.truncation,
                "ignore": o.ignore as u8,
                "track_id": o.track_id,
                "kind": o.kind,
                "full_bbox": o.full_bbox,
                "distance_m": o.distance_m,
                "visibility": o.visibility,
            })
        })
        .collect()
}

pub fn coco_categories() -> Value {
    Value::Array(
        CLASS_NAMES
            .iter()
            .enumerate()
            .map(|(i, n)| json!({"id": i + 1, "name": n, "supercategory": if i < 2 { "vulnerable_road_user" } else if i < 4 { "vehicle" } else { "obstacle" }}))
            .collect(),
    )
}

fn write_err(path: &Path, e: impl std::fmt::Display) -> SynthError {
    SynthError::Write {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// Render `count` random frames of `seed` into `out/images/NNNNNN.png` and
/// `out/instances.json`. Image id = frame index + 1; file name `images/NNNNNN.png`
/// (relative to `out`) uses the frame index.
pub fn write_dataset(
    seed: u64,
    count: u32,
    width: u32,
    height: u32,
    out: &Path,
) -> Result<DatasetSummary, SynthError> {
    check_size(width, height)?;
    if count == 0 {
        return Err(SynthError::BadCount(count));
    }
    let info = json!({
        "description": "adasval synthetic road scenes",
        "generator": concat!("adasval ", env!("CARGO_PKG_VERSION")),
        "seed": seed,
        "count": count,
        "width": width,
        "height": height,
    });
    write_frames(out, count, Some(seed), info, |i| {
        Ok(render_random(seed, i as u64, width, height))
    })
}

/// Render every frame of a scenario sequence into `out` in the same layout.
pub fn write_sequence(spec: &SequenceSpec, out: &Path) -> Result<DatasetSummary, SynthError> {
    spec.validate()?;
    let info = json!({
        "description": "adasval scenario sequence",
        "generator": concat!("adasval ", env!("CARGO_PKG_VERSION")),
        "seed": spec.seed,
        "count": spec.frames,
        "fps": spec.fps,
        "width": spec.width,
        "height": spec.height,
    });
    write_frames(out, spec.frames, None, info, |i| spec.render(i))
}

fn write_frames(
    out: &Path,
    count: u32,
    seed: Option<u64>,
    info: Value,
    render: impl Fn(u32) -> Result<Frame, SynthError> + Sync,
) -> Result<DatasetSummary, SynthError> {
    let img_dir = out.join("images");
    std::fs::create_dir_all(&img_dir).map_err(|e| write_err(&img_dir, e))?;
    let results: Vec<Result<(Value, Frame), SynthError>> = (0..count)
        .into_par_iter()
        .map(|i| {
            let frame = render(i)?;
            let name = format!("images/{i:06}.png");
            let path = out.join(&name);
            let bytes = png_bytes(&frame).map_err(|e| write_err(&path, e))?;
            std::fs::write(&path, bytes).map_err(|e| write_err(&path, e))?;
            let img = coco_image(&frame, i as u64 + 1, &name);
            // Keep labels, drop pixels: 20k frames must not all stay in memory.
            let labels = Frame {
                rgb: Vec::new(),
                ..frame
            };
            Ok((img, labels))
        })
        .collect();
    let mut images = Vec::with_capacity(count as usize);
    let mut anns = Vec::new();
    let mut next_id = 1u64;
    let mut summary = DatasetSummary {
        out: out.to_path_buf(),
        images: count,
        annotations: 0,
        per_class: BTreeMap::new(),
        per_condition: BTreeMap::new(),
        ignored: 0,
    };
    for (i, r) in results.into_iter().enumerate() {
        let (mut img, frame) = r?;
        if let Some(m) = img.as_object_mut() {
            m.insert("frame_index".into(), json!(i));
            if let Some(seed) = seed {
                m.insert("seed".into(), json!(seed));
            }
        }
        images.push(img);
        *summary
            .per_condition
            .entry(frame.condition.name().to_string())
            .or_default() += 1;
        for o in &frame.objects {
            *summary
                .per_class
                .entry(CLASS_NAMES[o.class_id as usize].to_string())
                .or_default() += 1;
            summary.ignored += o.ignore as u64;
        }
        anns.extend(coco_annotations(&frame, i as u64 + 1, &mut next_id));
    }
    summary.annotations = anns.len() as u64;
    let doc = json!({
        "info": info,
        "images": images,
        "annotations": anns,
        "categories": coco_categories(),
    });
    let path = out.join("instances.json");
    let text = serde_json::to_vec(&doc).map_err(|e| write_err(&path, e))?;
    std::fs::write(&path, text).map_err(|e| write_err(&path, e))?;
    Ok(summary)
}
