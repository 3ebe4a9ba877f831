//! The sandbox's saved methods, like Stripe's test mode: a hosted setup page that takes Stripe's
//! test cards and test bank accounts, a signed `checkout.session.completed` (setup mode) when
//! one is saved, and off-session charges that behave as the saved test card or account does.
//!
//! Test cards for saving: 4242 4242 4242 4242 (charges succeed), 4000 0000 0000 0341 (saved;
//! charges are declined), 4000 0000 0000 9995 (saved; charges fail for insufficient funds),
//! 4000 0027 6000 3184 (saved; every charge needs the customer to authenticate), 4000 0000 0000
//! 0002 (declined when saving), 4000 0000 0000 0069 (expired). Bank accounts: the test accounts
//! of the hosted payment page; their debits settle, fail or come back as there.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use ledgerport::checkout::{ProviderError, bank_debit_for};
use ledgerport::db::Db;
use ledgerport::money::Currency;
use ledgerport::payments::PaymentMethod;
use ledgerport::saved_methods::{
    ChargeOutcome, HostedSetup, OffSessionCharge, ProviderMethod, SetupRequest,
};
use serde_json::json;

use super::{
    DebitOutcome, PayForm, SandboxPayment, SandboxProvider, ach_outcome, deliver, escape, event,
    random_id, sandbox_html, sepa_outcome,
};
use crate::guard::SignedIn;
use crate::state::ServerState;
use crate::webhooks::SETUP_METADATA_KEY;

/// What charging a saved test card does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SavedCard {
    Succeeds,
    /// Charges are declined with this decline code.
    Declines(&'static str),
    /// Every charge needs the customer (3-D Secure).
    Authenticates,
}

/// A test card on the setup page: what it does once saved, or why it cannot be saved.
fn saved_card(number: &str) -> Result<SavedCard, &'static str> {
    let digits: String = number.chars().filter(char::is_ascii_digit).collect();
    match digits.as_str() {
        "4242424242424242" => Ok(SavedCard::Succeeds),
        "4000000000000341" => Ok(SavedCard::Declines("generic_decline")),
        "4000000000009995" => Ok(SavedCard::Declines("insufficient_funds")),
        "4000002760003184" => Ok(SavedCard::Authenticates),
        "4000000000000002" => Err("Your card was declined."),
        "4000000000000069" => Err("Your card has expired."),
        _ => Err("Your card number is incorrect. Use a test card, e.g. 4242 4242 4242 4242."),
    }
}

/// `MM / YY` (or `MM/YYYY`) → (month, year), in the future.
fn expiry(text: &str) -> Option<(i64, i64)> {
    let (month, year) = text.split_once('/')?;
    let month: i64 = month.trim().parse().ok()?;
    let year: i64 = year.trim().parse().ok()?;
    let year = if year < 100 { 2000 + year } else { year };
    let today = chrono::Utc::now().date_naive();
    let now =
        i64::from(chrono::Datelike::year(&today)) * 12 + i64::from(chrono::Datelike::month(&today));
    ((1..=12).contains(&month) && year * 12 + month >= now).then_some((month, year))
}

pub(super) fn start(
    provider: &SandboxProvider,
    request: &SetupRequest<'_>,
) -> Result<HostedSetup, ProviderError> {
    Ok(HostedSetup {
        provider_customer: request.provider_customer.map_or_else(
            || format!("cus_sandbox_{}", request.customer_id),
            str::to_string,
        ),
        url: format!(
            "{}/sandbox/setup/{}",
            provider.public_base_url, request.setup_id
        ),
    })
}

#[derive(sqlx::FromRow)]
struct SavedRow {
    id: String,
    kind: String,
    label: String,
    last4: String,
    exp_month: Option<i64>,
    exp_year: Option<i64>,
    behaviour: String,
    code: String,
}

const SAVED_COLUMNS: &str = "SELECT id, kind, label, last4, exp_month, exp_year, behaviour, code FROM sandbox_saved_methods";

fn unreachable_db(e: sqlx::Error) -> ProviderError {
    ProviderError::Unavailable(format!("the sandbox could not read its saved methods: {e}"))
}

