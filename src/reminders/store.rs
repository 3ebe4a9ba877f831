//! The reminder job: finds invoices at a schedule step they have not been reminded of, and
//! queues one message per step per invoice. The `reminders (invoice_id, step_days)` key is the
//! claim: when several server instances run the job at once, exactly one inserts the row, and
//! only that one queues the message, in the same transaction.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use chrono::NaiveDate;
use sqlx::{Any, Row, Transaction};

use super::{ReminderRun, Schedule};
use crate::customers::store::account_recipients;
use crate::db::{Db, DbError, date_text};
use crate::locale::Locale;
use crate::outbox::store::queue_in_their_language;
use crate::receivables::{ON_ACTIVE_PLAN_SQL, due_now};
use crate::tr;

/// Invoices handled per write transaction: short enough not to hold the write lock for long.
const BATCH: usize = 200;

struct Candidate {
    invoice_id: i64,
    customer_id: i64,
    number: String,
    currency: String,
    step: i64,
}

/// Runs the reminder job for `today`. Links in the messages start with `public_base_url`.
pub async fn run(
    db: &Db,
    schedule: &Schedule,
    today: NaiveDate,
    public_base_url: &str,
) -> Result<ReminderRun, DbError> {
    let mut summary = ReminderRun::default();
    let candidates = candidates(db, schedule, today).await?;
    // Read once per customer per run, not once per invoice.
    let mut recipients_by_customer = HashMap::new();
    for batch in candidates.chunks(BATCH) {
        let mut tx = db.begin_write().await?;
        for candidate in batch {
            remind(
                &mut tx,
                candidate,
                today,
                public_base_url,
                &mut recipients_by_customer,
                &mut summary,
            )
            .await?;
        }
        tx.commit().await?;
    }
    // Then the promises to pay, closed as kept or broken. Reminders do not wait for this: a
    // promise whose day has passed no longer pauses anything, reviewed or not.
    summary.promises = crate::promises::store::review(db, today).await?;
    summary.plans = crate::plans::store::review(db, today, public_base_url).await?;
    Ok(summary)
}

/// Open invoices at a step with no reminder at that step or a later one.
async fn candidates(
    db: &Db,
    schedule: &Schedule,
    today: NaiveDate,
) -> Result<Vec<Candidate>, DbError> {
    let steps = schedule.steps();
    let Some(first) = steps.first() else {
        return Ok(Vec::new());
    };
    // The latest step reached, as SQL: due on or before today − step, latest step first.
    let mut step_case = String::from("CASE");
    for (i, step) in steps.iter().enumerate().rev() {
        step_case.push_str(&format!(" WHEN i.due_date <= ${} THEN {step}", i + 2));
    }
    step_case.push_str(" END");
    // A promise to pay not yet due pauses the invoice's reminders; an active payment plan
    // reminds of its own instalments (`plans::store::review`).
    let paused = crate::promises::store::paused_by_promise_sql(steps.len() + 2);
    let sql = format!(
        "SELECT id, customer_id, number, currency, step FROM ( \
           SELECT i.id, i.customer_id, i.number, i.currency, {step_case} AS step \
           FROM invoices i WHERE i.open_minor > 0 AND i.due_date <= $1 AND NOT {paused} \
             AND NOT {ON_ACTIVE_PLAN_SQL}) c \
         WHERE NOT EXISTS (SELECT 1 FROM reminders r WHERE r.invoice_id = c.id AND r.step_days >= c.step) \
         ORDER BY id"
    );
    let limit = |step: i64| date_text(today - chrono::Duration::days(step));
    let mut query = sqlx::query(&sql).bind(limit(*first));
    for step in steps {
        query = query.bind(limit(*step));
    }
    query = query.bind(date_text(today));
    query
        .fetch_all(db.pool())
        .await?
        .iter()
        .map(|row| {
            Ok(Candidate {
                invoice_id: row.try_get("id")?,
                customer_id: row.try_get("customer_id")?,
                number: row.try_get("number")?,
                currency: row.try_get("currency")?,
                step: row.try_get("step")?,
            })
        })
        .collect()
}

