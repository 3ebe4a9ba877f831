//! The one error type every server function returns. Each variant has one HTTP status, set when
//! the error is written to the response, so refusals reach the browser as 4xx with a clear reason.

use ledgerport::locale::Locale;
use ledgerport::tr;
use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    #[error("Please sign in first.")]
    SignInRequired,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    TooManyRequests(String),
    #[error("{0}")]
    Unavailable(String),
    #[error("Something went wrong on our side; please try again.")]
    Internal,
    /// The request did not reach the function: malformed arguments, or the network failed.
    #[error("The request could not be understood: {0}")]
    BadRequest(String),
}

impl AppError {
    pub fn status(&self) -> u16 {
        match self {
            AppError::SignInRequired => 401,
            AppError::Forbidden(_) => 403,
            AppError::NotFound(_) => 404,
            AppError::Invalid(_) | AppError::BadRequest(_) => 400,
            AppError::Conflict(_) => 409,
            AppError::TooManyRequests(_) => 429,
            AppError::Unavailable(_) => 503,
            AppError::Internal => 500,
        }
    }

    /// A message starting with a capital letter, from an engine error's text.
    pub fn invalid(error: impl std::fmt::Display) -> Self {
        AppError::Invalid(sentence(&error.to_string()))
    }

    pub fn forbidden(error: impl std::fmt::Display) -> Self {
        AppError::Forbidden(sentence(&error.to_string()))
    }

    /// What the person reads: the server's reason (already in their language), or one of the
    /// fixed texts in the page's language.
    pub fn message(&self, locale: Locale) -> String {
        match self {
            AppError::SignInRequired => tr!(locale, "error.sign_in_required"),
            AppError::Internal => tr!(locale, "error.internal"),
            AppError::BadRequest(detail) => tr!(locale, "error.bad_request", detail = detail),
            reason => reason.to_string(),
        }
    }
}

pub fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::ServerError(message) => AppError::Invalid(message),
            other => AppError::BadRequest(other.to_string()),
        }
    }

    /// Runs on the server as the error becomes the response body: the one place where an error
    /// gets its status. Plain HTML form posts keep the redirect back to the form instead, with
    /// the error in the URL, so the page can show it without JavaScript.
    #[cfg(feature = "ssr")]
    fn ser(&self) -> leptos::server_fn::Bytes {
        use leptos::server_fn::Encodes;
        let from_html_form = crate::request::is_plain_form_post();
        if !from_html_form
            && let (Some(response), Ok(status)) = (
                leptos::prelude::use_context::<leptos_axum::ResponseOptions>(),
                http::StatusCode::from_u16(self.status()),
            )
        {
            response.set_status(status);
        }
        JsonEncoding::encode(self).unwrap_or_default()
    }
}

/// Engine errors that are the caller's fault become 4xx with the engine's reason; the rest are
/// logged with their cause and reach the browser as a generic 500.
#[cfg(feature = "ssr")]
mod from_engine {
    use super::AppError;
    use ledgerport::auth::SignInError;
    use ledgerport::auth::access::AccessError;
    use ledgerport::auth::store::AuthError;
    use ledgerport::db::DbError;
    use ledgerport::locale::Explain;
    use ledgerport::tr;

    impl From<ledgerport::checkout::store::CheckoutStoreError> for AppError {
        fn from(e: ledgerport::checkout::store::CheckoutStoreError) -> Self {
            use ledgerport::checkout::store::CheckoutStoreError;
            match e {
                CheckoutStoreError::Refused(
                    unknown @ (ledgerport::checkout::CheckoutError::UnknownInvoice(_)
                    | ledgerport::checkout::CheckoutError::UnknownCheckout),
                ) => AppError::NotFound(said(&unknown)),
                CheckoutStoreError::Refused(
                    busy @ (ledgerport::checkout::CheckoutError::InProgress { .. }
                    | ledgerport::checkout::CheckoutError::NotCancellable),
                ) => AppError::Conflict(said(&busy)),
                CheckoutStoreError::Refused(refused) => AppError::Invalid(said(&refused)),
                CheckoutStoreError::Cash(e) => internal(e),
                e @ (CheckoutStoreError::RefundBeyondPayment { .. }
                | CheckoutStoreError::ReturnBeyondCredit { .. }) => internal(e),
                CheckoutStoreError::Db(e) => database(e),
            }
        }
    }

