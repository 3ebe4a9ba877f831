//! The HTTP server: the Leptos app (SSR + server functions), static files, probes, and the
//! middleware every request passes through.

use std::time::Duration;

use app::context::AppContext;
use app::cookie::SessionCookie;
use app::{App, shell};
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderName, Request, StatusCode};
use axum::middleware;
use axum::response::IntoResponse;
use axum::routing::{MethodRouter, get};
use axum::serve::ListenerExt;
use ledgerport::auth::passkeys::RelyingParty;
use ledgerport::auth::tokens::SigningKeys;
use ledgerport::db::Db;
use leptos::config::get_configuration;
use leptos::prelude::*;
use leptos_axum::{AxumRouteListing, LeptosRoutes, generate_route_list};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::services::ServeDir;
use tower_http::trace::TraceLayer;

use std::sync::{Arc, OnceLock};

use ledgerport::checkout::PaymentProvider;

use crate::config::{Config, PaymentProvider as PaymentProviderConfig};
use crate::guard;
use crate::sandbox::SandboxProvider;
use crate::state::ServerState;
use crate::stripe::{StripeProvider, StripeSettings};

static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot read the Leptos site settings: {0}")]
    Leptos(String),
    #[error("cannot listen on {addr}: {source} (set LISTEN_ADDR to a free address)")]
    Bind {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot set up the Stripe client: {0}")]
    Stripe(String),
    #[error("cannot set up mail (SMTP_URL, SMTP_FROM): {0}")]
    Mail(String),
    #[error("cannot set up passkeys (PASSKEY_ORIGIN): {0}")]
    Passkeys(String),
    #[error("server stopped with an error: {0}")]
    Io(#[from] std::io::Error),
}

/// Settings the router needs beyond the database.
#[derive(Clone, Debug)]
pub struct RouterSettings {
    pub keys: SigningKeys,
    pub public_base_url: String,
    pub cookie_secure: bool,
    /// No SMTP and plain http: queued messages (invitation and reset links) go to the log too.
    pub log_messages: bool,
    pub payments: Arc<dyn PaymentProvider>,
    /// The same provider when it is the offline sandbox (its debits settle in a background job).
    pub sandbox: Option<SandboxProvider>,
    pub webhook_secret: Vec<u8>,
    pub reminder_schedule: ledgerport::reminders::Schedule,
    /// How long an approved change of a receiving bank account waits before customers see it.
    pub bank_account_change_wait: chrono::Duration,
    /// Passkeys, where the portal's origin can carry them (a domain name).
    pub passkeys: Option<Arc<RelyingParty>>,
}

impl RouterSettings {
    pub fn from_config(config: &Config, db: &Db) -> Result<Self, ServeError> {
        let previous: Vec<&[u8]> = config
            .jwt_previous_keys
            .iter()
            .map(|k| k.expose().as_bytes())
            .collect();
        let base = config.public_base_url.trim_end_matches('/').to_string();
        let (payments, sandbox, webhook_secret): (Arc<dyn PaymentProvider>, _, Vec<u8>) =
            match &config.payment_provider {
                PaymentProviderConfig::Sandbox => {
                    // The sandbox signs and verifies in one process: a fresh secret per start.
                    let secret = random_secret();
                    let sandbox = SandboxProvider {
                        public_base_url: base.clone(),
                        db: db.clone(),
                        webhook_secret: secret.clone(),
                        refunding: Arc::default(),
                    };
                    (Arc::new(sandbox.clone()), Some(sandbox), secret)
                }
                PaymentProviderConfig::Stripe {
                    secret_key,
                    webhook_secret,
                    api_base,
                } => {
                    let settings = StripeSettings {
                        api_base: api_base.clone(),
                        ..StripeSettings::default()
                    };
                    let provider = StripeProvider::new(secret_key.expose(), settings)
                        .map_err(|e| ServeError::Stripe(e.to_string()))?;
                    // Stripe signs with the whole `whsec_…` text as the HMAC key.
                    (
                        Arc::new(provider),
                        None,
                        webhook_secret.expose().as_bytes().to_vec(),
                    )
                }
            };
        Ok(Self {
            keys: SigningKeys::new(config.jwt_signing_key.expose().as_bytes(), &previous),
            public_base_url: base,
            cookie_secure: config.cookie_secure,
            log_messages: config.smtp.is_none() && !config.public_base_url.starts_with("https://"),
            payments,
            sandbox,
            webhook_secret,
            reminder_schedule: config.reminder_schedule.clone(),
            bank_account_change_wait: config.bank_account_change_wait,
            passkeys: match &config.passkey_origin {
                Some(origin) => Some(Arc::new(
                    RelyingParty::new(origin).map_err(|e| ServeError::Passkeys(e.to_string()))?,
                )),
                None => None,
            },
        })
    }
}

fn random_secret() -> Vec<u8> {
    use rand::RngCore;
    let mut secret = vec![0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    secret
}

/// `https://pay.example.com/portal` → `https://pay.example.com`
fn origin_of(url: &str) -> String {
    match url.find("://") {
        Some(i) => match url[i + 3..].find('/') {
            Some(j) => url[..i + 3 + j].to_string(),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

/// The app's page routes, generated once per process. While Leptos generates them it stops every
/// resource in the process from loading (`SuppressResourceLoad` is one global flag), so generating
/// them again beside a page being rendered, as a second router in the same process would, leaves
/// that page waiting forever.
pub fn page_routes() -> Vec<AxumRouteListing> {
    static ROUTES: OnceLock<Vec<AxumRouteListing>> = OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

pub fn router(leptos: LeptosOptions, db: Db, settings: RouterSettings) -> Router {
    let sandbox_is_provider = settings.payments.name() == "sandbox";
    let context = AppContext {
        db,
        keys: settings.keys,
        cookie: SessionCookie {
            secure: settings.cookie_secure,
        },
        public_base_url: settings.public_base_url.trim_end_matches('/').to_string(),
        log_messages: settings.log_messages,
        payments: settings.payments,
        reminder_schedule: settings.reminder_schedule,
        bank_account_change_wait: settings.bank_account_change_wait,
        passkeys: settings.passkeys,
    };
    let state = ServerState {
        leptos: leptos.clone(),
        app: context.clone(),
        public_origin: origin_of(&settings.public_base_url),
        https: settings.public_base_url.starts_with("https://"),
        webhook_secret: settings.webhook_secret,
    };
    let routes = page_routes();
    let pkg_dir = format!("{}/{}", leptos.site_root, leptos.site_pkg_dir);
    let hashed_bundle = leptos.hash_files;

    let mut probes = Router::new();
    for (path, handler) in probe_routes() {
        probes = probes.route(path, handler);
    }
    for (path, handler) in webhook_routes().into_iter().chain(crate::api::routes()) {
        probes = probes.route(path, handler);
    }
    let mut with_session = Router::new();
    // The sandbox's pages sign events with the webhook secret: they exist only when the sandbox
    // is the provider, never beside Stripe.
    let sandbox_routes = if sandbox_is_provider {
        crate::sandbox::routes()
    } else {
        Vec::new()
    };
    for (path, handler) in crate::documents::routes()
        .into_iter()
        .chain(sandbox_routes)
        .chain(crate::disputes::routes())
        .chain(crate::imports::routes())
        .chain(crate::bank_statements::routes())
        .chain(crate::recovery_codes::routes())
        .chain(crate::company_logo::routes())
    {
        with_session = with_session.route(path, handler);
    }
    let fallback_context = context.clone();
    with_session
        .leptos_routes_with_context(
            &state,
            routes,
            move || provide_context(context.clone()),
            {
                let leptos = leptos.clone();
                move || shell(leptos.clone())
            },
        )
        // Paths no route matches (a malformed one, say) still render the shell, which reads
        // the server state, so the fallback provides it too.
        .fallback(leptos_axum::file_and_error_handler_with_context::<ServerState, _>(
            move || provide_context(fallback_context.clone()),
            shell,
        ))
        // Only pages and server functions need the caller; the routes added below (probes,
        // static bundle) are served without a session lookup.
        .layer(middleware::from_fn_with_state(state.clone(), guard::session))
        .merge(probes)
        // The WASM, JS and CSS bundle, served precompressed when `cargo leptos build -P` made .br/.gz.
        .merge(
            Router::new()
                .nest_service(
                    &format!("/{}", leptos.site_pkg_dir),
                    ServeDir::new(pkg_dir).precompressed_br().precompressed_gzip(),
                )
                .layer(middleware::from_fn(move |request, next| {
                    bundle_caching(hashed_bundle, request, next)
                })),
        )
        .layer(middleware::from_fn(|request: axum::extract::Request, next: middleware::Next| {
            let refuse: guard::Refusal = if request.uri().path().starts_with(crate::api::PREFIX) {
                crate::api::refusal
            } else {
                guard::plain_refusal
            };
            guard::refuse_nul_characters(request, next, refuse)
        }))
        .layer(middleware::from_fn_with_state(state.clone(), guard::same_origin))
        .layer(middleware::from_fn_with_state(state.clone(), guard::security_headers))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID.clone()))
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
                let id = request
                    .headers()
                    .get(&REQUEST_ID)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-");
                tracing::info_span!("http", method = %request.method(), path = %request.uri().path(), request_id = %id)
            }),
        )
        .layer(SetRequestIdLayer::new(REQUEST_ID.clone(), MakeRequestUuid))
        .with_state(state)
}

/// Routes outside Leptos that need no session: the probes. The access-matrix test walks these
/// together with the pages and server functions.
/// Whether the build beside this binary hashed the bundle's names: cargo-leptos writes the
/// hashes to `hash.txt` next to the executable, where Leptos reads them. So the binary started
/// by hand (`scripts/run.sh`, a deployment) needs no `LEPTOS_HASH_FILES`.
fn bundle_is_hashed(leptos: &LeptosOptions) -> bool {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join(leptos.hash_file.as_ref())))
        .is_some_and(|path| path.is_file())
}

