//! Payment plans in the database: proposing one (staff offer, a payer asks), agreeing to it (the
//! payer accepts an offer, staff approve a request), withdrawing or declining it, the reads the
//! pages show, what an active plan asks for now, and the review job that reminds of instalments
//! and closes plans as completed or broken. Every change runs under the customer lock, is
//! audited and announced in its own transaction; the conditional status update is the claim, so
//! several server instances close a plan once and remind of an instalment once.

use chrono::NaiveDate;
use sqlx::{Any, AnyConnection, FromRow, Row, Transaction};

use super::{
    Instalment, NewPlan, PlanDraft, PlanLimits, PlanOffer, PlanReview, PlanStatus, PlanView,
    REMIND_DAYS_BEFORE, Standing, allocate, standing,
};
use crate::audit::Actor;
use crate::customers::store::name_in;
use crate::db::{Day, Db, DbError, MaybeDay, date_text, now_text};
use crate::disputes::HOLDING_STATUSES_SQL;
use crate::invoices::draft::FieldError;
use crate::locale::{Explain, Locale};
use crate::money::{Currency, Money};
use crate::outbox::store::{email_day, queue_in_their_language, queue_to_staff};
use crate::promises::PromisableInvoice;
use crate::promises::store::covered_by_promise;
use crate::receivables::store::{CashError, lock_customer};
use crate::receivables::{DUE_NOW_SQL, HELD_OF_OPEN_SQL, ON_OPEN_PLAN_SQL};
use crate::tr;

#[derive(Debug, thiserror::Error)]
pub enum PlanStoreError {
    #[error("{}", self.explain(Locale::En))]
    Invalid(Vec<FieldError>),
    #[error("{}", self.explain(Locale::En))]
    NotFound,
    #[error("{}", self.explain(Locale::En))]
    UnknownCustomer,
    #[error("{}", self.explain(Locale::En))]
    AlreadyOpen,
    #[error("{}", self.explain(Locale::En))]
    Closed(PlanStatus, PlanStep),
    #[error("{}", self.explain(Locale::En))]
    Stale,
    #[error("{}", self.explain(Locale::En))]
    StartPassed,
    #[error("{}", self.explain(Locale::En))]
    NobodyToTell,
    #[error(transparent)]
    Db(#[from] DbError),
}

impl Explain for PlanStoreError {
    fn explain(&self, locale: Locale) -> String {
        let text = match self {
            // Written in the form's language as they were found.
            PlanStoreError::Invalid(problems) => return crate::invoices::draft::describe(problems),
            PlanStoreError::NotFound => locale.pick(
                "there is no such payment plan on this account",
                "diesen Ratenplan gibt es auf diesem Konto nicht",
            ),
            PlanStoreError::UnknownCustomer => locale.pick(
                "your customer account no longer exists",
                "Ihr Kundenkonto besteht nicht mehr",
            ),
            PlanStoreError::AlreadyOpen => locale.pick(
                "the account already has a payment plan offered, requested or running: withdraw it first",
                "für das Konto ist bereits ein Ratenplan angeboten, angefragt oder läuft schon: Ziehen Sie ihn zuerst zurück",
            ),
            PlanStoreError::Closed(status, step) => {
                let step = step.participle_in(locale);
                return locale.pick(
                    format!(
                        "this payment plan is {}, so it cannot be {step}",
                        status.label().to_lowercase()
                    ),
                    format!(
                        "dieser Ratenplan hat den Status „{}“ und kann daher nicht {step} werden",
                        status.label_in(locale)
                    ),
                );
            }
            PlanStoreError::Stale => locale.pick(
                "what is due on the plan's invoices changed since it was proposed (a payment, a credit or a dispute): it has to be proposed again",
                "was auf den Rechnungen des Ratenplans fällig ist, hat sich seit dem Vorschlag geändert (eine Zahlung, eine Gutschrift oder eine Reklamation): Er muss neu vorgeschlagen werden",
            ),
            PlanStoreError::StartPassed => locale.pick(
                "the plan's first instalment day has passed: it has to be proposed again with new dates",
                "der Tag der ersten Rate ist vorbei: Der Ratenplan muss mit neuen Terminen neu vorgeschlagen werden",
            ),
            PlanStoreError::NobodyToTell => locale.pick(
                "the account has nobody to write to: add a billing contact or a payer first, so the customer gets the plan in writing",
                "für das Konto gibt es niemanden, dem wir schreiben können: Fügen Sie zuerst einen Rechnungskontakt oder Zahler hinzu, damit der Kunde den Ratenplan schriftlich erhält",
            ),
            PlanStoreError::Db(e) => return e.to_string(),
        };
        text.into()
    }
}

/// What was asked of a plan that is no longer in the status for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanStep {
    Accepted,
    Approved,
    Declined,
    Withdrawn,
    Completed,
    Broken,
}

impl PlanStep {
    fn participle_in(self, locale: Locale) -> &'static str {
        let (en, de) = match self {
            PlanStep::Accepted => ("accepted", "angenommen"),
            PlanStep::Approved => ("approved", "genehmigt"),
            PlanStep::Declined => ("declined", "abgelehnt"),
            PlanStep::Withdrawn => ("withdrawn", "zurückgezogen"),
            PlanStep::Completed => ("completed", "abgeschlossen"),
            PlanStep::Broken => ("broken", "als nicht eingehalten beendet"),
        };
        locale.pick(en, de)
    }
}

crate::from_sqlx_error!(PlanStoreError);

impl From<CashError> for PlanStoreError {
    fn from(e: CashError) -> Self {
        match e {
            CashError::Db(e) => PlanStoreError::Db(e),
            CashError::UnknownCustomer(_) => PlanStoreError::UnknownCustomer,
            other => PlanStoreError::Db(DbError::Corrupt(other.to_string())),
        }
    }
}

/// The manager's limits.
pub async fn limits(conn: &mut AnyConnection) -> Result<PlanLimits, DbError> {
    let row =
        sqlx::query("SELECT max_instalments, max_days, grace_days FROM plan_limits WHERE id = 1")
            .fetch_one(conn)
            .await?;
    Ok(PlanLimits {
        max_instalments: u32::try_from(row.try_get::<i64, _>("max_instalments")?)
            .map_err(|_| DbError::Corrupt("plan_limits.max_instalments".into()))?,
        max_days: row.try_get("max_days")?,
        grace_days: row.try_get("grace_days")?,
    })
}

/// A manager changes the limits; plans already proposed keep theirs. Audited.
pub async fn set_limits(db: &Db, limits: &PlanLimits, actor: Actor<'_>) -> Result<(), DbError> {
    let mut tx = db.begin_write().await?;
    sqlx::query(
        "UPDATE plan_limits SET max_instalments = $1, max_days = $2, grace_days = $3, \
         updated_by = $4, updated_at = $5 WHERE id = 1",
    )
    .bind(i64::from(limits.max_instalments))
    .bind(limits.max_days)
    .bind(limits.grace_days)
    .bind(actor.user_id)
    .bind(now_text())
    .execute(&mut *tx)
    .await?;
    actor
        .record(
            &mut *tx,
            "plan.limits",
            "plan_limits",
            &format!(
                "at most {} instalments over {} days; broken {} days after a missed instalment",
                limits.max_instalments, limits.max_days, limits.grace_days
            ),
        )
        .await?;
    tx.commit().await?;
    Ok(())
}

