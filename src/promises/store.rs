//! Promises to pay in the database: making one (under the customer lock, so two promises never
//! cover one invoice), withdrawing it, the reads the pages show, and the review job that closes
//! promises as kept or broken. Each change is audited and announced in its own transaction; the
//! conditional status update is the claim, so several server instances close a promise once.

use chrono::NaiveDate;
use sqlx::{Any, FromRow, Transaction};

use super::{
    BROKEN_PROMISE_DAYS, NewPromise, PromisableInvoice, PromiseDraft, PromiseFigures, PromiseOffer,
    PromiseReview, PromiseStatus, PromiseView,
};
use crate::audit::Actor;
use crate::customers::store::name_in;
use crate::db::{Day, Db, DbError, MaybeDay, date_text, now_text};
use crate::invoices::draft::FieldError;
use crate::locale::{Explain, Locale};
use crate::money::{Currency, Money};
use crate::outbox::store::{
    email_day, queue_in_their_language, queue_to_each, queue_to_staff, staff_emails,
};
use crate::receivables::store::{CashError, lock_customer};
use crate::receivables::{DUE_NOW_SQL, HELD_OF_OPEN_SQL, ON_OPEN_PLAN_SQL};
use crate::tr;

#[derive(Debug, thiserror::Error)]
pub enum PromiseStoreError {
    #[error("{}", self.explain(Locale::En))]
    Invalid(Vec<FieldError>),
    #[error("{}", self.explain(Locale::En))]
    NotFound,
    #[error("{}", self.explain(Locale::En))]
    UnknownCustomer,
    #[error("{}", self.explain(Locale::En))]
    NobodyToTell,
    #[error("{}", self.explain(Locale::En))]
    DayPassed,
    #[error("{}", self.explain(Locale::En))]
    Closed(PromiseStatus),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl Explain for PromiseStoreError {
    fn explain(&self, locale: Locale) -> String {
        let text = match self {
            // Written in the form's language as they were found.
            PromiseStoreError::Invalid(problems) => {
                return crate::invoices::draft::describe(problems);
            }
            PromiseStoreError::NotFound => locale.pick(
                "there is no such promise on your account",
                "diese Zahlungszusage gibt es auf Ihrem Konto nicht",
            ),
            PromiseStoreError::UnknownCustomer => locale.pick(
                "your customer account no longer exists",
                "Ihr Kundenkonto besteht nicht mehr",
            ),
            PromiseStoreError::NobodyToTell => locale.pick(
                "the account has nobody to write to: add a billing contact or a payer first, so the customer gets the promise in writing",
                "für das Konto gibt es niemanden, dem wir schreiben können: Fügen Sie zuerst einen Rechnungskontakt oder Zahler hinzu, damit der Kunde die Zusage schriftlich erhält",
            ),
            PromiseStoreError::DayPassed => locale.pick(
                "the day of this promise has passed: it is kept or broken by what came in, and can no longer be withdrawn",
                "der Tag dieser Zusage ist vorbei: Ob sie eingehalten wurde, entscheidet der Zahlungseingang, und sie kann nicht mehr zurückgezogen werden",
            ),
            PromiseStoreError::Closed(status) => {
                let status = status.label_in(locale).to_lowercase();
                return locale.pick(
                    format!("this promise is already {status}"),
                    format!("diese Zusage ist bereits {status}"),
                );
            }
            PromiseStoreError::Db(e) => return e.to_string(),
        };
        text.into()
    }
}

crate::from_sqlx_error!(PromiseStoreError);

impl From<CashError> for PromiseStoreError {
    fn from(e: CashError) -> Self {
        match e {
            CashError::Db(e) => PromiseStoreError::Db(e),
            CashError::UnknownCustomer(_) => PromiseStoreError::UnknownCustomer,
            other => PromiseStoreError::Db(DbError::Corrupt(other.to_string())),
        }
    }
}

/// A promise matching `condition` (over `p`) covers the invoice aliased `i`.
pub(crate) fn covered_by_promise(condition: &str) -> String {
    format!(
        "EXISTS (SELECT 1 FROM payment_promise_invoices pi \
         JOIN payment_promises p ON p.id = pi.promise_id \
         WHERE pi.invoice_id = i.id AND {condition})"
    )
}

/// An open promise whose day (bound as parameter `$today_param`) has not passed covers the
/// invoice aliased `i`: the reminder job leaves it alone.
pub fn paused_by_promise_sql(today_param: usize) -> String {
    covered_by_promise(&format!("p.status = 'open' AND p.pay_by >= ${today_param}"))
}

/// The customer's invoices a promise can cover on `today`, oldest due first.
async fn promisable<'e, E>(
    executor: E,
    customer_id: i64,
    today: NaiveDate,
) -> Result<Vec<PromisableInvoice>, DbError>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    // An invoice on a payment plan follows the plan's instalments instead.
    let taken = format!(
        "({} OR {ON_OPEN_PLAN_SQL})",
        covered_by_promise("(p.status = 'open' OR (p.status = 'broken' AND p.closed_on > $2))")
    );
    Ok(sqlx::query_as(&format!(
        "SELECT i.id AS invoice_id, i.number, i.due_date, {DUE_NOW_SQL} AS due_minor \
         FROM invoices i WHERE i.customer_id = $1 AND i.voided_at IS NULL AND {DUE_NOW_SQL} > 0 \
         AND NOT {taken} ORDER BY i.due_date, i.id"
    ))
    .bind(customer_id)
    .bind(date_text(
        today - chrono::Duration::days(BROKEN_PROMISE_DAYS),
    ))
    .fetch_all(executor)
    .await?)
}

