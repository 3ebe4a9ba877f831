//! Reading invoices: a customer's list with filters, search, sort and paging, and one invoice
//! with its lines and everything posted against it since, scoped to the customer; for staff and
//! integrations, any invoice by id or number.

use chrono::NaiveDate;

use super::views::{
    InvoiceActivity, InvoiceDetail, InvoiceDispute, InvoiceFilter, InvoiceLineView, InvoicePage,
    InvoiceQuery, InvoiceRow, InvoiceSort, InvoiceStatus, StaffInvoice,
};
use crate::customers::store::customer_currency;
use crate::db::{Conditions, Day, Db, DbError, MaybeDay, date_text};
use crate::ledger::{Account, EntryKind};
use crate::money::Currency;

/// One page of the customer's invoices. `None` when the customer does not exist.
pub async fn list_invoices(
    db: &Db,
    customer_id: i64,
    query: &InvoiceQuery,
    today: NaiveDate,
) -> Result<Option<InvoicePage>, DbError> {
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

    let list_sql = format!(
        "SELECT id, number, po_number, currency, issue_date, due_date, total_minor, open_minor, held_minor, \
                pending_minor, CASE WHEN voided_at IS NULL THEN 0 ELSE 1 END AS voided \
         FROM invoices {filter} ORDER BY {column} {direction}, id {direction} \
         LIMIT {per_page} OFFSET {offset}"
    );
    let listed: Vec<ListedInvoice> =
        sqlx::query_as_with::<_, ListedInvoice, _>(&list_sql, conditions.arguments()?)
            .fetch_all(db.pool())
            .await?;
    // Counting passes over every matching invoice (a window count on the page's query sorted
    // them all: 28 ms for an account with 10,000): a page that is not full is the last one and
    // gives the count itself, which is every page of an ordinary account.
    let listed_count = i64::try_from(listed.len()).unwrap_or(i64::MAX);
    let matching = if listed_count > 0 && listed_count < i64::from(per_page) {
        offset + listed_count
    } else if listed_count == 0 && page == 1 {
        0
    } else {
        let count_sql = format!("SELECT count(*) FROM invoices {filter}");
        let counted: i64 = sqlx::query_scalar_with(&count_sql, conditions.arguments()?)
            .fetch_one(db.pool())
            .await?;
        // A full page's invoices count even if some left the filter between the two reads
        // (an empty page past the end shows nothing to count).
        if listed_count > 0 {
            counted.max(offset + listed_count)
        } else {
            counted
        }
    };
    // An account's invoices are in its currency (`issue_invoice` checks it): the account is read
    // only when the page has none.
    let currency = match listed.first() {
        Some(first) => first.currency,
        None => match customer_currency(db, customer_id).await? {
            Some(currency) => currency,
            None => return Ok(None),
        },
    };
    let mut rows: Vec<InvoiceRow> = listed.into_iter().map(|row| row.into_row(today)).collect();
    if rows.iter().any(|row| row.pending_minor > 0) {
        let announced = crate::checkout::store::announced_amounts(db, customer_id).await?;
        for row in &mut rows {
            row.announced_minor = announced.get(&row.id).copied().unwrap_or_default();
        }
    }
    Ok(Some(InvoicePage {
        currency,
        rows,
        matching,
        page,
        per_page,
    }))
}

/// An invoice as the list query returns it; its status depends on the day it is read.
#[derive(sqlx::FromRow)]
struct ListedInvoice {
    id: i64,
    number: String,
    po_number: Option<String>,
    #[sqlx(try_from = "String")]
    currency: Currency,
    #[sqlx(try_from = "Day")]
    issue_date: NaiveDate,
    #[sqlx(try_from = "Day")]
    due_date: NaiveDate,
    total_minor: i64,
    open_minor: i64,
    held_minor: i64,
    pending_minor: i64,
    voided: i64,
}

impl ListedInvoice {
    fn into_row(self, today: NaiveDate) -> InvoiceRow {
        InvoiceRow {
            status: InvoiceStatus::of(self.voided != 0, self.open_minor, self.due_date, today),
            id: self.id,
            number: self.number,
            po_number: self.po_number,
            issue_date: self.issue_date,
            due_date: self.due_date,
            total_minor: self.total_minor,
            open_minor: self.open_minor,
            held_minor: self.held_minor,
            pending_minor: self.pending_minor,
            announced_minor: 0,
        }
    }
}

