//! Fault tests: the real `ledgerport` binary as separate processes on one database, killed with
//! SIGKILL in the middle of a webhook burst, run twice side by side, and cut off from its
//! database. Everything listens on 127.0.0.1 only, every burst is bounded in count, and every
//! wait has a deadline.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ledgerport::checkout::PayItem;
use ledgerport::checkout::store::open_checkout;
use ledgerport::db::{Db, PoolSettings};
use ledgerport::money::Currency;
use ledgerport::testing::fixtures::{self, assert_ledger_healthy, open_minor};
use ledgerport::testing::fresh_url;
use ledgerport::users::Role;
use serde_json::json;
use sqlx::Row;

const WEBHOOK_SECRET: &str = "whsec_faults_suite_secret";

/// Where an instance finds Stripe when the test does not call it: a closed port, so any call
/// fails at once.
const NO_STRIPE: &str = "http://127.0.0.1:9";

/// Runs `ledgerport <command>` once on the database at `url`, beside any running servers (with
/// Stripe's API at `stripe_base` when the command calls it).
fn command_line(command: &str, url: &str, stripe_base: Option<&str>) -> std::process::Output {
    let mut cli = Command::new(env!("CARGO_BIN_EXE_ledgerport"));
    cli.arg(command)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("DATABASE_URL", url)
        .env(
            "JWT_SIGNING_KEY",
            "a-fault-test-signing-key-of-at-least-32-bytes",
        );
    if let Some(base) = stripe_base {
        cli.env("PAYMENT_PROVIDER", "stripe")
            .env("STRIPE_SECRET_KEY", "sk_test_faults")
            .env("STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET)
            .env("STRIPE_API_BASE", base);
    }
    cli.output().unwrap()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One `ledgerport serve` process; killed (SIGKILL) when dropped, so a failing test leaves none.
struct Instance {
    child: Child,
    base: String,
}

impl Instance {
    /// Starts the binary on a free port and waits (at most 60 s) until it is ready.
    async fn start(database_url: &str) -> Instance {
        Self::start_on(database_url, free_port(), NO_STRIPE).await
    }

    /// [`Instance::start`] with Stripe's API at `stripe_base` (a local fake).
    async fn start_with_stripe(database_url: &str, stripe_base: &str) -> Instance {
        Self::start_on(database_url, free_port(), stripe_base).await
    }

    async fn start_on(database_url: &str, port: u16, stripe_base: &str) -> Instance {
        let dir =
            std::env::temp_dir().join(format!("ledgerport-faults-{:x}", rand::random::<u64>()));
        std::fs::create_dir_all(&dir).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_ledgerport"))
            .args(["serve", "--no-demo"])
            .current_dir(&dir)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("DATABASE_URL", database_url)
            .env("LISTEN_ADDR", format!("127.0.0.1:{port}"))
            .env(
                "JWT_SIGNING_KEY",
                "a-fault-test-signing-key-of-at-least-32-bytes",
            )
            .env("PAYMENT_PROVIDER", "stripe")
            .env("STRIPE_SECRET_KEY", "sk_test_faults")
            .env("STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET)
            .env("STRIPE_API_BASE", stripe_base)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the ledgerport binary starts");
        let instance = Instance {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        instance.wait_until(200, Duration::from_secs(60)).await;
        instance
    }

    /// Waits until `/readyz` answers `status`.
    async fn wait_until(&self, status: u16, limit: Duration) {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + limit;
        loop {
            let answer = client
                .get(format!("{}/readyz", self.base))
                .timeout(Duration::from_secs(10))
                .send()
                .await
                .map(|r| r.status().as_u16());
            if answer.as_ref().ok() == Some(&status) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "/readyz at {} did not answer {status} in {limit:?} (last: {answer:?})",
                self.base
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// SIGKILL: no shutdown code runs, open transactions die with the process.
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A customer with one payer and `count` invoices of 100.00 issued 40 days ago (10 days overdue
/// on net 30), each with a portal checkout for its full amount.
struct Book {
    customer: i64,
    invoices: Vec<i64>,
    checkouts: Vec<String>,
}

async fn book(db: &Db, number: &str, count: usize) -> Book {
    let customer = fixtures::customer(db, number, Currency::Usd, (30, 0, 0)).await;
    let payer = fixtures::user(
        db,
        &format!("payer@{}.example", number.to_lowercase()),
        "a-long-enough-password",
        Role::Payer,
        Some(customer),
    )
    .await;
    let issued = (chrono::Utc::now().date_naive() - chrono::Duration::days(40)).to_string();
    let today = chrono::Utc::now().date_naive();
    let (mut invoices, mut checkouts) = (Vec::new(), Vec::new());
    for i in 0..count {
        let invoice = fixtures::invoice(
            db,
            customer,
            &format!("{number}-{i:04}"),
            Currency::Usd,
            &issued,
            &[(10_000, 0)],
        )
        .await;
        let items = [PayItem {
            invoice_id: invoice,
            amount_minor: 10_000,
        }];
        let checkout = open_checkout(db, customer, payer, "stripe", &items, today)
            .await
            .unwrap()
            .id;
        invoices.push(invoice);
        checkouts.push(checkout);
    }
    Book {
        customer,
        invoices,
        checkouts,
    }
}

/// Both events Stripe sends for one paid checkout, as `(event id, body)`.
fn events_for(checkout: &str) -> Vec<(String, String)> {
    let intent = format!("pi_{checkout}");
    let created = chrono::Utc::now().timestamp();
    let metadata = json!({ "ledgerport_payment_id": checkout });
    vec![
        json!({
            "id": format!("evt_completed_{checkout}"), "object": "event", "created": created,
            "type": "checkout.session.completed",
            "data": { "object": { "id": format!("cs_{checkout}"), "object": "checkout.session",
                "payment_status": "paid", "payment_intent": intent, "amount_total": 10_000,
                "currency": "usd", "metadata": metadata } }
        }),
        json!({
            "id": format!("evt_succeeded_{checkout}"), "object": "event", "created": created,
            "type": "payment_intent.succeeded",
            "data": { "object": { "id": intent, "object": "payment_intent",
                "amount_received": 10_000, "currency": "usd", "metadata": metadata } }
        }),
    ]
    .into_iter()
    .map(|event| (event["id"].as_str().unwrap().to_string(), event.to_string()))
    .collect()
}

/// Delivers one event as Stripe does (signed now); the status, or `None` when the connection
/// failed (the server was killed or is down).
async fn deliver(client: &reqwest::Client, base: &str, body: &str) -> Option<u16> {
    let signature = server::webhooks::signature::sign(
        WEBHOOK_SECRET.as_bytes(),
        chrono::Utc::now().timestamp(),
        body.as_bytes(),
    );
    client
        .post(format!("{base}/webhooks/stripe"))
        .header("stripe-signature", signature)
        .header("content-type", "application/json")
        .body(body.to_string())
        .timeout(Duration::from_secs(20))
        .send()
        .await
        .ok()
        .map(|r| r.status().as_u16())
}

/// Sends every event to every base, `parallel` at a time; counts the 200s as they come back.
async fn burst(
    events: &[(String, String)],
    bases: &[String],
    parallel: usize,
    delivered: Arc<AtomicUsize>,
) -> Vec<Option<u16>> {
    let client = reqwest::Client::new();
    let gate = Arc::new(tokio::sync::Semaphore::new(parallel));
    let mut tasks = tokio::task::JoinSet::new();
    for (_, body) in events {
        for base in bases {
            let (client, gate, delivered) = (client.clone(), gate.clone(), delivered.clone());
            let (base, body) = (base.clone(), body.clone());
            tasks.spawn(async move {
                let _permit = gate.acquire_owned().await.unwrap();
                let status = deliver(&client, &base, &body).await;
                if status == Some(200) {
                    delivered.fetch_add(1, Ordering::SeqCst);
                }
                status
            });
        }
    }
    tasks.join_all().await
}

async fn count(db: &Db, sql: &str) -> i64 {
    sqlx::query(sql).fetch_one(db.pool()).await.unwrap().get(0)
}

async fn connect(url: &str) -> Db {
    let db = Db::connect(url, &PoolSettings::default()).await.unwrap();
    db.migrate().await.unwrap();
    db
}

/// Every checkout settled once: one payment each, every invoice paid, the ledger healthy.
async fn assert_each_paid_once(db: &Db, book: &Book) {
    let payments: i64 = sqlx::query("SELECT count(*) FROM payments WHERE customer_id = $1")
        .bind(book.customer)
        .fetch_one(db.pool())
        .await
        .unwrap()
        .get(0);
    assert_eq!(payments as usize, book.checkouts.len());
    for invoice in &book.invoices {
        assert_eq!(open_minor(db, *invoice).await, 0, "invoice {invoice}");
    }
    let succeeded: i64 = sqlx::query(
        "SELECT count(*) FROM checkouts WHERE customer_id = $1 AND status = 'succeeded' \
                AND payment_id IS NOT NULL",
    )
    .bind(book.customer)
    .fetch_one(db.pool())
    .await
    .unwrap()
    .get(0);
    assert_eq!(succeeded as usize, book.checkouts.len());
    assert_ledger_healthy(db).await;
}

#[tokio::test]
async fn a_server_killed_mid_burst_then_restarted_posts_every_payment_exactly_once_after_retries() {
    let url = fresh_url().await;
    let db = connect(&url).await;
    let book = book(&db, "KILL", 120).await;
    let events: Vec<_> = book.checkouts.iter().flat_map(|c| events_for(c)).collect();
    let mut server = Instance::start(&url).await;
    let base = server.base.clone();

    // The burst: 240 events, 8 at a time. The server is killed once 40 have been answered.
    let delivered = Arc::new(AtomicUsize::new(0));
    let sending = {
        let (events, delivered, bases) = (events.clone(), delivered.clone(), vec![base.clone()]);
        tokio::spawn(async move { burst(&events, &bases, 8, delivered).await })
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while delivered.load(Ordering::SeqCst) < 40 {
        assert!(Instant::now() < deadline, "the burst never got going");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    server.kill();
    let first = sending.await.unwrap();
    let lost = first.iter().filter(|s| **s != Some(200)).count();
    assert!(
        lost > 0,
        "the kill came after the whole burst; nothing was tested"
    );

    // Restarted on the same port, Stripe retries every event (successes too: they repeat).
    let port = base.rsplit(':').next().unwrap().parse().unwrap();
    let _restarted = Instance::start_on(&url, port, NO_STRIPE).await;
    let retried = burst(&events, &[base], 8, Arc::new(AtomicUsize::new(0))).await;
    assert!(retried.iter().all(|s| *s == Some(200)), "{retried:?}");
    assert_each_paid_once(&db, &book).await;
    // The event that posted each payment is claimed, whatever number of times it arrived (its
    // twin, arriving while that was committing or after it, writes nothing).
    let claimed = count(&db, "SELECT count(*) FROM webhook_events").await as usize;
    assert!(
        claimed >= book.checkouts.len(),
        "{claimed} claims for {} payments",
        book.checkouts.len()
    );
}

#[tokio::test]
async fn two_instances_on_one_database_post_each_payment_once_and_send_each_reminder_once() {
    let url = fresh_url().await;
    let db = connect(&url).await;
    let book = book(&db, "TWIN", 60).await;
    // The hosted pages closed without a word from the provider: the invoices are due again (and
    // reminded), and the provider's late success events below still post each payment once.
    let later = chrono::Utc::now() + chrono::Duration::hours(1);
    let closed = ledgerport::checkout::store::expire_stale_checkouts(&db, later)
        .await
        .unwrap();
    assert_eq!(closed, 60);
    // Both start at once, and each runs the reminder job as it starts.
    let (first, second) = tokio::join!(Instance::start(&url), Instance::start(&url));
    // Reminders: each of the 60 overdue invoices gets one (the 7-days-overdue step), not two.
    let deadline = Instant::now() + Duration::from_secs(30);
    let payer_messages = "SELECT count(*) FROM outbox WHERE recipient = 'payer@twin.example'";
    while count(&db, payer_messages).await < 60 {
        assert!(Instant::now() < deadline, "the reminder job did not run");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The command-line run beside the two servers finds nothing left to send.
    let cli = command_line("reminders", &url, None);
    assert!(
        cli.status.success(),
        "{}",
        String::from_utf8_lossy(&cli.stderr)
    );
    assert_eq!(count(&db, payer_messages).await, 60);

    // Every event delivered to both instances at the same time, as two load-balanced
    // deliveries (or a retry landing on the other instance) would.
    let events: Vec<_> = book.checkouts.iter().flat_map(|c| events_for(c)).collect();
    let bases = [first.base.clone(), second.base.clone()];
    let answers = burst(&events, &bases, 16, Arc::new(AtomicUsize::new(0))).await;
    assert!(answers.iter().all(|s| *s == Some(200)), "{answers:?}");
    assert_each_paid_once(&db, &book).await;
}

#[tokio::test]
async fn two_instances_with_autopay_on_charge_each_due_invoice_once_and_post_each_charge_once() {
    use crate::common::fake_stripe::FakeStripe;
    let url = fresh_url().await;
    let db = connect(&url).await;
    let stripe = FakeStripe::start(vec![]).await;
    // Accounts with one overdue $1,000.00 invoice each, a saved card and autopay on.
    const ACCOUNTS: usize = 24;
    let mut invoices = Vec::new();
    for n in 0..ACCOUNTS {
        let payer_email = format!("payer{n}@auto.example");
        let (customer, payer, invoice) = fixtures::payer_account(
            &db,
            &format!("AUTO-{n}"),
            &payer_email,
            &format!("AUTO-INV-{n}"),
            "2026-10-01",
        )
        .await;
        let method = fixtures::saved_card(&db, customer, payer, &format!("pm_auto_{n}")).await;
        ledgerport::autopay::store::turn_on(
            &db,
            customer,
            &ledgerport::autopay::AutopayDraft {
                method_id: method,
                charge_on: "due_date".into(),
                cap: String::new(),
            },
            ledgerport::audit::Actor {
                user_id: Some(payer),
                name: &payer_email,
            },
        )
        .await
        .unwrap();
        invoices.push(invoice);
    }
    // Both start at once, and each runs the collections job (autopay first) as it starts.
    let base = stripe.base_url();
    let (first, second) = tokio::join!(
        Instance::start_with_stripe(&url, &base),
        Instance::start_with_stripe(&url, &base)
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    let answered = "SELECT count(*) FROM autopay_charges WHERE outcome = 'succeeded'";
    while count(&db, answered).await < ACCOUNTS as i64 {
        assert!(Instant::now() < deadline, "autopay did not run");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let charges: Vec<_> = stripe
        .received()
        .into_iter()
        .filter(|r| r.path == "/v1/payment_intents")
        .collect();
    assert_eq!(charges.len(), ACCOUNTS, "one charge per account, not two");
    let checkouts: std::collections::BTreeSet<String> = charges
        .iter()
        .map(|c| {
            c.field("metadata[ledgerport_payment_id]")
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(checkouts.len(), ACCOUNTS);
    assert_eq!(
        count(&db, "SELECT count(*) FROM autopay_charges").await,
        ACCOUNTS as i64
    );
    // The command-line run beside the two servers finds nothing left to charge today.
    let cli = command_line("autopay", &url, Some(&base));
    let said = String::from_utf8_lossy(&cli.stdout);
    assert!(
        cli.status.success() && said.contains("0 charges sent"),
        "{said} {}",
        String::from_utf8_lossy(&cli.stderr)
    );
    for invoice in &invoices {
        let pending: i64 = sqlx::query("SELECT pending_minor FROM invoices WHERE id = $1")
            .bind(invoice)
            .fetch_one(db.pool())
            .await
            .unwrap()
            .get(0);
        assert_eq!(pending, 100_000, "invoice {invoice} is charged once");
    }

    // Stripe's success events, each delivered to both instances at once, post each charge once.
    let events: Vec<(String, String)> = checkouts
        .iter()
        .map(|checkout| {
            let event = json!({
                "id": format!("evt_autopay_{checkout}"), "object": "event",
                "created": chrono::Utc::now().timestamp(), "type": "payment_intent.succeeded",
                "data": { "object": { "id": format!("pi_{checkout}"), "object": "payment_intent",
                    "amount_received": 100_000, "currency": "usd",
                    "payment_method_types": ["card"],
                    "metadata": { "ledgerport_payment_id": checkout } } }
            });
            (event["id"].as_str().unwrap().to_string(), event.to_string())
        })
        .collect();
    let bases = [first.base.clone(), second.base.clone()];
    let answers = burst(&events, &bases, 16, Arc::new(AtomicUsize::new(0))).await;
    assert!(answers.iter().all(|s| *s == Some(200)), "{answers:?}");
    for invoice in &invoices {
        assert_eq!(open_minor(&db, *invoice).await, 0, "invoice {invoice}");
    }
    assert_eq!(
        count(&db, "SELECT count(*) FROM payments").await,
        ACCOUNTS as i64
    );
    assert_ledger_healthy(&db).await;
}

/// A TCP relay to PostgreSQL that can be cut (every connection dropped, new ones refused) and
/// restored on the same port.
struct Relay {
    port: u16,
    upstream: String,
    tasks: tokio::task::JoinSet<()>,
}

impl Relay {
    async fn start(upstream: &str) -> Relay {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut relay = Relay {
            port,
            upstream: upstream.to_string(),
            tasks: tokio::task::JoinSet::new(),
        };
        relay.accept(listener);
        relay
    }

    fn accept(&mut self, listener: tokio::net::TcpListener) {
        let upstream = self.upstream.clone();
        self.tasks.spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            while let Ok((mut client, _)) = listener.accept().await {
                let upstream = upstream.clone();
                connections.spawn(async move {
                    if let Ok(mut server) = tokio::net::TcpStream::connect(&upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
            }
        });
    }

    /// Drops every relayed connection and stops listening.
    fn cut(&mut self) {
        self.tasks.abort_all();
    }

    async fn restore(&mut self) {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", self.port))
            .await
            .unwrap();
        self.accept(listener);
    }
}

#[tokio::test]
async fn while_the_database_is_unreachable_requests_fail_clearly_and_the_server_recovers_after() {
    let url = fresh_url().await;
    if !url.starts_with("postgres") {
        // A SQLite file cannot become unreachable while the process runs; this is a
        // PostgreSQL fault, exercised in the PostgreSQL run of the suite.
        eprintln!("skipped on SQLite: the database is a local file");
        return;
    }
    let db = connect(&url).await;
    ledgerport::seed::seed_demo(&db).await.unwrap();
    let book = book(&db, "CUT", 1).await;
    let mut parsed = url::Url::parse(&url).unwrap();
    let upstream = format!(
        "{}:{}",
        parsed.host_str().unwrap(),
        parsed.port().unwrap_or(5432)
    );
    let mut relay = Relay::start(&upstream).await;
    parsed.set_host(Some("127.0.0.1")).unwrap();
    parsed.set_port(Some(relay.port)).unwrap();
    let server = Instance::start(parsed.as_str()).await;
    let client = reqwest::Client::new();
    let sign_in = || {
        client
            .post(format!("{}/api/sign-in", server.base))
            .header("origin", &server.base)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("email=pat%40acme.example&password=acme-pays-on-time")
            .timeout(Duration::from_secs(30))
            .send()
    };
    assert_eq!(sign_in().await.unwrap().status(), 200);

    relay.cut();
    server.wait_until(503, Duration::from_secs(30)).await;
    let refused = sign_in().await.unwrap();
    assert_eq!(refused.status(), 503);
    let message = refused.text().await.unwrap();
    assert!(
        message.contains("The database is not answering"),
        "{message}"
    );
    // Stripe is told to retry: nothing was recorded.
    let (event_id, body) = events_for(&book.checkouts[0]).remove(0);
    let during = deliver(&client, &server.base, &body).await;
    assert_eq!(during, Some(500));

    relay.restore().await;
    server.wait_until(200, Duration::from_secs(30)).await;
    assert_eq!(sign_in().await.unwrap().status(), 200);
    assert_eq!(deliver(&client, &server.base, &body).await, Some(200));
    let claimed: i64 = sqlx::query("SELECT count(*) FROM webhook_events WHERE event_id = $1")
        .bind(&event_id)
        .fetch_one(db.pool())
        .await
        .unwrap()
        .get(0);
    assert_eq!(claimed, 1);
    assert_eq!(open_minor(&db, book.invoices[0]).await, 0);
    assert_ledger_healthy(&db).await;
}