/// The customer's invoices a plan can cover: something due now, nothing on its way (so what is
/// due is what is open less what disputes hold), no open promise and no open plan on it.
async fn plannable<'e, E>(executor: E, customer_id: i64) -> Result<Vec<PromisableInvoice>, DbError>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    let promised = covered_by_promise("p.status = 'open'");
    Ok(sqlx::query_as(&format!(
        "SELECT i.id AS invoice_id, i.number, i.due_date, {DUE_NOW_SQL} AS due_minor \
         FROM invoices i WHERE i.customer_id = $1 AND i.voided_at IS NULL AND {DUE_NOW_SQL} > 0 \
         AND i.pending_minor = 0 AND NOT {promised} AND NOT {ON_OPEN_PLAN_SQL} \
         ORDER BY i.due_date, i.id"
    ))
    .bind(customer_id)
    .fetch_all(executor)
    .await?)
}

/// The plan page: the limits, what a plan can cover today, and the account's plans.
pub async fn offer(
    db: &Db,
    customer_id: i64,
    today: NaiveDate,
) -> Result<Option<PlanOffer>, DbError> {
    let Some(currency) = crate::customers::store::customer_currency(db, customer_id).await? else {
        return Ok(None);
    };
    let mut conn = db.pool().acquire().await?;
    Ok(Some(PlanOffer {
        currency,
        today,
        limits: limits(&mut conn).await?,
        invoices: plannable(&mut *conn, customer_id).await?,
        plans: customer_plans_on(&mut conn, customer_id, today).await?,
    }))
}

#[derive(FromRow)]
struct PlanRow {
    id: i64,
    customer_id: i64,
    #[sqlx(try_from = "String")]
    status: PlanStatus,
    total_minor: i64,
    note: String,
    proposed_by: String,
    proposed_at: String,
    accepted_by: Option<String>,
    accepted_at: Option<String>,
    accepted_from: Option<String>,
    grace_days: i64,
    #[sqlx(try_from = "MaybeDay")]
    closed_on: Option<NaiveDate>,
    paid_minor: Option<i64>,
    currency: String,
    outstanding: i64,
    pending: i64,
    disputed_since: i64,
}

/// Each plan matching `filter` (over `p`), with what its invoices owe now (open less what
/// disputes hold, each capped at what was due on it when the plan was proposed, so an invoice
/// adjusted upwards or a released hold neither cancels payments on another invoice nor
/// un-pays instalments), what is on its way to them, and how many of them carry an active
/// dispute opened since the plan was proposed.
fn select_plans(filter: &str) -> String {
    format!(
        "SELECT p.id, p.customer_id, p.status, p.total_minor, p.note, pu.email AS proposed_by, \
         p.proposed_at, au.email AS accepted_by, p.accepted_at, p.accepted_from, p.grace_days, \
         p.closed_on, p.paid_minor, c.currency, \
         CAST(sum(CASE WHEN i.open_minor - {HELD_OF_OPEN_SQL} > ppi.due_minor THEN ppi.due_minor \
                  ELSE i.open_minor - {HELD_OF_OPEN_SQL} END) AS BIGINT) AS outstanding, \
         CAST(sum(i.pending_minor) AS BIGINT) AS pending, \
         CAST(sum(CASE WHEN EXISTS (SELECT 1 FROM disputes d WHERE d.invoice_id = i.id \
                  AND d.status IN {HOLDING_STATUSES_SQL} AND d.opened_at > p.proposed_at) \
                  THEN 1 ELSE 0 END) AS BIGINT) AS disputed_since \
         FROM payment_plans p JOIN users pu ON pu.id = p.proposed_by \
         LEFT JOIN users au ON au.id = p.accepted_by \
         JOIN customers c ON c.id = p.customer_id \
         JOIN payment_plan_invoices ppi ON ppi.plan_id = p.id \
         JOIN invoices i ON i.id = ppi.invoice_id WHERE {filter} \
         GROUP BY p.id, p.customer_id, p.status, p.total_minor, p.note, pu.email, p.proposed_at, \
         au.email, p.accepted_at, p.accepted_from, p.grace_days, p.closed_on, p.paid_minor, c.currency"
    )
}

/// A plan's instalments, in order.
async fn instalments_of(
    conn: &mut AnyConnection,
    plan_id: i64,
) -> Result<Vec<Instalment>, DbError> {
    #[derive(FromRow)]
    struct Row {
        seq: i64,
        #[sqlx(try_from = "Day")]
        due_date: NaiveDate,
        amount_minor: i64,
    }
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT seq, due_date, amount_minor FROM payment_plan_instalments WHERE plan_id = $1 \
         ORDER BY seq",
    )
    .bind(plan_id)
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(Instalment {
                seq: u32::try_from(r.seq).map_err(|_| DbError::Corrupt("instalment seq".into()))?,
                due_date: r.due_date,
                amount_minor: r.amount_minor,
            })
        })
        .collect()
}

/// A plan's invoices with what is due on each now, oldest due first.
async fn plan_invoices(
    conn: &mut AnyConnection,
    plan_id: i64,
) -> Result<Vec<(i64, String, i64)>, DbError> {
    Ok(sqlx::query_as(&format!(
        "SELECT i.id, i.number, {DUE_NOW_SQL} FROM payment_plan_invoices ppi \
         JOIN invoices i ON i.id = ppi.invoice_id WHERE ppi.plan_id = $1 \
         ORDER BY i.due_date, i.id"
    ))
    .bind(plan_id)
    .fetch_all(conn)
    .await?)
}

async fn view(conn: &mut AnyConnection, r: PlanRow, today: NaiveDate) -> Result<PlanView, DbError> {
    let instalments = instalments_of(conn, r.id).await?;
    let invoices = plan_invoices(conn, r.id)
        .await?
        .into_iter()
        .map(|(id, number, _)| (id, number))
        .collect();
    let mut standing = standing(
        &instalments,
        r.total_minor,
        r.outstanding,
        r.pending,
        r.grace_days,
        today,
    );
    if let Some(paid) = r.paid_minor {
        // A closed plan shows what had come in when it closed, not what its invoices saw since.
        standing = Standing {
            paid_minor: paid,
            pending_minor: 0,
            due_now_minor: 0,
            late_minor: 0,
            next: None,
            missed: None,
        };
    }
    Ok(PlanView {
        id: r.id,
        status: r.status,
        currency: crate::db::currency(&r.currency)?,
        total_minor: r.total_minor,
        instalments,
        invoices,
        note: r.note,
        proposed_by: r.proposed_by,
        proposed_at: r.proposed_at,
        accepted: match (r.accepted_by, r.accepted_at) {
            (Some(by), Some(at)) => Some((by, at, r.accepted_from.unwrap_or_default())),
            _ => None,
        },
        grace_days: r.grace_days,
        standing,
        closed_on: r.closed_on,
    })
}

