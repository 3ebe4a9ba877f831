//! Staff applying a bank line the automatic rules left waiting: over invoices of one or several
//! customers, the rest kept as a customer's unapplied credit, and a decision for what a short
//! payment leaves unpaid. One transaction: every payment, write-off and case of the line lands
//! with the line's claim and the audit rows, or none of it does (ledger invariants 12 and 16).

use sqlx::{Any, Row, Transaction};

use super::store::{claim_line, link_payment};
use super::{ApplicationRow, MatchReason, RowsError, ShortPay};
use crate::adjustments::store::adjust_in;
use crate::adjustments::{AdjustmentHeader, AdjustmentRequest};
use crate::audit::Actor;
use crate::db::{Db, DbError, Engine, currency, now_text, parse_date};
use crate::disputes::store::{DisputeStoreError, Scope, ShortPayCase, open_short_pay_case_in};
use crate::keys;
use crate::money::{Currency, Money};
use crate::payments::receipt_mail::{self, ReceiptMail, ReceiptTo};
use crate::payments::store::record_payment_in;
use crate::payments::{AllocationRule, PaymentMethod, PaymentRequest};
use crate::receivables::store::{CashError, due_invoices, lock_customer};

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("there is no such bank line")]
    NotFound,
    #[error("this bank line is no longer waiting: it was applied meanwhile, or it is money out")]
    NotWaiting,
    #[error(transparent)]
    Rows(#[from] RowsError),
    #[error("the rows add up to {rows}, the bank line is {line}")]
    DoesNotAddUp { rows: Money, line: Money },
    #[error("row {row}: there is no customer {number}")]
    UnknownCustomer { row: usize, number: String },
    #[error("row {row}: customer {number} is billed in {billed}, the bank line is in {line}")]
    OtherCurrency {
        row: usize,
        number: String,
        billed: Currency,
        line: Currency,
    },
    #[error("row {row}: customer {customer} has no open invoice {number}")]
    UnknownInvoice {
        row: usize,
        customer: String,
        number: String,
    },
    #[error("row {row}: invoice {number} appears twice")]
    DuplicateInvoice { row: usize, number: String },
    #[error("row {row}: {due} is due on invoice {number}, less than {amount}")]
    AboveDue {
        row: usize,
        number: String,
        due: Money,
        amount: Money,
    },
    #[error(
        "no write-off tolerance is set for {0}: a manager sets it on the cash-application page"
    )]
    NoTolerance(Currency),
    #[error("invoice {number}: {short} unpaid is above the write-off tolerance of {tolerance}")]
    AboveTolerance {
        number: String,
        short: Money,
        tolerance: Money,
    },
    #[error("a write-off tolerance cannot be negative")]
    NegativeTolerance,
    #[error("a short-pay case is opened by a signed-in member of staff")]
    CaseNeedsPerson,
    #[error(transparent)]
    Cash(#[from] CashError),
    #[error(transparent)]
    Case(#[from] DisputeStoreError),
    #[error(transparent)]
    Db(#[from] DbError),
}

crate::from_sqlx_error!(ApplyError);

/// How staff apply one waiting line.
#[derive(Debug, Clone)]
pub struct LineApplication<'a> {
    pub line_id: i64,
    pub rows: &'a [ApplicationRow],
    pub short_pay: ShortPay,
}

/// What applying a line did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppliedLine {
    pub payment_ids: Vec<i64>,
    /// Invoices whose short payment was written off, and how much.
    pub written_off: Vec<(String, Money)>,
    /// Short-pay cases opened.
    pub case_ids: Vec<i64>,
}

/// The waiting line as stored.
struct Waiting {
    account: String,
    bank_reference: String,
    currency: Currency,
    amount: Money,
    booked_on: chrono::NaiveDate,
}

