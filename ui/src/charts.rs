//! Charts drawn with plotters into SVG text, placed in the page as markup.
//! Text is measured by the webview (plotters' web font backend): no font files.

use plotters::prelude::*;
use std::ops::Range;

pub const BLUE: RGBColor = RGBColor(11, 92, 173);
pub const RED: RGBColor = RGBColor(179, 38, 30);
pub const GREEN: RGBColor = RGBColor(30, 122, 60);
pub const AMBER: RGBColor = RGBColor(138, 90, 0);
pub const GREY: RGBColor = RGBColor(91, 102, 117);

pub struct Series {
    pub label: String,
    pub color: RGBColor,
    pub points: Vec<(f64, f64)>,
}

/// A horizontal band drawn behind the lines, e.g. the low/moderate/high risk zones.
pub struct Band {
    pub from: f64,
    pub to: f64,
    pub color: RGBColor,
}

pub struct LineChart<'a> {
    pub width: u32,
    pub height: u32,
    pub x: Range<f64>,
    pub y: Range<f64>,
    pub x_desc: &'a str,
    pub y_desc: &'a str,
    /// Labels of whole-number x positions (e.g. assessment dates); numbers when empty.
    pub x_labels: &'a [String],
    pub bands: &'a [Band],
    pub series: &'a [Series],
    /// Dots on every point (few points); plain lines otherwise.
    pub dots: bool,
    /// Where the legend goes (shown with two series or more): a corner the curves leave empty.
    pub legend_at: SeriesLabelPosition,
}

impl LineChart<'_> {
    pub fn svg(&self) -> String {
        let mut out = String::new();
        {
            let root =
                SVGBackend::with_string(&mut out, (self.width, self.height)).into_drawing_area();
            if self.draw(&root).is_err() {
                return String::new();
            }
            let _ = root.present();
        }
        out
    }

    fn draw(
        &self,
        root: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    ) -> Result<(), Box<dyn std::error::Error>> {
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(root)
            .margin(8)
            .x_label_area_size(34)
            .y_label_area_size(46)
            .build_cartesian_2d(self.x.clone(), self.y.clone())?;
        let labels = self.x_labels;
        let x_format = |x: &f64| {
            if labels.is_empty() {
                let span = self.x.end - self.x.start;
                if span <= 2.0 {
                    crate::i18n::number(format!("{x:.1}"))
                } else {
                    format!("{x:.0}")
                }
            } else if x.fract() == 0.0 && *x >= 0.0 && (*x as usize) < labels.len() {
                labels[*x as usize].clone()
            } else {
                String::new()
            }
        };
        let label_style = ("sans-serif", 12).into_font().color(&GREY);
        chart
            .configure_mesh()
            .light_line_style(RGBColor(238, 241, 245))
            .bold_line_style(RGBColor(213, 219, 227))
            .x_desc(self.x_desc)
            .y_desc(self.y_desc)
            .x_labels(if labels.is_empty() {
                6
            } else {
                labels.len().min(8)
            })
            .y_labels(5)
            .x_label_formatter(&x_format)
            .y_label_formatter(&|y: &f64| {
                let span = self.y.end - self.y.start;
                if span <= 2.0 {
                    crate::i18n::number(format!("{y:.2}"))
                } else {
                    format!("{y:.0}")
                }
            })
            .label_style(label_style.clone())
            .axis_desc_style(label_style)
            .draw()?;
        for band in self.bands {
            chart.draw_series(std::iter::once(Rectangle::new(
                [(self.x.start, band.from), (self.x.end, band.to)],
                band.color.mix(0.10).filled(),
            )))?;
        }
        for s in self.series {
            let color = s.color;
            chart
                .draw_series(LineSeries::new(
                    s.points.iter().copied(),
                    color.stroke_width(2),
                ))?
                .label(s.label.as_str())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2))
                });
            if self.dots {
                chart.draw_series(s.points.iter().map(|&p| Circle::new(p, 3, color.filled())))?;
            }
        }
        if self.series.len() > 1 {
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.85))
                .border_style(RGBColor(213, 219, 227))
                .label_font(("sans-serif", 12))
                .position(self.legend_at.clone())
                .draw()?;
        }
        Ok(())
    }
}

/// The x range that shows `n` points at 0..n-1 with a little room either side.
pub fn index_range(n: usize) -> Range<f64> {
    -0.3..(n.max(2) as f64 - 0.7)
}

/// A half-circle gauge of a probability with the three risk zones and a needle.
/// Written directly as SVG (no plotting): the zones are three arcs, the needle one
/// line, so the result's first frame does not wait on drawing.
pub fn gauge(probability: f64) -> String {
    use std::f64::consts::PI;
    use std::fmt::Write;
    // 260 x 150 px; the dial's centre and radii in px (the width spans 2.2 radii,
    // the height 1.25).
    const CX: f64 = 130.0;
    const CY: f64 = 132.0;
    const RX: f64 = 260.0 / 2.2;
    const RY: f64 = 150.0 / 1.25;
    const INNER: f64 = 0.72;
    // Probability 0 on the left, over the top, 1 on the right.
    let at = |q: f64, r: f64| {
        let a = PI * (1.0 - q);
        (CX + r * RX * a.cos(), CY - r * RY * a.sin())
    };
    let colour = |c: RGBColor| format!("#{:02x}{:02x}{:02x}", c.0, c.1, c.2);
    let mut svg = String::from(
        r#"<svg width="260" height="150" viewBox="0 0 260 150" xmlns="http://www.w3.org/2000/svg" aria-hidden="true">"#,
    );
    for (from, to, c) in [(0.0, 0.2, GREEN), (0.2, 0.5, AMBER), (0.5, 1.0, RED)] {
        let (x0, y0) = at(from, 1.0);
        let (x1, y1) = at(to, 1.0);
        let (x2, y2) = at(to, INNER);
        let (x3, y3) = at(from, INNER);
        let _ = write!(
            svg,
            r#"<path class="zone" d="M{x0:.1} {y0:.1}A{RX:.1} {RY:.1} 0 0 1 {x1:.1} {y1:.1}L{x2:.1} {y2:.1}A{:.1} {:.1} 0 0 0 {x3:.1} {y3:.1}Z" fill="{}" fill-opacity="0.85"/>"#,
            RX * INNER,
            RY * INNER,
            colour(c)
        );
    }
    let (tx, ty) = at(probability.clamp(0.0, 1.0), 0.95);
    let _ = write!(
        svg,
        r##"<line class="needle" x1="{CX}" y1="{CY}" x2="{tx:.1}" y2="{ty:.1}" stroke="#1d2430" stroke-width="4"/><circle cx="{CX}" cy="{CY}" r="7" fill="#1d2430"/></svg>"##
    );
    svg
}
