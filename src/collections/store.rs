//! The collections worklist in the database: one query ranks every account with something to
//! chase (its tier is [`super::tier`] written as SQL, checked against it in the tests) and pages
//! through them; notes and assignments are written audited.

use chrono::NaiveDate;
use sqlx::{Any, FromRow};

use super::{
    AccountFacts, CollectionNote, CollectorFilter, Contact, ESCALATE_AFTER_DAYS,
    FAILED_PAYMENT_DAYS, NOTE_MAX_CHARS, PAGE_SIZE, Worklist, WorklistRow, next_action, tier,
};
use crate::audit::Actor;
use crate::db::{Db, DbError, MaybeDay, date_text, now_text};
use crate::promises::BROKEN_PROMISE_DAYS;
use crate::receivables::{DUE_NOW_SQL, HELD_OF_OPEN_SQL};

#[derive(Debug, thiserror::Error)]
pub enum CollectionsError {
    #[error("{0}")]
    Invalid(String),
    #[error("there is no such customer")]
    UnknownCustomer,
    #[error("only active AR staff can chase an account")]
    NotStaff,
    #[error(transparent)]
    Db(#[from] DbError),
}

crate::from_sqlx_error!(CollectionsError);

/// [`super::tier`] over the columns of `facts`; 6: nothing to chase.
const TIER_SQL: &str = "CAST(CASE \
     WHEN unpromised > 0 AND (broken_promise IS NOT NULL OR broken_plan IS NOT NULL) THEN 0 \
     WHEN unpromised > 0 AND failed_payments > 0 THEN 1 \
     WHEN unpromised > 0 AND oldest_unpromised < $2 THEN 2 \
     WHEN unpromised > 0 THEN 3 \
     WHEN overdue > 0 AND (promised_by IS NOT NULL OR on_plan > 0) THEN 4 \
     WHEN in_dispute > 0 THEN 5 ELSE 6 END AS BIGINT)";

#[derive(FromRow)]
struct RankedRow {
    customer_id: i64,
    number: String,
    name: String,
    currency: String,
    overdue: i64,
    unpromised: i64,
    on_plan: i64,
    #[sqlx(try_from = "MaybeDay")]
    oldest_unpromised: Option<NaiveDate>,
    in_dispute: i64,
    #[sqlx(try_from = "MaybeDay")]
    promised_by: Option<NaiveDate>,
    #[sqlx(try_from = "MaybeDay")]
    broken_promise: Option<NaiveDate>,
    #[sqlx(try_from = "MaybeDay")]
    broken_plan: Option<NaiveDate>,
    failed_payments: i64,
    tier: i64,
    collector_id: Option<i64>,
    collector_name: Option<String>,
    last_reminder: Option<String>,
    total: i64,
}

/// One page (from 1) of the worklist on `today`, worst first.
pub async fn worklist(
    db: &Db,
    collector: CollectorFilter,
    page: i64,
    today: NaiveDate,
) -> Result<Worklist, DbError> {
    let page = page.max(1);
    let whose = match collector {
        CollectorFilter::Everyone => "",
        CollectorFilter::Unassigned => "AND collector_id IS NULL",
        CollectorFilter::User(_) => "AND collector_id = $7",
    };
    // The accounts' facts over their open invoices, ranked; then, for the page's rows only,
    // the collector's name and the last reminder.
    let sql = format!(
        "WITH promised AS ( \
           SELECT pi.invoice_id, min(p.pay_by) AS pay_by FROM payment_promise_invoices pi \
           JOIN payment_promises p ON p.id = pi.promise_id WHERE p.status = 'open' \
           GROUP BY pi.invoice_id), \
         planned AS ( \
           SELECT ppi.invoice_id FROM payment_plan_invoices ppi \
           JOIN payment_plans pp ON pp.id = ppi.plan_id WHERE pp.status = 'active'), \
         accounts AS ( \
           SELECT i.customer_id, \
             CAST(sum(CASE WHEN i.due_date < $1 THEN {DUE_NOW_SQL} ELSE 0 END) AS BIGINT) AS overdue, \
             min(CASE WHEN i.due_date < $1 AND {DUE_NOW_SQL} > 0 THEN i.due_date END) AS oldest_overdue, \
             CAST(sum(CASE WHEN i.due_date < $1 AND pr.invoice_id IS NULL AND pl.invoice_id IS NULL THEN {DUE_NOW_SQL} ELSE 0 END) AS BIGINT) AS unpromised, \
             CAST(sum(CASE WHEN i.due_date < $1 AND pl.invoice_id IS NOT NULL THEN {DUE_NOW_SQL} ELSE 0 END) AS BIGINT) AS on_plan, \
             min(CASE WHEN i.due_date < $1 AND {DUE_NOW_SQL} > 0 AND pr.invoice_id IS NULL AND pl.invoice_id IS NULL THEN i.due_date END) AS oldest_unpromised, \
             min(CASE WHEN i.due_date < $1 AND {DUE_NOW_SQL} > 0 THEN pr.pay_by END) AS promised_by, \
             CAST(sum({HELD_OF_OPEN_SQL}) AS BIGINT) AS in_dispute \
           FROM invoices i LEFT JOIN promised pr ON pr.invoice_id = i.id \
           LEFT JOIN planned pl ON pl.invoice_id = i.id \
           WHERE i.open_minor > 0 GROUP BY i.customer_id), \
         broken_promises AS ( \
           SELECT customer_id, max(pay_by) AS broken_promise FROM payment_promises \
           WHERE status = 'broken' AND closed_on > $6 GROUP BY customer_id), \
         broken_plans AS ( \
           SELECT customer_id, max(closed_on) AS broken_plan FROM payment_plans \
           WHERE status = 'broken' AND closed_on > $6 GROUP BY customer_id), \
         failed AS ( \
           SELECT customer_id, count(*) AS failed_payments FROM checkouts \
           WHERE (status = 'returned' OR (status = 'failed' AND (submitted_event_at IS NOT NULL \
             OR id IN (SELECT checkout_id FROM autopay_charges)))) \
             AND updated_at >= $3 GROUP BY customer_id), \
         facts AS ( \
           SELECT a.*, c.number, c.name, c.currency, c.collector_id, \
             bp.broken_promise, bpl.broken_plan, COALESCE(fp.failed_payments, 0) AS failed_payments \
           FROM accounts a JOIN customers c ON c.id = a.customer_id \
           LEFT JOIN broken_promises bp ON bp.customer_id = a.customer_id \
           LEFT JOIN broken_plans bpl ON bpl.customer_id = a.customer_id \
           LEFT JOIN failed fp ON fp.customer_id = a.customer_id), \
         ranked AS (SELECT f.*, {TIER_SQL} AS tier, \
           COALESCE(f.oldest_unpromised, f.oldest_overdue, '9999-12-31') AS oldest FROM facts f) \
         SELECT page.*, u.display_name AS collector_name, \
           (SELECT max(r.sent_on) FROM reminders r JOIN invoices ri ON ri.id = r.invoice_id \
             WHERE ri.customer_id = page.customer_id) AS last_reminder \
         FROM (SELECT ranked.*, count(*) OVER () AS total FROM ranked WHERE tier < 6 {whose} \
               ORDER BY tier, oldest, overdue DESC, customer_id LIMIT $4 OFFSET $5) page \
         LEFT JOIN users u ON u.id = page.collector_id \
         ORDER BY page.tier, page.oldest, page.overdue DESC, page.customer_id"
    );
    let mut query = sqlx::query_as::<Any, RankedRow>(&sql)
        .bind(date_text(today))
        .bind(date_text(
            today - chrono::Duration::days(ESCALATE_AFTER_DAYS),
        ))
        .bind(date_text(
            today - chrono::Duration::days(FAILED_PAYMENT_DAYS),
        ))
        .bind(PAGE_SIZE)
        .bind((page - 1) * PAGE_SIZE)
        .bind(date_text(
            today - chrono::Duration::days(BROKEN_PROMISE_DAYS),
        ));
    if let CollectorFilter::User(id) = collector {
        query = query.bind(id);
    }
    let rows = query.fetch_all(db.pool()).await?;
    let total = rows.first().map(|r| r.total).unwrap_or(0);
    let notes = notes_of(db, rows.iter().map(|r| r.customer_id)).await?;
    let rows = rows
        .into_iter()
        .map(|r| row(r, &notes, today))
        .collect::<Result<_, _>>()?;
    Ok(Worklist {
        rows,
        total,
        page,
        staff: crate::users::store::staff_members(db).await?,
        notes,
    })
}

fn row(r: RankedRow, notes: &[CollectionNote], today: NaiveDate) -> Result<WorklistRow, DbError> {
    let facts = AccountFacts {
        overdue_minor: r.overdue,
        unpromised_minor: r.unpromised,
        on_plan_minor: r.on_plan,
        oldest_unpromised: r.oldest_unpromised,
        in_dispute_minor: r.in_dispute,
        promised_by: r.promised_by,
        broken_promise: r.broken_promise,
        broken_plan: r.broken_plan,
        failed_payments: r.failed_payments,
    };
    let Some(next_action) = next_action(&facts, today) else {
        return Err(DbError::Corrupt(format!(
            "the worklist listed account {} (tier {}) with nothing to chase",
            r.customer_id, r.tier
        )));
    };
    // The SQL ranked it; the Rust rule must agree, or the pages are out of order.
    if tier(&next_action) != r.tier {
        return Err(DbError::Corrupt(format!(
            "the worklist ranked account {} at tier {}, its next action is tier {}",
            r.customer_id,
            r.tier,
            tier(&next_action)
        )));
    }
    // Notes are newest first: the first of this account's is its latest.
    let note = notes
        .iter()
        .find(|n| n.customer_id == r.customer_id)
        .map(|n| Contact {
            at: n.at.clone(),
            what: format!("Note by {}", n.author),
        });
    let reminder = r.last_reminder.map(|day| Contact {
        at: day,
        what: "Reminder sent".into(),
    });
    // A note written on the day of a reminder is the later contact (a time sorts after its day).
    let last_contact = match (note, reminder) {
        (Some(n), Some(r)) => Some(if n.at >= r.at { n } else { r }),
        (n, r) => n.or(r),
    };
    Ok(WorklistRow {
        customer_id: r.customer_id,
        number: r.number,
        name: r.name,
        currency: crate::db::currency(&r.currency)?,
        facts,
        collector: r.collector_id.zip(r.collector_name),
        last_contact,
        next_action,
    })
}

/// The notes the worklist shows per account.
const NOTES_PER_ACCOUNT: i64 = 5;

/// The latest notes ([`NOTES_PER_ACCOUNT`] per account) on these accounts, newest first.
async fn notes_of(
    db: &Db,
    customers: impl Iterator<Item = i64>,
) -> Result<Vec<CollectionNote>, DbError> {
    let ids: Vec<i64> = customers.collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders: Vec<String> = (1..=ids.len()).map(|n| format!("${n}")).collect();
    let sql = format!(
        "SELECT customer_id, at, author, body FROM ( \
           SELECT n.id, n.customer_id, n.created_at AS at, u.display_name AS author, n.body, \
             row_number() OVER (PARTITION BY n.customer_id ORDER BY n.id DESC) AS nth \
           FROM collection_notes n JOIN users u ON u.id = n.author_id \
           WHERE n.customer_id IN ({})) latest \
         WHERE nth <= {NOTES_PER_ACCOUNT} ORDER BY id DESC",
        placeholders.join(", ")
    );
    let mut query = sqlx::query_as::<Any, CollectionNote>(&sql);
    for id in &ids {
        query = query.bind(*id);
    }
    Ok(query.fetch_all(db.pool()).await?)
}

/// Staff note what happened with an account (a call, a letter, what was agreed). Audited.
pub async fn add_note(
    db: &Db,
    customer_id: i64,
    body: &str,
    author: Actor<'_>,
) -> Result<(), CollectionsError> {
    let body = body.trim();
    if body.is_empty() {
        return Err(CollectionsError::Invalid("Write the note first.".into()));
    }
    if body.chars().count() > NOTE_MAX_CHARS {
        return Err(CollectionsError::Invalid(format!(
            "A note can be at most {NOTE_MAX_CHARS} characters."
        )));
    }
    let author_id = author.user_id.ok_or(CollectionsError::NotStaff)?;
    let mut tx = db.begin_write().await?;
    customer_exists(&mut tx, customer_id).await?;
    sqlx::query(
        "INSERT INTO collection_notes (customer_id, author_id, body, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(customer_id)
    .bind(author_id)
    .bind(body)
    .bind(now_text())
    .execute(&mut *tx)
    .await?;
    author
        .record(
            &mut *tx,
            "collections.note",
            &format!("customer:{customer_id}"),
            body,
        )
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Sets (or with `None` clears) the member of staff who chases an account. Audited.
pub async fn assign_collector(
    db: &Db,
    customer_id: i64,
    collector: Option<i64>,
    actor: Actor<'_>,
) -> Result<(), CollectionsError> {
    let mut tx = db.begin_write().await?;
    customer_exists(&mut tx, customer_id).await?;
    let name: Option<String> = match collector {
        Some(id) => Some(
            sqlx::query_scalar(
                "SELECT display_name FROM users WHERE id = $1 \
                 AND role IN ('clerk', 'manager') AND disabled_at IS NULL",
            )
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(CollectionsError::NotStaff)?,
        ),
        None => None,
    };
    sqlx::query("UPDATE customers SET collector_id = $1 WHERE id = $2")
        .bind(collector)
        .bind(customer_id)
        .execute(&mut *tx)
        .await?;
    actor
        .record(
            &mut *tx,
            "collections.assign",
            &format!("customer:{customer_id}"),
            name.as_deref().unwrap_or("nobody"),
        )
        .await?;
    tx.commit().await?;
    Ok(())
}

async fn customer_exists(
    tx: &mut sqlx::Transaction<'_, Any>,
    customer_id: i64,
) -> Result<(), CollectionsError> {
    let found: Option<i64> = sqlx::query_scalar("SELECT id FROM customers WHERE id = $1")
        .bind(customer_id)
        .fetch_optional(&mut **tx)
        .await?;
    found.map(|_| ()).ok_or(CollectionsError::UnknownCustomer)
}

#[cfg(all(test, feature = "test-support"))]
mod tests {
    use super::*;
    use crate::collections::{NextAction, tier};
    use crate::promises::PromiseDraft;
    use crate::promises::store::{MadeBy, make_promise, review};
    use crate::testing::fixtures::{self, date};
    use crate::testing::fresh_db;
    use crate::users::Role;

    const TODAY: &str = "2026-12-05";

    /// A customer named `name` with one $1,000.00 net-30 invoice issued on `issued`, and a payer.
    async fn account(db: &Db, name: &str, issued: &str) -> (i64, i64, i64) {
        let payer = format!("payer@{}.example", name.to_lowercase());
        let account =
            fixtures::payer_account(db, name, &payer, &format!("INV-{name}"), issued).await;
        sqlx::query("UPDATE customers SET name = $1 WHERE id = $2")
            .bind(name)
            .bind(account.0)
            .execute(db.pool())
            .await
            .unwrap();
        account
    }

    async fn promise(db: &Db, (customer, payer, invoice): (i64, i64, i64), on: &str, by: &str) {
        let draft = PromiseDraft {
            invoice_ids: vec![invoice],
            pay_by: by.into(),
            ..PromiseDraft::default()
        };
        let made_by = MadeBy {
            user_id: payer,
            email: "payer@example.com",
            ip: "",
            by_staff: false,
        };
        make_promise(db, customer, &draft, date(on), made_by)
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn the_worklist_puts_broken_promises_first_waits_on_open_ones_and_keeps_disputes_apart() {
        let db = fresh_db().await;
        account(&db, "Aged", "2026-08-01").await;
        account(&db, "Recent", "2026-10-26").await;
        // Due 60 and 61 days before today: either side of escalation, in SQL as in Rust.
        account(&db, "Sixty", "2026-09-06").await;
        account(&db, "SixtyOne", "2026-09-05").await;
        let broken = account(&db, "Broken", "2026-10-26").await;
        promise(&db, broken, "2026-11-26", "2026-11-28").await;
        review(&db, date("2026-11-29")).await.unwrap();
        let waiting = account(&db, "Waiting", "2026-10-26").await;
        promise(&db, waiting, "2026-12-01", "2026-12-10").await;
        let (_, _, disputed) = account(&db, "Disputed", "2026-10-26").await;
        sqlx::query("UPDATE invoices SET held_minor = open_minor WHERE id = $1")
            .bind(disputed)
            .execute(db.pool())
            .await
            .unwrap();
        account(&db, "NotDue", "2026-11-20").await;

        let list = worklist(&db, CollectorFilter::Everyone, 1, date(TODAY))
            .await
            .unwrap();
        let names: Vec<&str> = list.rows.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "Broken", "Aged", "SixtyOne", "Sixty", "Recent", "Waiting", "Disputed"
            ]
        );
        assert_eq!(list.total, 7);
        let tiers: Vec<i64> = list.rows.iter().map(|r| tier(&r.next_action)).collect();
        assert_eq!(tiers, [0, 2, 2, 3, 3, 4, 5]);
        assert_eq!(
            list.rows[0].next_action,
            NextAction::CallAboutBrokenPromise {
                pay_by: date("2026-11-28")
            }
        );
        assert_eq!(
            list.rows[1].next_action,
            NextAction::Escalate { days_overdue: 96 }
        );
        assert_eq!(
            list.rows[3].next_action,
            NextAction::FollowUp { days_overdue: 60 }
        );
        assert_eq!(
            list.rows[5].next_action,
            NextAction::AwaitPromise {
                pay_by: date("2026-12-10")
            }
        );
        assert_eq!(list.rows[5].facts.unpromised_minor, 0);
        assert_eq!(list.rows[5].facts.overdue_minor, 100_000);
        assert_eq!(list.rows[6].facts.in_dispute_minor, 100_000);
        assert_eq!(list.rows[6].facts.overdue_minor, 0);
    }

    #[tokio::test]
    async fn notes_are_the_last_contact_and_an_account_can_be_given_to_a_clerk() {
        let db = fresh_db().await;
        let (customer, payer, _) = account(&db, "Aged", "2026-08-01").await;
        account(&db, "Recent", "2026-10-26").await;
        let clerk = fixtures::user(
            &db,
            "clerk@ar.example",
            "a long enough password",
            Role::Clerk,
            None,
        )
        .await;
        let actor = Actor {
            user_id: Some(clerk),
            name: "clerk@ar.example",
        };
        assert!(matches!(
            add_note(&db, customer, "   ", actor).await,
            Err(CollectionsError::Invalid(_))
        ));
        assert!(matches!(
            add_note(&db, 9_999, "Called.", actor).await,
            Err(CollectionsError::UnknownCustomer)
        ));
        add_note(&db, customer, "Called AP; they pay on Friday.", actor)
            .await
            .unwrap();
        assert!(matches!(
            assign_collector(&db, customer, Some(payer), actor).await,
            Err(CollectionsError::NotStaff)
        ));
        assign_collector(&db, customer, Some(clerk), actor)
            .await
            .unwrap();

        let today = date(TODAY);
        let mine = worklist(&db, CollectorFilter::User(clerk), 1, today)
            .await
            .unwrap();
        assert_eq!(mine.total, 1);
        let row = &mine.rows[0];
        assert_eq!(row.collector, Some((clerk, "clerk@ar.example".to_string())));
        assert_eq!(
            row.last_contact.as_ref().map(|c| c.what.as_str()),
            Some("Note by clerk@ar.example")
        );
        assert_eq!(mine.notes[0].body, "Called AP; they pay on Friday.");
        let unassigned = worklist(&db, CollectorFilter::Unassigned, 1, today)
            .await
            .unwrap();
        assert_eq!(unassigned.rows[0].name, "Recent");
        assert_eq!(unassigned.total, 1);
        let audited: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM audit_log WHERE action IN ('collections.note', 'collections.assign')",
        )
        .fetch_one(db.pool())
        .await
        .unwrap();
        assert_eq!(audited, 2);
        let beyond = worklist(&db, CollectorFilter::Everyone, 2, today)
            .await
            .unwrap();
        assert!(beyond.rows.is_empty());
    }
}
