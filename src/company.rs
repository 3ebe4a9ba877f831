//! The company that issues the invoices, as its documents name it: legal name, address, tax
//! registration numbers, whom to ask about a bill, and its logo. A manager keeps it; every
//! invoice, statement, receipt and transfer instruction prints it.

use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
pub mod store;

const NAME_CHARS: usize = 120;
/// An address-like text: lines at most, and characters a line.
pub const TEXT_LINES: usize = 6;
pub const LINE_CHARS: usize = 80;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompanyError {
    #[error("the legal name is required, at most {NAME_CHARS} characters")]
    LegalName,
    #[error("the {0} has at most {TEXT_LINES} lines of {LINE_CHARS} characters, without < or >")]
    Lines(&'static str),
    #[error("the billing contact is one line of at most {LINE_CHARS} characters")]
    Contact,
    #[error("a logo is a PNG file (export it as PNG, best with a transparent background)")]
    LogoNotPng,
    #[error("a logo file can be at most {} KB", LOGO_MAX_BYTES / 1024)]
    LogoTooLarge,
    #[error("a logo can be at most {LOGO_MAX_SIDE} by {LOGO_MAX_SIDE} pixels")]
    LogoTooManyPixels,
}

/// The largest logo file: documents embed it whole, in every copy.
pub const LOGO_MAX_BYTES: usize = 512 * 1024;
/// The most pixels a side: far more than the 40 points a document prints it at need.
pub const LOGO_MAX_SIDE: u32 = 2_000;

/// The company's logo as uploaded: a PNG, known by its signature and header (not by the file's
/// name), within the limits above.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logo {
    png: Vec<u8>,
    width: u32,
    height: u32,
}

impl Logo {
    pub fn parse(png: Vec<u8>) -> Result<Logo, CompanyError> {
        const SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
        if png.len() > LOGO_MAX_BYTES {
            return Err(CompanyError::LogoTooLarge);
        }
        // The first chunk of every PNG is its header: IHDR, then width and height (big-endian).
        let side = |at: usize| {
            png.get(at..at + 4)
                .and_then(|bytes| <[u8; 4]>::try_from(bytes).ok())
                .map(u32::from_be_bytes)
        };
        let (Some(width), Some(height)) = (side(16), side(20)) else {
            return Err(CompanyError::LogoNotPng);
        };
        if !png.starts_with(SIGNATURE) || png.get(12..16) != Some(b"IHDR".as_slice()) {
            return Err(CompanyError::LogoNotPng);
        }
        if width == 0 || height == 0 {
            return Err(CompanyError::LogoNotPng);
        }
        if width > LOGO_MAX_SIDE || height > LOGO_MAX_SIDE {
            return Err(CompanyError::LogoTooManyPixels);
        }
        Ok(Logo { png, width, height })
    }

    pub fn png(&self) -> &[u8] {
        &self.png
    }

    pub fn width(&self) -> u32 {
        self.width
    }