pub(super) async fn saved_method(
    db: &Db,
    setup_intent: &str,
) -> Result<ProviderMethod, ProviderError> {
    let row: SavedRow = sqlx::query_as(&format!("{SAVED_COLUMNS} WHERE setup_intent = $1"))
        .bind(setup_intent)
        .fetch_optional(db.pool())
        .await
        .map_err(unreachable_db)?
        .ok_or_else(|| ProviderError::Refused("No such SetupIntent".into()))?;
    let kind = PaymentMethod::parse(&row.kind)
        .ok_or_else(|| ProviderError::Unavailable("a saved method of an unknown kind".into()))?;
    Ok(ProviderMethod {
        mandate: kind
            .is_bank_debit()
            .then(|| format!("mandate_{}", row.id.trim_start_matches("pm_"))),
        id: row.id,
        kind,
        label: row.label,
        last4: row.last4,
        exp_month: row.exp_month.and_then(|m| u32::try_from(m).ok()),
        exp_year: row.exp_year.and_then(|y| i32::try_from(y).ok()),
    })
}

/// An off-session charge as the saved test card or account decides; its events are signed and
/// delivered before the answer, like Stripe's (a debit's settlement comes later, from the job).
pub(super) async fn charge(
    provider: &SandboxProvider,
    charge: &OffSessionCharge<'_>,
) -> Result<ChargeOutcome, ProviderError> {
    let row: SavedRow = sqlx::query_as(&format!("{SAVED_COLUMNS} WHERE id = $1"))
        .bind(charge.provider_method)
        .fetch_optional(provider.db.pool())
        .await
        .map_err(unreachable_db)?
        .ok_or_else(|| ProviderError::Refused("No such PaymentMethod".into()))?;
    let intent = random_id("pi");
    let payment = SandboxPayment {
        checkout: charge.checkout_id,
        intent: &intent,
        method: charge.kind,
        currency: charge.currency.code().to_lowercase(),
        amount_minor: charge.amount_minor,
    };
    let send = |events: Vec<serde_json::Value>| async {
        for event in events {
            deliver(provider, &provider.db, &provider.webhook_secret, event)
                .await
                .map_err(|e| ProviderError::Unavailable(e.to_string()))?;
        }
        Ok::<(), ProviderError>(())
    };
    if charge.kind.is_bank_debit() {
        payment
            .debit_submitted(&provider.db, &row.behaviour, &row.code)
            .await
            .map_err(unreachable_db)?;
        send(vec![payment.intent("payment_intent.processing", None)]).await?;
        return Ok(ChargeOutcome::Processing);
    }
    match row.behaviour.as_str() {
        "succeeds" => {
            send(vec![payment.intent("payment_intent.succeeded", None)]).await?;
            payment
                .charged(&provider.db, charge.currency)
                .await
                .map_err(unreachable_db)?;
            Ok(ChargeOutcome::Succeeded)
        }
        "authenticates" => {
            let message = "This payment requires the customer to authenticate.";
            let failed = payment.intent(
                "payment_intent.payment_failed",
                Some(("authentication_required", message)),
            );
            send(vec![failed]).await?;
            Ok(ChargeOutcome::NeedsCustomer {
                message: message.into(),
            })
        }
        _ => {
            let message = if row.code == "insufficient_funds" {
                "Your card has insufficient funds."
            } else {
                "Your card was declined."
            };
            let failed = payment.intent(
                "payment_intent.payment_failed",
                Some(("card_declined", message)),
            );
            send(vec![failed]).await?;
            Ok(ChargeOutcome::Declined {
                code: row.code,
                message: message.into(),
            })
        }
    }
}

/// Detaching, like Stripe: the method can no longer be charged.
pub(super) async fn remove(db: &Db, provider_method: &str) -> Result<(), ProviderError> {
    let removed = sqlx::query("DELETE FROM sandbox_saved_methods WHERE id = $1")
        .bind(provider_method)
        .execute(db.write_pool())
        .await
        .map_err(unreachable_db)?;
    if removed.rows_affected() == 0 {
        return Err(ProviderError::Refused("No such PaymentMethod".into()));
    }
    Ok(())
}