/// The account's latest 20 plans, newest first.
async fn customer_plans_on(
    conn: &mut AnyConnection,
    customer_id: i64,
    today: NaiveDate,
) -> Result<Vec<PlanView>, DbError> {
    let rows: Vec<PlanRow> = sqlx::query_as(&format!(
        "{} ORDER BY p.id DESC LIMIT 20",
        select_plans("p.customer_id = $1")
    ))
    .bind(customer_id)
    .fetch_all(&mut *conn)
    .await?;
    let mut views = Vec::with_capacity(rows.len());
    for row in rows {
        views.push(view(conn, row, today).await?);
    }
    Ok(views)
}

/// The account's plans as the staff customer page shows them.
pub async fn customer_plans(
    db: &Db,
    customer_id: i64,
    today: NaiveDate,
) -> Result<Vec<PlanView>, DbError> {
    let mut conn = db.pool().acquire().await?;
    customer_plans_on(&mut conn, customer_id, today).await
}

/// An active plan as the summary, "pay everything due" and autopay read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivePlan {
    pub id: i64,
    pub standing: Standing,
    /// Its invoices with what is due on each now (open less held, less what is on its way),
    /// oldest due first.
    pub invoices: Vec<(i64, i64)>,
}

impl ActivePlan {
    /// Where what its instalments ask for now goes: its invoices, oldest first.
    pub fn due_now_items(&self) -> Vec<(i64, i64)> {
        allocate(self.standing.due_now_minor, &self.invoices)
    }

    /// Where the next instalment (what is left of it) goes.
    pub fn next_items(&self) -> Vec<(i64, i64)> {
        self.standing
            .next
            .map(|next| allocate(next.amount_minor, &self.invoices))
            .unwrap_or_default()
    }
}

/// The account's active plan, if any, where it stands on `today`. Read on `conn`: the pool's
/// for a page, the write transaction (under the customer lock) when money is about to move.
pub async fn active_plan(
    conn: &mut AnyConnection,
    customer_id: i64,
    today: NaiveDate,
) -> Result<Option<ActivePlan>, DbError> {
    let row: Option<PlanRow> =
        sqlx::query_as(&select_plans("p.customer_id = $1 AND p.status = 'active'"))
            .bind(customer_id)
            .fetch_optional(&mut *conn)
            .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let instalments = instalments_of(conn, row.id).await?;
    let invoices = plan_invoices(conn, row.id)
        .await?
        .into_iter()
        .map(|(id, _, due)| (id, due))
        .collect();
    Ok(Some(ActivePlan {
        id: row.id,
        standing: standing(
            &instalments,
            row.total_minor,
            row.outstanding,
            row.pending,
            row.grace_days,
            today,
        ),
        invoices,
    }))
}

/// Who proposes or agrees to a plan, and from which address.
#[derive(Debug, Clone, Copy)]
pub struct PlanActor<'a> {
    pub user_id: i64,
    pub email: &'a str,
    pub ip: &'a str,
}

/// Staff offer a plan (`by_staff`), to be accepted by a payer; or a payer asks for one, which
/// records their agreement to it and waits for staff to approve. Checked against the manager's
/// limits and what can go on a plan now, under the customer lock; audited and announced in the
/// same transaction.
pub async fn propose(
    db: &Db,
    customer_id: i64,
    draft: &PlanDraft,
    today: NaiveDate,
    by: PlanActor<'_>,
    by_staff: bool,
) -> Result<i64, PlanStoreError> {
    let mut tx = db.begin_write().await?;
    let currency = lock_customer(&mut tx, db.engine(), customer_id).await?;
    let open: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM payment_plans WHERE customer_id = $1 \
         AND status IN ('offered', 'requested', 'active')",
    )
    .bind(customer_id)
    .fetch_optional(&mut *tx)
    .await?;
    if open.is_some() {
        return Err(PlanStoreError::AlreadyOpen);
    }
    let limits = limits(&mut tx).await?;
    let offered = plannable(&mut *tx, customer_id).await?;
    let plan = draft
        .parse(&offered, &limits, currency, today)
        .map_err(PlanStoreError::Invalid)?;
    let (status, accepted_by, accepted_at, accepted_from) = if by_staff {
        (PlanStatus::Offered, None, None, None)
    } else {
        (
            PlanStatus::Requested,
            Some(by.user_id),
            Some(now_text()),
            Some(by.ip),
        )
    };
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO payment_plans (customer_id, total_minor, status, note, proposed_by, \
         proposed_at, accepted_by, accepted_at, accepted_from, grace_days) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
    )
    .bind(customer_id)
    .bind(plan.total_minor())
    .bind(status.as_str())
    .bind(&plan.note)
    .bind(by.user_id)
    .bind(now_text())
    .bind(accepted_by)
    .bind(accepted_at)
    .bind(accepted_from)
    .bind(limits.grace_days)
    .fetch_one(&mut *tx)
    .await?;
    for (invoice_id, due_minor) in &plan.invoices {
        sqlx::query(
            "INSERT INTO payment_plan_invoices (plan_id, invoice_id, due_minor) VALUES ($1, $2, $3)",
        )
        .bind(id)
        .bind(invoice_id)
        .bind(due_minor)
        .execute(&mut *tx)
        .await?;
    }
    for instalment in &plan.instalments {
        sqlx::query(
            "INSERT INTO payment_plan_instalments (plan_id, seq, due_date, amount_minor) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(id)
        .bind(i64::from(instalment.seq))
        .bind(date_text(instalment.due_date))
        .bind(instalment.amount_minor)
        .execute(&mut *tx)
        .await?;
    }
    let terms = plan_terms(Locale::En, &plan, &offered, currency);
    let action = if by_staff {
        "plan.offer"
    } else {
        "plan.request"
    };
    crate::audit::record(
        &mut *tx,
        Some(by.user_id),
        by.email,
        action,
        &format!("customer:{customer_id}"),
        &format!("plan {id}: {terms}"),
        by.ip,
    )
    .await?;
    let customer = name_in(&mut tx, customer_id).await?;
    if by_staff {
        let recipients = payers_and_billing(&mut tx, customer_id).await?;
        if recipients.is_empty() {
            return Err(PlanStoreError::NobodyToTell);
        }
        let write = |locale: Locale| {
            let body = tr!(
                locale,
                "plan.offer.body",
                staff = by.email,
                customer = customer,
                terms = plan_terms(locale, &plan, &offered, currency),
                note = noted(locale, &plan.note)
            );
            (tr!(locale, "plan.offer.subject"), body)
        };
        queue_in_their_language(&mut tx, &recipients, "plan", None, write).await?;
    } else {
        let write = |locale: Locale| {
            let body = tr!(
                locale,
                "plan.request.body",
                terms = plan_terms(locale, &plan, &offered, currency)
            );
            (tr!(locale, "plan.request.subject"), body)
        };
        queue_in_their_language(&mut tx, &[by.email.to_string()], "plan", None, write).await?;
        queue_to_staff(
            &mut tx,
            &format!("Payment plan requested by {customer}"),
            &format!(
                "{} asks to pay {terms} on {customer}'s account.\n\
                 Approve or decline it on the customer's page.\n{}",
                by.email,
                noted(Locale::En, &plan.note)
            ),
            "plan",
        )
        .await?;
    }
    tx.commit().await?;
    Ok(id)
}