/// The promise form: what can be promised today and the account's latest promises.
pub async fn offer(
    db: &Db,
    customer_id: i64,
    today: NaiveDate,
) -> Result<Option<PromiseOffer>, DbError> {
    let Some(currency) = crate::customers::store::customer_currency(db, customer_id).await? else {
        return Ok(None);
    };
    Ok(Some(PromiseOffer {
        currency,
        today,
        latest_day: today + chrono::Duration::days(super::MAX_DAYS_AHEAD),
        invoices: promisable(db.pool(), customer_id, today).await?,
        promises: customer_promises(db, customer_id, false).await?,
    }))
}

#[derive(FromRow)]
struct PromiseRow {
    id: i64,
    customer_id: i64,
    #[sqlx(try_from = "String")]
    status: PromiseStatus,
    #[sqlx(try_from = "Day")]
    pay_by: NaiveDate,
    amount_minor: i64,
    note: String,
    made_by: String,
    made_at: String,
    #[sqlx(try_from = "MaybeDay")]
    closed_on: Option<NaiveDate>,
    currency: String,
    due_then: i64,
    outstanding: i64,
    pending: i64,
    met_minor: Option<i64>,
}

impl PromiseRow {
    fn figures(&self) -> PromiseFigures {
        PromiseFigures {
            amount_minor: self.amount_minor,
            due_then_minor: self.due_then,
            outstanding_minor: self.outstanding,
            pending_minor: self.pending,
        }
    }
}

/// Each promise matching `filter` (over `p`), with what was due on its invoices then, what they
/// owe now and what is on its way to them.
fn select_promises(filter: &str) -> String {
    format!(
        "SELECT p.id, p.customer_id, p.status, p.pay_by, p.amount_minor, p.note, \
         u.email AS made_by, p.made_at, p.closed_on, p.met_minor, c.currency, \
         CAST(sum(pi.due_minor) AS BIGINT) AS due_then, \
         CAST(sum(i.open_minor - {HELD_OF_OPEN_SQL}) AS BIGINT) AS outstanding, \
         CAST(sum(i.pending_minor) AS BIGINT) AS pending \
         FROM payment_promises p JOIN users u ON u.id = p.made_by \
         JOIN customers c ON c.id = p.customer_id \
         JOIN payment_promise_invoices pi ON pi.promise_id = p.id \
         JOIN invoices i ON i.id = pi.invoice_id WHERE {filter} \
         GROUP BY p.id, p.customer_id, p.status, p.pay_by, p.amount_minor, p.note, u.email, \
         p.made_at, p.closed_on, p.met_minor, c.currency"
    )
}

