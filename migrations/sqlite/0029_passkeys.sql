-- Passkeys (WebAuthn): sign-in without a password, by a key a phone, laptop or security key
-- keeps and unlocks with the user's fingerprint, face or PIN. A passkey proves two factors
-- (something the user has, unlocked by something they know or are).

-- The random id an authenticator stores with the user's passkeys (WebAuthn's user handle): it
-- names the user to us without naming them to anyone else. Set at the first passkey.
ALTER TABLE users ADD COLUMN passkey_handle TEXT;
CREATE UNIQUE INDEX users_passkey_handle ON users (passkey_handle);

CREATE TABLE passkeys (
    id             INTEGER PRIMARY KEY,
    user_id        INTEGER NOT NULL REFERENCES users (id),
    -- the authenticator's id for the key (hex); one key belongs to one user
    credential_id  TEXT    NOT NULL UNIQUE,
    -- what the user called it ("Work laptop")
    name           TEXT    NOT NULL,
    -- the public key, signature counter and backup state, as webauthn-rs keeps them (JSON)
    credential     TEXT    NOT NULL,
    created_at     TEXT    NOT NULL,
    last_used_at   TEXT
);
CREATE INDEX passkeys_user ON passkeys (user_id);

-- A ceremony in flight: the challenge the browser was given, kept until its answer arrives
-- (single-use, five minutes). 'add' belongs to a signed-in user; 'sign_in' to no one yet.
CREATE TABLE passkey_ceremonies (
    -- SHA-256 of the ceremony's id (hex); the browser holds the id
    token_hash  TEXT    PRIMARY KEY,
    purpose     TEXT    NOT NULL CHECK (purpose IN ('add', 'sign_in')),
    user_id     INTEGER REFERENCES users (id),
    -- webauthn-rs's ceremony state (JSON): the challenge and what the answer must satisfy
    state       TEXT    NOT NULL,
    -- who asked: a visitor may hold only a few sign-in ceremonies at once
    ip          TEXT    NOT NULL,
    expires_at  TEXT    NOT NULL
);
CREATE INDEX passkey_ceremonies_ip ON passkey_ceremonies (ip, expires_at);
