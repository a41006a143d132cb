//! The sweep's figure: aggregate throughput (left axis) and pooled p99 latency (right
//! axis) against the number of streams (log₂ axis), with the saturation point marked.
//! plotters' SVG backend, like the other report plots.

use plotters::prelude::*;

use adasval_record::sweep::SweepRecord;

pub fn sweep_svg(r: &SweepRecord) -> String {
    let thr: Vec<(f64, f64)> = r
        .points
        .iter()
        .filter_map(|p| Some((p.streams as f64, p.throughput_fps?)))
        .collect();
    let lat: Vec<(f64, f64)> = r
        .points
        .iter()
        .filter(|p| p.latency.p99_ms.is_finite())
        .map(|p| (p.streams as f64, p.latency.p99_ms))
        .collect();
    if thr.is_empty() && lat.is_empty() {
        return "<p>no points to plot</p>".into();
    }
    let xmax = r
        .points
        .iter()
        .map(|p| p.streams as f64)
        .fold(1.0, f64::max);
    let x_hi = (xmax * 1.25).max(2.0);
    let y1 = thr.iter().map(|p| p.1).fold(0.0, f64::max).max(1e-9) * 1.15;
    let y2 = lat.iter().map(|p| p.1).fold(0.0, f64::max).max(1e-9) * 1.15;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (640, 360)).into_drawing_area();
        let draw = || -> Result<(), Box<dyn std::error::Error + '_>> {
            root.fill(&WHITE)?;
            let mut chart = ChartBuilder::on(&root)
                .caption(
                    "Throughput and p99 latency vs concurrent streams",
                    ("sans-serif", 15),
                )
                .margin(10)
                .x_label_area_size(38)
                .y_label_area_size(58)
                .right_y_label_area_size(58)
                .build_cartesian_2d((0.8f64..x_hi).log_scale(), 0f64..y1)?
                .set_secondary_coord((0.8f64..x_hi).log_scale(), 0f64..y2);
            chart
                .configure_mesh()
                .x_desc("concurrent streams (log scale)")
                .y_desc("throughput (frames/s)")
                .x_label_formatter(&|v| format!("{v:.0}"))
                .disable_mesh()
                .draw()?;
            chart
                .configure_secondary_axes()
                .y_desc("p99 latency (ms)")
                .draw()?;
            if let Some(n) = r.saturation.streams {
                chart.draw_series(LineSeries::new(
                    vec![(n as f64, 0.0), (n as f64, y1)],
                    BLACK.mix(0.4).stroke_width(1),
                ))?;
            }
            chart
                .draw_series(LineSeries::new(thr.clone(), BLUE.stroke_width(2)))?
                .label("throughput")
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], BLUE));
            chart.draw_series(thr.iter().map(|&p| Circle::new(p, 3, BLUE.filled())))?;
            chart
                .draw_secondary_series(LineSeries::new(lat.clone(), RED.stroke_width(2)))?
                .label("p99 latency")
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], RED));
            chart.draw_secondary_series(
                lat.iter().map(|&p| TriangleMarker::new(p, 4, RED.filled())),
            )?;
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperLeft)
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK.mix(0.3))
                .draw()?;
            root.present()?;
            Ok(())
        };
        if let Err(e) = draw() {
            return format!("<p>plot failed: {}</p>", crate::esc(&e.to_string()));
        }
    }
    svg
}
