//! The latency-percentile plot (PNG, plotters' bitmap backend).
//!
//! One panel per message size; in each, one line per system through its
//! round-trip percentiles (p50 … max) on a logarithmic time axis. Text is
//! drawn with a TrueType font read at run time from the usual system paths
//! (no font is compiled in and fontconfig is not needed to build).

use crate::report::Latency;
use crate::{err, Result};
use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};

/// Percentiles on the x axis (quantile, label); the last is the maximum.
pub const PERCENTILES: [(f64, &str); 6] = [
    (0.5, "p50"),
    (0.9, "p90"),
    (0.99, "p99"),
    (0.999, "p99.9"),
    (0.9999, "p99.99"),
    (1.0, "max"),
];

/// Candidate font files (Debian's DejaVu and Liberation packages first).
const FONTS: [&str; 4] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
];

/// Registers the first font found as plotters' "sans-serif".
fn load_font() -> Result<&'static str> {
    for path in FONTS {
        if let Ok(bytes) = std::fs::read(path) {
            // Leaked once per process: plotters keeps fonts for its lifetime.
            let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
            register_font("sans-serif", FontStyle::Normal, bytes)
                .map_err(|_| err(format!("{path}: not a usable font")))?;
            return Ok(path);
        }
    }
    Err(err(format!(
        "no TrueType font found (looked for {}); install fonts-dejavu-core",
        FONTS.join(", ")
    )))
}

/// The value of `lat` at each of [`PERCENTILES`], in ns.
fn points(lat: &Latency) -> Vec<f64> {
    PERCENTILES
        .iter()
        .map(|&(q, _)| {
            if q >= 1.0 {
                lat.max() as f64
            } else {
                lat.quantile(q) as f64
            }
        })
        .map(|x| x.max(1.0))
        .collect()
}

/// A time-axis tick: `100 ns`, `10 µs`, `5 ms`.
fn axis_label(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.0} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.0} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

/// One panel: a title and the systems' latencies.
#[derive(Debug)]
pub struct Panel<'a> {
    /// Panel title (the message size).
    pub title: String,
    /// (system label, its round-trip times).
    pub series: Vec<(&'a str, &'a Latency)>,
}

/// Draws `panels` (up to 4, in a 2×2 grid) into a PNG at `path`, with
/// `caption` on top. Returns the font file used.
///
/// # Errors
/// No font, or a drawing or file error.
pub fn latency_png(path: &str, caption: &str, panels: &[Panel<'_>]) -> Result<&'static str> {
    let font = load_font()?;
    let root = BitMapBackend::new(path, (1400, 1000)).into_drawing_area();
    let e = |e: DrawingAreaErrorKind<_>| err(format!("plot: {e:?}"));
    root.fill(&WHITE).map_err(e)?;
    let root = root.titled(caption, ("sans-serif", 26)).map_err(e)?;
    let colors = [
        RGBColor(0, 0, 0),
        RGBColor(214, 39, 40),
        RGBColor(31, 119, 180),
        RGBColor(44, 160, 44),
        RGBColor(255, 127, 14),
        RGBColor(148, 103, 189),
        RGBColor(140, 86, 75),
    ];
    for (area, panel) in root.split_evenly((2, 2)).iter().zip(panels) {
        let all: Vec<f64> = panel.series.iter().flat_map(|(_, l)| points(l)).collect();
        let lo = all.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = all.iter().copied().fold(1.0, f64::max);
        let n = PERCENTILES.len();
        let mut chart = ChartBuilder::on(area)
            .caption(&panel.title, ("sans-serif", 22))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(80)
            .build_cartesian_2d(
                -0.2f64..(n as f64 - 0.8),
                ((lo * 0.7).max(1.0)..hi * 1.5).log_scale(),
            )
            .map_err(e)?;
        chart
            .configure_mesh()
            .x_labels(n)
            .x_label_formatter(&|x| {
                let i = x.round();
                if (x - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < n {
                    PERCENTILES[i as usize].1.to_string()
                } else {
                    String::new()
                }
            })
            .y_desc("round trip")
            .y_label_formatter(&|y| axis_label(*y))
            .label_style(("sans-serif", 15))
            .draw()
            .map_err(e)?;
        for (k, (label, lat)) in panel.series.iter().enumerate() {
            let c = colors[k % colors.len()];
            let pts: Vec<(f64, f64)> = points(lat)
                .into_iter()
                .enumerate()
                .map(|(i, y)| (i as f64, y))
                .collect();
            chart
                .draw_series(LineSeries::new(pts.clone(), c.stroke_width(2)))
                .map_err(e)?
                .label(*label)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2))
                });
            chart
                .draw_series(pts.into_iter().map(|p| Circle::new(p, 3, c.filled())))
                .map_err(e)?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(("sans-serif", 14))
            .draw()
            .map_err(e)?;
    }
    root.present().map_err(e)?;
    Ok(font)
}
