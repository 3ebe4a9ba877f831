//! Times the AR engine's read queries on whatever DATABASE_URL points at (load it first with
//! `ledgerport seed --customers N --invoices M`). Prints the median and slowest of a few runs.
//!
//!     DATABASE_URL=postgres://… cargo run --release -p server --example engine-timings

use std::time::{Duration, Instant};

use chrono::{Days, Utc};
use ledgerport::db::{Db, PoolSettings};
use ledgerport::invoices::reading::list_invoices;
use ledgerport::invoices::views::{InvoiceFilter, InvoiceQuery};
use ledgerport::money::Currency;
use ledgerport::reports::store::{
    account_summary, aging_of_customers, book_aging, collection_metrics, statement,
};
use sqlx::Row;

async fn time<F, Fut, T>(label: &str, runs: usize, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = T>,
{
    let mut samples: Vec<Duration> = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        std::hint::black_box(f().await);
        samples.push(started.elapsed());
    }
    samples.sort();
    println!(
        "{label:<44} median {:>9.2?}  max {:>9.2?}  ({runs} runs)",
        samples[runs / 2],
        samples[runs - 1]
    );
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("DATABASE_URL")?;
    let db = Db::connect(&url, &PoolSettings::default()).await?;
    let counts =
        sqlx::query("SELECT (SELECT count(*) FROM customers), (SELECT count(*) FROM invoices)")
            .fetch_one(db.pool())
            .await?;
    let (customers, invoices): (i64, i64) = (counts.get(0), counts.get(1));
    // The newest customer (load a heavy one last: `seed --customers 1 --invoices 10000`), and
    // one from the middle of the book.
    let busiest: i64 = sqlx::query("SELECT max(id) FROM customers")
        .fetch_one(db.pool())
        .await?
        .get(0);
    let typical = (busiest / 2).max(1);
    println!(
        "{} with {customers} customers and {invoices} invoices",
        db.engine().name()
    );
    let today = Utc::now().date_naive();
    let year_ago = today - Days::new(365);
    for (who, id) in [("mid-book customer", typical), ("newest customer", busiest)] {
        time(&format!("account summary, {who}"), 21, || {
            account_summary(&db, id, today)
        })
        .await;
        // As the staff pages read one account's aging (its summary reads it with the page).
        time(&format!("aging today, {who}"), 21, || {
            aging_of_customers(&db, today, std::slice::from_ref(&id))
        })
        .await;
        time(&format!("statement for a year, {who}"), 21, || {
            statement(&db, id, year_ago, today)
        })
        .await;
        let first_page = InvoiceQuery::default();
        time(&format!("invoice list, first page, {who}"), 21, || {
            list_invoices(&db, id, &first_page, today)
        })
        .await;
        let overdue_last_page = InvoiceQuery {
            filter: InvoiceFilter::Overdue,
            page: 200,
            ..InvoiceQuery::default()
        };
        time(
            &format!("invoice list, overdue, page 200, {who}"),
            21,
            || list_invoices(&db, id, &overdue_last_page, today),
        )
        .await;
        let search = InvoiceQuery {
            search: "0042".into(),
            ..InvoiceQuery::default()
        };
        time(&format!("invoice list, number search, {who}"), 21, || {
            list_invoices(&db, id, &search, today)
        })
        .await;
    }
    time("aging today, whole book", 21, || book_aging(&db, today)).await;
    time("aging a month ago, whole book", 21, || {
        book_aging(&db, today - Days::new(30))
    })
    .await;
    time("aging report, first page, today", 21, || {
        ledgerport::reports::store::aging_report(&db, today, None)
    })
    .await;
    time("aging report, first page, a month ago", 21, || {
        ledgerport::reports::store::aging_report(&db, today - Days::new(30), None)
    })
    .await;
    // A past date's later page, as "Next 50 customers →" reaches it: halfway down the accounts.
    let customers: i64 = sqlx::query("SELECT max(id) FROM customers")
        .fetch_one(db.pool())
        .await?
        .get(0);
    time("aging report, a middle page, a month ago", 21, || {
        ledgerport::reports::store::aging_report(
            &db,
            today - Days::new(30),
            Some((0, customers / 2)),
        )
    })
    .await;
    time("aging report CSV (every customer), a month ago", 3, || {
        ledgerport::reports::store::aging_by_customer(&db, today - Days::new(30))
    })
    .await;
    time(
        "staff customer list, first page of 50 with aging",
        21,
        || async {
            let page =
                ledgerport::customers::store::customer_page(&db, &Default::default()).await?;
            let ids: Vec<i64> = page.rows.iter().map(|c| c.id).collect();
            ledgerport::reports::store::aging_of_customers(&db, today, &ids).await
        },
    )
    .await;
    let journal = ledgerport::journal::JournalFilter::default();
    time("journal, first page of 50 entries with lines", 21, || {
        ledgerport::journal::store::entries(&db, &journal)
    })
    .await;
    // A page from the middle of the journal, as "Older →" reaches it.
    let entries: i64 = sqlx::query("SELECT count(*) FROM journal_entries")
        .fetch_one(db.pool())
        .await?
        .get(0);
    let middle = sqlx::query(&format!(
        "SELECT effective_date, id FROM journal_entries ORDER BY id LIMIT 1 OFFSET {}",
        entries / 2
    ))
    .fetch_optional(db.pool())
    .await?;
    if let Some(row) = middle {
        let deep = ledgerport::journal::JournalFilter {
            after: Some((row.get::<String, _>(0).parse()?, row.get(1))),
            ..Default::default()
        };
        time("journal, a page from the middle of the book", 21, || {
            ledgerport::journal::store::entries(&db, &deep)
        })
        .await;
    }
    let queue = ledgerport::disputes::store::QueueFilter::default();
    time("dispute queue, active, oldest first", 21, || {
        ledgerport::disputes::store::queue_for_staff(&db, &queue)
    })
    .await;
    time("collections worklist, first page, whole book", 3, || {
        ledgerport::collections::store::worklist(
            &db,
            ledgerport::collections::CollectorFilter::Everyone,
            1,
            today,
        )
    })
    .await;
    time("DSO and CEI for a quarter, whole book", 21, || {
        collection_metrics(&db, Currency::Usd, today - Days::new(90), today)
    })
    .await;
    Ok(())
}
