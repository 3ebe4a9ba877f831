//! The company's receiving bank accounts (`/admin/bank-accounts`): what customers are shown now,
//! and changes to it, which need two managers and wait before customers see them
//! (`ledgerport::transfers::changes`).

pub mod pages;

use ledgerport::transfers::AccountVersion;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::errors::AppError;

/// The bank accounts page's data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BankAccountsPage {
    /// Newest first.
    pub versions: Vec<AccountVersion>,
    /// Who is looking: nobody approves their own proposal.
    pub my_email: String,
    /// How long an approved change waits before customers see it.
    pub wait_hours: i64,
}

/// How many versions the page lists (a company changes banks rarely).
#[cfg(feature = "ssr")]
const VERSIONS_SHOWN: i64 = 100;

#[server(endpoint = "admin/bank-accounts")]
pub async fn bank_accounts() -> Result<BankAccountsPage, AppError> {
    let caller = crate::session::require_manager()?;
    let app = crate::context::app();
    Ok(BankAccountsPage {
        versions: ledgerport::transfers::changes::versions(
            &app.db,
            chrono::Utc::now(),
            VERSIONS_SHOWN,
        )
        .await?,
        my_email: caller.email,
        wait_hours: app.bank_account_change_wait.num_hours(),
    })
}

/// Where a change's notices point (the portal) and whom customers should ask (the company
/// profile's contact for billing questions).
#[cfg(feature = "ssr")]
struct NoticeSettings {
    portal: String,
    billing_contact: String,
}

#[cfg(feature = "ssr")]
impl NoticeSettings {
    async fn load() -> Result<NoticeSettings, AppError> {
        let app = crate::context::app();
        let profile = ledgerport::company::store::company_profile(&app.db).await?;
        Ok(NoticeSettings {
            portal: app.public_base_url,
            billing_contact: profile.billing_contact,
        })
    }

    fn notices(&self) -> ledgerport::transfers::changes::Notices<'_> {
        ledgerport::transfers::changes::Notices {
            portal: &self.portal,
            billing_contact: &self.billing_contact,
        }
    }
}

pub use propose::{ProposeBankAccount, propose_bank_account};

// The proposal form's eight fields: the server macro makes each an argument of the function it
// generates, which an attribute on the function itself does not reach.
#[allow(clippy::too_many_arguments)]
mod propose {
    use leptos::prelude::*;

    #[cfg(feature = "ssr")]
    use super::NoticeSettings;
    use crate::errors::AppError;

    #[server(endpoint = "admin/propose-bank-account")]
    pub async fn propose_bank_account(
        currency: String,
        holder: String,
        bank_name: String,
        iban: String,
        bic: String,
        account_number: String,
        routing_number: String,
        wait_days: String,
    ) -> Result<(), AppError> {
        use ledgerport::transfers::changes::propose;
        use ledgerport::transfers::{ReceivingAccount, TypedAccount};
        let caller = crate::session::require_manager()?;
        let currency: ledgerport::money::Currency =
            currency.trim().to_ascii_uppercase().parse().map_err(|_| {
                AppError::Invalid(format!(
                    "{:?} is not a currency we bill in.",
                    currency.trim()
                ))
            })?;
        let wait_days: u32 = wait_days.trim().parse().map_err(|_| {
            AppError::Invalid("Days a transfer is awaited: a whole number from 1 to 60.".into())
        })?;
        let given = |text: &str| {
            Some(text.trim())
                .filter(|t| !t.is_empty())
                .map(str::to_string)
        };
        let (iban, bic, account_number, routing_number) = (
            given(&iban),
            given(&bic),
            given(&account_number),
            given(&routing_number),
        );
        let account = ReceivingAccount::new(
            currency,
            &TypedAccount {
                holder: &holder,
                bank_name: &bank_name,
                iban: iban.as_deref(),
                bic: bic.as_deref(),
                account_number: account_number.as_deref(),
                routing_number: routing_number.as_deref(),
                wait_days,
            },
        )
        .map_err(AppError::invalid)?;
        let notices = NoticeSettings::load().await?;
        let ip = crate::request::client_ip();
        propose(
            &crate::context::app().db,
            &caller,
            &account,
            &notices.notices(),
            &ip,
        )
        .await?;
        leptos_axum::redirect("/admin/bank-accounts?proposed=1");
        Ok(())
    }
}

#[server(endpoint = "admin/approve-bank-account")]
pub async fn approve_bank_account(id: i64) -> Result<(), AppError> {
    use ledgerport::transfers::changes::approve;
    let caller = crate::session::require_manager()?;
    let notices = NoticeSettings::load().await?;
    let app = crate::context::app();
    let ip = crate::request::client_ip();
    approve(
        &app.db,
        &caller,
        id,
        app.bank_account_change_wait,
        &notices.notices(),
        &ip,
    )
    .await?;
    leptos_axum::redirect("/admin/bank-accounts?approved=1");
    Ok(())
}

#[server(endpoint = "admin/withdraw-bank-account")]
pub async fn withdraw_bank_account(id: i64) -> Result<(), AppError> {
    use ledgerport::transfers::changes::withdraw;
    let caller = crate::session::require_manager()?;
    let notices = NoticeSettings::load().await?;
    let ip = crate::request::client_ip();
    withdraw(
        &crate::context::app().db,
        &caller,
        id,
        &notices.notices(),
        &ip,
    )
    .await?;
    leptos_axum::redirect("/admin/bank-accounts?withdrawn=1");
    Ok(())
}
