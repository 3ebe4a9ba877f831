//! The start page: a contact's account summary, staff go to their workspace, and everyone else
//! gets the welcome with the service status (which database serves the portal, whether it answers).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;
use serde::{Deserialize, Serialize};

use crate::components::Loaded;
use crate::errors::AppError;
use crate::portal::AccountOverview;
use crate::portal::pages::summary_view;

/// What the start page shows the caller: one server call decides it, so a contact's summary
/// costs one round trip and nobody signed in pings the database for the status box.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum StartPage {
    Staff,
    /// An AR manager who must set up (or sign in with) a second factor first.
    SecondFactorNeeded,
    Contact(Box<AccountOverview>),
    Visitor(StatusReport),
}

/// Contacts see their account; staff go to the admin view; everyone else gets the welcome.
#[component]
pub fn HomePage() -> impl IntoView {
    let data = Resource::new(|| (), |_| home());
    view! {
        <Loaded data loading="Loading…" let:home>
            {match home {
                StartPage::Staff => view! { <Redirect path="/admin"/> }.into_any(),
                StartPage::SecondFactorNeeded => view! { <Redirect path="/profile/two-factor"/> }.into_any(),
                StartPage::Contact(overview) => summary_view(*overview).into_any(),
                StartPage::Visitor(status) => welcome(status, move || data.refetch()).into_any(),
            }}
        </Loaded>
    }
}

/// The signed-out start page, with the service status and a way to check it again.
fn welcome(status: StatusReport, refresh: impl Fn() + Send + Sync + 'static) -> impl IntoView {
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
            <dl class="facts" data-testid="service-status">
                <dt>"Database"</dt>
                <dd>{status.database}</dd>
                <dt>"Ready"</dt>
                <dd data-testid="database-ready">
                    {if status.database_ready { "yes" } else { "no" }}
                </dd>
                <dt>"Version"</dt>
                <dd>{status.version}</dd>
            </dl>
            <button class="button secondary" type="button" on:click=move |_| refresh()>"Check again"</button>
        </section>
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusReport {
    pub database: String,
    pub database_ready: bool,
    pub version: String,
}

#[server(endpoint = "home")]
pub async fn home() -> Result<StartPage, AppError> {
    let Some(caller) = crate::session::caller() else {
        let ctx = crate::context::app();
        return Ok(StartPage::Visitor(StatusReport {
            database: ctx.db.engine().name().to_string(),
            database_ready: ctx.db.ping().await,
            version: env!("CARGO_PKG_VERSION").to_string(),
        }));
    };
    if caller.needs_second_factor() {
        return Ok(StartPage::SecondFactorNeeded);
    }
    if caller.is_staff() {
        return Ok(StartPage::Staff);
    }
    let overview = crate::portal::overview(caller).await?;
    Ok(StartPage::Contact(Box::new(overview)))
}
