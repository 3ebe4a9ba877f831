//! Webhook → ledger throughput against a running server (issue 9's benchmark, run by
//! `scripts/bench.sh`). Opens portal checkouts across the loaded book, then delivers Stripe's two
//! signed events for each (`checkout.session.completed`, `payment_intent.succeeded`) with N
//! deliveries in flight, and reports payments posted per second and per-event latency.
//! Afterwards it checks every checkout was posted exactly once.
//!
//!     DATABASE_URL=… BASE_URL=http://127.0.0.1:3100 WEBHOOK_SECRET=whsec_… \
//!         cargo run --release -p server --example webhook-load -- 500 1 16 64
//!
//! Arguments: payments per level, then the concurrency levels. Targets 127.0.0.1 only.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ledgerport::checkout::PayItem;
use ledgerport::checkout::store::open_checkout;
use ledgerport::db::{Db, PoolSettings};
use serde_json::json;
use sqlx::Row;

/// The smallest partial payment the review accepts on any invoice: 1.00.
const PAYMENT_MINOR: i64 = 100;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("DATABASE_URL")?;
    let base = std::env::var("BASE_URL")?;
    if !base.starts_with("http://127.0.0.1:") {
        return Err(
            "BASE_URL must be http://127.0.0.1:<port>: load goes to this machine only".into(),
        );
    }
    let secret = std::env::var("WEBHOOK_SECRET")?;
    let mut args = std::env::args().skip(1);
    let per_level: usize = args.next().as_deref().unwrap_or("500").parse()?;
    let levels: Vec<usize> = args.map(|a| a.parse()).collect::<Result<_, _>>()?;
    let levels = if levels.is_empty() {
        vec![1, 16, 64]
    } else {
        levels
    };
    let db = Db::connect(&url, &PoolSettings::default()).await?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(128)
        .build()?;
    for (round, parallel) in levels.into_iter().enumerate() {
        let checkouts = open_checkouts(&db, per_level, round).await?;
        let events: Vec<String> = checkouts.iter().flat_map(|c| events_for(c)).collect();
        let started = Instant::now();
        let latencies = deliver_all(&client, &base, &secret, events, parallel).await?;
        let elapsed = started.elapsed();
        let posted = posted(&db, &checkouts).await?;
        if posted != checkouts.len() {
            return Err(format!("{posted} of {} checkouts were posted", checkouts.len()).into());
        }
        let mut sorted = latencies;
        sorted.sort();
        println!(
            "webhook → ledger, {parallel:>2} in flight: {:>7.1} payments/s ({} payments, {} events in {:.2?}); event p50 {:.2?}, p99 {:.2?}",
            checkouts.len() as f64 / elapsed.as_secs_f64(),
            checkouts.len(),
            sorted.len(),
            elapsed,
            sorted[sorted.len() / 2],
            sorted[sorted.len() * 99 / 100],
        );
    }
    Ok(())
}

/// `count` checkouts of 1.00, each on the oldest open invoice of a different customer (spread
/// over the book; `round` shifts the spread so rounds do not reuse invoices).
async fn open_checkouts(
    db: &Db,
    count: usize,
    round: usize,
) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let customers: i64 = sqlx::query("SELECT count(*) FROM customers")
        .fetch_one(db.pool())
        .await?
        .get(0);
    let stride = (customers / count as i64).max(1);
    let today = chrono::Utc::now().date_naive();
    let mut checkouts = Vec::with_capacity(count);
    let mut customer = 1 + round as i64;
    let mut tried = 0;
    while checkouts.len() < count {
        tried += 1;
        if tried > 2 * customers.max(count as i64) {
            return Err("the book has too few open invoices for this many payments".into());
        }
        let row = sqlx::query(&format!(
            "SELECT i.id, i.customer_id, u.id AS payer FROM invoices i JOIN users u ON u.customer_id = i.customer_id \
             WHERE i.customer_id = $1 AND {DUE_NOW_SQL} >= $2 AND i.voided_at IS NULL \
             ORDER BY i.due_date, i.id LIMIT 1",
            DUE_NOW_SQL = ledgerport::receivables::DUE_NOW_SQL
        ))
        .bind(customer)
        .bind(PAYMENT_MINOR * 4)
        .fetch_optional(db.pool())
        .await?;
        customer = (customer + stride - 1) % customers + 1;
        let Some(row) = row else { continue };
        let items = [PayItem {
            invoice_id: row.get("id"),
            amount_minor: PAYMENT_MINOR,
        }];
        let opened = open_checkout(
            db,
            row.get("customer_id"),
            row.get("payer"),
            "stripe",
            &items,
            today,
        )
        .await?;
        checkouts.push(opened.id);
    }
    Ok(checkouts)
}