/// Applies a waiting credit line as staff wrote it: each customer's rows become one payment of
/// theirs (the line's business key, with the customer's id when the line is split), allocated
/// to the invoices named and the rest kept as their credit; then `short_pay` for every invoice
/// a row left partly unpaid.
pub async fn apply_line(
    db: &Db,
    application: &LineApplication<'_>,
    actor: Actor<'_>,
) -> Result<AppliedLine, ApplyError> {
    if application.rows.is_empty() {
        return Err(RowsError::Empty.into());
    }
    let mut tx = db.begin_write().await?;
    let engine = db.engine();
    let line = waiting_line(&mut tx, application.line_id).await?;
    // Claimed first: a second person applying the same line waits for this transaction on
    // PostgreSQL's row lock, then finds it taken.
    if !claim_line(&mut tx, application.line_id, MatchReason::Staff, actor.name).await? {
        return Err(ApplyError::NotWaiting);
    }
    let total: i64 = application.rows.iter().map(|r| r.amount_minor).sum();
    if total != line.amount.to_minor() {
        return Err(ApplyError::DoesNotAddUp {
            rows: Money::from_minor(total, line.currency),
            line: line.amount,
        });
    }
    let mut customers: Vec<&str> = Vec::new();
    for row in application.rows {
        if !customers.contains(&row.customer_number.as_str()) {
            customers.push(&row.customer_number);
        }
    }
    let mut applied = AppliedLine::default();
    for number in &customers {
        let rows: Vec<&ApplicationRow> = application
            .rows
            .iter()
            .filter(|r| r.customer_number == *number)
            .collect();
        let share = Share {
            line_id: application.line_id,
            line: &line,
            rows: &rows,
            split: customers.len() > 1,
        };
        apply_share(
            &mut tx,
            engine,
            &share,
            application.short_pay,
            actor,
            &mut applied,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(applied)
}

/// Keeps a whole waiting line as unapplied credit of the customer numbered `customer_number`
/// (for staff to apply when the customer says what it was for).
pub async fn keep_as_credit(
    db: &Db,
    line_id: i64,
    customer_number: &str,
    actor: Actor<'_>,
) -> Result<AppliedLine, ApplyError> {
    let amount_minor: i64 = sqlx::query_scalar("SELECT amount_minor FROM bank_lines WHERE id = $1")
        .bind(line_id)
        .fetch_optional(db.pool())
        .await?
        .ok_or(ApplyError::NotFound)?;
    let rows = [ApplicationRow {
        row: 1,
        customer_number: customer_number.trim().to_string(),
        invoice_number: None,
        amount_minor,
    }];
    let application = LineApplication {
        line_id,
        rows: &rows,
        short_pay: ShortPay::LeaveOpen,
    };
    apply_line(db, &application, actor).await
}

async fn waiting_line(tx: &mut Transaction<'_, Any>, line_id: i64) -> Result<Waiting, ApplyError> {
    let row = sqlx::query(
        "SELECT account, bank_reference, currency, amount_minor, booked_on, status \
         FROM bank_lines WHERE id = $1",
    )
    .bind(line_id)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(ApplyError::NotFound)?;
    let amount_minor: i64 = row.try_get("amount_minor")?;
    if row.try_get::<String, _>("status")? != "unmatched" || amount_minor <= 0 {
        return Err(ApplyError::NotWaiting);
    }
    let currency = currency(&row.try_get::<String, _>("currency")?)?;
    Ok(Waiting {
        account: row.try_get("account")?,
        bank_reference: row.try_get("bank_reference")?,
        currency,
        amount: Money::from_minor(amount_minor, currency),
        booked_on: parse_date(&row.try_get::<String, _>("booked_on")?)?,
    })
}

/// One customer's rows of a line.
struct Share<'a> {
    line_id: i64,
    line: &'a Waiting,
    rows: &'a [&'a ApplicationRow],
    /// The line goes to several customers (each payment's key then names its customer).
    split: bool,
}

