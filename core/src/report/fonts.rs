//! Fonts for the PDF report: DejaVu Sans, built in (Latin with Vietnamese, Greek,
//! Cyrillic, Arabic, Hebrew), and for any other script (Chinese, Japanese, Korean…)
//! the first font of the computer's own that has the character. Every character of a
//! line is drawn in the first font that covers it; the PDF embeds only the glyphs used.

use krilla::text::Font;
use rustybuzz::ttf_parser;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

static REGULAR: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");
static BOLD: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans-Bold.ttf");

/// Font files known to cover Chinese, Japanese or Korean, tried first, by platform.
const KNOWN_FALLBACKS: &[&str] = &[
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "C:\\Windows\\Fonts\\msyh.ttc",
    "C:\\Windows\\Fonts\\simsun.ttc",
    "C:\\Windows\\Fonts\\YuGothM.ttc",
    "C:\\Windows\\Fonts\\malgun.ttf",
    "C:\\Windows\\Fonts\\seguisym.ttf",
    "/System/Library/Fonts/PingFang.ttc",
    "/System/Library/Fonts/Hiragino Sans GB.ttc",
    "/System/Library/Fonts/AppleSDGothicNeo.ttc",
    "/Library/Fonts/Arial Unicode.ttf",
];

/// Folders searched, after the known files, for a font with a missing character.
fn font_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = [
        "/usr/share/fonts",
        "/usr/local/share/fonts",
        "/System/Library/Fonts",
        "/Library/Fonts",
    ]
    .iter()
    .map(PathBuf::from)
    .collect();
    if let Some(windir) = std::env::var_os("WINDIR") {
        dirs.push(PathBuf::from(windir).join("Fonts"));
    }
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(PathBuf::from(&home).join(".local/share/fonts"));
        dirs.push(PathBuf::from(home).join(".fonts"));
    }
    dirs
}

/// At most this many font files are opened while looking for a missing character.
const MAX_SCANNED: usize = 400;

/// One face of a font file.
#[derive(Clone)]
pub(super) struct Face {
    pub font: Font,
    data: Arc<Vec<u8>>,
    index: u32,
}

impl Face {
    fn new(data: Arc<Vec<u8>>, index: u32) -> Option<Self> {
        ttf_parser::Face::parse(&data, index).ok()?;
        let font = Font::new(data.clone().into(), index)?;
        Some(Face { font, data, index })
    }

    fn parsed(&self) -> ttf_parser::Face<'_> {
        ttf_parser::Face::parse(&self.data, self.index).expect("checked when loaded")
    }

    pub fn covers(&self, ch: char) -> bool {
        ch.is_control() || self.parsed().glyph_index(ch).is_some()
    }

    /// Width of `text` at `size` points (advances only; no kerning).
    pub fn width(&self, text: &str, size: f32) -> f32 {
        let face = self.parsed();
        let per_unit = size / f32::from(face.units_per_em());
        text.chars()
            .filter_map(|ch| face.glyph_index(ch))
            .filter_map(|g| face.glyph_hor_advance(g))
            .map(|a| f32::from(a) * per_unit)
            .sum()
    }
}

/// The built-in regular and bold faces, loaded once per process.
fn built_in() -> &'static [Face; 2] {
    static FACES: OnceLock<[Face; 2]> = OnceLock::new();
    FACES.get_or_init(|| {
        [REGULAR, BOLD]
            .map(|bytes| Face::new(Arc::new(bytes.to_vec()), 0).expect("the built-in font parses"))
    })
}

/// The fonts of one document: regular or bold first, then fallbacks found as needed.
pub(super) struct Fonts {
    regular: Face,
    bold: Face,
    fallbacks: Vec<Face>,
}

impl Fonts {
    pub fn new() -> Self {
        let [regular, bold] = built_in().clone();
        Fonts {
            regular,
            bold,
            fallbacks: Vec::new(),
        }
    }

    /// Finds fonts for every character of `text` the built-in fonts lack.
    pub fn prepare(&mut self, text: &str) {
        for ch in text.chars() {
            if !self.regular.covers(ch) && !self.fallbacks.iter().any(|f| f.covers(ch)) {
                if let Some(face) = system_face_for(ch) {
                    self.fallbacks.push(face);
                }
            }
        }
    }

    /// The face that draws `ch`: the built-in one when it can, else a fallback, else the
    /// built-in one anyway (its "missing glyph" box).
    pub fn face_for(&self, ch: char, bold: bool) -> &Face {
        let main = if bold { &self.bold } else { &self.regular };
        if main.covers(ch) {
            return main;
        }
        self.fallbacks.iter().find(|f| f.covers(ch)).unwrap_or(main)
    }