/// The account's promises, newest first: the open ones, or the latest 50 of any status.
pub async fn customer_promises(
    db: &Db,
    customer_id: i64,
    open_only: bool,
) -> Result<Vec<PromiseView>, DbError> {
    let filter = if open_only {
        "p.customer_id = $1 AND p.status = 'open'"
    } else {
        "p.customer_id = $1"
    };
    let rows: Vec<PromiseRow> = sqlx::query_as(&format!(
        "{} ORDER BY p.id DESC LIMIT 50",
        select_promises(filter)
    ))
    .bind(customer_id)
    .fetch_all(db.pool())
    .await?;
    // Most accounts have none: then there are no invoices to read either.
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let covered: Vec<(i64, i64, String)> = sqlx::query_as(&format!(
        "SELECT pi.promise_id, i.id, i.number FROM payment_promise_invoices pi \
         JOIN invoices i ON i.id = pi.invoice_id WHERE pi.promise_id IN \
         (SELECT p.id FROM payment_promises p WHERE {filter} ORDER BY p.id DESC LIMIT 50) \
         ORDER BY i.due_date, i.id"
    ))
    .bind(customer_id)
    .fetch_all(db.pool())
    .await?;
    rows.into_iter()
        .map(|r| {
            let invoices = covered
                .iter()
                .filter(|(promise, _, _)| *promise == r.id)
                .map(|(_, id, number)| (*id, number.clone()))
                .collect();
            view(r, invoices)
        })
        .collect()
}

fn view(r: PromiseRow, invoices: Vec<(i64, String)>) -> Result<PromiseView, DbError> {
    Ok(PromiseView {
        id: r.id,
        status: r.status,
        pay_by: r.pay_by,
        amount_minor: r.amount_minor,
        met_minor: r.met_minor.unwrap_or_else(|| r.figures().met_minor()),
        currency: crate::db::currency(&r.currency)?,
        invoices,
        note: r.note,
        made_by: r.made_by,
        made_at: r.made_at,
        closed_on: r.closed_on,
    })
}

/// Who recorded a promise and from which address: a payer in the portal, or AR staff noting a
/// promise the customer gave them by phone or letter (`by_staff`).
pub struct MadeBy<'a> {
    pub user_id: i64,
    pub email: &'a str,
    pub ip: &'a str,
    pub by_staff: bool,
}

