//! Keeping, previewing and committing invoice imports. Preview and commit run the same code in
//! one write transaction; the preview rolls it back, the commit keeps it only when no row has
//! an error.

use std::collections::HashMap;

use sqlx::{Any, Row, Transaction};

use super::{
    COLUMNS, ImportOutcome, ImportPreview, ImportSummary, ImportedInvoice, MAX_BYTES, MAX_ROWS,
    REQUIRED_COLUMNS, RowError,
};
use crate::customers::store::customer_by_number;
use crate::db::{Db, DbError, now_text};
use crate::invoices::draft::{InvoiceDraft, LineDraft};
use crate::invoices::store::{IssueError, issue_invoice_in};
use crate::money::Currency;

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("there is no such import")]
    NotFound,
    #[error("the file is empty")]
    Empty,
    #[error("the file is larger than {} MB", MAX_BYTES / 1024 / 1024)]
    TooLarge,
    #[error("the file is not UTF-8 text")]
    NotText,
    #[error("the file name must be 1 to 200 characters")]
    FileName,
    #[error("this import was already committed")]
    AlreadyCommitted,
    #[error("the file has {0} rows with errors; fix them and upload it again")]
    HasErrors(usize),
    #[error("the file has no invoices")]
    NoInvoices,
    #[error(transparent)]
    Db(#[from] DbError),
}

crate::from_sqlx_error!(ImportError);

/// Keeps an uploaded file for preview; returns the import's id.
pub async fn upload(
    db: &Db,
    file_name: &str,
    content: &[u8],
    actor_user_id: i64,
) -> Result<i64, ImportError> {
    let file_name = file_name.trim();
    if file_name.is_empty() || file_name.chars().count() > 200 {
        return Err(ImportError::FileName);
    }
    if content.len() > MAX_BYTES {
        return Err(ImportError::TooLarge);
    }
    let text = std::str::from_utf8(content).map_err(|_| ImportError::NotText)?;
    // A NUL is never in a CSV of invoices, and PostgreSQL cannot keep it in text.
    if text.contains('\0') {
        return Err(ImportError::NotText);
    }
    let text = text.trim_start_matches('\u{feff}');
    if text.trim().is_empty() {
        return Err(ImportError::Empty);
    }
    let row = sqlx::query(
        "INSERT INTO invoice_imports (file_name, content, created_by, created_at) \
         VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(file_name)
    .bind(text)
    .bind(actor_user_id)
    .bind(now_text())
    .fetch_one(db.write_pool())
    .await?;
    Ok(row.try_get(0)?)
}

/// The latest uploads, newest first.
pub async fn recent(db: &Db, limit: i64) -> Result<Vec<ImportSummary>, ImportError> {
    let rows = sqlx::query(
        "SELECT m.id, m.file_name, u.email, m.created_at, m.committed_at, m.issued \
         FROM invoice_imports m JOIN users u ON u.id = m.created_by ORDER BY m.id DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(ImportSummary {
                id: r.try_get(0)?,
                file_name: r.try_get(1)?,
                uploaded_by: r.try_get(2)?,
                uploaded_at: r.try_get(3)?,
                committed_at: r.try_get(4)?,
                issued: r.try_get(5)?,
            })
        })
        .collect()
}

/// What committing the import would do, without writing anything.
pub async fn preview(db: &Db, import_id: i64) -> Result<ImportPreview, ImportError> {
    let stored = stored(db, import_id).await?;
    let mut tx = db.begin_write().await?;
    let preview = run(&mut tx, stored).await?;
    tx.rollback().await?;
    Ok(preview)
}

