//! The AR staff side: customers and their contacts, invitations, roles, invoices and credit
//! memos, the outbox.

pub mod pages;

use ledgerport::auth::ContactSummary;
use ledgerport::customers::CustomerBalance;
use ledgerport::outbox::OutboxMessage;
use leptos::prelude::*;

use crate::errors::AppError;

/// A customer in the staff list, with today's aging (zero when nothing is open).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CustomerLine {
    pub customer: CustomerBalance,
    pub aging: ledgerport::reports::Aging,
}

/// A page of the staff list and where the next one starts.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CustomerLines {
    pub rows: Vec<CustomerLine>,
    /// The `after` of the next page (`balance.id`), none on the last page.
    pub next: Option<String>,
}

/// Accounts, largest open balance first, 50 a page, searched by number or name.
#[server(endpoint = "admin/customers")]
pub async fn customers(
    #[server(default)] search: String,
    #[server(default)] after: String,
) -> Result<CustomerLines, AppError> {
    use ledgerport::customers::CustomerListQuery;
    crate::session::require_staff()?;
    if search.chars().count() > 100 || search.chars().any(char::is_control) {
        return Err(AppError::Invalid(
            "Search for at most 100 characters of a customer number or name.".into(),
        ));
    }
    let after = ledgerport::paging::parse_position(&after, "list").map_err(AppError::Invalid)?;
    let db = crate::context::app().db;
    let page = ledgerport::customers::store::customer_page(
        &db,
        &CustomerListQuery {
            search,
            after,
            open_only: false,
        },
    )
    .await?;
    let ids: Vec<i64> = page.rows.iter().map(|c| c.id).collect();
    let today = chrono::Utc::now().date_naive();
    let aging = ledgerport::reports::store::aging_of_customers(&db, today, &ids).await?;
    Ok(CustomerLines {
        rows: page
            .rows
            .into_iter()
            .map(|customer| CustomerLine {
                aging: aging
                    .iter()
                    .find(|a| a.customer_id == customer.id)
                    .map(|a| a.aging)
                    .unwrap_or_default(),
                customer,
            })
            .collect(),
        next: page.next.map(|(balance, id)| format!("{balance}.{id}")),
    })
}

/// Opens a customer account. Amounts are decimals in the account's currency; the early-payment
/// discount is a percentage (e.g. 2 for 2/10 net 30) with its window in days.
#[server(endpoint = "admin/create-customer")]
pub async fn create_customer(
    number: String,
    name: String,
    currency: String,
    net_days: String,
    discount_percent: String,
    discount_days: String,
    credit_limit: String,
) -> Result<i64, AppError> {
    let caller = crate::session::require_staff()?;
    let currency =
        currency.trim().to_uppercase().parse().map_err(|_| {
            AppError::Invalid(format!("{currency:?} is not a currency we bill in."))
        })?;
    let new = account_from_form(
        &number,
        &name,
        currency,
        &AccountTerms {
            net_days,
            discount_percent,
            discount_days,
            credit_limit,
        },
    )?;
    let id = ledgerport::customers::store::open_account(
        &crate::context::app().db,
        &new,
        caller.user_id,
        &caller.email,
    )
    .await
    .map_err(|e| match e {
        taken @ ledgerport::customers::store::OpenAccountError::NumberTaken(_) => {
            AppError::Conflict(crate::errors::sentence(&taken.to_string()))
        }
        ledgerport::customers::store::OpenAccountError::Db(e) => AppError::from(e),
    })?;
    leptos_axum::redirect(&format!("/admin/customers/{id}"));
    Ok(id)
}

/// The terms fields of the account forms, as typed.
#[cfg(feature = "ssr")]
struct AccountTerms {
    net_days: String,
    discount_percent: String,
    discount_days: String,
    credit_limit: String,
}

/// Checks the account form: whole days, a percentage discount, a credit limit in `currency`.
#[cfg(feature = "ssr")]
fn account_from_form(
    number: &str,
    name: &str,
    currency: ledgerport::money::Currency,
    form: &AccountTerms,
) -> Result<ledgerport::customers::NewCustomer, AppError> {
    use ledgerport::money::Money;
    use ledgerport::terms::PaymentTerms;
    let whole = |text: &str, what: &str| -> Result<u32, AppError> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(0);
        }
        text.parse()
            .map_err(|_| AppError::Invalid(format!("{what} must be a whole number of days.")))
    };
    let discount_bp =
        ledgerport::terms::percent_to_bp(&form.discount_percent).map_err(AppError::invalid)?;
    let terms = PaymentTerms::with_discount(
        whole(&form.net_days, "Net days")?,
        discount_bp,
        whole(&form.discount_days, "Discount days")?,
    )
    .map_err(AppError::invalid)?;
    let limit = if form.credit_limit.trim().is_empty() {
        Money::zero(currency)
    } else {
        Money::parse(form.credit_limit.trim(), currency).map_err(AppError::invalid)?
    };
    ledgerport::customers::NewCustomer::new(number, name, currency, terms, limit)
        .map_err(AppError::invalid)
}