    pub fn height(&self) -> u32 {
        self.height
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CompanyProfile {
    pub legal_name: String,
    pub address: Vec<String>,
    /// One registration a line, as printed: `VAT DE123456789`, `EIN 12-3456789`.
    pub tax_numbers: Vec<String>,
    /// Whom customers ask about a bill (an address, a phone number).
    pub billing_contact: String,
}

impl CompanyProfile {
    pub fn parse(
        legal_name: &str,
        address: &str,
        tax_numbers: &str,
        billing_contact: &str,
    ) -> Result<Self, CompanyError> {
        let legal_name = legal_name.trim();
        if legal_name.is_empty()
            || legal_name.chars().count() > NAME_CHARS
            || legal_name.chars().any(char::is_control)
        {
            return Err(CompanyError::LegalName);
        }
        let billing_contact = billing_contact.trim();
        if billing_contact.chars().count() > LINE_CHARS
            || billing_contact.chars().any(char::is_control)
        {
            return Err(CompanyError::Contact);
        }
        Ok(CompanyProfile {
            legal_name: legal_name.to_string(),
            address: text_lines(address).ok_or(CompanyError::Lines("address"))?,
            tax_numbers: text_lines(tax_numbers).ok_or(CompanyError::Lines("tax registration"))?,
            billing_contact: billing_contact.to_string(),
        })
    }

    /// Nothing set yet (a new installation): documents fall back to the portal's name.
    pub fn is_empty(&self) -> bool {
        self.legal_name.is_empty()
    }
}

/// The non-blank lines of an address-like text area, trimmed; none when there are more than
/// `TEXT_LINES`, one is longer than `LINE_CHARS` (what a document's header has room for), or one
/// holds a control character, `<` or `>`.
pub fn text_lines(text: &str) -> Option<Vec<String>> {
    let lines: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(str::to_string)
        .collect();
    // No `<` or `>`: a form shows these lines back inside a text area, which does not escape markup.
    let fits = lines.len() <= TEXT_LINES
        && lines.iter().all(|line| {
            line.chars().count() <= LINE_CHARS
                && !line
                    .chars()
                    .any(|c| c.is_control() || matches!(c, '<' | '>'))
        });
    fits.then_some(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first bytes of a PNG `width` by `height` pixels: its signature and header chunk.
    fn png_header(width: u32, height: u32) -> Vec<u8> {
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        png.extend(width.to_be_bytes());
        png.extend(height.to_be_bytes());
        png.extend([8, 6, 0, 0, 0]);
        png
    }

    #[test]
    fn a_logo_is_a_png_by_its_bytes_within_the_size_limits() {
        let logo = Logo::parse(png_header(400, 120)).unwrap();
        assert_eq!((logo.width(), logo.height()), (400, 120));
        let jpeg = b"\xff\xd8\xff\xe0\0\x10JFIF\0\x01\x01\0\0\x01\0\x01\0\0".to_vec();
        assert_eq!(Logo::parse(jpeg), Err(CompanyError::LogoNotPng));
        assert_eq!(Logo::parse(Vec::new()), Err(CompanyError::LogoNotPng));
        assert_eq!(
            Logo::parse(png_header(0, 120)),
            Err(CompanyError::LogoNotPng)
        );
        assert_eq!(
            Logo::parse(png_header(2_001, 10)),
            Err(CompanyError::LogoTooManyPixels)
        );
        let mut huge = png_header(10, 10);
        huge.resize(LOGO_MAX_BYTES + 1, 0);
        assert_eq!(Logo::parse(huge), Err(CompanyError::LogoTooLarge));
    }

    #[test]
    fn a_profile_needs_a_legal_name_and_keeps_its_lines() {
        let profile = CompanyProfile::parse(
            " Ledgerport Demo Inc. ",
            "1 Market Street\n\nSan Francisco, CA 94105\n",
            "EIN 12-3456789",
            "billing@ledgerport.example",
        )
        .unwrap();
        assert_eq!(profile.legal_name, "Ledgerport Demo Inc.");
        assert_eq!(
            profile.address,
            vec!["1 Market Street", "San Francisco, CA 94105"]
        );
        assert_eq!(profile.tax_numbers, vec!["EIN 12-3456789"]);
        assert_eq!(
            CompanyProfile::parse("  ", "", "", ""),
            Err(CompanyError::LegalName)
        );
        assert_eq!(
            CompanyProfile::parse("X", &"line\n".repeat(7), "", ""),
            Err(CompanyError::Lines("address"))
        );
        assert_eq!(
            CompanyProfile::parse("X", "", "", "a\u{7}b"),
            Err(CompanyError::Contact)
        );
        assert_eq!(
            CompanyProfile::parse("X", "1 Road</textarea><form>", "", ""),
            Err(CompanyError::Lines("address"))
        );
    }
}
