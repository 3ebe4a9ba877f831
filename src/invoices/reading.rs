//! Reading invoices, always scoped to one customer: the list with filters, search, sort and
//! paging, and one invoice with its lines and everything posted against it since.

use chrono::NaiveDate;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::views::{
    InvoiceActivity, InvoiceDetail, InvoiceDispute, InvoiceFilter, InvoiceLineView, InvoicePage,
    InvoiceQuery, InvoiceRow, InvoiceSort, InvoiceStatus,
};
use crate::customers::store::customer_currency;
use crate::db::{Conditions, Db, DbError, date_text, parse_date};
use crate::ledger::{Account, EntryKind};

/// One page of the customer's invoices. `None` when the customer does not exist.
pub async fn list_invoices(
    db: &Db,
    customer_id: i64,
    query: &InvoiceQuery,
    today: NaiveDate,
) -> Result<Option<InvoicePage>, DbError> {
    let Some(currency) = customer_currency(db, customer_id).await? else {
        return Ok(None);
    };
    let mut conditions = Conditions::new();
    conditions.push_bind("customer_id = $n", customer_id);
    match query.filter {
        InvoiceFilter::All => {}
        InvoiceFilter::Open => {
            conditions.push("voided_at IS NULL AND open_minor > 0");
        }
        InvoiceFilter::Overdue => {
            conditions.push_bind(
                "voided_at IS NULL AND open_minor > 0 AND due_date < $n",
                date_text(today),
            );
        }
        InvoiceFilter::Paid => {
            conditions.push("voided_at IS NULL AND open_minor = 0");
        }
        InvoiceFilter::Void => {
            conditions.push("voided_at IS NOT NULL");
        }
        InvoiceFilter::InDispute => {
            conditions.push("held_minor > 0");
        }
    }
    if !query.search.trim().is_empty() {
        conditions.push_bind(
            "(lower(number) LIKE $n ESCAPE '\\' OR lower(COALESCE(po_number, '')) LIKE $n ESCAPE '\\')",
            crate::db::contains_pattern(&query.search),
        );
    }
    let filter = conditions.where_clause();
    let column = match query.sort {
        InvoiceSort::DueDate => "due_date",
        InvoiceSort::IssueDate => "issue_date",
        InvoiceSort::Number => "number",
        InvoiceSort::Total => "total_minor",
        InvoiceSort::Open => "open_minor",
    };
    let direction = if query.descending { "DESC" } else { "ASC" };
    let per_page = query.per_page.clamp(1, InvoiceQuery::MAX_PER_PAGE);
    let page = query.page.max(1);
    let offset = i64::from(page - 1) * i64::from(per_page);

    let count_sql = format!("SELECT count(*) FROM invoices {filter}");
    let matching: i64 = sqlx::query_with(&count_sql, conditions.arguments()?)
        .fetch_one(db.pool())
        .await?
        .try_get(0)?;
    let list_sql = format!(
        "SELECT id, number, po_number, issue_date, due_date, total_minor, open_minor, held_minor, \
                CASE WHEN voided_at IS NULL THEN 0 ELSE 1 END AS voided \
         FROM invoices {filter} ORDER BY {column} {direction}, id {direction} \
         LIMIT {per_page} OFFSET {offset}"
    );
    let rows = sqlx::query_with(&list_sql, conditions.arguments()?)
        .fetch_all(db.pool())
        .await?;
    let rows = rows
        .iter()
        .map(|row| invoice_row(row, today))
        .collect::<Result<_, _>>()?;
    Ok(Some(InvoicePage {
        currency,
        rows,
        matching,
        page,
        per_page,
    }))
}

fn invoice_row(row: &AnyRow, today: NaiveDate) -> Result<InvoiceRow, DbError> {
    let due_date = parse_date(&row.try_get::<String, _>("due_date")?)?;
    let open_minor: i64 = row.try_get("open_minor")?;
    let voided = row.try_get::<i64, _>("voided")? != 0;
    Ok(InvoiceRow {
        id: row.try_get("id")?,
        number: row.try_get("number")?,
        po_number: row.try_get("po_number")?,
        issue_date: parse_date(&row.try_get::<String, _>("issue_date")?)?,
        due_date,
        total_minor: row.try_get("total_minor")?,
        open_minor,
        held_minor: row.try_get("held_minor")?,
        status: InvoiceStatus::of(voided, open_minor, due_date, today),
    })
}

