//! The language of the page being rendered. The server decides it once per request (the
//! signed-in person's choice, else the browser's `Accept-Language`; staff pages stay English),
//! writes it into `<html lang>`, and the WASM client reads it back from there, so both render the
//! same text. Texts live in `app/locales/app.yml` (rust-i18n, one entry per text with every
//! language side by side); `tr!` looks one up in the page's language.

use leptos::prelude::*;
pub use ledgerport::locale::Locale;

/// The text `KEY` in a language: `tr!(locale, KEY)`, or with values for its `%{name}`
/// placeholders, `tr!(locale, KEY, name = value)`. It reads the catalogue of the crate it is
/// used in (the server's PDFs have their own), which must depend on `rust-i18n`.
#[macro_export]
macro_rules! tr {
    ($locale:expr, $key:literal $(, $name:ident = $value:expr)* $(,)?) => {
        rust_i18n::t!($key, locale = $locale.code() $(, $name = $value)*).into_owned()
    };
}
pub use crate::tr;

/// The language of the page being rendered (provided by `App`; English outside a page).
pub fn use_locale() -> Locale {
    use_context::<Locale>().unwrap_or_default()
}

/// The language this request's page is in: a contact's or visitor's own, English for staff.
#[cfg(feature = "ssr")]
pub fn request_locale() -> Locale {
    match crate::session::caller() {
        Some(caller) if caller.role.is_staff() => Locale::En,
        caller => Locale::of_reader(
            caller.and_then(|c| c.locale),
            crate::request::accept_language().as_deref(),
        ),
    }
}

/// The language the server rendered the page in, read back from `<html lang>` as it hydrates.
#[cfg(not(feature = "ssr"))]
pub fn request_locale() -> Locale {
    document()
        .document_element()
        .and_then(|html| html.get_attribute("lang"))
        .and_then(|lang| Locale::parse(&lang))
        .unwrap_or_default()
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

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;

    #[test]
    fn every_text_of_the_pages_is_written_in_every_language_and_used() {
        let crate_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let problems = catalogue_problems(
            &crate_dir.join("src"),
            &crate_dir.join("locales/app.yml"),
            |locale, key| crate::_rust_i18n_try_translate(locale, key).is_some(),
        );
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    #[test]
    fn the_checker_finds_a_missing_text_and_an_unused_one() {
        let dir = std::env::temp_dir().join(format!("i18n-check-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("src")).unwrap();
        std::fs::write(
            dir.join("src/page.rs"),
            "fn f() { tr!(locale, \"nav.summary\"); tr!(locale, \"nav.nowhere\"); }",
        )
        .unwrap();
        std::fs::write(
            dir.join("app.yml"),
            "_version: 2\nnav.summary:\n  en: x\nnav.unused:\n  en: y\n",
        )
        .unwrap();
        let problems = catalogue_problems(&dir.join("src"), &dir.join("app.yml"), |locale, key| {
            crate::_rust_i18n_try_translate(locale, key).is_some()
        });
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(
            problems,
            vec![
                "nav.nowhere has no en text (".to_string()
                    + &dir.join("src/page.rs").display().to_string()
                    + ")",
                "nav.nowhere has no de text (".to_string()
                    + &dir.join("src/page.rs").display().to_string()
                    + ")",
                "nav.unused has no en text in the catalogue".to_string(),
                "nav.unused has no de text in the catalogue".to_string(),
                "nav.unused is in the catalogue but nothing uses it".to_string(),
            ]
        );
    }
}
