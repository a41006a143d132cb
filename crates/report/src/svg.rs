//! SVG plots for reports (plotters, SVG backend only).

use plotters::prelude::*;

/// Histogram of inference latencies (ms) with the deadline marked when it is in range.
pub fn latency_histogram(samples_ns: &[u64], deadline_ms: Option<f64>, title: &str) -> String {
    let mut svg = String::new();
    if samples_ns.is_empty() {
        return "<p>no samples</p>".into();
    }
    let ms: Vec<f64> = samples_ns.iter().map(|&v| v as f64 / 1e6).collect();
    let lo = ms.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = ms.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let span = (hi - lo).max(1e-3);
    let bins = 50usize;
    let width = span / bins as f64;
    let mut counts = vec![0u32; bins];
    for v in &ms {
        let b = (((v - lo) / width) as usize).min(bins - 1);
        counts[b] += 1;
    }
    let ymax = counts.iter().copied().max().unwrap_or(1) as f64;
    {
        let root = SVGBackend::with_string(&mut svg, (520, 300)).into_drawing_area();
        let draw = || -> Result<(), Box<dyn std::error::Error + '_>> {
            root.fill(&WHITE)?;
            let mut chart = ChartBuilder::on(&root)
                .caption(title, ("sans-serif", 14))
                .margin(8)
                .x_label_area_size(36)
                .y_label_area_size(48)
                .build_cartesian_2d(lo..(lo + span), 0f64..(ymax * 1.1))?;
            chart
                .configure_mesh()
                .x_desc("inference latency (ms)")
                .y_desc("count")
                .disable_mesh()
                .draw()?;
            chart.draw_series(counts.iter().enumerate().map(|(i, &c)| {
                let x0 = lo + i as f64 * width;
                Rectangle::new([(x0, 0.0), (x0 + width, c as f64)], BLUE.mix(0.6).filled())
            }))?;
            if let Some(d) = deadline_ms.filter(|d| *d >= lo && *d <= lo + span) {
                chart.draw_series(LineSeries::new(
                    vec![(d, 0.0), (d, ymax * 1.1)],
                    RED.stroke_width(2),
                ))?;
            }
            root.present()?;
            Ok(())
        };
        if let Err(e) = draw() {
            return format!("<p>plot failed: {}</p>", super::esc(&e.to_string()));
        }
    }
    svg
}
