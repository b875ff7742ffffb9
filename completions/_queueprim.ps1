
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'queueprim' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'queueprim'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'queueprim' {
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, json otherwise]')
            [CompletionResult]::new('--synchronous', '--synchronous', [CompletionResultType]::ParameterName, 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('enqueue', 'enqueue', [CompletionResultType]::ParameterValue, 'Add a job to a queue and print it')
            [CompletionResult]::new('dequeue', 'dequeue', [CompletionResultType]::ParameterValue, 'Claim the next visible job and print it')
            [CompletionResult]::new('complete', 'complete', [CompletionResultType]::ParameterValue, 'Mark a claimed job done')
            [CompletionResult]::new('fail', 'fail', [CompletionResultType]::ParameterValue, 'Record a failed attempt on a claimed job')
            [CompletionResult]::new('extend', 'extend', [CompletionResultType]::ParameterValue, 'Push a claim''s deadline further (a heartbeat for long jobs)')
            [CompletionResult]::new('get', 'get', [CompletionResultType]::ParameterValue, 'Print one job')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List jobs, newest first')
            [CompletionResult]::new('stats', 'stats', [CompletionResultType]::ParameterValue, 'Count jobs by status over every queue')
            [CompletionResult]::new('queues', 'queues', [CompletionResultType]::ParameterValue, 'Count jobs by status for each queue')
            [CompletionResult]::new('purge', 'purge', [CompletionResultType]::ParameterValue, 'Delete jobs matching filters and print how many')
            [CompletionResult]::new('info', 'info', [CompletionResultType]::ParameterValue, 'Show which database commands use and what it holds')
            [CompletionResult]::new('sweep', 'sweep', [CompletionResultType]::ParameterValue, 'Release expired claims, now and then, until stopped')
            [CompletionResult]::new('top', 'top', [CompletionResultType]::ParameterValue, 'Watch every queue''s counts and rates, redrawn in place until Ctrl-C')
            [CompletionResult]::new('work', 'work', [CompletionResultType]::ParameterValue, 'Run a command for each job: the worker loop, built in')
            [CompletionResult]::new('retry', 'retry', [CompletionResultType]::ParameterValue, 'Bring dead jobs back to pending with a fresh attempt budget')
            [CompletionResult]::new('release', 'release', [CompletionResultType]::ParameterValue, 'Give a claimed job back to the queue without counting a failed attempt')
            [CompletionResult]::new('cancel', 'cancel', [CompletionResultType]::ParameterValue, 'Take pending jobs out of their queue for good')
            [CompletionResult]::new('peek', 'peek', [CompletionResultType]::ParameterValue, 'Show the next jobs a dequeue would get, in order, without claiming them')
            [CompletionResult]::new('pause', 'pause', [CompletionResultType]::ParameterValue, 'Stop handing out a queue''s jobs; enqueue still accepts them')
            [CompletionResult]::new('resume', 'resume', [CompletionResultType]::ParameterValue, 'Hand out a paused queue''s jobs again')
            [CompletionResult]::new('config', 'config', [CompletionResultType]::ParameterValue, 'Show or set a queue''s defaults, used by jobs and claims that do not set their own')
            [CompletionResult]::new('export', 'export', [CompletionResultType]::ParameterValue, 'Write jobs and queue settings as lines of JSON, to move them to another database')
            [CompletionResult]::new('import', 'import', [CompletionResultType]::ParameterValue, 'Add the jobs and queue settings of an export, read from stdin, in one transaction')
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Serve the queue over HTTP, for producers and workers that cannot run the CLI')
            [CompletionResult]::new('token', 'token', [CompletionResultType]::ParameterValue, 'Create, list and revoke the API tokens of serve')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print the shell completion script for SHELL')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Print a man page, or write every page into a folder')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'queueprim;enqueue' {
            [CompletionResult]::new('--queue', '--queue', [CompletionResultType]::ParameterName, 'Queue name, instead of the positional QUEUE')
            [CompletionResult]::new('--payload', '--payload', [CompletionResultType]::ParameterName, 'The job''s payload: JSON, @FILE to read it from a file, or - to read stdin')
            [CompletionResult]::new('--priority', '--priority', [CompletionResultType]::ParameterName, 'Higher runs first: an integer, or high (10), normal (0), low (-10)')
            [CompletionResult]::new('--max-retries', '--max-retries', [CompletionResultType]::ParameterName, 'Retries after the first failure; the job is tried at most N + 1 times [default: the queue''s (see config), else 0]')
            [CompletionResult]::new('--backoff', '--backoff', [CompletionResultType]::ParameterName, 'Wait this long before the first retry, twice as long before each next one (with a little jitter) [default: the queue''s, else none]')
            [CompletionResult]::new('--backoff-max', '--backoff-max', [CompletionResultType]::ParameterName, 'Never wait longer than this between retries [default: 1d]')
            [CompletionResult]::new('--group', '--group', [CompletionResultType]::ParameterName, 'Ordered group: jobs of one group run one at a time, in enqueue order (other groups and ungrouped jobs are not held up)')
            [CompletionResult]::new('--key', '--key', [CompletionResultType]::ParameterName, 'Dedup key: while a job with this key is pending or claimed in the queue, return that job instead of adding another')
            [CompletionResult]::new('--delay', '--delay', [CompletionResultType]::ParameterName, 'Make the job visible only after this long (e.g. 90s, 1h 30m)')
            [CompletionResult]::new('--at', '--at', [CompletionResultType]::ParameterName, 'Make the job visible only from this time (RFC 3339, e.g. 2026-12-01T09:00:00Z)')
            [CompletionResult]::new('--type', '--type', [CompletionResultType]::ParameterName, 'Job type, so specialised workers can claim only theirs (dequeue --type)')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, json otherwise]')
            [CompletionResult]::new('--synchronous', '--synchronous', [CompletionResultType]::ParameterName, 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database')
            [CompletionResult]::new('--batch', '--batch', [CompletionResultType]::ParameterName, 'Read newline-delimited JSON payloads from stdin, enqueue all in one transaction')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'queueprim;dequeue' {
            [CompletionResult]::new('--queue', '--queue', [CompletionResultType]::ParameterName, 'Queue name, instead of the positional QUEUE')
            [CompletionResult]::new('--type', '--type', [CompletionResultType]::ParameterName, 'Claim only jobs of this type')
            [CompletionResult]::new('--wait', '--wait', [CompletionResultType]::ParameterName, 'Block until a job is available; with DUR, at most that long (write --wait=DUR or put the queue first when the queue is positional)')
            [CompletionResult]::new('--count', '--count', [CompletionResultType]::ParameterName, 'Claim up to N jobs (1 to 10000) at once and print them as an array')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long the claim lasts, at least 1s. A claim not completed, failed or extended by then expires, and that counts a failed attempt: with the default --max-retries 0 the job is then dead. A late complete --claim TOKEN still makes it done, as long as nobody has claimed it since [default: the queue''s (see config), else 30m]')
            [CompletionResult]::new('--worker', '--worker', [CompletionResultType]::ParameterName, 'Name this worker; stored on the job (its "worker" field) and shown by list')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, json otherwise]')
            [CompletionResult]::new('--synchronous', '--synchronous', [CompletionResultType]::ParameterName, 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'queueprim;complete' {
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Result to store on the job: JSON, @FILE, or - for stdin')
            [CompletionResult]::new('--claim', '--claim', [CompletionResultType]::ParameterName, 'Act only if this is still the job''s claim (the "claim" field printed by dequeue)')
            [CompletionResult]::new('--enqueue', '--enqueue', [CompletionResultType]::ParameterName, 'Also enqueue this follow-up job, in the same transaction: the completion and every follow-up commit together or not at all (repeatable)')
            [CompletionResult]::new('--follow-up', '--follow-up', [CompletionResultType]::ParameterName, 'Also enqueue follow-ups written as JSON objects with enqueue''s options, e.g. {"queue":"mail","payload":{..},"priority":"high","delay":"90s"} (also "type", "group", "key", "at", "max_retries", "backoff", "backoff_max"); @FILE or - reads any number of them, one after another (repeatable; after the --enqueue ones)')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, json otherwise]')
            [CompletionResult]::new('--synchronous', '--synchronous', [CompletionResultType]::ParameterName, 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'queueprim;fail' {
            [CompletionResult]::new('--reason', '--reason', [CompletionResultType]::ParameterName, 'Why it failed (kept in the job''s errors; cut at 4096 characters)')
            [CompletionResult]::new('--retry-in', '--retry-in', [CompletionResultType]::ParameterName, 'If the job is retried, wait this long first (instead of its backoff)')
            [CompletionResult]::new('--claim', '--claim', [CompletionResultType]::ParameterName, 'Act only if this is still the job''s claim')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, json otherwise]')
            [CompletionResult]::new('--synchronous', '--synchronous', [CompletionResultType]::ParameterName, 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database')
            [CompletionResult]::new('--dead', '--dead', [CompletionResultType]::ParameterName, 'Make the job dead now, whatever retries it has left')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'queueprim;extend' {
            [CompletionResult]::new('--by', '--by', [CompletionResultType]::ParameterName, 'How much longer the claim should last')
            [CompletionResult]::new('--claim', '--claim', [CompletionResultType]::ParameterName, 'Act only if this is still the job''s claim')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, json otherwise]')
            [CompletionResult]::new('--synchronous', '--synchronous', [CompletionResultType]::ParameterName, 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'queueprim;get' {
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, json otherwise]')
            [CompletionResult]::new('--synchronous', '--synchronous', [CompletionResultType]::ParameterName, 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'queueprim;list' {
            [CompletionResult]::new('--queue', '--queue', [CompletionResultType]::ParameterName, 'Only jobs in this queue, instead of the positional QUEUE')
            [CompletionResult]::new('--status', '--status', [CompletionResultType]::ParameterName, 'Only jobs with this status: pending, claimed, done or dead')
            [CompletionResult]::new('--type', '--type', [CompletionResultType]::ParameterName, 'Only jobs of this type')
            [CompletionResult]::new('--worker', '--worker', [CompletionResultType]::ParameterName, 'Only jobs last claimed by this worker')
            [CompletionResult]::new('--limit', '--limit', [CompletionResultType]::ParameterName, 'At most N jobs; 0 lists them all')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, json otherwise]')
            [CompletionResult]::new('--synchronous', '--synchronous', [CompletionResultType]::ParameterName, 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'queueprim;stats' {
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, json otherwise]')
            [CompletionResult]::new('--synchronous', '--synchronous', [CompletionResultType]::ParameterName, 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'queueprim;queues' {
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, json otherwise]')
            [CompletionResult]::new('--synchronous', '--synchronous', [CompletionResultType]::ParameterName, 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'queueprim;purge' {
            [CompletionResult]::new('--queue', '--queue', [CompletionResultType]::ParameterName, 'Only jobs in this queue, instead of the positional QUEUE')
            [CompletionResult]::new('--status', '--status', [CompletionResultType]::ParameterName, 'Only jobs with this status')
            [CompletionResult]::new('--older-than', '--older-than', [CompletionResultType]::ParameterName, 'Only jobs last updated more than DUR ago')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, json otherwise]')
            [CompletionResult]::new('--synchronous', '--synchronous', [CompletionResultType]::ParameterName, 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Count what would be deleted, delete nothing')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Allow a purge with no filter: delete every job that is not claimed')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'queueprim;info' {
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, json otherwise]')
            [CompletionResult]::new('--synchronous', '--synchronous', [CompletionResultType]::ParameterName, 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'queueprim;sweep' {
            [CompletionResult]::new('--interval', '--interval', [CompletionResultType]::ParameterName, 'Time between passes')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, json otherwise]')
            [CompletionResult]::new('--synchronous', '--synchronous', [CompletionResultType]::ParameterName, 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database')
            [CompletionResult]::new('--once', '--once', [CompletionResultType]::ParameterName, 'Make one pass, print what it did, and exit')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'queueprim;top' {
            [CompletionResult]::new('--interval', '--interval', [CompletionResultType]::ParameterName, 'Time between frames; the rates are counted over it')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, json otherwise]')
            [CompletionResult]::new('--synchronous', '--synchronous', [CompletionResultType]::ParameterName, 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database')
            [CompletionResult]::new('--once', '--once', [CompletionResultType]::ParameterName, 'Print one frame and exit')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'queueprim;work' {
            [CompletionResult]::new('--queue', '--queue', [CompletionResultType]::ParameterName, 'Queue name, instead of the positional QUEUE')
            [CompletionResult]::new('--type', '--type', [CompletionResultType]::ParameterName, 'Claim only jobs of this type')
            [CompletionResult]::new('--concurrency', '--concurrency', [CompletionResultType]::ParameterName, 'Run up to N jobs at once')
            [CompletionResult]::new('--job-timeout', '--job-timeout', [CompletionResultType]::ParameterName, 'Stop a command running longer than this (SIGTERM, SIGKILL 5 s later) and fail its job')
            [CompletionResult]::new('--max-jobs', '--max-jobs', [CompletionResultType]::ParameterName, 'Exit after N jobs have been run')
            [CompletionResult]::new('--grace', '--grace', [CompletionResultType]::ParameterName, 'On SIGINT/SIGTERM, how long running commands may finish before they are stopped')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'How long each claim lasts, at least 1s. While a command runs its claim is renewed every third of this, so it only bounds how long the jobs of a runner that crashed stay claimed (each such expiry counts a failed attempt) [default: the queue''s (see config), else 30m]')
            [CompletionResult]::new('--worker', '--worker', [CompletionResultType]::ParameterName, 'Name this runner; stored on the jobs it claims [default: HOST:PID]')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, json otherwise]')
            [CompletionResult]::new('--synchronous', '--synchronous', [CompletionResultType]::ParameterName, 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database')
            [CompletionResult]::new('--until-empty', '--until-empty', [CompletionResultType]::ParameterName, 'Exit once no job is visible and none is running')
            [CompletionResult]::new('--until-drained', '--until-drained', [CompletionResultType]::ParameterName, 'Exit once the queue (of --type) has no unfinished job left: none visible, delayed, backing off or waiting in its group, and none claimed, here or by anyone else (their jobs may fail and come back). A paused queue with jobs is not drained')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'queueprim;retry' {
            [CompletionResult]::new('--queue', '--queue', [CompletionResultType]::ParameterName, 'Retry every dead job of this queue')
            [CompletionResult]::new('--status', '--status', [CompletionResultType]::ParameterName, 'With --queue: which jobs to retry')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, json otherwise]')
            [CompletionResult]::new('--synchronous', '--synchronous', [CompletionResultType]::ParameterName, 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'queueprim;release' {
            [CompletionResult]::new('--claim', '--claim', [CompletionResultType]::ParameterName, 'Act only if this is still the job''s claim')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, json otherwise]')
            [CompletionResult]::new('--synchronous', '--synchronous', [CompletionResultType]::ParameterName, 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'queueprim;cancel' {
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, json otherwise]')
            [CompletionResult]::new('--synchronous', '--synchronous', [CompletionResultType]::ParameterName, 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'queueprim;peek' {
            [CompletionResult]::new('--queue', '--queue', [CompletionResultType]::ParameterName, 'Queue name, instead of the positional QUEUE')
            [CompletionResult]::new('--limit', '--limit', [CompletionResultType]::ParameterName, 'At most N jobs')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, json otherwise]')
            [CompletionResult]::new('--synchronous', '--synchronous', [CompletionResultType]::ParameterName, 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'queueprim;pause' {
            [CompletionResult]::new('--queue', '--queue', [CompletionResultType]::ParameterName, 'Queue name, instead of the positional QUEUE')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, json otherwise]')
            [CompletionResult]::new('--synchronous', '--synchronous', [CompletionResultType]::ParameterName, 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'queueprim;resume' {
            [CompletionResult]::new('--queue', '--queue', [CompletionResultType]::ParameterName, 'Queue name, instead of the positional QUEUE')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, json otherwise]')
            [CompletionResult]::new('--synchronous', '--synchronous', [CompletionResultType]::ParameterName, 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'queueprim;config' {
            [CompletionResult]::new('--queue', '--queue', [CompletionResultType]::ParameterName, 'Queue name, instead of the positional QUEUE')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Claim length for dequeue and work, at least 1s')
            [CompletionResult]::new('--max-retries', '--max-retries', [CompletionResultType]::ParameterName, 'Retries for new jobs')
            [CompletionResult]::new('--backoff', '--backoff', [CompletionResultType]::ParameterName, 'Retry backoff for new jobs')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, json otherwise]')
            [CompletionResult]::new('--synchronous', '--synchronous', [CompletionResultType]::ParameterName, 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database')
            [CompletionResult]::new('--reset', '--reset', [CompletionResultType]::ParameterName, 'Forget every default first (pausing is kept)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'queueprim;export' {
            [CompletionResult]::new('--queue', '--queue', [CompletionResultType]::ParameterName, 'Only the jobs and settings of this queue (repeatable)')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, json otherwise]')
            [CompletionResult]::new('--synchronous', '--synchronous', [CompletionResultType]::ParameterName, 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'queueprim;import' {
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, json otherwise]')
            [CompletionResult]::new('--synchronous', '--synchronous', [CompletionResultType]::ParameterName, 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database')
            [CompletionResult]::new('--skip-existing', '--skip-existing', [CompletionResultType]::ParameterName, 'Leave a job whose id is already in the database as it is, skip its line, and import the rest [default: refuse the whole import, exit 4]')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'queueprim;serve' {
            [CompletionResult]::new('--listen', '--listen', [CompletionResultType]::ParameterName, 'Address and port to listen on (port 0 picks a free one; the log says which)')
            [CompletionResult]::new('--max-connections', '--max-connections', [CompletionResultType]::ParameterName, 'Connections served at once; more wait to be accepted')
            [CompletionResult]::new('--idle-timeout', '--idle-timeout', [CompletionResultType]::ParameterName, 'Close a connection that sends no request (or not the rest of its headers) for this long')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, json otherwise]')
            [CompletionResult]::new('--synchronous', '--synchronous', [CompletionResultType]::ParameterName, 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database')
            [CompletionResult]::new('--no-auth', '--no-auth', [CompletionResultType]::ParameterName, 'Serve without tokens: every caller reaches every queue. Refused unless --listen is a loopback address')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'queueprim;token' {
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, json otherwise]')
            [CompletionResult]::new('--synchronous', '--synchronous', [CompletionResultType]::ParameterName, 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('create', 'create', [CompletionResultType]::ParameterValue, 'Make a token and print it, once')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List every token (never their secrets), revoked and expired ones included')
            [CompletionResult]::new('revoke', 'revoke', [CompletionResultType]::ParameterValue, 'Revoke a token for good; requests with it get 401 from then on')
            break
        }
        'queueprim;token;create' {
            [CompletionResult]::new('--queues', '--queues', [CompletionResultType]::ParameterName, 'Queue patterns the token reaches, comma-separated or repeated: a queue name, with * for any characters (tenant/acme/*), or * for every queue')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'A name for people (shown by token list)')
            [CompletionResult]::new('--expires', '--expires', [CompletionResultType]::ParameterName, 'The token stops working after this long [default: never]')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, json otherwise]')
            [CompletionResult]::new('--synchronous', '--synchronous', [CompletionResultType]::ParameterName, 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database')
            [CompletionResult]::new('--produce-only', '--produce-only', [CompletionResultType]::ParameterName, 'The token may only enqueue jobs (a producer): every other route answers 404')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'queueprim;token;list' {
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, json otherwise]')
            [CompletionResult]::new('--synchronous', '--synchronous', [CompletionResultType]::ParameterName, 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'queueprim;token;revoke' {
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, json otherwise]')
            [CompletionResult]::new('--synchronous', '--synchronous', [CompletionResultType]::ParameterName, 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'queueprim;completions' {
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, json otherwise]')
            [CompletionResult]::new('--synchronous', '--synchronous', [CompletionResultType]::ParameterName, 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'queueprim;man' {
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'Write every page into this folder instead (e.g. ~/.local/share/man/man1)')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, json otherwise]')
            [CompletionResult]::new('--synchronous', '--synchronous', [CompletionResultType]::ParameterName, 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'queueprim;help' {
            [CompletionResult]::new('enqueue', 'enqueue', [CompletionResultType]::ParameterValue, 'Add a job to a queue and print it')
            [CompletionResult]::new('dequeue', 'dequeue', [CompletionResultType]::ParameterValue, 'Claim the next visible job and print it')
            [CompletionResult]::new('complete', 'complete', [CompletionResultType]::ParameterValue, 'Mark a claimed job done')
            [CompletionResult]::new('fail', 'fail', [CompletionResultType]::ParameterValue, 'Record a failed attempt on a claimed job')
            [CompletionResult]::new('extend', 'extend', [CompletionResultType]::ParameterValue, 'Push a claim''s deadline further (a heartbeat for long jobs)')
            [CompletionResult]::new('get', 'get', [CompletionResultType]::ParameterValue, 'Print one job')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List jobs, newest first')
            [CompletionResult]::new('stats', 'stats', [CompletionResultType]::ParameterValue, 'Count jobs by status over every queue')
            [CompletionResult]::new('queues', 'queues', [CompletionResultType]::ParameterValue, 'Count jobs by status for each queue')
            [CompletionResult]::new('purge', 'purge', [CompletionResultType]::ParameterValue, 'Delete jobs matching filters and print how many')
            [CompletionResult]::new('info', 'info', [CompletionResultType]::ParameterValue, 'Show which database commands use and what it holds')
            [CompletionResult]::new('sweep', 'sweep', [CompletionResultType]::ParameterValue, 'Release expired claims, now and then, until stopped')
            [CompletionResult]::new('top', 'top', [CompletionResultType]::ParameterValue, 'Watch every queue''s counts and rates, redrawn in place until Ctrl-C')
            [CompletionResult]::new('work', 'work', [CompletionResultType]::ParameterValue, 'Run a command for each job: the worker loop, built in')
            [CompletionResult]::new('retry', 'retry', [CompletionResultType]::ParameterValue, 'Bring dead jobs back to pending with a fresh attempt budget')
            [CompletionResult]::new('release', 'release', [CompletionResultType]::ParameterValue, 'Give a claimed job back to the queue without counting a failed attempt')
            [CompletionResult]::new('cancel', 'cancel', [CompletionResultType]::ParameterValue, 'Take pending jobs out of their queue for good')
            [CompletionResult]::new('peek', 'peek', [CompletionResultType]::ParameterValue, 'Show the next jobs a dequeue would get, in order, without claiming them')
            [CompletionResult]::new('pause', 'pause', [CompletionResultType]::ParameterValue, 'Stop handing out a queue''s jobs; enqueue still accepts them')
            [CompletionResult]::new('resume', 'resume', [CompletionResultType]::ParameterValue, 'Hand out a paused queue''s jobs again')
            [CompletionResult]::new('config', 'config', [CompletionResultType]::ParameterValue, 'Show or set a queue''s defaults, used by jobs and claims that do not set their own')
            [CompletionResult]::new('export', 'export', [CompletionResultType]::ParameterValue, 'Write jobs and queue settings as lines of JSON, to move them to another database')
            [CompletionResult]::new('import', 'import', [CompletionResultType]::ParameterValue, 'Add the jobs and queue settings of an export, read from stdin, in one transaction')
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Serve the queue over HTTP, for producers and workers that cannot run the CLI')
            [CompletionResult]::new('token', 'token', [CompletionResultType]::ParameterValue, 'Create, list and revoke the API tokens of serve')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print the shell completion script for SHELL')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Print a man page, or write every page into a folder')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'queueprim;help;enqueue' {
            break
        }
        'queueprim;help;dequeue' {
            break
        }
        'queueprim;help;complete' {
            break
        }
        'queueprim;help;fail' {
            break
        }
        'queueprim;help;extend' {
            break
        }
        'queueprim;help;get' {
            break
        }
        'queueprim;help;list' {
            break
        }
        'queueprim;help;stats' {
            break
        }
        'queueprim;help;queues' {
            break
        }
        'queueprim;help;purge' {
            break
        }
        'queueprim;help;info' {
            break
        }
        'queueprim;help;sweep' {
            break
        }
        'queueprim;help;top' {
            break
        }
        'queueprim;help;work' {
            break
        }
        'queueprim;help;retry' {
            break
        }
        'queueprim;help;release' {
            break
        }
        'queueprim;help;cancel' {
            break
        }
        'queueprim;help;peek' {
            break
        }
        'queueprim;help;pause' {
            break
        }
        'queueprim;help;resume' {
            break
        }
        'queueprim;help;config' {
            break
        }
        'queueprim;help;export' {
            break
        }
        'queueprim;help;import' {
            break
        }
        'queueprim;help;serve' {
            break
        }
        'queueprim;help;token' {
            [CompletionResult]::new('create', 'create', [CompletionResultType]::ParameterValue, 'Make a token and print it, once')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List every token (never their secrets), revoked and expired ones included')
            [CompletionResult]::new('revoke', 'revoke', [CompletionResultType]::ParameterValue, 'Revoke a token for good; requests with it get 401 from then on')
            break
        }
        'queueprim;help;token;create' {
            break
        }
        'queueprim;help;token;list' {
            break
        }
        'queueprim;help;token;revoke' {
            break
        }
        'queueprim;help;completions' {
            break
        }
        'queueprim;help;man' {
            break
        }
        'queueprim;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
