//! The state every handler shares. Its own module, so route modules depend on it and not on the
//! router that wires them (`http`).

use app::context::AppContext;
use leptos::config::LeptosOptions;

/// Everything a handler may need, shared by the axum router and the Leptos context.
#[derive(Clone, Debug)]
pub struct ServerState {
    pub leptos: LeptosOptions,
    pub app: AppContext,
    /// `scheme://host[:port]` of PUBLIC_BASE_URL, for same-origin checks.
    pub public_origin: String,
    pub https: bool,
    /// Verifies provider webhooks (and signs the sandbox's events).
    pub webhook_secret: Vec<u8>,
}

impl axum::extract::FromRef<ServerState> for LeptosOptions {
    fn from_ref(state: &ServerState) -> Self {
        state.leptos.clone()
    }
}
