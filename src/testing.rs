//! Test support: a fresh, migrated database per test on the engine chosen by `TEST_DATABASE`.
//!
//! - unset or `sqlite`: a new SQLite file in a temporary folder (a file, not `:memory:`, so WAL,
//!   several connections and the write lock behave as in production);
//! - a `postgres://` URL: a new database `lp_test_<random>` on that server, created from the URL's
//!   database and dropped by the next run's `drop_stale_test_databases`.

use sqlx::{Connection, Executor, PgConnection};

use crate::db::{Db, Engine, PoolSettings};

/// Which engine the current test run uses.
pub fn engine() -> Engine {
    match std::env::var("TEST_DATABASE") {
        Ok(url) if url.starts_with("postgres") => Engine::Postgres,
        _ => Engine::Sqlite,
    }
}

/// A fresh, migrated database for one test. Panics (failing the test) when it cannot be made.
pub async fn fresh_db() -> Db {
    let url = fresh_url().await;
    let db = Db::connect(&url, &PoolSettings::default())
        .await
        .unwrap_or_else(|e| panic!("test database {url}: {e}"));
    db.migrate().await.expect("migrations apply");
    db
}

/// The URL of a fresh, empty database (not yet migrated).
pub async fn fresh_url() -> String {
    let name = format!("lp_test_{:016x}", rand::random::<u64>());
    match std::env::var("TEST_DATABASE") {
        Ok(url) if url.starts_with("postgres") => {
            let mut admin = PgConnection::connect(&url)
                .await
                .unwrap_or_else(|e| panic!("TEST_DATABASE={url} is unreachable: {e}"));
            admin
                .execute(format!("CREATE DATABASE {name}").as_str())
                .await
                .expect("create test database");
            replace_database(&url, &name)
        }
        _ => {
            let dir = std::env::temp_dir().join("ledgerport-tests");
            std::fs::create_dir_all(&dir).expect("temp folder");
            format!("sqlite://{}/{name}.db", dir.display())
        }
    }
}

fn replace_database(url: &str, database: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let server = match base.rfind('/') {
        Some(slash) if slash > base.find("://").map_or(0, |i| i + 2) => &base[..slash],
        _ => base,
    };
    match query {
        Some(q) => format!("{server}/{database}?{q}"),
        None => format!("{server}/{database}"),
    }
}