/// Records a promise: checked against what can be promised now, under the customer lock;
/// audited and announced in the same transaction. A payer's promise is confirmed to them and
/// announced to AR; one staff recorded is confirmed to the account's addressees, so the customer
/// sees in writing what AR noted.
pub async fn make_promise(
    db: &Db,
    customer_id: i64,
    draft: &PromiseDraft,
    today: NaiveDate,
    made_by: MadeBy<'_>,
) -> Result<i64, PromiseStoreError> {
    let mut tx = db.begin_write().await?;
    let currency = lock_customer(&mut tx, db.engine(), customer_id).await?;
    let offered = promisable(&mut *tx, customer_id, today).await?;
    let promise = draft
        .parse(&offered, currency, today)
        .map_err(PromiseStoreError::Invalid)?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO payment_promises (customer_id, amount_minor, pay_by, note, made_by, made_at, made_from) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(customer_id)
    .bind(promise.amount_minor)
    .bind(date_text(promise.pay_by))
    .bind(&promise.note)
    .bind(made_by.user_id)
    .bind(now_text())
    .bind(made_by.ip)
    .fetch_one(&mut *tx)
    .await?;
    for (invoice_id, due_minor) in &promise.invoices {
        sqlx::query(
            "INSERT INTO payment_promise_invoices (promise_id, invoice_id, due_minor) VALUES ($1, $2, $3)",
        )
        .bind(id)
        .bind(invoice_id)
        .bind(due_minor)
        .execute(&mut *tx)
        .await?;
    }
    let numbers = numbers_of(&offered, &promise);
    let amount = Money::from_minor(promise.amount_minor, currency);
    crate::audit::record(
        &mut *tx,
        Some(made_by.user_id),
        made_by.email,
        "promise.make",
        &format!("customer:{customer_id}"),
        &format!(
            "promise {id}: {amount} by {} for {numbers}{}",
            promise.pay_by,
            if made_by.by_staff {
                " (given to AR, recorded by staff)"
            } else {
                ""
            }
        ),
        made_by.ip,
    )
    .await?;
    let terms = format!("{amount} by {} for invoice(s) {numbers}", promise.pay_by);
    // The subject and the terms in the reader's language.
    let in_words = |locale: Locale| {
        let amount = locale.money(promise.amount_minor, currency);
        let date = email_day(locale, promise.pay_by);
        let subject = tr!(locale, "promise.subject", amount = amount, date = date);
        let terms = tr!(
            locale,
            "promise.terms",
            amount = amount,
            date = date,
            numbers = numbers
        );
        (subject, terms)
    };
    if made_by.by_staff {
        let recipients = crate::customers::store::account_recipients(&mut tx, customer_id).await?;
        if recipients.is_empty() {
            return Err(PromiseStoreError::NobodyToTell);
        }
        let write = |locale: Locale| {
            let (subject, terms) = in_words(locale);
            let body = tr!(
                locale,
                "promise.noted_by_staff.body",
                staff = made_by.email,
                terms = terms
            );
            (subject, body)
        };
        queue_in_their_language(&mut tx, &recipients, "promise", None, write).await?;
    } else {
        let write = |locale: Locale| {
            let (subject, terms) = in_words(locale);
            (subject, tr!(locale, "promise.noted.body", terms = terms))
        };
        queue_in_their_language(
            &mut tx,
            &[made_by.email.to_string()],
            "promise",
            None,
            write,
        )
        .await?;
        let customer = name_in(&mut tx, customer_id).await?;
        let staff = staff_emails(&mut *tx).await?;
        let notice = format!(
            "{} promised to pay {terms} on {customer}'s account.\n\
             Reminders for these invoices pause until then.\n{}",
            made_by.email,
            quoted(&promise.note)
        );
        let subject = format!(
            "Promise to pay from {customer}: {amount} by {}",
            promise.pay_by
        );
        queue_to_each(&mut tx, &staff, &subject, &notice, "promise").await?;
    }
    tx.commit().await?;
    Ok(id)
}