/// Stripe's two events for one paid checkout.
fn events_for(checkout: &str) -> Vec<String> {
    let intent = format!("pi_load_{checkout}");
    let created = chrono::Utc::now().timestamp();
    let metadata = json!({ "ledgerport_payment_id": checkout });
    vec![
        json!({
            "id": format!("evt_c_{checkout}"), "object": "event", "created": created,
            "type": "checkout.session.completed",
            "data": { "object": { "id": format!("cs_{checkout}"), "object": "checkout.session",
                "payment_status": "paid", "payment_intent": intent,
                "amount_total": PAYMENT_MINOR, "currency": "usd", "metadata": metadata } }
        })
        .to_string(),
        json!({
            "id": format!("evt_s_{checkout}"), "object": "event", "created": created,
            "type": "payment_intent.succeeded",
            "data": { "object": { "id": intent, "object": "payment_intent",
                "amount_received": PAYMENT_MINOR, "currency": "usd", "metadata": metadata } }
        })
        .to_string(),
    ]
}

/// Delivers every event, `parallel` at a time; each event's latency. Any answer but 200 stops
/// the run.
async fn deliver_all(
    client: &reqwest::Client,
    base: &str,
    secret: &str,
    events: Vec<String>,
    parallel: usize,
) -> Result<Vec<Duration>, Box<dyn std::error::Error>> {
    let gate = Arc::new(tokio::sync::Semaphore::new(parallel));
    let mut tasks = tokio::task::JoinSet::new();
    for body in events {
        let permit = gate.clone().acquire_owned().await?;
        let (client, url, secret) = (
            client.clone(),
            format!("{base}/webhooks/stripe"),
            secret.to_string(),
        );
        tasks.spawn(async move {
            let _permit = permit;
            let signature = server::webhooks::signature::sign(
                secret.as_bytes(),
                chrono::Utc::now().timestamp(),
                body.as_bytes(),
            );
            let started = Instant::now();
            let status = client
                .post(url)
                .header("stripe-signature", signature)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .map(|r| r.status().as_u16());
            (status, started.elapsed())
        });
    }
    let mut latencies = Vec::new();
    for (status, latency) in tasks.join_all().await {
        match status {
            Ok(200) => latencies.push(latency),
            other => return Err(format!("a delivery answered {other:?}").into()),
        }
    }
    Ok(latencies)
}

/// How many of the checkouts were posted, each exactly once.
async fn posted(db: &Db, checkouts: &[String]) -> Result<usize, Box<dyn std::error::Error>> {
    let mut posted = 0;
    for id in checkouts {
        let row = sqlx::query(
            "SELECT c.status, (SELECT count(*) FROM payments p WHERE p.id = c.payment_id) AS n \
             FROM checkouts c WHERE c.id = $1",
        )
        .bind(id)
        .fetch_one(db.pool())
        .await?;
        if row.get::<String, _>("status") == "succeeded" && row.get::<i64, _>("n") == 1 {
            posted += 1;
        }
    }
    Ok(posted)
}
