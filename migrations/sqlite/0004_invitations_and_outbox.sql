-- Single-use links (invitations, password resets) and the outbox of messages to send.

CREATE TABLE access_links (
    id          INTEGER PRIMARY KEY,
    -- SHA-256 of the secret in the link (hex); the secret itself is never stored
    token_hash  TEXT    NOT NULL UNIQUE,
    user_id     INTEGER NOT NULL REFERENCES users (id),
    purpose     TEXT    NOT NULL CHECK (purpose IN ('invitation', 'password_reset')),
    created_at  TEXT    NOT NULL,
    expires_at  TEXT    NOT NULL,
    used_at     TEXT,
    created_by  INTEGER REFERENCES users (id)
);
CREATE INDEX access_links_user ON access_links (user_id);

CREATE TABLE outbox (
    id          INTEGER PRIMARY KEY,
    created_at  TEXT    NOT NULL,
    recipient   TEXT    NOT NULL,
    subject     TEXT    NOT NULL,
    body        TEXT    NOT NULL,
    -- what the message is about, e.g. 'invitation', 'password_reset', 'receipt'
    kind        TEXT    NOT NULL,
    status      TEXT    NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'failed')),
    sent_at     TEXT,
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX outbox_status ON outbox (status, id);