async fn apply_share(
    tx: &mut Transaction<'_, Any>,
    engine: Engine,
    share: &Share<'_>,
    short_pay: ShortPay,
    actor: Actor<'_>,
    applied: &mut AppliedLine,
) -> Result<(), ApplyError> {
    let line = share.line;
    let first = share.rows[0];
    let customer = sqlx::query("SELECT id, currency FROM customers WHERE number = $1")
        .bind(&first.customer_number)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| ApplyError::UnknownCustomer {
            row: first.row,
            number: first.customer_number.clone(),
        })?;
    let customer_id: i64 = customer.try_get("id")?;
    let billed = currency(&customer.try_get::<String, _>("currency")?)?;
    if billed != line.currency {
        return Err(ApplyError::OtherCurrency {
            row: first.row,
            number: first.customer_number.clone(),
            billed,
            line: line.currency,
        });
    }
    lock_customer(tx, engine, customer_id).await?;
    let due = due_invoices(&mut **tx, customer_id, &[]).await?;
    let mut parts: Vec<(i64, Money)> = Vec::new();
    let mut paid: Vec<(&str, i64)> = Vec::new();
    for row in share.rows {
        let Some(number) = &row.invoice_number else {
            continue;
        };
        let invoice =
            due.iter()
                .find(|d| d.number == *number)
                .ok_or_else(|| ApplyError::UnknownInvoice {
                    row: row.row,
                    customer: row.customer_number.clone(),
                    number: number.clone(),
                })?;
        if paid.iter().any(|(n, _)| n == number) {
            return Err(ApplyError::DuplicateInvoice {
                row: row.row,
                number: number.clone(),
            });
        }
        if row.amount_minor > invoice.due_minor {
            return Err(ApplyError::AboveDue {
                row: row.row,
                number: number.clone(),
                due: Money::from_minor(invoice.due_minor, line.currency),
                amount: Money::from_minor(row.amount_minor, line.currency),
            });
        }
        parts.push((
            invoice.invoice_id,
            Money::from_minor(row.amount_minor, line.currency),
        ));
        paid.push((number, invoice.invoice_id));
    }
    let amount = Money::from_minor(
        share.rows.iter().map(|r| r.amount_minor).sum(),
        line.currency,
    );
    let mut business_key = keys::bank_line(&line.account, &line.bank_reference);
    if share.split {
        business_key = keys::bank_line_share(&business_key, customer_id);
    }
    let request = PaymentRequest::new(
        customer_id,
        &business_key,
        PaymentMethod::Wire,
        amount,
        line.booked_on,
        AllocationRule::Explicit(parts),
        true,
    )
    .map_err(CashError::Payment)?
    .dated_by_event();
    let receipt = record_payment_in(tx, engine, &request).await?;
    link_payment(tx, share.line_id, receipt.payment_id).await?;
    let mail = ReceiptMail {
        customer_id,
        amount,
        received: line.booked_on,
        method: PaymentMethod::Wire,
        reference: &line.bank_reference,
        receipt: &receipt,
    };
    receipt_mail::queue(tx, &mail, ReceiptTo::Account).await?;
    actor
        .record(
            &mut **tx,
            "bank_line.applied",
            &format!("payment:{}", receipt.payment_id),
            &format!(
                "{amount} of bank line {} ({}) to customer {}",
                line.bank_reference, line.account, first.customer_number
            ),
        )
        .await?;
    applied.payment_ids.push(receipt.payment_id);
    if short_pay == ShortPay::LeaveOpen || paid.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = paid.iter().map(|(_, id)| *id).collect();
    for left in due_invoices(&mut **tx, customer_id, &ids).await? {
        let short = Money::from_minor(left.due_minor, line.currency);
        let unpaid = Unpaid {
            customer_id,
            invoice_id: left.invoice_id,
            number: &left.number,
            short,
        };
        match short_pay {
            ShortPay::LeaveOpen => {}
            ShortPay::WriteOff => {
                write_off_short(tx, engine, share, &unpaid, actor).await?;
                applied.written_off.push((left.number.clone(), short));
            }
            ShortPay::OpenCase => {
                let case = open_case(tx, share, &unpaid, amount, actor).await?;
                applied.case_ids.push(case);
            }
        }
    }
    Ok(())
}

/// What a short payment left unpaid on one invoice.
struct Unpaid<'a> {
    customer_id: i64,
    invoice_id: i64,
    number: &'a str,
    short: Money,
}