    impl From<ledgerport::refunds::RefundError> for AppError {
        fn from(e: ledgerport::refunds::RefundError) -> Self {
            use ledgerport::checkout::ProviderError;
            use ledgerport::refunds::RefundError;
            match e {
                unknown @ (RefundError::UnknownPayment | RefundError::UnknownRefund) => {
                    AppError::NotFound(super::sentence(&unknown.to_string()))
                }
                stale @ RefundError::NotPending(_) => {
                    AppError::Conflict(super::sentence(&stale.to_string()))
                }
                RefundError::Provider(refused @ ProviderError::Refused(_)) => {
                    AppError::invalid(refused)
                }
                RefundError::Provider(unanswered) => AppError::Unavailable(format!(
                    "{} The refund is kept as requested; send it again from this page.",
                    super::sentence(&unanswered.to_string())
                )),
                RefundError::Db(e) => database(e),
                refused => AppError::invalid(refused),
            }
        }
    }

    impl From<ledgerport::disputes::store::DisputeStoreError> for AppError {
        fn from(e: ledgerport::disputes::store::DisputeStoreError) -> Self {
            use ledgerport::disputes::DisputeError;
            use ledgerport::disputes::store::DisputeStoreError;
            use ledgerport::receivables::store::CashError;
            match e {
                DisputeStoreError::NotFound => AppError::NotFound(
                    crate::request::locale()
                        .pick(
                            "There is no such dispute on your account.",
                            "Diese Reklamation gibt es auf Ihrem Konto nicht.",
                        )
                        .into(),
                ),
                DisputeStoreError::Rule(wrong @ DisputeError::WrongSide { .. }) => {
                    AppError::Forbidden(said(&wrong))
                }
                DisputeStoreError::Rule(
                    conflict @ (DisputeError::Stale | DisputeError::InvalidTransition { .. }),
                ) => AppError::Conflict(said(&conflict)),
                DisputeStoreError::Rule(refused) => AppError::Invalid(said(&refused)),
                DisputeStoreError::Cash(CashError::Adjustment(refused)) => {
                    AppError::invalid(refused)
                }
                DisputeStoreError::Cash(e) => internal(e),
                DisputeStoreError::Db(e) => database(e),
            }
        }
    }

    impl From<ledgerport::receivables::store::CashError> for AppError {
        fn from(e: ledgerport::receivables::store::CashError) -> Self {
            use ledgerport::receivables::store::CashError;
            match e {
                CashError::Payment(refused) => AppError::invalid(refused),
                CashError::Adjustment(refused) => AppError::invalid(refused),
                CashError::Remittance(refused) => AppError::invalid(refused),
                unknown @ CashError::UnknownCustomer(_) => {
                    AppError::NotFound(super::sentence(&unknown.to_string()))
                }
                conflict @ CashError::KeyConflict(_) => {
                    AppError::Conflict(super::sentence(&conflict.to_string()))
                }
                CashError::Post(e) => posting(e),
                CashError::Db(e) => database(e),
            }
        }
    }

    impl From<ledgerport::invoices::store::IssueError> for AppError {
        fn from(e: ledgerport::invoices::store::IssueError) -> Self {
            use ledgerport::invoices::store::IssueError;
            match e {
                IssueError::UnknownCustomer(_) => {
                    AppError::NotFound("There is no such customer.".into())
                }
                taken @ IssueError::NumberTaken(_) => {
                    AppError::Conflict(super::sentence(&taken.to_string()))
                }
                refused @ (IssueError::WrongCurrency { .. } | IssueError::Invoice(_)) => {
                    AppError::invalid(refused)
                }
                IssueError::Post(e) => posting(e),
                IssueError::Db(e) => database(e),
            }
        }
    }

    /// A posting refused: a date in a closed period is the caller's to change (409); anything
    /// else at this depth is a fault.
    pub fn posting(error: ledgerport::ledger::store::PostError) -> AppError {
        use ledgerport::ledger::LedgerError;
        use ledgerport::ledger::store::PostError;
        match error {
            PostError::Ledger(closed @ LedgerError::PeriodClosed { .. }) => {
                AppError::Conflict(super::sentence(&closed.to_string()))
            }
            other => internal(other),
        }
    }