#[server(endpoint = "admin/customer-profile")]
pub async fn customer_profile(
    customer_id: i64,
) -> Result<ledgerport::customers::CustomerProfile, AppError> {
    crate::session::require_staff()?;
    ledgerport::customers::store::profile(&crate::context::app().db, customer_id)
        .await?
        .ok_or_else(|| AppError::NotFound("There is no such customer.".into()))
}

/// Changes an account's name, terms, credit limit and billing contacts (one address per line).
/// New terms apply to invoices issued from now on.
#[server(endpoint = "admin/update-customer")]
#[allow(clippy::too_many_arguments)]
pub async fn update_customer(
    customer_id: i64,
    name: String,
    net_days: String,
    discount_percent: String,
    discount_days: String,
    credit_limit: String,
    billing_emails: String,
) -> Result<(), AppError> {
    let caller = crate::session::require_staff()?;
    let db = crate::context::app().db;
    let current = ledgerport::customers::store::profile(&db, customer_id)
        .await?
        .ok_or_else(|| AppError::NotFound("There is no such customer.".into()))?;
    let changed = account_from_form(
        &current.number,
        &name,
        current.currency,
        &AccountTerms {
            net_days,
            discount_percent,
            discount_days,
            credit_limit,
        },
    )?;
    let billing = billing_emails
        .split(['\n', ',', ';'])
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(|e| {
            ledgerport::users::Email::parse(e)
                .map_err(|_| AppError::Invalid(format!("{e:?} is not an email address.")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if billing.len() > 10 {
        return Err(AppError::Invalid(
            "An account can have at most 10 billing contacts.".into(),
        ));
    }
    ledgerport::customers::store::update_account(
        &db,
        customer_id,
        &changed,
        &billing,
        caller.user_id,
        &caller.email,
    )
    .await?;
    leptos_axum::redirect(&format!("/admin/customers/{customer_id}?saved=1"));
    Ok(())
}

/// A customer account with its contacts, for the staff page of one customer.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CustomerWithContacts {
    pub name: String,
    pub contacts: Vec<ContactSummary>,
}

#[server(endpoint = "admin/contacts")]
pub async fn customer_contacts(customer_id: i64) -> Result<CustomerWithContacts, AppError> {
    let caller = crate::session::require_staff()?;
    let ctx = crate::context::app();
    let name = ledgerport::customers::store::customer_name(&ctx.db, customer_id)
        .await?
        .ok_or_else(|| AppError::NotFound("There is no such customer.".into()))?;
    let contacts = ledgerport::auth::access::contacts(&ctx.db, &caller, customer_id).await?;
    Ok(CustomerWithContacts { name, contacts })
}

#[server(endpoint = "admin/invite-contact")]
pub async fn invite_contact(
    customer_id: i64,
    email: String,
    display_name: String,
    role: String,
) -> Result<(), AppError> {
    use ledgerport::auth::access::{LinkBase, invite_contact};
    let caller = crate::session::require_staff()?;
    let ctx = crate::context::app();
    let role = role.parse().map_err(AppError::invalid)?;
    let invited = invite_contact(
        &ctx.db,
        &caller,
        customer_id,
        &email,
        &display_name,
        role,
        &LinkBase(&ctx.public_base_url),
    )
    .await?;
    crate::context::log_message_in_development(&ctx, invited.outbox_id).await;
    leptos_axum::redirect(&format!("/admin/customers/{customer_id}?invited=1"));
    Ok(())
}

#[server(endpoint = "admin/change-role")]
pub async fn change_role(customer_id: i64, user_id: i64, role: String) -> Result<(), AppError> {
    let caller = crate::session::require_manager()?;
    let role = role.parse().map_err(AppError::invalid)?;
    ledgerport::auth::access::change_role(&crate::context::app().db, &caller, user_id, role)
        .await?;
    leptos_axum::redirect(&format!("/admin/customers/{customer_id}"));
    Ok(())
}

#[server(endpoint = "admin/revoke-access")]
pub async fn revoke_access(customer_id: i64, user_id: i64) -> Result<(), AppError> {
    let caller = crate::session::require_manager()?;
    ledgerport::auth::access::revoke_access(
        &crate::context::app().db,
        &caller,
        user_id,
        "revoked in the admin view",
    )
    .await?;
    leptos_axum::redirect(&format!("/admin/customers/{customer_id}"));
    Ok(())
}

/// A manager resets a contact's two-factor sign-in (a lost phone); audited, the contact is told.
#[server(endpoint = "admin/reset-two-factor")]
pub async fn reset_two_factor(customer_id: i64, user_id: i64) -> Result<(), AppError> {
    let caller = crate::session::require_manager()?;
    ledgerport::auth::two_factor::reset(
        &crate::context::app().db,
        &caller,
        user_id,
        &crate::request::client_ip(),
    )
    .await?;
    leptos_axum::redirect(&format!("/admin/customers/{customer_id}"));
    Ok(())
}

/// Issues an invoice to a customer by hand. The number makes it idempotent: the same invoice
/// again changes nothing; another invoice with a used number is refused. Form rows left blank
/// are skipped.
#[server(endpoint = "admin/create-invoice")]
pub async fn create_invoice(
    customer_id: i64,
    number: String,
    po_number: String,
    issue_date: String,
    lines: Vec<ledgerport::invoices::draft::LineDraft>,
) -> Result<i64, AppError> {
    use ledgerport::invoices::draft::{InvoiceDraft, describe};
    let caller = crate::session::require_staff()?;
    let db = crate::context::app().db;
    let currency = ledgerport::customers::store::customer_currency(&db, customer_id)
        .await?
        .ok_or_else(|| AppError::NotFound("There is no such customer.".into()))?;
    let draft = InvoiceDraft {
        number,
        po_number,
        issue_date,
        lines: lines.into_iter().filter(|l| !l.is_blank()).collect(),
    };
    let invoice = draft
        .parse(customer_id, currency, chrono::Utc::now().date_naive())
        .map_err(|errors| AppError::Invalid(describe(&errors)))?;
    let issued = ledgerport::invoices::store::issue_audited(
        &db,
        &invoice,
        Some(caller.user_id),
        &caller.email,
    )
    .await?;
    leptos_axum::redirect(&format!(
        "/admin/customers/{customer_id}?issued={}",
        invoice.number.as_str()
    ));
    Ok(issued.invoice_id)
}

/// Any customer's invoice with its lines, credits and activity, for staff.
#[server(endpoint = "admin/invoice")]
pub async fn staff_invoice(
    invoice_id: i64,
) -> Result<ledgerport::invoices::views::StaffInvoice, AppError> {
    crate::session::require_staff()?;
    ledgerport::invoices::reading::staff_invoice(
        &crate::context::app().db,
        invoice_id,
        chrono::Utc::now().date_naive(),
    )
    .await?
    .ok_or_else(|| AppError::NotFound("There is no such invoice.".into()))
}

/// Credits lines of an invoice, tax included, under the credit memo's own number (the same
/// number again changes nothing). Amounts left blank credit nothing on their line. Dated in a
/// closed period, it is refused and names the period.
#[server(endpoint = "admin/credit-memo")]
pub async fn issue_credit_memo(
    invoice_id: i64,
    number: String,
    reason: String,
    issue_date: String,
    #[server(default)] lines: Vec<ledgerport::adjustments::credit_memo::CreditLineDraft>,
) -> Result<(), AppError> {
    use ledgerport::adjustments::credit_memo::CreditMemoDraft;
    use ledgerport::invoices::draft::describe;
    let caller = crate::session::require_staff()?;
    let db = crate::context::app().db;
    let invoice = ledgerport::invoices::reading::invoice_by_id(&db, invoice_id)
        .await?
        .ok_or_else(|| AppError::NotFound("There is no such invoice.".into()))?;
    let draft = CreditMemoDraft {
        number,
        reason,
        issue_date,
        lines: lines.into_iter().filter(|l| !l.is_blank()).collect(),
    };
    let memo = draft
        .parse(invoice.credited(), chrono::Utc::now().date_naive())
        .map_err(|errors| AppError::Invalid(describe(&errors)))?;
    ledgerport::adjustments::store::issue_credit_memo(&db, &memo, caller.actor()).await?;
    leptos_axum::redirect(&format!(
        "/admin/invoices/{invoice_id}?credited={}",
        memo.number.as_str()
    ));
    Ok(())
}

/// One page of a customer's invoices for staff (the same list the customer sees).
#[server(endpoint = "admin/customer-invoices")]
pub async fn customer_invoices(
    customer_id: i64,
    filter: String,
    page: u32,
) -> Result<ledgerport::invoices::views::InvoicePage, AppError> {
    use ledgerport::invoices::views::{InvoiceFilter, InvoiceQuery};
    crate::session::require_staff()?;
    let query = InvoiceQuery {
        filter: InvoiceFilter::parse(&filter),
        page,
        per_page: 25,
        ..InvoiceQuery::default()
    };
    ledgerport::invoices::reading::list_invoices(
        &crate::context::app().db,
        customer_id,
        &query,
        chrono::Utc::now().date_naive(),
    )
    .await?
    .ok_or_else(|| AppError::NotFound("There is no such customer.".into()))
}

/// Records a cheque, wire, cash or ACH payment received outside the portal. With a remittance
/// (invoice numbers and amounts, one per line) it is applied as the customer said; without one,
/// to the oldest open invoices first. Early-payment discounts are taken inside their window and
/// any excess becomes unapplied credit. Idempotent by the customer and `reference`.
#[server(endpoint = "admin/record-payment")]
pub async fn record_offline_payment(
    customer_id: i64,
    method: String,
    amount: String,
    received_on: String,
    reference: String,
    #[server(default)] remittance: String,
) -> Result<(), AppError> {
    use ledgerport::payments::PaymentMethod;
    use ledgerport::payments::store::OfflinePayment;
    let caller = crate::session::require_staff()?;
    let db = crate::context::app().db;
    let currency = ledgerport::customers::store::customer_currency(&db, customer_id)
        .await?
        .ok_or_else(|| AppError::NotFound("There is no such customer.".into()))?;
    let method: PaymentMethod = method.parse().map_err(AppError::invalid)?;
    if method == PaymentMethod::Card {
        return Err(AppError::Invalid(
            "Card payments arrive through the payment provider, not by hand.".into(),
        ));
    }
    let amount =
        ledgerport::money::Money::parse(amount.trim(), currency).map_err(AppError::invalid)?;
    let received = if received_on.trim().is_empty() {
        chrono::Utc::now().date_naive()
    } else {
        received_on.trim().parse().map_err(|_| {
            AppError::Invalid(format!("{received_on:?} is not a date like 2026-11-23."))
        })?
    };
    let reference = reference.trim();
    if reference.is_empty() || reference.chars().count() > 100 {
        return Err(AppError::Invalid(
            "Give the cheque number or transfer reference (at most 100 characters).".into(),
        ));
    }
    let remitted =
        ledgerport::payments::parse_remittance(&remittance, currency).map_err(AppError::invalid)?;
    let payment = OfflinePayment {
        customer_id,
        method,
        amount,
        received,
        reference: reference.to_string(),
        remitted,
    };
    let receipt =
        ledgerport::payments::store::record_offline_payment(&db, &payment, caller.actor()).await?;
    leptos_axum::redirect(&format!(
        "/admin/customers/{customer_id}?paid={}",
        receipt.payment_id
    ));
    Ok(())
}

/// Applies the account's unapplied credit to what is due now on its open invoices, oldest due
/// date first (disputed amounts are left alone).
#[server(endpoint = "admin/apply-credit")]
pub async fn apply_account_credit(customer_id: i64) -> Result<(), AppError> {
    let caller = crate::session::require_staff()?;
    let db = crate::context::app().db;
    ledgerport::payments::store::apply_credit_to_due(
        &db,
        customer_id,
        chrono::Utc::now().date_naive(),
        caller.actor(),
    )
    .await?;
    leptos_axum::redirect(&format!("/admin/customers/{customer_id}?credit_applied=1"));
    Ok(())
}

/// Voids an invoice that has had no payments or credits, by a reversing entry.
#[server(endpoint = "admin/void-invoice")]
pub async fn void_invoice(
    customer_id: i64,
    invoice_id: i64,
    reason: String,
) -> Result<(), AppError> {
    let caller = crate::session::require_staff()?;
    ledgerport::adjustments::store::void_invoice(
        &crate::context::app().db,
        customer_id,
        invoice_id,
        &reason,
        chrono::Utc::now().date_naive(),
        caller.actor(),
    )
    .await?;
    leptos_axum::redirect(&format!("/admin/customers/{customer_id}"));
    Ok(())
}

#[server(endpoint = "admin/outbox")]
pub async fn outbox() -> Result<Vec<OutboxMessage>, AppError> {
    crate::session::require_manager()?;
    let messages = ledgerport::outbox::store::recent(&crate::context::app().db, 200).await?;
    Ok(messages
        .into_iter()
        .map(|m| m.with_links_hidden())
        .collect())
}