/// Issues every invoice of the import in one transaction, or none when any row has an error.
pub async fn commit(
    db: &Db,
    import_id: i64,
    actor_user_id: i64,
    actor: &str,
) -> Result<ImportPreview, ImportError> {
    let stored = stored(db, import_id).await?;
    if stored.committed_at.is_some() {
        return Err(ImportError::AlreadyCommitted);
    }
    let mut tx = db.begin_write().await?;
    let mut preview = run(&mut tx, stored).await?;
    if !preview.errors.is_empty() {
        return Err(ImportError::HasErrors(preview.errors.len()));
    }
    if preview.invoices.is_empty() {
        return Err(ImportError::NoInvoices);
    }
    let issued = preview.new_invoices() as i64;
    let committed_at = now_text();
    // Conditional on not yet committed, so two clicks cannot both commit.
    let claimed = sqlx::query(
        "UPDATE invoice_imports SET committed_at = $1, issued = $2 \
         WHERE id = $3 AND committed_at IS NULL",
    )
    .bind(&committed_at)
    .bind(issued)
    .bind(import_id)
    .execute(&mut *tx)
    .await?;
    if claimed.rows_affected() != 1 {
        return Err(ImportError::AlreadyCommitted);
    }
    crate::audit::record(
        &mut *tx,
        Some(actor_user_id),
        actor,
        "invoices.imported",
        &format!("import:{import_id}"),
        &format!("{} ({issued} new invoices)", preview.file_name),
        "",
    )
    .await?;
    tx.commit().await?;
    preview.committed_at = Some(committed_at);
    Ok(preview)
}

struct Stored {
    id: i64,
    file_name: String,
    content: String,
    uploaded_at: String,
    committed_at: Option<String>,
}

async fn stored(db: &Db, import_id: i64) -> Result<Stored, ImportError> {
    let row = sqlx::query(
        "SELECT id, file_name, content, created_at, committed_at FROM invoice_imports WHERE id = $1",
    )
    .bind(import_id)
    .fetch_optional(db.pool())
    .await?
    .ok_or(ImportError::NotFound)?;
    Ok(Stored {
        id: row.try_get("id")?,
        file_name: row.try_get("file_name")?,
        content: row.try_get("content")?,
        uploaded_at: row.try_get("created_at")?,
        committed_at: row.try_get("committed_at")?,
    })
}

/// The rows of one invoice in the file.
struct Group {
    customer: String,
    rows: Vec<u64>,
    draft: InvoiceDraft,
}

/// Checks every row and issues every invoice inside `tx`; the caller decides whether to keep it.
async fn run(tx: &mut Transaction<'_, Any>, stored: Stored) -> Result<ImportPreview, ImportError> {
    let mut errors = Vec::new();
    let (groups, rows) = parse(&stored.content, &mut errors);
    let mut customers: HashMap<String, Option<(i64, Currency)>> = HashMap::new();
    for group in &groups {
        if !customers.contains_key(&group.customer) {
            let found = customer_by_number(&mut **tx, &group.customer).await?;
            customers.insert(group.customer.clone(), found);
        }
    }
    // Issuing moves each account's open balance: the accounts' locks first, in one order.
    let ids: Vec<i64> = customers.values().flatten().map(|(id, _)| *id).collect();
    crate::customers::store::lock_accounts(tx, &ids).await?;
    let today = chrono::Utc::now().date_naive();
    let mut invoices = Vec::new();
    for group in groups {
        let first_row = group.rows[0];
        let Some((customer_id, currency)) = customers[&group.customer] else {
            errors.push(RowError {
                row: first_row,
                field: "customer".into(),
                message: format!("There is no customer {:?}.", group.customer),
            });
            continue;
        };
        let invoice = match group.draft.parse(customer_id, currency, today) {
            Ok(invoice) => invoice,
            Err(field_errors) => {
                for e in field_errors {
                    errors.push(RowError {
                        row: row_of(&group.rows, &e.field),
                        field: e.field.split('.').next_back().unwrap_or("").to_string(),
                        message: e.message,
                    });
                }
                continue;
            }
        };
        // A savepoint per invoice: one refused invoice must not poison the transaction.
        let mut savepoint = sqlx::Acquire::begin(&mut **tx).await?;
        let issued = issue_invoice_in(&mut savepoint, &invoice).await;
        let outcome = match issued {
            Ok(issued) => {
                savepoint.commit().await?;
                if issued.replayed {
                    ImportOutcome::AlreadyIssued
                } else {
                    ImportOutcome::New
                }
            }
            Err(error) => {
                savepoint.rollback().await?;
                errors.push(RowError {
                    row: first_row,
                    field: "invoice".into(),
                    message: issue_message(&error)?,
                });
                continue;
            }
        };
        invoices.push(ImportedInvoice {
            first_row,
            customer_number: group.customer,
            number: invoice.number.as_str().to_string(),
            currency: currency.code().to_string(),
            lines: invoice.lines.len(),
            total_minor: invoice.totals.total.to_minor(),
            outcome,
        });
    }
    errors.sort_by_key(|e| e.row);
    Ok(ImportPreview {
        id: stored.id,
        file_name: stored.file_name,
        uploaded_at: stored.uploaded_at,
        committed_at: stored.committed_at,
        rows,
        invoices,
        errors,
    })
}

