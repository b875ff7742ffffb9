-- queueprim schema version 2: the API tokens of `queueprim serve`. Shipped migrations are
-- never edited; add a new file instead.

CREATE TABLE api_tokens (
    -- Public and stable (t_…): names the token in lists, revocations and the access log.
    id           TEXT    PRIMARY KEY,
    name         TEXT,
    -- SHA-256 of the secret, in hex: the secret itself is never stored.
    secret_hash  TEXT    NOT NULL UNIQUE,
    -- The queue patterns the token reaches, as a JSON array of strings.
    queues       TEXT    NOT NULL,
    -- 1: the token may only enqueue.
    produce_only INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER,
    revoked_at   INTEGER
);
