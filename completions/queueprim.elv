
use builtin;
use str;

set edit:completion:arg-completer[queueprim] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'queueprim'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'queueprim'= {
            cand --db 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]'
            cand --format 'Output format [default: table on a terminal, json otherwise]'
            cand --synchronous 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand enqueue 'Add a job to a queue and print it'
            cand dequeue 'Claim the next visible job and print it'
            cand complete 'Mark a claimed job done'
            cand fail 'Record a failed attempt on a claimed job'
            cand extend 'Push a claim''s deadline further (a heartbeat for long jobs)'
            cand get 'Print one job'
            cand list 'List jobs, newest first'
            cand stats 'Count jobs by status over every queue'
            cand queues 'Count jobs by status for each queue'
            cand purge 'Delete jobs matching filters and print how many'
            cand info 'Show which database commands use and what it holds'
            cand sweep 'Release expired claims, now and then, until stopped'
            cand top 'Watch every queue''s counts and rates, redrawn in place until Ctrl-C'
            cand work 'Run a command for each job: the worker loop, built in'
            cand retry 'Bring dead jobs back to pending with a fresh attempt budget'
            cand release 'Give a claimed job back to the queue without counting a failed attempt'
            cand cancel 'Take pending jobs out of their queue for good'
            cand peek 'Show the next jobs a dequeue would get, in order, without claiming them'
            cand pause 'Stop handing out a queue''s jobs; enqueue still accepts them'
            cand resume 'Hand out a paused queue''s jobs again'
            cand config 'Show or set a queue''s defaults, used by jobs and claims that do not set their own'
            cand export 'Write jobs and queue settings as lines of JSON, to move them to another database'
            cand import 'Add the jobs and queue settings of an export, read from stdin, in one transaction'
            cand serve 'Serve the queue over HTTP, for producers and workers that cannot run the CLI'
            cand token 'Create, list and revoke the API tokens of serve'
            cand completions 'Print the shell completion script for SHELL'
            cand man 'Print a man page, or write every page into a folder'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'queueprim;enqueue'= {
            cand --queue 'Queue name, instead of the positional QUEUE'
            cand --payload 'The job''s payload: JSON, @FILE to read it from a file, or - to read stdin'
            cand --priority 'Higher runs first: an integer, or high (10), normal (0), low (-10)'
            cand --max-retries 'Retries after the first failure; the job is tried at most N + 1 times [default: the queue''s (see config), else 0]'
            cand --backoff 'Wait this long before the first retry, twice as long before each next one (with a little jitter) [default: the queue''s, else none]'
            cand --backoff-max 'Never wait longer than this between retries [default: 1d]'
            cand --group 'Ordered group: jobs of one group run one at a time, in enqueue order (other groups and ungrouped jobs are not held up)'
            cand --key 'Dedup key: while a job with this key is pending or claimed in the queue, return that job instead of adding another'
            cand --delay 'Make the job visible only after this long (e.g. 90s, 1h 30m)'
            cand --at 'Make the job visible only from this time (RFC 3339, e.g. 2026-12-01T09:00:00Z)'
            cand --type 'Job type, so specialised workers can claim only theirs (dequeue --type)'
            cand --db 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]'
            cand --format 'Output format [default: table on a terminal, json otherwise]'
            cand --synchronous 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database'
            cand --batch 'Read newline-delimited JSON payloads from stdin, enqueue all in one transaction'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'queueprim;dequeue'= {
            cand --queue 'Queue name, instead of the positional QUEUE'
            cand --type 'Claim only jobs of this type'
            cand --wait 'Block until a job is available; with DUR, at most that long (write --wait=DUR or put the queue first when the queue is positional)'
            cand --count 'Claim up to N jobs (1 to 10000) at once and print them as an array'
            cand --timeout 'How long the claim lasts, at least 1s. A claim not completed, failed or extended by then expires, and that counts a failed attempt: with the default --max-retries 0 the job is then dead. A late complete --claim TOKEN still makes it done, as long as nobody has claimed it since [default: the queue''s (see config), else 30m]'
            cand --worker 'Name this worker; stored on the job (its "worker" field) and shown by list'
            cand --db 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]'
            cand --format 'Output format [default: table on a terminal, json otherwise]'
            cand --synchronous 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'queueprim;complete'= {
            cand --output 'Result to store on the job: JSON, @FILE, or - for stdin'
            cand --claim 'Act only if this is still the job''s claim (the "claim" field printed by dequeue)'
            cand --enqueue 'Also enqueue this follow-up job, in the same transaction: the completion and every follow-up commit together or not at all (repeatable)'
            cand --follow-up 'Also enqueue follow-ups written as JSON objects with enqueue''s options, e.g. {"queue":"mail","payload":{..},"priority":"high","delay":"90s"} (also "type", "group", "key", "at", "max_retries", "backoff", "backoff_max"); @FILE or - reads any number of them, one after another (repeatable; after the --enqueue ones)'
            cand --db 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]'
            cand --format 'Output format [default: table on a terminal, json otherwise]'
            cand --synchronous 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'queueprim;fail'= {
            cand --reason 'Why it failed (kept in the job''s errors; cut at 4096 characters)'
            cand --retry-in 'If the job is retried, wait this long first (instead of its backoff)'
            cand --claim 'Act only if this is still the job''s claim'
            cand --db 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]'
            cand --format 'Output format [default: table on a terminal, json otherwise]'
            cand --synchronous 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database'
            cand --dead 'Make the job dead now, whatever retries it has left'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'queueprim;extend'= {
            cand --by 'How much longer the claim should last'
            cand --claim 'Act only if this is still the job''s claim'
            cand --db 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]'
            cand --format 'Output format [default: table on a terminal, json otherwise]'
            cand --synchronous 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'queueprim;get'= {
            cand --db 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]'
            cand --format 'Output format [default: table on a terminal, json otherwise]'
            cand --synchronous 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'queueprim;list'= {
            cand --queue 'Only jobs in this queue, instead of the positional QUEUE'
            cand --status 'Only jobs with this status: pending, claimed, done or dead'
            cand --type 'Only jobs of this type'
            cand --worker 'Only jobs last claimed by this worker'
            cand --limit 'At most N jobs; 0 lists them all'
            cand --db 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]'
            cand --format 'Output format [default: table on a terminal, json otherwise]'
            cand --synchronous 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'queueprim;stats'= {
            cand --db 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]'
            cand --format 'Output format [default: table on a terminal, json otherwise]'
            cand --synchronous 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'queueprim;queues'= {
            cand --db 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]'
            cand --format 'Output format [default: table on a terminal, json otherwise]'
            cand --synchronous 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'queueprim;purge'= {
            cand --queue 'Only jobs in this queue, instead of the positional QUEUE'
            cand --status 'Only jobs with this status'
            cand --older-than 'Only jobs last updated more than DUR ago'
            cand --db 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]'
            cand --format 'Output format [default: table on a terminal, json otherwise]'
            cand --synchronous 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database'
            cand --dry-run 'Count what would be deleted, delete nothing'
            cand --all 'Allow a purge with no filter: delete every job that is not claimed'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'queueprim;info'= {
            cand --db 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]'
            cand --format 'Output format [default: table on a terminal, json otherwise]'
            cand --synchronous 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'queueprim;sweep'= {
            cand --interval 'Time between passes'
            cand --db 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]'
            cand --format 'Output format [default: table on a terminal, json otherwise]'
            cand --synchronous 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database'
            cand --once 'Make one pass, print what it did, and exit'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'queueprim;top'= {
            cand --interval 'Time between frames; the rates are counted over it'
            cand --db 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]'
            cand --format 'Output format [default: table on a terminal, json otherwise]'
            cand --synchronous 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database'
            cand --once 'Print one frame and exit'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'queueprim;work'= {
            cand --queue 'Queue name, instead of the positional QUEUE'
            cand --type 'Claim only jobs of this type'
            cand --concurrency 'Run up to N jobs at once'
            cand --job-timeout 'Stop a command running longer than this (SIGTERM, SIGKILL 5 s later) and fail its job'
            cand --max-jobs 'Exit after N jobs have been run'
            cand --grace 'On SIGINT/SIGTERM, how long running commands may finish before they are stopped'
            cand --timeout 'How long each claim lasts, at least 1s. While a command runs its claim is renewed every third of this, so it only bounds how long the jobs of a runner that crashed stay claimed (each such expiry counts a failed attempt) [default: the queue''s (see config), else 30m]'
            cand --worker 'Name this runner; stored on the jobs it claims [default: HOST:PID]'
            cand --db 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]'
            cand --format 'Output format [default: table on a terminal, json otherwise]'
            cand --synchronous 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database'
            cand --until-empty 'Exit once no job is visible and none is running'
            cand --until-drained 'Exit once the queue (of --type) has no unfinished job left: none visible, delayed, backing off or waiting in its group, and none claimed, here or by anyone else (their jobs may fail and come back). A paused queue with jobs is not drained'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'queueprim;retry'= {
            cand --queue 'Retry every dead job of this queue'
            cand --status 'With --queue: which jobs to retry'
            cand --db 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]'
            cand --format 'Output format [default: table on a terminal, json otherwise]'
            cand --synchronous 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'queueprim;release'= {
            cand --claim 'Act only if this is still the job''s claim'
            cand --db 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]'
            cand --format 'Output format [default: table on a terminal, json otherwise]'
            cand --synchronous 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'queueprim;cancel'= {
            cand --db 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]'
            cand --format 'Output format [default: table on a terminal, json otherwise]'
            cand --synchronous 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'queueprim;peek'= {
            cand --queue 'Queue name, instead of the positional QUEUE'
            cand --limit 'At most N jobs'
            cand --db 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]'
            cand --format 'Output format [default: table on a terminal, json otherwise]'
            cand --synchronous 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'queueprim;pause'= {
            cand --queue 'Queue name, instead of the positional QUEUE'
            cand --db 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]'
            cand --format 'Output format [default: table on a terminal, json otherwise]'
            cand --synchronous 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'queueprim;resume'= {
            cand --queue 'Queue name, instead of the positional QUEUE'
            cand --db 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]'
            cand --format 'Output format [default: table on a terminal, json otherwise]'
            cand --synchronous 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'queueprim;config'= {
            cand --queue 'Queue name, instead of the positional QUEUE'
            cand --timeout 'Claim length for dequeue and work, at least 1s'
            cand --max-retries 'Retries for new jobs'
            cand --backoff 'Retry backoff for new jobs'
            cand --db 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]'
            cand --format 'Output format [default: table on a terminal, json otherwise]'
            cand --synchronous 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database'
            cand --reset 'Forget every default first (pausing is kept)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'queueprim;export'= {
            cand --queue 'Only the jobs and settings of this queue (repeatable)'
            cand --db 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]'
            cand --format 'Output format [default: table on a terminal, json otherwise]'
            cand --synchronous 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'queueprim;import'= {
            cand --db 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]'
            cand --format 'Output format [default: table on a terminal, json otherwise]'
            cand --synchronous 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database'
            cand --skip-existing 'Leave a job whose id is already in the database as it is, skip its line, and import the rest [default: refuse the whole import, exit 4]'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'queueprim;serve'= {
            cand --listen 'Address and port to listen on (port 0 picks a free one; the log says which)'
            cand --max-connections 'Connections served at once; more wait to be accepted'
            cand --idle-timeout 'Close a connection that sends no request (or not the rest of its headers) for this long'
            cand --db 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]'
            cand --format 'Output format [default: table on a terminal, json otherwise]'
            cand --synchronous 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database'
            cand --no-auth 'Serve without tokens: every caller reaches every queue. Refused unless --listen is a loopback address'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'queueprim;token'= {
            cand --db 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]'
            cand --format 'Output format [default: table on a terminal, json otherwise]'
            cand --synchronous 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand create 'Make a token and print it, once'
            cand list 'List every token (never their secrets), revoked and expired ones included'
            cand revoke 'Revoke a token for good; requests with it get 401 from then on'
        }
        &'queueprim;token;create'= {
            cand --queues 'Queue patterns the token reaches, comma-separated or repeated: a queue name, with * for any characters (tenant/acme/*), or * for every queue'
            cand --name 'A name for people (shown by token list)'
            cand --expires 'The token stops working after this long [default: never]'
            cand --db 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]'
            cand --format 'Output format [default: table on a terminal, json otherwise]'
            cand --synchronous 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database'
            cand --produce-only 'The token may only enqueue jobs (a producer): every other route answers 404'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'queueprim;token;list'= {
            cand --db 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]'
            cand --format 'Output format [default: table on a terminal, json otherwise]'
            cand --synchronous 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'queueprim;token;revoke'= {
            cand --db 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]'
            cand --format 'Output format [default: table on a terminal, json otherwise]'
            cand --synchronous 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'queueprim;completions'= {
            cand --db 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]'
            cand --format 'Output format [default: table on a terminal, json otherwise]'
            cand --synchronous 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'queueprim;man'= {
            cand --dir 'Write every page into this folder instead (e.g. ~/.local/share/man/man1)'
            cand --db 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]'
            cand --format 'Output format [default: table on a terminal, json otherwise]'
            cand --synchronous 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'queueprim;help'= {
            cand enqueue 'Add a job to a queue and print it'
            cand dequeue 'Claim the next visible job and print it'
            cand complete 'Mark a claimed job done'
            cand fail 'Record a failed attempt on a claimed job'
            cand extend 'Push a claim''s deadline further (a heartbeat for long jobs)'
            cand get 'Print one job'
            cand list 'List jobs, newest first'
            cand stats 'Count jobs by status over every queue'
            cand queues 'Count jobs by status for each queue'
            cand purge 'Delete jobs matching filters and print how many'
            cand info 'Show which database commands use and what it holds'
            cand sweep 'Release expired claims, now and then, until stopped'
            cand top 'Watch every queue''s counts and rates, redrawn in place until Ctrl-C'
            cand work 'Run a command for each job: the worker loop, built in'
            cand retry 'Bring dead jobs back to pending with a fresh attempt budget'
            cand release 'Give a claimed job back to the queue without counting a failed attempt'
            cand cancel 'Take pending jobs out of their queue for good'
            cand peek 'Show the next jobs a dequeue would get, in order, without claiming them'
            cand pause 'Stop handing out a queue''s jobs; enqueue still accepts them'
            cand resume 'Hand out a paused queue''s jobs again'
            cand config 'Show or set a queue''s defaults, used by jobs and claims that do not set their own'
            cand export 'Write jobs and queue settings as lines of JSON, to move them to another database'
            cand import 'Add the jobs and queue settings of an export, read from stdin, in one transaction'
            cand serve 'Serve the queue over HTTP, for producers and workers that cannot run the CLI'
            cand token 'Create, list and revoke the API tokens of serve'
            cand completions 'Print the shell completion script for SHELL'
            cand man 'Print a man page, or write every page into a folder'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'queueprim;help;enqueue'= {
        }
        &'queueprim;help;dequeue'= {
        }
        &'queueprim;help;complete'= {
        }
        &'queueprim;help;fail'= {
        }
        &'queueprim;help;extend'= {
        }
        &'queueprim;help;get'= {
        }
        &'queueprim;help;list'= {
        }
        &'queueprim;help;stats'= {
        }
        &'queueprim;help;queues'= {
        }
        &'queueprim;help;purge'= {
        }
        &'queueprim;help;info'= {
        }
        &'queueprim;help;sweep'= {
        }
        &'queueprim;help;top'= {
        }
        &'queueprim;help;work'= {
        }
        &'queueprim;help;retry'= {
        }
        &'queueprim;help;release'= {
        }
        &'queueprim;help;cancel'= {
        }
        &'queueprim;help;peek'= {
        }
        &'queueprim;help;pause'= {
        }
        &'queueprim;help;resume'= {
        }
        &'queueprim;help;config'= {
        }
        &'queueprim;help;export'= {
        }
        &'queueprim;help;import'= {
        }
        &'queueprim;help;serve'= {
        }
        &'queueprim;help;token'= {
            cand create 'Make a token and print it, once'
            cand list 'List every token (never their secrets), revoked and expired ones included'
            cand revoke 'Revoke a token for good; requests with it get 401 from then on'
        }
        &'queueprim;help;token;create'= {
        }
        &'queueprim;help;token;list'= {
        }
        &'queueprim;help;token;revoke'= {
        }
        &'queueprim;help;completions'= {
        }
        &'queueprim;help;man'= {
        }
        &'queueprim;help;help'= {
        }
    ]
    $completions[$command]
}
