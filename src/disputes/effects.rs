//! What each dispute transition does to the money, decided without the database: the hold it
//! releases or places again, the proposal it records or clears, and the credit memo it posts.
//! The store carries the effect out inside the transition's transaction (docs/ledger.md).

use super::{DisputeAction, DisputeError, DisputeLineView};

/// Per-line credit amounts for a proposal or a credit: (invoice line id, amount).
pub type LineCredits = Vec<(i64, i64)>;

/// What happens to the per-line proposal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProposalChange {
    Keep,
    /// Record these amounts as the proposal (one entry per disputed line).
    Set(LineCredits),
    /// Back to no proposal.
    Clear,
}

/// The money side of one transition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MoneyEffect {
    /// Added to the invoice's held amount: the disputed amount leaves the hold when the dispute
    /// closes and comes back when it is reopened.
    pub hold_change: i64,
    pub proposal: ProposalChange,
    /// The credit memo's lines, each more than zero; empty means no credit memo.
    pub credit: LineCredits,
    /// The disputed lines must still be open for their amounts (credits or payments may have
    /// come since the dispute closed).
    pub recheck_lines: bool,
}

impl MoneyEffect {
    const NONE: MoneyEffect = MoneyEffect {
        hold_change: 0,
        proposal: ProposalChange::Keep,
        credit: Vec::new(),
        recheck_lines: false,
    };

    /// What the credit memo credits in all.
    pub fn credited(&self) -> i64 {
        self.credit.iter().map(|(_, amount)| amount).sum()
    }
}

/// The effect of `action` on a dispute of `disputed_minor` over `lines`; `requested` are the
/// amounts staff typed for a proposal or a credit.
pub fn money_effect(
    action: DisputeAction,
    lines: &[DisputeLineView],
    requested: &LineCredits,
    disputed_minor: i64,
) -> Result<MoneyEffect, DisputeError> {
    let release = -disputed_minor;
    Ok(match action {
        DisputeAction::StartReview => MoneyEffect::NONE,
        DisputeAction::Propose => MoneyEffect {
            proposal: ProposalChange::Set(checked_credits(lines, requested)?),
            ..MoneyEffect::NONE
        },
        DisputeAction::DeclineProposal => MoneyEffect {
            proposal: ProposalChange::Clear,
            ..MoneyEffect::NONE
        },
        DisputeAction::AcceptProposal => {
            let proposed: LineCredits = lines
                .iter()
                .map(|l| (l.invoice_line_id, l.proposed_minor))
                .collect();
            if proposed.iter().all(|(_, amount)| *amount == 0) {
                return Err(DisputeError::NoProposal);
            }
            MoneyEffect {
                hold_change: release,
                credit: positive(proposed),
                ..MoneyEffect::NONE
            }
        }
        DisputeAction::Credit => MoneyEffect {
            hold_change: release,
            credit: positive(checked_credits(lines, requested)?),
            ..MoneyEffect::NONE
        },
        DisputeAction::Reject | DisputeAction::Withdraw => MoneyEffect {
            hold_change: release,
            ..MoneyEffect::NONE
        },
        DisputeAction::Reopen => MoneyEffect {
            hold_change: disputed_minor,
            proposal: ProposalChange::Clear,
            recheck_lines: true,
            credit: Vec::new(),
        },
    })
}

fn positive(credits: LineCredits) -> LineCredits {
    credits
        .into_iter()
        .filter(|(_, amount)| *amount > 0)
        .collect()
}

