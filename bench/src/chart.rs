//! The charts of a run, as SVG files the book shows under each "Measure it" table.
//!
//! Drawn with `plotters`' SVG backend and none of its font features: text goes into
//! the file as SVG `<text>` elements and the browser draws it with its own fonts,
//! so building and running the bench needs no font files and no C font libraries.
//! The colours are chosen for the book's light theme: Rust in rust-orange, the
//! Python peer in Python blue, the bare ceiling in grey.

use std::fs;
use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::BenchError;
use crate::report::{Chart, Plot, Role, Series, human};

const FONT: &str = "sans-serif";
const WIDTH: u32 = 880;

fn colour(role: Role) -> RGBColor {
    match role {
        Role::Rust => RGBColor(183, 65, 14),
        Role::Python => RGBColor(48, 105, 152),
        Role::Ceiling => RGBColor(128, 128, 128),
        Role::Other => RGBColor(46, 125, 50),
    }
}

fn failed(chart: &Chart, error: impl std::fmt::Display) -> BenchError {
    BenchError::Chart {
        file: format!("{}.svg", chart.file),
        detail: error.to_string(),
    }
}

/// Draws `chart` as SVG text.
pub fn render(chart: &Chart) -> Result<String, BenchError> {
    let mut svg = String::new();
    let size = match &chart.plot {
        Plot::Bars { bars } => (WIDTH, 130 + 56 * bars.len().max(1) as u32),
        Plot::Lines { .. } => (WIDTH, 480),
    };
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        root.fill(&WHITE).map_err(|e| failed(chart, e))?;
        match &chart.plot {
            Plot::Bars { bars } => draw_bars(&root, chart, bars),
            Plot::Lines {
                categories,
                series,
                log_scale,
            } => draw_lines(&root, chart, categories, series, *log_scale),
        }
        .map_err(|e| failed(chart, e))?;
        root.present().map_err(|e| failed(chart, e))?;
    }
    Ok(svg)
}

/// Writes `chart` to `dir/<file>.svg` and returns the path.
pub fn write(chart: &Chart, dir: &Path) -> Result<PathBuf, BenchError> {
    let svg = render(chart)?;
    let path = dir.join(format!("{}.svg", chart.file));
    fs::write(&path, svg).map_err(|e| BenchError::Output {
        path: path.display().to_string(),
        detail: e.to_string(),
    })?;
    Ok(path)
}

/// An axis label: `20,000`, `2.5`, `0.25` — no trailing zeros.
fn compact(value: f64) -> String {
    if value.abs() >= 100.0 {
        return human(value);
    }
    let text = format!("{value:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

type Drawn = Result<(), Box<dyn std::error::Error>>;

/// Horizontal bars on a log scale, each labelled with its value: ratios of 100×
/// between a Rust figure and a Python one stay readable.
fn draw_bars(
    root: &DrawingArea<SVGBackend<'_>, Shift>,
    chart: &Chart,
    bars: &[crate::report::Bar],
) -> Drawn {
    let positive = bars.iter().map(|b| b.value).filter(|v| *v > 0.0);
    let low = positive.clone().fold(f64::INFINITY, f64::min);
    let high = positive.fold(0.0_f64, f64::max);
    let (low, high) = if high > 0.0 {
        (low / 4.0, high * 12.0)
    } else {
        (0.1, 10.0)
    };
    let longest = bars.iter().map(|b| b.label.chars().count()).max();
    let label_width = (longest.unwrap_or(10) as u32 * 9 + 20).clamp(80, 380);
    let count = bars.len().max(1) as i32;

    let mut plot = ChartBuilder::on(root)
        .caption(&chart.title, (FONT, 28))
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(label_width)
        .build_cartesian_2d((low..high).log_scale(), (0..count - 1).into_segmented())?;
    plot.configure_mesh()
        .disable_y_mesh()
        .x_max_light_lines(1)
        .x_desc(&chart.x_label)
        .axis_desc_style((FONT, 20))
        .label_style((FONT, 18))
        .x_label_formatter(&|v| compact(*v))
        .y_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) => bars
                .get(usize::try_from(count - 1 - *i).unwrap_or(usize::MAX))
                .map(|b| b.label.clone())
                .unwrap_or_default(),
            _ => String::new(),
        })
        .y_labels(bars.len() + 1)
        .draw()?;

    // The first bar on top: row `count - 1 - index`.
    plot.draw_series(bars.iter().enumerate().map(|(index, bar)| {
        let row = count - 1 - index as i32;
        let mut rect = Rectangle::new(
            [
                (low, SegmentValue::Exact(row)),
                (bar.value.max(low), SegmentValue::Exact(row + 1)),
            ],
            colour(bar.role).filled(),
        );
        rect.set_margin(8, 8, 0, 0);
        rect
    }))?;
    let value_style = TextStyle::from((FONT, 19).into_font())
        .color(&BLACK)
        .pos(Pos::new(HPos::Left, VPos::Center));
    plot.draw_series(bars.iter().enumerate().map(|(index, bar)| {
        let row = count - 1 - index as i32;
        EmptyElement::at((bar.value.max(low), SegmentValue::CenterOf(row)))
            + Text::new(human(bar.value), (6, 0), value_style.clone())
    }))?;
    Ok(())
}