/// Drops the databases earlier test runs left behind (PostgreSQL only).
pub async fn drop_stale_test_databases(url: &str) -> Result<u64, sqlx::Error> {
    let mut admin = PgConnection::connect(url).await?;
    let names: Vec<(String,)> =
        sqlx::query_as("SELECT datname FROM pg_database WHERE datname LIKE 'lp\\_test\\_%'")
            .fetch_all(&mut admin)
            .await?;
    for (name,) in &names {
        admin
            .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
            .await?;
    }
    Ok(names.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::replace_database;

    #[test]
    fn the_test_database_name_replaces_the_one_in_the_url() {
        assert_eq!(
            replace_database("postgres://127.0.0.1:5432/postgres", "lp_test_1"),
            "postgres://127.0.0.1:5432/lp_test_1"
        );
        assert_eq!(
            replace_database("postgres://u@h/db?sslmode=disable", "x"),
            "postgres://u@h/x?sslmode=disable"
        );
    }
}

/// A code from a user's authenticator that the server has not accepted yet (no code works
/// twice): the current step's, or the next one's when the current one was used; waits for the
/// clock when both were.
pub async fn unused_code(db: &Db, user_id: i64, secret: &str) -> String {
    use crate::auth::two_factor::{STEP_SECONDS, code_at};
    loop {
        let last_step: i64 =
            sqlx::query_scalar("SELECT last_step FROM totp_factors WHERE user_id = $1")
                .bind(user_id)
                .fetch_one(db.pool())
                .await
                .expect("the user has an authenticator");
        let now = chrono::Utc::now().timestamp();
        let current = now / STEP_SECONDS;
        let step = current.max(last_step + 1);
        if step <= current + 1 {
            return code_at(secret, step * STEP_SECONDS).expect("a code");
        }
        let wait = (STEP_SECONDS - now % STEP_SECONDS) as u64;
        tokio::time::sleep(std::time::Duration::from_secs(wait)).await;
    }
}

/// Signs a demo login in as its person would: the password, then (for a login with an
/// authenticator) a code from it.
pub async fn sign_in_demo(db: &Db, login: &crate::seed::DemoLogin) -> crate::auth::Caller {
    use crate::auth::store::{SignedIn, sign_in};
    match sign_in(db, login.email, login.password, "127.0.0.1")
        .await
        .expect("the demo password signs in")
    {
        SignedIn::Session(caller) => caller,
        SignedIn::CodeNeeded { challenge } => {
            let secret = login
                .authenticator
                .expect("a code is asked of a login with one");
            let user_id: i64 = sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
                .bind(login.email)
                .fetch_one(db.pool())
                .await
                .expect("the demo user");
            let code = unused_code(db, user_id, secret).await;
            crate::auth::two_factor::complete_sign_in(db, &challenge, &code, "127.0.0.1")
                .await
                .expect("the code signs in")
        }
    }
}

/// Fixtures shared by the engine's database tests.
pub mod fixtures {
    use chrono::NaiveDate;
    use rust_decimal::Decimal;

    use crate::customers::NewCustomer;
    use crate::customers::store::create_customer;
    use crate::db::Db;
    use crate::invoices::store::issue_invoice;
    use crate::invoices::{InvoiceNumber, LineItem, NewInvoice};
    use crate::money::{Currency, Money};
    use crate::reports::store::ledger_health;
    use crate::terms::PaymentTerms;

    /// A user with a password, for access tests; a contact when `customer_id` is given.
    pub async fn user(
        db: &Db,
        email: &str,
        password: &str,
        role: crate::users::Role,
        customer_id: Option<i64>,
    ) -> i64 {
        let email = crate::users::Email::parse(email).expect("email");
        let password = crate::users::NewPassword::parse(password).expect("password");
        let mut tx = db.begin_write().await.expect("tx");
        let id = crate::users::store::create_user(
            &mut tx,
            &email,
            email.as_str(),
            role,
            customer_id,
            Some(&password),
        )
        .await
        .expect("user");
        tx.commit().await.expect("commit");
        id
    }

    pub fn date(text: &str) -> NaiveDate {
        text.parse().expect("a YYYY-MM-DD date")
    }

    /// A customer billed in `currency` on `net`/`discount_bp`/`discount_days` terms.
    pub async fn customer(
        db: &Db,
        number: &str,
        currency: Currency,
        terms: (u32, u32, u32),
    ) -> i64 {
        let terms = PaymentTerms::with_discount(terms.0, terms.1, terms.2).expect("terms");
        let new = NewCustomer::new(number, "Customer", currency, terms, Money::zero(currency))
            .expect("customer");
        let mut tx = db.begin_write().await.expect("tx");
        let id = create_customer(&mut tx, &new)
            .await
            .expect("insert customer");
        tx.commit().await.expect("commit");
        id
    }

    /// Issues an invoice with one untaxed line of `amount_minor` per line given.
    pub async fn invoice(
        db: &Db,
        customer_id: i64,
        number: &str,
        currency: Currency,
        issued: &str,
        lines: &[(i64, u32)],
    ) -> i64 {
        let items = lines
            .iter()
            .enumerate()
            .map(|(i, (minor, tax_bp))| {
                LineItem::new(
                    i + 1,
                    "Goods",
                    Decimal::ONE,
                    Money::from_minor(*minor, currency),
                    0,
                    *tax_bp,
                )
                .expect("line")
            })
            .collect();
        let invoice = NewInvoice::new(
            customer_id,
            InvoiceNumber::parse(number).expect("number"),
            None,
            date(issued),
            currency,
            items,
        )
        .expect("invoice");
        issue_invoice(db, &invoice).await.expect("issue").invoice_id
    }

    /// A net-30 USD customer with a payer and one untaxed $1,000.00 invoice issued on `issued`:
    /// (customer id, the payer's user id, invoice id).
    pub async fn payer_account(
        db: &Db,
        number: &str,
        payer_email: &str,
        invoice_number: &str,
        issued: &str,
    ) -> (i64, i64, i64) {
        let customer = customer(db, number, Currency::Usd, (30, 0, 0)).await;
        let payer = user(
            db,
            payer_email,
            "a long enough password",
            crate::users::Role::Payer,
            Some(customer),
        )
        .await;
        let invoice = invoice(
            db,
            customer,
            invoice_number,
            Currency::Usd,
            issued,
            &[(100_000, 0)],
        )
        .await;
        (customer, payer, invoice)
    }

    pub async fn open_minor(db: &Db, invoice_id: i64) -> i64 {
        use sqlx::Row;
        sqlx::query("SELECT open_minor FROM invoices WHERE id = $1")
            .bind(invoice_id)
            .fetch_one(db.pool())
            .await
            .expect("invoice")
            .get(0)
    }

    pub async fn line_ids(db: &Db, invoice_id: i64) -> Vec<i64> {
        use sqlx::Row;
        sqlx::query("SELECT id FROM invoice_lines WHERE invoice_id = $1 ORDER BY line_no")
            .bind(invoice_id)
            .fetch_all(db.pool())
            .await
            .expect("lines")
            .iter()
            .map(|r| r.get(0))
            .collect()
    }

    /// Fails the test with every violation the ledger-health check finds.
    pub async fn assert_ledger_healthy(db: &Db) {
        let report = ledger_health(db, None).await.expect("health check");
        assert!(
            report.violations.is_empty(),
            "ledger violations: {:#?}",
            report.violations
        );
    }

    /// A camt.054 notification of the demo's USD account with these credits: (bank reference,
    /// amount, payer, structured reference, remittance text).
    pub fn camt054_credits(credits: &[(&str, i64, &str, &str, &str)]) -> String {
        let entries: String = credits
            .iter()
            .map(|(reference, minor, payer, rf, text)| {
                format!(
                    "<Ntry><Amt Ccy=\"USD\">{}.{:02}</Amt><CdtDbtInd>CRDT</CdtDbtInd>\
                     <Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>2026-12-04</Dt></BookgDt>\
                     <AcctSvcrRef>{reference}</AcctSvcrRef><NtryDtls><TxDtls>\
                     <RltdPties><Dbtr><Pty><Nm>{payer}</Nm></Pty></Dbtr></RltdPties>\
                     <RmtInf><Ustrd>{text}</Ustrd><Strd><CdtrRefInf><Ref>{rf}</Ref></CdtrRefInf></Strd></RmtInf>\
                     </TxDtls></NtryDtls></Ntry>",
                    minor / 100,
                    minor % 100
                )
            })
            .collect();
        format!(
            "<?xml version=\"1.0\"?><Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.054.001.08\">\
             <BkToCstmrDbtCdtNtfctn><GrpHdr><MsgId>T</MsgId></GrpHdr><Ntfctn><Id>NTF-TEST</Id>\
             <Acct><Id><Othr><Id>000123456789</Id></Othr></Id><Ccy>USD</Ccy></Acct>{entries}\
             </Ntfctn></BkToCstmrDbtCdtNtfctn></Document>"
        )
    }

    /// A row count, for "nothing was written" checks.
    pub async fn rows(db: &Db, table: &str) -> i64 {
        use sqlx::Row;
        sqlx::query(&format!("SELECT count(*) FROM {table}"))
            .fetch_one(db.pool())
            .await
            .expect("count")
            .get(0)
    }

    /// The demo book's Acme account (`C-1001`) with its payer Pat: (customer id, user id, each
    /// open invoice with what is due now on it, oldest first).
    pub async fn demo_acme(db: &Db) -> (i64, i64, Vec<(i64, i64)>) {
        use sqlx::Row;
        crate::seed::seed_demo(db).await.expect("demo data");
        let customer: i64 = sqlx::query("SELECT id FROM customers WHERE number = 'C-1001'")
            .fetch_one(db.pool())
            .await
            .expect("Acme")
            .get(0);
        let user: i64 = sqlx::query("SELECT id FROM users WHERE email = 'pat@acme.example'")
            .fetch_one(db.pool())
            .await
            .expect("Pat")
            .get(0);
        let open = crate::checkout::store::full_amounts(db, customer, &[])
            .await
            .expect("open invoices");
        let open = open
            .iter()
            .map(|i| (i.invoice_id, i.amount_minor))
            .collect();
        (customer, user, open)
    }

    /// A card saved for `customer_id` by `payer` through the real recording path (a setup with
    /// its consent, then the provider's report); the customer gets a provider customer. Returns
    /// the saved method's id.
    pub async fn saved_card(db: &Db, customer_id: i64, payer: i64, provider_method: &str) -> i64 {
        use crate::payments::PaymentMethod;
        use crate::saved_methods::ProviderMethod;
        let setup = format!("ps_{provider_method}");
        sqlx::query(
            "INSERT INTO payment_method_setups (id, customer_id, user_id, provider, consent_text, \
             consented_ip, created_at) VALUES ($1, $2, $3, 'sandbox', $4, '127.0.0.1', $5)",
        )
        .bind(&setup)
        .bind(customer_id)
        .bind(payer)
        .bind(crate::saved_methods::CONSENT_TEXT)
        .bind(crate::db::now_text())
        .execute(db.pool())
        .await
        .expect("setup");
        sqlx::query("UPDATE customers SET provider_customer = $1 WHERE id = $2")
            .bind(format!("cus_test_{customer_id}"))
            .bind(customer_id)
            .execute(db.pool())
            .await
            .expect("provider customer");
        let mut tx = db.begin_write().await.expect("transaction");
        let method = ProviderMethod {
            id: provider_method.to_string(),
            kind: PaymentMethod::Card,
            label: "Visa".into(),
            last4: "4242".into(),
            exp_month: Some(12),
            exp_year: Some(2099),
            mandate: None,
        };
        assert!(
            crate::saved_methods::store::saved_in(&mut tx, &setup, &method)
                .await
                .expect("saved")
        );
        tx.commit().await.expect("commit");
        sqlx::query_scalar("SELECT id FROM payment_methods WHERE provider_method = $1")
            .bind(provider_method)
            .fetch_one(db.pool())
            .await
            .expect("method")
    }
}

/// A payment provider whose off-session charges answer as scripted (then succeed), recording
/// what they were asked; everything else is refused. For the engine's autopay tests: the
/// provider's events are not sent, so a test posts a success itself when it needs one.
#[derive(Debug, Default)]
pub struct ScriptedProvider {
    pub answers: std::sync::Mutex<
        std::collections::VecDeque<
            Result<crate::saved_methods::ChargeOutcome, crate::checkout::ProviderError>,
        >,
    >,
    /// (checkout id, amount) of each charge asked for.
    pub charges: std::sync::Mutex<Vec<(String, i64)>>,
}

impl ScriptedProvider {
    pub fn answering(
        answers: Vec<Result<crate::saved_methods::ChargeOutcome, crate::checkout::ProviderError>>,
    ) -> Self {
        Self {
            answers: std::sync::Mutex::new(answers.into()),
            charges: std::sync::Mutex::default(),
        }
    }

    pub fn charges(&self) -> Vec<(String, i64)> {
        self.charges.lock().expect("charges").clone()
    }
}

type Answer<'a, T> = std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<T, crate::checkout::ProviderError>> + Send + 'a>,
>;

fn not_scripted<'a, T: Send + 'a>() -> Answer<'a, T> {
    Box::pin(async {
        Err(crate::checkout::ProviderError::Refused(
            "not scripted".into(),
        ))
    })
}

