//! The pay flow in the database: review the customer's choice, open a checkout, apply credit
//! first, and read a checkout back. Provider events settle it in the settlement module.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{Any, AnyConnection, Row, Transaction};

use super::{
    CHECKOUT_LIFETIME_MINUTES, CheckoutError, CheckoutStatus, CheckoutView, MAXIMUM_CHARGE_MINOR,
    MAXIMUM_INVOICES, MINIMUM_CHARGE_MINOR, PayItem, PaymentInProgress, PaymentReview, ReviewLine,
    methods_for,
};
use crate::db::{Db, DbError, MaybeDay, now_text, parse_date};
use crate::keys;
use crate::money::{Currency, Money};
use crate::payments::store::open_invoice;
use crate::payments::{AllocationRule, PaymentMethod, plan_allocation};
use crate::receivables::due_now;
use crate::receivables::store::{
    CashError, change_pending_amount, due_invoices, lock_checkout_customer, lock_customer,
    unapplied_credit_in,
};

#[derive(Debug, thiserror::Error)]
pub enum CheckoutStoreError {
    #[error(transparent)]
    Refused(#[from] CheckoutError),
    #[error(transparent)]
    Cash(#[from] CashError),
    #[error(
        "a refund on {payment_reference} exceeds what its payment settled and left as credit by {unplaced_minor} minor units"
    )]
    RefundBeyondPayment {
        payment_reference: String,
        unplaced_minor: i64,
    },
    #[error(
        "the bank returned {payment_reference}, but the credit it left was spent meanwhile: {missing_minor} minor units short"
    )]
    ReturnBeyondCredit {
        payment_reference: String,
        missing_minor: i64,
    },
    #[error(transparent)]
    Db(#[from] DbError),
}

crate::from_sqlx_error!(CheckoutStoreError);

/// Checks the customer's choice against the invoices as they are now and computes where the
/// money goes, discounts included, and how it can be paid. Nothing is written.
pub async fn review(
    db: &Db,
    customer_id: i64,
    items: &[PayItem],
    today: NaiveDate,
) -> Result<PaymentReview, CheckoutStoreError> {
    let mut conn = db.pool().acquire().await?;
    review_on(&mut conn, customer_id, items, today).await
}