/// A hashed bundle file never changes under its name: browsers keep it a year without asking
/// again. wasm-bindgen's `snippets/` keep their names, and without hashing (a development build)
/// no name is stable, so those are revalidated on every use.
async fn bundle_caching(
    hashed: bool,
    request: axum::extract::Request,
    next: middleware::Next,
) -> axum::response::Response {
    let immutable = hashed && !request.uri().path().contains("/snippets/");
    let mut response = next.run(request).await;
    if response.status().is_success() {
        let policy = if immutable {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        };
        response.headers_mut().insert(
            axum::http::header::CACHE_CONTROL,
            axum::http::HeaderValue::from_static(policy),
        );
    }
    response
}

pub fn probe_routes() -> Vec<(&'static str, MethodRouter<ServerState>)> {
    vec![("/healthz", get(healthz)), ("/readyz", get(readyz))]
}

/// Provider webhooks: authenticated by their signature, not by a session.
pub fn webhook_routes() -> Vec<(&'static str, MethodRouter<ServerState>)> {
    vec![(
        "/webhooks/stripe",
        axum::routing::post(crate::webhooks::stripe_webhook),
    )]
}

/// The process is up.
async fn healthz() -> &'static str {
    "ok"
}

/// The database answers; load balancers stop sending traffic while it does not.
async fn readyz(State(state): State<ServerState>) -> impl IntoResponse {
    if state.app.db.ping().await {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "database unreachable")
    }
}

