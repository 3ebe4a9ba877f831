//! The languages customers read the portal in, and how each writes numbers and dates. One rule
//! for pages, PDFs and emails: `1.234,56` and `12. Nov. 2026` in German, `1,234.56` and
//! `12 Nov 2026` in English (amounts with their currency: `Locale::money`, in `money.rs`).
//! Formatting works from integers and a month table, so the WASM client carries no decimal or
//! calendar library for it.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

/// A language of the customer-facing portal. Staff pages stay in English.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum Locale {
    #[default]
    En,
    De,
}

impl Locale {
    pub const ALL: [Locale; 2] = [Locale::En, Locale::De];

    /// This language's one of two things written in each: `locale.pick("Paid", "Bezahlt")`.
    pub fn pick<T>(self, en: T, de: T) -> T {
        match self {
            Locale::En => en,
            Locale::De => de,
        }
    }

    /// The BCP 47 code, as in `<html lang>` and the `users.locale` column.
    pub fn code(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::De => "de",
        }
    }

    /// The language's name in itself, for the choice on the profile page.
    pub fn name(self) -> &'static str {
        match self {
            Locale::En => "English",
            Locale::De => "Deutsch",
        }
    }

    /// A language tag (`de`, `de-AT`, `EN-gb`) to the language we have for it.
    pub fn parse(tag: &str) -> Option<Locale> {
        let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        Locale::ALL.into_iter().find(|l| l.code() == primary)
    }

    /// The language to show a reader: their own choice, else what their browser asks for.
    pub fn of_reader(chosen: Option<Locale>, accept_language: Option<&str>) -> Locale {
        chosen.unwrap_or_else(|| accept_language.map_or(Locale::En, Locale::from_accept_language))
    }

    /// The language a browser asks for first (`Accept-Language`, by quality) among ours;
    /// English when it names none of them.
    pub fn from_accept_language(header: &str) -> Locale {
        let mut best: Option<(u16, Locale)> = None;
        for item in header.split(',') {
            let mut parts = item.split(';');
            let Some(locale) = parts.next().and_then(Locale::parse) else {
                continue;
            };
            let quality = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .map_or(1000, quality_in_thousandths);
            // The first of equal quality wins, as the browser listed them.
            if quality > 0 && best.is_none_or(|(q, _)| quality > q) {
                best = Some((quality, locale));
            }
        }
        best.map_or(Locale::En, |(_, locale)| locale)
    }

    /// A number given in units of 10^-`scale`, grouped by thousands: `-1,234.50`, `1.234,50`.
    pub fn number(self, units: i64, scale: u32) -> String {
        let (group, decimal) = match self {
            Locale::En => (',', '.'),
            Locale::De => ('.', ','),
        };
        let digits = units.unsigned_abs().to_string();
        let scale = scale as usize;
        let digits = format!("{digits:0>width$}", width = scale + 1);
        let (whole, fraction) = digits.split_at(digits.len() - scale);
        let mut text = String::with_capacity(digits.len() + digits.len() / 3 + 2);
        if units < 0 {
            text.push('-');
        }
        for (i, ch) in whole.chars().enumerate() {
            if i > 0 && (whole.len() - i) % 3 == 0 {
                text.push(group);
            }
            text.push(ch);
        }
        if !fraction.is_empty() {
            text.push(decimal);
            text.push_str(fraction);
        }
        text
    }

    /// A number as a form field shows it, without grouping: `1234.50`, `1234,50`.
    pub fn plain_decimal(self, units: i64, scale: u32) -> String {
        let group = match self {
            Locale::En => ',',
            Locale::De => '.',
        };
        self.number(units, scale).replace(group, "")
    }

    /// An amount as a person typed it in this language, as a plain decimal with a point for
    /// [`crate::money::Money::parse`]: `1.234,50` or `1234,5` in German, `1,234.50` in English.
    /// A separator counts as grouping only where it groups thousands (`1.500` is fifteen hundred
    /// in German); one that cannot (`10.50`, `0.500`) is taken as the other language's decimal
    /// point. `None` for what cannot be read without guessing (`1,500.00` in German).
    pub fn read_decimal(self, typed: &str) -> Option<String> {
        let text: String = typed.chars().filter(|c| !c.is_whitespace()).collect();
        let (decimal, group) = match self {
            Locale::En => ('.', ','),
            Locale::De => (',', '.'),
        };
        let unsigned = text.strip_prefix('-').unwrap_or(&text);
        let groups_thousands = |whole: &str| {
            let mut parts = whole.split(group);
            parts
                .next()
                .is_some_and(|first| (1..=3).contains(&first.len()) && !first.starts_with('0'))
                && parts.all(|part| part.len() == 3)
        };
        match unsigned.matches(decimal).count() {
            0 if !unsigned.contains(group) => Some(text),
            0 if groups_thousands(unsigned) => Some(text.replace(group, "")),
            0 => (unsigned.matches(group).count() == 1).then(|| text.replace(group, ".")),
            1 => {
                let (whole, fraction) = unsigned.split_once(decimal)?;
                let readable = !fraction.contains(group)
                    && (!whole.contains(group) || groups_thousands(whole));
                readable.then(|| text.replace(group, "").replace(decimal, "."))
            }
            _ => None,
        }
    }

    /// [`Locale::number`] without trailing fractional zeros: a quantity in thousandths
    /// (`2.5`, `2,5`), a rate in basis points as percent (`2`, `1.5`).
    pub fn number_trimmed(self, units: i64, scale: u32) -> String {
        let text = self.number(units, scale);
        if scale == 0 {
            return text;
        }
        text.trim_end_matches('0')
            .trim_end_matches(['.', ','])
            .to_string()
    }

    /// A rate in basis points as a percentage: `1.5%`, `1,5 %`.
    pub fn percent(self, basis_points: i64) -> String {
        let number = self.number_trimmed(basis_points, 2);
        match self {
            Locale::En => format!("{number}%"),
            Locale::De => format!("{number} %"),
        }
    }

    /// A day with its month spelled, so 03/04 never means two days: `4 Mar 2026`, `4. März 2026`.
    pub fn date(self, date: NaiveDate) -> String {
        let month = self.month(date.month());
        match self {
            Locale::En => format!("{} {month} {}", date.day(), date.year()),
            Locale::De => format!("{}. {month} {}", date.day(), date.year()),
        }
    }

    /// An RFC 3339 time in UTC: `23 Nov 2026 14:05 UTC`, `23. Nov. 2026, 14:05 UTC`.
    pub fn date_time(self, at: chrono::DateTime<chrono::FixedOffset>) -> String {
        let at = at.with_timezone(&chrono::Utc);
        let clock = at.format("%H:%M");
        match self {
            Locale::En => format!("{} {clock} UTC", self.date(at.date_naive())),
            Locale::De => format!("{}, {clock} UTC", self.date(at.date_naive())),
        }
    }

    /// The month's abbreviation (CLDR's, as printed on letters and invoices).
    fn month(self, month: u32) -> &'static str {
        const EN: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        const DE: [&str; 12] = [
            "Jan.", "Feb.", "März", "Apr.", "Mai", "Juni", "Juli", "Aug.", "Sept.", "Okt.", "Nov.",
            "Dez.",
        ];
        let index = (month.clamp(1, 12) - 1) as usize;
        match self {
            Locale::En => EN[index],
            Locale::De => DE[index],
        }
    }
}

