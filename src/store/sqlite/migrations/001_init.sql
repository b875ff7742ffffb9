-- queueprim schema version 1. Shipped migrations are never edited; add a new file instead.

CREATE TABLE jobs (
    -- Enqueue order: the FIFO tie-break among jobs of equal priority, and the order within
    -- a group.
    seq            INTEGER PRIMARY KEY,
    id             TEXT    NOT NULL UNIQUE,
    queue          TEXT    NOT NULL,
    type           TEXT,
    payload        TEXT    NOT NULL,
    priority       INTEGER NOT NULL DEFAULT 0,
    -- Users see four statuses. 'scheduled' (not visible yet) and 'queued' (waiting behind
    -- an earlier job of its group) are pending jobs kept apart, so that jobs_ready holds
    -- only jobs that can be claimed now and a claim never steps over any other.
    status         TEXT    NOT NULL
                   CHECK (status IN ('queued', 'scheduled', 'pending', 'claimed', 'done', 'dead')),
    attempt_count  INTEGER NOT NULL DEFAULT 0,
    max_retries    INTEGER NOT NULL DEFAULT 0,
    -- Retry delays: backoff_ms, doubling per failed attempt, capped at backoff_max_ms.
    backoff_ms     INTEGER,
    backoff_max_ms INTEGER,
    -- Jobs of one group run one at a time, in enqueue order.
    job_group      TEXT,
    -- While a job with this key is unfinished in its queue, enqueueing the key again
    -- returns that job instead of adding one.
    dedup_key      TEXT,
    worker         TEXT,
    claim          TEXT,
    -- 1 when the last claim ended by expiring, so its holder may still complete late.
    claim_lapsed   INTEGER NOT NULL DEFAULT 0,
    -- Pending: visible from then on. Claimed: the claim's deadline. Done/dead: NULL.
    visible_after  INTEGER,
    output         TEXT,
    errors         TEXT    NOT NULL DEFAULT '[]',
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    finished_at    INTEGER
) STRICT;

-- The claim walks this index in exactly its ORDER BY (priority DESC, seq) within one queue.
CREATE INDEX jobs_ready ON jobs (queue, priority DESC, seq) WHERE status = 'pending';

-- The same for workers that claim one job type only (untyped jobs need no entry: a claim
-- for a type never wants them).
CREATE INDEX jobs_ready_by_type ON jobs (queue, type, priority DESC, seq)
    WHERE status = 'pending' AND type IS NOT NULL;

-- Delayed jobs by the time they become visible, so due ones are found without a scan.
CREATE INDEX jobs_scheduled ON jobs (queue, visible_after) WHERE status = 'scheduled';

-- Claims by deadline, so expired ones are found without a scan.
CREATE INDEX jobs_claim_deadline ON jobs (queue, visible_after) WHERE status = 'claimed';

-- The one job of a group that is not waiting behind another (at most one per group).
CREATE INDEX jobs_group_live ON jobs (queue, job_group)
    WHERE job_group IS NOT NULL AND status IN ('scheduled', 'pending', 'claimed');

-- The jobs waiting in a group, in order, so the next one is found without a scan.
CREATE INDEX jobs_group_queued ON jobs (queue, job_group, seq) WHERE status = 'queued';

-- At most one unfinished job per key and queue.
CREATE UNIQUE INDEX jobs_dedup ON jobs (queue, dedup_key)
    WHERE dedup_key IS NOT NULL AND status IN ('queued', 'scheduled', 'pending', 'claimed');

-- Counts per queue and status (stats, queues); list and purge by queue and status, newest
-- first.
CREATE INDEX jobs_queue_status ON jobs (queue, status, seq);

-- list of one queue, newest first, a page at a time.
CREATE INDEX jobs_queue_seq ON jobs (queue, seq);

-- Per-queue settings: pause, and defaults for jobs that do not say otherwise.
CREATE TABLE queue_settings (
    queue       TEXT    PRIMARY KEY,
    paused      INTEGER NOT NULL DEFAULT 0,
    timeout_ms  INTEGER,
    max_retries INTEGER,
    backoff_ms  INTEGER
) STRICT;