/// [`review`] on one connection: the pool's for a page, the write transaction (under the
/// customer lock) when the checkout is about to be recorded.
pub(crate) async fn review_on(
    conn: &mut AnyConnection,
    customer_id: i64,
    items: &[PayItem],
    today: NaiveDate,
) -> Result<PaymentReview, CheckoutStoreError> {
    if items.is_empty() {
        return Err(CheckoutError::NothingSelected.into());
    }
    if items.len() > MAXIMUM_INVOICES {
        return Err(CheckoutError::TooManyInvoices.into());
    }
    let mut seen = std::collections::BTreeSet::new();
    if !items.iter().all(|i| seen.insert(i.invoice_id)) {
        return Err(CheckoutError::DuplicateInvoice.into());
    }
    let customer = sqlx::query(
        "SELECT c.currency, COALESCE(c.card_limit_minor, l.limit_minor) AS card_limit, \
                (SELECT MIN(b.effective_at) FROM bank_account_changes b \
                 WHERE b.currency = c.currency AND b.withdrawn_at IS NULL) AS transfers_since \
         FROM customers c LEFT JOIN card_limits l ON l.currency = c.currency WHERE c.id = $1",
    )
    .bind(customer_id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(CashError::UnknownCustomer(customer_id))?;
    let currency = crate::db::currency(&customer.try_get::<String, _>("currency")?)?;
    let card_limit_minor: Option<i64> = customer.try_get("card_limit")?;
    // A receiving account in the currency makes bank transfers possible, whatever the amount.
    let bank_transfer = customer
        .try_get::<Option<String>, _>("transfers_since")?
        .is_some_and(|since| since <= crate::db::now_text());
    let mut invoices = Vec::with_capacity(items.len());
    let mut facts = Vec::with_capacity(items.len());
    for item in items {
        let row = sqlx::query(
            "SELECT id, number, due_date, total_minor, open_minor, held_minor, pending_minor, \
                    discount_bp, discount_until, voided_at \
             FROM invoices WHERE id = $1 AND customer_id = $2",
        )
        .bind(item.invoice_id)
        .bind(customer_id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(CheckoutError::UnknownInvoice(item.invoice_id))?;
        let number: String = row.try_get("number")?;
        let invoice = open_invoice(&row)?;
        if row.try_get::<Option<String>, _>("voided_at")?.is_some() || invoice.open_minor == 0 {
            return Err(CheckoutError::NotPayable(number).into());
        }
        if item.amount_minor <= 0 {
            return Err(CheckoutError::NotPositive { number }.into());
        }
        if item.amount_minor > invoice.open_minor {
            return Err(CheckoutError::MoreThanOpen { number }.into());
        }
        // What open disputes hold is not due, nor what is already on its way (another tab's
        // checkout, a processing debit); the rest of the invoice stays payable.
        let held: i64 = row.try_get("held_minor")?;
        let pending: i64 = row.try_get("pending_minor")?;
        let payable = due_now(invoice.open_minor, held, pending);
        if item.amount_minor > payable {
            let payable = Money::from_minor(payable, currency);
            return Err(if pending > 0 {
                CheckoutError::InProgress {
                    number,
                    in_progress: Money::from_minor(pending, currency),
                    payable,
                }
            } else {
                CheckoutError::InDispute { number, payable }
            }
            .into());
        }
        facts.push((number, parse_date(&row.try_get::<String, _>("due_date")?)?));
        invoices.push(invoice);
    }
    let parts = items
        .iter()
        .map(|i| (i.invoice_id, Money::from_minor(i.amount_minor, currency)))
        .collect();
    let asked: i64 = items.iter().map(|i| i.amount_minor).sum();
    let plan = plan_allocation(
        asked,
        currency,
        &invoices,
        &AllocationRule::Explicit(parts),
        today,
        true,
    );
    let lines: Vec<ReviewLine> = invoices
        .iter()
        .zip(facts)
        .map(|(invoice, (number, due_date))| {
            let planned = plan.allocations.iter().find(|a| a.invoice_id == invoice.id);
            ReviewLine {
                invoice_id: invoice.id,
                number,
                due_date,
                open_minor: invoice.open_minor,
                pay_minor: planned.map_or(0, |a| a.amount_minor),
                discount_minor: planned.map_or(0, |a| a.discount_minor),
            }
        })
        .collect();
    let total_minor: i64 = lines.iter().map(|l| l.pay_minor).sum();
    if total_minor < MINIMUM_CHARGE_MINOR {
        return Err(CheckoutError::BelowMinimum {
            minimum: Money::from_minor(MINIMUM_CHARGE_MINOR, currency),
        }
        .into());
    }
    if total_minor > MAXIMUM_CHARGE_MINOR {
        return Err(CheckoutError::AboveMaximum {
            maximum: Money::from_minor(MAXIMUM_CHARGE_MINOR, currency),
        }
        .into());
    }
    let methods = methods_for(currency, total_minor, card_limit_minor);
    if methods.is_empty() && !bank_transfer {
        return Err(CheckoutError::AboveCardLimit {
            limit: Money::from_minor(card_limit_minor.unwrap_or_default(), currency),
            currency,
        }
        .into());
    }
    let unapplied_credit_minor = unapplied_credit_in(&mut *conn, customer_id, currency)
        .await?
        .to_minor();
    Ok(PaymentReview {
        currency,
        lines,
        total_minor,
        unapplied_credit_minor,
        methods,
        card_limit_minor,
        bank_transfer,
    })
}

/// Whose card limit a setting changes: the default of a currency, or one customer's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardLimitOf<'a> {
    Currency(Currency),
    /// By customer number; the amount is in the customer's currency.
    Customer(&'a str),
}

/// Sets (or with `None` removes) the largest amount a payment may have to be offered by card;
/// above it only the currency's bank debit is offered. `amount` is decimal text in the
/// currency of the setting. Returns the currency the limit is in.
pub async fn set_card_limit(
    db: &Db,
    of: CardLimitOf<'_>,
    amount: Option<&str>,
) -> Result<Currency, CheckoutStoreError> {
    let (currency, customer_id) = match of {
        CardLimitOf::Currency(currency) => (currency, None),
        CardLimitOf::Customer(number) => {
            let (id, currency) = crate::customers::store::customer_by_number(db.pool(), number)
                .await?
                .ok_or_else(|| CheckoutError::UnknownCustomerNumber(number.to_string()))?;
            (currency, Some(id))
        }
    };
    let limit = amount
        .map(|text| {
            Money::parse(text, currency)
                .ok()
                .map(Money::to_minor)
                .filter(|minor| *minor > 0)
                .ok_or_else(|| CheckoutError::CardLimit(text.to_string()))
        })
        .transpose()?;
    match (customer_id, limit) {
        (Some(id), limit) => {
            sqlx::query("UPDATE customers SET card_limit_minor = $1 WHERE id = $2")
                .bind(limit)
                .bind(id)
                .execute(db.write_pool())
                .await?;
        }
        (None, Some(limit)) => {
            sqlx::query(
                "INSERT INTO card_limits (currency, limit_minor) VALUES ($1, $2) \
                 ON CONFLICT (currency) DO UPDATE SET limit_minor = excluded.limit_minor",
            )
            .bind(currency.code())
            .bind(limit)
            .execute(db.write_pool())
            .await?;
        }
        (None, None) => {
            sqlx::query("DELETE FROM card_limits WHERE currency = $1")
                .bind(currency.code())
                .execute(db.write_pool())
                .await?;
        }
    }
    Ok(currency)
}

fn new_checkout_id() -> String {
    format!("lp_{}", crate::secrets::random_hex(12))
}

/// A checkout just recorded: its id, the review it charges, and when its hosted page closes.
#[derive(Debug, Clone)]
pub struct OpenedCheckout {
    pub id: String,
    pub review: PaymentReview,
    pub expires_at: DateTime<Utc>,
}

/// Reviews again and records the checkout the provider will be asked to collect. Under the
/// customer lock, so two tabs cannot both ask for the same amount: what this checkout settles
/// (payment and discount) is pending on its invoices until it succeeds, fails or expires.
pub async fn open_checkout(
    db: &Db,
    customer_id: i64,
    user_id: i64,
    provider: &str,
    items: &[PayItem],
    today: NaiveDate,
) -> Result<OpenedCheckout, CheckoutStoreError> {
    let mut tx = db.begin_write().await?;
    lock_customer(&mut tx, db.engine(), customer_id).await?;
    let review = review_on(&mut tx, customer_id, items, today).await?;
    if review.methods.is_empty() {
        return Err(CheckoutError::TransferOnly {
            limit: Money::from_minor(review.card_limit_minor.unwrap_or_default(), review.currency),
        }
        .into());
    }
    let expires_at = Utc::now() + chrono::Duration::minutes(CHECKOUT_LIFETIME_MINUTES);
    let id = insert_checkout(
        &mut tx,
        &NewCheckout {
            customer_id,
            user_id,
            provider,
            review: &review,
            status: CheckoutStatus::Open,
            methods: &review.methods,
            method: None,
            expires_at,
            expected_on: None,
            reference: None,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(OpenedCheckout {
        id,
        review,
        expires_at,
    })
}

/// A checkout about to be recorded from its review, inside the customer's write transaction.
pub(crate) struct NewCheckout<'a> {
    pub customer_id: i64,
    pub user_id: i64,
    pub provider: &'a str,
    pub review: &'a PaymentReview,
    /// Open on a hosted page, or processing (an announced transfer).
    pub status: CheckoutStatus,
    pub methods: &'a [PaymentMethod],
    /// Known at once for a transfer; a hosted page learns it from the provider later.
    pub method: Option<PaymentMethod>,
    /// When it stops holding its invoices back without a word from the payer.
    pub expires_at: DateTime<Utc>,
    pub expected_on: Option<NaiveDate>,
    /// An announced transfer's creditor reference.
    pub reference: Option<&'a str>,
}

/// Records a checkout and holds what it settles (payment and discount) as pending on its
/// invoices. Returns its id.
pub(crate) async fn insert_checkout(
    tx: &mut Transaction<'_, Any>,
    new: &NewCheckout<'_>,
) -> Result<String, DbError> {
    let id = new_checkout_id();
    let allocations: Vec<PayItem> = new
        .review
        .lines
        .iter()
        .map(|l| PayItem {
            invoice_id: l.invoice_id,
            amount_minor: l.pay_minor,
        })
        .collect();
    let in_flight: Vec<PayItem> = new
        .review
        .lines
        .iter()
        .map(|l| PayItem {
            invoice_id: l.invoice_id,
            amount_minor: l.pay_minor + l.discount_minor,
        })
        .collect();
    sqlx::query(
        "INSERT INTO checkouts (id, customer_id, user_id, provider, currency, amount_minor, \
         allocations, in_flight, expires_at, methods, status, method, expected_on, reference, \
         created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15)",
    )
    .bind(&id)
    .bind(new.customer_id)
    .bind(new.user_id)
    .bind(new.provider)
    .bind(new.review.currency.code())
    .bind(new.review.total_minor)
    .bind(PayItem::list_text(&allocations))
    .bind(PayItem::list_text(&in_flight))
    .bind(crate::db::timestamp_text(new.expires_at))
    .bind(
        new.methods
            .iter()
            .map(|m| m.as_str())
            .collect::<Vec<_>>()
            .join(","),
    )
    .bind(new.status.as_str())
    .bind(new.method.map(PaymentMethod::as_str))
    .bind(new.expected_on.map(crate::db::date_text))
    .bind(new.reference)
    .bind(now_text())
    .execute(&mut **tx)
    .await?;
    for item in &in_flight {
        change_pending_amount(tx, item.invoice_id, item.amount_minor).await?;
    }
    Ok(id)
}

/// Moves a checkout out of flight (open or processing) into `status`, releasing what it had
/// made pending on its invoices. Conditional on the current status, so the release happens
/// once however many events race; returns whether this call did it.
pub(crate) async fn leave_flight(
    tx: &mut Transaction<'_, Any>,
    checkout_id: &str,
    status: CheckoutStatus,
    message: &str,
) -> Result<bool, DbError> {
    let left = sqlx::query(
        "UPDATE checkouts SET status = $1, failure_message = $2, updated_at = $3 \
         WHERE id = $4 AND status IN ('open', 'processing') RETURNING in_flight",
    )
    .bind(status.as_str())
    .bind(message)
    .bind(now_text())
    .bind(checkout_id)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(row) = left else {
        return Ok(false);
    };
    change_pending_of(tx, &row.try_get::<String, _>(0)?, Pending::Release).await?;
    Ok(true)
}

/// A checkout's in-flight amounts (its `in_flight` column) as items.
pub(crate) fn in_flight_items(text: &str) -> Result<Vec<PayItem>, DbError> {
    PayItem::parse_list(text)
        .ok_or_else(|| DbError::Corrupt(format!("checkout in-flight amounts {text:?}")))
}

/// Whether a checkout's amounts start or stop being pending on their invoices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pending {
    Hold,
    Release,
}

/// Holds or releases a checkout's in-flight amounts on their invoices.
pub(crate) async fn change_pending_of(
    tx: &mut Transaction<'_, Any>,
    in_flight: &str,
    change: Pending,
) -> Result<(), DbError> {
    for item in in_flight_items(in_flight)? {
        let delta = match change {
            Pending::Hold => item.amount_minor,
            Pending::Release => -item.amount_minor,
        };
        change_pending_amount(tx, item.invoice_id, delta).await?;
    }
    Ok(())
}

/// The customer closes a checkout still open on the provider's page (the provider is asked
/// first: its page must no longer take the money) or withdraws an announced transfer; its
/// invoices are due again.
pub async fn cancelled_checkout(db: &Db, checkout_id: &str) -> Result<bool, CheckoutStoreError> {
    let mut tx = db.begin_write().await?;
    lock_checkout_customer(&mut tx, db.engine(), checkout_id).await?;
    let transfer: Option<String> =
        sqlx::query_scalar("SELECT reference FROM checkouts WHERE id = $1")
            .bind(checkout_id)
            .fetch_optional(&mut *tx)
            .await?
            .flatten();
    let message = match transfer {
        Some(_) => {
            "You withdrew this transfer; its invoices are due again. If you sent the money anyway, it is applied when it arrives."
        }
        None => "You cancelled this payment; nothing was charged.",
    };
    let left = leave_flight(&mut tx, checkout_id, CheckoutStatus::Expired, message).await?;
    tx.commit().await?;
    Ok(left)
}

/// How a checkout this customer may still cancel is closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cancellable {
    /// Open on the provider's page: the provider closes this session first.
    Hosted(String),
    /// An announced transfer: only the portal knows of it.
    Transfer,
}

/// Whether this customer may still cancel a checkout: open on the provider's page (not
/// submitted there), or an announced transfer whose money has not arrived.
pub async fn cancellable(
    db: &Db,
    customer_id: i64,
    checkout_id: &str,
) -> Result<Cancellable, CheckoutStoreError> {
    let row: Option<(String, Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT status, provider_session_id, reference FROM checkouts \
         WHERE id = $1 AND customer_id = $2",
    )
    .bind(checkout_id)
    .bind(customer_id)
    .fetch_optional(db.pool())
    .await?;
    match row {
        None => Err(CheckoutError::UnknownCheckout.into()),
        Some((status, _, Some(_))) if status == CheckoutStatus::Processing.as_str() => {
            Ok(Cancellable::Transfer)
        }
        Some((status, Some(session), None)) if status == CheckoutStatus::Open.as_str() => {
            Ok(Cancellable::Hosted(session))
        }
        Some(_) => Err(CheckoutError::NotCancellable.into()),
    }
}

/// Checkouts that stopped holding their invoices back without a word: open ones whose hosted
/// page closed more than a minute ago (the provider's own `expired` event, if it comes, then
/// changes nothing), and announced transfers whose waiting days are over (their invoices are
/// due and reminded again). A late payment still posts: money is never dropped. Returns how
/// many were closed.
pub async fn expire_stale_checkouts(
    db: &Db,
    now: DateTime<Utc>,
) -> Result<u64, CheckoutStoreError> {
    let page_cutoff = crate::db::timestamp_text(now - chrono::Duration::minutes(1));
    let stale: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT id, reference FROM checkouts WHERE expires_at <> '' AND \
         ((status = 'open' AND expires_at < $1) \
          OR (status = 'processing' AND reference IS NOT NULL AND expires_at < $2)) \
         ORDER BY expires_at LIMIT 500",
    )
    .bind(page_cutoff)
    .bind(crate::db::timestamp_text(now))
    .fetch_all(db.pool())
    .await?;
    let mut closed = 0;
    for (id, reference) in stale {
        let message = match reference {
            Some(reference) => format!(
                "No transfer with reference {} has arrived; its invoices are due again. \
                 If you sent it, it is applied when it arrives.",
                crate::transfers::CreditorReference::parse(&reference)
                    .map_or(reference, |r| r.to_string())
            ),
            None => "The payment page expired.".to_string(),
        };
        let mut tx = db.begin_write().await?;
        lock_checkout_customer(&mut tx, db.engine(), &id).await?;
        if leave_flight(&mut tx, &id, CheckoutStatus::Expired, &message).await? {
            closed += 1;
        }
        tx.commit().await?;
    }
    Ok(closed)
}

