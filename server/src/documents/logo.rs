//! The company's logo as a PDF image: the uploaded PNG decoded into its colour samples and, when
//! it has transparency, an alpha mask (PDF keeps the two apart), each compressed for the PDF.

use miniz_oxide::deflate::compress_to_vec_zlib;
use png::{ColorType, Transformations};

/// The tallest a logo prints, in points, and the widest.
const HEIGHT: f32 = 40.0;
const WIDTH: f32 = 160.0;

/// A decoded logo, ready to embed.
#[derive(Clone)]
pub struct LogoImage {
    pub pixels_wide: u32,
    pub pixels_high: u32,
    /// One sample a pixel (gray) or three (RGB), zlib-compressed.
    pub color: Vec<u8>,
    pub gray: bool,
    /// One sample a pixel, zlib-compressed; none for an opaque logo.
    pub alpha: Option<Vec<u8>>,
}

impl LogoImage {
    /// Decodes a PNG (any colour type and depth: palettes are expanded, 16 bits cut to 8). An
    /// upload is decoded once before it is stored, so a file only a decoder can refuse is refused
    /// then, not on every document.
    pub fn decode(png: &[u8]) -> Result<LogoImage, png::DecodingError> {
        let mut decoder = png::Decoder::new(std::io::Cursor::new(png));
        decoder.set_transformations(Transformations::EXPAND | Transformations::STRIP_16);
        let mut reader = decoder.read_info()?;
        let size = reader
            .output_buffer_size()
            .ok_or(png::DecodingError::LimitsExceeded)?;
        let mut buffer = vec![0; size];
        let frame = reader.next_frame(&mut buffer)?;
        let samples = &buffer[..frame.buffer_size()];
        let (channels, gray) = match frame.color_type {
            ColorType::Grayscale => (1, true),
            ColorType::GrayscaleAlpha => (2, true),
            ColorType::Rgb => (3, false),
            ColorType::Rgba => (4, false),
            // EXPAND turns a palette into RGB(A); anything else is not a picture we can print.
            ColorType::Indexed => return Err(png::DecodingError::LimitsExceeded),
        };
        let has_alpha = channels % 2 == 0;
        let color_channels = if has_alpha { channels - 1 } else { channels };
        let mut color = Vec::with_capacity(samples.len());
        let mut alpha = Vec::with_capacity(samples.len() / channels);
        for pixel in samples.chunks_exact(channels) {
            color.extend_from_slice(&pixel[..color_channels]);
            if has_alpha {
                alpha.push(pixel[color_channels]);
            }
        }
        const LEVEL: u8 = 6;
        Ok(LogoImage {
            pixels_wide: frame.width,
            pixels_high: frame.height,
            color: compress_to_vec_zlib(&color, LEVEL),
            gray,
            alpha: has_alpha.then(|| compress_to_vec_zlib(&alpha, LEVEL)),
        })
    }

    /// Its printed size in points: at most 40 high and 160 wide, in its own proportions.
    pub fn printed_size(&self) -> (f32, f32) {
        let (wide, high) = (self.pixels_wide as f32, self.pixels_high as f32);
        let scale = (HEIGHT / high).min(WIDTH / wide);
        (wide * scale, high * scale)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A PNG `width` by `height` of one colour, with an alpha channel.
    fn png_rgba(width: u32, height: u32) -> Vec<u8> {
        let mut png = Vec::new();
        let mut encoder = png::Encoder::new(&mut png, width, height);
        encoder.set_color(ColorType::Rgba);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().unwrap();
        let pixels: Vec<u8> = (0..width * height)
            .flat_map(|_| [20, 60, 140, 255])
            .collect();
        writer.write_image_data(&pixels).unwrap();
        writer.finish().unwrap();
        png
    }

    #[test]
    fn a_transparent_logo_is_split_into_its_colours_and_its_alpha_mask() {
        let logo = LogoImage::decode(&png_rgba(300, 60)).unwrap();
        assert_eq!((logo.pixels_wide, logo.pixels_high), (300, 60));
        assert!(!logo.gray);
        let color = miniz_oxide::inflate::decompress_to_vec_zlib(&logo.color).unwrap();
        assert_eq!(color.len(), 300 * 60 * 3);
        assert_eq!(&color[..3], &[20, 60, 140]);
        let alpha = miniz_oxide::inflate::decompress_to_vec_zlib(&logo.alpha.unwrap()).unwrap();
        assert_eq!(alpha.len(), 300 * 60);
    }

    #[test]
    fn a_logo_prints_at_most_forty_points_high_and_a_hundred_and_sixty_wide() {
        let wide = LogoImage::decode(&png_rgba(800, 100)).unwrap();
        assert_eq!(wide.printed_size(), (160.0, 20.0));
        let square = LogoImage::decode(&png_rgba(100, 100)).unwrap();
        assert_eq!(square.printed_size(), (40.0, 40.0));
    }

    #[test]
    fn a_file_that_only_starts_like_a_png_is_refused() {
        let mut broken = png_rgba(10, 10);
        broken.truncate(40);
        assert!(LogoImage::decode(&broken).is_err());
    }
}