    /// The text as runs that one face draws in one direction. Spaces and punctuation
    /// join the run before them, except after right-to-left text when left-to-right
    /// text follows: then they belong to what follows, as the line runs left to right.
    pub fn runs<'t>(&self, text: &'t str, bold: bool) -> Vec<(&Face, &'t str)> {
        let mut runs = Vec::new();
        // (face, right to left, start, where trailing neutral characters start)
        let mut current: Option<(&Face, bool, usize, Option<usize>)> = None;
        for (at, ch) in text.char_indices() {
            let face = self.face_for(ch, bold);
            let rtl = right_to_left(ch);
            let neutral = !ch.is_alphanumeric();
            let Some((f, r, start, trailing)) = current else {
                current = Some((face, rtl, at, None));
                continue;
            };
            let same_face = std::ptr::eq(f, face);
            if same_face && neutral {
                current = Some((f, r, start, trailing.or(Some(at))));
            } else if same_face && r == rtl {
                current = Some((f, r, start, None));
            } else {
                let split = if r && !rtl {
                    trailing.unwrap_or(at)
                } else {
                    at
                };
                if split > start {
                    runs.push((f, &text[start..split]));
                }
                current = Some((face, rtl, split, None));
            }
        }
        if let Some((face, _, start, _)) = current {
            runs.push((face, &text[start..]));
        }
        runs
    }

    pub fn width(&self, text: &str, size: f32, bold: bool) -> f32 {
        self.runs(text, bold)
            .iter()
            .map(|(face, run)| face.width(run, size))
            .sum()
    }

    /// Breaks `text` into lines no wider than `width`, at spaces where it can and inside
    /// a word (names in scripts without spaces, or very long words) where it must.
    pub fn wrap(&self, text: &str, size: f32, bold: bool, width: f32) -> Vec<String> {
        let mut lines = Vec::new();
        let mut line = String::new();
        for word in text.split(' ') {
            let candidate = if line.is_empty() {
                word.to_string()
            } else {
                format!("{line} {word}")
            };
            if self.width(&candidate, size, bold) <= width {
                line = candidate;
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            for ch in word.chars() {
                line.push(ch);
                if self.width(&line, size, bold) > width && line.chars().count() > 1 {
                    line.pop();
                    lines.push(std::mem::replace(&mut line, ch.to_string()));
                }
            }
        }
        if !line.is_empty() || lines.is_empty() {
            lines.push(line);
        }
        lines
    }
}

fn right_to_left(ch: char) -> bool {
    matches!(ch as u32,
        0x0590..=0x08FF | 0xFB1D..=0xFDFF | 0xFE70..=0xFEFF | 0x10800..=0x10FFF | 0x1E800..=0x1EFFF)
}

/// A font file's bytes by path; `None` when it could not be read.
type FileCache = HashMap<PathBuf, Option<Arc<Vec<u8>>>>;

/// Font files read once per process (a CJK font is several megabytes), by path.
fn loaded() -> &'static Mutex<FileCache> {
    static LOADED: OnceLock<Mutex<FileCache>> = OnceLock::new();
    LOADED.get_or_init(Default::default)
}

/// The largest font file read (the CJK fallback fonts are about 20 MB).
const MAX_FONT_BYTES: u64 = 64 << 20;

fn read_font(path: &Path) -> Option<Arc<Vec<u8>>> {
    let mut cache = loaded().lock().unwrap_or_else(|e| e.into_inner());
    cache
        .entry(path.to_path_buf())
        .or_insert_with(|| {
            cardiorisk_files::read_limited(path, MAX_FONT_BYTES)
                .ok()
                .map(Arc::new)
        })
        .clone()
}

fn face_in_file(path: &Path, ch: char) -> Option<Face> {
    let data = read_font(path)?;
    let faces = ttf_parser::fonts_in_collection(&data).unwrap_or(1);
    (0..faces.min(16)).find_map(|index| {
        let face = Face::new(data.clone(), index)?;
        face.covers(ch).then_some(face)
    })
}

/// A face of the computer's fonts that has `ch`: known files first, then a bounded
/// search of the usual font folders.
fn system_face_for(ch: char) -> Option<Face> {
    if let Some(face) = KNOWN_FALLBACKS
        .iter()
        .map(Path::new)
        .filter(|p| p.is_file())
        .find_map(|p| face_in_file(p, ch))
    {
        return Some(face);
    }
    let mut pending = font_dirs();
    let mut scanned = 0;
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            let font_file = path
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "ttf" | "otf" | "ttc"));
            if !font_file {
                continue;
            }
            scanned += 1;
            if scanned > MAX_SCANNED {
                return None;
            }
            let face = face_in_file(&path, ch);
            if face.is_none() {
                // Not kept: a folder search may open many large files.
                loaded()
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(&path);
            }
            if face.is_some() {
                return face;
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_fonts_cover_latin_vietnamese_cyrillic_and_arabic() {
        let fonts = Fonts::new();
        for ch in "Łukasz Nguyễn Владимиров محمد".chars() {
            assert!(fonts.regular.covers(ch), "{ch:?}");
            assert!(fonts.bold.covers(ch), "{ch:?}");
        }
    }

    #[test]
    fn runs_split_where_the_direction_changes() {
        let fonts = Fonts::new();
        let runs: Vec<&str> = fonts
            .runs("Ana محمد (HC-1)", false)
            .into_iter()
            .map(|(_, r)| r)
            .collect();
        assert_eq!(runs, ["Ana ", "محمد", " (HC-1)"]);
    }

    #[test]
    fn wrapping_keeps_every_character_and_each_line_fits() {
        let fonts = Fonts::new();
        let text = "Łukasz Nguyễn-Владимиров Supercalifragilisticexpialidocious-Hernández y Gómez";
        let lines = fonts.wrap(text, 12.0, true, 120.0);
        assert!(lines.len() > 2, "{lines:?}");
        for line in &lines {
            assert!(fonts.width(line, 12.0, true) <= 120.0, "{line:?}");
        }
        let joined: String = lines.concat();
        assert_eq!(joined.replace(' ', ""), text.replace(' ', ""));
    }
}