/// The payments on their way for one invoice of this customer.
pub async fn in_progress_for(
    conn: &mut AnyConnection,
    customer_id: i64,
    invoice_id: i64,
) -> Result<Vec<PaymentInProgress>, DbError> {
    let rows: Vec<InFlightRow> = sqlx::query_as(
        "SELECT id, status, method, in_flight, expected_on FROM checkouts \
         WHERE customer_id = $1 AND status IN ('open', 'processing') ORDER BY created_at",
    )
    .bind(customer_id)
    .fetch_all(&mut *conn)
    .await?;
    let mut found = Vec::new();
    for row in rows {
        let items = in_flight_items(&row.in_flight)?;
        if let Some(item) = items.iter().find(|i| i.invoice_id == invoice_id) {
            found.push(PaymentInProgress {
                checkout_id: row.id,
                status: row.status,
                method: stored_method(row.method.as_deref())?,
                amount_minor: item.amount_minor,
                expected_on: row.expected_on,
            });
        }
    }
    Ok(found)
}

/// What this customer's announced bank transfers carry, per invoice.
pub async fn announced_amounts(
    db: &Db,
    customer_id: i64,
) -> Result<std::collections::HashMap<i64, i64>, DbError> {
    let carried: Vec<String> = sqlx::query_scalar(
        "SELECT in_flight FROM checkouts \
         WHERE customer_id = $1 AND status = 'processing' AND reference IS NOT NULL",
    )
    .bind(customer_id)
    .fetch_all(db.pool())
    .await?;
    let mut announced = std::collections::HashMap::new();
    for text in carried {
        for item in in_flight_items(&text)? {
            *announced.entry(item.invoice_id).or_insert(0) += item.amount_minor;
        }
    }
    Ok(announced)
}

