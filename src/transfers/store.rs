//! Receiving accounts and announced transfers in the database.

use chrono::{Days, NaiveDate, Utc};
use sqlx::any::AnyRow;
use sqlx::{Any, AnyConnection, Executor, Row, Transaction};

use super::{AccountDetails, CreditorReference, ReceivingAccount, TransferInstructions};
use crate::checkout::store::{CheckoutStoreError, NewCheckout, insert_checkout, review_on};
use crate::checkout::{CheckoutError, CheckoutStatus, PayItem};
use crate::db::{Db, DbError, parse_date, timestamp_text};
use crate::locale::Locale;
use crate::money::Currency;
use crate::payments::PaymentMethod;
use crate::receivables::store::lock_customer;
use crate::tr;

/// The `provider` of an announced transfer's checkout: no provider collects it, the bank
/// statement brings it.
pub const TRANSFER_PROVIDER: &str = "transfer";

#[derive(Debug, thiserror::Error)]
pub enum SetUpError {
    #[error(
        "{0} already has a receiving account: AR managers change it in the portal (Company → Bank accounts), where one proposes the change, another approves it, and payers are told before it takes effect"
    )]
    AlreadySetUp(Currency),
    #[error(
        "a first {0} account proposed in the portal is waiting for a second manager: approve or withdraw it there"
    )]
    ChangeWaiting(Currency),
    #[error(transparent)]
    Db(#[from] DbError),
}

crate::from_sqlx_error!(SetUpError);

/// The operator sets up the first receiving account for a currency (command line, demo data):
/// effective at once, audited. A currency that has one changes only through two managers
/// ([`super::changes`]), so no single person can redirect customers' money.
pub async fn set_up_receiving_account(
    db: &Db,
    account: &ReceivingAccount,
) -> Result<(), SetUpError> {
    let mut tx = db.begin_write().await?;
    super::changes::one_change_at_a_time(&mut tx, db.engine()).await?;
    let (approved, versions): (i64, i64) = sqlx::query_as(
        "SELECT COUNT(approved_at), COUNT(*) FROM bank_account_changes \
         WHERE currency = $1 AND withdrawn_at IS NULL",
    )
    .bind(account.currency.code())
    .fetch_one(&mut *tx)
    .await?;
    if approved > 0 {
        return Err(SetUpError::AlreadySetUp(account.currency));
    }
    if versions > 0 {
        return Err(SetUpError::ChangeWaiting(account.currency));
    }
    let now = timestamp_text(Utc::now());
    let id = insert_version(&mut tx, account, None, &now).await?;
    sqlx::query(
        "UPDATE bank_account_changes SET approved_at = proposed_at, effective_at = proposed_at \
         WHERE id = $1",
    )
    .bind(id)
    .execute(&mut *tx)
    .await?;
    crate::audit::record(
        &mut *tx,
        None,
        "operator",
        "bank_account_set_up",
        &format!("receiving account {}", account.currency),
        &account.summary(),
        "",
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Writes a version of a currency's receiving account, not yet approved; returns its id.
pub(crate) async fn insert_version(
    tx: &mut Transaction<'_, Any>,
    account: &ReceivingAccount,
    proposed_by: Option<i64>,
    now: &str,
) -> Result<i64, DbError> {
    let (iban, bic, number, routing) = match &account.details {
        AccountDetails::Iban { iban, bic } => (Some(iban), bic.as_ref(), None, None),
        AccountDetails::Domestic {
            account_number,
            routing_number,
        } => (None, None, Some(account_number), Some(routing_number)),
    };
    Ok(sqlx::query_scalar(
        "INSERT INTO bank_account_changes (currency, holder, bank_name, iban, bic, \
         account_number, routing_number, wait_days, proposed_by, proposed_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
    )
    .bind(account.currency.code())
    .bind(&account.holder)
    .bind(&account.bank_name)
    .bind(iban)
    .bind(bic)
    .bind(number)
    .bind(routing)
    .bind(i64::from(account.wait_days))
    .bind(proposed_by)
    .bind(now)
    .fetch_one(&mut **tx)
    .await?)
}

/// The columns of a receiving account, as [`account_from_row`] reads them.
pub(crate) const ACCOUNT_COLUMNS: &str =
    "currency, holder, bank_name, iban, bic, account_number, routing_number, wait_days";

/// The company's receiving account for a currency that customers see now, if it has one.
pub async fn receiving_account<'e, E>(
    executor: E,
    currency: Currency,
) -> Result<Option<ReceivingAccount>, DbError>
where
    E: Executor<'e, Database = Any>,
{
    receiving_account_at(executor, currency, &timestamp_text(Utc::now())).await
}

/// The receiving account customers see at `at`: the currency's newest approved version whose
/// wait has passed and that was not withdrawn.
pub async fn receiving_account_at<'e, E>(
    executor: E,
    currency: Currency,
    at: &str,
) -> Result<Option<ReceivingAccount>, DbError>
where
    E: Executor<'e, Database = Any>,
{
    let row = sqlx::query(&format!(
        "SELECT {ACCOUNT_COLUMNS} FROM bank_account_changes \
         WHERE currency = $1 AND effective_at <= $2 AND withdrawn_at IS NULL \
         ORDER BY effective_at DESC, id DESC LIMIT 1"
    ))
    .bind(currency.code())
    .bind(at)
    .fetch_optional(executor)
    .await?;
    row.as_ref().map(account_from_row).transpose()
}

