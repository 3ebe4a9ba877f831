//! Service status shown on the home page: which database serves the portal and whether it answers.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::errors::AppError;

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