#[derive(sqlx::FromRow)]
struct InFlightRow {
    id: String,
    #[sqlx(try_from = "String")]
    status: CheckoutStatus,
    method: Option<String>,
    in_flight: String,
    #[sqlx(try_from = "MaybeDay")]
    expected_on: Option<NaiveDate>,
}

/// Remembers the provider's session for a checkout (for reconciliation and support).
pub async fn attach_provider_session(
    db: &Db,
    checkout_id: &str,
    session_id: &str,
) -> Result<(), DbError> {
    sqlx::query("UPDATE checkouts SET provider_session_id = $1, updated_at = $2 WHERE id = $3")
        .bind(session_id)
        .bind(now_text())
        .bind(checkout_id)
        .execute(db.write_pool())
        .await?;
    Ok(())
}

/// A checkout of this customer, without a transfer's instructions (the payment page reads it
/// through `transfers::store::payment_view`).
pub async fn checkout_view(
    db: &Db,
    customer_id: i64,
    checkout_id: &str,
) -> Result<Option<CheckoutView>, DbError> {
    let row: Option<ViewRow> = sqlx::query_as(
        "SELECT id, status, currency, amount_minor, failure_message, payment_id, method, \
         methods, expected_on FROM checkouts WHERE id = $1 AND customer_id = $2",
    )
    .bind(checkout_id)
    .bind(customer_id)
    .fetch_optional(db.pool())
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let methods = row
        .methods
        .split(',')
        .map(|m| {
            PaymentMethod::parse(m).ok_or_else(|| DbError::Corrupt(format!("payment method {m:?}")))
        })
        .collect::<Result<_, _>>()?;
    Ok(Some(CheckoutView {
        method: stored_method(row.method.as_deref())?,
        methods,
        id: row.id,
        status: row.status,
        currency: row.currency,
        amount_minor: row.amount_minor,
        failure_message: row.failure_message,
        payment_id: row.payment_id,
        expected_on: row.expected_on,
        // The transfer module (built on this one) adds an announced transfer's instructions.
        transfer: None,
    }))
}

