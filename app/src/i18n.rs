//! The language of the page being rendered. The server decides it once per request (the
//! signed-in person's choice, else the browser's `Accept-Language`; staff pages stay English),
//! writes it into `<html lang>`, and the WASM client reads it back from there, so both render the
//! same text. Texts live in `app/locales/app.yml` (rust-i18n, one entry per text with every
//! language side by side); `tr!` looks one up in the page's language (docs/i18n.md).

pub use ledgerport::locale::Locale;
use leptos::prelude::*;

pub use ledgerport::tr;

/// The language of the page being rendered (provided by `App`; English outside a page).
pub fn use_locale() -> Locale {
    use_context::<Locale>().unwrap_or_default()
}

/// The language this request's page is in: a contact's or visitor's own, English for staff.
#[cfg(feature = "ssr")]
pub fn request_locale() -> Locale {
    crate::request::locale()
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

#[cfg(all(test, feature = "ssr"))]
mod tests {
    #[test]
    fn every_text_of_the_pages_is_written_in_every_language_and_used() {
        let crate_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let problems = ledgerport::locale::catalogue_problems(
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
        let problems = ledgerport::locale::catalogue_problems(
            &dir.join("src"),
            &dir.join("app.yml"),
            |locale, key| crate::_rust_i18n_try_translate(locale, key).is_some(),
        );
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
