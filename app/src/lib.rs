//! The Leptos UI: pages, components and the server functions they call. Built twice: with `ssr`
//! into the server, which renders every page, and with `hydrate` into the WASM client, which in
//! Leptos's islands mode carries only the `#[island]` components (docs/architecture.md).

pub mod account;
pub mod admin;
pub mod autopay;
pub mod bank_accounts;
pub mod banking;
pub mod billing;
pub mod books;
pub mod components;
pub mod disputes;
pub mod errors;
pub mod format;
pub mod home;
pub mod i18n;
pub mod integrations;
pub mod islands;
pub mod paying;
pub mod plans;
pub mod portal;
pub mod promises;
pub mod verify;
pub mod worklist;

#[cfg(feature = "ssr")]
pub mod context;
#[cfg(feature = "ssr")]
pub mod cookie;
#[cfg(feature = "ssr")]
pub mod request;
#[cfg(feature = "ssr")]
pub mod session;

// The customer-facing texts in every language (`app/locales/app.yml`), looked up with `tr!`.
rust_i18n::i18n!("locales", fallback = "en");

use leptos::prelude::*;
use leptos_meta::{HashedStylesheet, MetaTags, Title, provide_meta_context};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{SsrMode, path};

use crate::account::profile::ProfilePage;
use crate::account::sign_in::{
    AcceptInvitationPage, ForgotPasswordPage, ResetPasswordPage, SignInCodePage, SignInEmailPage,
    SignInLinkPage, SignInPage,
};
use crate::account::two_factor::TwoFactorPage;
use crate::account::who_am_i;
use crate::admin::pages::{AdminCustomerPage, AdminHomePage, OutboxPage, StaffInvoicePage};
use crate::autopay::pages::AutopayPage;
use crate::bank_accounts::pages::BankAccountsPage;
use crate::banking::pages::{BankPage, BankStatementPage, CashApplicationPage};
use crate::billing::pages::{BillingDetailsPage, CompanyPage};
use crate::books::pages::{
    AgingReportPage, AuditPage, CollectionsPage, JournalPage, LedgerHealthPage, PaymentPage,
    PeriodsPage, ReconciliationPage, StaffPaymentsPage, TrialBalancePage,
};
use crate::components::NotFound;
use crate::disputes::pages::{AdminDisputesPage, DisputeDetailPage, DisputeNewPage, DisputesPage};
use crate::home::HomePage;
use crate::i18n::{tr, use_locale};
use crate::integrations::pages::{ApiKeysPage, ImportPage, ImportsPage};
use crate::paying::pages::{CheckoutPage, PayPage};
use crate::plans::pages::PlanPage;
use crate::portal::pages::{
    InvoiceDetailPage, InvoicesPage, PaymentsPage, ReceiptPage, StatementsPage,
};
use crate::promises::pages::PromisePage;
use crate::verify::VerifyPage;
use crate::worklist::pages::WorklistPage;