/// Credits per disputed line: each between 0 and the line's disputed amount, more than 0 in all.
/// Lines left out get nothing.
fn checked_credits(
    lines: &[DisputeLineView],
    credits: &LineCredits,
) -> Result<LineCredits, DisputeError> {
    let mut checked = Vec::with_capacity(lines.len());
    for line in lines {
        let amount = credits
            .iter()
            .find(|(id, _)| *id == line.invoice_line_id)
            .map_or(0, |(_, a)| *a);
        if amount < 0 || amount > line.amount_minor {
            return Err(DisputeError::Proposal);
        }
        checked.push((line.invoice_line_id, amount));
    }
    let unknown = credits
        .iter()
        .any(|(id, _)| !lines.iter().any(|l| l.invoice_line_id == *id));
    if unknown || checked.iter().all(|(_, a)| *a == 0) {
        return Err(DisputeError::Proposal);
    }
    Ok(checked)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::disputes::DisputeReason;

    /// Two disputed lines: 10 is disputed for 300, 11 for 200 (500 in all).
    fn lines(proposed: [i64; 2]) -> Vec<DisputeLineView> {
        [(10, 300, proposed[0]), (11, 200, proposed[1])]
            .into_iter()
            .enumerate()
            .map(|(i, (id, amount, proposed))| DisputeLineView {
                invoice_line_id: id,
                line_no: i as i64 + 1,
                description: format!("line {id}"),
                line_total_minor: 1_000,
                reason: DisputeReason::Price,
                amount_minor: amount,
                proposed_minor: proposed,
            })
            .collect()
    }

    #[test]
    fn closing_a_dispute_releases_its_whole_hold_and_reopening_places_it_again() {
        for action in [
            DisputeAction::Reject,
            DisputeAction::Withdraw,
            DisputeAction::Credit,
        ] {
            let effect = money_effect(action, &lines([0, 0]), &vec![(10, 100)], 500).unwrap();
            assert_eq!(effect.hold_change, -500, "{action:?}");
            assert!(!effect.recheck_lines);
        }
        let reopen = money_effect(DisputeAction::Reopen, &lines([0, 0]), &vec![], 500).unwrap();
        assert_eq!(reopen.hold_change, 500);
        assert!(reopen.recheck_lines);
        assert_eq!(reopen.proposal, ProposalChange::Clear);
        assert_eq!(reopen.credited(), 0);
    }

    #[test]
    fn a_proposal_moves_no_money_and_records_an_amount_for_every_disputed_line() {
        let effect = money_effect(
            DisputeAction::Propose,
            &lines([0, 0]),
            &vec![(11, 150)],
            500,
        )
        .unwrap();
        assert_eq!(effect.hold_change, 0);
        assert_eq!(
            effect.proposal,
            ProposalChange::Set(vec![(10, 0), (11, 150)])
        );
        assert!(effect.credit.is_empty());
        let declined = money_effect(
            DisputeAction::DeclineProposal,
            &lines([0, 150]),
            &vec![],
            500,
        )
        .unwrap();
        assert_eq!(declined.proposal, ProposalChange::Clear);
        assert_eq!(declined.hold_change, 0);
    }

    #[test]
    fn accepting_credits_exactly_the_proposed_lines_and_nothing_when_there_is_no_proposal() {
        let effect = money_effect(
            DisputeAction::AcceptProposal,
            &lines([0, 150]),
            &vec![(10, 300)],
            500,
        )
        .unwrap();
        assert_eq!(
            effect.credit,
            vec![(11, 150)],
            "what staff typed is ignored"
        );
        assert_eq!(effect.credited(), 150);
        assert_eq!(effect.hold_change, -500);
        assert_eq!(
            money_effect(DisputeAction::AcceptProposal, &lines([0, 0]), &vec![], 500),
            Err(DisputeError::NoProposal)
        );
    }

    #[test]
    fn a_credit_is_between_nothing_and_the_disputed_amount_on_disputed_lines_only() {
        let credit = |requested: LineCredits| {
            money_effect(DisputeAction::Credit, &lines([0, 0]), &requested, 500)
        };
        assert_eq!(credit(vec![(10, 300), (11, 1)]).unwrap().credited(), 301);
        assert_eq!(credit(vec![(10, 301)]), Err(DisputeError::Proposal));
        assert_eq!(
            credit(vec![(10, -1), (11, 50)]),
            Err(DisputeError::Proposal)
        );
        assert_eq!(credit(vec![(12, 50)]), Err(DisputeError::Proposal));
        assert_eq!(credit(vec![(10, 0)]), Err(DisputeError::Proposal));
        assert_eq!(credit(vec![]), Err(DisputeError::Proposal));
    }

    #[test]
    fn starting_a_review_changes_no_money() {
        let effect =
            money_effect(DisputeAction::StartReview, &lines([0, 0]), &vec![], 500).unwrap();
        assert_eq!(effect, MoneyEffect::NONE);
    }
}