/// Who hears of an offer: the account's payers, who can accept it, and its billing contacts.
async fn payers_and_billing(
    conn: &mut AnyConnection,
    customer_id: i64,
) -> Result<Vec<String>, DbError> {
    let mut recipients: Vec<String> = sqlx::query_scalar(
        "SELECT email FROM users WHERE customer_id = $1 AND role = 'payer' \
         AND disabled_at IS NULL ORDER BY email",
    )
    .bind(customer_id)
    .fetch_all(&mut *conn)
    .await?;
    for billing in crate::customers::store::billing_emails(&mut *conn, customer_id).await? {
        if !recipients.contains(&billing) {
            recipients.push(billing);
        }
    }
    Ok(recipients)
}

/// "$1,200.00 in 3 instalments (every month from 2027-01-15: $400.00, …) for INV-1, INV-2", in
/// a language (the audit log's is English).
fn plan_terms(
    locale: Locale,
    plan: &NewPlan,
    offered: &[PromisableInvoice],
    currency: Currency,
) -> String {
    let numbers = plan
        .invoices
        .iter()
        .filter_map(|(id, _)| offered.iter().find(|o| o.invoice_id == *id))
        .map(|o| o.number.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    tr!(
        locale,
        "plan.terms",
        total = locale.money(plan.total_minor(), currency),
        count = plan.instalments.len(),
        schedule = schedule_text(locale, &plan.instalments, currency),
        numbers = numbers
    )
}

fn schedule_text(locale: Locale, instalments: &[Instalment], currency: Currency) -> String {
    instalments
        .iter()
        .map(|i| {
            tr!(
                locale,
                "plan.instalment_on",
                amount = locale.money(i.amount_minor, currency),
                date = email_day(locale, i.due_date)
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The plan's note as a letter quotes it (AR's in English).
fn noted(locale: Locale, note: &str) -> String {
    if note.is_empty() {
        String::new()
    } else {
        tr!(locale, "plan.note", note = note)
    }
}

/// One plan of the account, read under the customer lock.
async fn read_plan(
    tx: &mut Transaction<'_, Any>,
    customer_id: i64,
    plan_id: i64,
) -> Result<PlanRow, PlanStoreError> {
    sqlx::query_as::<Any, PlanRow>(&select_plans("p.id = $1"))
        .bind(plan_id)
        .fetch_optional(&mut **tx)
        .await?
        .filter(|p| p.customer_id == customer_id)
        .ok_or(PlanStoreError::NotFound)
}

/// Moves a plan from one status to the next, fixing `paid_minor` when it closes. The
/// conditional update is the claim: a plan another instance changed first is refused.
async fn change_status(
    tx: &mut Transaction<'_, Any>,
    plan: &PlanRow,
    to: PlanStatus,
    today: NaiveDate,
    what: PlanStep,
) -> Result<(), PlanStoreError> {
    let closing = !to.is_open();
    // A plan that never ran (an offer or a request) had nothing paid towards it.
    let paid = if plan.status == PlanStatus::Active {
        (plan.total_minor - plan.outstanding).clamp(0, plan.total_minor)
    } else {
        0
    };
    let done = sqlx::query(
        "UPDATE payment_plans SET status = $1, closed_on = $2, paid_minor = $3 \
         WHERE id = $4 AND status = $5",
    )
    .bind(to.as_str())
    .bind(closing.then(|| date_text(today)))
    .bind(closing.then_some(paid))
    .bind(plan.id)
    .bind(plan.status.as_str())
    .execute(&mut **tx)
    .await?;
    if done.rows_affected() == 1 {
        Ok(())
    } else {
        Err(PlanStoreError::Closed(plan.status, what))
    }
}

/// What is due on the plan's invoices now must still be what the plan was proposed over
/// (otherwise the instalments no longer add up to it), and its first instalment's day must not
/// have passed (a plan agreed to late would start out late, and break at the next review).
async fn still_current(
    tx: &mut Transaction<'_, Any>,
    plan_id: i64,
    today: NaiveDate,
) -> Result<(), PlanStoreError> {
    let first = instalments_of(tx, plan_id)
        .await?
        .first()
        .map(|i| i.due_date);
    if first.is_none_or(|day| day < today) {
        return Err(PlanStoreError::StartPassed);
    }
    let changed: i64 = sqlx::query_scalar(&format!(
        "SELECT count(*) FROM payment_plan_invoices ppi JOIN invoices i ON i.id = ppi.invoice_id \
         WHERE ppi.plan_id = $1 AND ({DUE_NOW_SQL} <> ppi.due_minor OR i.pending_minor <> 0 \
         OR i.voided_at IS NOT NULL)"
    ))
    .bind(plan_id)
    .fetch_one(&mut **tx)
    .await?;
    if changed == 0 {
        Ok(())
    } else {
        Err(PlanStoreError::Stale)
    }
}

/// A payer accepts the plan staff offered: recorded with who, when and from which address; the
/// instalments become what is due on its invoices from now on.
pub async fn accept(
    db: &Db,
    customer_id: i64,
    plan_id: i64,
    today: NaiveDate,
    payer: PlanActor<'_>,
) -> Result<(), PlanStoreError> {
    let mut tx = db.begin_write().await?;
    let currency = lock_customer(&mut tx, db.engine(), customer_id).await?;
    let plan = read_plan(&mut tx, customer_id, plan_id).await?;
    if plan.status != PlanStatus::Offered {
        return Err(PlanStoreError::Closed(plan.status, PlanStep::Accepted));
    }
    still_current(&mut tx, plan_id, today).await?;
    let done = sqlx::query(
        "UPDATE payment_plans SET status = 'active', accepted_by = $1, accepted_at = $2, \
         accepted_from = $3 WHERE id = $4 AND status = 'offered'",
    )
    .bind(payer.user_id)
    .bind(now_text())
    .bind(payer.ip)
    .bind(plan_id)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() != 1 {
        return Err(PlanStoreError::Closed(plan.status, PlanStep::Accepted));
    }
    crate::audit::record(
        &mut *tx,
        Some(payer.user_id),
        payer.email,
        "plan.accept",
        &format!("customer:{customer_id}"),
        &format!("plan {plan_id} accepted"),
        payer.ip,
    )
    .await?;
    let recipients =
        crate::customers::store::contact_and_billing(&mut tx, customer_id, payer.email).await?;
    announce_active(&mut tx, &plan, currency, &recipients, payer.email).await?;
    tx.commit().await?;
    Ok(())
}

/// Staff approve a payer's request: the instalments the payer agreed to become what is due.
pub async fn approve(
    db: &Db,
    customer_id: i64,
    plan_id: i64,
    today: NaiveDate,
    staff: Actor<'_>,
) -> Result<(), PlanStoreError> {
    let mut tx = db.begin_write().await?;
    let currency = lock_customer(&mut tx, db.engine(), customer_id).await?;
    let plan = read_plan(&mut tx, customer_id, plan_id).await?;
    if plan.status != PlanStatus::Requested {
        return Err(PlanStoreError::Closed(plan.status, PlanStep::Approved));
    }
    still_current(&mut tx, plan_id, today).await?;
    let done = sqlx::query(
        "UPDATE payment_plans SET status = 'active', approved_by = $1 \
         WHERE id = $2 AND status = 'requested'",
    )
    .bind(staff.user_id)
    .bind(plan_id)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() != 1 {
        return Err(PlanStoreError::Closed(plan.status, PlanStep::Approved));
    }
    staff
        .record(
            &mut *tx,
            "plan.approve",
            &format!("customer:{customer_id}"),
            &format!("plan {plan_id} approved"),
        )
        .await?;
    let requester = plan.accepted_by.clone().unwrap_or_default();
    let recipients =
        crate::customers::store::contact_and_billing(&mut tx, customer_id, &requester).await?;
    announce_active(&mut tx, &plan, currency, &recipients, staff.name).await?;
    tx.commit().await?;
    Ok(())
}

async fn announce_active(
    tx: &mut Transaction<'_, Any>,
    plan: &PlanRow,
    currency: Currency,
    recipients: &[String],
    agreed_with: &str,
) -> Result<(), DbError> {
    let instalments = instalments_of(tx, plan.id).await?;
    let total = Money::from_minor(plan.total_minor, currency);
    let write = |locale: Locale| {
        let total = locale.money(plan.total_minor, currency);
        let body = tr!(
            locale,
            "plan.active.body",
            total = total,
            schedule = schedule_text(locale, &instalments, currency),
            days = plan.grace_days
        );
        (tr!(locale, "plan.active.subject", total = total), body)
    };
    queue_in_their_language(tx, recipients, "plan", None, write).await?;
    let customer = name_in(tx, plan.customer_id).await?;
    queue_to_staff(
        tx,
        &format!("Payment plan in place: {customer}, {total}"),
        &format!(
            "The payment plan for {customer} ({total}, {} instalments) is active; agreed by {agreed_with}.\n",
            instalments.len()
        ),
        "plan",
    )
    .await
}

/// A payer declines an offered plan. Audited; AR is told.
pub async fn decline(
    db: &Db,
    customer_id: i64,
    plan_id: i64,
    today: NaiveDate,
    payer: Actor<'_>,
) -> Result<(), PlanStoreError> {
    let mut tx = db.begin_write().await?;
    lock_customer(&mut tx, db.engine(), customer_id).await?;
    let plan = read_plan(&mut tx, customer_id, plan_id).await?;
    if plan.status != PlanStatus::Offered {
        return Err(PlanStoreError::Closed(plan.status, PlanStep::Declined));
    }
    change_status(
        &mut tx,
        &plan,
        PlanStatus::Declined,
        today,
        PlanStep::Declined,
    )
    .await?;
    payer
        .record(
            &mut *tx,
            "plan.decline",
            &format!("customer:{customer_id}"),
            &format!("plan {plan_id} declined"),
        )
        .await?;
    let customer = name_in(&mut tx, customer_id).await?;
    queue_to_staff(
        &mut tx,
        &format!("Payment plan declined by {customer}"),
        &format!(
            "{} declined the payment plan offered to {customer}. The invoices stay due as invoiced.\n",
            payer.name
        ),
        "plan",
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Staff withdraw an offer or a running plan, or decline a payer's request. The invoices are due
/// as invoiced again; the account's addressees are told. Audited.
pub async fn withdraw(
    db: &Db,
    customer_id: i64,
    plan_id: i64,
    today: NaiveDate,
    staff: Actor<'_>,
) -> Result<(), PlanStoreError> {
    let mut tx = db.begin_write().await?;
    lock_customer(&mut tx, db.engine(), customer_id).await?;
    let plan = read_plan(&mut tx, customer_id, plan_id).await?;
    let to = match plan.status {
        PlanStatus::Requested => PlanStatus::Declined,
        PlanStatus::Offered | PlanStatus::Active => PlanStatus::Withdrawn,
        closed => return Err(PlanStoreError::Closed(closed, PlanStep::Withdrawn)),
    };
    change_status(&mut tx, &plan, to, today, PlanStep::Withdrawn).await?;
    let action = if to == PlanStatus::Declined {
        "plan.decline"
    } else {
        "plan.withdraw"
    };
    staff
        .record(
            &mut *tx,
            action,
            &format!("customer:{customer_id}"),
            &format!("plan {plan_id} ({})", plan.status.as_str()),
        )
        .await?;
    let recipients = crate::customers::store::account_recipients(&mut tx, customer_id).await?;
    let write = |locale: Locale| match plan.status {
        PlanStatus::Requested => (
            tr!(locale, "plan.request.subject"),
            tr!(locale, "plan.declined.body"),
        ),
        PlanStatus::Offered => (
            tr!(locale, "plan.withdrawn.subject"),
            tr!(locale, "plan.withdrawn.body"),
        ),
        _ => (
            tr!(locale, "plan.ended.subject"),
            tr!(locale, "plan.ended.body"),
        ),
    };
    queue_in_their_language(&mut tx, &recipients, "plan", None, write).await?;
    tx.commit().await?;
    Ok(())
}

/// The review job as the audit log names it.
const REVIEW: Actor<'static> = Actor {
    user_id: None,
    name: "plan review",
};

/// The review job: for each active plan, in its own transaction under the customer lock,
/// closes it as completed once everything came in, or as broken once an instalment is more than
/// the grace days late (and what is on its way would not cover it); otherwise reminds of each
/// instalment [`REMIND_DAYS_BEFORE`] days ahead, once (the `reminded_on` claim).
pub async fn review(
    db: &Db,
    today: NaiveDate,
    public_base_url: &str,
) -> Result<PlanReview, DbError> {
    let active: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT id, customer_id FROM payment_plans WHERE status = 'active' ORDER BY id",
    )
    .fetch_all(db.pool())
    .await?;
    let mut summary = PlanReview::default();
    for (plan_id, customer_id) in active {
        let mut tx = db.begin_write().await?;
        let currency = lock_customer(&mut tx, db.engine(), customer_id)
            .await
            .map_err(|e| DbError::Corrupt(e.to_string()))?;
        let plan = match read_plan(&mut tx, customer_id, plan_id).await {
            Ok(plan) if plan.status == PlanStatus::Active => plan,
            Ok(_) => continue, // another instance closed it meanwhile
            Err(PlanStoreError::Db(e)) => return Err(e),
            Err(e) => return Err(DbError::Corrupt(e.to_string())),
        };
        let instalments = instalments_of(&mut tx, plan_id).await?;
        let now = standing(
            &instalments,
            plan.total_minor,
            plan.outstanding,
            plan.pending,
            plan.grace_days,
            today,
        );
        let subject = format!("customer:{customer_id}");
        // A hold placed since the plan was proposed counts towards it (that money is no longer
        // asked for), but the plan only completes once the disputes are resolved: a rejected
        // one makes the money due again.
        if now.completed(plan.total_minor) && plan.disputed_since == 0 {
            change_status(
                &mut tx,
                &plan,
                PlanStatus::Completed,
                today,
                PlanStep::Completed,
            )
            .await
            .map_err(|e| DbError::Corrupt(e.to_string()))?;
            REVIEW
                .record(
                    &mut *tx,
                    "plan.completed",
                    &subject,
                    &format!("plan {plan_id}"),
                )
                .await?;
            let recipients =
                crate::customers::store::account_recipients(&mut tx, customer_id).await?;
            let write = |locale: Locale| {
                let total = locale.money(plan.total_minor, currency);
                (
                    tr!(locale, "plan.paid.subject", total = total),
                    tr!(locale, "plan.paid.body"),
                )
            };
            queue_in_their_language(&mut tx, &recipients, "plan", None, write).await?;
            summary.completed += 1;
        } else if let Some(missed) = now.missed {
            change_status(&mut tx, &plan, PlanStatus::Broken, today, PlanStep::Broken)
                .await
                .map_err(|e| DbError::Corrupt(e.to_string()))?;
            REVIEW
                .record(
                    &mut *tx,
                    "plan.broken",
                    &subject,
                    &format!("plan {plan_id}: the instalment due {missed} was missed"),
                )
                .await?;
            announce_broken(&mut tx, &plan, currency, missed).await?;
            summary.broken += 1;
        } else if let Some(next) = now.next
            && next.due_date - chrono::Duration::days(REMIND_DAYS_BEFORE) <= today
        {
            let claimed = sqlx::query(
                "UPDATE payment_plan_instalments SET reminded_on = $1 \
                 WHERE plan_id = $2 AND seq = $3 AND reminded_on IS NULL",
            )
            .bind(date_text(today))
            .bind(plan_id)
            .bind(i64::from(next.seq))
            .execute(&mut *tx)
            .await?;
            if claimed.rows_affected() == 1 {
                let recipients =
                    crate::customers::store::account_recipients(&mut tx, customer_id).await?;
                let link = format!("{public_base_url}/");
                let write = |locale: Locale| {
                    let amount = locale.money(next.amount_minor, currency);
                    let date = email_day(locale, next.due_date);
                    let subject = tr!(
                        locale,
                        "plan.instalment.subject",
                        seq = next.seq,
                        amount = amount,
                        date = date
                    );
                    let body = tr!(
                        locale,
                        "plan.instalment.body",
                        seq = next.seq,
                        count = instalments.len(),
                        amount = amount,
                        date = date,
                        link = link,
                        days = plan.grace_days
                    );
                    (subject, body)
                };
                queue_in_their_language(&mut tx, &recipients, "plan", None, write).await?;
                summary.reminded += 1;
            }
        }
        tx.commit().await?;
    }
    Ok(summary)
}

async fn announce_broken(
    tx: &mut Transaction<'_, Any>,
    plan: &PlanRow,
    currency: Currency,
    missed: NaiveDate,
) -> Result<(), DbError> {
    let total = Money::from_minor(plan.total_minor, currency);
    let still_open = Money::from_minor(plan.outstanding.max(0), currency);
    let customer = name_in(tx, plan.customer_id).await?;
    let recipients = crate::customers::store::account_recipients(tx, plan.customer_id).await?;
    let write = |locale: Locale| {
        let subject = tr!(
            locale,
            "plan.broken.subject",
            total = locale.money(plan.total_minor, currency)
        );
        let body = tr!(
            locale,
            "plan.broken.body",
            date = email_day(locale, missed),
            open = locale.money(plan.outstanding.max(0), currency)
        );
        (subject, body)
    };
    queue_in_their_language(tx, &recipients, "plan", None, write).await?;
    queue_to_staff(
        tx,
        &format!("Payment plan broken: {customer}, instalment due {missed}"),
        &format!(
            "{customer} missed the instalment due {missed} of their payment plan for {total}; \
             {still_open} is still open.\nThe account is on the collections worklist.\n"
        ),
        "plan",
    )
    .await
}

#[cfg(all(test, feature = "test-support"))]
mod tests {
    use sqlx::Row;

    use super::*;
    use crate::collections::{CollectorFilter, NextAction};
    use crate::money::Currency;
    use crate::payments::PaymentMethod;
    use crate::payments::store::{OfflinePayment, record_offline_payment};
    use crate::reminders::Schedule;
    use crate::testing::fixtures::{self, date};
    use crate::testing::fresh_db;
    use crate::users::Role;

    const PAYER: &str = "payer@acme.example";
    const CLERK: &str = "clerk@ar.example";

    /// A net-30 customer with a payer and one $1,000.00 invoice due 2026-10-31, and a clerk.
    async fn account(db: &Db) -> (i64, i64, i64, i64) {
        let (customer, payer, invoice) =
            fixtures::payer_account(db, "C-1", PAYER, "INV-1", "2026-10-01").await;
        let clerk = fixtures::user(db, CLERK, "a long enough password", Role::Clerk, None).await;
        (customer, payer, invoice, clerk)
    }

    fn by(user_id: i64, email: &'static str) -> PlanActor<'static> {
        PlanActor {
            user_id,
            email,
            ip: "203.0.113.9",
        }
    }

    fn staff(clerk: i64) -> Actor<'static> {
        Actor {
            user_id: Some(clerk),
            name: CLERK,
        }
    }

    fn two_monthly(invoice: i64, first: &str) -> PlanDraft {
        PlanDraft {
            invoice_ids: vec![invoice],
            instalments: "2".into(),
            first_due: first.into(),
            interval: "monthly".into(),
            schedule: String::new(),
            note: String::new(),
            locale: Locale::En,
        }
    }

    async fn pay(db: &Db, customer: i64, reference: &str, minor: i64, day: &str) {
        let cheque = OfflinePayment {
            customer_id: customer,
            method: PaymentMethod::Cheque,
            amount: Money::from_minor(minor, Currency::Usd),
            received: date(day),
            reference: reference.into(),
            remitted: Vec::new(),
        };
        let clerk = Actor {
            user_id: None,
            name: CLERK,
        };
        record_offline_payment(db, &cheque, clerk).await.unwrap();
    }

    async fn subjects(db: &Db) -> Vec<(String, String)> {
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
    async fn an_accepted_plan_makes_its_instalments_what_is_due_until_one_is_missed() {
        let db = fresh_db().await;
        let (customer, payer, invoice, clerk) = account(&db).await;
        let today = date("2026-11-05");
        let plan = propose(
            &db,
            customer,
            &two_monthly(invoice, "2026-11-15"),
            today,
            by(clerk, CLERK),
            true,
        )
        .await
        .unwrap();
        assert_eq!(
            subjects(&db).await,
            vec![(PAYER.into(), "A payment plan is offered to you".into())]
        );
        let summary = |day: &'static str| {
            let db = db.clone();
            async move {
                crate::reports::store::account_summary(&db, customer, date(day))
                    .await
                    .unwrap()
                    .unwrap()
            }
        };
        // Offered, not accepted: the invoice is due as invoiced.
        assert_eq!(summary("2026-11-05").await.overdue_minor, 100_000);
        accept(&db, customer, plan, today, by(payer, PAYER))
            .await
            .unwrap();
        assert_eq!(audited(&db, "plan.accept").await, 1);
        let accepted_from: String =
            sqlx::query_scalar("SELECT accepted_from FROM payment_plans WHERE id = $1")
                .bind(plan)
                .fetch_one(db.pool())
                .await
                .unwrap();
        assert_eq!(accepted_from, "203.0.113.9");

        let before = summary("2026-11-05").await;
        assert_eq!(
            (before.due_now_minor, before.overdue_minor, before.next_due),
            (0, 0, Some((date("2026-11-15"), 50_000)))
        );
        let due = before.plan.unwrap();
        assert_eq!(due.next_items, vec![(invoice, 50_000)]);
        assert!(
            crate::checkout::store::everything_due(&db, customer, today)
                .await
                .unwrap()
                .is_empty()
        );
        let page = crate::collections::store::worklist(
            &db,
            CollectorFilter::Everyone,
            1,
            date("2026-11-05"),
        )
        .await
        .unwrap();
        assert_eq!(page.rows[0].next_action, NextAction::AwaitPlan);

        let schedule = Schedule::default();
        let remind = |day: &'static str| {
            let db = db.clone();
            let schedule = schedule.clone();
            async move {
                crate::reminders::store::run(&db, &schedule, date(day), "https://pay.example")
                    .await
                    .unwrap()
            }
        };
        let early = remind("2026-11-08").await;
        assert_eq!((early.sent, early.plans), (0, PlanReview::default()));
        let ahead = remind("2026-11-12").await;
        assert_eq!((ahead.sent, ahead.plans.reminded), (0, 1));
        assert_eq!(remind("2026-11-13").await.plans, PlanReview::default());
        let last = subjects(&db).await.pop().unwrap();
        assert_eq!(
            last,
            (
                PAYER.into(),
                "Instalment 1 of your payment plan: $500.00 due 2026-11-15".into()
            )
        );

        let on_the_day = summary("2026-11-15").await;
        assert_eq!(
            (on_the_day.due_now_minor, on_the_day.overdue_minor),
            (50_000, 0)
        );
        let items = crate::checkout::store::everything_due(&db, customer, date("2026-11-15"))
            .await
            .unwrap();
        assert_eq!(
            items,
            vec![crate::checkout::PayItem {
                invoice_id: invoice,
                amount_minor: 50_000
            }]
        );
        assert_eq!(summary("2026-11-17").await.overdue_minor, 50_000);
        pay(&db, customer, "CHQ-1", 50_000, "2026-11-18").await;
        assert_eq!(remind("2026-11-25").await.plans, PlanReview::default());
        let paid = summary("2026-11-25").await;
        assert_eq!(
            (paid.due_now_minor, paid.overdue_minor, paid.next_due),
            (0, 0, Some((date("2026-12-15"), 50_000)))
        );

        // The second instalment is not paid: five days of grace, then the plan breaks.
        assert_eq!(remind("2026-12-20").await.plans.broken, 0);
        let broke = remind("2026-12-21").await;
        assert_eq!(broke.plans.broken, 1);
        assert_eq!(audited(&db, "plan.broken").await, 1);
        let mail = subjects(&db).await;
        assert!(mail.contains(&(
            PAYER.into(),
            "Your payment plan for $1,000.00 has ended".into()
        )));
        assert!(mail.contains(&(
            CLERK.into(),
            "Payment plan broken: Customer, instalment due 2026-12-15".into()
        )));
        assert_eq!(remind("2026-12-22").await.sent, 1, "reminders resume");
        let after = summary("2026-12-22").await;
        assert_eq!((after.due_now_minor, after.plan), (50_000, None));
        let page = crate::collections::store::worklist(
            &db,
            CollectorFilter::Everyone,
            1,
            date("2026-12-22"),
        )
        .await
        .unwrap();
        assert_eq!(
            page.rows[0].next_action,
            NextAction::CallAboutBrokenPlan {
                broke_on: date("2026-12-21")
            }
        );
        let views = customer_plans(&db, customer, date("2026-12-22"))
            .await
            .unwrap();
        assert_eq!(
            (views[0].status, views[0].standing.paid_minor),
            (PlanStatus::Broken, 50_000)
        );
    }

    #[tokio::test]
    async fn a_payers_request_waits_for_staff_and_takes_its_invoices_from_promises_and_other_plans()
    {
        let db = fresh_db().await;
        let (customer, payer, invoice, clerk) = account(&db).await;
        let today = date("2026-11-05");
        let plan = propose(
            &db,
            customer,
            &two_monthly(invoice, "2026-11-20"),
            today,
            by(payer, PAYER),
            false,
        )
        .await
        .unwrap();
        let mail = subjects(&db).await;
        assert_eq!(
            mail[0],
            (PAYER.into(), "Your request for a payment plan".into())
        );
        assert_eq!(
            mail[1],
            (CLERK.into(), "Payment plan requested by Customer".into())
        );
        let again = propose(
            &db,
            customer,
            &two_monthly(invoice, "2026-11-20"),
            today,
            by(clerk, CLERK),
            true,
        )
        .await;
        assert!(
            matches!(again, Err(PlanStoreError::AlreadyOpen)),
            "{again:?}"
        );
        let promisable = crate::promises::store::offer(&db, customer, today)
            .await
            .unwrap()
            .unwrap();
        assert!(promisable.invoices.is_empty(), "a plan covers it");
        let refused = accept(&db, customer, plan, today, by(payer, PAYER)).await;
        assert!(
            matches!(
                refused,
                Err(PlanStoreError::Closed(
                    PlanStatus::Requested,
                    PlanStep::Accepted
                ))
            ),
            "{refused:?}"
        );
        approve(&db, customer, plan, today, staff(clerk))
            .await
            .unwrap();
        assert_eq!(audited(&db, "plan.approve").await, 1);
        assert_eq!(
            subjects(&db).await.last().unwrap().1,
            "Payment plan in place: Customer, $1,000.00"
        );
        // Paying everything ahead completes the plan at the next review.
        pay(&db, customer, "CHQ-1", 100_000, "2026-11-10").await;
        let reviewed = review(&db, date("2026-11-10"), "https://pay.example")
            .await
            .unwrap();
        assert_eq!(reviewed.completed, 1);
        assert_eq!(
            review(&db, date("2026-11-10"), "https://pay.example")
                .await
                .unwrap(),
            PlanReview::default()
        );
        let views = customer_plans(&db, customer, today).await.unwrap();
        assert_eq!(
            (views[0].status, views[0].standing.paid_minor),
            (PlanStatus::Completed, 100_000)
        );
    }

    #[tokio::test]
    async fn a_dispute_opened_while_a_plan_runs_is_not_asked_for_but_keeps_the_plan_from_completing()
     {
        use crate::disputes::store::{Actor as DisputeActor, NewDispute, Scope, open_dispute};
        use crate::disputes::{DisputeReason, DisputedLine};
        let db = fresh_db().await;
        let (customer, payer, invoice, clerk) = account(&db).await;
        let today = date("2026-11-05");
        let plan = propose(
            &db,
            customer,
            &two_monthly(invoice, "2026-11-15"),
            today,
            by(clerk, CLERK),
            true,
        )
        .await
        .unwrap();
        accept(&db, customer, plan, today, by(payer, PAYER))
            .await
            .unwrap();
        open_dispute(
            &db,
            &NewDispute {
                customer_id: customer,
                invoice_id: invoice,
                opened_by: DisputeActor {
                    user_id: payer,
                    email: PAYER,
                    scope: Scope::Customer(customer),
                },
                lines: vec![DisputedLine {
                    invoice_line_id: fixtures::line_ids(&db, invoice).await[0],
                    reason: DisputeReason::Damaged,
                    amount_minor: 10_000,
                }],
                message: "One unit arrived broken.".into(),
                attachments: Vec::new(),
            },
        )
        .await
        .unwrap();
        let mut conn = db.pool().acquire().await.unwrap();
        let standing = active_plan(&mut conn, customer, date("2026-11-15"))
            .await
            .unwrap()
            .unwrap()
            .standing;
        drop(conn);
        // The held 100.00 is no longer asked for: 400.00 of the first instalment is due.
        assert_eq!(
            (standing.paid_minor, standing.due_now_minor),
            (10_000, 40_000)
        );
        pay(&db, customer, "CHQ-1", 90_000, "2026-11-15").await;
        let reviewed = review(&db, date("2026-11-16"), "https://pay.example")
            .await
            .unwrap();
        assert_eq!(reviewed, PlanReview::default(), "waits for the dispute");
        let views = customer_plans(&db, customer, today).await.unwrap();
        assert_eq!(views[0].status, PlanStatus::Active);
        assert_eq!(views[0].standing.next, None, "nothing more is asked for");
    }

    #[tokio::test]
    async fn an_offer_cannot_be_accepted_once_what_is_due_on_its_invoices_changed() {
        let db = fresh_db().await;
        let (customer, payer, invoice, clerk) = account(&db).await;
        let today = date("2026-11-05");
        let plan = propose(
            &db,
            customer,
            &two_monthly(invoice, "2026-11-20"),
            today,
            by(clerk, CLERK),
            true,
        )
        .await
        .unwrap();
        // Accepted after its first instalment's day, a plan would start out late.
        let late = accept(&db, customer, plan, date("2026-11-21"), by(payer, PAYER)).await;
        assert!(matches!(late, Err(PlanStoreError::StartPassed)), "{late:?}");
        pay(&db, customer, "CHQ-1", 10_000, "2026-11-06").await;
        let stale = accept(&db, customer, plan, today, by(payer, PAYER)).await;
        assert!(matches!(stale, Err(PlanStoreError::Stale)), "{stale:?}");
        withdraw(&db, customer, plan, today, staff(clerk))
            .await
            .unwrap();
        assert_eq!(audited(&db, "plan.withdraw").await, 1);
        let twice = withdraw(&db, customer, plan, today, staff(clerk)).await;
        assert!(
            matches!(twice, Err(PlanStoreError::Closed(PlanStatus::Withdrawn, _))),
            "{twice:?}"
        );
        let wrong_account = decline(&db, customer + 1, plan, today, staff(clerk)).await;
        assert!(
            matches!(
                wrong_account,
                Err(PlanStoreError::UnknownCustomer | PlanStoreError::NotFound)
            ),
            "{wrong_account:?}"
        );
    }

    #[tokio::test]
    async fn a_payer_who_reads_german_is_offered_the_plan_and_told_it_is_in_place_in_german() {
        let db = fresh_db().await;
        let (customer, payer, invoice, clerk) = account(&db).await;
        sqlx::query("UPDATE users SET locale = 'de' WHERE email = $1")
            .bind(PAYER)
            .execute(db.pool())
            .await
            .unwrap();
        let today = date("2026-11-05");
        let plan = propose(
            &db,
            customer,
            &two_monthly(invoice, "2026-11-15"),
            today,
            by(clerk, CLERK),
            true,
        )
        .await
        .unwrap();
        accept(&db, customer, plan, today, by(payer, PAYER))
            .await
            .unwrap();
        let mail: Vec<(String, String)> =
            sqlx::query("SELECT subject, body FROM outbox WHERE recipient = $1 ORDER BY id")
                .bind(PAYER)
                .fetch_all(db.pool())
                .await
                .unwrap()
                .iter()
                .map(|r| (r.get(0), r.get(1)))
                .collect();
        assert_eq!(mail[0].0, "Ihnen wird eine Ratenzahlung angeboten");
        assert!(
            mail[0].1.contains(
                "bietet Customer eine Ratenzahlung an: 1.000,00 $ in 2 Raten (500,00 $ am \
                 15. Nov. 2026, 500,00 $ am 15. Dez. 2026) für die Rechnung(en) INV-1."
            ),
            "{}",
            mail[0].1
        );
        assert_eq!(
            mail[1].0,
            "Ihre Ratenzahlung über 1.000,00 $ ist vereinbart"
        );
        assert!(mail[1].1.starts_with("Guten Tag,"), "{}", mail[1].1);
        // What staff read stays English.
        let detail: String =
            sqlx::query_scalar("SELECT detail FROM audit_log WHERE action = 'plan.offer'")
                .fetch_one(db.pool())
                .await
                .unwrap();
        assert!(
            detail.ends_with(
                "$1,000.00 in 2 instalments ($500.00 on 2026-11-15, $500.00 on 2026-12-15) \
                 for invoice(s) INV-1"
            ),
            "{detail}"
        );
    }
}
