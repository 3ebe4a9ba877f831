//! A small A4 page writer over `pdf-writer`: left and right aligned text in the standard
//! Helvetica fonts (no font files to ship), rules, the company's logo, and page breaks with a
//! repeated header.

use ledgerport::locale::Locale;
use ledgerport::tr;
use pdf_writer::{Content, Filter, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

use super::logo::LogoImage;

pub const PAGE_WIDTH: f32 = 595.0;
const PAGE_HEIGHT: f32 = 842.0;
pub const MARGIN: f32 = 50.0;
const REGULAR: Name<'static> = Name(b"F1");
const BOLD: Name<'static> = Name(b"F2");
const LOGO: Name<'static> = Name(b"Logo");

/// One cell of a table row: text and where it sits.
pub enum Cell {
    Left(f32, String),
    Right(f32, String),
}

pub struct Document {
    title: String,
    /// The language of the document's own words ("page", "continued").
    locale: Locale,
    pages: Vec<Content>,
    current: Content,
    y: f32,
    /// The logo and the page (from 0) it is printed on.
    logo: Option<(LogoImage, usize)>,
}

impl Document {
    pub fn new(title: &str, locale: Locale) -> Self {
        let mut document = Document {
            title: title.to_string(),
            locale,
            pages: Vec::new(),
            current: Content::new(),
            y: PAGE_HEIGHT - MARGIN,
            logo: None,
        };
        document.footer();
        document
    }

    /// Space left before the bottom margin; starts a new page when less than `needed`.
    pub fn ensure(&mut self, needed: f32) {
        if self.y - needed < MARGIN + 20.0 {
            let full = std::mem::replace(&mut self.current, Content::new());
            self.pages.push(full);
            self.y = PAGE_HEIGHT - MARGIN;
            self.footer();
            let locale = self.locale;
            let continued = tr!(locale, "document.continued", title = self.title);
            self.text(MARGIN, 9.0, false, &continued);
            self.gap(14.0);
        }
    }

    fn footer(&mut self) {
        let page = self.pages.len() + 1;
        let locale = self.locale;
        let text = tr!(locale, "document.page", title = self.title, page = page);
        self.put(MARGIN, MARGIN - 20.0, 8.0, false, &text);
    }

    pub fn gap(&mut self, height: f32) {
        self.y -= height;
    }

    /// Writes text at the current line, left edge at `x`.
    pub fn text(&mut self, x: f32, size: f32, bold: bool, text: &str) {
        let y = self.y;
        self.put(x, y - size, size, bold, text);
    }

    /// A line of text, then moves down.
    pub fn line(&mut self, size: f32, bold: bool, text: &str) {
        self.ensure(size * 1.5);
        self.text(MARGIN, size, bold, text);
        self.gap(size * 1.5);
    }

    /// Text across the page, broken at spaces into as many lines as it needs.
    pub fn paragraph(&mut self, size: f32, bold: bool, text: &str) {
        for line in wrap(text, PAGE_WIDTH - 2.0 * MARGIN, size, bold) {
            self.line(size, bold, &line);
        }
    }

    /// A table row of cells, then moves down.
    pub fn row(&mut self, size: f32, bold: bool, cells: &[Cell]) {
        self.ensure(size * 1.6);
        let y = self.y - size;
        for cell in cells {
            match cell {
                Cell::Left(x, text) => self.put(*x, y, size, bold, text),
                Cell::Right(x, text) => {
                    let width = text_width(text, size, bold);
                    self.put(x - width, y, size, bold, text);
                }
            }
        }
        self.gap(size * 1.6);
    }

    /// A square grid of dark and light cells (a QR code, `dark` row by row, `width` a side)
    /// `size` points wide at the left margin, with `lines` of text beside it; then moves below.
    pub fn square_with_text(&mut self, dark: &[bool], width: usize, size: f32, lines: &[String]) {
        let text_x = MARGIN + size + 14.0;
        // Each line in the room beside the square (a long portal address wraps).
        let lines: Vec<String> = lines
            .iter()
            .enumerate()
            .flat_map(|(i, line)| wrap(line, PAGE_WIDTH - MARGIN - text_x, 9.0, i == 0))
            .collect();
        let text_height = lines.len() as f32 * 9.0 * 1.5;
        self.ensure(size.max(text_height) + 4.0);
        let top = self.y;
        let cell = size / width.max(1) as f32;
        self.current.set_fill_gray(0.0);
        for (i, _) in dark.iter().enumerate().filter(|(_, dark)| **dark) {
            let (column, row) = ((i % width) as f32, (i / width) as f32);
            self.current
                .rect(MARGIN + column * cell, top - (row + 1.0) * cell, cell, cell);
        }
        self.current.fill_nonzero();
        for (i, line) in lines.iter().enumerate() {
            self.put(
                text_x,
                top - 9.0 * (1.5 * i as f32 + 1.0),
                9.0,
                i == 0,
                line,
            );
        }
        self.gap(size.max(text_height) + 4.0);
    }

    /// The company's logo at the top right of this page; what follows starts below it.
    pub fn logo(&mut self, logo: LogoImage) {
        let (width, height) = logo.printed_size();
        let (x, y) = (PAGE_WIDTH - MARGIN - width, PAGE_HEIGHT - MARGIN - height);
        self.current
            .save_state()
            .transform([width, 0.0, 0.0, height, x, y])
            .x_object(LOGO)
            .restore_state();
        self.y = self.y.min(y - 8.0);
        self.logo = Some((logo, self.pages.len()));
    }

    /// A thin horizontal rule across the page.
    pub fn rule(&mut self) {
        self.ensure(8.0);
        let y = self.y - 3.0;
        self.current
            .set_line_width(0.5)
            .set_stroke_gray(0.6)
            .move_to(MARGIN, y)
            .line_to(PAGE_WIDTH - MARGIN, y)
            .stroke();
        self.gap(8.0);
    }

    fn put(&mut self, x: f32, y: f32, size: f32, bold: bool, text: &str) {
        let encoded = win_ansi(text);
        self.current
            .begin_text()
            .set_font(if bold { BOLD } else { REGULAR }, size)
            .next_line(x, y)
            .show(Str(&encoded))
            .end_text();
    }

    pub fn finish(mut self) -> Vec<u8> {
        self.pages.push(self.current);
        let mut pdf = Pdf::new();
        let catalog = Ref::new(1);
        let tree = Ref::new(2);
        let regular = Ref::new(3);
        let bold = Ref::new(4);
        let info = Ref::new(5);
        let first_page = 6;
        let page_ids: Vec<Ref> = (0..self.pages.len())
            .map(|i| Ref::new(first_page + 2 * i as i32))
            .collect();
        let logo_id = Ref::new(first_page + 2 * self.pages.len() as i32);
        let logo_mask_id = Ref::new(logo_id.get() + 1);
        pdf.catalog(catalog).pages(tree);
        pdf.pages(tree)
            .kids(page_ids.iter().copied())
            .count(page_ids.len() as i32);
        pdf.document_info(info)
            .title(TextStr(&self.title))
            .producer(TextStr("Ledgerport"));
        pdf.type1_font(regular)
            .base_font(Name(b"Helvetica"))
            .encoding_predefined(Name(b"WinAnsiEncoding"));
        pdf.type1_font(bold)
            .base_font(Name(b"Helvetica-Bold"))
            .encoding_predefined(Name(b"WinAnsiEncoding"));
        let logo_page = self.logo.as_ref().map(|(_, page)| *page);
        for (index, (content, page_id)) in self.pages.into_iter().zip(&page_ids).enumerate() {
            let content_id = Ref::new(page_id.get() + 1);
            let mut page = pdf.page(*page_id);
            page.media_box(Rect::new(0.0, 0.0, PAGE_WIDTH, PAGE_HEIGHT))
                .parent(tree)
                .contents(content_id);
            let mut resources = page.resources();
            let mut fonts = resources.fonts();
            fonts.pair(REGULAR, regular).pair(BOLD, bold);
            fonts.finish();
            if logo_page == Some(index) {
                resources.x_objects().pair(LOGO, logo_id);
            }
            resources.finish();
            page.finish();
            pdf.stream(content_id, &content.finish());
        }
        if let Some((logo, _)) = &self.logo {
            let mut image = pdf.image_xobject(logo_id, &logo.color);
            image.filter(Filter::FlateDecode);
            image
                .width(logo.pixels_wide as i32)
                .height(logo.pixels_high as i32)
                .bits_per_component(8);
            if logo.gray {
                image.color_space().device_gray();
            } else {
                image.color_space().device_rgb();
            }
            if logo.alpha.is_some() {
                image.s_mask(logo_mask_id);
            }
            image.finish();
            if let Some(alpha) = &logo.alpha {
                let mut mask = pdf.image_xobject(logo_mask_id, alpha);
                mask.filter(Filter::FlateDecode);
                mask.width(logo.pixels_wide as i32)
                    .height(logo.pixels_high as i32)
                    .bits_per_component(8);
                mask.color_space().device_gray();
                mask.finish();
            }
        }
        pdf.finish()
    }
}

/// Text in the fonts' WinAnsi encoding: Latin-1 plus the euro sign, typographic dashes and the
/// quotation marks English and German use; anything else becomes `?` rather than garbage.
fn win_ansi(text: &str) -> Vec<u8> {
    text.chars()
        .flat_map(|c| match c {
            '€' => vec![0x80],
            '‚' => vec![0x82],
            '„' => vec![0x84],
            '…' => vec![0x85],
            '‘' => vec![0x91],
            '’' => vec![0x92],
            '“' => vec![0x93],
            '”' => vec![0x94],
            '–' => vec![0x96],
            '—' => vec![0x97],
            '₩' => b"KRW ".to_vec(),
            c if (c as u32) < 0x80 || (0xA0..=0xFF).contains(&(c as u32)) => vec![c as u8],
            _ => vec![b'?'],
        })
        .collect()
}

/// Width of text in points, from Helvetica's metrics (per 1000 em) for the characters that
/// numbers and amounts use; other characters count as an average letter.
/// `text` broken at spaces into lines no wider than `width`; a word wider than that is cut.
pub fn wrap(text: &str, width: f32, size: f32, bold: bool) -> Vec<String> {
    let fits = |candidate: &str| text_width(candidate, size, bold) <= width;
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let candidate = if line.is_empty() {
            word.to_string()
        } else {
            format!("{line} {word}")
        };
        if fits(&candidate) {
            line = candidate;
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        for c in word.chars() {
            if !line.is_empty() && !fits(&format!("{line}{c}")) {
                lines.push(std::mem::take(&mut line));
            }
            line.push(c);
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

fn text_width(text: &str, size: f32, bold: bool) -> f32 {
    let units: f32 = text
        .chars()
        .map(|c| match c {
            '0'..='9' | '$' | '€' | '£' | '¥' => 556.0,
            '.' | ',' | ' ' => 278.0,
            '-' => 333.0,
            '%' => 889.0,
            'A'..='Z' => 667.0,
            _ => {
                if bold {
                    611.0
                } else {
                    556.0
                }
            }
        })
        .sum();
    units * size / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_document_breaks_into_pages_and_stays_a_pdf() {
        let mut document = Document::new("Statement C-1001", Locale::En);
        for i in 0..200 {
            document.row(
                9.0,
                false,
                &[
                    Cell::Left(MARGIN, format!("line {i}")),
                    Cell::Right(500.0, "$1,234.50".into()),
                ],
            );
        }
        let bytes = document.finish();
        assert!(bytes.starts_with(b"%PDF-"));
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            text.contains("/Count 5") || text.contains("/Count 6"),
            "200 rows fill several pages"
        );
        assert!(text.contains("(line 199)"));
    }

    #[test]
    fn text_outside_win_ansi_becomes_a_question_mark() {
        assert_eq!(win_ansi("Café €5 – ok"), b"Caf\xe9 \x805 \x96 ok".to_vec());
        assert_eq!(win_ansi("株式会社"), b"????".to_vec());
    }
}
