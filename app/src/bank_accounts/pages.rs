//! `/admin/bank-accounts` (managers): the accounts customers are shown now, every change with
//! where it stands, and the form to propose one.

use ledgerport::transfers::{AccountVersion, ChangeStatus};
use leptos::prelude::*;
use leptos_meta::Title;

use crate::bank_accounts::{
    ApproveBankAccount, ProposeBankAccount, WithdrawBankAccount, bank_accounts,
};
use crate::components::{FormError, Loaded, form_error, form_succeeded};
use crate::format::timestamp;

#[component]
pub fn BankAccountsPage() -> impl IntoView {
    let propose = ServerAction::<ProposeBankAccount>::new();
    let approve = ServerAction::<ApproveBankAccount>::new();
    let withdraw = ServerAction::<WithdrawBankAccount>::new();
    let propose_error = form_error(propose);
    let approve_error = form_error(approve);
    let withdraw_error = form_error(withdraw);
    let proposed = form_succeeded("proposed");
    let approved = form_succeeded("approved");
    let withdrawn = form_succeeded("withdrawn");
    let data = Resource::new(|| (), |_| bank_accounts());
    view! {
        <Title text="Bank accounts"/>
        <Loaded data let:page>
            <section class="card" aria-labelledby="accounts-heading">
                <h1 id="accounts-heading">"Bank accounts"</h1>
                <p class="hint">
                    "Customers paying by bank transfer see these accounts inside the portal, and nowhere else. A change needs two managers: one proposes it, another approves it. Every payer contact billed in the currency is then told, and customers see the new account "
                    {page.wait_hours} " hours after the approval. Until then any manager can withdraw it."
                </p>
                <FormError message=Signal::derive(approve_error)/>
                <FormError message=Signal::derive(withdraw_error)/>
                {move || approved().then(|| view! {
                    <p class="notice" role="status">"Approved. Payers are told now; customers see the account when its wait is over."</p>
                })}
                {move || withdrawn().then(|| view! {
                    <p class="notice" role="status">"Withdrawn. Customers keep seeing the account in effect."</p>
                })}
                <table class="table" data-testid="bank-account-versions">
                    <thead><tr>
                        <th scope="col">"Currency"</th>
                        <th scope="col">"Account"</th>
                        <th scope="col">"Where it stands"</th>
                        <th scope="col">"Who"</th>
                        <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                    </tr></thead>
                    <tbody>
                        {page.versions.iter().map(|version| {
                            let mine = version.proposed_by.as_deref() == Some(page.my_email.as_str());
                            view! { <VersionRow version=version.clone() mine approve withdraw/> }
                        }).collect_view()}
                    </tbody>
                </table>
            </section>
            <section class="card narrow" aria-labelledby="propose-heading">
                <h2 id="propose-heading">"Propose a new account"</h2>
                <p class="hint">"An IBAN (with the BIC if the bank needs it), or a US account and routing number."</p>
                <ActionForm action=propose attr:class="form">
                    <label for="account-currency">"Currency (EUR, USD…)"</label>
                    <input id="account-currency" name="currency" maxlength="3" required/>
                    <label for="account-holder">"Account holder"</label>
                    <input id="account-holder" name="holder" maxlength="140" required/>
                    <label for="account-bank">"Bank"</label>
                    <input id="account-bank" name="bank_name" maxlength="140" required/>
                    <label for="account-iban">"IBAN"</label>
                    <input id="account-iban" name="iban" maxlength="42"/>
                    <label for="account-bic">"BIC"</label>
                    <input id="account-bic" name="bic" maxlength="11"/>
                    <label for="account-number">"Account number (US)"</label>
                    <input id="account-number" name="account_number" maxlength="17" inputmode="numeric"/>
                    <label for="account-routing">"Routing number (ABA)"</label>
                    <input id="account-routing" name="routing_number" maxlength="9" inputmode="numeric"/>
                    <label for="account-wait">"Days an announced transfer is awaited"</label>
                    <input id="account-wait" name="wait_days" type="number" min="1" max="60" value="5" required/>
                    <FormError message=Signal::derive(propose_error)/>
                    {move || proposed().then(|| view! {
                        <p class="notice" role="status">"Proposed. Every manager was told; another manager must approve it."</p>
                    })}
                    <button class="button" type="submit">"Propose this account"</button>
                </ActionForm>
            </section>
        </Loaded>
    }
}

#[component]
fn VersionRow(
    version: AccountVersion,
    /// The viewer proposed it: they may withdraw it but not approve it.
    mine: bool,
    approve: ServerAction<ApproveBankAccount>,
    withdraw: ServerAction<WithdrawBankAccount>,
) -> impl IntoView {
    let account = &version.account;
    let when = |at: &Option<String>| at.as_deref().map(timestamp).unwrap_or_default();
    let stands = match version.status {
        ChangeStatus::AwaitingApproval => "Waiting for a second manager".to_string(),
        ChangeStatus::Scheduled => format!(
            "Approved; customers see it from {}",
            when(&version.effective_at)
        ),
        ChangeStatus::InEffect => "In effect: customers see this one".to_string(),
        ChangeStatus::Replaced => {
            format!("Replaced (in effect from {})", when(&version.effective_at))
        }
        ChangeStatus::Withdrawn => format!("Withdrawn {}", when(&version.withdrawn_at)),
    };
    let mut who = vec![format!(
        "proposed by {} {}",
        version
            .proposed_by
            .clone()
            .unwrap_or_else(|| "the operator".into()),
        timestamp(&version.proposed_at)
    )];
    who.extend(
        version
            .approved_by
            .as_ref()
            .map(|by| format!("approved by {by}")),
    );
    who.extend(
        version
            .withdrawn_by
            .as_ref()
            .map(|by| format!("withdrawn by {by}")),
    );
    let can_approve = version.status == ChangeStatus::AwaitingApproval && !mine;
    let can_withdraw = matches!(
        version.status,
        ChangeStatus::AwaitingApproval | ChangeStatus::Scheduled
    ) && version.proposed_by.is_some();
    let id = version.id;
    view! {
        <tr data-status=format!("{:?}", version.status)>
            <td>{account.currency.code()}</td>
            <td>
                <strong>{account.holder.clone()}</strong>", "{account.bank_name.clone()}<br/>
                {account.details.one_line()}<br/>
                <span class="muted">{format!("transfers awaited {} days", account.wait_days)}</span>
            </td>
            <td>{stands}</td>
            <td class="muted">{who.join("; ")}</td>
            <td>
                {can_approve.then(|| view! {
                    <ActionForm action=approve attr:class="inline">
                        <input type="hidden" name="id" value=id/>
                        <button class="button" type="submit">"Approve"</button>
                    </ActionForm>
                })}
                {can_withdraw.then(|| view! {
                    <ActionForm action=withdraw attr:class="inline">
                        <input type="hidden" name="id" value=id/>
                        <button class="button danger" type="submit">"Withdraw"</button>
                    </ActionForm>
                })}
            </td>
        </tr>
    }
}