/// A checkout's method column: empty until the provider says how the customer paid.
pub(crate) fn stored_method(text: Option<&str>) -> Result<Option<PaymentMethod>, DbError> {
    text.map(|t| {
        PaymentMethod::parse(t).ok_or_else(|| DbError::Corrupt(format!("payment method {t:?}")))
    })
    .transpose()
}

#[derive(sqlx::FromRow)]
struct ViewRow {
    id: String,
    #[sqlx(try_from = "String")]
    status: CheckoutStatus,
    #[sqlx(try_from = "String")]
    currency: Currency,
    amount_minor: i64,
    failure_message: String,
    payment_id: Option<i64>,
    method: Option<String>,
    methods: String,
    #[sqlx(try_from = "MaybeDay")]
    expected_on: Option<NaiveDate>,
}

/// The open invoices among `invoice_ids` (all open invoices when empty), each at what is due
/// now (open less what disputes hold): the starting point of the pay page.
pub async fn full_amounts(
    db: &Db,
    customer_id: i64,
    invoice_ids: &[i64],
) -> Result<Vec<PayItem>, DbError> {
    Ok(due_invoices(db.pool(), customer_id, invoice_ids)
        .await?
        .into_iter()
        .map(|d| PayItem {
            invoice_id: d.invoice_id,
            amount_minor: d.due_minor,
        })
        .collect())
}