    impl From<ledgerport::collections::store::CollectionsError> for AppError {
        fn from(e: ledgerport::collections::store::CollectionsError) -> Self {
            use ledgerport::collections::store::CollectionsError;
            match e {
                CollectionsError::Invalid(reason) => AppError::Invalid(reason),
                missing @ CollectionsError::UnknownCustomer => {
                    AppError::NotFound(super::sentence(&missing.to_string()))
                }
                not_staff @ CollectionsError::NotStaff => AppError::invalid(not_staff),
                CollectionsError::Db(e) => database(e),
            }
        }
    }

    impl From<ledgerport::promises::store::PromiseStoreError> for AppError {
        fn from(e: ledgerport::promises::store::PromiseStoreError) -> Self {
            use ledgerport::promises::store::PromiseStoreError;
            match e {
                invalid @ PromiseStoreError::Invalid(_) => AppError::Invalid(said(&invalid)),
                missing @ (PromiseStoreError::NotFound | PromiseStoreError::UnknownCustomer) => {
                    AppError::NotFound(said(&missing))
                }
                closed @ (PromiseStoreError::Closed(_)
                | PromiseStoreError::DayPassed
                | PromiseStoreError::NobodyToTell) => AppError::Conflict(said(&closed)),
                PromiseStoreError::Db(e) => database(e),
            }
        }
    }

    impl From<ledgerport::plans::store::PlanStoreError> for AppError {
        fn from(e: ledgerport::plans::store::PlanStoreError) -> Self {
            use ledgerport::plans::store::PlanStoreError;
            match e {
                invalid @ PlanStoreError::Invalid(_) => AppError::Invalid(said(&invalid)),
                missing @ (PlanStoreError::NotFound | PlanStoreError::UnknownCustomer) => {
                    AppError::NotFound(said(&missing))
                }
                conflict @ (PlanStoreError::AlreadyOpen
                | PlanStoreError::Closed(..)
                | PlanStoreError::Stale
                | PlanStoreError::StartPassed
                | PlanStoreError::NobodyToTell) => AppError::Conflict(said(&conflict)),
                PlanStoreError::Db(e) => database(e),
            }
        }
    }

    impl From<ledgerport::saved_methods::store::SavedMethodStoreError> for AppError {
        fn from(e: ledgerport::saved_methods::store::SavedMethodStoreError) -> Self {
            use ledgerport::saved_methods::SavedMethodError;
            use ledgerport::saved_methods::store::SavedMethodStoreError;
            match e {
                SavedMethodStoreError::Refused(consent @ SavedMethodError::NoConsent) => {
                    AppError::Invalid(said(&consent))
                }
                SavedMethodStoreError::Refused(unknown @ SavedMethodError::Unknown) => {
                    AppError::NotFound(said(&unknown))
                }
                SavedMethodStoreError::UnknownCustomer => account_gone(),
                SavedMethodStoreError::Refused(in_use) => AppError::Conflict(said(&in_use)),
                // Whatever the provider said, the payer typed nothing wrong: try again later.
                SavedMethodStoreError::Provider(provider) => AppError::Unavailable(said(&provider)),
                SavedMethodStoreError::Db(e) => database(e),
            }
        }
    }

    impl From<ledgerport::autopay::store::AutopayStoreError> for AppError {
        fn from(e: ledgerport::autopay::store::AutopayStoreError) -> Self {
            use ledgerport::autopay::AutopayError;
            use ledgerport::autopay::store::AutopayStoreError;
            match e {
                AutopayStoreError::Refused(not_on @ AutopayError::NotOn) => {
                    AppError::Conflict(said(&not_on))
                }
                AutopayStoreError::Refused(invalid) => AppError::Invalid(said(&invalid)),
                AutopayStoreError::UnknownCustomer => account_gone(),
                AutopayStoreError::Db(e) => database(e),
            }
        }
    }

    impl From<ledgerport::periods::store::PeriodStoreError> for AppError {
        fn from(e: ledgerport::periods::store::PeriodStoreError) -> Self {
            use ledgerport::periods::PeriodError;
            use ledgerport::periods::store::PeriodStoreError;
            match e {
                PeriodStoreError::Refused(
                    refused @ (PeriodError::NotAMonth(_) | PeriodError::ReasonNeeded),
                ) => AppError::invalid(refused),
                PeriodStoreError::Refused(conflict) => {
                    AppError::Conflict(super::sentence(&conflict.to_string()))
                }
                PeriodStoreError::Db(e) => database(e),
            }
        }
    }

