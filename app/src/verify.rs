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
        Some(document) => Verification::Issued {
            code: shown,
            issuer,
            document,
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
    view! {
        <Title text="Check a document"/>
        <section class="card narrow" aria-labelledby="verify-heading">
            <h1 id="verify-heading">"Check a document"</h1>
            <p class="hint">"Every invoice and statement we issue carries a code such as ABCD-EFGH-JKMN beside a QR code. Enter it to see what we issued under it."</p>
            <crate::components::Loaded data=answer loading="Checking…" let:answer>
                {let typed = answer.code().to_string();
                view! {
                    {verdict(answer)}
                    <form method="get" action="/verify" class="form">
                        <label for="document-code">"Document code"</label>
                        <input id="document-code" name="code" maxlength="20" autocomplete="off" required
                            value=typed/>
                        <button class="button" type="submit">"Check"</button>
                    </form>
                }}
            </crate::components::Loaded>
        </section>
    }
}

fn verdict(answer: Verification) -> AnyView {
    match answer {
        Verification::Nothing => ().into_any(),
        Verification::Issued {
            code,
            issuer,
            document,
        } => {
            let what = match document.kind {
                DocumentKind::Invoice => format!("Invoice {}", document.number),
                DocumentKind::Statement => format!(
                    "Statement of account, {} – {}",
                    document.period_from.map(date).unwrap_or_default(),
                    date(document.issued_on)
                ),
            };
            let (date_label, total_label) = match document.kind {
                DocumentKind::Invoice => ("Issued", "Total"),
                DocumentKind::Statement => ("As of", "Closing balance"),
            };
            view! {
                <div class="notice" role="status" data-testid="verified">
                    <p><strong>{format!("Issued by {issuer}.")}</strong>" The code " <code>{code}</code> " belongs to:"</p>
                    <dl class="facts">
                        <dt>"Document"</dt><dd>{what}</dd>
                        <dt>{date_label}</dt><dd>{date(document.issued_on)}</dd>
                        <dt>{total_label}</dt><dd>{money(document.total_minor, document.currency)}</dd>
                    </dl>
                    <p class="hint">"If your copy shows another number, date or total, it was altered: do not pay from it. Pay only into the account the portal shows you."</p>
                </div>
            }
            .into_any()
        }
        Verification::NotIssued { code, issuer } => view! {
            <div class="error" role="alert" data-testid="not-issued">
                <p><strong>"Not issued by us."</strong>" " {format!("{issuer} issued no document with the code ")} <code>{code}</code>"."</p>
                <p>"Check that you typed it as printed. If it is right, the document is not ours: do not pay it, and tell us."</p>
            </div>
        }
        .into_any(),
    }
}