/// An invoice's header row, before its lines, activity and disputes are added.
#[derive(sqlx::FromRow)]
struct InvoiceHeader {
    id: i64,
    number: String,
    po_number: Option<String>,
    #[sqlx(try_from = "String")]
    currency: Currency,
    #[sqlx(try_from = "Day")]
    issue_date: NaiveDate,
    #[sqlx(try_from = "Day")]
    due_date: NaiveDate,
    discount_bp: i64,
    #[sqlx(try_from = "MaybeDay")]
    discount_until: Option<NaiveDate>,
    subtotal_minor: i64,
    tax_minor: i64,
    total_minor: i64,
    open_minor: i64,
    held_minor: i64,
    pending_minor: i64,
    voided: i64,
}

/// One invoice of this customer, or `None` if it is not theirs (or does not exist).
pub async fn invoice_detail(
    db: &Db,
    customer_id: i64,
    invoice_id: i64,
    today: NaiveDate,
) -> Result<Option<InvoiceDetail>, DbError> {
    // One connection for the page's reads: the pool pings each connection it gets back.
    let mut conn = db.pool().acquire().await?;
    let Some(header) = sqlx::query_as::<_, InvoiceHeader>(
        "SELECT i.id, i.number, i.po_number, i.currency, i.issue_date, i.due_date, i.discount_bp, \
                i.discount_until, i.subtotal_minor, i.tax_minor, i.total_minor, i.open_minor, \
                i.held_minor, i.pending_minor, \
                CASE WHEN i.voided_at IS NULL THEN 0 ELSE 1 END AS voided \
         FROM invoices i WHERE i.id = $1 AND i.customer_id = $2",
    )
    .bind(invoice_id)
    .bind(customer_id)
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(None);
    };
    let lines_sql = format!(
        "SELECT l.id, l.line_no, l.description, l.quantity_milli, l.unit_price_minor, \
                l.discount_bp, l.tax_rate_bp, l.net_minor, l.tax_minor, \
                {} AS credited_minor \
         FROM invoice_lines l WHERE l.invoice_id = $1 ORDER BY l.line_no",
        crate::adjustments::store::CREDITED_ON_LINE
    );
    let lines = sqlx::query_as::<_, InvoiceLineView>(&lines_sql)
        .bind(invoice_id)
        .fetch_all(&mut *conn)
        .await?;
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
    let activity = sqlx::query_as::<_, InvoiceActivity>(&activity_sql)
        .bind(invoice_id)
        .fetch_all(&mut *conn)
        .await?;
    let disputes = sqlx::query_as::<_, InvoiceDispute>(
        "SELECT id, status, disputed_minor, credited_minor FROM disputes \
         WHERE invoice_id = $1 ORDER BY id DESC",
    )
    .bind(invoice_id)
    .fetch_all(&mut *conn)
    .await?;
    let in_progress = if header.pending_minor > 0 {
        crate::checkout::store::in_progress_for(&mut conn, customer_id, invoice_id).await?
    } else {
        Vec::new()
    };
    Ok(Some(InvoiceDetail {
        status: InvoiceStatus::of(
            header.voided != 0,
            header.open_minor,
            header.due_date,
            today,
        ),
        // The invoice's own terms, whatever the customer's terms are today.
        net_days: (header.due_date - header.issue_date).num_days(),
        id: header.id,
        number: header.number,
        po_number: header.po_number,
        currency: header.currency,
        issue_date: header.issue_date,
        due_date: header.due_date,
        discount_bp: header.discount_bp,
        discount_until: header.discount_until,
        subtotal_minor: header.subtotal_minor,
        tax_minor: header.tax_minor,
        total_minor: header.total_minor,
        open_minor: header.open_minor,
        held_minor: header.held_minor,
        pending_minor: header.pending_minor,
        in_progress,
        lines,
        activity,
        disputes,
    }))
}

/// Any customer's invoice, for staff.
pub async fn staff_invoice(
    db: &Db,
    invoice_id: i64,
    today: NaiveDate,
) -> Result<Option<StaffInvoice>, DbError> {
    // Only the account is needed here: the detail reads the invoice and its lines itself.
    let Some((customer_id, customer_name)) = sqlx::query_as::<_, (i64, String)>(
        "SELECT c.id, c.name FROM invoices i JOIN customers c ON c.id = i.customer_id \
         WHERE i.id = $1",
    )
    .bind(invoice_id)
    .fetch_optional(db.pool())
    .await?
    else {
        return Ok(None);
    };
    Ok(invoice_detail(db, customer_id, invoice_id, today)
        .await?
        .map(|invoice| StaffInvoice {
            customer_id,
            customer_name,
            invoice,
        }))
}

