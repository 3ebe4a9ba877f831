//! Issuing invoices: the invoice, its lines and its ledger entry commit together.

use sqlx::{Any, Row, Transaction};

use super::{InvoiceError, NewInvoice};
use crate::db::{Db, DbError, date_text, now_text};
use crate::ledger::store::{PostError, post};
use crate::money::Currency;
use crate::terms::PaymentTerms;

#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    #[error("customer {0} does not exist")]
    UnknownCustomer(i64),
    #[error("the invoice is in {found} but the customer is billed in {expected}")]
    WrongCurrency { expected: Currency, found: Currency },
    #[error("invoice {0} already exists with different content")]
    NumberTaken(String),
    #[error(transparent)]
    Invoice(#[from] InvoiceError),
    #[error(transparent)]
    Post(#[from] PostError),
    #[error(transparent)]
    Db(#[from] DbError),
}

crate::from_sqlx_error!(IssueError);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IssuedInvoice {
    pub invoice_id: i64,
    /// True when this invoice number had already been issued with the same content.
    pub replayed: bool,
}

/// Issues an invoice: due date and discount window from the customer's terms, the lines, and
/// the "invoice issued" ledger entry, all in one transaction. Idempotent by invoice number.
pub async fn issue_invoice(db: &Db, invoice: &NewInvoice) -> Result<IssuedInvoice, IssueError> {
    let mut tx = db.begin_write().await?;
    let issued = issue_invoice_in(&mut tx, invoice).await?;
    tx.commit().await?;
    Ok(issued)
}

/// An invoice issued by staff (a user) or an integration (an API key, no user): issued and
/// audited in one transaction.
pub async fn issue_audited(
    db: &Db,
    invoice: &NewInvoice,
    actor_user_id: Option<i64>,
    actor: &str,
) -> Result<IssuedInvoice, IssueError> {
    let mut tx = db.begin_write().await?;
    let issued = issue_invoice_in(&mut tx, invoice).await?;
    if !issued.replayed {
        crate::audit::record(
            &mut *tx,
            actor_user_id,
            actor,
            "invoice.issued",
            &format!("invoice:{}", issued.invoice_id),
            invoice.number.as_str(),
            "",
        )
        .await?;
    }
    tx.commit().await?;
    Ok(issued)
}

pub async fn issue_invoice_in(
    tx: &mut Transaction<'_, Any>,
    invoice: &NewInvoice,
) -> Result<IssuedInvoice, IssueError> {
    let (currency, terms, standing_po) = customer_billing(tx, invoice.customer_id).await?;
    if currency != invoice.currency() {
        return Err(IssueError::WrongCurrency {
            expected: currency,
            found: invoice.currency(),
        });
    }
    let totals = invoice.totals;
    let inserted = sqlx::query(
        "INSERT INTO invoices (customer_id, number, po_number, currency, issue_date, due_date, \
         discount_bp, discount_until, subtotal_minor, tax_minor, total_minor, open_minor, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12) \
         ON CONFLICT (number) DO NOTHING RETURNING id",
    )
    .bind(invoice.customer_id)
    .bind(invoice.number.as_str())
    // The customer's standing PO when the invoice has none of its own: their AP needs one.
    .bind(invoice.po_number.as_deref().or(standing_po.as_deref()))
    .bind(currency.code())
    .bind(date_text(invoice.issue_date))
    .bind(date_text(terms.due_date(invoice.issue_date)))
    .bind(i64::from(terms.discount_bp()))
    .bind(terms.discount_until(invoice.issue_date).map(date_text))
    .bind(totals.subtotal.to_minor())
    .bind(totals.tax.to_minor())
    .bind(totals.total.to_minor())
    .bind(now_text())
    .fetch_optional(&mut **tx)
    .await?;

    let Some(row) = inserted else {
        return replay(tx, invoice).await;
    };
    let invoice_id: i64 = row.try_get(0)?;
    crate::customers::store::add_to_open_balance(tx, invoice.customer_id, totals.total.to_minor())
        .await?;
    for (index, line) in invoice.lines.iter().enumerate() {
        sqlx::query(
            "INSERT INTO invoice_lines (invoice_id, customer_id, line_no, description, quantity_milli, \
             unit_price_minor, discount_bp, tax_rate_bp, net_minor, tax_minor) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(invoice_id)
        .bind(invoice.customer_id)
        .bind(index as i64 + 1)
        .bind(line.item.description())
        .bind(line.item.quantity_milli())
        .bind(line.item.unit_price().to_minor())
        .bind(i64::from(line.item.discount_bp()))
        .bind(i64::from(line.item.tax_rate_bp()))
        .bind(line.net.to_minor())
        .bind(line.tax.to_minor())
        .execute(&mut **tx)
        .await?;
    }
    post(tx, &invoice.ledger_entry(invoice_id)?).await?;
    Ok(IssuedInvoice {
        invoice_id,
        replayed: false,
    })
}

/// The same invoice number again: fine if it is the same invoice (the ledger entry compares
/// every line), refused otherwise.
async fn replay(
    tx: &mut Transaction<'_, Any>,
    invoice: &NewInvoice,
) -> Result<IssuedInvoice, IssueError> {
    let row = sqlx::query("SELECT id FROM invoices WHERE number = $1")
        .bind(invoice.number.as_str())
        .fetch_one(&mut **tx)
        .await?;
    let invoice_id: i64 = row.try_get(0)?;
    match post(tx, &invoice.ledger_entry(invoice_id)?).await {
        Ok(_) => Ok(IssuedInvoice {
            invoice_id,
            replayed: true,
        }),
        Err(PostError::Ledger(_)) => Err(IssueError::NumberTaken(invoice.number.as_str().into())),
        Err(other) => Err(other.into()),
    }
}

async fn customer_billing(
    tx: &mut Transaction<'_, Any>,
    customer_id: i64,
) -> Result<(Currency, PaymentTerms, Option<String>), IssueError> {
    let row = sqlx::query(
        "SELECT currency, net_days, discount_bp, discount_days, standing_po FROM customers \
         WHERE id = $1",
    )
    .bind(customer_id)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(IssueError::UnknownCustomer(customer_id))?;
    let currency: String = row.try_get("currency")?;
    let currency = currency.parse().map_err(|_| {
        DbError::Corrupt(format!("customer {customer_id} has currency {currency:?}"))
    })?;
    let terms = PaymentTerms::with_discount(
        u32_column(&row, "net_days")?,
        u32_column(&row, "discount_bp")?,
        u32_column(&row, "discount_days")?,
    )
    .map_err(|e| DbError::Corrupt(format!("customer {customer_id} terms: {e}")))?;
    let standing_po: String = row.try_get("standing_po")?;
    Ok((
        currency,
        terms,
        Some(standing_po).filter(|po| !po.is_empty()),
    ))
}

fn u32_column(row: &sqlx::any::AnyRow, column: &str) -> Result<u32, DbError> {
    let value: i64 = row.try_get(column)?;
    u32::try_from(value).map_err(|_| DbError::Corrupt(format!("{column} = {value}")))
}

#[cfg(all(test, feature = "test-support"))]
mod tests {
    use chrono::NaiveDate;
    use rust_decimal_macros::dec;
    use sqlx::Row;

    use super::*;
    use crate::customers::NewCustomer;
    use crate::customers::store::create_customer;
    use crate::invoices::{InvoiceNumber, LineItem};
    use crate::money::Money;
    use crate::testing::fresh_db;

    async fn customer(db: &Db, currency: Currency) -> i64 {
        let terms = PaymentTerms::with_discount(30, 200, 10).unwrap();
        let new = NewCustomer::new("C-1", "Acme", currency, terms, Money::zero(currency)).unwrap();
        let mut tx = db.begin_write().await.unwrap();
        let id = create_customer(&mut tx, &new).await.unwrap();
        tx.commit().await.unwrap();
        id
    }

    fn invoice(customer_id: i64, number: &str, price: &str) -> NewInvoice {
        let price = Money::parse(price, Currency::Usd).unwrap();
        let lines = vec![
            LineItem::new(1, "Brackets", dec!(4), price, 0, 825).unwrap(),
            LineItem::new(
                2,
                "Freight",
                dec!(1),
                Money::parse("15", Currency::Usd).unwrap(),
                0,
                0,
            )
            .unwrap(),
        ];
        let issued = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
        NewInvoice::new(
            customer_id,
            InvoiceNumber::parse(number).unwrap(),
            Some("PO-1"),
            issued,
            Currency::Usd,
            lines,
        )
        .unwrap()
    }

    async fn count(db: &Db, sql: &str) -> i64 {
        sqlx::query(sql).fetch_one(db.pool()).await.unwrap().get(0)
    }

    #[tokio::test]
    async fn issuing_an_invoice_debits_receivables_by_its_total_and_sets_terms() {
        let db = fresh_db().await;
        let customer_id = customer(&db, Currency::Usd).await;
        let issued = issue_invoice(&db, &invoice(customer_id, "INV-1", "12.50"))
            .await
            .unwrap();
        // 4 × 12.50 = 50.00 + 8.25 % = 4.13 tax (4.125 rounds up) + 15.00 freight
        let row = sqlx::query(
            "SELECT total_minor, tax_minor, open_minor, due_date, discount_until FROM invoices WHERE id = $1",
        )
        .bind(issued.invoice_id)
        .fetch_one(db.pool())
        .await
        .unwrap();
        assert_eq!(row.get::<i64, _>("total_minor"), 6_913);
        assert_eq!(row.get::<i64, _>("tax_minor"), 413);
        assert_eq!(row.get::<i64, _>("open_minor"), 6_913);
        assert_eq!(row.get::<String, _>("due_date"), "2026-03-31");
        assert_eq!(
            row.get::<Option<String>, _>("discount_until").as_deref(),
            Some("2026-03-11")
        );
        let ar: i64 = sqlx::query(
            "SELECT CAST(sum(amount_minor) AS BIGINT) FROM journal_lines WHERE account_code = '1100' AND invoice_id = $1",
        )
        .bind(issued.invoice_id)
        .fetch_one(db.pool())
        .await
        .unwrap()
        .get(0);
        assert_eq!(ar, 6_913);
        assert_eq!(
            count(
                &db,
                "SELECT CAST(sum(amount_minor) AS BIGINT) FROM journal_lines"
            )
            .await,
            0
        );
    }

    #[tokio::test]
    async fn the_same_invoice_again_is_a_replay_and_different_content_is_refused() {
        let db = fresh_db().await;
        let customer_id = customer(&db, Currency::Usd).await;
        let first = issue_invoice(&db, &invoice(customer_id, "INV-2", "12.50"))
            .await
            .unwrap();
        let replay = issue_invoice(&db, &invoice(customer_id, "inv-2", "12.50"))
            .await
            .unwrap();
        assert_eq!(first.invoice_id, replay.invoice_id);
        assert!(replay.replayed);
        let err = issue_invoice(&db, &invoice(customer_id, "INV-2", "99.00"))
            .await
            .unwrap_err();
        assert!(matches!(err, IssueError::NumberTaken(_)), "{err}");
        assert_eq!(count(&db, "SELECT count(*) FROM invoices").await, 1);
        assert_eq!(count(&db, "SELECT count(*) FROM journal_entries").await, 1);
    }

    #[tokio::test]
    async fn an_invoice_in_another_currency_or_for_nobody_is_refused_and_changes_nothing() {
        let db = fresh_db().await;
        let eur_customer = customer(&db, Currency::Eur).await;
        let err = issue_invoice(&db, &invoice(eur_customer, "INV-3", "1.00"))
            .await
            .unwrap_err();
        assert!(matches!(err, IssueError::WrongCurrency { .. }), "{err}");
        let err = issue_invoice(&db, &invoice(eur_customer + 100, "INV-4", "1.00"))
            .await
            .unwrap_err();
        assert!(matches!(err, IssueError::UnknownCustomer(_)), "{err}");
        assert_eq!(count(&db, "SELECT count(*) FROM invoices").await, 0);
        assert_eq!(count(&db, "SELECT count(*) FROM journal_lines").await, 0);
    }
}