fn numbers_of(offered: &[PromisableInvoice], promise: &NewPromise) -> String {
    promise
        .invoices
        .iter()
        .filter_map(|(id, _)| offered.iter().find(|o| o.invoice_id == *id))
        .map(|o| o.number.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn quoted(note: &str) -> String {
    if note.is_empty() {
        String::new()
    } else {
        format!("\nTheir note: {note}\n")
    }
}

/// The payer withdraws an open promise before its day has passed: reminders for its invoices
/// resume. Audited; AR is told. After its day the review decides it by what came in.
pub async fn withdraw_promise(
    db: &Db,
    customer_id: i64,
    promise_id: i64,
    today: NaiveDate,
    actor: Actor<'_>,
) -> Result<(), PromiseStoreError> {
    let mut tx = db.begin_write().await?;
    lock_customer(&mut tx, db.engine(), customer_id).await?;
    let promise = read_promise(&mut tx, promise_id)
        .await?
        .filter(|p| p.customer_id == customer_id)
        .ok_or(PromiseStoreError::NotFound)?;
    if promise.status != PromiseStatus::Open {
        return Err(PromiseStoreError::Closed(promise.status));
    }
    if promise.pay_by < today {
        return Err(PromiseStoreError::DayPassed);
    }
    close(&mut tx, &promise, PromiseStatus::Withdrawn, today).await?;
    actor
        .record(
            &mut *tx,
            "promise.withdraw",
            &format!("customer:{customer_id}"),
            &format!("promise {promise_id} withdrawn"),
        )
        .await?;
    let customer = name_in(&mut tx, customer_id).await?;
    queue_to_staff(
        &mut tx,
        &format!("Promise to pay withdrawn by {customer}"),
        &format!(
            "{} withdrew promise {promise_id} on {customer}'s account. Reminders for its invoices resume.\n",
            actor.name
        ),
        "promise",
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// One promise with its figures, read in the caller's transaction (under the customer lock).
async fn read_promise(
    tx: &mut Transaction<'_, Any>,
    promise_id: i64,
) -> Result<Option<PromiseRow>, DbError> {
    Ok(sqlx::query_as(&select_promises("p.id = $1"))
        .bind(promise_id)
        .fetch_optional(&mut **tx)
        .await?)
}

/// Closes an open promise, fixing how much of it came in. Called under the customer lock with
/// the promise just read as open, so the conditional update changes exactly that row.
async fn close(
    tx: &mut Transaction<'_, Any>,
    promise: &PromiseRow,
    status: PromiseStatus,
    today: NaiveDate,
) -> Result<(), PromiseStoreError> {
    let done = sqlx::query(
        "UPDATE payment_promises SET status = $1, closed_on = $2, met_minor = $3 \
         WHERE id = $4 AND status = 'open'",
    )
    .bind(status.as_str())
    .bind(date_text(today))
    .bind(promise.figures().met_minor())
    .bind(promise.id)
    .execute(&mut **tx)
    .await?;
    if done.rows_affected() == 1 {
        Ok(())
    } else {
        Err(PromiseStoreError::Closed(promise.status))
    }
}

/// The review job: closes each open promise that is kept or broken on `today`, deciding in the
/// promise's own transaction under the customer lock (a payment committing meanwhile is either
/// counted or waits). A broken one is announced to the account's addressees and to AR.
pub async fn review(db: &Db, today: NaiveDate) -> Result<PromiseReview, DbError> {
    let open: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT id, customer_id FROM payment_promises WHERE status = 'open' ORDER BY id",
    )
    .fetch_all(db.pool())
    .await?;
    let mut summary = PromiseReview::default();
    for (promise_id, customer_id) in open {
        let mut tx = db.begin_write().await?;
        lock_customer(&mut tx, db.engine(), customer_id)
            .await
            .map_err(|e| DbError::Corrupt(e.to_string()))?;
        let Some(promise) = read_promise(&mut tx, promise_id).await? else {
            continue;
        };
        if promise.status != PromiseStatus::Open {
            continue; // another instance closed it meanwhile
        }
        let Some(status) = promise.figures().outcome(promise.pay_by, today) else {
            continue;
        };
        close(&mut tx, &promise, status, today)
            .await
            .map_err(|e| DbError::Corrupt(e.to_string()))?;
        let currency = crate::db::currency(&promise.currency)?;
        let amount = Money::from_minor(promise.amount_minor, currency);
        SYSTEM
            .record(
                &mut *tx,
                &format!("promise.{}", status.as_str()),
                &format!("customer:{customer_id}"),
                &format!("promise {promise_id}: {amount} by {}", promise.pay_by),
            )
            .await?;
        if status == PromiseStatus::Broken {
            announce_broken(&mut tx, &promise, currency).await?;
            summary.broken += 1;
        } else {
            summary.kept += 1;
        }
        tx.commit().await?;
    }
    Ok(summary)
}

/// The review job as the audit log names it.
const SYSTEM: Actor<'static> = Actor {
    user_id: None,
    name: "promise review",
};

async fn announce_broken(
    tx: &mut Transaction<'_, Any>,
    promise: &PromiseRow,
    currency: Currency,
) -> Result<(), DbError> {
    let amount = Money::from_minor(promise.amount_minor, currency);
    let met = Money::from_minor(promise.figures().met_minor(), currency);
    let still_owed = Money::from_minor(promise.outstanding.max(0), currency);
    let customer = name_in(tx, promise.customer_id).await?;
    let recipients = crate::customers::store::account_recipients(tx, promise.customer_id).await?;
    let write = |locale: Locale| {
        let amount = locale.money(promise.amount_minor, currency);
        let date = email_day(locale, promise.pay_by);
        let subject = tr!(
            locale,
            "promise.broken.subject",
            amount = amount,
            date = date
        );
        let body = tr!(
            locale,
            "promise.broken.body",
            amount = amount,
            date = date,
            met = locale.money(promise.figures().met_minor(), currency),
            open = locale.money(promise.outstanding.max(0), currency)
        );
        (subject, body)
    };
    queue_in_their_language(tx, &recipients, "promise", None, write).await?;
    queue_to_staff(
        tx,
        &format!("Broken promise: {customer}, {amount} by {}", promise.pay_by),
        &format!(
            "{customer} promised {amount} by {}; {met} of it came in and {still_owed} is still open.\n\
             The account is on the collections worklist.\n",
            promise.pay_by
        ),
        "promise",
    )
    .await
}

#[cfg(all(test, feature = "test-support"))]
mod tests {
    use sqlx::Row;

    use super::*;
    use crate::money::Currency;
    use crate::payments::PaymentMethod;
    use crate::payments::store::{OfflinePayment, record_offline_payment};
    use crate::reminders::Schedule;
    use crate::testing::fixtures::{self, date};
    use crate::testing::fresh_db;
    use crate::users::Role;

    const PAYER: &str = "payer@acme.example";

    /// A net-30 customer with a payer, a clerk, and one $1,000.00 invoice due 2026-10-31.
    async fn account(db: &Db) -> (i64, i64, i64) {
        let account = fixtures::payer_account(db, "C-1", PAYER, "INV-1", "2026-10-01").await;
        fixtures::user(
            db,
            "clerk@ar.example",
            "a long enough password",
            Role::Clerk,
            None,
        )
        .await;
        account
    }

    fn by(payer: i64) -> MadeBy<'static> {
        MadeBy {
            user_id: payer,
            email: PAYER,
            ip: "203.0.113.9",
            by_staff: false,
        }
    }

    fn draft(invoice: i64, pay_by: &str, amount: &str) -> PromiseDraft {
        PromiseDraft {
            invoice_ids: vec![invoice],
            pay_by: pay_by.into(),
            amount: amount.into(),
            note: String::new(),
            locale: Locale::En,
        }
    }

    async fn mail(db: &Db) -> Vec<(String, String)> {
        sqlx::query("SELECT recipient, subject FROM outbox ORDER BY id")
            .fetch_all(db.pool())
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect()
    }

    async fn audited(db: &Db, action: &str) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = $1")
            .bind(action)
            .fetch_one(db.pool())
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_promise_pauses_its_invoices_reminders_until_its_day_passes_unpaid() {
        let db = fresh_db().await;
        let (customer, payer, invoice) = account(&db).await;
        let promised_on = date("2026-11-01");
        make_promise(
            &db,
            customer,
            &draft(invoice, "2026-11-20", ""),
            promised_on,
            by(payer),
        )
        .await
        .unwrap();
        let again = make_promise(
            &db,
            customer,
            &draft(invoice, "2026-11-25", ""),
            promised_on,
            by(payer),
        )
        .await;
        assert!(
            matches!(&again, Err(PromiseStoreError::Invalid(e)) if e[0].field == "invoices"),
            "one open promise per invoice: {again:?}"
        );
        let made = mail(&db).await;
        assert_eq!(
            made[0],
            (
                PAYER.into(),
                "Your promise to pay $1,000.00 by 2026-11-20".into()
            )
        );
        assert_eq!(made[1].0, "clerk@ar.example");
        assert_eq!(audited(&db, "promise.make").await, 1);
        let made_from: String = sqlx::query_scalar("SELECT made_from FROM payment_promises")
            .fetch_one(db.pool())
            .await
            .unwrap();
        assert_eq!(made_from, "203.0.113.9");

        let schedule = Schedule::default();
        let remind = |day: &str| {
            crate::reminders::store::run(&db, &schedule, date(day), "https://pay.example")
        };
        assert_eq!(
            remind("2026-11-08").await.unwrap().sent,
            0,
            "paused by the promise"
        );
        assert_eq!(
            review(&db, date("2026-11-20")).await.unwrap(),
            PromiseReview::default()
        );
        assert_eq!(
            remind("2026-11-20").await.unwrap().sent,
            0,
            "its day has not passed"
        );

        let broken = review(&db, date("2026-11-21")).await.unwrap();
        assert_eq!(broken, PromiseReview { kept: 0, broken: 1 });
        assert_eq!(
            review(&db, date("2026-11-21")).await.unwrap(),
            PromiseReview::default()
        );
        let after = mail(&db).await;
        assert_eq!(after.len(), 4, "{after:?}");
        assert_eq!(
            after[2],
            (
                PAYER.into(),
                "Your promise to pay $1,000.00 by 2026-11-20 has passed".into()
            )
        );
        assert_eq!(
            after[3],
            (
                "clerk@ar.example".into(),
                "Broken promise: Customer, $1,000.00 by 2026-11-20".into()
            )
        );
        assert_eq!(audited(&db, "promise.broken").await, 1);
        assert_eq!(
            remind("2026-11-21").await.unwrap().sent,
            1,
            "reminders resume"
        );
        let view = &customer_promises(&db, customer, false).await.unwrap()[0];
        assert_eq!((view.status, view.met_minor), (PromiseStatus::Broken, 0));
        // The payer cannot promise the same invoice again for 30 days; AR call about it first.
        let refused = offer(&db, customer, date("2026-12-20"))
            .await
            .unwrap()
            .unwrap();
        assert!(refused.invoices.is_empty());
        let again = offer(&db, customer, date("2026-12-21"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(again.invoices.len(), 1);
        assert_eq!(view.closed_on, Some(date("2026-11-21")));
        assert_eq!(view.invoices, vec![(invoice, "INV-1".to_string())]);
    }

    #[tokio::test]
    async fn a_promise_is_kept_once_the_promised_part_comes_in_whatever_the_day() {
        let db = fresh_db().await;
        let (customer, payer, invoice) = account(&db).await;
        make_promise(
            &db,
            customer,
            &draft(invoice, "2026-11-20", "400.00"),
            date("2026-11-01"),
            by(payer),
        )
        .await
        .unwrap();
        let cheque = |reference: &str, minor: i64| OfflinePayment {
            customer_id: customer,
            method: PaymentMethod::Cheque,
            amount: Money::from_minor(minor, Currency::Usd),
            received: date("2026-11-10"),
            reference: reference.into(),
            remitted: Vec::new(),
        };
        let clerk = Actor {
            user_id: None,
            name: "clerk@ar.example",
        };
        record_offline_payment(&db, &cheque("CHQ-1", 39_999), clerk)
            .await
            .unwrap();
        assert_eq!(
            review(&db, date("2026-11-10")).await.unwrap(),
            PromiseReview::default()
        );
        let open = customer_promises(&db, customer, true).await.unwrap();
        assert_eq!(open[0].met_minor, 39_999);
        record_offline_payment(&db, &cheque("CHQ-2", 1), clerk)
            .await
            .unwrap();
        assert_eq!(
            review(&db, date("2026-11-10")).await.unwrap(),
            PromiseReview { kept: 1, broken: 0 }
        );
        assert!(
            customer_promises(&db, customer, true)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(audited(&db, "promise.kept").await, 1);
        // The rest of the invoice can be promised again.
        let offer = offer(&db, customer, date("2026-11-10"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(offer.invoices[0].due_minor, 60_000);
        assert_eq!(offer.promises[0].status, PromiseStatus::Kept);
    }

    #[tokio::test]
    async fn only_the_account_can_withdraw_its_open_promise_and_only_once() {
        let db = fresh_db().await;
        let (customer, payer, invoice) = account(&db).await;
        let other = fixtures::customer(&db, "C-2", Currency::Usd, (30, 0, 0)).await;
        let id = make_promise(
            &db,
            customer,
            &draft(invoice, "2026-11-20", ""),
            date("2026-11-01"),
            by(payer),
        )
        .await
        .unwrap();
        let actor = Actor {
            user_id: Some(payer),
            name: PAYER,
        };
        let today = date("2026-11-02");
        assert!(matches!(
            withdraw_promise(&db, other, id, today, actor).await,
            Err(PromiseStoreError::NotFound)
        ));
        withdraw_promise(&db, customer, id, today, actor)
            .await
            .unwrap();
        assert!(matches!(
            withdraw_promise(&db, customer, id, today, actor).await,
            Err(PromiseStoreError::Closed(PromiseStatus::Withdrawn))
        ));
        assert_eq!(audited(&db, "promise.withdraw").await, 1);
        let offer = offer(&db, customer, today).await.unwrap().unwrap();
        assert_eq!(offer.invoices.len(), 1, "the invoice can be promised again");
        assert_eq!(
            review(&db, date("2026-12-01")).await.unwrap(),
            PromiseReview::default()
        );
    }

    #[tokio::test]
    async fn a_promise_staff_record_from_a_call_is_confirmed_to_the_account_in_writing() {
        let db = fresh_db().await;
        let (customer, _, invoice) = account(&db).await;
        let clerk: i64 =
            sqlx::query_scalar("SELECT id FROM users WHERE email = 'clerk@ar.example'")
                .fetch_one(db.pool())
                .await
                .unwrap();
        let by_phone = MadeBy {
            user_id: clerk,
            email: "clerk@ar.example",
            ip: "198.51.100.7",
            by_staff: true,
        };
        make_promise(
            &db,
            customer,
            &draft(invoice, "2026-11-20", "250.00"),
            date("2026-11-01"),
            by_phone,
        )
        .await
        .unwrap();
        let sent = mail(&db).await;
        assert_eq!(
            sent,
            vec![(
                PAYER.to_string(),
                "Your promise to pay $250.00 by 2026-11-20".to_string()
            )],
            "the account hears of it; staff are not told what they did themselves"
        );
        let detail: String = sqlx::query_scalar(
            "SELECT detail FROM audit_log WHERE action = 'promise.make' AND actor = 'clerk@ar.example'",
        )
        .fetch_one(db.pool())
        .await
        .unwrap();
        assert!(
            detail.ends_with("(given to AR, recorded by staff)"),
            "{detail}"
        );
        let view = &customer_promises(&db, customer, true).await.unwrap()[0];
        assert_eq!(
            (view.made_by.as_str(), view.amount_minor),
            ("clerk@ar.example", 25_000)
        );

        // Nobody at the customer can be written to: staff are told, nothing is recorded.
        let silent = fixtures::customer(&db, "C-2", Currency::Usd, (30, 0, 0)).await;
        let unheard = fixtures::invoice(
            &db,
            silent,
            "INV-2",
            Currency::Usd,
            "2026-10-01",
            &[(5_000, 0)],
        )
        .await;
        let again_by_phone = MadeBy {
            user_id: clerk,
            email: "clerk@ar.example",
            ip: "198.51.100.7",
            by_staff: true,
        };
        let refused = make_promise(
            &db,
            silent,
            &draft(unheard, "2026-11-20", ""),
            date("2026-11-01"),
            again_by_phone,
        )
        .await;
        assert!(
            matches!(refused, Err(PromiseStoreError::NobodyToTell)),
            "{refused:?}"
        );
        assert!(
            customer_promises(&db, silent, false)
                .await
                .unwrap()
                .is_empty()
        );
    }
}