pub async fn serve(config: Config, db: Db) -> Result<(), ServeError> {
    let mut leptos = get_configuration(None)
        .map_err(|e| ServeError::Leptos(e.to_string()))?
        .leptos_options;
    if std::env::var_os("LEPTOS_HASH_FILES").is_none() {
        leptos.hash_files = bundle_is_hashed(&leptos);
    }
    let settings = RouterSettings::from_config(&config, &db)?;
    let sandbox = settings.sandbox.clone();
    let payments = settings.payments.clone();
    let app = router(leptos, db.clone(), settings);
    let mailer: Option<Arc<dyn crate::mail::Mailer>> = match &config.smtp {
        None => None,
        Some(smtp) => Some(Arc::new(
            crate::mail::SmtpMailer::new(smtp.url.expose(), &smtp.from)
                .map_err(|e| ServeError::Mail(e.to_string()))?,
        )),
    };
    crate::jobs::Jobs {
        db: db.clone(),
        reminder_schedule: config.reminder_schedule.clone(),
        reminders_every: config.reminders_every,
        public_base_url: config.public_base_url.clone(),
        mailer,
        sandbox,
        payments,
    }
    .spawn();
    let listener = tokio::net::TcpListener::bind(config.listen_addr)
        .await
        .map_err(|source| ServeError::Bind {
            addr: config.listen_addr,
            source,
        })?
        // Without TCP_NODELAY, keep-alive responses stall on Nagle + delayed ACK (~40 ms each).
        .tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
    tracing::info!(
        "serving on http://{} ({} database); public URL {}; passkeys {}",
        config.listen_addr,
        db.engine().name(),
        config.public_base_url,
        match &config.passkey_origin {
            Some(origin) => format!("on at {origin}"),
            None => "off (the public URL names an IP address; set PASSKEY_ORIGIN)".to_string(),
        }
    );
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await?;
    tracing::info!("shutting down: waiting for the database pool to close");
    tokio::time::timeout(Duration::from_secs(5), db.close())
        .await
        .ok();
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM, so in-flight requests finish before the process exits.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