/// A refusal to issue, as a row error; database failures stay errors.
fn issue_message(error: &IssueError) -> Result<String, ImportError> {
    match error {
        IssueError::NumberTaken(number) => Ok(format!(
            "Invoice {number} was already issued with other content; give this one a new number."
        )),
        IssueError::WrongCurrency { expected, found } => Ok(format!(
            "The customer is billed in {expected}, not {found}."
        )),
        IssueError::Invoice(e) => Ok(e.to_string()),
        IssueError::UnknownCustomer(_) => Ok("There is no such customer.".into()),
        IssueError::Post(crate::ledger::store::PostError::Ledger(
            closed @ crate::ledger::LedgerError::PeriodClosed { .. },
        )) => Ok(format!("This invoice cannot be issued: {closed}.")),
        IssueError::Post(e) => Err(ImportError::Db(DbError::Corrupt(e.to_string()))),
        IssueError::Db(e) => Err(ImportError::Db(DbError::Corrupt(e.to_string()))),
    }
}

/// `lines[2].quantity` is about the third row of the invoice; anything else about its first.
fn row_of(rows: &[u64], field: &str) -> u64 {
    field
        .strip_prefix("lines[")
        .and_then(|rest| rest.split(']').next())
        .and_then(|index| index.parse::<usize>().ok())
        .and_then(|index| rows.get(index).copied())
        .unwrap_or(rows[0])
}

