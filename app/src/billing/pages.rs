//! `/account/billing` (the customer's billing details), `/admin/company` (the company profile)
//! and the billing details on the staff's account page.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::billing::{
    COMPANY_LOGO, COMPANY_LOGO_IMAGE, COMPANY_LOGO_REMOVE, SaveBillingDetails, SaveCompanyProfile,
    account_billing_details, company_profile_form, customer_billing_details,
};
use crate::components::{FormError, Loaded, form_error, form_succeeded};
use crate::i18n::{tr, use_locale};

#[component]
pub fn BillingDetailsPage() -> impl IntoView {
    let save = ServerAction::<SaveBillingDetails>::new();
    let error = form_error(save);
    let saved = form_succeeded("saved");
    let data = Resource::new(|| (), |_| account_billing_details());
    let locale = use_locale();
    view! {
        <Title text=tr!(locale, "billing.title")/>
        <Loaded data let:page>
            <section class="card narrow" aria-labelledby="billing-heading">
                <h1 id="billing-heading">{tr!(locale, "billing.title")}</h1>
                <p class="hint">{tr!(locale, "billing.hint")}</p>
                {if page.can_edit {
                    view! {
                        <ActionForm action=save attr:class="form">
                            <label for="billing-address">{tr!(locale, "billing.address")}</label>
                            <textarea id="billing-address" name="address" rows="5"
                                aria-describedby="billing-address-hint">{page.details.address_text()}</textarea>
                            <p id="billing-address-hint" class="hint">{tr!(locale, "billing.address_hint")}</p>
                            <label for="billing-country">{tr!(locale, "billing.country_field")}</label>
                            <input id="billing-country" name="country" maxlength="2" autocomplete="country"
                                value=page.details.country.clone()/>
                            <label for="billing-tax-id">{tr!(locale, "billing.tax_id_field")}</label>
                            <input id="billing-tax-id" name="tax_id" maxlength="40" value=page.details.tax_id.clone()/>
                            <label for="billing-po">{tr!(locale, "billing.po")}</label>
                            <input id="billing-po" name="standing_po" maxlength="64" aria-describedby="billing-po-hint"
                                value=page.details.standing_po.clone()/>
                            <p id="billing-po-hint" class="hint">{tr!(locale, "billing.po_hint")}</p>
                            <FormError message=Signal::derive(error)/>
                            {move || saved().then(|| view! {
                                <p class="notice" role="status">{tr!(locale, "billing.saved")}</p>
                            })}
                            <button class="button" type="submit">{tr!(locale, "billing.save")}</button>
                        </ActionForm>
                    }.into_any()
                } else {
                    view! {
                        <BillingFacts details=page.details.clone()/>
                        <p class="hint">{tr!(locale, "billing.payers_only")}</p>
                    }.into_any()
                }}
            </section>
        </Loaded>
    }
}

#[component]
fn BillingFacts(details: ledgerport::customers::billing::BillingDetails) -> impl IntoView {
    let none = || "—".to_string();
    let locale = use_locale();
    view! {
        <dl class="facts" data-testid="billing-details">
            <dt>{tr!(locale, "billing.address_short")}</dt>
            <dd>{if details.address.is_empty() { none() } else { details.address.join(", ") }}</dd>
            <dt>{tr!(locale, "billing.country")}</dt>
            <dd>{if details.country.is_empty() { none() } else { details.country.clone() }}</dd>
            <dt>{tr!(locale, "billing.tax_id")}</dt>
            <dd data-testid="tax-id">{if details.tax_id.is_empty() { none() } else { details.tax_id.clone() }}</dd>
            <dt>{tr!(locale, "billing.po_on_every")}</dt>
            <dd data-testid="standing-po">{if details.standing_po.is_empty() { none() } else { details.standing_po.clone() }}</dd>
        </dl>
    }
}

/// The account's billing details on the staff's page (the customer keeps them).
#[component]
pub fn CustomerBillingDetails(
    customer_id: impl Fn() -> i64 + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let data = Resource::new(customer_id, customer_billing_details);
    view! {
        <section class="card" aria-labelledby="staff-billing-heading">
            <h2 id="staff-billing-heading">"Billing details"</h2>
            <p class="hint">"Kept by the customer's payers; every change is in the audit log."</p>
            <Loaded data let:details>
                <BillingFacts details/>
            </Loaded>
        </section>
    }
}

