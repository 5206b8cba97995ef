//! Given, complete: the sweep as an SVG plot (plotters' SVG backend, which
//! writes text as SVG `<text>` for the browser to draw: no font files needed).

use crate::report::Sweep;
use plotters::coord::types::{RangedCoordf64, RangedCoordusize};
use plotters::prelude::*;
use std::path::Path;

const SIZE: (u32, u32) = (900, 560);
const MEASURED: RGBColor = RGBColor(31, 119, 180);
const AMDAHL: RGBColor = RGBColor(214, 39, 40);
const CORES: RGBColor = RGBColor(150, 150, 150);

/// The chart the lines are drawn on: workers across, speedup up.
type Chart<'a, 'b> =
    ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordusize, RangedCoordf64>>;

/// Plots measured, ideal and fitted-Amdahl speedup against workers, with the
/// core count marked, and writes it to `path`.
pub fn write_svg(path: &Path, title: &str, sweep: &Sweep) -> anyhow::Result<()> {
    let most_workers = sweep.samples.iter().map(|s| s.workers).max().unwrap_or(1);
    let measured: Vec<(usize, f64)> = sweep
        .samples
        .iter()
        .zip(&sweep.speedups)
        .map(|(s, &speedup)| (s.workers, speedup))
        .collect();
    let top = measured
        .iter()
        .map(|&(_, speedup)| speedup)
        .fold(most_workers as f64, f64::max)
        * 1.08;

    let root = SVGBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(18)
        .x_label_area_size(50)
        .y_label_area_size(60)
        // One step of room on either side, so no point sits on an axis.
        .build_cartesian_2d(0..most_workers + 1, 0.0..top)?;
    draw_axes(&mut chart, most_workers)?;
    draw_speedups(&mut chart, most_workers, &measured)?;
    draw_limits(&mut chart, most_workers, top, sweep)?;
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE)
        .border_style(BLACK)
        .label_font(("sans-serif", 16))
        .draw()?;
    root.present()?;
    Ok(())
}

/// The axes, labelled with whole worker counts only.
fn draw_axes(chart: &mut Chart<'_, '_>, most_workers: usize) -> anyhow::Result<()> {
    chart
        .configure_mesh()
        .x_desc("workers n")
        .y_desc("speedup T(1) / T(n)")
        .x_labels(most_workers + 2)
        .x_label_formatter(&|&n| {
            if (1..=most_workers).contains(&n) {
                n.to_string()
            } else {
                String::new()
            }
        })
        .y_label_formatter(&|y| format!("{y:.1}"))
        .label_style(("sans-serif", 14))
        .axis_desc_style(("sans-serif", 16))
        .light_line_style(WHITE)
        .draw()?;
    Ok(())
}

/// The ideal line and the measured speedups, with a dot for each.
fn draw_speedups(
    chart: &mut Chart<'_, '_>,
    most_workers: usize,
    measured: &[(usize, f64)],
) -> anyhow::Result<()> {
    chart
        .draw_series(LineSeries::new(
            (1..=most_workers).map(|n| (n, n as f64)),
            BLACK.stroke_width(2),
        ))?
        .label("ideal: S = n")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 24, y)], BLACK.stroke_width(2)));
    chart
        .draw_series(LineSeries::new(
            measured.iter().copied(),
            MEASURED.stroke_width(3),
        ))?
        .label("measured")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 24, y)], MEASURED.stroke_width(3)));
    chart.draw_series(
        measured
            .iter()
            .map(|&p| Circle::new(p, 5, MEASURED.filled())),
    )?;
    Ok(())
}

/// What bounds the speedup: Amdahl's law fitted to the sweep, and the core
/// count when the sweep reaches it.
fn draw_limits(
    chart: &mut Chart<'_, '_>,
    most_workers: usize,
    top: f64,
    sweep: &Sweep,
) -> anyhow::Result<()> {
    if let Some(s) = sweep.serial_fraction {
        chart
            .draw_series(DashedLineSeries::new(
                (1..=most_workers).map(|n| (n, ex04::amdahl(n, s))),
                10,
                6,
                AMDAHL.stroke_width(2),
            ))?
            .label(format!("Amdahl fit, s = {s:.3}"))
            .legend(|(x, y)| PathElement::new([(x, y), (x + 24, y)], AMDAHL.stroke_width(2)));
    }
    if sweep.cores <= most_workers {
        chart
            .draw_series(DashedLineSeries::new(
                [(sweep.cores, 0.0), (sweep.cores, top)],
                4,
                4,
                CORES.stroke_width(3),
            ))?
            .label(format!("core count: {}", sweep.cores))
            .legend(|(x, y)| PathElement::new([(x, y), (x + 24, y)], CORES.stroke_width(3)));
    }
    Ok(())
}