/// An invoice as an integration (by number) or a staff form (by id) refers to it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct InvoiceRef {
    pub id: i64,
    pub customer_id: i64,
    pub customer_number: String,
    pub number: String,
    #[sqlx(try_from = "String")]
    pub currency: crate::money::Currency,
    #[sqlx(try_from = "Day")]
    pub due_date: NaiveDate,
    pub total_minor: i64,
    pub open_minor: i64,
    /// `(line_no, line id)` in line order.
    #[sqlx(skip)]
    pub lines: Vec<(i64, i64)>,
}

impl InvoiceRef {
    /// What a credit memo draft is parsed against.
    pub fn credited(&self) -> crate::adjustments::credit_memo::CreditedInvoice<'_> {
        crate::adjustments::credit_memo::CreditedInvoice {
            id: self.id,
            customer_id: self.customer_id,
            number: &self.number,
            currency: self.currency,
            lines: &self.lines,
        }
    }
}

/// The columns of an [`InvoiceRef`], before its `WHERE`.
macro_rules! invoice_ref_sql {
    ($condition:literal) => {
        concat!(
            "SELECT i.id, i.customer_id, c.number AS customer_number, \
                    i.number, i.currency, i.due_date, i.total_minor, i.open_minor \
             FROM invoices i JOIN customers c ON c.id = i.customer_id WHERE ",
            $condition
        )
    };
}

/// Looks an invoice up by its number (any case), with its line ids.
pub async fn invoice_by_number(db: &Db, number: &str) -> Result<Option<InvoiceRef>, DbError> {
    let found = sqlx::query_as::<_, InvoiceRef>(invoice_ref_sql!("i.number = $1"))
        .bind(number.trim().to_ascii_uppercase())
        .fetch_optional(db.pool())
        .await?;
    with_line_ids(db, found).await
}

/// Looks an invoice up by its id, with its line ids.
pub async fn invoice_by_id(db: &Db, id: i64) -> Result<Option<InvoiceRef>, DbError> {
    let found = sqlx::query_as::<_, InvoiceRef>(invoice_ref_sql!("i.id = $1"))
        .bind(id)
        .fetch_optional(db.pool())
        .await?;
    with_line_ids(db, found).await
}

async fn with_line_ids(db: &Db, found: Option<InvoiceRef>) -> Result<Option<InvoiceRef>, DbError> {
    let Some(mut invoice) = found else {
        return Ok(None);
    };
    invoice.lines = sqlx::query_as(
        "SELECT line_no, id FROM invoice_lines WHERE invoice_id = $1 ORDER BY line_no",
    )
    .bind(invoice.id)
    .fetch_all(db.pool())
    .await?;
    Ok(Some(invoice))
}

/// The numbers of the given invoices, by id (one read for all of them).
pub async fn numbers_of(
    conn: &mut sqlx::AnyConnection,
    invoice_ids: &[i64],
) -> Result<Vec<(i64, String)>, DbError> {
    if invoice_ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT id, number FROM invoices WHERE id IN ({})",
        crate::db::placeholders(1, invoice_ids.len())
    );
    let mut query = sqlx::query_as(&sql);
    for id in invoice_ids {
        query = query.bind(*id);
    }
    Ok(query.fetch_all(conn).await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::fixtures::{customer, date, invoice};
    use crate::testing::fresh_db;

    #[tokio::test]
    async fn every_page_of_the_list_counts_every_matching_invoice() {
        let db = fresh_db().await;
        let c = customer(&db, "C-PAGES", Currency::Usd, (30, 0, 0)).await;
        for n in 1..=7 {
            invoice(
                &db,
                c,
                &format!("INV-P{n}"),
                Currency::Usd,
                "2026-03-01",
                &[(1_000, 0)],
            )
            .await;
        }
        let page = |page, filter| InvoiceQuery {
            filter,
            page,
            per_page: 3,
            ..InvoiceQuery::default()
        };
        let today = date("2026-03-10");
        let counted = |query: InvoiceQuery| {
            let db = db.clone();
            async move {
                let listed = list_invoices(&db, c, &query, today).await.unwrap().unwrap();
                (listed.rows.len(), listed.matching)
            }
        };
        // A full page, the last (short) page, and a page past the end.
        assert_eq!(counted(page(1, InvoiceFilter::All)).await, (3, 7));
        assert_eq!(counted(page(3, InvoiceFilter::All)).await, (1, 7));
        assert_eq!(counted(page(4, InvoiceFilter::All)).await, (0, 7));
        // Nothing matches: an empty first page, and a page past that end.
        assert_eq!(counted(page(1, InvoiceFilter::Paid)).await, (0, 0));
        assert_eq!(counted(page(2, InvoiceFilter::Paid)).await, (0, 0));
    }
}
