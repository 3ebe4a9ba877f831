//! What the server hands to every server function and SSR render.

use ledgerport::auth::tokens::SigningKeys;
use ledgerport::db::Db;

/// Shared, cheaply cloneable server state, provided with `provide_context`.
#[derive(Clone, Debug)]
pub struct AppContext {
    pub db: Db,
    pub keys: SigningKeys,
    pub cookie: crate::session::SessionCookie,
}