pub(crate) fn account_from_row(row: &AnyRow) -> Result<ReceivingAccount, DbError> {
    let iban: Option<String> = row.try_get("iban")?;
    let details = match iban {
        Some(iban) => AccountDetails::Iban {
            iban,
            bic: row.try_get("bic")?,
        },
        None => AccountDetails::Domestic {
            account_number: row
                .try_get::<Option<String>, _>("account_number")?
                .unwrap_or_default(),
            routing_number: row
                .try_get::<Option<String>, _>("routing_number")?
                .unwrap_or_default(),
        },
    };
    let wait_days: i64 = row.try_get("wait_days")?;
    Ok(ReceivingAccount {
        currency: crate::db::currency(&row.try_get::<String, _>("currency")?)?,
        holder: row.try_get("holder")?,
        bank_name: row.try_get("bank_name")?,
        details,
        wait_days: u32::try_from(wait_days)
            .map_err(|_| DbError::Corrupt(format!("waiting days {wait_days}")))?,
    })
}

/// A transfer just announced: its checkout id (its page) and its reference.
#[derive(Debug, Clone)]
pub struct AnnouncedTransfer {
    pub id: String,
    pub reference: CreditorReference,
}

/// Records a bank transfer the customer announces for the chosen invoices and amounts, with a
/// new creditor reference. Reviewed again under the customer lock like any payment, so the
/// amounts cannot be asked for twice: they are pending on their invoices (not due, no
/// reminders) for the receiving account's waiting days. The contact gets the instructions by
/// email too.
pub async fn announce_transfer(
    db: &Db,
    customer_id: i64,
    user_id: i64,
    items: &[PayItem],
    today: NaiveDate,
) -> Result<AnnouncedTransfer, CheckoutStoreError> {
    let mut tx = db.begin_write().await?;
    lock_customer(&mut tx, db.engine(), customer_id).await?;
    let review = review_on(&mut tx, customer_id, items, today).await?;
    let account = receiving_account(&mut *tx, review.currency).await?.ok_or(
        CheckoutError::NoReceivingAccount {
            currency: review.currency,
        },
    )?;
    let reference = CreditorReference::random();
    let held_until = today + Days::new(u64::from(account.wait_days));
    let id = insert_checkout(
        &mut tx,
        &NewCheckout {
            customer_id,
            user_id,
            provider: TRANSFER_PROVIDER,
            review: &review,
            status: CheckoutStatus::Processing,
            methods: &[PaymentMethod::Wire],
            method: Some(PaymentMethod::Wire),
            expires_at: Utc::now() + chrono::Duration::days(i64::from(account.wait_days)),
            expected_on: Some(held_until),
            reference: Some(reference.as_str()),
        },
    )
    .await?;
    let instructions = TransferInstructions {
        reference: reference.clone(),
        account,
        currency: review.currency,
        amount_minor: review.total_minor,
        invoices: review
            .lines
            .iter()
            .map(|l| (l.number.clone(), l.pay_minor))
            .collect(),
        announced_on: today,
        held_until,
    };
    let payer: String = sqlx::query_scalar("SELECT email FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_one(&mut *tx)
        .await?;
    let write = |locale: Locale| {
        let amount = locale.money(review.total_minor, review.currency);
        let subject = tr!(
            locale,
            "transfer.subject",
            amount = amount,
            reference = reference
        );
        let body = tr!(
            locale,
            "transfer.body",
            instructions = instructions.text_without_account(locale),
            date = locale.date(held_until)
        );
        (subject, body)
    };
    crate::outbox::store::queue_in_their_language(
        &mut tx,
        &[payer],
        "transfer_instructions",
        None,
        write,
    )
    .await?;
    tx.commit().await?;
    Ok(AnnouncedTransfer { id, reference })
}

/// A payment of this customer as its page shows it: the checkout, with the instructions when
/// it is an announced transfer.
pub async fn payment_view(
    db: &Db,
    customer_id: i64,
    checkout_id: &str,
) -> Result<Option<crate::checkout::CheckoutView>, DbError> {
    let Some(mut view) =
        crate::checkout::store::checkout_view(db, customer_id, checkout_id).await?
    else {
        return Ok(None);
    };
    let mut conn = db.pool().acquire().await?;
    view.transfer = instructions_in(&mut conn, checkout_id).await?;
    Ok(Some(view))
}

/// The instructions of an announced transfer (its checkout), as recorded.
async fn instructions_in(
    conn: &mut AnyConnection,
    checkout_id: &str,
) -> Result<Option<TransferInstructions>, DbError> {
    let row = sqlx::query(
        "SELECT reference, currency, amount_minor, allocations, created_at, expected_on \
         FROM checkouts WHERE id = $1 AND reference IS NOT NULL",
    )
    .bind(checkout_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let text: String = row.try_get("reference")?;
    let reference = CreditorReference::parse(&text)
        .map_err(|_| DbError::Corrupt(format!("creditor reference {text:?}")))?;
    let currency = crate::db::currency(&row.try_get::<String, _>("currency")?)?;
    let account = receiving_account(&mut *conn, currency)
        .await?
        .ok_or_else(|| DbError::Corrupt(format!("no receiving account in {currency}")))?;
    let allocations: String = row.try_get("allocations")?;
    let items = PayItem::parse_list(&allocations)
        .ok_or_else(|| DbError::Corrupt(format!("checkout allocations {allocations:?}")))?;
    let ids: Vec<i64> = items.iter().map(|i| i.invoice_id).collect();
    let numbers = crate::invoices::reading::numbers_of(&mut *conn, &ids).await?;
    let invoices = items
        .iter()
        .map(|item| {
            numbers
                .iter()
                .find(|(id, _)| *id == item.invoice_id)
                .map(|(_, number)| (number.clone(), item.amount_minor))
                .ok_or_else(|| {
                    DbError::Corrupt(format!("invoice {} of a transfer", item.invoice_id))
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let created_at: String = row.try_get("created_at")?;
    let expected_on: Option<String> = row.try_get("expected_on")?;
    Ok(Some(TransferInstructions {
        reference,
        account,
        currency,
        amount_minor: row.try_get("amount_minor")?,
        invoices,
        announced_on: parse_date(created_at.get(..10).unwrap_or_default())?,
        held_until: parse_date(expected_on.as_deref().unwrap_or_default())?,
    }))
}

/// The instructions of this customer's announced transfer (for its PDF).
pub async fn instructions_for(
    db: &Db,
    customer_id: i64,
    checkout_id: &str,
) -> Result<Option<TransferInstructions>, DbError> {
    let mut conn = db.pool().acquire().await?;
    let ours: Option<i64> =
        sqlx::query_scalar("SELECT 1 FROM checkouts WHERE id = $1 AND customer_id = $2")
            .bind(checkout_id)
            .bind(customer_id)
            .fetch_optional(&mut *conn)
            .await?;
    if ours.is_none() {
        return Ok(None);
    }
    instructions_in(&mut conn, checkout_id).await
}

#[cfg(all(test, feature = "test-support"))]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::checkout::store::{
        Cancellable, CardLimitOf, cancellable, cancelled_checkout, expire_stale_checkouts,
        full_amounts, open_checkout, set_card_limit,
    };
    use crate::testing::fixtures::demo_acme;
    use crate::testing::fresh_db;
    use crate::transfers::TypedAccount;

    fn today() -> NaiveDate {
        Utc::now().date_naive()
    }

    async fn due_on(db: &Db, customer: i64, invoice: i64) -> i64 {
        full_amounts(db, customer, &[invoice])
            .await
            .unwrap()
            .first()
            .map_or(0, |item| item.amount_minor)
    }

    /// Acme's payer announces a transfer of its oldest open invoice in full: (customer, payer),
    /// what was announced, and the transfer.
    async fn acme_announces_its_oldest_invoice(
        db: &Db,
    ) -> ((i64, i64), [PayItem; 1], AnnouncedTransfer) {
        let (customer, user, open) = demo_acme(db).await;
        let (invoice_id, amount_minor) = open[0];
        let items = [PayItem {
            invoice_id,
            amount_minor,
        }];
        let announced = announce_transfer(db, customer, user, &items, today())
            .await
            .unwrap();
        ((customer, user), items, announced)
    }

    #[tokio::test]
    async fn an_announced_transfer_holds_its_invoices_until_its_waiting_days_are_over() {
        let db = fresh_db().await;
        let ((customer, user), items, announced) = acme_announces_its_oldest_invoice(&db).await;
        let PayItem {
            invoice_id: invoice,
            amount_minor: amount,
        } = items[0];
        assert_eq!(
            CreditorReference::parse(&announced.reference.to_string()),
            Ok(announced.reference.clone())
        );
        let view = payment_view(&db, customer, &announced.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(view.status, CheckoutStatus::Processing);
        assert_eq!(view.method, Some(PaymentMethod::Wire));
        let instructions = view.transfer.unwrap();
        assert_eq!(instructions.reference, announced.reference);
        assert_eq!(instructions.amount_minor, amount);
        assert_eq!(instructions.held_until, today() + Days::new(5));
        assert_eq!(instructions.account.holder, "Ledgerport Demo Inc.");
        // Not due meanwhile, and not asked for again.
        assert_eq!(due_on(&db, customer, invoice).await, 0);
        assert!(matches!(
            announce_transfer(&db, customer, user, &items, today()).await,
            Err(CheckoutStoreError::Refused(
                CheckoutError::InProgress { .. }
            ))
        ));
        let mailed: String = sqlx::query_scalar(
            "SELECT body FROM outbox WHERE kind = 'transfer_instructions' AND recipient = 'pat@acme.example'",
        )
        .fetch_one(db.pool())
        .await
        .unwrap();
        assert!(mailed.contains(&announced.reference.to_string()));
        // Bank details only inside the portal: the mail names no account.
        assert!(!mailed.contains("110000000") && !mailed.contains("000123456789"));
        assert!(mailed.contains("We never send bank details by email"));
        // The waiting days end: the invoice is due (and reminded) again.
        let soon = Utc::now() + chrono::Duration::days(4);
        assert_eq!(expire_stale_checkouts(&db, soon).await.unwrap(), 0);
        let later = Utc::now() + chrono::Duration::days(5) + chrono::Duration::minutes(1);
        assert_eq!(expire_stale_checkouts(&db, later).await.unwrap(), 1);
        let lapsed = payment_view(&db, customer, &announced.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(lapsed.status, CheckoutStatus::Expired);
        assert!(
            lapsed
                .failure_message
                .contains(&announced.reference.to_string())
        );
        assert_eq!(due_on(&db, customer, invoice).await, amount);
    }

    #[tokio::test]
    async fn a_customer_withdraws_an_announced_transfer_once() {
        let db = fresh_db().await;
        let ((customer, _), items, announced) = acme_announces_its_oldest_invoice(&db).await;
        let PayItem {
            invoice_id: invoice,
            amount_minor: amount,
        } = items[0];
        assert_eq!(
            cancellable(&db, customer, &announced.id).await.unwrap(),
            Cancellable::Transfer
        );
        assert!(cancelled_checkout(&db, &announced.id).await.unwrap());
        assert_eq!(due_on(&db, customer, invoice).await, amount);
        assert!(matches!(
            cancellable(&db, customer, &announced.id).await,
            Err(CheckoutStoreError::Refused(CheckoutError::NotCancellable))
        ));
        assert!(!cancelled_checkout(&db, &announced.id).await.unwrap());
    }

    #[tokio::test]
    async fn above_the_card_limit_without_a_bank_debit_only_a_transfer_is_taken() {
        let db = fresh_db().await;
        let (_, user, _) = demo_acme(&db).await;
        let globex: i64 = sqlx::query_scalar("SELECT id FROM customers WHERE number = 'C-1003'")
            .fetch_one(db.pool())
            .await
            .unwrap();
        let items = full_amounts(&db, globex, &[]).await.unwrap()[..1].to_vec();
        // No receiving account in yen: no transfer.
        assert!(matches!(
            announce_transfer(&db, globex, user, &items, today()).await,
            Err(CheckoutStoreError::Refused(
                CheckoutError::NoReceivingAccount { .. }
            ))
        ));
        set_card_limit(&db, CardLimitOf::Customer("C-1003"), Some("1"))
            .await
            .unwrap();
        assert!(matches!(
            crate::checkout::store::review(&db, globex, &items, today()).await,
            Err(CheckoutStoreError::Refused(
                CheckoutError::AboveCardLimit { .. }
            ))
        ));
        let yen = ReceivingAccount::new(
            Currency::Jpy,
            &TypedAccount {
                holder: "Ledgerport Demo Ltd",
                bank_name: "NatWest",
                iban: Some("GB82 WEST 1234 5698 7654 32"),
                wait_days: 10,
                ..TypedAccount::default()
            },
        )
        .unwrap();
        set_up_receiving_account(&db, &yen).await.unwrap();
        let review = crate::checkout::store::review(&db, globex, &items, today())
            .await
            .unwrap();
        assert!(review.methods.is_empty() && review.bank_transfer);
        assert!(matches!(
            open_checkout(&db, globex, user, "sandbox", &items, today()).await,
            Err(CheckoutStoreError::Refused(
                CheckoutError::TransferOnly { .. }
            ))
        ));
        let announced = announce_transfer(&db, globex, user, &items, today())
            .await
            .unwrap();
        let held_until = instructions_for(&db, globex, &announced.id)
            .await
            .unwrap()
            .unwrap()
            .held_until;
        assert_eq!(held_until, today() + Days::new(10));
    }
}
