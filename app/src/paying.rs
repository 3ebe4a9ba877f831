//! Paying online: review where the money goes, hand off to the provider's hosted page, and
//! follow the checkout until the provider's event has posted it.

pub mod pages;

use ledgerport::checkout::{CheckoutView, PaymentReview};
use leptos::prelude::*;

use crate::errors::AppError;
#[cfg(feature = "ssr")]
use crate::i18n::tr;

/// Where the money would go. `invoices` is a comma-separated id list (empty: everything due
/// now, a payment plan's instalments included: `checkout::store::everything_due`); `amounts`
/// the matching decimal amounts separated by `;` (empty: what is due on each invoice), written in
/// `lang` (`de`: `1234,50`), the language of the page that made them; the reader's own when
/// blank.
#[server(endpoint = "portal/review-payment")]
pub async fn review_payment(
    invoices: String,
    amounts: String,
    #[server(default)] lang: String,
) -> Result<PaymentReview, AppError> {
    use ledgerport::checkout::PayItem;
    use ledgerport::locale::Explain;
    use ledgerport::money::Money;
    let (_, customer_id) = crate::session::require_payer()?;
    let reader = crate::i18n::request_locale();
    let db = crate::context::app().db;
    let ids: Vec<i64> = invoices
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| {
            s.trim()
                .parse()
                .map_err(|_| AppError::Invalid(tr!(reader, "error.invoice_ids")))
        })
        .collect::<Result<_, _>>()?;
    let today = chrono::Utc::now().date_naive();
    let items = if amounts.trim().is_empty() {
        if ids.is_empty() {
            ledgerport::checkout::store::everything_due(&db, customer_id, today).await?
        } else {
            let open = ledgerport::checkout::store::full_amounts(&db, customer_id, &ids).await?;
            // An id that is not open here stays in, so the review says why (not yours, or paid).
            ids.iter()
                .map(|id| {
                    open.iter()
                        .find(|item| item.invoice_id == *id)
                        .copied()
                        .unwrap_or(PayItem {
                            invoice_id: *id,
                            amount_minor: 1,
                        })
                })
                .collect()
        }
    } else {
        let currency = ledgerport::customers::store::customer_currency(&db, customer_id)
            .await?
            .ok_or_else(crate::errors::account_gone)?;
        let amounts: Vec<&str> = amounts.split(';').collect();
        if amounts.len() != ids.len() {
            return Err(AppError::Invalid(tr!(
                reader,
                "error.one_amount_per_invoice"
            )));
        }
        let locale = crate::i18n::Locale::parse(&lang).unwrap_or_else(crate::i18n::request_locale);
        ids.iter()
            .zip(amounts)
            .map(|(id, text)| {
                let plain = locale.read_decimal(text).ok_or_else(|| {
                    AppError::invalid(tr!(locale, "amount.unreadable", text = format!("{text:?}")))
                })?;
                Money::parse(&plain, currency)
                    .map(|m| PayItem {
                        invoice_id: *id,
                        amount_minor: m.to_minor(),
                    })
                    .map_err(|e| AppError::invalid(format!("{text:?}: {}", e.explain(locale))))
            })
            .collect::<Result<_, _>>()?
    };
    Ok(ledgerport::checkout::store::review(&db, customer_id, &items, today).await?)
}

#[cfg(feature = "ssr")]
fn parse_items(text: &str) -> Result<Vec<ledgerport::checkout::PayItem>, AppError> {
    ledgerport::checkout::PayItem::parse_list(text).ok_or_else(|| {
        let locale = crate::i18n::request_locale();
        AppError::Invalid(tr!(locale, "error.amounts_unreadable"))
    })
}

