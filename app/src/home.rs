//! The start page: a contact's account summary, staff go to their workspace, and everyone else
//! gets the welcome with the service status (which database serves the portal, whether it answers).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;
use serde::{Deserialize, Serialize};

use crate::components::Loaded;
use crate::errors::AppError;
use crate::i18n::{tr, use_locale};
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
        <Loaded data let:home>
            {match home {
                StartPage::Staff => view! { <Redirect path="/admin"/> }.into_any(),
                StartPage::SecondFactorNeeded => view! { <Redirect path="/profile/two-factor"/> }.into_any(),
                StartPage::Contact(overview) => summary_view(*overview).into_any(),
                StartPage::Visitor(status) => welcome(status).into_any(),
            }}
        </Loaded>
    }
}

/// The signed-out start page, with the service status and a way to check it again.
fn welcome(status: StatusReport) -> impl IntoView {
    let locale = use_locale();
    view! {
        <Title text=tr!(locale, "welcome.title")/>
        <section class="hero">
            <h1>{tr!(locale, "welcome.heading")}</h1>
            <p class="lead">{tr!(locale, "welcome.lead")}</p>
            <a class="button" href="/sign-in">{tr!(locale, "nav.sign_in")}</a>
        </section>
        <section class="card narrow" aria-labelledby="status-heading">
            <h2 id="status-heading">{tr!(locale, "welcome.status")}</h2>
            <dl class="facts" data-testid="service-status">
                <dt>{tr!(locale, "welcome.database")}</dt>
                <dd>{status.database}</dd>
                <dt>{tr!(locale, "welcome.ready")}</dt>
                <dd data-testid="database-ready">
                    {if status.database_ready { tr!(locale, "welcome.yes") } else { tr!(locale, "welcome.no") }}
                </dd>
                <dt>{tr!(locale, "welcome.version")}</dt>
                <dd>{status.version}</dd>
            </dl>
            // The page asks the database each time it is loaded.
            <a class="button secondary" href="/">{tr!(locale, "welcome.check_again")}</a>
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
    let Some(caller) = crate::request::caller() else {
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
