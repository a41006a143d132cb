//! SVG figures for the HTML report: the exceedance curve (per-frame exceedance
//! probability on a log axis) with the fitted tail and its bootstrap band, and the
//! convergence curve. Both return the SVG document as a String.

use adasval_judge::wcet::special::sorted_copy;
use adasval_judge::wcet::Analysis;
use plotters::prelude::*;

type PlotResult = Result<(), Box<dyn std::error::Error>>;

/// Empirical CCDF points, thinned to about 400 per decade of probability.
fn empirical_ccdf(samples: &[f64]) -> Vec<(f64, f64)> {
    let s = sorted_copy(samples);
    let n = s.len();
    let mut pts = Vec::new();
    let mut last_lp = f64::INFINITY;
    for (i, &x) in s.iter().enumerate() {
        let p = (n - i) as f64 / n as f64;
        let lp = p.log10();
        if i + 1 == n || last_lp - lp >= 1.0 / 400.0 {
            pts.push((x, p));
            last_lp = lp;
        }
    }
    pts
}

/// Exceedance curve: empirical CCDF, fitted tail of the selected model, bootstrap band,
/// pWCET points and the high-water mark.
pub fn exceedance_svg(samples: &[f64], a: &Analysis) -> String {
    let mut buf = String::new();
    if let Err(e) = draw_exceedance(&mut buf, samples, a) {
        return error_svg(&e.to_string());
    }
    buf
}

fn draw_exceedance(buf: &mut String, samples: &[f64], a: &Analysis) -> PlotResult {
    let emp = empirical_ccdf(samples);
    let band = a
        .bootstrap
        .as_ref()
        .map(|b| b.band.clone())
        .unwrap_or_default();
    let pmin = band
        .iter()
        .map(|b| b.exceedance_probability)
        .chain(std::iter::once(1.0 / samples.len().max(1) as f64))
        .fold(1.0, f64::min)
        / 2.0;
    let xmin = emp.first().map_or(0.0, |p| p.0);
    let xmax = band
        .iter()
        .map(|b| {
            if b.ci_high.is_finite() {
                b.ci_high
            } else {
                b.value
            }
        })
        .chain(std::iter::once(a.hwm_margin))
        .fold(a.hwm, f64::max);
    let pad = 0.03 * (xmax - xmin).max(1e-12);
    {
        let root = SVGBackend::with_string(buf, (900, 560)).into_drawing_area();
        root.fill(&WHITE)?;
        let title = format!("Exceedance per frame ({} {}, n = {})", a.stage, a.unit, a.n);
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(45)
            .y_label_area_size(70)
            .build_cartesian_2d((xmin - pad)..(xmax + pad), (pmin..1.0f64).log_scale())?;
        chart
            .configure_mesh()
            .x_desc(format!("latency ({})", a.unit))
            .y_desc("P(latency > x) per frame")
            .y_label_formatter(&|v| format!("{v:.0e}"))
            .draw()?;
        if band.len() >= 2 {
            let mut poly: Vec<(f64, f64)> = band
                .iter()
                .filter(|b| b.ci_low.is_finite())
                .map(|b| (b.ci_low, b.exceedance_probability))
                .collect();
            poly.extend(
                band.iter()
                    .rev()
                    .filter(|b| b.ci_high.is_finite())
                    .map(|b| (b.ci_high, b.exceedance_probability)),
            );
            chart
                .draw_series(std::iter::once(Polygon::new(poly, RED.mix(0.15))))?
                .label(format!(
                    "{:.0}% bootstrap band",
                    100.0 * a.settings.confidence
                ))
                .legend(|(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 20, y + 5)], RED.mix(0.15).filled())
                });
            let sel = a
                .selected
                .as_ref()
                .map(|s| format!("{}/{}", s.method, s.estimator))
                .unwrap_or_default();
            chart
                .draw_series(LineSeries::new(
                    band.iter().map(|b| (b.value, b.exceedance_probability)),
                    RED.stroke_width(2),
                ))?
                .label(format!("fitted tail ({sel})"))
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED.stroke_width(2)));
        }
        chart
            .draw_series(LineSeries::new(emp, BLUE.stroke_width(2)))?
            .label("empirical")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE.stroke_width(2)));
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(a.hwm, pmin), (a.hwm, 1.0)],
                BLACK.mix(0.6),
            )))?
            .label("high-water mark")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK.mix(0.6)));
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(a.hwm_margin, pmin), (a.hwm_margin, 1.0)],
                GREEN.mix(0.8),
            )))?
            .label(format!("HWM x {}", a.margin))
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], GREEN.mix(0.8)));
        chart
            .configure_series_labels()
            .border_style(BLACK)
            .background_style(WHITE.mix(0.8))
            .draw()?;
        root.present()?;
    }
    Ok(())
}

/// Convergence curve: bound at the reference probability and HWM against sample count.
pub fn convergence_svg(a: &Analysis) -> String {
    let mut buf = String::new();
    if let Err(e) = draw_convergence(&mut buf, a) {
        return error_svg(&e.to_string());
    }
    buf
}

fn draw_convergence(buf: &mut String, a: &Analysis) -> PlotResult {
    let Some(c) = a.convergence.as_ref() else {
        *buf = error_svg(&format!("no convergence study (verdict {:?})", a.verdict));
        return Ok(());
    };
    let pts: Vec<(f64, f64)> = c
        .points
        .iter()
        .filter_map(|p| Some((p.n as f64, p.value?)))
        .collect();
    let hw: Vec<(f64, f64)> = c.points.iter().map(|p| (p.n as f64, p.hwm)).collect();
    let ys = pts.iter().chain(&hw).map(|p| p.1);
    let (ymin, ymax) = ys.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
        (a.min(v), b.max(v))
    });
    if !ymin.is_finite() {
        *buf = error_svg("no convergence points");
        return Ok(());
    }
    let pad = 0.05 * (ymax - ymin).max(1e-9 * ymax.abs().max(1.0));
    let xmax = a.n as f64 * 1.02;
    {
        let root = SVGBackend::with_string(buf, (900, 420)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!(
                    "Convergence of the bound at {:e} per frame",
                    c.reference_probability
                ),
                ("sans-serif", 20),
            )
            .margin(12)
            .x_label_area_size(45)
            .y_label_area_size(70)
            .build_cartesian_2d(0f64..xmax, (ymin - pad)..(ymax + pad))?;
        chart
            .configure_mesh()
            .x_desc("samples")
            .y_desc(format!("latency ({})", a.unit))
            .draw()?;
        chart
            .draw_series(LineSeries::new(pts.clone(), RED.stroke_width(2)))?
            .label("pWCET (point)")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED.stroke_width(2)));
        chart.draw_series(pts.iter().map(|&p| Circle::new(p, 3, RED.filled())))?;
        chart
            .draw_series(LineSeries::new(hw, BLUE))?
            .label("high-water mark")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE));
        chart
            .configure_series_labels()
            .border_style(BLACK)
            .background_style(WHITE.mix(0.8))
            .draw()?;
        root.present()?;
    }
    Ok(())
}

fn error_svg(msg: &str) -> String {
    let esc = msg
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"600\" height=\"60\"><text x=\"10\" y=\"35\" \
         font-family=\"sans-serif\" font-size=\"14\">{esc}</text></svg>"
    )
}
