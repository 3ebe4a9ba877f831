//! The AR staff side: customers and their contacts, invitations, roles, the outbox.

use ledgerport::auth::ContactSummary;
use ledgerport::customers::CustomerRow;
use ledgerport::outbox::OutboxMessage;
use leptos::prelude::*;

use crate::errors::AppError;

#[server(endpoint = "admin/customers")]
pub async fn customers() -> Result<Vec<CustomerRow>, AppError> {
    crate::session::require_staff()?;
    Ok(ledgerport::customers::store::list_customers(&crate::context::app().db).await?)
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

#[server(endpoint = "admin/outbox")]
pub async fn outbox() -> Result<Vec<OutboxMessage>, AppError> {
    crate::session::require_manager()?;
    let messages = ledgerport::outbox::store::recent(&crate::context::app().db, 200).await?;
    Ok(messages
        .into_iter()
        .map(|m| m.with_links_hidden())
        .collect())
}
