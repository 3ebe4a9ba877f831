-- The journal page reads entries newest first, a page at a time from the previous page's last
-- (date, id): this index gives that order without sorting the whole journal. It also serves
-- every "entries after a date" check the old date-only index served.
CREATE INDEX journal_entries_newest ON journal_entries (effective_date DESC, id DESC);
DROP INDEX journal_entries_effective;
