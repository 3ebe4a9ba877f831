//! Reading disputes, for the customer's pages and the staff queue. Changes go through the plain
//! form posts in the server's `disputes` module (they carry file uploads).

pub mod pages;

use ledgerport::disputes::{DisputeDetail, DisputeForm, DisputeRow, DisputeStatus};
use ledgerport::money::Currency;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::errors::AppError;

/// A dispute as its page shows it, with the choices the page offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisputePage {
    pub detail: DisputeDetail,
    /// Staff only: who the dispute can be assigned to.
    pub staff: Vec<(i64, String)>,
    /// Whether the viewer may write in the thread.
    pub can_write: bool,
    /// The staff view: assignment, notes, proposals and resolution.
    pub staff_view: bool,
}

/// The staff queue and its totals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueView {
    pub rows: Vec<DisputeRow>,
    pub counts: Vec<(DisputeStatus, i64)>,
    pub total_disputed: Vec<(Currency, i64)>,
    pub customers: Vec<(i64, String)>,
    pub staff: Vec<(i64, String)>,
    pub now: String,
}

#[server(endpoint = "disputes/mine")]
pub async fn my_disputes() -> Result<Vec<DisputeRow>, AppError> {
    let (_, customer_id) = crate::session::require_contact()?;
    Ok(
        ledgerport::disputes::store::customer_disputes(&crate::context::app().db, customer_id)
            .await?,
    )
}

/// One dispute: a contact sees their account's (without internal notes); staff see any.
/// `admin` asks for the staff view (the admin pages), which only staff get.
#[server(endpoint = "disputes/detail")]
pub async fn dispute(id: i64, admin: bool) -> Result<DisputePage, AppError> {
    use ledgerport::disputes::store::{DisputeStoreError, Scope, detail};
    use ledgerport::users::store::staff_members;
    let caller = if admin {
        crate::session::require_staff()?
    } else {
        crate::session::require_caller()?
    };
    let db = crate::context::app().db;
    let scope = match caller.customer_id {
        Some(customer) => Scope::Customer(customer),
        None if caller.is_staff() => Scope::Staff,
        None => return Err(AppError::Forbidden("Only AR staff can do that.".into())),
    };
    let mut detail = detail(&db, id, scope)
        .await?
        .ok_or(DisputeStoreError::NotFound)?;
    let can_write = caller.is_staff() || caller.can_pay();
    if !can_write {
        detail.actions.clear();
    }
    let staff = if caller.is_staff() {
        staff_members(&db).await?
    } else {
        Vec::new()
    };
    Ok(DisputePage {
        detail,
        staff,
        can_write,
        staff_view: caller.is_staff(),
    })
}

/// The lines of one of the customer's invoices, as the dispute form offers them.
#[server(endpoint = "disputes/form")]
pub async fn dispute_form_for(invoice_id: i64) -> Result<DisputeForm, AppError> {
    let (_, customer_id) = crate::session::require_payer()?;
    ledgerport::disputes::store::dispute_form(&crate::context::app().db, customer_id, invoice_id)
        .await?
        .ok_or_else(|| {
            let locale = crate::i18n::request_locale();
            AppError::NotFound(crate::i18n::tr!(locale, "error.no_such_invoice"))
        })
}

/// The staff queue. `status`: empty for the active ones, `all`, or one status; `assignee`:
/// empty, `me`, `unassigned` or a user id; `sort`: `oldest`, `newest`, `amount`, `message`.
#[server(endpoint = "admin/disputes")]
pub async fn dispute_queue(
    status: String,
    customer: Option<i64>,
    assignee: String,
    min_amount: Option<i64>,
    older_than_days: Option<i64>,
    sort: String,
) -> Result<QueueView, AppError> {
    use ledgerport::disputes::store::{AssigneeFilter, QueueFilter, QueueSort, queue_for_staff};
    let caller = crate::session::require_staff()?;
    let db = crate::context::app().db;
    let statuses = match status.as_str() {
        "" => Vec::new(),
        "all" => DisputeStatus::ALL.to_vec(),
        other => vec![
            DisputeStatus::parse(other)
                .ok_or_else(|| AppError::Invalid(format!("{other:?} is not a dispute status.")))?,
        ],
    };
    let assignee = match assignee.as_str() {
        "" => None,
        "me" => Some(AssigneeFilter::User(caller.user_id)),
        "unassigned" => Some(AssigneeFilter::Unassigned),
        id => Some(AssigneeFilter::User(id.parse().map_err(|_| {
            AppError::Invalid(format!("{id:?} is not an assignee."))
        })?)),
    };
    let sort = match sort.as_str() {
        "" | "oldest" => QueueSort::Oldest,
        "newest" => QueueSort::Newest,
        "amount" => QueueSort::LargestAmount,
        "message" => QueueSort::LastCustomerMessage,
        other => return Err(AppError::Invalid(format!("{other:?} is not a sort order."))),
    };
    if min_amount.is_some_and(|m| m < 0) || older_than_days.is_some_and(|d| d < 0) {
        return Err(AppError::Invalid(
            "Amounts and ages in the filter cannot be negative.".into(),
        ));
    }
    let filter = QueueFilter {
        statuses,
        customer_id: customer,
        assignee,
        min_amount_units: min_amount,
        older_than_days,
        sort,
    };
    let queue = queue_for_staff(&db, &filter).await?;
    let customers = ledgerport::customers::store::disputing_customers(&db).await?;
    Ok(QueueView {
        rows: queue.rows,
        counts: queue.counts,
        total_disputed: queue.total_disputed,
        customers,
        staff: ledgerport::users::store::staff_members(&db).await?,
        now: ledgerport::db::now_text(),
    })
}