/// The HTML document around the app (server side only).
pub fn shell(options: LeptosOptions) -> impl IntoView {
    let locale = crate::i18n::request_locale();
    let lang = locale.code();
    // What forms.js shows when a post fails without a reason of its own.
    let failed = tr!(locale, "error.internal");
    // Where passkeys work, the page names that origin and loads the browser's half of them.
    #[cfg(feature = "ssr")]
    let passkey_origin = use_context::<crate::context::AppContext>()
        .and_then(|ctx| ctx.passkeys)
        .map(|party| party.origin().to_string());
    #[cfg(not(feature = "ssr"))]
    let passkey_origin: Option<String> = None;
    view! {
        <!DOCTYPE html>
        <html lang=lang data-failed=failed>
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                // The bundle's file names carry a hash of their content (cargo-leptos `hash-files`),
                // so the server lets browsers keep them for a year.
                <HashedStylesheet options=options.clone() id="leptos"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options islands=true/>
                // Keeps what was typed when a form is refused (forms work without it).
                <script src="/forms.js" defer></script>
                {passkey_origin.map(|origin| view! {
                    <meta name="passkey-origin" content=origin/>
                    <script src="/passkeys.js" defer></script>
                })}
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    let locale = crate::i18n::request_locale();
    provide_context(locale);

    #[cfg(feature = "ssr")]
    set_page_headers();
    view! {
        <Title formatter=|page: String| {
            if page.is_empty() { "Ledgerport".to_string() } else { format!("{page} · Ledgerport") }
        }/>
        <Router>
        // The client's entry sets this flag once the page's islands are alive (`islands`).
        <div class="app" data-hydrated="false">
            <header class="topbar">
                <a class="brand" href="/">
                    <span class="brand-mark" aria-hidden="true">"L"</span>
                    "Ledgerport"
                </a>
                <TopNav/>
            </header>
                <main id="main" class="page">
                    <Routes fallback=NotFound>
                        // Async SSR: pages arrive complete, so they read the same with JavaScript off.
                        <Route path=path!("/") view=HomePage ssr=SsrMode::Async/>
                        <Route path=path!("/sign-in") view=SignInPage ssr=SsrMode::Async/>
                        <Route path=path!("/sign-in/code") view=SignInCodePage ssr=SsrMode::Async/>
                        <Route path=path!("/sign-in/email") view=SignInEmailPage ssr=SsrMode::Async/>
                        <Route path=path!("/sign-in/link") view=SignInLinkPage ssr=SsrMode::Async/>
                        <Route path=path!("/forgot-password") view=ForgotPasswordPage ssr=SsrMode::Async/>
                        <Route path=path!("/reset-password") view=ResetPasswordPage ssr=SsrMode::Async/>
                        <Route path=path!("/accept-invitation") view=AcceptInvitationPage ssr=SsrMode::Async/>
                        <Route path=path!("/profile") view=ProfilePage ssr=SsrMode::Async/>
                        <Route path=path!("/profile/two-factor") view=TwoFactorPage ssr=SsrMode::Async/>
                        <Route path=path!("/account/billing") view=BillingDetailsPage ssr=SsrMode::Async/>
                        <Route path=path!("/admin/company") view=CompanyPage ssr=SsrMode::Async/>
                        <Route path=path!("/admin/bank-accounts") view=BankAccountsPage ssr=SsrMode::Async/>
                        <Route path=path!("/verify") view=VerifyPage ssr=SsrMode::Async/>
                        <Route path=path!("/verify/:code") view=VerifyPage ssr=SsrMode::Async/>
                        <Route path=path!("/invoices") view=InvoicesPage ssr=SsrMode::Async/>
                        <Route path=path!("/invoices/:id") view=InvoiceDetailPage ssr=SsrMode::Async/>
                        <Route path=path!("/invoices/:id/dispute") view=DisputeNewPage ssr=SsrMode::Async/>
                        <Route path=path!("/disputes") view=DisputesPage ssr=SsrMode::Async/>
                        <Route path=path!("/disputes/:id") view=DisputeDetailPage ssr=SsrMode::Async/>
                        <Route path=path!("/statements") view=StatementsPage ssr=SsrMode::Async/>
                        <Route path=path!("/payments") view=PaymentsPage ssr=SsrMode::Async/>
                        <Route path=path!("/payments/:id") view=ReceiptPage ssr=SsrMode::Async/>
                        <Route path=path!("/payments/checkout/:id") view=CheckoutPage ssr=SsrMode::Async/>
                        <Route path=path!("/pay") view=PayPage ssr=SsrMode::Async/>
                        <Route path=path!("/promise") view=PromisePage ssr=SsrMode::Async/>
                        <Route path=path!("/plan") view=PlanPage ssr=SsrMode::Async/>
                        <Route path=path!("/autopay") view=AutopayPage ssr=SsrMode::Async/>
                        <Route path=path!("/admin") view=AdminHomePage ssr=SsrMode::Async/>
                        <Route path=path!("/admin/customers/:id") view=AdminCustomerPage ssr=SsrMode::Async/>
                        <Route path=path!("/admin/invoices/:id") view=StaffInvoicePage ssr=SsrMode::Async/>
                        <Route path=path!("/admin/outbox") view=OutboxPage ssr=SsrMode::Async/>
                        <Route path=path!("/admin/disputes") view=AdminDisputesPage ssr=SsrMode::Async/>
                        <Route path=path!("/admin/worklist") view=WorklistPage ssr=SsrMode::Async/>
                        <Route path=path!("/admin/reports/aging") view=AgingReportPage ssr=SsrMode::Async/>
                        <Route path=path!("/admin/reports/collections") view=CollectionsPage ssr=SsrMode::Async/>
                        <Route path=path!("/admin/payments") view=StaffPaymentsPage ssr=SsrMode::Async/>
                        <Route path=path!("/admin/payments/:id") view=PaymentPage ssr=SsrMode::Async/>
                        <Route path=path!("/admin/reconciliation") view=ReconciliationPage ssr=SsrMode::Async/>
                        <Route path=path!("/admin/imports") view=ImportsPage ssr=SsrMode::Async/>
                        <Route path=path!("/admin/bank") view=BankPage ssr=SsrMode::Async/>
                        <Route path=path!("/admin/bank/:id") view=BankStatementPage ssr=SsrMode::Async/>
                        <Route path=path!("/admin/cash-application") view=CashApplicationPage ssr=SsrMode::Async/>
                        <Route path=path!("/admin/imports/:id") view=ImportPage ssr=SsrMode::Async/>
                        <Route path=path!("/admin/api-keys") view=ApiKeysPage ssr=SsrMode::Async/>
                        <Route path=path!("/admin/journal") view=JournalPage ssr=SsrMode::Async/>
                        <Route path=path!("/admin/trial-balance") view=TrialBalancePage ssr=SsrMode::Async/>
                        <Route path=path!("/admin/ledger-health") view=LedgerHealthPage ssr=SsrMode::Async/>
                        <Route path=path!("/admin/audit") view=AuditPage ssr=SsrMode::Async/>
                        <Route path=path!("/admin/periods") view=PeriodsPage ssr=SsrMode::Async/>
                        <Route path=path!("/admin/disputes/:id") view=DisputeDetailPage ssr=SsrMode::Async/>
                    </Routes>
                </main>
            <footer class="footer">{tr!(locale, "app.footer")}</footer>
        </div>
        </Router>
    }
}

/// Who is signed in (each page is a full load, so signing in or out shows at once).
#[component]
fn TopNav() -> impl IntoView {
    let locale = use_locale();
    let me = Resource::new(|| (), |_| who_am_i());
    view! {
        <nav class="topnav" aria-label="Account">
            <Suspense>
                {move || Suspend::new(async move {
                    match me.await {
                        Ok(Some(me)) => {
                            let staff = me.is_staff;
                            let manager = me.is_manager && staff;
                            // A manager without a second factor yet: only the way to set one up.
                            let setting_up = me.needs_second_factor;
                            view! {
                                {setting_up.then(|| view! {
                                    <a href="/profile/two-factor">"Set up two-factor sign-in"</a>
                                })}
                                {(!staff && !setting_up).then(|| view! {
                                    <a href="/">{tr!(locale, "nav.summary")}</a>
                                    <a href="/invoices">{tr!(locale, "nav.invoices")}</a>
                                    <a href="/statements">{tr!(locale, "nav.statements")}</a>
                                    <a href="/payments">{tr!(locale, "nav.payments")}</a>
                                    <a href="/disputes">{tr!(locale, "nav.disputes")}</a>
                                    <a href="/autopay">{tr!(locale, "nav.autopay")}</a>
                                })}
                                {staff.then(|| view! {
                                    <a href="/admin">"Customers"</a>
                                    <a href="/admin/disputes">"Disputes"</a>
                                    <a href="/admin/worklist">"Worklist"</a>
                                    <a href="/admin/reports/aging">"Books"</a>
                                    <a href="/admin/imports">"Import"</a>
                                    <a href="/admin/bank">"Bank"</a>
                                })}
                                {manager.then(|| view! {
                                    <a href="/admin/company">"Company"</a>
                                    <a href="/admin/api-keys">"API keys"</a>
                                    <a href="/admin/outbox">"Outbox"</a>
                                })}
                                <a href="/profile" data-testid="signed-in-as">{me.display_name}</a>
                            }.into_any()
                        }
                        _ => view! { <a href="/sign-in">{tr!(locale, "nav.sign_in")}</a> }.into_any(),
                    }
                })}
            </Suspense>
        </nav>
    }
}

/// The page's Content-Security-Policy: scripts only from us or with this response's nonce (the
/// hydration bootstrap), WebAssembly compilation allowed, nothing framed, forms post home.
#[cfg(feature = "ssr")]
fn set_page_headers() {
    let nonce = leptos::nonce::use_nonce()
        .map(|n| n.to_string())
        .unwrap_or_default();
    let policy = format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; \
         object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    );
    crate::request::add_response_header(http::header::CONTENT_SECURITY_POLICY, &policy);
    // A visitor's page is in the language their browser asks for.
    crate::request::add_response_header(http::header::VARY, "Accept-Language");
}
