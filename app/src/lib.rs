//! The Leptos UI: pages, components and the server functions they call. Built twice: with `ssr`
//! into the server, and with `hydrate` into the WASM client.

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
use leptos_router::{Lazy, LazyRoute, SsrMode, lazy_route, path};

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

/// A staff page that loads as its own WASM chunk (`cargo leptos --split`): its code, and what
/// only staff pages use, leave the module every visitor downloads. So do the customer's promise,
/// payment plan and autopay pages, which most visits never open. The other customer and public pages stay in the main
/// module: split per page, they shared code in hundreds of small chunks, and on a slow
/// network the round trips cost more than the bytes saved (BENCHMARKS.md). A staff page loads its
/// data itself (in `view`), so nothing of it stays behind in `data`.
/// Whether a lazy page's chunk is still on its way. The app's `data-hydrated` flag waits for it,
/// so "hydrated" means the page in view answers to clicks, on a staff page too.
#[derive(Clone, Copy)]
struct LazyPageLoading(RwSignal<bool>);

impl LazyPageLoading {
    fn started() {
        if let Some(LazyPageLoading(loading)) = use_context() {
            loading.set(true);
        }
    }

    fn finished_once_mounted() {
        if let Some(LazyPageLoading(loading)) = use_context() {
            Effect::new(move |_| loading.set(false));
        }
    }
}

macro_rules! lazy_page {
    ($route:ident, $page:ident) => {
        struct $route;

        #[lazy_route]
        impl LazyRoute for $route {
            fn data() -> Self {
                LazyPageLoading::started();
                $route
            }

            fn view(_route: Self) -> AnyView {
                LazyPageLoading::finished_once_mounted();
                $page().into_any()
            }
        }
    };
}

lazy_page!(AdminHomeRoute, AdminHomePage);
lazy_page!(AdminCustomerRoute, AdminCustomerPage);
lazy_page!(StaffInvoiceRoute, StaffInvoicePage);
lazy_page!(OutboxRoute, OutboxPage);
lazy_page!(AdminDisputesRoute, AdminDisputesPage);
lazy_page!(AgingReportRoute, AgingReportPage);
lazy_page!(CollectionsRoute, CollectionsPage);
lazy_page!(StaffPaymentsRoute, StaffPaymentsPage);
lazy_page!(PaymentRoute, PaymentPage);
lazy_page!(ReconciliationRoute, ReconciliationPage);
lazy_page!(ImportsRoute, ImportsPage);
lazy_page!(BankRoute, BankPage);
lazy_page!(BankStatementRoute, BankStatementPage);
lazy_page!(CashApplicationRoute, CashApplicationPage);
lazy_page!(ImportRoute, ImportPage);
lazy_page!(ApiKeysRoute, ApiKeysPage);
lazy_page!(JournalRoute, JournalPage);
lazy_page!(TrialBalanceRoute, TrialBalancePage);
lazy_page!(LedgerHealthRoute, LedgerHealthPage);
lazy_page!(AuditRoute, AuditPage);
lazy_page!(PeriodsRoute, PeriodsPage);
lazy_page!(PromiseRoute, PromisePage);
lazy_page!(PlanRoute, PlanPage);
lazy_page!(AutopayRoute, AutopayPage);
lazy_page!(WorklistRoute, WorklistPage);
lazy_page!(TwoFactorRoute, TwoFactorPage);
lazy_page!(BillingDetailsRoute, BillingDetailsPage);
lazy_page!(CompanyRoute, CompanyPage);
lazy_page!(BankAccountsRoute, BankAccountsPage);
lazy_page!(VerifyRoute, VerifyPage);

