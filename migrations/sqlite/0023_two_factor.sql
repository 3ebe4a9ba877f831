-- Two-factor sign-in (TOTP and recovery codes), sign-in by an emailed link, and the pending
-- second step of a sign-in. Every single-use secret is a row of access_links, stored hashed.

-- SQLite cannot change a CHECK constraint in place: the table is rebuilt (nothing refers to it).
CREATE TABLE access_links_new (
    id          INTEGER PRIMARY KEY,
    -- SHA-256 of the secret in the link (hex); the secret itself is never stored
    token_hash  TEXT    NOT NULL UNIQUE,
    user_id     INTEGER NOT NULL REFERENCES users (id),
    -- 'sign_in': an emailed one-time sign-in link; 'second_factor': a password (or link) was
    -- right and the sign-in waits for a code, carried in a short-lived cookie
    purpose     TEXT    NOT NULL
                CHECK (purpose IN ('invitation', 'password_reset', 'sign_in', 'second_factor')),
    created_at  TEXT    NOT NULL,
    expires_at  TEXT    NOT NULL,
    used_at     TEXT,
    created_by  INTEGER REFERENCES users (id),
    -- wrong codes entered against a 'second_factor' row; at the limit the row is used up
    failures    INTEGER NOT NULL DEFAULT 0
);
INSERT INTO access_links_new (id, token_hash, user_id, purpose, created_at, expires_at, used_at, created_by)
    SELECT id, token_hash, user_id, purpose, created_at, expires_at, used_at, created_by FROM access_links;
DROP TABLE access_links;
ALTER TABLE access_links_new RENAME TO access_links;
CREATE INDEX access_links_user ON access_links (user_id);

-- One authenticator per user. TOTP needs the shared secret itself to check a code, so it is
-- stored as is (base32); the database is the secret's only copy on our side.
CREATE TABLE totp_factors (
    user_id       INTEGER PRIMARY KEY REFERENCES users (id),
    secret        TEXT    NOT NULL,
    created_at    TEXT    NOT NULL,
    -- NULL while enrolment waits for the first code from the app
    confirmed_at  TEXT,
    -- the newest 30-second step a code was accepted for: no code works twice
    last_step     INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE recovery_codes (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users (id),
    -- SHA-256 of the normalized code (80 random bits); the code itself is shown once
    code_hash   TEXT    NOT NULL,
    created_at  TEXT    NOT NULL,
    used_at     TEXT
);
CREATE INDEX recovery_codes_user ON recovery_codes (user_id, code_hash);

-- When the session proved a second factor (at sign-in, or by finishing enrolment in it).
ALTER TABLE sessions ADD COLUMN second_factor_at TEXT;
