//! Payment-provider webhooks: Stripe's event format, signed; the sandbox speaks it too.

pub mod signature;