async fn remind(
    tx: &mut Transaction<'_, Any>,
    candidate: &Candidate,
    today: NaiveDate,
    public_base_url: &str,
    recipients_by_customer: &mut HashMap<i64, Vec<String>>,
    summary: &mut ReminderRun,
) -> Result<(), DbError> {
    let amounts = sqlx::query(
        "SELECT open_minor, held_minor, pending_minor, due_date FROM invoices WHERE id = $1",
    )
    .bind(candidate.invoice_id)
    .fetch_one(&mut **tx)
    .await?;
    let (open, held, pending): (i64, i64, i64) = (
        amounts.try_get(0)?,
        amounts.try_get(1)?,
        amounts.try_get(2)?,
    );
    // What is in dispute or already on its way is not asked for.
    let due = due_now(open, held, pending);
    if due == 0 {
        summary.held += 1;
        return Ok(());
    }
    let recipients = match recipients_by_customer.entry(candidate.customer_id) {
        Entry::Occupied(known) => known.into_mut(),
        Entry::Vacant(slot) => {
            let all = account_recipients(tx, candidate.customer_id).await?;
            slot.insert(crate::outbox::store::who_wants(tx, all, "reminder").await?)
        }
    };
    if recipients.is_empty() {
        summary.without_recipient += 1;
        return Ok(());
    }
    // The claim: only the instance whose insert lands sends this reminder.
    let claimed = sqlx::query(
        "INSERT INTO reminders (invoice_id, step_days, sent_on, due_minor, recipients) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (invoice_id, step_days) DO NOTHING RETURNING id",
    )
    .bind(candidate.invoice_id)
    .bind(candidate.step)
    .bind(date_text(today))
    .bind(due)
    .bind(recipients.len() as i64)
    .fetch_optional(&mut **tx)
    .await?;
    if claimed.is_none() {
        return Ok(());
    }
    let currency = crate::db::currency(&candidate.currency)?;
    let due_date = crate::db::parse_date(&amounts.try_get::<String, _>(3)?)?;
    let link = format!("{public_base_url}/invoices/{}", candidate.invoice_id);
    let write = |locale: Locale| {
        let money = |minor| locale.money(minor, currency);
        let mut body = tr!(
            locale,
            "reminder.due",
            amount = money(due),
            number = candidate.number,
            date = locale.date(due_date)
        );
        if held > 0 {
            body.push_str(&tr!(locale, "reminder.held", amount = money(held)));
        }
        if pending > 0 {
            body.push_str(&tr!(locale, "reminder.pending", amount = money(pending)));
        }
        body.push_str(&tr!(locale, "reminder.pay_online", link = link));
        (subject(locale, candidate.step, &candidate.number), body)
    };
    queue_in_their_language(tx, recipients, "reminder", None, write).await?;
    summary.sent += 1;
    Ok(())
}

/// The subject line of a reminder at `step` days past due.
fn subject(locale: crate::locale::Locale, step: i64, invoice_number: &str) -> String {
    match step {
        -1 => tr!(
            locale,
            "reminder.subject.due_in_one_day",
            number = invoice_number
        ),
        s if s < 0 => tr!(
            locale,
            "reminder.subject.due_in",
            number = invoice_number,
            days = -s
        ),
        0 => tr!(
            locale,
            "reminder.subject.due_today",
            number = invoice_number
        ),
        1 => tr!(
            locale,
            "reminder.subject.one_day_late",
            number = invoice_number
        ),
        s => tr!(
            locale,
            "reminder.subject.days_late",
            number = invoice_number,
            days = s
        ),
    }
}

#[cfg(all(test, feature = "test-support"))]
mod tests {
    use super::*;
    use crate::money::Currency;
    use crate::testing::{fixtures, fresh_db, fresh_url};
    use crate::users::Role;

    const BASE: &str = "https://pay.example.com";