#[component]
pub fn CompanyPage() -> impl IntoView {
    let save = ServerAction::<SaveCompanyProfile>::new();
    let error = form_error(save);
    let saved = form_succeeded("saved");
    let data = Resource::new(|| (), |_| company_profile_form());
    view! {
        <Title text="Company profile"/>
        <Loaded data let:form>
            {company_form(form.profile, save, error, saved)}
            {logo_section(form.logo)}
        </Loaded>
    }
}

fn company_form(
    profile: ledgerport::company::CompanyProfile,
    save: ServerAction<SaveCompanyProfile>,
    error: impl Fn() -> Option<String> + Copy + Send + Sync + 'static,
    saved: impl Fn() -> bool + Copy + Send + Sync + 'static,
) -> impl IntoView {
    view! {
            <section class="card narrow" aria-labelledby="company-heading">
                <h1 id="company-heading">"Company profile"</h1>
                <p class="hint">"Every invoice, statement and transfer instruction is issued in this name. The accounts customers pay into are on "<a href="/admin/bank-accounts">"Bank accounts"</a>"."</p>
                <ActionForm action=save attr:class="form">
                    <label for="legal-name">"Legal name"</label>
                    <input id="legal-name" name="legal_name" maxlength="120" required value=profile.legal_name.clone()/>
                    <label for="company-address">"Address"</label>
                    <textarea id="company-address" name="address" rows="5">{profile.address.join("\n")}</textarea>
                    <label for="tax-numbers">"Tax registrations, one a line (VAT DE123456789, EIN 12-3456789)"</label>
                    <textarea id="tax-numbers" name="tax_numbers" rows="3">{profile.tax_numbers.join("\n")}</textarea>
                    <label for="billing-contact">"Questions about a bill go to"</label>
                    <input id="billing-contact" name="billing_contact" maxlength="80" value=profile.billing_contact.clone()/>
                    <FormError message=Signal::derive(error)/>
                    {move || saved().then(|| view! {
                        <p class="notice" role="status">"Saved. New documents show it."</p>
                    })}
                    <button class="button" type="submit">"Save company profile"</button>
                </ActionForm>
            </section>
    }
}

/// The logo: what documents print now, a new one to upload, or none. Plain forms: a file
/// upload needs no JavaScript, and the server answers with this page again.
fn logo_section(logo: Option<(u32, u32)>) -> impl IntoView {
    let query = use_query_map();
    let notice = move || {
        query.with(|q| match q.get("logo").as_deref() {
            Some("saved") => Some("Logo saved. New documents print it."),
            Some("removed") => Some("Logo removed. New documents print none."),
            _ => None,
        })
    };
    let refused = move || query.with(|q| q.get("error"));
    view! {
        <section class="card narrow" aria-labelledby="logo-heading" data-testid="company-logo">
            <h2 id="logo-heading">"Logo"</h2>
            <p class="hint">"Printed at the top right of every invoice, statement, receipt and transfer instruction, at most 40 points high. A PNG file of at most 512 KB and 2000 × 2000 pixels; a transparent background prints best."</p>
            {move || notice().map(|text| view! { <p class="notice" role="status">{text}</p> })}
            {move || refused().map(|text| view! { <p class="error" role="alert">{text}</p> })}
            {match logo {
                Some((width, height)) => view! {
                    <img class="logo-preview" src=COMPANY_LOGO_IMAGE alt="The logo documents print now"/>
                    <p class="hint">{format!("{width} × {height} pixels.")}</p>
                    <form method="post" action=COMPANY_LOGO_REMOVE>
                        <button class="button secondary" type="submit">"Remove the logo"</button>
                    </form>
                }.into_any(),
                None => view! { <p class="empty">"No logo yet: documents print the company's name only."</p> }.into_any(),
            }}
            <form class="form" method="post" action=COMPANY_LOGO enctype="multipart/form-data">
                <label for="logo-file">"PNG file"</label>
                <input id="logo-file" type="file" name="logo" accept="image/png" required/>
                <button class="button" type="submit">"Upload logo"</button>
            </form>
        </section>
    }
}