async fn write_off_short(
    tx: &mut Transaction<'_, Any>,
    engine: Engine,
    share: &Share<'_>,
    unpaid: &Unpaid<'_>,
    actor: Actor<'_>,
) -> Result<(), ApplyError> {
    let currency = share.line.currency;
    let tolerance = write_off_tolerance(&mut **tx, currency)
        .await?
        .ok_or(ApplyError::NoTolerance(currency))?;
    if unpaid.short.to_minor() > tolerance.to_minor() {
        return Err(ApplyError::AboveTolerance {
            number: unpaid.number.to_string(),
            short: unpaid.short,
            tolerance,
        });
    }
    let reason = format!(
        "Short payment written off (bank line {})",
        share.line.bank_reference
    );
    let header = AdjustmentHeader::new(
        unpaid.customer_id,
        &keys::short_pay_write_off(share.line_id, unpaid.invoice_id),
        &reason,
        share.line.booked_on,
    )
    .map_err(CashError::Adjustment)?
    .dated_by_event();
    let request = AdjustmentRequest::WriteOff {
        invoice_id: unpaid.invoice_id,
        amount: unpaid.short,
    };
    adjust_in(tx, engine, &header, &request).await?;
    actor
        .record(
            &mut **tx,
            request.audit_action(),
            &format!("invoice:{}", unpaid.invoice_id),
            &format!("{}: {} {reason}", unpaid.number, unpaid.short),
        )
        .await?;
    Ok(())
}

async fn open_case(
    tx: &mut Transaction<'_, Any>,
    share: &Share<'_>,
    unpaid: &Unpaid<'_>,
    received: Money,
    actor: Actor<'_>,
) -> Result<i64, ApplyError> {
    let staff = actor.user_id.ok_or(ApplyError::CaseNeedsPerson)?;
    Ok(open_short_pay_case_in(
        tx,
        &ShortPayCase {
            customer_id: unpaid.customer_id,
            invoice_id: unpaid.invoice_id,
            invoice_number: unpaid.number,
            short: unpaid.short,
            bank_line_id: share.line_id,
            staff: crate::disputes::store::Actor {
                user_id: staff,
                email: actor.name,
                scope: Scope::Staff,
            },
            received,
            booked_on: share.line.booked_on,
            bank_reference: &share.line.bank_reference,
        },
    )
    .await?)
}

/// The largest short payment staff may write off in this currency, if a manager set one.
pub async fn write_off_tolerance<'e, E>(
    executor: E,
    currency: Currency,
) -> Result<Option<Money>, DbError>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    let limit: Option<i64> =
        sqlx::query_scalar("SELECT limit_minor FROM write_off_tolerances WHERE currency = $1")
            .bind(currency.code())
            .fetch_optional(executor)
            .await?;
    Ok(limit.map(|minor| Money::from_minor(minor, currency)))
}

/// Every currency's write-off tolerance.
pub async fn write_off_tolerances(db: &Db) -> Result<Vec<Money>, DbError> {
    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT currency, limit_minor FROM write_off_tolerances ORDER BY currency")
            .fetch_all(db.pool())
            .await?;
    rows.into_iter()
        .map(|(code, minor)| Ok(Money::from_minor(minor, currency(&code)?)))
        .collect()
}

/// Sets (or replaces) a currency's write-off tolerance, audited in the same transaction. The
/// caller checks that a manager asks.
pub async fn set_write_off_tolerance(
    db: &Db,
    tolerance: Money,
    actor: Actor<'_>,
) -> Result<(), ApplyError> {
    if tolerance.is_negative() {
        return Err(ApplyError::NegativeTolerance);
    }
    let mut tx = db.begin_write().await?;
    sqlx::query(
        "INSERT INTO write_off_tolerances (currency, limit_minor, set_by, set_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (currency) DO UPDATE SET \
         limit_minor = excluded.limit_minor, set_by = excluded.set_by, set_at = excluded.set_at",
    )
    .bind(tolerance.currency().code())
    .bind(tolerance.to_minor())
    .bind(actor.name)
    .bind(now_text())
    .execute(&mut *tx)
    .await?;
    actor
        .record(
            &mut *tx,
            "write_off_tolerance.set",
            &format!("currency:{}", tolerance.currency().code()),
            &tolerance.to_string(),
        )
        .await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(all(test, feature = "test-support"))]
