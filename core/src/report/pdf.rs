//! The report as an A4 PDF: every name in its own script (fonts subset and embedded),
//! long text wrapped inside its column.

use super::fonts::Fonts;
use cardiorisk_contract::Report;
use cardiorisk_contract::RiskBand;
use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::metadata::Metadata;
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::Fill;
use krilla::surface::Surface;
use krilla::text::TextDirection;
use krilla::Document;

const PAGE_W: f32 = 595.0;
const PAGE_H: f32 = 842.0;
const MARGIN: f32 = 56.0;
const INK: (u8, u8, u8) = (29, 36, 48);
const MUTED: (u8, u8, u8) = (91, 102, 117);

struct Pen<'s, 'p> {
    surface: &'s mut Surface<'p>,
    fonts: &'s Fonts,
}

fn fill(colour: (u8, u8, u8)) -> Fill {
    Fill {
        paint: rgb::Color::new(colour.0, colour.1, colour.2).into(),
        opacity: NormalizedF32::ONE,
        rule: Default::default(),
    }
}

impl Pen<'_, '_> {
    /// One line of text with its baseline at `y`, each run in the face that has it.
    fn text(&mut self, x: f32, y: f32, size: f32, bold: bool, colour: (u8, u8, u8), text: &str) {
        self.surface.set_fill(Some(fill(colour)));
        let mut x = x;
        for (face, run) in self.fonts.runs(text, bold) {
            self.surface.draw_text(
                Point::from_xy(x, y),
                face.font.clone(),
                size,
                run,
                false,
                TextDirection::Auto,
            );
            x += face.width(run, size);
        }
    }

    /// Wrapped text; returns the baseline of its last line.
    #[allow(clippy::too_many_arguments)] // a text style is these five values
    fn paragraph(
        &mut self,
        x: f32,
        y: f32,
        width: f32,
        size: f32,
        bold: bool,
        colour: (u8, u8, u8),
        text: &str,
    ) -> f32 {
        let leading = size * 1.25;
        let mut baseline = y;
        for (i, line) in self.fonts.wrap(text, size, bold, width).iter().enumerate() {
            baseline = y + i as f32 * leading;
            self.text(x, baseline, size, bold, colour, line);
        }
        baseline
    }

    /// Bold heads over a rule, then each row; returns the last row's baseline.
    fn table<'a>(
        &mut self,
        cols: &[f32],
        y: f32,
        heads: &[&str],
        rows: impl Iterator<Item = Vec<&'a str>>,
    ) -> f32 {
        self.row(cols, y, 10.0, true, heads);
        let mut y = y + 6.0;
        self.rule(y);
        for cells in rows {
            y = self.row(cols, y + 16.0, 10.0, false, &cells);
        }
        y
    }

    fn rect(&mut self, x: f32, top: f32, w: f32, h: f32, colour: (u8, u8, u8)) {
        let mut path = PathBuilder::new();
        if let Some(rect) = Rect::from_xywh(x, top, w, h) {
            path.push_rect(rect);
        }
        if let Some(path) = path.finish() {
            self.surface.set_fill(Some(fill(colour)));
            self.surface.draw_path(&path);
        }
    }

    fn rule(&mut self, top: f32) {
        self.rect(MARGIN, top, PAGE_W - 2.0 * MARGIN, 0.7, (213, 219, 227));
    }

    /// A table row: each cell wrapped in its column; returns the row's last baseline.
    fn row(&mut self, cols: &[f32], y: f32, size: f32, bold: bool, cells: &[&str]) -> f32 {
        let mut last = y;
        for (i, cell) in cells.iter().enumerate() {
            let right = cols.get(i + 1).copied().unwrap_or(PAGE_W - MARGIN);
            let width = right - cols[i] - 8.0;
            last = last.max(self.paragraph(cols[i], y, width, size, bold, INK, cell));
        }
        last
    }
}