/// Records the checkout and returns the provider's hosted payment page. The browser is
/// redirected there.
#[server(endpoint = "portal/start-payment")]
pub async fn start_payment(items: String) -> Result<String, AppError> {
    use ledgerport::checkout::HostedCheckoutRequest;
    let (caller, customer_id) = crate::session::require_payer()?;
    let items = parse_items(&items)?;
    let ctx = crate::context::app();
    let opened = ledgerport::checkout::store::open_checkout(
        &ctx.db,
        customer_id,
        caller.user_id,
        ctx.payments.name(),
        &items,
        chrono::Utc::now().date_naive(),
    )
    .await?;
    let (checkout_id, review) = (&opened.id, &opened.review);
    let numbers: Vec<&str> = review.lines.iter().map(|l| l.number.as_str()).collect();
    let status_url = format!("{}/payments/checkout/{checkout_id}", ctx.public_base_url);
    let created = ctx
        .payments
        .create_checkout(HostedCheckoutRequest {
            checkout_id,
            currency: review.currency,
            amount_minor: review.total_minor,
            methods: &review.methods,
            expires_at: opened.expires_at.timestamp(),
            description: format!("Invoices {}", numbers.join(", ")),
            customer_email: &caller.email,
            success_url: status_url.clone(),
            cancel_url: status_url,
        })
        .await;
    let hosted = match created {
        Ok(hosted) => hosted,
        Err(e) => {
            // No page to pay on: the invoices are not held back for it.
            ledgerport::checkout::store::cancelled_checkout(&ctx.db, checkout_id).await?;
            return Err(AppError::Unavailable(crate::errors::said(&e)));
        }
    };
    ledgerport::checkout::store::attach_provider_session(&ctx.db, checkout_id, &hosted.session_id)
        .await?;
    leptos_axum::redirect(&hosted.url);
    Ok(hosted.url)
}

/// Pays the chosen invoices from the account's unapplied credit first, then returns the pay page
/// for what is left (the summary when nothing is). The browser is redirected there.
#[server(endpoint = "portal/apply-credit")]
pub async fn apply_credit_first(items: String) -> Result<String, AppError> {
    let (_, customer_id) = crate::session::require_payer()?;
    let items = parse_items(&items)?;
    let db = crate::context::app().db;
    let currency = ledgerport::customers::store::customer_currency(&db, customer_id)
        .await?
        .ok_or_else(crate::errors::account_gone)?;
    let left = ledgerport::checkout::store::apply_credit_first(
        &db,
        customer_id,
        &items,
        chrono::Utc::now().date_naive(),
    )
    .await?;
    let next = if left.is_empty() {
        "/".to_string()
    } else {
        let query: Vec<String> = left
            .iter()
            .map(|item| {
                let amount = ledgerport::money::Money::from_minor(item.amount_minor, currency);
                format!(
                    "invoice={}&amount={}",
                    item.invoice_id,
                    amount.decimal_text()
                )
            })
            .collect();
        format!("/pay?{}", query.join("&"))
    };
    leptos_axum::redirect(&next);
    Ok(next)
}

/// Announces a bank transfer for the chosen invoices and amounts and returns its page, with
/// the reference to quote and where to send the money. The browser is redirected there.
#[server(endpoint = "portal/announce-transfer")]
pub async fn announce_transfer(items: String) -> Result<String, AppError> {
    let (caller, customer_id) = crate::session::require_payer()?;
    let items = parse_items(&items)?;
    let ctx = crate::context::app();
    let announced = ledgerport::transfers::store::announce_transfer(
        &ctx.db,
        customer_id,
        caller.user_id,
        &items,
        chrono::Utc::now().date_naive(),
    )
    .await?;
    let page = format!("/payments/checkout/{}", announced.id);
    leptos_axum::redirect(&page);
    Ok(page)
}

/// Cancels a payment still open on the provider's page (the provider closes the page first; it
/// refuses once the customer has paid or submitted a debit there) or withdraws an announced
/// transfer; its invoices are due again. The browser returns to the payment's page.
#[server(endpoint = "portal/cancel-payment")]
pub async fn cancel_payment(id: String) -> Result<(), AppError> {
    use ledgerport::checkout::store::Cancellable;
    let (_, customer_id) = crate::session::require_payer()?;
    let ctx = crate::context::app();
    match ledgerport::checkout::store::cancellable(&ctx.db, customer_id, &id).await? {
        Cancellable::Hosted(session) => ctx
            .payments
            .expire_checkout(&session)
            .await
            .map_err(|e| AppError::Conflict(crate::errors::said(&e)))?,
        Cancellable::Transfer => {}
    }
    ledgerport::checkout::store::cancelled_checkout(&ctx.db, &id).await?;
    leptos_axum::redirect(&format!("/payments/checkout/{id}"));
    Ok(())
}

#[server(endpoint = "portal/checkout")]
pub async fn checkout_status(id: String) -> Result<CheckoutView, AppError> {
    let (_, customer_id) = crate::session::require_contact()?;
    ledgerport::transfers::store::payment_view(&crate::context::app().db, customer_id, &id)
        .await?
        .ok_or_else(|| {
            let locale = crate::i18n::request_locale();
            AppError::NotFound(tr!(locale, "error.no_such_payment"))
        })
}
