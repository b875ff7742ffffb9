-- queueprim schema version 1 on PostgreSQL. Shipped migrations are never edited; add a new
-- file instead. The runner sets search_path to queueprim's schema before running this.
--
-- The columns mirror the SQLite schema so that rows map to the same jobs. Times are
-- milliseconds since the epoch, always read from the database server's clock. Names are
-- compared byte-wise (COLLATE "C"), as SQLite compares them, so every order is the same on
-- both engines. payload and output stay text, so the JSON is kept exactly as given.

CREATE TABLE queueprim_meta (
    version integer NOT NULL
);
INSERT INTO queueprim_meta (version) VALUES (0);

CREATE TABLE jobs (
    -- Enqueue order: the FIFO tie-break among jobs of equal priority, and the order within
    -- a group.
    seq            bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id             text    COLLATE "C" NOT NULL UNIQUE,
    queue          text    COLLATE "C" NOT NULL,
    type           text    COLLATE "C",
    payload        text    NOT NULL,
    priority       bigint  NOT NULL DEFAULT 0,
    -- Users see four statuses. 'scheduled' (not visible yet) and 'queued' (waiting behind
    -- an earlier job of its group) are pending jobs kept apart, so that jobs_ready holds
    -- only jobs that can be claimed now and a claim never steps over any other.
    status         text    NOT NULL
                   CHECK (status IN ('queued', 'scheduled', 'pending', 'claimed', 'done', 'dead')),
    attempt_count  bigint  NOT NULL DEFAULT 0,
    max_retries    bigint  NOT NULL DEFAULT 0,
    backoff_ms     bigint,
    backoff_max_ms bigint,
    job_group      text    COLLATE "C",
    dedup_key      text    COLLATE "C",
    worker         text,
    claim          text,
    -- true when the last claim ended by expiring, so its holder may still complete late.
    claim_lapsed   boolean NOT NULL DEFAULT false,
    -- Pending: visible from then on. Claimed: the claim's deadline. Done/dead: NULL.
    visible_after  bigint,
    output         text,
    errors         text    NOT NULL DEFAULT '[]',
    created_at     bigint  NOT NULL,
    updated_at     bigint  NOT NULL,
    finished_at    bigint
);

-- The claim walks this index in exactly its ORDER BY (priority DESC, seq) within one queue,
-- locking the first rows nobody else holds (FOR UPDATE SKIP LOCKED).
CREATE INDEX jobs_ready ON jobs (queue, priority DESC, seq) WHERE status = 'pending';

-- The same for workers that claim one job type only.
CREATE INDEX jobs_ready_by_type ON jobs (queue, type, priority DESC, seq)
    WHERE status = 'pending' AND type IS NOT NULL;

-- Delayed jobs by the time they become visible, so due ones are found without a scan.
CREATE INDEX jobs_scheduled ON jobs (queue, visible_after) WHERE status = 'scheduled';

-- Claims by deadline, so expired ones are found without a scan.
CREATE INDEX jobs_claim_deadline ON jobs (queue, visible_after) WHERE status = 'claimed';

-- The one live job of a group. Unique here, unlike on SQLite: transactions run side by side
-- on PostgreSQL, and this refuses a second live job should the group lock ever be missed.
CREATE UNIQUE INDEX jobs_group_live ON jobs (queue, job_group)
    WHERE job_group IS NOT NULL AND status IN ('scheduled', 'pending', 'claimed');

-- The jobs waiting in a group, in order, so the next one is found without a scan.
CREATE INDEX jobs_group_queued ON jobs (queue, job_group, seq) WHERE status = 'queued';

-- At most one unfinished job per key and queue; concurrent enqueues of one key meet here.
CREATE UNIQUE INDEX jobs_dedup ON jobs (queue, dedup_key)
    WHERE dedup_key IS NOT NULL AND status IN ('queued', 'scheduled', 'pending', 'claimed');

-- Counts per queue and status (stats, queues); list and purge by queue and status, newest
-- first.
CREATE INDEX jobs_queue_status ON jobs (queue, status, seq);

-- list of one queue, newest first, a page at a time.
CREATE INDEX jobs_queue_seq ON jobs (queue, seq);

-- Per-queue settings: pause, and defaults for jobs that do not say otherwise.
CREATE TABLE queue_settings (
    queue       text    COLLATE "C" PRIMARY KEY,
    paused      boolean NOT NULL DEFAULT false,
    timeout_ms  bigint,
    max_retries bigint,
    backoff_ms  bigint
);

-- Every claim and finish rewrites a row, and a status change is never a HOT update (status
-- is in the partial indexes' predicates), so the table churns: vacuum it early and often,
-- without the cost-based pauses meant for tables that change slowly.
ALTER TABLE jobs SET (
    autovacuum_vacuum_scale_factor = 0.01,
    autovacuum_vacuum_threshold = 1000,
    autovacuum_vacuum_insert_scale_factor = 0.01,
    autovacuum_analyze_scale_factor = 0.02,
    autovacuum_vacuum_cost_delay = 1
);
