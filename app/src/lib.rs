//! The Leptos UI: pages, components and the server functions they call. Built twice: with `ssr`
//! into the server, and with `hydrate` into the WASM client.

pub mod account;
pub mod admin;
pub mod banking;
pub mod books;
pub mod components;
pub mod disputes;
pub mod errors;
pub mod format;
pub mod home;
pub mod integrations;
pub mod paying;
pub mod portal;

#[cfg(feature = "ssr")]
pub mod context;
#[cfg(feature = "ssr")]
pub mod cookie;
#[cfg(feature = "ssr")]
pub mod request;
#[cfg(feature = "ssr")]
pub mod session;

use leptos::prelude::*;
use leptos_meta::{HashedStylesheet, MetaTags, Title, provide_meta_context};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{SsrMode, path};

use crate::account::profile::ProfilePage;
use crate::account::sign_in::{
    AcceptInvitationPage, ForgotPasswordPage, ResetPasswordPage, SignInPage,
};
use crate::account::who_am_i;
use crate::admin::pages::{AdminCustomerPage, AdminHomePage, OutboxPage, StaffInvoicePage};
use crate::banking::pages::{BankPage, BankStatementPage, CashApplicationPage};
use crate::books::pages::{
    AgingReportPage, AuditPage, CollectionsPage, JournalPage, LedgerHealthPage, PaymentPage,
    PeriodsPage, ReconciliationPage, StaffPaymentsPage, TrialBalancePage,
};
use crate::components::NotFound;
use crate::disputes::pages::{AdminDisputesPage, DisputeDetailPage, DisputeNewPage, DisputesPage};
use crate::home::HomePage;
use crate::integrations::pages::{ApiKeysPage, ImportPage, ImportsPage};
use crate::paying::pages::{CheckoutPage, PayPage};
use crate::portal::pages::{
    InvoiceDetailPage, InvoicesPage, PaymentsPage, ReceiptPage, StatementsPage,
};

/// The HTML document around the app (server side only).
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                // The bundle's file names carry a hash of their content (cargo-leptos `hash-files`),
                // so the server lets browsers keep them for a year.
                <HashedStylesheet options=options.clone() id="leptos"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
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
    // Tests wait for this flag: effects never run during SSR, so "true" proves hydration ran.
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));

    #[cfg(feature = "ssr")]
    set_content_security_policy();
    view! {
        <Title formatter=|page: String| {
            if page.is_empty() { "Ledgerport".to_string() } else { format!("{page} · Ledgerport") }
        }/>
        <Router>
        <div class="app" data-hydrated=move || hydrated.get().to_string()>
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
                        <Route path=path!("/forgot-password") view=ForgotPasswordPage ssr=SsrMode::Async/>
                        <Route path=path!("/reset-password") view=ResetPasswordPage ssr=SsrMode::Async/>
                        <Route path=path!("/accept-invitation") view=AcceptInvitationPage ssr=SsrMode::Async/>
                        <Route path=path!("/profile") view=ProfilePage ssr=SsrMode::Async/>
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
                        <Route path=path!("/admin") view=AdminHomePage ssr=SsrMode::Async/>
                        <Route path=path!("/admin/customers/:id") view=AdminCustomerPage ssr=SsrMode::Async/>
                        <Route path=path!("/admin/invoices/:id") view=StaffInvoicePage ssr=SsrMode::Async/>
                        <Route path=path!("/admin/outbox") view=OutboxPage ssr=SsrMode::Async/>
                        <Route path=path!("/admin/disputes") view=AdminDisputesPage ssr=SsrMode::Async/>
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
            <footer class="footer">"Ledgerport · accounts receivable portal"</footer>
        </div>
        </Router>
    }
}

/// Who is signed in, asked again on every navigation so that signing in or out shows at once.
#[component]
fn TopNav() -> impl IntoView {
    let location = leptos_router::hooks::use_location();
    let me = Resource::new(move || location.pathname.get(), |_| who_am_i());
    view! {
        <nav class="topnav" aria-label="Account">
            <Suspense>
                {move || Suspend::new(async move {
                    match me.await {
                        Ok(Some(me)) => {
                            let staff = me.is_staff;
                            let manager = me.is_manager;
                            view! {
                                {(!staff).then(|| view! {
                                    <a href="/">"Summary"</a>
                                    <a href="/invoices">"Invoices"</a>
                                    <a href="/statements">"Statements"</a>
                                    <a href="/payments">"Payments"</a>
                                    <a href="/disputes">"Disputes"</a>
                                })}
                                {staff.then(|| view! {
                                    <a href="/admin">"Customers"</a>
                                    <a href="/admin/disputes">"Disputes"</a>
                                    <a href="/admin/reports/aging">"Books"</a>
                                    <a href="/admin/imports">"Import"</a>
                                    <a href="/admin/bank">"Bank"</a>
                                })}
                                {manager.then(|| view! {
                                    <a href="/admin/api-keys">"API keys"</a>
                                    <a href="/admin/outbox">"Outbox"</a>
                                })}
                                <a href="/profile" data-testid="signed-in-as">{me.display_name}</a>
                            }.into_any()
                        }
                        _ => view! { <a href="/sign-in">"Sign in"</a> }.into_any(),
                    }
                })}
            </Suspense>
        </nav>
    }
}

/// The page's Content-Security-Policy: scripts only from us or with this response's nonce (the
/// hydration bootstrap), WebAssembly compilation allowed, nothing framed, forms post home.
#[cfg(feature = "ssr")]
fn set_content_security_policy() {
    let nonce = leptos::nonce::use_nonce()
        .map(|n| n.to_string())
        .unwrap_or_default();
    let policy = format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; \
         object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    );
    crate::request::add_response_header(http::header::CONTENT_SECURITY_POLICY, &policy);
}

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(App);
}