/// Reads the rows into invoices (grouped by invoice number, in the order they first appear);
/// problems that need no database go to `errors`. Returns the groups and the number of rows.
fn parse(content: &str, errors: &mut Vec<RowError>) -> (Vec<Group>, usize) {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(content.as_bytes());
    let headers: Vec<String> = match reader.headers() {
        Ok(headers) => headers.iter().map(|h| h.to_ascii_lowercase()).collect(),
        Err(e) => {
            errors.push(RowError {
                row: 1,
                field: String::new(),
                message: format!("The header row cannot be read: {e}."),
            });
            return (Vec::new(), 0);
        }
    };
    let column = |name: &str| headers.iter().position(|h| h == name);
    let missing: Vec<&str> = REQUIRED_COLUMNS
        .iter()
        .copied()
        .filter(|c| column(c).is_none())
        .collect();
    if !missing.is_empty() {
        errors.push(RowError {
            row: 1,
            field: String::new(),
            message: format!(
                "The header row lacks {}. The columns are: {}.",
                missing.join(", "),
                COLUMNS.join(", ")
            ),
        });
        return (Vec::new(), 0);
    }
    let index: HashMap<&str, Option<usize>> = COLUMNS.iter().map(|c| (*c, column(c))).collect();
    let mut groups: Vec<Group> = Vec::new();
    let mut by_number: HashMap<String, usize> = HashMap::new();
    let mut rows = 0;
    for record in reader.records() {
        let record = match record {
            Ok(record) => record,
            Err(e) => {
                let row = e.position().map(|p| p.line()).unwrap_or(0);
                errors.push(RowError {
                    row,
                    field: String::new(),
                    message: format!("The row cannot be read: {e}."),
                });
                continue;
            }
        };
        let row = record.position().map(|p| p.line()).unwrap_or(0);
        if record.iter().all(str::is_empty) {
            continue;
        }
        rows += 1;
        if rows > MAX_ROWS {
            errors.push(RowError {
                row,
                field: String::new(),
                message: format!("A file can have at most {MAX_ROWS} rows."),
            });
            break;
        }
        let get = |name: &str| {
            index[name]
                .and_then(|i| record.get(i))
                .unwrap_or("")
                .to_string()
        };
        let number = get("invoice").to_ascii_uppercase();
        let customer = get("customer").to_ascii_uppercase();
        let line = LineDraft {
            description: get("description"),
            quantity: get("quantity"),
            unit_price: get("unit_price"),
            discount: get("discount_percent"),
            tax: get("tax_percent"),
        };
        let (po_number, issue_date) = (get("po"), get("issue_date"));
        match by_number.get(&number) {
            Some(&at) => {
                let group = &mut groups[at];
                let differs = [
                    ("customer", group.customer != customer),
                    ("po", group.draft.po_number != po_number),
                    ("issue_date", group.draft.issue_date != issue_date),
                ];
                for (field, different) in differs {
                    if different {
                        errors.push(RowError {
                            row,
                            field: field.into(),
                            message: format!(
                                "Every row of invoice {number} must have the same {field} as row {}.",
                                group.rows[0]
                            ),
                        });
                    }
                }
                group.rows.push(row);
                group.draft.lines.push(line);
            }
            None => {
                by_number.insert(number.clone(), groups.len());
                groups.push(Group {
                    customer,
                    rows: vec![row],
                    draft: InvoiceDraft {
                        number,
                        po_number,
                        issue_date,
                        lines: vec![line],
                    },
                });
            }
        }
    }
    (groups, rows)
}

#[cfg(all(test, feature = "test-support"))]
mod tests {
    use super::*;
    use crate::testing::fixtures;
    use crate::testing::fresh_db;

    const GOOD: &str = "customer,invoice,po,issue_date,description,quantity,unit_price,discount_percent,tax_percent\n\
        C-1,IMP-1,PO-7,2026-10-01,Brackets,4,12.50,,8.25\n\
        C-1,IMP-1,PO-7,2026-10-01,Freight,1,15,,\n\
        C-2,IMP-2,,2026-10-02,Consulting,2.5,100,10,\n";

    async fn setup() -> (Db, i64) {
        let db = fresh_db().await;
        let staff = fixtures::user(
            &db,
            "clerk@example.com",
            "a long enough password",
            crate::users::Role::Clerk,
            None,
        )
        .await;
        fixtures::customer(&db, "C-1", Currency::Usd, (30, 0, 0)).await;
        fixtures::customer(&db, "C-2", Currency::Usd, (30, 0, 0)).await;
        (db, staff)
    }

    async fn invoices(db: &Db) -> i64 {
        fixtures::rows(db, "invoices").await
    }

    #[tokio::test]
    async fn a_good_file_previews_without_writing_and_commits_every_invoice() {
        let (db, staff) = setup().await;
        let id = upload(&db, "october.csv", GOOD.as_bytes(), staff)
            .await
            .unwrap();
        let preview = preview(&db, id).await.unwrap();
        assert_eq!(preview.errors, []);
        assert_eq!(preview.rows, 3);
        assert_eq!(preview.invoices.len(), 2);
        // 4 × 12.50 = 50.00 + 8.25 % tax 4.13 + freight 15.00 = 69.13
        assert_eq!(preview.invoices[0].total_minor, 6_913);
        assert_eq!(preview.invoices[0].lines, 2);
        // 2.5 × 100 less 10 % = 225.00
        assert_eq!(preview.invoices[1].total_minor, 22_500);
        assert_eq!(invoices(&db).await, 0, "a preview writes nothing");

        let committed = commit(&db, id, staff, "clerk@example.com").await.unwrap();
        assert_eq!(committed.new_invoices(), 2);
        assert!(committed.committed_at.is_some());
        assert_eq!(invoices(&db).await, 2);
        fixtures::assert_ledger_healthy(&db).await;
        let again = commit(&db, id, staff, "clerk@example.com")
            .await
            .unwrap_err();
        assert!(matches!(again, ImportError::AlreadyCommitted), "{again}");
    }