    async fn outbox_reminders(db: &Db) -> Vec<(String, String, String)> {
        sqlx::query(
            "SELECT recipient, subject, body FROM outbox WHERE kind = 'reminder' ORDER BY id",
        )
        .fetch_all(db.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect()
    }

    /// A net-30 customer with a payer and one $1,000.00 invoice issued on `issued`.
    async fn account(db: &Db, issued: &str) -> (i64, i64) {
        let (customer, _, invoice) =
            fixtures::payer_account(db, "C-1", "payer@acme.example", "INV-1", issued).await;
        (customer, invoice)
    }

    #[tokio::test]
    async fn each_step_is_sent_once_and_only_the_latest_after_a_gap() {
        let db = fresh_db().await;
        // Due 2026-10-31.
        account(&db, "2026-10-01").await;
        let schedule = Schedule::default();
        let run_on = |day: &str| run(&db, &schedule, fixtures::date(day), BASE);
        assert_eq!(run_on("2026-10-27").await.unwrap().sent, 0);
        assert_eq!(run_on("2026-10-28").await.unwrap().sent, 1);
        assert_eq!(
            run_on("2026-10-29").await.unwrap().sent,
            0,
            "-3 already sent"
        );
        // A fortnight of downtime: only the 14-day reminder goes out, not 1 and 7 as well.
        assert_eq!(run_on("2026-11-15").await.unwrap().sent, 1);
        assert_eq!(run_on("2026-11-15").await.unwrap().sent, 0);
        let sent = outbox_reminders(&db).await;
        assert_eq!(sent.len(), 2);
        assert_eq!(sent[0].0, "payer@acme.example");
        assert_eq!(sent[0].1, "Invoice INV-1 is due in 3 days");
        assert_eq!(sent[1].1, "Invoice INV-1 is 14 days overdue");
        assert!(sent[1].2.contains("$1,000.00 is due now"), "{}", sent[1].2);
        assert!(sent[1].2.contains("https://pay.example.com/invoices/"));
    }

    #[tokio::test]
    async fn a_contact_who_reads_german_is_reminded_in_german_with_german_amounts_and_dates() {
        let db = fresh_db().await;
        account(&db, "2026-10-01").await;
        sqlx::query("UPDATE users SET locale = 'de' WHERE email = 'payer@acme.example'")
            .execute(db.pool())
            .await
            .unwrap();
        run(
            &db,
            &Schedule::default(),
            fixtures::date("2026-11-15"),
            BASE,
        )
        .await
        .unwrap();
        let sent = outbox_reminders(&db).await;
        assert_eq!(sent[0].1, "Rechnung INV-1 ist seit 14 Tagen überfällig");
        assert!(
            sent[0].2.contains(
                "auf die Rechnung INV-1 (fällig am 31. Okt. 2026) sind jetzt 1.000,00 $ fällig"
            ),
            "{}",
            sent[0].2
        );
        assert!(sent[0].2.contains("online bezahlen"));
    }

    #[tokio::test]
    async fn a_payer_who_turned_reminders_off_is_not_reminded_and_nothing_counts_as_sent() {
        let db = fresh_db().await;
        account(&db, "2026-10-01").await;
        sqlx::query(
            "INSERT INTO email_opt_outs (user_id, kind) \
             SELECT id, 'reminder' FROM users WHERE email = 'payer@acme.example'",
        )
        .execute(db.pool())
        .await
        .unwrap();
        let summary = run(
            &db,
            &Schedule::default(),
            fixtures::date("2026-10-28"),
            BASE,
        )
        .await
        .unwrap();
        assert_eq!((summary.sent, summary.without_recipient), (0, 1));
        assert!(outbox_reminders(&db).await.is_empty());
        let claimed: i64 = sqlx::query_scalar("SELECT count(*) FROM reminders")
            .fetch_one(db.pool())
            .await
            .unwrap();
        assert_eq!(claimed, 0, "the step is not used up");
    }

    #[tokio::test]
    async fn held_amounts_are_left_out_and_a_fully_held_invoice_is_skipped() {
        let db = fresh_db().await;
        let (_, invoice) = account(&db, "2026-10-01").await;
        let hold = |minor: i64| {
            let db = db.clone();
            async move {
                sqlx::query("UPDATE invoices SET held_minor = $1 WHERE id = $2")
                    .bind(minor)
                    .bind(invoice)
                    .execute(db.pool())
                    .await
                    .unwrap();
            }
        };
        hold(100_000).await;
        let schedule = Schedule::default();
        let fully_held = run(&db, &schedule, fixtures::date("2026-11-01"), BASE)
            .await
            .unwrap();
        assert_eq!((fully_held.sent, fully_held.held), (0, 1));
        assert!(outbox_reminders(&db).await.is_empty());

        hold(40_000).await;
        let partly = run(&db, &schedule, fixtures::date("2026-11-01"), BASE)
            .await
            .unwrap();
        assert_eq!(partly.sent, 1);
        let body = &outbox_reminders(&db).await[0].2;
        assert!(body.contains("$600.00 is due now"), "{body}");
        assert!(body.contains("$400.00 of it is in dispute"), "{body}");
    }

    #[tokio::test]
    async fn billing_contacts_receive_reminders_instead_of_payers() {
        let db = fresh_db().await;
        let (customer, _) = account(&db, "2026-10-01").await;
        for email in ["ap@acme.example", "controller@acme.example"] {
            sqlx::query(
                "INSERT INTO billing_contacts (customer_id, email, created_at) VALUES ($1, $2, 'now')",
            )
            .bind(customer)
            .bind(email)
            .execute(db.pool())
            .await
            .unwrap();
        }
        run(
            &db,
            &Schedule::default(),
            fixtures::date("2026-11-01"),
            BASE,
        )
        .await
        .unwrap();
        let recipients: Vec<String> = outbox_reminders(&db)
            .await
            .into_iter()
            .map(|m| m.0)
            .collect();
        assert_eq!(recipients, ["ap@acme.example", "controller@acme.example"]);
    }

    #[tokio::test]
    async fn two_instances_running_at_once_send_each_reminder_once() {
        let url = fresh_url().await;
        let settings = crate::db::PoolSettings::default();
        let first = Db::connect(&url, &settings).await.unwrap();
        first.migrate().await.unwrap();
        let second = Db::connect(&url, &settings).await.unwrap();
        let customer = fixtures::customer(&first, "C-1", Currency::Usd, (30, 0, 0)).await;
        fixtures::user(
            &first,
            "payer@acme.example",
            "a long enough password",
            Role::Payer,
            Some(customer),
        )
        .await;
        for n in 0..40 {
            fixtures::invoice(
                &first,
                customer,
                &format!("INV-{n}"),
                Currency::Usd,
                "2026-10-01",
                &[(1_000 + n, 0)],
            )
            .await;
        }
        let schedule = Schedule::default();
        let today = fixtures::date("2026-11-08");
        let (a, b) = tokio::join!(
            run(&first, &schedule, today, BASE),
            run(&second, &schedule, today, BASE)
        );
        assert_eq!(a.unwrap().sent + b.unwrap().sent, 40);
        assert_eq!(outbox_reminders(&first).await.len(), 40);
        assert_eq!(fixtures::rows(&first, "reminders").await, 40);
    }

    #[test]
    fn subjects_say_how_late_the_invoice_is_in_the_readers_language() {
        assert_eq!(
            subject(Locale::En, -3, "A-1"),
            "Invoice A-1 is due in 3 days"
        );
        assert_eq!(
            subject(Locale::En, 1, "A-1"),
            "Invoice A-1 is 1 day overdue"
        );
        assert_eq!(
            subject(Locale::En, 14, "A-1"),
            "Invoice A-1 is 14 days overdue"
        );
        assert_eq!(
            subject(Locale::De, 0, "A-1"),
            "Rechnung A-1 ist heute fällig"
        );
        assert_eq!(
            subject(Locale::De, 14, "A-1"),
            "Rechnung A-1 ist seit 14 Tagen überfällig"
        );
    }
}