/// `q=0.8` as 800; anything unreadable as 0 (not wanted).
fn quality_in_thousandths(q: &str) -> u16 {
    let q = q.trim();
    let (whole, fraction) = q.split_once('.').unwrap_or((q, ""));
    let digits: String = fraction.chars().chain("000".chars()).take(3).collect();
    match (whole, digits.parse::<u16>()) {
        ("1", Ok(_)) => 1000,
        ("0", Ok(thousandths)) => thousandths,
        _ => 0,
    }
}

/// A refusal a customer can meet, explained in their language. Each error enum a customer can
/// meet writes its explanation once, as a match over its variants choosing with
/// [`Locale::pick`], so the compiler sees that every reason has both languages; its `Display` is
/// the English explanation, so logs, the API and staff read the same words.
pub trait Explain {
    /// The reason, starting in lower case so it reads inside a sentence too.
    fn explain(&self, locale: Locale) -> String;
}

/// `Display` (the English explanation) and `std::error::Error` for errors that [`Explain`]
/// themselves and wrap no other error.
#[macro_export]
macro_rules! explained_error {
    ($($error:ty),+ $(,)?) => {$(
        impl ::std::fmt::Display for $error {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                let english =
                    $crate::locale::Explain::explain(self, $crate::locale::Locale::En);
                f.write_str(&english)
            }
        }

        impl ::std::error::Error for $error {}
    )+};
}

