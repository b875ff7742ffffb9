-- queueprim schema version 3 on PostgreSQL: finished jobs by the time they finished, so the
-- throughput of the last hour (the dashboard's charts, `top`'s rates) is read from the jobs
-- that finished in it, not from every job ever kept. Shipped migrations are never edited;
-- add a new file instead. The runner sets search_path to queueprim's schema before running
-- this.

CREATE INDEX jobs_finished ON jobs (finished_at, queue, status) WHERE status IN ('done', 'dead');