/// "Pay everything due": each open invoice not on a payment plan at what is due on it now, and
/// what the active plan's instalments ask for now, spread over its invoices oldest first
/// (`plans::store::ActivePlan::due_now_items`). Instalments not yet due are left out; the
/// customer may still pay ahead by choosing a plan's invoice.
pub async fn everything_due(
    db: &Db,
    customer_id: i64,
    today: NaiveDate,
) -> Result<Vec<PayItem>, DbError> {
    let mut conn = db.pool().acquire().await?;
    let plan = crate::plans::store::active_plan(&mut conn, customer_id, today).await?;
    let mut items: Vec<PayItem> = due_invoices(&mut *conn, customer_id, &[])
        .await?
        .into_iter()
        .filter(|d| {
            plan.as_ref()
                .is_none_or(|p| !p.invoices.iter().any(|(id, _)| *id == d.invoice_id))
        })
        .map(|d| PayItem {
            invoice_id: d.invoice_id,
            amount_minor: d.due_minor,
        })
        .collect();
    if let Some(plan) = plan {
        items.extend(
            plan.due_now_items()
                .into_iter()
                .map(|(invoice_id, amount_minor)| PayItem {
                    invoice_id,
                    amount_minor,
                }),
        );
    }
    Ok(items)
}

/// Pays the chosen invoices from the customer's unapplied credit first, in the order given,
/// each up to its chosen amount and to what is due now on it. Returns what is left for the card
/// (invoices the credit did not cover, at their remaining amounts).
pub async fn apply_credit_first(
    db: &Db,
    customer_id: i64,
    items: &[PayItem],
    today: NaiveDate,
) -> Result<Vec<PayItem>, CheckoutStoreError> {
    use crate::payments::AllocationRule;
    // Every invoice named must be this customer's (one query; ids are numbers, so literals).
    let ids: Vec<i64> = items.iter().map(|i| i.invoice_id).collect();
    let list = ids
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let ours: Vec<i64> = if ids.is_empty() {
        Vec::new()
    } else {
        sqlx::query(&format!(
            "SELECT id FROM invoices WHERE customer_id = $1 AND id IN ({list})"
        ))
        .bind(customer_id)
        .fetch_all(db.pool())
        .await?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<_, _>>()?
    };
    if let Some(unknown) = ids.iter().find(|id| !ours.contains(id)) {
        return Err(CheckoutError::UnknownInvoice(*unknown).into());
    }
    // Read what is due and the credit under the customer lock, in the transaction that uses
    // them, so two tabs cannot both spend the same credit.
    let mut tx = db.begin_write().await?;
    let currency = lock_customer(&mut tx, db.engine(), customer_id).await?;
    let due = due_invoices(&mut *tx, customer_id, &ids).await?;
    let mut credit = unapplied_credit_in(&mut *tx, customer_id, currency)
        .await?
        .to_minor();
    let mut parts = Vec::new();
    for item in items {
        let payable = due
            .iter()
            .find(|d| d.invoice_id == item.invoice_id)
            .map_or(0, |d| d.due_minor);
        let used = item.amount_minor.min(payable).min(credit).max(0);
        if used > 0 {
            credit -= used;
            parts.push((item.invoice_id, Money::from_minor(used, currency)));
        }
    }
    if parts.is_empty() {
        return Err(CheckoutError::NoCredit.into());
    }
    let total = parts.iter().map(|(_, m)| m.to_minor()).sum();
    let applied = crate::payments::store::apply_credit_in(
        &mut tx,
        db.engine(),
        customer_id,
        &keys::portal_credit(&crate::secrets::random_hex(12)),
        Some(Money::from_minor(total, currency)),
        &AllocationRule::Explicit(parts),
        today,
    )
    .await?;
    tx.commit().await?;
    Ok(items
        .iter()
        .filter_map(|item| {
            let settled: i64 = applied
                .iter()
                .filter(|a| a.invoice_id == item.invoice_id)
                .map(|a| a.amount_minor + a.discount_minor)
                .sum();
            let left = item.amount_minor - settled;
            (left > 0).then_some(PayItem {
                invoice_id: item.invoice_id,
                amount_minor: left,
            })
        })
        .collect())
}