impl std::fmt::Display for Locale {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// The text `KEY` in a language: `tr!(locale, KEY)`, or with values for its `%{name}`
/// placeholders, `tr!(locale, KEY, name = value)`. It reads the catalogue of the crate it is
/// used in (the engine's emails, the app's pages and the server's PDFs each have their own), which
/// must call `rust_i18n::i18n!` at its root. Each use is one lookup and one call to [`fill`], not
/// a copy of the formatting code, so hundreds of texts add little to the WASM client.
// `crate::` on purpose: the catalogue is the calling crate's, not the engine's.
#[allow(clippy::crate_in_macro_def)]
#[macro_export]
macro_rules! tr {
    ($locale:expr, $key:literal $(, $name:ident = $value:expr)* $(,)?) => {
        $crate::locale::fill(
            crate::_rust_i18n_try_translate($locale.code(), $key).as_deref(),
            $key,
            &[$((stringify!($name), &$value as &dyn ::std::fmt::Display)),*],
        )
    };
}

/// A catalogue's text with its `%{name}` placeholders filled in from `values`; the key itself
/// when the catalogue has no text for it (the tests see to it that never happens).
pub fn fill(text: Option<&str>, key: &str, values: &[(&str, &dyn std::fmt::Display)]) -> String {
    let Some(text) = text else {
        return key.to_string();
    };
    let mut filled = String::with_capacity(text.len() + 16 * values.len());
    let mut rest = text;
    while let Some(start) = rest.find("%{") {
        filled.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find('}').and_then(|end| {
            let name = &after[..end];
            values
                .iter()
                .find(|(candidate, _)| *candidate == name)
                .map(|(_, value)| (end, *value))
        }) {
            Some((end, value)) => {
                filled.push_str(&value.to_string());
                rest = &after[end + 1..];
            }
            // Not one of ours: kept as written.
            None => {
                filled.push_str("%{");
                rest = after;
            }
        }
    }
    filled.push_str(rest);
    filled
}

/// What is wrong with a crate's texts: a key its source (`src`) uses with `tr!` that the
/// catalogue lacks in some language, or a key of the catalogue file that lacks a language or that
/// no source uses. `has_text(locale, key)` asks the crate's compiled catalogue. The tests of the
/// app and of the server run it, so a page or PDF never shows a key's name.
#[cfg(feature = "ssr")]
pub fn catalogue_problems(
    src: &std::path::Path,
    catalogue: &std::path::Path,
    has_text: impl Fn(&str, &str) -> bool,
) -> Vec<String> {
    let mut problems = Vec::new();
    let mut sources = String::new();
    for path in rust_files(src) {
        let source = std::fs::read_to_string(&path).unwrap_or_default();
        for key in used_keys(&source) {
            for locale in Locale::ALL {
                if !has_text(locale.code(), key) {
                    problems.push(format!("{key} has no {locale} text ({})", path.display()));
                }
            }
        }
        sources.push_str(&source);
    }
    let catalogue = std::fs::read_to_string(catalogue).unwrap_or_default();
    let keys: Vec<&str> = catalogue
        .lines()
        .filter(|line| !line.starts_with([' ', '#', '_']) && line.ends_with(':'))
        .map(|line| line.trim_end_matches(':'))
        .collect();
    if keys.is_empty() {
        problems.push("the catalogue has no texts".into());
    }
    for key in keys {
        for locale in Locale::ALL {
            if !has_text(locale.code(), key) {
                problems.push(format!("{key} has no {locale} text in the catalogue"));
            }
        }
        if !sources.contains(&format!("\"{key}\"")) {
            problems.push(format!("{key} is in the catalogue but nothing uses it"));
        }
    }
    problems
}

/// The keys of the `tr!` calls in a source file.
#[cfg(feature = "ssr")]
fn used_keys(source: &str) -> impl Iterator<Item = &str> {
    source.split("tr!(").skip(1).filter_map(|call| {
        let (locale, rest) = call.split_once(',')?;
        let locale = locale.trim();
        let plain = |c: char| c.is_ascii_alphanumeric() || "_.()".contains(c);
        if locale.is_empty() || !locale.chars().all(plain) {
            return None;
        }
        Some(rest.trim_start().strip_prefix('"')?.split_once('"')?.0)
    })
}

#[cfg(feature = "ssr")]
fn rust_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for path in std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
    {
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;

    #[cfg(feature = "ssr")]
    #[test]
    fn every_text_of_the_emails_is_written_in_every_language_and_used() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let problems = catalogue_problems(
            &root.join("src"),
            &root.join("src/locales/emails.yml"),
            |locale, key| crate::_rust_i18n_try_translate(locale, key).is_some(),
        );
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    #[test]
    fn placeholders_are_filled_by_name_and_unknown_ones_kept() {
        let amount = "1.234,56 €";
        assert_eq!(
            fill(
                Some("%{amount} am %{date}, %{amount}"),
                "k",
                &[("amount", &amount), ("date", &4)]
            ),
            "1.234,56 € am 4, 1.234,56 €"
        );
        assert_eq!(fill(Some("50 %{unknown} %{"), "k", &[]), "50 %{unknown} %{");
        assert_eq!(fill(None, "nav.summary", &[]), "nav.summary");
    }

    #[test]
    fn german_writes_money_with_a_decimal_comma_and_the_symbol_after() {
        assert_eq!(Locale::De.money(123_456, Currency::Eur), "1.234,56 €");
        assert_eq!(
            Locale::De.money(-123_456_789, Currency::Usd),
            "-1.234.567,89 $"
        );
        assert_eq!(Locale::De.money(500, Currency::Jpy), "500 ¥");
        assert_eq!(Locale::De.money(1_250, Currency::Kwd), "1,250 KWD");
        assert_eq!(Locale::De.money(5, Currency::Eur), "0,05 €");
    }

    #[test]
    fn english_writes_money_with_the_symbol_first() {
        assert_eq!(Locale::En.money(123_450, Currency::Usd), "$1,234.50");
        assert_eq!(Locale::En.money(-5, Currency::Eur), "-€0.05");
        assert_eq!(Locale::En.money(1_000_000, Currency::Jpy), "¥1,000,000");
        assert_eq!(Locale::En.money(-1_250, Currency::Chf), "-CHF 12.50");
        assert_eq!(
            Locale::En.money(i64::MIN, Currency::Usd),
            "-$92,233,720,368,547,758.08"
        );
    }

    #[test]
    fn quantities_and_rates_drop_trailing_zeros() {
        assert_eq!(Locale::De.number_trimmed(2_500, 3), "2,5");
        assert_eq!(Locale::En.number_trimmed(1_234_000, 3), "1,234");
        assert_eq!(Locale::En.number_trimmed(150, 2), "1.5");
        assert_eq!(Locale::De.number_trimmed(1_000, 2), "10");
        assert_eq!(Locale::De.number_trimmed(-125, 3), "-0,125");
        assert_eq!(Locale::En.percent(250), "2.5%");
        assert_eq!(Locale::De.percent(200), "2 %");
    }

    #[test]
    fn typed_amounts_are_read_as_each_language_writes_them() {
        let read = |locale: Locale, typed: &str| locale.read_decimal(typed);
        assert_eq!(read(Locale::De, "1.234,50").as_deref(), Some("1234.50"));
        assert_eq!(read(Locale::De, "1234,5").as_deref(), Some("1234.5"));
        assert_eq!(read(Locale::De, "1.500").as_deref(), Some("1500"));
        assert_eq!(read(Locale::De, "10.50").as_deref(), Some("10.50"));
        assert_eq!(read(Locale::De, "0.500").as_deref(), Some("0.500"));
        assert_eq!(read(Locale::De, "-2 000,00").as_deref(), Some("-2000.00"));
        assert_eq!(read(Locale::En, "1,234.50").as_deref(), Some("1234.50"));
        assert_eq!(read(Locale::En, "1,500").as_deref(), Some("1500"));
        assert_eq!(read(Locale::En, "10,5").as_deref(), Some("10.5"));
        assert_eq!(read(Locale::En, "1.500").as_deref(), Some("1.500"));
        // What only a guess could read is refused.
        assert_eq!(read(Locale::De, "1,500.00"), None);
        assert_eq!(read(Locale::En, "1.500,00"), None);
        assert_eq!(read(Locale::De, "1,5,0"), None);
        assert_eq!(read(Locale::De, "12.34.5"), None);
        for locale in Locale::ALL {
            assert_eq!(
                read(locale, &locale.plain_decimal(123_456_789, 3)).as_deref(),
                Some("123456.789")
            );
            assert_eq!(
                read(locale, &locale.number(-123_456_789, 2)).as_deref(),
                Some("-1234567.89")
            );
        }
    }

    #[test]
    fn dates_spell_the_month_in_each_language() {
        let day = NaiveDate::from_ymd_opt(2026, 11, 12).unwrap();
        assert_eq!(Locale::En.date(day), "12 Nov 2026");
        assert_eq!(Locale::De.date(day), "12. Nov. 2026");
        let march = NaiveDate::from_ymd_opt(2026, 3, 4).unwrap();
        assert_eq!(Locale::De.date(march), "4. März 2026");
        let at = chrono::DateTime::parse_from_rfc3339("2026-11-23T15:05:09+01:00").unwrap();
        assert_eq!(Locale::En.date_time(at), "23 Nov 2026 14:05 UTC");
        assert_eq!(Locale::De.date_time(at), "23. Nov. 2026, 14:05 UTC");
    }

    #[test]
    fn the_browsers_first_language_we_have_wins_by_quality() {
        assert_eq!(
            Locale::from_accept_language("de-DE,de;q=0.9,en;q=0.8"),
            Locale::De
        );
        assert_eq!(
            Locale::from_accept_language("fr-FR,fr;q=0.9,de;q=0.5,en;q=0.4"),
            Locale::De
        );
        assert_eq!(
            Locale::from_accept_language("en;q=0.5, de;q=0.7"),
            Locale::De
        );
        assert_eq!(Locale::from_accept_language("de;q=0, en-GB"), Locale::En);
        assert_eq!(Locale::from_accept_language("fr, it"), Locale::En);
        assert_eq!(Locale::from_accept_language(""), Locale::En);
        assert_eq!(
            Locale::from_accept_language("*;q=abc, de;q=1.0"),
            Locale::De
        );
        assert_eq!(Locale::parse("DE_at"), Some(Locale::De));
        assert_eq!(Locale::parse("german"), None);
    }
}
