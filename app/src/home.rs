//! The start page: a contact's account summary, staff go to their workspace, and everyone else
//! gets the welcome with the service status (which database serves the portal, whether it answers).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;
use serde::{Deserialize, Serialize};

use crate::account::who_am_i;
use crate::errors::AppError;
use crate::portal::overview;
use crate::portal::pages::AccountSummaryView;

/// Contacts see their account; staff go to the admin view; everyone else gets the welcome.
/// Every resource is created here, before any suspense: one created while an async render is
/// already waiting can leave the server render waiting for it forever.
#[component]
pub fn HomePage() -> impl IntoView {
    let me = Resource::new(|| (), |_| who_am_i());
    let status = Resource::new(|| (), |_| service_status());
    let account = Resource::new(|| (), |_| overview());
    view! {
        <Suspense>
            {move || Suspend::new(async move {
                match me.await {
                    Ok(Some(me)) if me.is_staff => view! { <Redirect path="/admin"/> }.into_any(),
                    Ok(Some(_)) => view! { <AccountSummaryView data=account/> }.into_any(),
                    _ => view! { <Welcome status/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Welcome(status: Resource<Result<StatusReport, AppError>>) -> impl IntoView {
    let refresh = move |_| status.refetch();

    view! {
        <Title text="Welcome"/>
        <section class="hero">
            <h1>"Pay invoices, read statements, settle disputes"</h1>
            <p class="lead">
                "Ledgerport is your self-service window onto your account with us: see what you owe, "
                "pay online, and raise a question about any invoice line."
            </p>
            <a class="button" href="/sign-in">"Sign in"</a>
        </section>
        <section class="card narrow" aria-labelledby="status-heading">
            <h2 id="status-heading">"Service status"</h2>
            <Suspense fallback=|| view! { <p class="muted">"Checking…"</p> }>
                {move || Suspend::new(async move {
                    match status.await {
                        Ok(s) => view! {
                            <dl class="facts" data-testid="service-status">
                                <dt>"Database"</dt>
                                <dd>{s.database}</dd>
                                <dt>"Ready"</dt>
                                <dd data-testid="database-ready">
                                    {if s.database_ready { "yes" } else { "no" }}
                                </dd>
                                <dt>"Version"</dt>
                                <dd>{s.version}</dd>
                            </dl>
                        }.into_any(),
                        Err(e) => view! {
                            <p class="error" role="alert">"Status unavailable: " {e.to_string()}</p>
                        }.into_any(),
                    }
                })}
            </Suspense>
            <button class="button secondary" type="button" on:click=refresh>"Check again"</button>
        </section>
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusReport {
    pub database: String,
    pub database_ready: bool,
    pub version: String,
}

#[server(endpoint = "status")]
pub async fn service_status() -> Result<StatusReport, AppError> {
    let ctx = crate::context::app();
    Ok(StatusReport {
        database: ctx.db.engine().name().to_string(),
        database_ready: ctx.db.ping().await,
        version: env!("CARGO_PKG_VERSION").to_string(),
    })
}