impl crate::checkout::PaymentProvider for ScriptedProvider {
    fn name(&self) -> &'static str {
        "sandbox"
    }

    fn create_checkout<'a>(
        &'a self,
        _: crate::checkout::HostedCheckoutRequest<'a>,
    ) -> Answer<'a, crate::checkout::HostedCheckout> {
        not_scripted()
    }

    fn expire_checkout<'a>(&'a self, _: &'a str) -> Answer<'a, ()> {
        not_scripted()
    }

    fn refund<'a>(
        &'a self,
        _: crate::checkout::RefundRequest<'a>,
    ) -> Answer<'a, crate::checkout::ProviderRefund> {
        not_scripted()
    }

    fn payout_contents<'a>(&'a self, _: &'a str) -> Answer<'a, crate::checkout::PayoutContents> {
        not_scripted()
    }

    fn start_setup<'a>(
        &'a self,
        request: crate::saved_methods::SetupRequest<'a>,
    ) -> Answer<'a, crate::saved_methods::HostedSetup> {
        let setup = crate::saved_methods::HostedSetup {
            provider_customer: format!("cus_test_{}", request.customer_id),
            url: format!("https://provider.example/setup/{}", request.setup_id),
        };
        Box::pin(async move { Ok(setup) })
    }

    fn saved_method<'a>(&'a self, _: &'a str) -> Answer<'a, crate::saved_methods::ProviderMethod> {
        not_scripted()
    }

    fn charge_saved<'a>(
        &'a self,
        charge: crate::saved_methods::OffSessionCharge<'a>,
    ) -> Answer<'a, crate::saved_methods::ChargeOutcome> {
        self.charges
            .lock()
            .expect("charges")
            .push((charge.checkout_id.to_string(), charge.amount_minor));
        let answer = self
            .answers
            .lock()
            .expect("answers")
            .pop_front()
            .unwrap_or(Ok(crate::saved_methods::ChargeOutcome::Succeeded));
        Box::pin(async move { answer })
    }

    fn remove_saved<'a>(&'a self, _: &'a str) -> Answer<'a, ()> {
        Box::pin(async { Ok(()) })
    }
}

