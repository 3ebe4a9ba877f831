-- Closing the books. Each close or reopening is a row; the latest says through which day the
-- books are closed (ledger invariant 18): no journal entry or line may be dated on or before it,
-- whatever path inserts it. An outside event that arrives late is posted on the first open day,
-- its own date kept in `occurred_on`.
CREATE TABLE period_closes (
    id              INTEGER PRIMARY KEY,
    -- 'close' (a month and all before it) or 'reopen' (a month and all after it)
    action          TEXT    NOT NULL CHECK (action IN ('close', 'reopen')),
    -- the month closed or reopened, YYYY-MM
    month           TEXT    NOT NULL CHECK (length(month) = 7),
    -- the books are closed through this day after the change (NULL: nothing is closed)
    closed_through  TEXT,
    reason          TEXT    NOT NULL DEFAULT '',
    changed_by      TEXT    NOT NULL,
    changed_at      TEXT    NOT NULL
);

ALTER TABLE journal_entries ADD COLUMN occurred_on TEXT;

CREATE TRIGGER journal_entries_open_period BEFORE INSERT ON journal_entries
WHEN NEW.effective_date <= (SELECT closed_through FROM period_closes ORDER BY id DESC LIMIT 1)
BEGIN SELECT RAISE(ABORT, 'the books are closed for this date'); END;
CREATE TRIGGER journal_lines_open_period BEFORE INSERT ON journal_lines
WHEN NEW.effective_date <= (SELECT closed_through FROM period_closes ORDER BY id DESC LIMIT 1)
BEGIN SELECT RAISE(ABORT, 'the books are closed for this date'); END;
