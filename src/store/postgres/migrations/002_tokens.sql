-- queueprim schema version 2 on PostgreSQL: the API tokens of `queueprim serve`. Shipped
-- migrations are never edited; add a new file instead. The runner sets search_path to
-- queueprim's schema before running this.

CREATE TABLE api_tokens (
    -- Public and stable (t_…): names the token in lists, revocations and the access log.
    id           text    COLLATE "C" PRIMARY KEY,
    name         text,
    -- SHA-256 of the secret, in hex: the secret itself is never stored.
    secret_hash  text    COLLATE "C" NOT NULL UNIQUE,
    -- The queue patterns the token reaches, as a JSON array of strings.
    queues       text    NOT NULL,
    produce_only boolean NOT NULL DEFAULT false,
    created_at   bigint  NOT NULL,
    expires_at   bigint,
    revoked_at   bigint
);