/// The HTML document around the app (server side only).
pub fn shell(options: LeptosOptions) -> impl IntoView {
    let lang = crate::i18n::request_locale().code();
    // Where passkeys work, the page names that origin and loads the browser's half of them.
    #[cfg(feature = "ssr")]
    let passkey_origin = use_context::<crate::context::AppContext>()
        .and_then(|ctx| ctx.passkeys)
        .map(|party| party.origin().to_string());
    #[cfg(not(feature = "ssr"))]
    let passkey_origin: Option<String> = None;
    view! {
        <!DOCTYPE html>
        <html lang=lang>
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
    // Tests wait for this flag: effects never run during SSR, so "true" proves hydration ran.
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    let lazy_page_loading = RwSignal::new(false);
    provide_context(LazyPageLoading(lazy_page_loading));

    #[cfg(feature = "ssr")]
    set_page_headers();
    view! {
        <Title formatter=|page: String| {
            if page.is_empty() { "Ledgerport".to_string() } else { format!("{page} · Ledgerport") }
        }/>
        <Router>
        <div class="app" data-hydrated=move || (hydrated.get() && !lazy_page_loading.get()).to_string()>
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
                        <Route path=path!("/profile/two-factor") view={Lazy::<TwoFactorRoute>::new()} ssr=SsrMode::Async/>
                        <Route path=path!("/account/billing") view={Lazy::<BillingDetailsRoute>::new()} ssr=SsrMode::Async/>
                        <Route path=path!("/admin/company") view={Lazy::<CompanyRoute>::new()} ssr=SsrMode::Async/>
                        <Route path=path!("/admin/bank-accounts") view={Lazy::<BankAccountsRoute>::new()} ssr=SsrMode::Async/>
                        <Route path=path!("/verify") view={Lazy::<VerifyRoute>::new()} ssr=SsrMode::Async/>
                        <Route path=path!("/verify/:code") view={Lazy::<VerifyRoute>::new()} ssr=SsrMode::Async/>
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
                        <Route path=path!("/promise") view={Lazy::<PromiseRoute>::new()} ssr=SsrMode::Async/>
                        <Route path=path!("/plan") view={Lazy::<PlanRoute>::new()} ssr=SsrMode::Async/>
                        <Route path=path!("/autopay") view={Lazy::<AutopayRoute>::new()} ssr=SsrMode::Async/>
                        <Route path=path!("/admin") view={Lazy::<AdminHomeRoute>::new()} ssr=SsrMode::Async/>
                        <Route path=path!("/admin/customers/:id") view={Lazy::<AdminCustomerRoute>::new()} ssr=SsrMode::Async/>
                        <Route path=path!("/admin/invoices/:id") view={Lazy::<StaffInvoiceRoute>::new()} ssr=SsrMode::Async/>
                        <Route path=path!("/admin/outbox") view={Lazy::<OutboxRoute>::new()} ssr=SsrMode::Async/>
                        <Route path=path!("/admin/disputes") view={Lazy::<AdminDisputesRoute>::new()} ssr=SsrMode::Async/>
                        <Route path=path!("/admin/worklist") view={Lazy::<WorklistRoute>::new()} ssr=SsrMode::Async/>
                        <Route path=path!("/admin/reports/aging") view={Lazy::<AgingReportRoute>::new()} ssr=SsrMode::Async/>
                        <Route path=path!("/admin/reports/collections") view={Lazy::<CollectionsRoute>::new()} ssr=SsrMode::Async/>
                        <Route path=path!("/admin/payments") view={Lazy::<StaffPaymentsRoute>::new()} ssr=SsrMode::Async/>
                        <Route path=path!("/admin/payments/:id") view={Lazy::<PaymentRoute>::new()} ssr=SsrMode::Async/>
                        <Route path=path!("/admin/reconciliation") view={Lazy::<ReconciliationRoute>::new()} ssr=SsrMode::Async/>
                        <Route path=path!("/admin/imports") view={Lazy::<ImportsRoute>::new()} ssr=SsrMode::Async/>
                        <Route path=path!("/admin/bank") view={Lazy::<BankRoute>::new()} ssr=SsrMode::Async/>
                        <Route path=path!("/admin/bank/:id") view={Lazy::<BankStatementRoute>::new()} ssr=SsrMode::Async/>
                        <Route path=path!("/admin/cash-application") view={Lazy::<CashApplicationRoute>::new()} ssr=SsrMode::Async/>
                        <Route path=path!("/admin/imports/:id") view={Lazy::<ImportRoute>::new()} ssr=SsrMode::Async/>
                        <Route path=path!("/admin/api-keys") view={Lazy::<ApiKeysRoute>::new()} ssr=SsrMode::Async/>
                        <Route path=path!("/admin/journal") view={Lazy::<JournalRoute>::new()} ssr=SsrMode::Async/>
                        <Route path=path!("/admin/trial-balance") view={Lazy::<TrialBalanceRoute>::new()} ssr=SsrMode::Async/>
                        <Route path=path!("/admin/ledger-health") view={Lazy::<LedgerHealthRoute>::new()} ssr=SsrMode::Async/>
                        <Route path=path!("/admin/audit") view={Lazy::<AuditRoute>::new()} ssr=SsrMode::Async/>
                        <Route path=path!("/admin/periods") view={Lazy::<PeriodsRoute>::new()} ssr=SsrMode::Async/>
                        <Route path=path!("/admin/disputes/:id") view=DisputeDetailPage ssr=SsrMode::Async/>
                    </Routes>
                </main>
            <footer class="footer">{tr!(locale, "app.footer")}</footer>
        </div>
        </Router>
    }
}

/// Who is signed in, asked again on every navigation so that signing in or out shows at once.
#[component]
fn TopNav() -> impl IntoView {
    let locale = use_locale();
    let location = leptos_router::hooks::use_location();
    let me = Resource::new(move || location.pathname.get(), |_| who_am_i());
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

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // Lazy routes load their chunk before hydrating the page that needs it.
    leptos::mount::hydrate_lazy(App);
}
