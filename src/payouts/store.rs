//! Recording the provider's payouts and matching them to bank statement lines.
//!
//! `payout.paid` and `payout.failed` may arrive in either order and any number of times: the
//! payout row remembers what was posted, so each entry posts once. A failure that arrives first
//! is recorded; if the payout turns out to have been paid, both post when the payment's event
//! comes.
//!
//! A payout and its bank line meet from either side: a payout recorded after its line was
//! imported claims the line, and a line imported after its payout claims the payout. The line
//! must be in the payout's currency, of exactly its amount, booked near its arrival date, and
//! name the provider or the payout.

use chrono::NaiveDate;
use sqlx::{Any, Row, Transaction};

use super::{Payout, PayoutStatus, ProviderBalance, books_payout, names_payout, nearest};
use crate::db::{Db, DbError, date_text, now_text, parse_date};
use crate::keys;
use crate::ledger::{Account, BalancedEntry, DateSource, EntryKind, EntryLine};
use crate::money::{Currency, Money};
use crate::receivables::store::CashError;
use crate::statements::{BankLine, LineStatus, MatchReason};

/// A payout the provider reports paid, with what its balance transactions carried.
#[derive(Debug, Clone)]
pub struct PaidPayout<'a> {
    pub payout_id: &'a str,
    pub currency: Currency,
    pub amount_minor: i64,
    /// The fees of its balance transactions (0 when the provider could not list them, as for
    /// a payout made by hand).
    pub fees_minor: i64,
    pub transactions: i64,
    pub arrival: NaiveDate,
}

/// A payout the provider reports failed.
#[derive(Debug, Clone)]
pub struct FailedPayout<'a> {
    pub payout_id: &'a str,
    pub currency: Currency,
    pub amount_minor: i64,
    pub arrival: NaiveDate,
    /// The provider's code (`account_closed`, `no_account`, …).
    pub failure: &'a str,
    pub failed_on: NaiveDate,
}

/// What a payout event did to the books.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayoutEffect {
    /// Its entry (or entries) posted now.
    Posted,
    /// Recorded; nothing to post (a failure before any payment, or an event seen before).
    Recorded,
}