/// Lines over categories, with a point on each value and a legend.
fn draw_lines(
    root: &DrawingArea<SVGBackend<'_>, Shift>,
    chart: &Chart,
    categories: &[String],
    series: &[Series],
    log_scale: bool,
) -> Drawn {
    let values = || series.iter().flat_map(|s| s.values.iter().copied());
    let high = values().fold(0.0_f64, f64::max);
    let count = categories.len().max(1) as i32;
    let category = |v: &SegmentValue<i32>| match v {
        SegmentValue::CenterOf(i) => categories
            .get(usize::try_from(*i).unwrap_or(usize::MAX))
            .cloned()
            .unwrap_or_default(),
        _ => String::new(),
    };
    let mut builder = ChartBuilder::on(root);
    builder
        .caption(&chart.title, (FONT, 28))
        .margin(16)
        .x_label_area_size(52)
        .y_label_area_size(80);
    let x = (0..count - 1).into_segmented();

    macro_rules! finish {
        ($plot:expr) => {{
            let mut plot = $plot;
            plot.configure_mesh()
                .disable_x_mesh()
                .y_max_light_lines(1)
                .x_desc(&chart.x_label)
                .y_desc(&chart.y_label)
                .axis_desc_style((FONT, 20))
                .label_style((FONT, 18))
                .x_label_formatter(&category)
                .x_labels(categories.len() + 1)
                .y_label_formatter(&|v| compact(*v))
                .y_labels(12)
                .draw()?;
            for line in series {
                let colour = colour(line.role);
                let points: Vec<_> = line
                    .values
                    .iter()
                    .enumerate()
                    .map(|(i, v)| (SegmentValue::CenterOf(i as i32), *v))
                    .collect();
                plot.draw_series(LineSeries::new(points.clone(), colour.stroke_width(3)))?
                    .label(line.name.clone())
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 24, y)], colour.stroke_width(3))
                    });
                plot.draw_series(
                    points
                        .into_iter()
                        .map(|point| Circle::new(point, 4, colour.filled())),
                )?;
            }
            plot.configure_series_labels()
                .position(SeriesLabelPosition::UpperLeft)
                .label_font((FONT, 19))
                .background_style(WHITE.mix(0.9))
                .border_style(BLACK.mix(0.4))
                .draw()?;
        }};
    }
    if log_scale {
        let low = values()
            .filter(|v| *v > 0.0)
            .fold(f64::INFINITY, f64::min)
            .min(high);
        let (low, high) = if high > 0.0 {
            (low / 2.0, high * 8.0)
        } else {
            (0.1, 10.0)
        };
        finish!(builder.build_cartesian_2d(x, (low..high).log_scale())?);
    } else {
        // Headroom above the highest line, for the legend in the upper left.
        let high = if high > 0.0 { high * 1.5 } else { 1.0 };
        finish!(builder.build_cartesian_2d(x, 0.0..high)?);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Bar, Series};

    fn bars() -> Chart {
        Chart {
            file: "ch99-bench".to_owned(),
            title: "Chapter 99: tasks & <more>".to_owned(),
            x_label: "tasks/s (log scale)".to_owned(),
            y_label: String::new(),
            plot: Plot::Bars {
                bars: vec![
                    Bar {
                        label: "Rust pipeline".to_owned(),
                        role: Role::Rust,
                        value: 150_000.0,
                    },
                    Bar {
                        label: "pyzmq pipeline".to_owned(),
                        role: Role::Python,
                        value: 20_000.0,
                    },
                    Bar {
                        label: "bare PUSH → PULL (ceiling)".to_owned(),
                        role: Role::Ceiling,
                        value: 1_000_000.0,
                    },
                ],
            },
        }
    }

    /// The text of every SVG `<text>` element, trimmed.
    fn texts(svg: &str) -> Vec<String> {
        svg.split("<text")
            .skip(1)
            .filter_map(|rest| rest.split_once('>'))
            .filter_map(|(_, rest)| rest.split_once("</text>"))
            .map(|(text, _)| text.trim().to_owned())
            .collect()
    }

    #[test]
    fn a_bar_chart_file_is_written_with_its_title_labels_and_values_as_text() {
        let dir = std::env::temp_dir().join(format!("bench-chart-test-{}", std::process::id()));
        fs::create_dir_all(&dir).expect("temp dir");
        let path = write(&bars(), &dir).expect("chart written");
        assert_eq!(path, dir.join("ch99-bench.svg"));
        let svg = fs::read_to_string(&path).expect("svg");
        assert!(svg.starts_with("<svg"), "{svg}");
        let texts = texts(&svg);
        for expected in [
            "Chapter 99: tasks &amp; &lt;more&gt;",
            "tasks/s (log scale)",
            "Rust pipeline",
            "pyzmq pipeline",
            "bare PUSH → PULL (ceiling)",
            "150,000",
            "20,000",
            "1,000,000",
        ] {
            assert!(
                texts.iter().any(|t| t == expected),
                "no <text> {expected:?} in {texts:?}"
            );
        }
        // Each role in its own colour.
        for colour in ["#B7410E", "#306998", "#808080"] {
            assert!(svg.contains(colour), "no bar in {colour}");
        }
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_line_chart_has_axis_labels_categories_and_a_legend() {
        let chart = Chart {
            file: "ch99-bench-latency".to_owned(),
            title: "latency".to_owned(),
            x_label: "percentile".to_owned(),
            y_label: "latency (ms, log scale)".to_owned(),
            plot: Plot::Lines {
                categories: vec!["p50".into(), "p90".into(), "p99".into(), "p99.9".into()],
                series: vec![
                    Series {
                        name: "tonic + pool of 10".to_owned(),
                        role: Role::Rust,
                        values: vec![0.2, 0.4, 1.0, 3.0],
                    },
                    Series {
                        name: "grpcio".to_owned(),
                        role: Role::Python,
                        values: vec![2.0, 3.0, 6.0, 12.0],
                    },
                ],
                log_scale: true,
            },
        };
        let texts = texts(&render(&chart).expect("rendered"));
        for expected in [
            "latency",
            "percentile",
            "latency (ms, log scale)",
            "p50",
            "p99.9",
            "tonic + pool of 10",
            "grpcio",
        ] {
            assert!(
                texts.iter().any(|t| t == expected),
                "no <text> {expected:?} in {texts:?}"
            );
        }
    }

    #[test]
    fn a_chart_of_nothing_still_draws() {
        let chart = Chart {
            plot: Plot::Bars { bars: Vec::new() },
            ..bars()
        };
        assert!(render(&chart).is_ok());
    }

    #[test]
    fn axis_labels_drop_trailing_zeros() {
        assert_eq!(compact(2.5), "2.5");
        assert_eq!(compact(10.0), "10");
        assert_eq!(compact(0.25), "0.25");
        assert_eq!(compact(20_000.0), "20,000");
    }
}
