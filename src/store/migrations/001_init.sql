-- queueprim schema version 1. Shipped migrations are never edited; add a new file instead.

CREATE TABLE jobs (
    -- Enqueue order: the FIFO tie-break among jobs of equal priority.
    seq           INTEGER PRIMARY KEY,
    id            TEXT    NOT NULL UNIQUE,
    queue         TEXT    NOT NULL,
    type          TEXT,
    payload       TEXT    NOT NULL,
    priority      INTEGER NOT NULL DEFAULT 0,
    -- 'scheduled' is a pending job that is not visible yet; users see it as 'pending'.
    -- Keeping the two apart leaves only visible jobs in jobs_ready, so a claim never has
    -- to step over delayed ones.
    status        TEXT    NOT NULL
                  CHECK (status IN ('scheduled', 'pending', 'claimed', 'done', 'dead')),
    attempt_count INTEGER NOT NULL DEFAULT 0,
    max_retries   INTEGER NOT NULL DEFAULT 0,
    worker        TEXT,
    claim         TEXT,
    -- 1 when the last claim ended by expiring, so its holder may still complete late.
    claim_lapsed  INTEGER NOT NULL DEFAULT 0,
    -- Pending: visible from then on. Claimed: the claim's deadline. Done/dead: NULL.
    visible_after INTEGER,
    output        TEXT,
    errors        TEXT    NOT NULL DEFAULT '[]',
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    finished_at   INTEGER
) STRICT;

-- The claim walks this index in exactly its ORDER BY (priority DESC, seq) within one queue.
CREATE INDEX jobs_ready ON jobs (queue, priority DESC, seq) WHERE status = 'pending';

-- The same for workers that claim one job type only.
CREATE INDEX jobs_ready_by_type ON jobs (queue, type, priority DESC, seq)
    WHERE status = 'pending';

-- Delayed jobs by the time they become visible, so due ones are found without a scan.
CREATE INDEX jobs_scheduled ON jobs (queue, visible_after) WHERE status = 'scheduled';

-- Claims by deadline, so expired ones are found without a scan.
CREATE INDEX jobs_claim_deadline ON jobs (queue, visible_after) WHERE status = 'claimed';

-- Counts per queue and status (stats, queues) and the queue/status filters of list and purge.
CREATE INDEX jobs_queue_status ON jobs (queue, status);