#[cfg(all(test, feature = "test-support"))]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::testing::fixtures::demo_acme;
    use crate::testing::fresh_db;

    fn today() -> NaiveDate {
        Utc::now().date_naive()
    }

    #[tokio::test]
    async fn the_review_grants_the_discount_only_for_a_full_payment_inside_the_window() {
        let db = fresh_db().await;
        let (customer, _, open) = demo_acme(&db).await;
        // The newest invoice was issued 5 days ago on 2/10 net 30.
        let (newest, newest_open) = *open.last().unwrap();
        let full = review(
            &db,
            customer,
            &[PayItem {
                invoice_id: newest,
                amount_minor: newest_open,
            }],
            today(),
        )
        .await
        .unwrap();
        let line = &full.lines[0];
        assert!(line.discount_minor > 0);
        assert_eq!(line.pay_minor + line.discount_minor, newest_open);
        assert_eq!(full.total_minor, line.pay_minor);
        let partial = review(
            &db,
            customer,
            &[PayItem {
                invoice_id: newest,
                amount_minor: 1_000,
            }],
            today(),
        )
        .await
        .unwrap();
        assert_eq!(
            (partial.lines[0].pay_minor, partial.lines[0].discount_minor),
            (1_000, 0)
        );
    }

    #[tokio::test]
    async fn the_review_refuses_too_much_too_little_and_other_accounts_invoices() {
        let db = fresh_db().await;
        let (customer, _, open) = demo_acme(&db).await;
        let (id, amount) = open[0];
        let too_much = review(
            &db,
            customer,
            &[PayItem {
                invoice_id: id,
                amount_minor: amount + 1,
            }],
            today(),
        )
        .await;
        assert!(matches!(
            too_much,
            Err(CheckoutStoreError::Refused(
                CheckoutError::MoreThanOpen { .. }
            ))
        ));
        let too_little = review(
            &db,
            customer,
            &[PayItem {
                invoice_id: id,
                amount_minor: 10,
            }],
            today(),
        )
        .await;
        assert!(matches!(
            too_little,
            Err(CheckoutStoreError::Refused(
                CheckoutError::BelowMinimum { .. }
            ))
        ));
        let negative = review(
            &db,
            customer,
            &[PayItem {
                invoice_id: id,
                amount_minor: -5,
            }],
            today(),
        )
        .await;
        assert!(matches!(
            negative,
            Err(CheckoutStoreError::Refused(
                CheckoutError::NotPositive { .. }
            ))
        ));
        let northwind: i64 = sqlx::query("SELECT min(i.id) FROM invoices i JOIN customers c ON c.id = i.customer_id WHERE c.number = 'C-1002'")
            .fetch_one(db.pool())
            .await
            .unwrap()
            .get(0);
        let foreign = review(
            &db,
            customer,
            &[PayItem {
                invoice_id: northwind,
                amount_minor: 100,
            }],
            today(),
        )
        .await;
        assert!(matches!(
            foreign,
            Err(CheckoutStoreError::Refused(CheckoutError::UnknownInvoice(
                _
            )))
        ));
    }

    #[tokio::test]
    async fn above_the_card_limit_only_the_bank_debit_is_offered_and_without_one_the_review_says_so()
     {
        use crate::payments::PaymentMethod;
        let db = fresh_db().await;
        let (customer, _, open) = demo_acme(&db).await;
        let (id, amount) = open[0];
        let item = [PayItem {
            invoice_id: id,
            amount_minor: amount,
        }];
        let before = review(&db, customer, &item, today()).await.unwrap();
        assert_eq!(
            before.methods,
            vec![PaymentMethod::Card, PaymentMethod::Ach]
        );
        set_card_limit(&db, CardLimitOf::Currency(Currency::Usd), Some("1.00"))
            .await
            .unwrap();
        let limited = review(&db, customer, &item, today()).await.unwrap();
        assert_eq!(limited.methods, vec![PaymentMethod::Ach]);
        assert_eq!(limited.card_limit_minor, Some(100));
        // The customer's own limit wins over the currency's.
        set_card_limit(&db, CardLimitOf::Customer("C-1001"), Some("1000000"))
            .await
            .unwrap();
        let own = review(&db, customer, &item, today()).await.unwrap();
        assert_eq!(own.methods, vec![PaymentMethod::Card, PaymentMethod::Ach]);
        assert!(matches!(
            set_card_limit(&db, CardLimitOf::Customer("C-1001"), Some("0")).await,
            Err(CheckoutStoreError::Refused(CheckoutError::CardLimit(_)))
        ));
    }
}
