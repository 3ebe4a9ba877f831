//! Posting adjustments. Each is one transaction under the customer's lock: read the facts the
//! limits depend on, plan the entry (`super::plan`, no database), post it, update the invoice's
//! open amount, record the adjustment.

use sqlx::{Any, Row, Transaction};

use super::plan::{AdjustmentFacts, InvoiceFacts, plan_adjustment};
use super::{AdjustmentError, AdjustmentHeader, AdjustmentKind, AdjustmentRequest, RefundSource};
use crate::audit::Actor;
use crate::db::{Db, DbError, Engine, date_text, now_text};
use crate::ledger::store::post;
use crate::ledger::{Account, BalancedEntry, EntryLine};
use crate::money::{Currency, Money};
use crate::receivables::store::{
    CashError, change_open_amount, lock_customer, unapplied_credit_in,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Adjusted {
    pub adjustment_id: i64,
    pub entry_id: i64,
    pub replayed: bool,
}

/// Posts one adjustment. Idempotent by `header.business_key`.
pub async fn adjust(
    db: &Db,
    header: &AdjustmentHeader,
    request: &AdjustmentRequest,
) -> Result<Adjusted, CashError> {
    let mut tx = db.begin_write().await?;
    let adjusted = adjust_in(&mut tx, db.engine(), header, request).await?;
    tx.commit().await?;
    Ok(adjusted)
}

/// Posts an adjustment a person or an API key makes, and its audit row (`detail` as given) in
/// the same transaction, so neither lands without the other. A replay writes neither.
pub async fn adjust_audited(
    db: &Db,
    header: &AdjustmentHeader,
    request: &AdjustmentRequest,
    actor: Actor<'_>,
    detail: &str,
) -> Result<Adjusted, CashError> {
    let mut tx = db.begin_write().await?;
    let adjusted = adjust_in(&mut tx, db.engine(), header, request).await?;
    if !adjusted.replayed {
        let subject = match request.invoice_id() {
            Some(invoice_id) => format!("invoice:{invoice_id}"),
            None => format!("customer:{}", header.customer_id),
        };
        actor
            .record(&mut *tx, request.audit_action(), &subject, detail)
            .await?;
    }
    tx.commit().await?;
    Ok(adjusted)
}

/// Posts a parsed credit memo (from the staff form or the ERP API), audited with its number.
/// The same number with the same content again changes nothing.
pub async fn issue_credit_memo(
    db: &Db,
    memo: &super::credit_memo::ParsedCreditMemo,
    actor: Actor<'_>,
) -> Result<Adjusted, CashError> {
    adjust_audited(db, &memo.header, &memo.request, actor, memo.number.as_str()).await
}

/// Voids an invoice that has had no payments or credits, by reversing its issue entry; once per
/// invoice. Audited with the reason.
pub async fn void_invoice(
    db: &Db,
    customer_id: i64,
    invoice_id: i64,
    reason: &str,
    effective: chrono::NaiveDate,
    actor: Actor<'_>,
) -> Result<Adjusted, CashError> {
    let header = AdjustmentHeader::new(
        customer_id,
        &crate::keys::invoice_void(invoice_id),
        reason,
        effective,
    )?;
    adjust_audited(
        db,
        &header,
        &AdjustmentRequest::Void { invoice_id },
        actor,
        reason.trim(),
    )
    .await
}

/// `adjust` inside the caller's write transaction (a provider refund event posts atomically
/// with its event id).
pub async fn adjust_in(
    tx: &mut Transaction<'_, Any>,
    engine: Engine,
    header: &AdjustmentHeader,
    request: &AdjustmentRequest,
) -> Result<Adjusted, CashError> {
    request.check()?;
    let currency = lock_customer(tx, engine, header.customer_id).await?;
    let canonical = request.canonical(header);
    if let Some(row) =
        sqlx::query("SELECT id, entry_id, request FROM adjustments WHERE business_key = $1")
            .bind(&header.business_key)
            .fetch_optional(&mut **tx)
            .await?
    {
        if row.try_get::<String, _>("request")? != canonical {
            return Err(CashError::KeyConflict(header.business_key.clone()));
        }
        return Ok(Adjusted {
            adjustment_id: row.try_get("id")?,
            entry_id: row.try_get("entry_id")?,
            replayed: true,
        });
    }
    let facts = adjustment_facts(tx, engine, header, request, currency).await?;
    let plan = plan_adjustment(header, request, currency, &facts)?;
    let customer = header.customer_id;
    let mut entry = BalancedEntry::new(
        crate::keys::adjustment_entry(&header.business_key),
        plan.kind,
        header.effective,
        Some(customer),
        plan.memo,
        plan.lines,
    )?
    .dated_by(header.dated_by);
    if let Some(issued) = plan.reverses {
        entry = entry.reversing(issued);
    }
    let invoice_id = facts.invoice.as_ref().map(|invoice| invoice.id);
    let posted = post(tx, &entry).await?;
    if plan.open_change != 0 {
        change_open_amount(tx, invoice_id.ok_or(no_invoice())?, plan.open_change).await?;
    }
    if request.kind() == AdjustmentKind::Void {
        sqlx::query("UPDATE invoices SET voided_at = $1 WHERE id = $2")
            .bind(now_text())
            .bind(invoice_id.ok_or(no_invoice())?)
            .execute(&mut **tx)
            .await?;
    }
    let row = sqlx::query(
        "INSERT INTO adjustments (customer_id, invoice_id, business_key, kind, currency, amount_minor, \
         reason, request, effective_date, entry_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
    )
    .bind(customer)
    .bind(request.invoice_id())
    .bind(&header.business_key)
    .bind(request.kind().as_str())
    .bind(currency.code())
    .bind(plan.amount_minor)
    .bind(&header.reason)
    .bind(&canonical)
    .bind(date_text(header.effective))
    .bind(posted.entry_id)
    .bind(now_text())
    .fetch_one(&mut **tx)
    .await?;
    let adjustment_id: i64 = row.try_get(0)?;
    for (line_id, amount) in plan.credit_lines {
        sqlx::query("INSERT INTO adjustment_lines (adjustment_id, invoice_line_id, amount_minor) VALUES ($1, $2, $3)")
            .bind(adjustment_id)
            .bind(line_id)
            .bind(amount.to_minor())
            .execute(&mut **tx)
            .await?;
    }
    Ok(Adjusted {
        adjustment_id,
        entry_id: posted.entry_id,
        replayed: false,
    })
}

fn no_invoice() -> CashError {
    CashError::Adjustment(AdjustmentError::InvoiceNotFound(0))
}

/// Reads what the request's limits depend on, and only that.
async fn adjustment_facts(
    tx: &mut Transaction<'_, Any>,
    engine: Engine,
    header: &AdjustmentHeader,
    request: &AdjustmentRequest,
    currency: Currency,
) -> Result<AdjustmentFacts, CashError> {
    let customer = header.customer_id;
    let invoice = match request.invoice_id() {
        Some(id) => Some(invoice_state(tx, engine, customer, id).await?),
        None => None,
    };
    let mut facts = AdjustmentFacts::default();
    match (request, &invoice) {
        (AdjustmentRequest::CreditMemo { lines, .. }, Some(invoice)) => {
            // Up to the first line that is not on the invoice: the plan refuses it there, after
            // the lines before it were checked.
            for (line_id, _) in lines {
                match creditable(tx, invoice.id, *line_id).await? {
                    Some(available) => facts.creditable_minor.push(available),
                    None => break,
                }
            }
        }
        (AdjustmentRequest::Refund { source, .. }, _) => match source {
            RefundSource::UnappliedCredit => {
                facts.unapplied_credit_minor = unapplied_credit_in(&mut **tx, customer, currency)
                    .await?
                    .to_minor();
            }
            RefundSource::Invoice(invoice_id) => {
                facts.refunded_from_invoice_limit_minor =
                    refundable_on_invoice(tx, *invoice_id).await?;
            }
        },
        // The issuance is read only for an invoice that can still be voided.
        (AdjustmentRequest::Void { .. }, Some(invoice))
            if invoice.open_minor == invoice.total_minor =>
        {
            facts.invoice_has_activity = has_activity(tx, invoice.id).await?;
            if !facts.invoice_has_activity {
                facts.issuance = Some(issuance_entry(tx, &invoice.number, currency).await?);
            }
        }
        _ => {}
    }
    facts.invoice = invoice;
    Ok(facts)
}

async fn invoice_state(
    tx: &mut Transaction<'_, Any>,
    engine: Engine,
    customer_id: i64,
    invoice_id: i64,
) -> Result<InvoiceFacts, CashError> {
    let lock = if engine == Engine::Postgres {
        " FOR UPDATE"
    } else {
        ""
    };
    let row = sqlx::query(&format!(
        "SELECT number, total_minor, open_minor, voided_at FROM invoices \
         WHERE id = $1 AND customer_id = $2{lock}"
    ))
    .bind(invoice_id)
    .bind(customer_id)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(AdjustmentError::InvoiceNotFound(invoice_id))?;
    if row.try_get::<Option<String>, _>("voided_at")?.is_some() {
        return Err(AdjustmentError::InvoiceVoid(invoice_id).into());
    }
    Ok(InvoiceFacts {
        id: invoice_id,
        total_minor: row.try_get("total_minor")?,
        open_minor: row.try_get("open_minor")?,
        number: row.try_get("number")?,
    })
}

/// What credit memos have credited on the invoice line `l` so far (SQL, minor units).
pub const CREDITED_ON_LINE: &str = "COALESCE((SELECT CAST(sum(a.amount_minor) AS BIGINT) \
     FROM adjustment_lines a WHERE a.invoice_line_id = l.id), 0)";

/// What is left to credit on a line: its gross amount less earlier credit memos on it; `None`
/// when the line is not on the invoice.
async fn creditable(
    tx: &mut Transaction<'_, Any>,
    invoice_id: i64,
    line_id: i64,
) -> Result<Option<i64>, CashError> {
    let sql = format!(
        "SELECT l.net_minor + l.tax_minor - {CREDITED_ON_LINE} \
         FROM invoice_lines l WHERE l.id = $1 AND l.invoice_id = $2"
    );
    let row = sqlx::query(&sql)
        .bind(line_id)
        .bind(invoice_id)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(row.map(|row| row.try_get(0)).transpose()?)
}

/// Cash applied to the invoice less what was already refunded from it.
async fn refundable_on_invoice(
    tx: &mut Transaction<'_, Any>,
    invoice_id: i64,
) -> Result<i64, CashError> {
    let row = sqlx::query(
        "SELECT COALESCE((SELECT CAST(sum(amount_minor) AS BIGINT) FROM allocations WHERE invoice_id = $1), 0) \
         - COALESCE((SELECT CAST(sum(amount_minor) AS BIGINT) FROM adjustments \
                     WHERE invoice_id = $1 AND kind = 'refund'), 0)",
    )
    .bind(invoice_id)
    .fetch_one(&mut **tx)
    .await?;
    Ok(row.try_get(0)?)
}

async fn has_activity(tx: &mut Transaction<'_, Any>, invoice_id: i64) -> Result<bool, CashError> {
    let row = sqlx::query(
        "SELECT (SELECT count(*) FROM allocations WHERE invoice_id = $1) \
              + (SELECT count(*) FROM adjustments WHERE invoice_id = $1)",
    )
    .bind(invoice_id)
    .fetch_one(&mut **tx)
    .await?;
    Ok(row.try_get::<i64, _>(0)? > 0)
}

/// The issuance entry of an invoice and its lines.
async fn issuance_entry(
    tx: &mut Transaction<'_, Any>,
    number: &str,
    currency: Currency,
) -> Result<(i64, Vec<EntryLine>), CashError> {
    let rows = sqlx::query(
        "SELECT e.id, l.account_code, l.amount_minor, l.customer_id, l.invoice_id \
         FROM journal_entries e JOIN journal_lines l ON l.entry_id = e.id \
         WHERE e.business_key = $1 ORDER BY l.id",
    )
    .bind(format!("invoice:{number}"))
    .fetch_all(&mut **tx)
    .await?;
    let mut entry_id = None;
    let mut lines = Vec::with_capacity(rows.len());
    for row in rows {
        entry_id = Some(row.try_get::<i64, _>("id")?);
        let code: String = row.try_get("account_code")?;
        let account =
            Account::from_code(&code).ok_or_else(|| DbError::Corrupt(format!("account {code}")))?;
        lines.push(EntryLine {
            account,
            amount: Money::from_minor(row.try_get::<i64, _>("amount_minor")?, currency),
            customer_id: row.try_get("customer_id")?,
            invoice_id: row.try_get("invoice_id")?,
        });
    }
    let entry_id = entry_id
        .ok_or_else(|| DbError::Corrupt(format!("invoice {number} has no issuance entry")))?;
    Ok((entry_id, lines))
}

#[cfg(all(test, feature = "test-support"))]
mod tests {
    use super::*;
    use crate::payments::store::record_payment;
    use crate::payments::{AllocationRule, PaymentMethod, PaymentRequest};
    use crate::reports::store::account_summary;
    use crate::testing::fixtures::*;
    use crate::testing::fresh_db;

    fn usd(minor: i64) -> Money {
        Money::from_minor(minor, Currency::Usd)
    }

    fn header(customer: i64, key: &str) -> AdjustmentHeader {
        AdjustmentHeader::new(
            customer,
            key,
            "agreed with the customer",
            date("2026-03-20"),
        )
        .unwrap()
    }

    async fn paid_in_full(db: &Db, customer: i64, key: &str, amount: i64) {
        let request = PaymentRequest::new(
            customer,
            key,
            PaymentMethod::Card,
            usd(amount),
            date("2026-03-10"),
            AllocationRule::OldestFirst,
            false,
        )
        .unwrap();
        record_payment(db, &request).await.unwrap();
    }

    #[tokio::test]
    async fn a_credit_memo_on_one_line_reduces_exactly_that_line() {
        let db = fresh_db().await;
        let c = customer(&db, "C-1", Currency::Usd, (30, 0, 0)).await;
        // Line 1: 600.00 untaxed; line 2: 400.00 + 10 % tax = 440.00.
        let inv = invoice(
            &db,
            c,
            "INV-1",
            Currency::Usd,
            "2026-03-01",
            &[(60_000, 0), (40_000, 1_000)],
        )
        .await;
        let lines = line_ids(&db, inv).await;
        let memo = AdjustmentRequest::CreditMemo {
            invoice_id: inv,
            lines: vec![(lines[1], usd(20_000))],
        };
        adjust(&db, &header(c, "cm-1"), &memo).await.unwrap();
        assert_eq!(open_minor(&db, inv).await, 104_000 - 20_000);
        // Line 2 has 240.00 left to credit; 240.01 is refused and writes nothing.
        let too_much = AdjustmentRequest::CreditMemo {
            invoice_id: inv,
            lines: vec![(lines[1], usd(24_001))],
        };
        let err = adjust(&db, &header(c, "cm-2"), &too_much)
            .await
            .unwrap_err();
        assert!(
            matches!(err, CashError::Adjustment(AdjustmentError::OverCredit { available, .. }) if available == usd(24_000)),
            "{err}"
        );
        assert_eq!(rows(&db, "adjustments").await, 1);
        assert_ledger_healthy(&db).await;
    }

    #[tokio::test]
    async fn a_credit_memo_on_a_paid_invoice_becomes_unapplied_credit() {
        let db = fresh_db().await;
        let c = customer(&db, "C-1", Currency::Usd, (30, 0, 0)).await;
        let inv = invoice(&db, c, "INV-1", Currency::Usd, "2026-03-01", &[(50_000, 0)]).await;
        paid_in_full(&db, c, "pi_1", 50_000).await;
        let line = line_ids(&db, inv).await[0];
        adjust(
            &db,
            &header(c, "cm-1"),
            &AdjustmentRequest::CreditMemo {
                invoice_id: inv,
                lines: vec![(line, usd(5_000))],
            },
        )
        .await
        .unwrap();
        let summary = account_summary(&db, c, date("2026-03-20"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (summary.balance_due_minor, summary.unapplied_credit_minor),
            (0, 5_000)
        );
        // That credit can be refunded, but not more.
        let refund = |minor| AdjustmentRequest::Refund {
            source: RefundSource::UnappliedCredit,
            amount: usd(minor),
            method: PaymentMethod::Card,
        };
        let err = adjust(&db, &header(c, "rf-0"), &refund(5_001))
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                CashError::Adjustment(AdjustmentError::ExceedsRefundable { .. })
            ),
            "{err}"
        );
        adjust(&db, &header(c, "rf-1"), &refund(5_000))
            .await
            .unwrap();
        let summary = account_summary(&db, c, date("2026-03-20"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(summary.unapplied_credit_minor, 0);
        assert_ledger_healthy(&db).await;
    }

    #[tokio::test]
    async fn a_write_off_clears_at_most_what_is_open() {
        let db = fresh_db().await;
        let c = customer(&db, "C-1", Currency::Usd, (30, 0, 0)).await;
        let inv = invoice(&db, c, "INV-1", Currency::Usd, "2026-01-01", &[(10_000, 0)]).await;
        let write_off = |minor| AdjustmentRequest::WriteOff {
            invoice_id: inv,
            amount: usd(minor),
        };
        let err = adjust(&db, &header(c, "wo-0"), &write_off(10_001))
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                CashError::Adjustment(AdjustmentError::ExceedsOpen { .. })
            ),
            "{err}"
        );
        adjust(&db, &header(c, "wo-1"), &write_off(10_000))
            .await
            .unwrap();
        assert_eq!(open_minor(&db, inv).await, 0);
        assert_ledger_healthy(&db).await;
    }

    #[tokio::test]
    async fn refunding_a_payment_reopens_its_invoice() {
        let db = fresh_db().await;
        let c = customer(&db, "C-1", Currency::Usd, (30, 0, 0)).await;
        let inv = invoice(&db, c, "INV-1", Currency::Usd, "2026-03-01", &[(30_000, 0)]).await;
        paid_in_full(&db, c, "pi_1", 30_000).await;
        let refund = |minor| AdjustmentRequest::Refund {
            source: RefundSource::Invoice(inv),
            amount: usd(minor),
            method: PaymentMethod::Card,
        };
        adjust(&db, &header(c, "rf-1"), &refund(10_000))
            .await
            .unwrap();
        assert_eq!(open_minor(&db, inv).await, 10_000);
        let err = adjust(&db, &header(c, "rf-2"), &refund(20_001))
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                CashError::Adjustment(AdjustmentError::ExceedsRefundable { .. })
            ),
            "{err}"
        );
        assert_ledger_healthy(&db).await;
    }

    #[tokio::test]
    async fn voiding_reverses_the_invoice_once_and_only_before_any_activity() {
        let db = fresh_db().await;
        let c = customer(&db, "C-1", Currency::Usd, (30, 0, 0)).await;
        let unpaid = invoice(
            &db,
            c,
            "INV-1",
            Currency::Usd,
            "2026-03-01",
            &[(30_000, 825)],
        )
        .await;
        let void = AdjustmentRequest::Void { invoice_id: unpaid };
        let first = adjust(&db, &header(c, "void-1"), &void).await.unwrap();
        assert_eq!(open_minor(&db, unpaid).await, 0);
        // Replaying the same request returns the same adjustment.
        let replay = adjust(&db, &header(c, "void-1"), &void).await.unwrap();
        assert!(replay.replayed);
        assert_eq!(replay.entry_id, first.entry_id);
        let again = adjust(&db, &header(c, "void-2"), &void).await.unwrap_err();
        assert!(
            matches!(
                again,
                CashError::Adjustment(AdjustmentError::InvoiceVoid(_))
            ),
            "{again}"
        );

        let paid = invoice(&db, c, "INV-2", Currency::Usd, "2026-03-02", &[(10_000, 0)]).await;
        paid_in_full(&db, c, "pi_2", 5_000).await;
        let err = adjust(
            &db,
            &header(c, "void-3"),
            &AdjustmentRequest::Void { invoice_id: paid },
        )
        .await
        .unwrap_err();
        assert!(
            matches!(
                err,
                CashError::Adjustment(AdjustmentError::VoidAfterActivity(_))
            ),
            "{err}"
        );
        assert_ledger_healthy(&db).await;
    }

    #[tokio::test]
    async fn adjustments_on_another_customers_invoice_or_in_another_currency_are_refused() {
        let db = fresh_db().await;
        let a = customer(&db, "C-A", Currency::Usd, (30, 0, 0)).await;
        let b = customer(&db, "C-B", Currency::Usd, (30, 0, 0)).await;
        let theirs = invoice(&db, b, "INV-B", Currency::Usd, "2026-03-01", &[(10_000, 0)]).await;
        let write_off = AdjustmentRequest::WriteOff {
            invoice_id: theirs,
            amount: usd(100),
        };
        let err = adjust(&db, &header(a, "x-1"), &write_off)
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                CashError::Adjustment(AdjustmentError::InvoiceNotFound(_))
            ),
            "{err}"
        );
        let eur = AdjustmentRequest::WriteOff {
            invoice_id: theirs,
            amount: Money::from_minor(100, Currency::Eur),
        };
        let err = adjust(&db, &header(b, "x-2"), &eur).await.unwrap_err();
        assert!(
            matches!(
                err,
                CashError::Adjustment(AdjustmentError::WrongCurrency { .. })
            ),
            "{err}"
        );
        let changed = AdjustmentRequest::WriteOff {
            invoice_id: theirs,
            amount: usd(200),
        };
        adjust(&db, &header(b, "x-3"), &write_off).await.unwrap();
        let err = adjust(&db, &header(b, "x-3"), &changed).await.unwrap_err();
        assert!(matches!(err, CashError::KeyConflict(_)), "{err}");
        assert_eq!(open_minor(&db, theirs).await, 9_900);
        assert_ledger_healthy(&db).await;
    }
}
