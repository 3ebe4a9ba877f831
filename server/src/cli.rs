//! The command line. Every command reads the same configuration (environment or `.env`).

use std::io::BufRead;

use chrono::Utc;
use clap::{Parser, Subcommand};
use ledgerport::auth::two_factor;
use ledgerport::db::{Db, PoolSettings, redact_url};
use ledgerport::seed;
use ledgerport::users::store::create_user;
use ledgerport::users::{Email, NewPassword, Role};

use crate::config::{self, Config};
use crate::{http, telemetry};

#[derive(Debug, Parser)]
#[command(
    name = "ledgerport",
    version,
    about = "Ledgerport: a customer self-service payment portal for B2B accounts receivable.",
    long_about = "Ledgerport: a customer self-service payment portal for B2B accounts receivable.\n\n\
        Configuration comes from environment variables or a .env file in the working directory:\n  \
        DATABASE_URL      sqlite://data/ledgerport.db (default) or postgres://user@host/db\n  \
        DATABASE_MAX_CONNECTIONS at most this many database connections (default 16)\n  \
        LISTEN_ADDR       address to serve on (default 127.0.0.1:3000)\n  \
        PUBLIC_BASE_URL   the URL customers use (default http://LISTEN_ADDR)\n  \
        PAYMENT_PROVIDER  sandbox (default, offline) or stripe (needs STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET)\n  \
        JWT_SIGNING_KEY   session signing key; generated into data/jwt-signing.key when unset\n  \
        SMTP_URL, SMTP_FROM  outgoing mail; without them messages go to the outbox\n  \
        REMINDER_SCHEDULE days from the due date for reminders (default -3,1,7,14,30)\n  \
        REMINDERS_EVERY_MINUTES how often the reminder job runs (default 60; 0 = off)\n  \
        BANK_ACCOUNT_CHANGE_WAIT_HOURS how long an approved bank account change waits (default 72)\n  \
        LOG_FORMAT        text (default) or json; RUST_LOG sets the level"
)]
pub struct Cli {
    /// What to do; without a command, `serve`.
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Migrate the database, add demo data if it is empty, and serve the portal.
    Serve {
        /// Do not add demo data to an empty database.
        #[arg(long)]
        no_demo: bool,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Add demo data, or with --customers/--invoices bulk load data for benchmarks.
    Seed {
        /// Number of load-test customers to add (each with one payer contact).
        #[arg(long, default_value_t = 0)]
        customers: u64,
        /// Number of load-test invoices to add, spread over the new customers.
        #[arg(long, default_value_t = 0)]
        invoices: u64,
    },
    /// Charge today's autopay (safe to run beside servers that run the job too: each account is
    /// claimed once a day, and an unanswered charge is sent again under its key).
    Autopay {
        /// Run as of this date (YYYY-MM-DD) instead of today.
        #[arg(long)]
        date: Option<chrono::NaiveDate>,
    },
    /// Queue today's payment reminders (safe to run beside servers that run the job too).
    Reminders {
        /// Run as of this date (YYYY-MM-DD) instead of today.
        #[arg(long)]
        date: Option<chrono::NaiveDate>,
    },
    /// Set the largest payment taken by card (above it only the bank debit is offered): the
    /// default of a currency, or with --customer one customer's (in its currency).
    CardLimit {
        /// The currency whose default this sets (USD, EUR, …).
        #[arg(
            long,
            required_unless_present = "customer",
            conflicts_with = "customer"
        )]
        currency: Option<String>,
        /// A customer number (C-1001): set this customer's own limit.
        #[arg(long)]
        customer: Option<String>,
        /// The amount (10000.00), or `none` to remove the limit.
        #[arg(long)]
        amount: String,
    },
    /// Set up the company's first receiving bank account for a currency: customers who pay by
    /// bank transfer see it (inside the portal only) with their reference. An IBAN (with --bic),
    /// or a US account and routing number. Once a currency has one, AR managers change it in the
    /// portal: one proposes, another approves, payers are told, and it waits before it shows.
    BankAccount {
        /// The currency the account receives (USD, EUR, …).
        #[arg(long)]
        currency: String,
        /// The account holder's name, as the bank knows it.
        #[arg(long)]
        holder: String,
        /// The bank's name.
        #[arg(long)]
        bank: String,
        #[arg(long, conflicts_with_all = ["account", "routing"])]
        iban: Option<String>,
        #[arg(long, requires = "iban")]
        bic: Option<String>,
        /// A US account number (with --routing).
        #[arg(long, requires = "routing")]
        account: Option<String>,
        /// A US ABA routing number (with --account).
        #[arg(long, requires = "account")]
        routing: Option<String>,
        /// Days an announced transfer holds its invoices back (not due, no reminders).
        #[arg(long, default_value_t = 5)]
        wait_days: u32,
    },
    /// Save (or replace) a bank's CSV statement layout, by the header names of its columns; staff
    /// then pick it by name when uploading that bank's CSV export.
    CsvMapping {
        /// The bank (and export) this layout is for.
        #[arg(long)]
        name: String,
        /// The company's account the exports are of (IBAN or account number).
        #[arg(long)]
        account: String,
        #[arg(long)]
        currency: String,
        /// `,`, `;` or `tab`.
        #[arg(long, default_value = ",")]
        delimiter: String,
        #[arg(long)]
        date_column: String,
        /// A chrono date format, e.g. %d.%m.%Y.
        #[arg(long, default_value = "%Y-%m-%d")]
        date_format: String,
        /// Signed amounts: money in positive, money out negative.
        #[arg(long)]
        amount_column: String,
        /// `.` (1,234.56) or `,` (1.234,56).
        #[arg(long, default_value = ".")]
        decimal_separator: String,
        /// The bank's own reference of each line (what makes imports idempotent).
        #[arg(long)]
        reference_column: String,
        #[arg(long, default_value = "")]
        payer_column: String,
        #[arg(long, default_value = "")]
        payer_account_column: String,
        #[arg(long, default_value = "")]
        remittance_column: String,
    },
    /// Print a demo manager's current two-factor code (demo data only; or add the printed
    /// authenticator key to an authenticator app).
    DemoCode {
        /// Which demo login: the AR manager unless another is named.
        #[arg(long, default_value = "manager@ledgerport.example")]
        email: String,
    },
    /// Remove a user's two-factor sign-in (a lost phone and lost recovery codes), when no other
    /// AR manager can reset it in the admin view. Audited; the user's sessions end.
    ResetTwoFactor {
        #[arg(long)]
        email: String,
    },
    /// Create an AR staff user; the password is read from standard input (one line).
    CreateStaff {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// clerk or manager
        #[arg(long, default_value = "clerk")]
        role: String,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("configuration: {0}")]
    Config(#[from] config::ConfigError),
    #[error(transparent)]
    Db(#[from] ledgerport::db::DbError),
    #[error("seeding failed: {0}")]
    Seed(#[from] seed::SeedError),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Serve(#[from] http::ServeError),
}

pub async fn run(cli: Cli) -> Result<(), CliError> {
    let config = config::from_env(|name| std::env::var(name).ok())?;
    telemetry::init(config.log_format);
    match cli.command.unwrap_or(Command::Serve { no_demo: false }) {
        Command::Serve { no_demo } => serve(config, !no_demo).await,
        Command::Migrate => {
            let db = open(&config).await?;
            println!("migrations applied to {}", redact_url(&config.database_url));
            db.close().await;
            Ok(())
        }
        Command::Seed {
            customers,
            invoices,
        } => {
            let db = open(&config).await?;
            if customers == 0 && invoices == 0 {
                if seed::is_empty(&db).await? {
                    seed::seed_demo(&db).await?;
                    print_demo_logins(&config);
                } else {
                    println!("the database already has customers; demo data not added");
                }
            } else {
                let report = seed::seed_load(&db, customers, invoices, true).await?;
                println!(
                    "loaded {} customers and {} invoices in {:.1} s ({:.0} invoices/s)",
                    report.customers,
                    report.invoices,
                    report.seconds,
                    report.invoices as f64 / report.seconds.max(0.001)
                );
            }
            db.close().await;
            Ok(())
        }
        Command::Autopay { date } => {
            let db = open(&config).await?;
            let today = date.unwrap_or_else(|| chrono::Utc::now().date_naive());
            let payments = http::RouterSettings::from_config(&config, &db)?.payments;
            let run = ledgerport::autopay::store::run(
                &db,
                payments.as_ref(),
                today,
                &config.public_base_url,
            )
            .await?;
            println!(
                "autopay for {today}: {} charges sent, {} declined, {} need the customer; {} accounts stopped",
                run.charged, run.declined, run.needs_customer, run.stopped
            );
            for problem in &run.problems {
                eprintln!("not handled: {problem}");
            }
            db.close().await;
            Ok(())
        }
        Command::Reminders { date } => {
            let db = open(&config).await?;
            let today = date.unwrap_or_else(|| chrono::Utc::now().date_naive());
            let run = ledgerport::reminders::store::run(
                &db,
                &config.reminder_schedule,
                today,
                &config.public_base_url,
            )
            .await?;
            println!(
                "reminders for {today}: {} queued, {} skipped (whole amount in dispute), {} without anyone to write to; \
                 promises to pay: {} kept, {} broken; payment plans: {} instalment reminders, \
                 {} completed, {} broken",
                run.sent,
                run.held,
                run.without_recipient,
                run.promises.kept,
                run.promises.broken,
                run.plans.reminded,
                run.plans.completed,
                run.plans.broken
            );
            db.close().await;
            Ok(())
        }
        Command::CardLimit {
            currency,
            customer,
            amount,
        } => {
            use ledgerport::checkout::store::{CardLimitOf, set_card_limit};
            let of = match (&currency, &customer) {
                (_, Some(number)) => CardLimitOf::Customer(number),
                (Some(code), None) => CardLimitOf::Currency(
                    code.to_ascii_uppercase()
                        .parse()
                        .map_err(|_| CliError::Invalid(format!("unknown currency {code:?}")))?,
                ),
                (None, None) => {
                    return Err(CliError::Invalid("give --currency or --customer".into()));
                }
            };
            let amount = (!amount.eq_ignore_ascii_case("none")).then_some(amount.as_str());
            let db = open(&config).await?;
            let set = set_card_limit(&db, of, amount)
                .await
                .map_err(|e| CliError::Invalid(e.to_string()))?;
            let whose =
                customer.map_or_else(|| format!("{set} default"), |n| format!("customer {n}"));
            match amount {
                Some(limit) => println!("card limit for {whose}: {limit} {set}"),
                None => println!("card limit for {whose}: none"),
            }
            db.close().await;
            Ok(())
        }
        Command::BankAccount {
            currency,
            holder,
            bank,
            iban,
            bic,
            account,
            routing,
            wait_days,
        } => {
            use ledgerport::transfers::{ReceivingAccount, TypedAccount};
            let currency: ledgerport::money::Currency = currency
                .to_ascii_uppercase()
                .parse()
                .map_err(|_| CliError::Invalid(format!("unknown currency {currency:?}")))?;
            let typed = TypedAccount {
                holder: &holder,
                bank_name: &bank,
                iban: iban.as_deref(),
                bic: bic.as_deref(),
                account_number: account.as_deref(),
                routing_number: routing.as_deref(),
                wait_days,
            };
            let account = ReceivingAccount::new(currency, &typed)
                .map_err(|e| CliError::Invalid(e.to_string()))?;
            let db = open(&config).await?;
            let set_up =
                ledgerport::transfers::store::set_up_receiving_account(&db, &account).await;
            db.close().await;
            set_up.map_err(|e| CliError::Invalid(e.to_string()))?;
            println!("receiving account set up: {}", account.summary());
            Ok(())
        }
        Command::CsvMapping {
            name,
            account,
            currency,
            delimiter,
            date_column,
            date_format,
            amount_column,
            decimal_separator,
            reference_column,
            payer_column,
            payer_account_column,
            remittance_column,
        } => {
            let mapping = ledgerport::statements::csv_mapping::CsvMapping {
                currency: currency
                    .to_ascii_uppercase()
                    .parse()
                    .map_err(|_| CliError::Invalid(format!("unknown currency {currency:?}")))?,
                delimiter: if delimiter == "tab" {
                    "\t".to_string()
                } else {
                    delimiter
                },
                name,
                account,
                date_column,
                date_format,
                amount_column,
                decimal_separator,
                reference_column,
                counterparty_column: payer_column,
                counterparty_account_column: payer_account_column,
                remittance_column,
            };
            let db = open(&config).await?;
            ledgerport::statements::store::save_csv_mapping(&db, &mapping)
                .await
                .map_err(|e| CliError::Invalid(e.to_string()))?;
            println!(
                "CSV mapping {:?} saved for {}",
                mapping.name, mapping.account
            );
            db.close().await;
            Ok(())
        }
        Command::DemoCode { email } => {
            let secret = seed::DEMO_LOGINS
                .iter()
                .find(|login| login.email == email)
                .and_then(|login| login.authenticator)
                .ok_or_else(|| {
                    CliError::Invalid(format!("{email} is not a demo login with an authenticator"))
                })?;
            let code = two_factor::code_at(secret, Utc::now().timestamp())?;
            println!("{code}");
            Ok(())
        }
        Command::ResetTwoFactor { email } => {
            let db = open(&config).await?;
            two_factor::reset_from_command_line(&db, &email)
                .await
                .map_err(|e| CliError::Invalid(e.to_string()))?;
            println!("two-factor sign-in removed for {email}; their sessions ended");
            db.close().await;
            Ok(())
        }
        Command::CreateStaff { email, name, role } => {
            let role: Role = role
                .parse()
                .map_err(|e: ledgerport::users::UserError| CliError::Invalid(e.to_string()))?;
            if !role.is_staff() {
                return Err(CliError::Invalid("--role must be clerk or manager".into()));
            }
            let email = Email::parse(&email).map_err(|e| CliError::Invalid(e.to_string()))?;
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .map_err(|e| CliError::Invalid(format!("cannot read the password: {e}")))?;
            let password = NewPassword::parse(line.trim_end_matches(['\r', '\n']))
                .map_err(|e| CliError::Invalid(e.to_string()))?;
            let db = open(&config).await?;
            let mut tx = db.begin_write().await?;
            create_user(&mut tx, &email, name.trim(), role, None, Some(&password))
                .await
                .map_err(|e| CliError::Invalid(e.to_string()))?;
            tx.commit().await.map_err(ledgerport::db::DbError::from)?;
            println!("created {} {}", role.as_str(), email);
            db.close().await;
            Ok(())
        }
    }
}

fn pool_settings(config: &Config) -> PoolSettings {
    PoolSettings {
        max_connections: config.database_max_connections,
        ..PoolSettings::default()
    }
}

/// Connects and migrates: every command works on an up-to-date schema.
async fn open(config: &Config) -> Result<Db, CliError> {
    let db = Db::connect(&config.database_url, &pool_settings(config)).await?;
    db.migrate().await?;
    Ok(db)
}

async fn serve(config: Config, demo: bool) -> Result<(), CliError> {
    let mut db = open(&config).await?;
    if let Some(url) = &config.read_database_url {
        db = db
            .with_reports_replica(url, &pool_settings(&config))
            .await?;
        tracing::info!("staff reports read the replica at {}", redact_url(url));
    }
    if let Some(path) = &config.jwt_key_generated_at {
        tracing::warn!(
            "using the session signing key in {}; production must set JWT_SIGNING_KEY",
            path.display()
        );
    }
    if demo && seed::is_empty(&db).await? {
        seed::seed_demo(&db).await?;
        tracing::info!("added demo data to the empty database");
    }
    if seed::has_demo_logins(&db).await? {
        print_demo_logins(&config);
    }
    http::serve(config, db).await?;
    Ok(())
}

fn print_demo_logins(config: &Config) {
    println!();
    println!(
        "  Ledgerport demo data is in {}",
        redact_url(&config.database_url)
    );
    println!("  Sign in at {} with:", config.public_base_url);
    for login in seed::DEMO_LOGINS {
        println!(
            "    {:<48} {:<30} {}",
            login.who, login.email, login.password
        );
        if let Some(key) = login.authenticator {
            println!(
                "    {:<48} then a code: `ledgerport demo-code --email {}`, or authenticator key {key}",
                "", login.email
            );
        }
    }
    println!();
}