    #[tokio::test]
    async fn a_file_with_bad_rows_names_each_row_and_commits_nothing() {
        let (db, staff) = setup().await;
        let bad = "customer,invoice,issue_date,description,quantity,unit_price\n\
            C-1,IMP-1,2026-10-01,Brackets,4,12.50\n\
            C-1,IMP-1,2026-10-01,Freight,-1,15\n\
            C-9,IMP-2,2026-10-01,Consulting,1,100\n\
            C-2,IMP-3,01/10/2026,Consulting,1,1.001\n\
            C-2,IMP-1,2026-10-01,Other customer,1,1\n";
        let id = upload(&db, "bad.csv", bad.as_bytes(), staff).await.unwrap();
        let preview = preview(&db, id).await.unwrap();
        let found: Vec<(u64, &str)> = preview
            .errors
            .iter()
            .map(|e| (e.row, e.field.as_str()))
            .collect();
        assert_eq!(
            found,
            [
                (3, "quantity"),
                (4, "customer"),
                (5, "issue_date"),
                (5, "unit_price"),
                (6, "customer"),
            ]
        );
        let err = commit(&db, id, staff, "clerk@example.com")
            .await
            .unwrap_err();
        assert!(matches!(err, ImportError::HasErrors(5)), "{err}");
        assert_eq!(invoices(&db).await, 0);
        assert_eq!(fixtures::rows(&db, "journal_entries").await, 0);
    }

    #[tokio::test]
    async fn re_importing_the_same_file_changes_nothing_and_a_changed_invoice_is_refused() {
        let (db, staff) = setup().await;
        let first = upload(&db, "october.csv", GOOD.as_bytes(), staff)
            .await
            .unwrap();
        commit(&db, first, staff, "clerk@example.com")
            .await
            .unwrap();
        let entries = fixtures::rows(&db, "journal_entries").await;

        let second = upload(&db, "october.csv", GOOD.as_bytes(), staff)
            .await
            .unwrap();
        let again = commit(&db, second, staff, "clerk@example.com")
            .await
            .unwrap();
        assert_eq!(again.new_invoices(), 0);
        assert!(
            again
                .invoices
                .iter()
                .all(|i| i.outcome == ImportOutcome::AlreadyIssued)
        );
        assert_eq!(invoices(&db).await, 2);
        assert_eq!(fixtures::rows(&db, "journal_entries").await, entries);

        let changed = GOOD.replace("Freight,1,15", "Freight,1,16");
        let third = upload(&db, "changed.csv", changed.as_bytes(), staff)
            .await
            .unwrap();
        let preview = preview(&db, third).await.unwrap();
        assert_eq!(preview.errors.len(), 1);
        assert_eq!(
            (preview.errors[0].row, preview.errors[0].field.as_str()),
            (2, "invoice")
        );
        assert_eq!(fixtures::rows(&db, "journal_entries").await, entries);
    }

    #[tokio::test]
    async fn a_file_without_the_required_columns_or_text_is_refused_plainly() {
        let (db, staff) = setup().await;
        let id = upload(&db, "x.csv", b"name,amount\nA,1\n", staff)
            .await
            .unwrap();
        let preview = preview(&db, id).await.unwrap();
        assert_eq!(preview.errors.len(), 1);
        assert!(preview.errors[0].message.contains("customer, invoice"));
        assert!(matches!(
            upload(&db, "x.csv", &[0xff, 0xfe, 0x00], staff).await,
            Err(ImportError::NotText)
        ));
        assert!(matches!(
            upload(&db, "x.csv", b"  \n", staff).await,
            Err(ImportError::Empty)
        ));
        assert_eq!(fixtures::rows(&db, "invoice_imports").await, 1);
    }
}
