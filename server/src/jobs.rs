//! Background work each server instance runs: the collections job (autopay's charges, then
//! reminders, then the promises to pay reviewed), closing abandoned checkouts and folding the
//! receivables queue into its summary (and, offline, the sandbox's debit settlements and payouts)
//! and outbox delivery. All are safe with several instances on one database: an account's
//! autopay by its day's claim, a reminder by its unique row, a queued receivables row by the
//! fold that deletes it, a message by its lease (see `ledgerport::reminders::store` and `mail`).

use std::sync::Arc;
use std::time::Duration;

use ledgerport::checkout::PaymentProvider;
use ledgerport::db::Db;
use ledgerport::reminders::Schedule;

use crate::mail::{Mailer, deliver_queued};
use crate::sandbox::SandboxProvider;

/// How often queued mail is looked for.
const MAIL_EVERY: Duration = Duration::from_secs(5);
/// How often abandoned checkouts are closed, the receivables queue folded (and sandbox debits
/// settled).
const CHECKOUTS_EVERY: Duration = Duration::from_secs(15);
/// How often the sandbox pays out its available balance (Stripe's automatic payouts: daily).
const SANDBOX_PAYOUT_EVERY: Duration = Duration::from_secs(10 * 60);

pub struct Jobs {
    pub db: Db,
    pub reminder_schedule: Schedule,
    pub reminders_every: Option<Duration>,
    pub public_base_url: String,
    pub mailer: Option<Arc<dyn Mailer>>,
    /// The offline provider, whose bank debits settle when their time comes.
    pub sandbox: Option<SandboxProvider>,
    /// Stripe or the sandbox: autopay charges through it.
    pub payments: Arc<dyn PaymentProvider>,
}

impl Jobs {
    /// Starts the jobs on the current runtime; they stop with the process.
    pub fn spawn(self) {
        if let Some(every) = self.reminders_every {
            let (db, schedule, base, payments) = (
                self.db.clone(),
                self.reminder_schedule.clone(),
                self.public_base_url.clone(),
                self.payments.clone(),
            );
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(every);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
                loop {
                    tick.tick().await;
                    let today = chrono::Utc::now().date_naive();
                    // Autopay first: an invoice it charges today is not reminded about.
                    match ledgerport::autopay::store::run(&db, payments.as_ref(), today, &base)
                        .await
                    {
                        Ok(run) if run != Default::default() => {
                            for problem in &run.problems {
                                tracing::warn!(%problem, "autopay could not handle an account");
                            }
                            tracing::info!(
                                charged = run.charged,
                                declined = run.declined,
                                needs_customer = run.needs_customer,
                                stopped = run.stopped,
                                "autopay ran"
                            )
                        }
                        Ok(_) => {}
                        Err(e) => tracing::warn!("autopay failed; it runs again later: {e}"),
                    }
                    match ledgerport::reminders::store::run(&db, &schedule, today, &base).await {
                        Ok(run)
                            if run.sent > 0
                                || run.promises != Default::default()
                                || run.plans != Default::default() =>
                        {
                            tracing::info!(
                                sent = run.sent,
                                held = run.held,
                                without_recipient = run.without_recipient,
                                promises_kept = run.promises.kept,
                                promises_broken = run.promises.broken,
                                plans_reminded = run.plans.reminded,
                                plans_completed = run.plans.completed,
                                plans_broken = run.plans.broken,
                                "reminders queued, promises and payment plans reviewed"
                            )
                        }
                        Ok(_) => {}
                        Err(e) => {
                            tracing::warn!("the reminder job failed; it runs again later: {e}")
                        }
                    }
                }
            });
        }
        let (db, sandbox) = (self.db.clone(), self.sandbox);
        tokio::spawn(async move {
            let mut last_payout = tokio::time::Instant::now();
            loop {
                tokio::time::sleep(CHECKOUTS_EVERY).await;
                match ledgerport::checkout::store::expire_stale_checkouts(&db, chrono::Utc::now())
                    .await
                {
                    Ok(0) => {}
                    Ok(closed) => tracing::info!(closed, "abandoned checkouts closed"),
                    Err(e) => tracing::warn!("closing abandoned checkouts failed: {e}"),
                }
                // Keeps the receivables queue short; reports are exact either way.
                if let Err(e) = ledgerport::ledger::daily::fold(&db).await {
                    tracing::warn!("folding the receivables queue failed: {e}");
                }
                if let Some(sandbox) = &sandbox {
                    if let Err(e) = sandbox.settle_due_debits().await {
                        tracing::warn!("the sandbox could not settle its debits: {e}");
                    }
                    if last_payout.elapsed() >= SANDBOX_PAYOUT_EVERY {
                        last_payout = tokio::time::Instant::now();
                        match sandbox.pay_out_available(chrono::Utc::now()).await {
                            Ok(0) => {}
                            Ok(made) => tracing::info!(made, "sandbox payouts made"),
                            Err(e) => tracing::warn!("the sandbox could not pay out: {e}"),
                        }
                    }
                }
            }
        });
        if let Some(mailer) = self.mailer {
            let db = self.db;
            tokio::spawn(async move {
                loop {
                    if let Err(e) = deliver_queued(&db, mailer.as_ref(), 100).await {
                        tracing::warn!("outbox delivery failed; it runs again shortly: {e}");
                    }
                    tokio::time::sleep(MAIL_EVERY).await;
                }
            });
        }
    }
}