/// The setup the signed-in payer may complete: open, and started by them (their consent is the
/// one recorded).
async fn open_setup(
    state: &ServerState,
    caller: &ledgerport::auth::Caller,
    id: &str,
) -> Result<Currency, Response> {
    let currency: Option<String> = sqlx::query_scalar(
        "SELECT c.currency FROM payment_method_setups s JOIN customers c ON c.id = s.customer_id \
         WHERE s.id = $1 AND s.user_id = $2 AND s.status = 'open'",
    )
    .bind(id)
    .bind(caller.user_id)
    .fetch_optional(state.app.db.pool())
    .await
    .map_err(|e| {
        tracing::error!("sandbox setup lookup failed: {e}");
        StatusCode::INTERNAL_SERVER_ERROR.into_response()
    })?;
    let currency = currency.ok_or_else(|| {
        (
            StatusCode::NOT_FOUND,
            "There is no such setup of yours, or it is complete.",
        )
            .into_response()
    })?;
    ledgerport::db::currency(&currency)
        .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

fn setup_page(currency: Currency, message: Option<&str>) -> Response {
    let alert = message
        .map(|m| format!(r#"<p class="error" role="alert">{}</p>"#, escape(m)))
        .unwrap_or_default();
    let mandate = r#"<label class="check"><input type="checkbox" name="mandate" value="accepted" required> I authorise the merchant to debit this account for payments I make or set up in its portal, and my bank to pay them. I can ask my bank for a refund under its terms.</label>"#;
    let bank = match bank_debit_for(currency) {
        Some(PaymentMethod::Ach) => format!(
            r#"<form method="post" class="form" aria-label="Save a bank account">
<h2>US bank account (ACH Direct Debit)</h2>
<input type="hidden" name="method" value="ach">
<label for="routing">Routing number</label><input id="routing" name="routing_number" inputmode="numeric" autocomplete="off" required placeholder="110000000">
<label for="account">Account number</label><input id="account" name="account_number" inputmode="numeric" autocomplete="off" required placeholder="000123456789">
{mandate}
<button class="button" type="submit">Save bank account</button>
</form>"#
        ),
        Some(_) => format!(
            r#"<form method="post" class="form" aria-label="Save a bank account">
<h2>SEPA Direct Debit</h2>
<input type="hidden" name="method" value="sepa_debit">
<label for="iban">IBAN</label><input id="iban" name="iban" autocomplete="off" required placeholder="DE89 3704 0044 0532 0130 00">
{mandate}
<button class="button" type="submit">Save bank account</button>
</form>"#
        ),
        None => String::new(),
    };
    sandbox_html(format!(
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Save a payment method · Sandbox</title><link rel="stylesheet" href="/pkg/ledgerport.css"></head>
<body><main class="page"><section class="card narrow" aria-labelledby="setup-heading">
<p class="tag">Sandbox · test mode, no real money moves</p>
<h1 id="setup-heading">Save a payment method</h1>
{alert}
<form method="post" class="form" aria-label="Save a card">
<h2>Card</h2>
<input type="hidden" name="method" value="card">
<label for="card">Card number</label>
<input id="card" name="card_number" inputmode="numeric" autocomplete="off" required placeholder="4242 4242 4242 4242">
<label for="expiry">Expiry (MM / YY)</label><input id="expiry" name="expiry" autocomplete="off" required placeholder="12 / 34">
<label for="cvc">CVC</label><input id="cvc" name="cvc" inputmode="numeric" autocomplete="off" required placeholder="123">
<button class="button" type="submit">Save card</button>
</form>
{bank}
<p class="hint"><a href="/autopay">Cancel and go back</a></p>
</section></main></body></html>"#
    ))
}

pub(super) async fn hosted_setup_page(
    State(state): State<ServerState>,
    SignedIn(caller): SignedIn,
    Path(id): Path<String>,
) -> Response {
    match open_setup(&state, &caller, &id).await {
        Ok(currency) => setup_page(currency, None),
        Err(response) => response,
    }
}

/// A test method as the sandbox keeps it.
struct NewSaved {
    kind: PaymentMethod,
    label: String,
    last4: String,
    exp: Option<(i64, i64)>,
    behaviour: &'static str,
    code: &'static str,
}

fn last4(text: &str) -> String {
    let compact: Vec<char> = text.chars().filter(char::is_ascii_alphanumeric).collect();
    compact[compact.len().saturating_sub(4)..].iter().collect()
}

/// What the form describes, or the message the page shows.
fn parse_setup(form: &PayForm, currency: Currency) -> Result<NewSaved, &'static str> {
    let method = PaymentMethod::parse(&form.method)
        .filter(|m| *m == PaymentMethod::Card || Some(*m) == bank_debit_for(currency))
        .ok_or("Choose one of the payment methods offered.")?;
    if method == PaymentMethod::Card {
        let behaviour = saved_card(&form.card_number)?;
        let exp = expiry(&form.expiry).ok_or("Enter a future expiry date as MM / YY.")?;
        let (behaviour, code) = match behaviour {
            SavedCard::Succeeds => ("succeeds", ""),
            SavedCard::Declines(code) => ("declines", code),
            SavedCard::Authenticates => ("authenticates", "authentication_required"),
        };
        return Ok(NewSaved {
            kind: method,
            label: "Visa".into(),
            last4: last4(&form.card_number),
            exp: Some(exp),
            behaviour,
            code,
        });
    }
    let (outcome, label, number) = match method {
        PaymentMethod::Ach => (
            ach_outcome(&form.routing_number, &form.account_number),
            "STRIPE TEST BANK".to_string(),
            &form.account_number,
        ),
        _ => (
            sepa_outcome(&form.iban),
            "SEPA account (bank 37040044)".to_string(),
            &form.iban,
        ),
    };
    if let DebitOutcome::Invalid(message) = outcome {
        return Err(message);
    }
    if form.mandate != "accepted" {
        return Err("Accept the debit authorisation to save a bank account.");
    }
    let (behaviour, code) = outcome.stored();
    Ok(NewSaved {
        kind: method,
        label,
        last4: last4(number),
        exp: None,
        behaviour,
        code,
    })
}

pub(super) async fn save_on_setup_page(
    State(state): State<ServerState>,
    SignedIn(caller): SignedIn,
    Path(id): Path<String>,
    Form(form): Form<PayForm>,
) -> Response {
    let currency = match open_setup(&state, &caller, &id).await {
        Ok(currency) => currency,
        Err(response) => return response,
    };
    let saved = match parse_setup(&form, currency) {
        Ok(saved) => saved,
        Err(message) => return setup_page(currency, Some(message)),
    };
    let method_id = random_id("pm");
    let setup_intent = random_id("seti");
    let recorded = sqlx::query(
        "INSERT INTO sandbox_saved_methods (id, setup_intent, kind, label, last4, exp_month, \
         exp_year, behaviour, code) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&method_id)
    .bind(&setup_intent)
    .bind(saved.kind.as_str())
    .bind(&saved.label)
    .bind(&saved.last4)
    .bind(saved.exp.map(|(month, _)| month))
    .bind(saved.exp.map(|(_, year)| year))
    .bind(saved.behaviour)
    .bind(saved.code)
    .execute(state.app.db.write_pool())
    .await;
    if let Err(e) = recorded {
        tracing::error!("the sandbox could not save a method: {e}");
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    let completed = event(
        "checkout.session.completed",
        json!({
            "id": format!("cs_sandbox_{id}"), "object": "checkout.session", "mode": "setup",
            "status": "complete", "setup_intent": setup_intent,
            "customer": format!("cus_sandbox_{}", caller.customer_id.unwrap_or_default()),
            "metadata": { SETUP_METADATA_KEY: id },
        }),
    );
    match deliver(
        state.app.payments.as_ref(),
        &state.app.db,
        &state.webhook_secret,
        completed,
    )
    .await
    {
        Ok(()) => Redirect::to(&format!("/autopay?saved={id}")).into_response(),
        Err(e) => {
            tracing::error!("sandbox setup event delivery failed: {e}");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "The payment method could not be saved; please try again.",
            )
                .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_cards_save_or_refuse_like_stripe_test_mode() {
        assert_eq!(saved_card("4242 4242 4242 4242"), Ok(SavedCard::Succeeds));
        assert_eq!(
            saved_card("4000000000000341"),
            Ok(SavedCard::Declines("generic_decline"))
        );
        assert_eq!(
            saved_card("4000 0027 6000 3184"),
            Ok(SavedCard::Authenticates)
        );
        assert!(saved_card("4000000000000002").is_err());
        assert!(saved_card("1234").is_err());
    }

    #[test]
    fn an_expiry_is_a_month_and_a_year_not_in_the_past() {
        assert_eq!(expiry("12 / 99"), Some((12, 2099)));
        assert_eq!(expiry("1/2099"), Some((1, 2099)));
        assert_eq!(expiry("13 / 99"), None);
        assert_eq!(expiry("01 / 20"), None);
        assert_eq!(expiry("soon"), None);
    }
}
