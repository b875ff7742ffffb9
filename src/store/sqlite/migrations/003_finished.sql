-- queueprim schema version 3: finished jobs by the time they finished, so the throughput of
-- the last hour (the dashboard's charts, `top`'s rates) is read from the jobs that finished
-- in it, not from every job ever kept. Shipped migrations are never edited; add a new file
-- instead.

CREATE INDEX jobs_finished ON jobs (finished_at, queue, status) WHERE status IN ('done', 'dead');