mod tests {
    use super::*;
    use crate::statements::store::{import_statement, statement_lines};
    use crate::testing::fixtures::{assert_ledger_healthy, demo_acme, open_minor, rows};
    use crate::testing::fresh_db;

    /// A camt.053 statement of the demo's USD account: one credit from an unknown payer and one
    /// fee going out, with balances.
    fn statement(credit_minor: i64) -> String {
        format!(
            "<?xml version=\"1.0\"?><Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.08\">\
             <BkToCstmrStmt><GrpHdr><MsgId>M</MsgId></GrpHdr><Stmt><Id>STMT-1</Id>\
             <Acct><Id><Othr><Id>000123456789</Id></Othr></Id><Ccy>USD</Ccy></Acct>\
             <Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy=\"USD\">0.00</Amt>\
             <CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-12-03</Dt></Dt></Bal>\
             <Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy=\"USD\">{}.{:02}</Amt>\
             <CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-12-04</Dt></Dt></Bal>\
             <Ntry><Amt Ccy=\"USD\">{}.{:02}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>\
             <BookgDt><Dt>2026-12-04</Dt></BookgDt><AcctSvcrRef>W-1</AcctSvcrRef><NtryDtls><TxDtls>\
             <RltdPties><Dbtr><Pty><Nm>Acme Holdings Treasury</Nm></Pty></Dbtr></RltdPties>\
             <RmtInf><Ustrd>December payment</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>\
             <Ntry><Amt Ccy=\"USD\">25.00</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>\
             <BookgDt><Dt>2026-12-04</Dt></BookgDt><AcctSvcrRef>FEE-1</AcctSvcrRef></Ntry>\
             </Stmt></BkToCstmrStmt></Document>",
            (credit_minor - 2_500) / 100,
            (credit_minor - 2_500) % 100,
            credit_minor / 100,
            credit_minor % 100
        )
    }