    /// An engine's refusal in the language of the person who asked, as a sentence.
    pub fn said(refusal: &impl Explain) -> String {
        super::sentence(&refusal.explain(crate::request::locale()))
    }

    /// The signed-in contact's account was deleted while they were using it.
    pub fn account_gone() -> AppError {
        let locale = crate::request::locale();
        AppError::NotFound(tr!(locale, "error.account_missing"))
    }

    pub fn internal(error: impl std::fmt::Display) -> AppError {
        tracing::error!("request failed: {error}");
        AppError::Internal
    }

    /// A database failure: 503 with "try again" while the database does not answer, else 500.
    pub fn database(error: DbError) -> AppError {
        if error.is_unavailable() {
            tracing::warn!("the database is not answering: {error}");
            AppError::Unavailable(
                crate::request::locale()
                    .pick(
                        "The database is not answering right now. Please try again in a minute.",
                        "Die Datenbank antwortet gerade nicht. Bitte versuchen Sie es in einer Minute erneut.",
                    )
                    .into(),
            )
        } else {
            internal(error)
        }
    }

    impl From<DbError> for AppError {
        fn from(e: DbError) -> Self {
            database(e)
        }
    }

    impl From<ledgerport::imports::store::ImportError> for AppError {
        fn from(e: ledgerport::imports::store::ImportError) -> Self {
            use ledgerport::imports::store::ImportError;
            match e {
                ImportError::Db(e) => database(e),
                ImportError::NotFound => AppError::NotFound("There is no such import.".into()),
                ImportError::AlreadyCommitted => AppError::Conflict(
                    "This import was already committed; upload the file again to see what it would change now."
                        .into(),
                ),
                refused => AppError::invalid(refused),
            }
        }
    }

    impl From<ledgerport::statements::store::ImportError> for AppError {
        fn from(e: ledgerport::statements::store::ImportError) -> Self {
            use ledgerport::statements::store::ImportError;
            match e {
                ImportError::Db(e) => database(e),
                ImportError::Cash(e) => internal(e),
                ImportError::Settlement(e) => internal(e),
                refused => AppError::invalid(refused),
            }
        }
    }

    impl From<ledgerport::statements::apply::ApplyError> for AppError {
        fn from(e: ledgerport::statements::apply::ApplyError) -> Self {
            use ledgerport::statements::apply::ApplyError;
            match e {
                ApplyError::Db(e) => database(e),
                ApplyError::Cash(e) => e.into(),
                ApplyError::Case(e) => e.into(),
                ApplyError::NotFound => AppError::NotFound("There is no such bank line.".into()),
                taken @ ApplyError::NotWaiting => {
                    AppError::Conflict(super::sentence(&taken.to_string()))
                }
                refused => AppError::invalid(refused),
            }
        }
    }

    impl From<ledgerport::api_keys::store::ApiKeyError> for AppError {
        fn from(e: ledgerport::api_keys::store::ApiKeyError) -> Self {
            use ledgerport::api_keys::store::ApiKeyError;
            match e {
                ApiKeyError::Db(e) => database(e),
                ApiKeyError::NotFound => AppError::NotFound("There is no such API key.".into()),
                refused => AppError::invalid(refused),
            }
        }
    }

    impl From<AuthError> for AppError {
        fn from(e: AuthError) -> Self {
            match e {
                AuthError::SignIn(refused @ SignInError::WrongCredentials) => {
                    AppError::Invalid(said(&refused))
                }
                AuthError::SignIn(slow @ SignInError::TooManyAttempts { .. }) => {
                    AppError::TooManyRequests(said(&slow))
                }
                AuthError::Db(e) => database(e),
            }
        }
    }

    impl From<ledgerport::customers::billing::store::BillingStoreError> for AppError {
        fn from(e: ledgerport::customers::billing::store::BillingStoreError) -> Self {
            use ledgerport::customers::billing::store::BillingStoreError;
            match e {
                BillingStoreError::Db(e) => database(e),
                BillingStoreError::NotAllowed => AppError::Forbidden(said(&e)),
                BillingStoreError::UnknownCustomer => AppError::NotFound(said(&e)),
            }
        }
    }