fn band_colours(band: RiskBand) -> ((u8, u8, u8), (u8, u8, u8)) {
    match band {
        RiskBand::Low => ((230, 244, 234), (30, 122, 60)),
        RiskBand::Moderate => ((255, 244, 220), (138, 90, 0)),
        RiskBand::High => ((253, 236, 234), (179, 38, 30)),
    }
}

pub(super) fn pdf(c: &Report) -> Result<Vec<u8>, String> {
    let mut fonts = Fonts::new();
    fonts.prepare(&c.every_text());
    let mut document = Document::new();
    document.set_metadata(
        Metadata::new()
            .title(format!("{} — {}", &c.title, c.patient))
            .creator("CardioRisk".into())
            .language(c.language.as_str().into()),
    );
    {
        let settings = PageSettings::from_wh(PAGE_W, PAGE_H).ok_or("bad page size")?;
        let mut page = document.start_page_with(settings);
        let mut surface = page.surface();
        let mut pen = Pen {
            surface: &mut surface,
            fonts: &fonts,
        };
        draw(&mut pen, c);
        surface.finish();
        page.finish();
    }
    document
        .finish()
        .map_err(|e| format!("the PDF could not be written: {e:?}"))
}

fn draw(pen: &mut Pen, c: &Report) {
    let right = PAGE_W - MARGIN;
    let width = right - MARGIN;
    let title_end = pen.paragraph(MARGIN, 70.0, width, 20.0, true, INK, &c.title);
    let printed_end = pen.paragraph(
        MARGIN,
        title_end + 16.0,
        width,
        9.0,
        false,
        MUTED,
        &c.printed,
    );
    let name_end = pen.paragraph(
        MARGIN,
        printed_end + 30.0,
        width,
        15.0,
        true,
        INK,
        &c.patient,
    );
    let line_end = pen.paragraph(
        MARGIN,
        name_end + 16.0,
        width,
        10.0,
        false,
        MUTED,
        &c.patient_line,
    );
    let header_end = line_end + 10.0;
    pen.rect(MARGIN, header_end, width, 1.5, (20, 50, 79));
    let mut y = header_end + 32.0;
    match (&c.latest_heading, &c.result) {
        (Some(heading), Some(result)) => {
            let (pct, band, kind, line) = (
                &result.percent,
                &result.band_label,
                result.band,
                &result.line,
            );
            pen.text(MARGIN, y, 13.0, true, INK, heading);
            y += 14.0;
            let (bg, ink) = band_colours(kind);
            pen.rect(MARGIN, y, PAGE_W - 2.0 * MARGIN, 44.0, bg);
            pen.text(MARGIN + 12.0, y + 31.0, 24.0, true, ink, pct);
            pen.text(MARGIN + 150.0, y + 28.0, 14.0, true, ink, band);
            y += 62.0;
            y = pen.paragraph(MARGIN, y, right - MARGIN, 10.0, false, INK, line);
            y += 26.0;
            let cols = [MARGIN, MARGIN + 200.0, MARGIN + 330.0];
            let rows = c
                .measurements
                .iter()
                .map(|r| r.iter().map(String::as_str).collect());
            y = pen.table(
                &cols,
                y,
                &c.measurement_heads.each_ref().map(String::as_str),
                rows,
            );
            y += 6.0;
            pen.rule(y);
        }
        _ => pen.text(MARGIN, y, 11.0, false, INK, &c.no_assessments),
    }
    if !c.history.is_empty() {
        y += 36.0;
        pen.text(MARGIN, y, 13.0, true, INK, &c.history_title);
        y += 20.0;
        let cols = [MARGIN, MARGIN + 130.0, MARGIN + 210.0, MARGIN + 330.0];
        let rows = c
            .history
            .iter()
            .map(|r| r.iter().map(String::as_str).collect());
        pen.table(
            &cols,
            y,
            &c.history_heads.each_ref().map(String::as_str),
            rows,
        );
    }
    pen.paragraph(
        MARGIN,
        PAGE_H - 50.0,
        right - MARGIN,
        8.0,
        false,
        MUTED,
        &c.disclaimer,
    );
}