/// A phone or laptop holding passkeys: webauthn-authenticator-rs's software passkey (real P-256
/// keys and signatures), which keeps no keys of its own (it cannot make discoverable ones), with
/// the user handle kept beside each key it made, as a real passkey keeps it and answers a sign-in
/// that names no key with it. Answers are JSON, as `public/passkeys.js` posts them.
pub struct PasskeyDevice {
    authenticator: webauthn_authenticator_rs::softpasskey::SoftPasskey,
    /// (credential id, user handle) of each key made, newest last.
    keys: Vec<(Vec<u8>, Vec<u8>)>,
}

impl Default for PasskeyDevice {
    fn default() -> Self {
        PasskeyDevice {
            // `true`: it reports the user verified, as a fingerprint or PIN would.
            authenticator: webauthn_authenticator_rs::softpasskey::SoftPasskey::new(true),
            keys: Vec::new(),
        }
    }
}

impl PasskeyDevice {
    /// Makes a key for the options a page at `origin` was given.
    pub fn create(&mut self, origin: &str, options_json: &str) -> String {
        use webauthn_authenticator_rs::prelude::{
            CreationChallengeResponse, WebauthnAuthenticator,
        };
        let mut options: CreationChallengeResponse =
            serde_json::from_str(options_json).expect("creation options");
        let selection = options
            .public_key
            .authenticator_selection
            .as_mut()
            .expect("an authenticator selection");
        assert!(
            selection.require_resident_key,
            "a passkey must be discoverable"
        );
        selection.require_resident_key = false;
        let handle = options.public_key.user.id.to_vec();
        let answer = self
            .authenticator
            .do_registration(url(origin), options)
            .expect("the software passkey makes a key");
        self.keys.push((answer.raw_id.to_vec(), handle));
        serde_json::to_string(&answer).expect("JSON")
    }

    /// Signs the options a page at `origin` was given with its newest key.
    pub fn sign_in(&mut self, origin: &str, options_json: &str) -> String {
        use webauthn_authenticator_rs::prelude::{RequestChallengeResponse, WebauthnAuthenticator};
        let mut options: RequestChallengeResponse =
            serde_json::from_str(options_json).expect("request options");
        assert!(
            options.public_key.allow_credentials.is_empty(),
            "a sign-in names no key"
        );
        let (id, handle) = self.keys.last().cloned().expect("a key made earlier");
        options.public_key.allow_credentials = vec![webauthn_rs_proto::AllowCredentials {
            type_: "public-key".into(),
            id,
            transports: None,
        }];
        let mut answer = self
            .authenticator
            .do_authentication(url(origin), options)
            .expect("the software passkey signs");
        answer.response.user_handle = Some(handle);
        serde_json::to_string(&answer).expect("JSON")
    }
}

fn url(origin: &str) -> webauthn_rs::prelude::Url {
    webauthn_rs::prelude::Url::parse(origin).expect("an origin")
}