    impl From<ledgerport::company::store::CompanyStoreError> for AppError {
        fn from(e: ledgerport::company::store::CompanyStoreError) -> Self {
            use ledgerport::company::store::CompanyStoreError;
            match e {
                CompanyStoreError::Db(e) => database(e),
                CompanyStoreError::ManagerOnly => AppError::forbidden(e),
            }
        }
    }

    impl From<ledgerport::transfers::changes::BankChangeError> for AppError {
        fn from(e: ledgerport::transfers::changes::BankChangeError) -> Self {
            use ledgerport::transfers::changes::BankChangeError;
            match e {
                BankChangeError::Db(e) => database(e),
                BankChangeError::ManagerOnly
                | BankChangeError::OwnProposal
                | BankChangeError::ManagerSinceProposal => AppError::forbidden(e),
                BankChangeError::NotFound => AppError::NotFound(super::sentence(&e.to_string())),
                BankChangeError::AlreadyWaiting(_)
                | BankChangeError::NotAwaitingApproval
                | BankChangeError::NotWithdrawable => {
                    AppError::Conflict(super::sentence(&e.to_string()))
                }
            }
        }
    }

    impl From<ledgerport::auth::two_factor::TwoFactorError> for AppError {
        fn from(e: ledgerport::auth::two_factor::TwoFactorError) -> Self {
            use ledgerport::auth::two_factor::TwoFactorError;
            match e {
                TwoFactorError::Db(e) => database(e),
                slow @ TwoFactorError::TooManyAttempts { .. } => {
                    AppError::TooManyRequests(said(&slow))
                }
                TwoFactorError::ManagerOnly | TwoFactorError::OwnAccess => {
                    AppError::Forbidden(said(&e))
                }
                TwoFactorError::UnknownUser => AppError::NotFound(said(&e)),
                // What the account's state does not allow yet (or ever, for a manager's factor).
                TwoFactorError::AlreadyOn
                | TwoFactorError::NotOn
                | TwoFactorError::NotStarted
                | TwoFactorError::ManagersKeepIt
                | TwoFactorError::CodeNotProved
                | TwoFactorError::PasskeyFirst => AppError::Conflict(said(&e)),
                TwoFactorError::WrongCode
                | TwoFactorError::CodeUsed
                | TwoFactorError::SignInExpired => AppError::Invalid(said(&e)),
            }
        }
    }

    impl From<ledgerport::auth::passkeys::PasskeyError> for AppError {
        fn from(e: ledgerport::auth::passkeys::PasskeyError) -> Self {
            use ledgerport::auth::passkeys::PasskeyError;
            match e {
                PasskeyError::Db(e) => database(e),
                slow @ PasskeyError::TooManyAttempts { .. } => {
                    AppError::TooManyRequests(said(&slow))
                }
                // What the account's state does not allow (yet).
                PasskeyError::SecondFactorFirst
                | PasskeyError::TooManyPasskeys
                | PasskeyError::AlreadyAdded
                | PasskeyError::ManagersKeepOne => AppError::Conflict(said(&e)),
                PasskeyError::BadAnswer
                | PasskeyError::CeremonyExpired
                | PasskeyError::NotRecognised
                | PasskeyError::NotAccepted
                | PasskeyError::NameInvalid
                // Removing names one of the caller's own passkeys: another id is a bad form.
                | PasskeyError::UnknownPasskey => AppError::Invalid(said(&e)),
            }
        }
    }

    impl From<AccessError> for AppError {
        fn from(e: AccessError) -> Self {
            match e {
                AccessError::StaffOnly | AccessError::ManagerOnly | AccessError::OwnAccess => {
                    AppError::Forbidden(said(&e))
                }
                AccessError::UnknownCustomer | AccessError::UnknownUser => {
                    AppError::NotFound(said(&e))
                }
                AccessError::CreateUser(ledgerport::users::store::CreateUserError::EmailTaken(
                    _,
                )) => AppError::Conflict(super::sentence(&e.to_string())),
                AccessError::NotAContactRole
                | AccessError::NotAStaffRole
                | AccessError::InvalidLink
                | AccessError::DisplayName
                | AccessError::WrongPassword
                | AccessError::Invalid(_) => AppError::Invalid(said(&e)),
                AccessError::CreateUser(_) | AccessError::Db(_) => internal(e),
            }
        }
    }
}

#[cfg(feature = "ssr")]
pub use from_engine::{account_gone, internal, said};
