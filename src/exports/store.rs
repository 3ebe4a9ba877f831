//! Taking an export batch (audited) and reading a batch's lines.

use super::{ExportBatch, ExportLine};
use crate::audit::Actor;
use crate::db::{Db, DbError, now_text};

/// The most entries one batch takes (oldest first); the rest go in the next. Keeps a download
/// of a large first export to a size a spreadsheet and a request can carry.
pub const BATCH_LIMIT: i64 = 100_000;

/// Takes every entry no earlier batch has (up to [`BATCH_LIMIT`], oldest first) into a new
/// batch; `None` when there is nothing new. Two exports at once never take the same entry.
pub async fn export_new_entries(db: &Db, actor: Actor<'_>) -> Result<Option<ExportBatch>, DbError> {
    let mut tx = db.begin_write().await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO journal_exports (created_by, created_at) VALUES ($1, $2) RETURNING id",
    )
    .bind(actor.name)
    .bind(now_text())
    .fetch_one(&mut *tx)
    .await?;
    let taken = sqlx::query(&format!(
        "INSERT INTO journal_export_entries (entry_id, export_id) \
         SELECT e.id, $1 FROM journal_entries e WHERE NOT EXISTS \
         (SELECT 1 FROM journal_export_entries x WHERE x.entry_id = e.id) \
         ORDER BY e.id LIMIT {BATCH_LIMIT} ON CONFLICT (entry_id) DO NOTHING"
    ))
    .bind(id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if taken == 0 {
        tx.rollback().await?;
        return Ok(None);
    }
    sqlx::query(
        "UPDATE journal_exports SET entries = $1, \
         first_date = (SELECT min(e.effective_date) FROM journal_export_entries x \
                       JOIN journal_entries e ON e.id = x.entry_id WHERE x.export_id = $2), \
         last_date = (SELECT max(e.effective_date) FROM journal_export_entries x \
                      JOIN journal_entries e ON e.id = x.entry_id WHERE x.export_id = $2) \
         WHERE id = $2",
    )
    .bind(taken as i64)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    actor
        .record(
            &mut *tx,
            "journal.export",
            &format!("journal_export:{id}"),
            &format!("{taken} journal entries exported"),
        )
        .await?;
    let batch = batch_in(&mut tx, id).await?;
    tx.commit().await?;
    Ok(batch)
}

const BATCH: &str = "SELECT id, created_by, created_at, entries, first_date, last_date \
     FROM journal_exports";

async fn batch_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    id: i64,
) -> Result<Option<ExportBatch>, DbError> {
    Ok(sqlx::query_as(&format!("{BATCH} WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?)
}

/// One batch, when it exists.
pub async fn batch(db: &Db, id: i64) -> Result<Option<ExportBatch>, DbError> {
    Ok(sqlx::query_as(&format!("{BATCH} WHERE id = $1"))
        .bind(id)
        .fetch_optional(db.pool())
        .await?)
}

/// The latest batches, newest first.
pub async fn batches(db: &Db, limit: i64) -> Result<Vec<ExportBatch>, DbError> {
    Ok(
        sqlx::query_as(&format!("{BATCH} ORDER BY id DESC LIMIT $1"))
            .bind(limit)
            .fetch_all(db.pool())
            .await?,
    )
}

/// Every line of the batch's entries, by entry and line.
pub async fn export_lines(db: &Db, batch: i64) -> Result<Vec<ExportLine>, DbError> {
    Ok(sqlx::query_as(
        "SELECT e.id AS entry_id, e.business_key, e.kind, e.effective_date, e.occurred_on, \
         e.memo, c.number AS customer, l.account_code, a.name AS account_name, \
         a.kind AS account_kind, l.currency, l.amount_minor, i.number AS invoice \
         FROM journal_export_entries x JOIN journal_entries e ON e.id = x.entry_id \
         JOIN journal_lines l ON l.entry_id = e.id JOIN accounts a ON a.code = l.account_code \
         LEFT JOIN customers c ON c.id = e.customer_id LEFT JOIN invoices i ON i.id = l.invoice_id \
         WHERE x.export_id = $1 ORDER BY e.id, l.id",
    )
    .bind(batch)
    .fetch_all(db.pool())
    .await?)
}

#[cfg(all(test, feature = "test-support"))]
mod tests {
    use super::*;
    use crate::exports::ExportFormat;
    use crate::exports::formats::render;
    use crate::testing::fixtures::demo_acme;
    use crate::testing::fresh_db;

    const CLERK: Actor<'static> = Actor {
        user_id: None,
        name: "clerk@ledgerport.example",
    };

    #[tokio::test]
    async fn each_entry_is_exported_in_exactly_one_batch_and_a_batch_downloads_the_same_again() {
        let db = fresh_db().await;
        demo_acme(&db).await;
        let entries: i64 = sqlx::query_scalar("SELECT count(*) FROM journal_entries")
            .fetch_one(db.pool())
            .await
            .unwrap();
        let first = export_new_entries(&db, CLERK).await.unwrap().unwrap();
        assert_eq!(first.entries, entries);
        let first_text = render(
            ExportFormat::Csv,
            first.id,
            &export_lines(&db, first.id).await.unwrap(),
        )
        .unwrap();
        assert_eq!(export_new_entries(&db, CLERK).await.unwrap(), None);

        // A new posting goes into the next batch, and only it.
        let acme: i64 = sqlx::query_scalar("SELECT id FROM customers WHERE number = 'C-1001'")
            .fetch_one(db.pool())
            .await
            .unwrap();
        let request = crate::payments::PaymentRequest::new(
            acme,
            "cheque-export-1",
            crate::payments::PaymentMethod::Cheque,
            crate::money::Money::from_minor(1_000, crate::money::Currency::Usd),
            chrono::Utc::now().date_naive(),
            crate::payments::AllocationRule::OldestFirst,
            false,
        )
        .unwrap();
        crate::payments::store::record_payment(&db, &request)
            .await
            .unwrap();
        let second = export_new_entries(&db, CLERK).await.unwrap().unwrap();
        assert_eq!(second.entries, 1);
        let csv = render(
            ExportFormat::Csv,
            second.id,
            &export_lines(&db, second.id).await.unwrap(),
        )
        .unwrap();
        assert!(csv.contains("cheque-export-1"), "{csv}");
        assert!(csv.contains(",10.00,"), "{csv}");

        // The first batch downloads again exactly as it did.
        let again = render(
            ExportFormat::Csv,
            first.id,
            &export_lines(&db, first.id).await.unwrap(),
        )
        .unwrap();
        assert_eq!(again, first_text);
        assert!(!first_text.contains("cheque-export-1"));
        assert_eq!(batches(&db, 10).await.unwrap().len(), 2);
        let audited: i64 =
            sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'journal.export'")
                .fetch_one(db.pool())
                .await
                .unwrap();
        assert_eq!(audited, 2);
    }
}
