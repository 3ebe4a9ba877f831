//! The public page that checks a document's code (`/verify`, `/verify/<code>`): anyone holding an
//! invoice or statement, signed in or not, sees whether we issued it and its number, date and
//! total (`ledgerport::verification`). Nothing else about the account is shown.

use ledgerport::verification::{DocumentKind, IssuedDocument};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};
use serde::{Deserialize, Serialize};

use crate::errors::AppError;
use crate::format::{date, money};
use crate::i18n::{tr, use_locale};

/// What the page says about a code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Verification {
    /// No code given yet: the page shows the form.
    Nothing,
    /// We issued it: exactly what it printed.
    Issued {
        code: String,
        issuer: String,
        document: IssuedDocument,
        /// The invoice was voided on this day, after it was printed: nothing is owed on it.
        voided_on: Option<chrono::NaiveDate>,
    },
    /// Unknown, altered or mistyped: we did not issue a document with this code.
    NotIssued { code: String, issuer: String },
}

impl Verification {
    /// The code as the page shows it back (only a code's symbols); empty before one is given.
    pub fn code(&self) -> &str {
        match self {
            Verification::Nothing => "",
            Verification::Issued { code, .. } | Verification::NotIssued { code, .. } => code,
        }
    }
}

#[server(endpoint = "verify-document")]
pub async fn verify_document(code: String) -> Result<Verification, AppError> {
    use ledgerport::verification::DocumentCode;
    let typed = code.trim();
    if typed.is_empty() {
        return Ok(Verification::Nothing);
    }
    // Shown back only as a code's symbols and at most a code's length: the page never repeats
    // arbitrary text (a crafted address must not put its words on our page).
    let shown: String = typed
        .to_ascii_uppercase()
        .chars()
        .filter(|c| {
            *c == '-'
                || (c.is_ascii()
                    && ledgerport::secrets::CROCKFORD.contains(&(c.to_ascii_lowercase() as u8)))
        })
        .take(14)
        .collect();
    let db = &crate::context::app().db;
    let profile = ledgerport::company::store::company_profile(db).await?;
    let issuer = if profile.legal_name.is_empty() {
        "Ledgerport".to_string()
    } else {
        profile.legal_name
    };
    let parsed = DocumentCode::parse(typed);
    // A code that parses is shown as printed (an O typed for a 0 reads back as 0).
    let shown = parsed.as_ref().map(DocumentCode::printed).unwrap_or(shown);
    let found = match parsed {
        Some(code) => ledgerport::verification::store::verify(db, &code).await?,
        None => None,
    };
    Ok(match found {
        Some(confirmed) => Verification::Issued {
            code: shown,
            issuer,
            document: confirmed.document,
            voided_on: confirmed.voided_on,
        },
        None => Verification::NotIssued {
            code: shown,
            issuer,
        },
    })
}

/// `/verify` and `/verify/<code>`: the code from the address (a scanned QR code) or the form.
#[component]
pub fn VerifyPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let code = move || {
        params
            .with(|p| p.get("code"))
            .or_else(|| query.with(|q| q.get("code")))
            .unwrap_or_default()
    };
    let answer = Resource::new(code, verify_document);
    let locale = use_locale();
    view! {
        <Title text=tr!(locale, "verify.title")/>
        <section class="card narrow" aria-labelledby="verify-heading">
            <h1 id="verify-heading">{tr!(locale, "verify.title")}</h1>
            <p class="hint">{tr!(locale, "verify.hint")}</p>
            <crate::components::Loaded data=answer let:answer>
                {let typed = answer.code().to_string();
                view! {
                    {verdict(answer)}
                    <form method="get" action="/verify" class="form">
                        <label for="document-code">{tr!(locale, "verify.code")}</label>
                        <input id="document-code" name="code" maxlength="20" autocomplete="off" required
                            value=typed/>
                        <button class="button" type="submit">{tr!(locale, "verify.check")}</button>
                    </form>
                }}
            </crate::components::Loaded>
        </section>
    }
}

fn verdict(answer: Verification) -> AnyView {
    let locale = use_locale();
    match answer {
        Verification::Nothing => ().into_any(),
        Verification::Issued {
            code,
            issuer,
            document,
            voided_on,
        } => {
            let what = match document.kind {
                DocumentKind::Invoice => tr!(locale, "invoice.title", number = document.number),
                DocumentKind::Statement => tr!(
                    locale,
                    "verify.statement",
                    from = document.period_from.map(date).unwrap_or_default(),
                    to = date(document.issued_on)
                ),
            };
            let (date_label, total_label) = match document.kind {
                DocumentKind::Invoice => (tr!(locale, "invoice.issued"), tr!(locale, "invoice.total")),
                DocumentKind::Statement => (tr!(locale, "verify.as_of"), tr!(locale, "statements.closing")),
            };
            view! {
                <div class="notice" role="status" data-testid="verified">
                    <p><strong>{tr!(locale, "verify.issued_by", issuer = issuer)}</strong>" "
                        {tr!(locale, "verify.the_code")}" "<code>{code}</code>" "{tr!(locale, "verify.belongs_to")}</p>
                    <dl class="facts">
                        <dt>{tr!(locale, "verify.document")}</dt><dd>{what}</dd>
                        <dt>{date_label}</dt><dd>{date(document.issued_on)}</dd>
                        <dt>{total_label}</dt><dd>{money(document.total_minor, document.currency)}</dd>
                    </dl>
                    {voided_on.map(|day| view! {
                        <p class="error" data-testid="voided"><strong>{tr!(locale, "verify.voided", date = date(day))}</strong></p>
                    })}
                    <p class="hint">{tr!(locale, "verify.altered")}</p>
                </div>
            }
            .into_any()
        }
        Verification::NotIssued { code, issuer } => view! {
            <div class="error" role="alert" data-testid="not-issued">
                <p><strong>{tr!(locale, "verify.not_issued")}</strong>" "
                    {tr!(locale, "verify.no_document", issuer = issuer)}" "<code>{code}</code>"."</p>
                <p>{tr!(locale, "verify.check_typing")}</p>
            </div>
        }
        .into_any(),
    }
}