    const CLERK: Actor<'static> = Actor {
        user_id: None,
        name: "clerk@ledgerport.example",
    };

    async fn staff(db: &Db, email: &'static str) -> Actor<'static> {
        let id: i64 = sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
            .bind(email)
            .fetch_one(db.pool())
            .await
            .unwrap();
        Actor {
            user_id: Some(id),
            name: email,
        }
    }

    /// Imports the statement and returns the waiting credit line's id.
    async fn waiting(db: &Db, credit_minor: i64) -> i64 {
        let imported = import_statement(db, "stmt.xml", &statement(credit_minor), None, CLERK)
            .await
            .unwrap();
        assert_eq!(imported[0].matched, 0);
        statement_lines(db, imported[0].id).await.unwrap()[0].id
    }

    fn rows_of(text: &str) -> Vec<ApplicationRow> {
        ApplicationRow::parse_all(text, Currency::Usd).unwrap()
    }

    async fn number_of(db: &Db, invoice_id: i64) -> String {
        sqlx::query_scalar("SELECT number FROM invoices WHERE id = $1")
            .bind(invoice_id)
            .fetch_one(db.pool())
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_line_split_over_two_customers_posts_one_payment_each_once() {
        let db = fresh_db().await;
        let (_, _, open) = demo_acme(&db).await;
        let (invoice, due) = open[0];
        let number = number_of(&db, invoice).await;
        let line = waiting(&db, due + 10_000).await;
        let text = format!(
            "C-1001 {number} {}.{:02}\nC-1002 credit 100.00",
            due / 100,
            due % 100
        );
        let payments = rows(&db, "payments").await;
        // Rows that do not add up to the line change nothing.
        let short_rows = rows_of(&format!("C-1001 {number} 1.00"));
        let refused = apply_line(
            &db,
            &LineApplication {
                line_id: line,
                rows: &short_rows,
                short_pay: ShortPay::LeaveOpen,
            },
            CLERK,
        )
        .await;
        assert!(matches!(refused, Err(ApplyError::DoesNotAddUp { .. })));
        assert_eq!(rows(&db, "payments").await, payments);
        let rows_text = rows_of(&text);
        let application = LineApplication {
            line_id: line,
            rows: &rows_text,
            short_pay: ShortPay::LeaveOpen,
        };
        let applied = apply_line(&db, &application, CLERK).await.unwrap();
        assert_eq!(applied.payment_ids.len(), 2);
        assert_eq!(open_minor(&db, invoice).await, 0);
        let credit: i64 = sqlx::query_scalar(
            "SELECT CAST(-sum(jl.amount_minor) AS BIGINT) FROM journal_lines jl \
             JOIN customers c ON c.id = jl.customer_id \
             WHERE c.number = 'C-1002' AND jl.account_code = '2200'",
        )
        .fetch_one(db.pool())
        .await
        .unwrap();
        assert_eq!(credit, 10_000);
        let lines = statement_lines(&db, 1).await.unwrap();
        assert_eq!(lines[0].status, crate::statements::LineStatus::Matched);
        assert_eq!(lines[0].match_reason, "staff");
        assert_eq!(lines[0].payments.len(), 2);
        // Twice (a second click, a second person): refused, nothing posted again.
        assert!(matches!(
            apply_line(&db, &application, CLERK).await,
            Err(ApplyError::NotWaiting)
        ));
        assert_eq!(rows(&db, "payments").await, payments + 2);
        assert_ledger_healthy(&db).await;
        // The health check notices a line whose payments no longer carry its money.
        sqlx::query("DELETE FROM bank_line_payments WHERE payment_id = $1")
            .bind(applied.payment_ids[1])
            .execute(db.pool())
            .await
            .unwrap();
        let report = crate::reports::store::ledger_health(&db, None)
            .await
            .unwrap();
        assert!(
            report
                .violations
                .iter()
                .any(|v| v.starts_with("bank line's payments differ from the line")),
            "{:?}",
            report.violations
        );
    }

    #[tokio::test]
    async fn a_short_payment_is_written_off_only_within_the_managers_tolerance() {
        let db = fresh_db().await;
        let (_, _, open) = demo_acme(&db).await;
        let (invoice, due) = open[0];
        let number = number_of(&db, invoice).await;
        let line = waiting(&db, due - 300).await;
        let paid = due - 300;
        let rows_text = rows_of(&format!("C-1001 {number} {}.{:02}", paid / 100, paid % 100));
        let application = LineApplication {
            line_id: line,
            rows: &rows_text,
            short_pay: ShortPay::WriteOff,
        };
        let payments = rows(&db, "payments").await;
        assert!(matches!(
            apply_line(&db, &application, CLERK).await,
            Err(ApplyError::NoTolerance(Currency::Usd))
        ));
        set_write_off_tolerance(&db, Money::from_minor(200, Currency::Usd), CLERK)
            .await
            .unwrap();
        assert!(matches!(
            apply_line(&db, &application, CLERK).await,
            Err(ApplyError::AboveTolerance { .. })
        ));
        assert_eq!(rows(&db, "payments").await, payments);
        set_write_off_tolerance(&db, Money::from_minor(500, Currency::Usd), CLERK)
            .await
            .unwrap();
        let applied = apply_line(&db, &application, CLERK).await.unwrap();
        assert_eq!(
            applied.written_off,
            vec![(number, Money::from_minor(300, Currency::Usd))]
        );
        assert_eq!(open_minor(&db, invoice).await, 0);
        assert_ledger_healthy(&db).await;
    }

    #[tokio::test]
    async fn a_short_pay_case_holds_the_rest_and_the_customer_sees_it_in_their_disputes() {
        let db = fresh_db().await;
        let (customer, _, open) = demo_acme(&db).await;
        let (invoice, due) = open[0];
        let number = number_of(&db, invoice).await;
        let paid = due - 1_000;
        let line = waiting(&db, paid).await;
        let rows_text = rows_of(&format!("C-1001 {number} {}.{:02}", paid / 100, paid % 100));
        let application = LineApplication {
            line_id: line,
            rows: &rows_text,
            short_pay: ShortPay::OpenCase,
        };
        // An API key is nobody the customer can talk to.
        assert!(matches!(
            apply_line(&db, &application, CLERK).await,
            Err(ApplyError::CaseNeedsPerson)
        ));
        let clerk = staff(&db, "clerk@ledgerport.example").await;
        let applied = apply_line(&db, &application, clerk).await.unwrap();
        assert_eq!(applied.case_ids.len(), 1);
        assert_eq!(open_minor(&db, invoice).await, 1_000);
        let due_now: Vec<i64> = due_invoices(db.pool(), customer, &[invoice])
            .await
            .unwrap()
            .iter()
            .map(|d| d.due_minor)
            .collect();
        assert!(due_now.is_empty(), "the case holds what is left");
        let theirs = crate::disputes::store::customer_disputes(&db, customer)
            .await
            .unwrap();
        assert_eq!(theirs.len(), 1);
        assert_eq!(theirs[0].disputed_minor, 1_000);
        let told: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM outbox WHERE recipient = 'pat@acme.example' \
             AND subject LIKE 'Short payment%'",
        )
        .fetch_one(db.pool())
        .await
        .unwrap();
        assert_eq!(told, 1);
        assert_ledger_healthy(&db).await;
    }

    #[tokio::test]
    async fn a_line_kept_as_credit_becomes_the_named_customers_unapplied_credit() {
        let db = fresh_db().await;
        demo_acme(&db).await;
        let line = waiting(&db, 12_345).await;
        assert!(matches!(
            keep_as_credit(&db, line, "C-9999", CLERK).await,
            Err(ApplyError::UnknownCustomer { .. })
        ));
        // A yen customer cannot hold dollars.
        assert!(matches!(
            keep_as_credit(&db, line, "C-1003", CLERK).await,
            Err(ApplyError::OtherCurrency { .. })
        ));
        let customer: i64 = sqlx::query_scalar("SELECT id FROM customers WHERE number = 'C-1002'")
            .fetch_one(db.pool())
            .await
            .unwrap();
        let credit = || async {
            crate::receivables::store::unapplied_credit_in(db.pool(), customer, Currency::Usd)
                .await
                .unwrap()
                .to_minor()
        };
        let before = credit().await;
        keep_as_credit(&db, line, " C-1002 ", CLERK).await.unwrap();
        assert_eq!(credit().await - before, 12_345);
        assert_ledger_healthy(&db).await;
    }

    #[tokio::test]
    async fn suggestions_rank_the_customer_the_evidence_points_at_and_reconciliation_explains_the_difference()
     {
        let db = fresh_db().await;
        let (_, _, open) = demo_acme(&db).await;
        let (invoice, due) = open[1];
        let line_id = waiting(&db, due).await;
        let lines = statement_lines(&db, 1).await.unwrap();
        let suggestions = crate::statements::suggest::suggestions_for(&db, &lines[0])
            .await
            .unwrap();
        let best = &suggestions[0];
        assert_eq!(best.customer_number, "C-1001");
        assert_eq!(best.invoices[0].invoice_id, invoice);
        assert_eq!(best.credit_minor, 0);
        assert!(
            best.reasons.iter().any(|r| r.contains("acme")),
            "{:?}",
            best.reasons
        );
        let before = crate::statements::reconcile::reconcile_statement(&db, 1)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(before.bank_closing_minor, due - 2_500);
        assert_eq!(before.unposted.len(), 2);
        assert_eq!(before.unposted_minor, due - 2_500);
        let rows_text = best.rows();
        apply_line(
            &db,
            &LineApplication {
                line_id,
                rows: &rows_text,
                short_pay: ShortPay::LeaveOpen,
            },
            CLERK,
        )
        .await
        .unwrap();
        let after = crate::statements::reconcile::reconcile_statement(&db, 1)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(after.ledger_minor - before.ledger_minor, due);
        assert_eq!(after.unposted_minor, -2_500);
        assert_eq!(after.unexplained_minor(), before.unexplained_minor());
    }
}