/// `payout.paid`: records the payout, posts it once, and claims its bank line if one waits.
pub async fn payout_paid_in(
    tx: &mut Transaction<'_, Any>,
    paid: &PaidPayout<'_>,
) -> Result<PayoutEffect, CashError> {
    let known: Option<(String, Option<i64>)> =
        sqlx::query_as("SELECT status, paid_entry_id FROM payouts WHERE id = $1")
            .bind(paid.payout_id)
            .fetch_optional(&mut **tx)
            .await?;
    let failed_first = match known {
        Some((_, Some(_))) => return Ok(PayoutEffect::Recorded),
        Some((status, None)) => status == PayoutStatus::Failed.as_str(),
        None => {
            sqlx::query(
                "INSERT INTO payouts (id, currency, amount_minor, arrival_on, status, recorded_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(paid.payout_id)
            .bind(paid.currency.code())
            .bind(paid.amount_minor)
            .bind(date_text(paid.arrival))
            .bind(PayoutStatus::Paid.as_str())
            .bind(now_text())
            .execute(&mut **tx)
            .await?;
            false
        }
    };
    let amount = Money::from_minor(paid.amount_minor, paid.currency);
    let lines = [
        EntryLine::debit(Account::Bank, amount),
        EntryLine::debit(
            Account::ProcessingFees,
            Money::from_minor(paid.fees_minor, paid.currency),
        ),
        EntryLine::credit(
            Account::StripeClearing,
            Money::from_minor(paid.amount_minor + paid.fees_minor, paid.currency),
        ),
    ]
    .into_iter()
    .filter(|line| !line.amount.is_zero())
    .collect();
    let entry = BalancedEntry::new(
        keys::payout(paid.payout_id),
        EntryKind::Payout,
        paid.arrival,
        None,
        format!(
            "Stripe payout {} ({} balance transactions)",
            paid.payout_id, paid.transactions
        ),
        lines,
    )?
    .dated_by(DateSource::Event);
    let posted = crate::ledger::store::post(tx, &entry).await?;
    sqlx::query(
        "UPDATE payouts SET paid_entry_id = $1, fees_minor = $2, transactions = $3 WHERE id = $4",
    )
    .bind(posted.entry_id)
    .bind(paid.fees_minor)
    .bind(paid.transactions)
    .bind(paid.payout_id)
    .execute(&mut **tx)
    .await?;
    if failed_first {
        let (failure, failed_on): (String, String) =
            sqlx::query_as("SELECT failure, failed_on FROM payouts WHERE id = $1")
                .bind(paid.payout_id)
                .fetch_one(&mut **tx)
                .await?;
        reverse_failed_in(
            tx,
            paid.payout_id,
            amount,
            &failure,
            parse_date(&failed_on)?,
        )
        .await?;
    } else {
        claim_waiting_line_in(tx, paid.payout_id, amount, paid.arrival).await?;
    }
    Ok(PayoutEffect::Posted)
}

/// `payout.failed`: a payout already posted goes back to the provider's balance, once; one not
/// posted is recorded as failed (if its `payout.paid` still comes, both post then).
pub async fn payout_failed_in(
    tx: &mut Transaction<'_, Any>,
    failed: &FailedPayout<'_>,
) -> Result<PayoutEffect, CashError> {
    let known: Option<(Option<i64>, Option<i64>)> =
        sqlx::query_as("SELECT paid_entry_id, failed_entry_id FROM payouts WHERE id = $1")
            .bind(failed.payout_id)
            .fetch_optional(&mut **tx)
            .await?;
    match known {
        None => {
            sqlx::query(
                "INSERT INTO payouts (id, currency, amount_minor, arrival_on, status, failure, \
                 failed_on, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(failed.payout_id)
            .bind(failed.currency.code())
            .bind(failed.amount_minor)
            .bind(date_text(failed.arrival))
            .bind(PayoutStatus::Failed.as_str())
            .bind(failed.failure)
            .bind(date_text(failed.failed_on))
            .bind(now_text())
            .execute(&mut **tx)
            .await?;
            Ok(PayoutEffect::Recorded)
        }
        Some((Some(_), None)) => {
            let amount = Money::from_minor(failed.amount_minor, failed.currency);
            reverse_failed_in(
                tx,
                failed.payout_id,
                amount,
                failed.failure,
                failed.failed_on,
            )
            .await?;
            Ok(PayoutEffect::Posted)
        }
        Some(_) => Ok(PayoutEffect::Recorded),
    }
}

/// The money of a failed payout leaves the bank account again and is back at the provider.
async fn reverse_failed_in(
    tx: &mut Transaction<'_, Any>,
    payout_id: &str,
    amount: Money,
    failure: &str,
    failed_on: NaiveDate,
) -> Result<(), CashError> {
    let entry = BalancedEntry::new(
        keys::payout_failed(payout_id),
        EntryKind::Payout,
        failed_on,
        None,
        format!("Stripe payout {payout_id} failed: {failure}"),
        vec![
            EntryLine::debit(Account::StripeClearing, amount),
            EntryLine::credit(Account::Bank, amount),
        ],
    )?
    .dated_by(DateSource::Event);
    let posted = crate::ledger::store::post(tx, &entry).await?;
    sqlx::query(
        "UPDATE payouts SET status = $1, failure = $2, failed_on = $3, failed_entry_id = $4 \
         WHERE id = $5",
    )
    .bind(PayoutStatus::Failed.as_str())
    .bind(failure)
    .bind(date_text(failed_on))
    .bind(posted.entry_id)
    .bind(payout_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A newly posted payout claims the bank line already imported for it, if there is one.
async fn claim_waiting_line_in(
    tx: &mut Transaction<'_, Any>,
    payout_id: &str,
    amount: Money,
    arrival: NaiveDate,
) -> Result<(), CashError> {
    let rows = sqlx::query(
        "SELECT id, booked_on, counterparty, remittance, end_to_end_id, structured_reference \
         FROM bank_lines WHERE currency = $1 AND amount_minor = $2 AND status <> 'matched' \
         AND booked_on >= $3 AND booked_on <= $4 ORDER BY id",
    )
    .bind(amount.currency().code())
    .bind(amount.to_minor())
    .bind(date_text(arrival - chrono::Duration::days(1)))
    .bind(date_text(arrival + chrono::Duration::days(4)))
    .fetch_all(&mut **tx)
    .await?;
    let mut candidates = Vec::new();
    for row in rows {
        let texts: [String; 4] = [
            row.try_get("counterparty")?,
            row.try_get("remittance")?,
            row.try_get("end_to_end_id")?,
            row.try_get("structured_reference")?,
        ];
        let texts = texts.each_ref().map(String::as_str);
        if names_payout(&texts, payout_id) {
            let booked = parse_date(&row.try_get::<String, _>("booked_on")?)?;
            candidates.push((booked, row.try_get::<i64, _>("id")?));
        }
    }
    if let Some(line_id) = nearest(arrival, candidates) {
        link_in(tx, line_id, payout_id).await?;
    }
    Ok(())
}

/// A newly imported line that names the provider claims the payout it brought, if one is
/// recorded and still without a line. True when it did: the line is posted (by the payout).
pub async fn match_line_to_payout(
    db: &Db,
    line_id: i64,
    currency: Currency,
    line: &BankLine,
) -> Result<bool, DbError> {
    let texts = [
        line.counterparty.as_str(),
        &line.remittance,
        &line.end_to_end_id,
        &line.structured_reference,
    ];
    // "po_" stands for any payout id here: lines naming neither cost no query.
    if !names_payout(&texts, "po_") {
        return Ok(false);
    }
    let waiting: Vec<(String, String)> = sqlx::query_as(
        "SELECT id, arrival_on FROM payouts WHERE currency = $1 AND amount_minor = $2 \
         AND status = 'paid' AND bank_line_id IS NULL ORDER BY arrival_on, id",
    )
    .bind(currency.code())
    .bind(line.amount_minor)
    .fetch_all(db.pool())
    .await?;
    let mut candidates = Vec::new();
    for (payout_id, arrival) in waiting {
        let arrival = parse_date(&arrival)?;
        if books_payout(arrival, line.booked_on) && names_payout(&texts, &payout_id) {
            candidates.push((arrival, payout_id));
        }
    }
    let Some(payout_id) = nearest(line.booked_on, candidates) else {
        return Ok(false);
    };
    let mut tx = db.begin_write().await?;
    if !link_in(&mut tx, line_id, &payout_id).await? {
        tx.rollback().await?;
        return Ok(false);
    }
    tx.commit().await?;
    Ok(true)
}

/// Links a line and a payout, both still free; false (and nothing changed) when either was
/// taken meanwhile.
async fn link_in(
    tx: &mut Transaction<'_, Any>,
    line_id: i64,
    payout_id: &str,
) -> Result<bool, DbError> {
    let payout =
        sqlx::query("UPDATE payouts SET bank_line_id = $1 WHERE id = $2 AND bank_line_id IS NULL")
            .bind(line_id)
            .bind(payout_id)
            .execute(&mut **tx)
            .await?;
    if payout.rows_affected() != 1 {
        return Ok(false);
    }
    let line = sqlx::query(
        "UPDATE bank_lines SET status = $1, match_reason = $2, applied_at = $3 \
         WHERE id = $4 AND status <> $1",
    )
    .bind(LineStatus::Matched.as_str())
    .bind(MatchReason::Payout.as_str())
    .bind(now_text())
    .bind(line_id)
    .execute(&mut **tx)
    .await?;
    if line.rows_affected() != 1 {
        // The line was posted meanwhile: the payout stays free for another.
        sqlx::query("UPDATE payouts SET bank_line_id = NULL WHERE id = $1")
            .bind(payout_id)
            .execute(&mut **tx)
            .await?;
        return Ok(false);
    }
    Ok(true)
}

/// The latest payouts, newest arrival first, with the statement that brought each.
pub async fn recent_payouts(db: &Db, limit: i64) -> Result<Vec<Payout>, DbError> {
    Ok(sqlx::query_as(
        "SELECT p.id, p.currency, p.amount_minor, p.fees_minor, p.transactions, p.arrival_on, \
         p.status, p.failure, l.statement_id, p.bank_line_id \
         FROM payouts p LEFT JOIN bank_lines l ON l.id = p.bank_line_id \
         ORDER BY p.arrival_on DESC, p.id LIMIT $1",
    )
    .bind(limit)
    .fetch_all(db.pool())
    .await?)
}

/// What the ledger holds at the provider per currency (the Stripe clearing account), where it
/// is not zero.
pub async fn provider_balances(db: &Db) -> Result<Vec<ProviderBalance>, DbError> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT currency, CAST(sum(amount_minor) AS BIGINT) FROM journal_lines \
         WHERE account_code = $1 GROUP BY currency HAVING sum(amount_minor) <> 0 ORDER BY currency",
    )
    .bind(Account::StripeClearing.code())
    .fetch_all(db.pool())
    .await?;
    rows.into_iter()
        .map(|(code, amount_minor)| {
            Ok(ProviderBalance {
                currency: crate::db::currency(&code)?,
                amount_minor,
            })
        })
        .collect()
}

#[cfg(all(test, feature = "test-support"))]
mod tests {
    use super::*;
    use crate::audit::Actor;
    use crate::statements::store::import_statement;
    use crate::testing::fixtures::{assert_ledger_healthy, camt054_credits, date, demo_acme};
    use crate::testing::fresh_db;

    const CLERK: Actor<'static> = Actor {
        user_id: None,
        name: "clerk@ledgerport.example",
    };

    fn paid(payout_id: &str, amount_minor: i64, fees_minor: i64) -> PaidPayout<'_> {
        PaidPayout {
            payout_id,
            currency: Currency::Usd,
            amount_minor,
            fees_minor,
            transactions: 3,
            arrival: date("2026-12-03"),
        }
    }

    fn failed(payout_id: &str, amount_minor: i64) -> FailedPayout<'_> {
        FailedPayout {
            payout_id,
            currency: Currency::Usd,
            amount_minor,
            arrival: date("2026-12-03"),
            failure: "account_closed",
            failed_on: date("2026-12-05"),
        }
    }

    async fn on_paid(db: &Db, payout: &PaidPayout<'_>) -> PayoutEffect {
        let mut tx = db.begin_write().await.unwrap();
        let effect = payout_paid_in(&mut tx, payout).await.unwrap();
        tx.commit().await.unwrap();
        effect
    }

    async fn on_failed(db: &Db, payout: &FailedPayout<'_>) -> PayoutEffect {
        let mut tx = db.begin_write().await.unwrap();
        let effect = payout_failed_in(&mut tx, payout).await.unwrap();
        tx.commit().await.unwrap();
        effect
    }

    /// What the payouts posted to one account (by its code).
    async fn posted_to(db: &Db, account: Account) -> i64 {
        sqlx::query_scalar(
            "SELECT CAST(COALESCE(sum(l.amount_minor), 0) AS BIGINT) FROM journal_lines l \
             JOIN journal_entries e ON e.id = l.entry_id \
             WHERE e.kind = 'payout' AND l.account_code = $1",
        )
        .bind(account.code())
        .fetch_one(db.pool())
        .await
        .unwrap()
    }

    async fn line_of(db: &Db, reference: &str) -> (String, String, Option<String>) {
        sqlx::query_as(
            "SELECT l.status, l.match_reason, p.id FROM bank_lines l \
             LEFT JOIN payouts p ON p.bank_line_id = l.id WHERE l.bank_reference = $1",
        )
        .bind(reference)
        .fetch_one(db.pool())
        .await
        .unwrap()
    }

    #[tokio::test]
    async fn a_payout_posts_what_arrives_and_its_fees_once_and_the_statement_line_naming_stripe_is_matched_to_it()
     {
        let db = fresh_db().await;
        demo_acme(&db).await;
        assert_eq!(
            on_paid(&db, &paid("po_T1", 97_070, 2_930)).await,
            PayoutEffect::Posted
        );
        assert_eq!(
            on_paid(&db, &paid("po_T1", 97_070, 2_930)).await,
            PayoutEffect::Recorded
        );
        assert_eq!(posted_to(&db, Account::Bank).await, 97_070);
        assert_eq!(posted_to(&db, Account::ProcessingFees).await, 2_930);
        assert_eq!(posted_to(&db, Account::StripeClearing).await, -100_000);

        let statement = camt054_credits(&[
            ("PO-LINE-1", 97_070, "STRIPE", "", "STRIPE PAYOUT"),
            (
                "PO-LINE-2",
                97_070,
                "Stripe Payments",
                "",
                "second line, same amount",
            ),
            (
                "PO-LINE-3",
                12_345,
                "STRIPE",
                "",
                "no payout of this amount",
            ),
        ]);
        let imported = import_statement(&db, "payouts.xml", &statement, None, CLERK)
            .await
            .unwrap();
        assert_eq!(imported[0].matched, 1);
        assert_eq!(
            line_of(&db, "PO-LINE-1").await,
            ("matched".into(), "payout".into(), Some("po_T1".into()))
        );
        assert_eq!(line_of(&db, "PO-LINE-2").await.0, "unmatched");
        assert_eq!(line_of(&db, "PO-LINE-3").await.0, "unmatched");
        let listed = recent_payouts(&db, 10).await.unwrap();
        assert_eq!(listed[0].gross_minor(), 100_000);
        assert_eq!(listed[0].statement_id, Some(imported[0].id));
        assert_ledger_healthy(&db).await;
    }

    #[tokio::test]
    async fn a_line_imported_before_its_payout_is_claimed_by_it_and_a_failure_after_payment_reverses_the_amount_once()
     {
        let db = fresh_db().await;
        demo_acme(&db).await;
        let statement = camt054_credits(&[("PO-EARLY", 50_000, "", "", "po_T2")]);
        import_statement(&db, "early.xml", &statement, None, CLERK)
            .await
            .unwrap();
        assert_eq!(line_of(&db, "PO-EARLY").await.0, "unmatched");

        on_paid(&db, &paid("po_T2", 50_000, 0)).await;
        assert_eq!(
            line_of(&db, "PO-EARLY").await,
            ("matched".into(), "payout".into(), Some("po_T2".into()))
        );
        assert_eq!(
            on_failed(&db, &failed("po_T2", 50_000)).await,
            PayoutEffect::Posted
        );
        assert_eq!(
            on_failed(&db, &failed("po_T2", 50_000)).await,
            PayoutEffect::Recorded
        );
        assert_eq!(posted_to(&db, Account::Bank).await, 0);
        assert_eq!(posted_to(&db, Account::StripeClearing).await, 0);
        let listed = recent_payouts(&db, 10).await.unwrap();
        assert_eq!(listed[0].status, PayoutStatus::Failed);
        assert_eq!(listed[0].failure, "account_closed");
        assert_ledger_healthy(&db).await;
    }

    #[tokio::test]
    async fn a_failure_that_arrives_before_the_payment_posts_nothing_until_the_payment_then_both_once()
     {
        let db = fresh_db().await;
        assert_eq!(
            on_failed(&db, &failed("po_T3", 40_000)).await,
            PayoutEffect::Recorded
        );
        assert_eq!(posted_to(&db, Account::Bank).await, 0);
        assert_eq!(
            on_paid(&db, &paid("po_T3", 40_000, 1_200)).await,
            PayoutEffect::Posted
        );
        assert_eq!(
            on_paid(&db, &paid("po_T3", 40_000, 1_200)).await,
            PayoutEffect::Recorded
        );
        assert_eq!(
            on_failed(&db, &failed("po_T3", 40_000)).await,
            PayoutEffect::Recorded
        );
        // The money went back to Stripe; the fees of what it carried stay incurred.
        assert_eq!(posted_to(&db, Account::Bank).await, 0);
        assert_eq!(posted_to(&db, Account::ProcessingFees).await, 1_200);
        assert_eq!(posted_to(&db, Account::StripeClearing).await, -1_200);
        let entries: i64 =
            sqlx::query_scalar("SELECT count(*) FROM journal_entries WHERE kind = 'payout'")
                .fetch_one(db.pool())
                .await
                .unwrap();
        assert_eq!(entries, 2);
        assert_ledger_healthy(&db).await;
    }

    #[tokio::test]
    async fn a_payout_that_carried_a_returned_dispute_fee_posts_its_fees_as_a_credit() {
        let db = fresh_db().await;
        // A won dispute gives its $15 fee back: the payout's fees come to −15.00.
        on_paid(&db, &paid("po_T6", 101_500, -1_500)).await;
        assert_eq!(posted_to(&db, Account::Bank).await, 101_500);
        assert_eq!(posted_to(&db, Account::ProcessingFees).await, -1_500);
        assert_eq!(posted_to(&db, Account::StripeClearing).await, -100_000);
        assert_eq!(recent_payouts(&db, 1).await.unwrap()[0].fees_minor, -1_500);
        assert_ledger_healthy(&db).await;
    }

    #[tokio::test]
    async fn a_line_that_does_not_name_stripe_or_is_booked_too_late_is_not_a_payout() {
        let db = fresh_db().await;
        demo_acme(&db).await;
        on_paid(&db, &paid("po_T4", 30_000, 0)).await;
        let late = PaidPayout {
            arrival: date("2026-11-20"),
            ..paid("po_T5", 20_000, 0)
        };
        on_paid(&db, &late).await;
        let statement = camt054_credits(&[
            ("NOT-STRIPE", 30_000, "Acme Corporation", "", "INV-NONE"),
            ("TOO-LATE", 20_000, "STRIPE", "", "STRIPE"),
        ]);
        import_statement(&db, "other.xml", &statement, None, CLERK)
            .await
            .unwrap();
        assert_ne!(line_of(&db, "NOT-STRIPE").await.1, "payout");
        assert_eq!(line_of(&db, "TOO-LATE").await.0, "unmatched");
        assert_ledger_healthy(&db).await;
    }
}