/// One invoice of this customer, or `None` if it is not theirs (or does not exist).
pub async fn invoice_detail(
    db: &Db,
    customer_id: i64,
    invoice_id: i64,
    today: NaiveDate,
) -> Result<Option<InvoiceDetail>, DbError> {
    let Some(header) = sqlx::query(
        "SELECT i.id, i.number, i.po_number, i.currency, i.issue_date, i.due_date, i.discount_bp, \
                i.discount_until, i.subtotal_minor, i.tax_minor, i.total_minor, i.open_minor, \
                i.held_minor, CASE WHEN i.voided_at IS NULL THEN 0 ELSE 1 END AS voided \
         FROM invoices i WHERE i.id = $1 AND i.customer_id = $2",
    )
    .bind(invoice_id)
    .bind(customer_id)
    .fetch_optional(db.pool())
    .await?
    else {
        return Ok(None);
    };
    let lines = sqlx::query(
        "SELECT id, line_no, description, quantity_milli, unit_price_minor, discount_bp, \
                tax_rate_bp, net_minor, tax_minor \
         FROM invoice_lines WHERE invoice_id = $1 ORDER BY line_no",
    )
    .bind(invoice_id)
    .fetch_all(db.pool())
    .await?
    .iter()
    .map(|r| {
        Ok(InvoiceLineView {
            id: r.try_get("id")?,
            line_no: r.try_get("line_no")?,
            description: r.try_get("description")?,
            quantity_milli: r.try_get("quantity_milli")?,
            unit_price_minor: r.try_get("unit_price_minor")?,
            discount_bp: r.try_get("discount_bp")?,
            tax_rate_bp: r.try_get("tax_rate_bp")?,
            net_minor: r.try_get("net_minor")?,
            tax_minor: r.try_get("tax_minor")?,
        })
    })
    .collect::<Result<Vec<_>, sqlx::Error>>()?;
    // Everything posted to this invoice's receivable after it was issued.
    let activity_sql = format!(
        "SELECT e.effective_date, e.kind, e.memo, CAST(sum(l.amount_minor) AS BIGINT) AS amount \
         FROM journal_lines l JOIN journal_entries e ON e.id = l.entry_id \
         WHERE l.invoice_id = $1 AND l.account_code = '{}' AND e.kind <> '{}' \
         GROUP BY e.id, e.effective_date, e.kind, e.memo HAVING sum(l.amount_minor) <> 0 \
         ORDER BY e.effective_date, e.id",
        Account::AccountsReceivable.code(),
        EntryKind::InvoiceIssued.as_str(),
    );
    let activity = sqlx::query(&activity_sql)
        .bind(invoice_id)
        .fetch_all(db.pool())
        .await?
        .iter()
        .map(|r| {
            Ok(InvoiceActivity {
                date: parse_date(&r.try_get::<String, _>("effective_date")?)?,
                kind: r.try_get("kind")?,
                description: r.try_get("memo")?,
                amount_minor: r.try_get("amount")?,
            })
        })
        .collect::<Result<Vec<_>, DbError>>()?;
    let disputes = sqlx::query(
        "SELECT id, status, disputed_minor, credited_minor FROM disputes \
         WHERE invoice_id = $1 ORDER BY id DESC",
    )
    .bind(invoice_id)
    .fetch_all(db.pool())
    .await?
    .iter()
    .map(|r| {
        let status: String = r.try_get("status")?;
        Ok(InvoiceDispute {
            id: r.try_get("id")?,
            status: crate::disputes::DisputeStatus::parse(&status)
                .ok_or_else(|| DbError::Corrupt(format!("dispute status {status:?}")))?,
            disputed_minor: r.try_get("disputed_minor")?,
            credited_minor: r.try_get("credited_minor")?,
        })
    })
    .collect::<Result<Vec<_>, DbError>>()?;
    let currency: String = header.try_get("currency")?;
    let due_date = parse_date(&header.try_get::<String, _>("due_date")?)?;
    let issue_date = parse_date(&header.try_get::<String, _>("issue_date")?)?;
    let open_minor: i64 = header.try_get("open_minor")?;
    Ok(Some(InvoiceDetail {
        id: header.try_get("id")?,
        number: header.try_get("number")?,
        po_number: header.try_get("po_number")?,
        currency: crate::db::currency(&currency)?,
        issue_date,
        due_date,
        // The invoice's own terms, whatever the customer's terms are today.
        net_days: (due_date - issue_date).num_days(),
        discount_bp: header.try_get("discount_bp")?,
        discount_until: header
            .try_get::<Option<String>, _>("discount_until")?
            .map(|d| parse_date(&d))
            .transpose()?,
        subtotal_minor: header.try_get("subtotal_minor")?,
        tax_minor: header.try_get("tax_minor")?,
        total_minor: header.try_get("total_minor")?,
        open_minor,
        held_minor: header.try_get("held_minor")?,
        status: InvoiceStatus::of(
            header.try_get::<i64, _>("voided")? != 0,
            open_minor,
            due_date,
            today,
        ),
        lines,
        activity,
        disputes,
    }))
}

/// An invoice found by its number, as an integration refers to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceByNumber {
    pub id: i64,
    pub customer_id: i64,
    pub customer_number: String,
    pub number: String,
    pub currency: crate::money::Currency,
    pub due_date: NaiveDate,
    pub total_minor: i64,
    pub open_minor: i64,
    /// `(line_no, line id)` in line order.
    pub lines: Vec<(i64, i64)>,
}

/// Looks an invoice up by its number (any case), with its line ids.
pub async fn invoice_by_number(db: &Db, number: &str) -> Result<Option<InvoiceByNumber>, DbError> {
    let Some(row) = sqlx::query(
        "SELECT i.id, i.customer_id, c.number AS customer_number, i.number, i.currency, i.due_date, \
                i.total_minor, i.open_minor \
         FROM invoices i JOIN customers c ON c.id = i.customer_id WHERE i.number = $1",
    )
    .bind(number.trim().to_ascii_uppercase())
    .fetch_optional(db.pool())
    .await?
    else {
        return Ok(None);
    };
    let id: i64 = row.try_get("id")?;
    let lines =
        sqlx::query("SELECT line_no, id FROM invoice_lines WHERE invoice_id = $1 ORDER BY line_no")
            .bind(id)
            .fetch_all(db.pool())
            .await?
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect::<Result<_, DbError>>()?;
    Ok(Some(InvoiceByNumber {
        id,
        customer_id: row.try_get("customer_id")?,
        customer_number: row.try_get("customer_number")?,
        number: row.try_get("number")?,
        currency: crate::db::currency(&row.try_get::<String, _>("currency")?)?,
        due_date: parse_date(&row.try_get::<String, _>("due_date")?)?,
        total_minor: row.try_get("total_minor")?,
        open_minor: row.try_get("open_minor")?,
        lines,
    }))
}
