# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_queueprim_global_optspecs
    string join \n db= format= synchronous= h/help V/version
end

function __fish_queueprim_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_queueprim_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_queueprim_using_subcommand
    set -l cmd (__fish_queueprim_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c queueprim -n "__fish_queueprim_needs_command" -l db -d 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]' -r -F
complete -c queueprim -n "__fish_queueprim_needs_command" -l format -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t''
json\t''
jsonl\t''"
complete -c queueprim -n "__fish_queueprim_needs_command" -l synchronous -d 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database' -r -f -a "full\t''
normal\t''"
complete -c queueprim -n "__fish_queueprim_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c queueprim -n "__fish_queueprim_needs_command" -s V -l version -d 'Print version'
complete -c queueprim -n "__fish_queueprim_needs_command" -f -a "enqueue" -d 'Add a job to a queue and print it'
complete -c queueprim -n "__fish_queueprim_needs_command" -f -a "dequeue" -d 'Claim the next visible job and print it'
complete -c queueprim -n "__fish_queueprim_needs_command" -f -a "complete" -d 'Mark a claimed job done'
complete -c queueprim -n "__fish_queueprim_needs_command" -f -a "fail" -d 'Record a failed attempt on a claimed job'
complete -c queueprim -n "__fish_queueprim_needs_command" -f -a "extend" -d 'Push a claim\'s deadline further (a heartbeat for long jobs)'
complete -c queueprim -n "__fish_queueprim_needs_command" -f -a "get" -d 'Print one job'
complete -c queueprim -n "__fish_queueprim_needs_command" -f -a "list" -d 'List jobs, newest first'
complete -c queueprim -n "__fish_queueprim_needs_command" -f -a "stats" -d 'Count jobs by status over every queue'
complete -c queueprim -n "__fish_queueprim_needs_command" -f -a "queues" -d 'Count jobs by status for each queue'
complete -c queueprim -n "__fish_queueprim_needs_command" -f -a "purge" -d 'Delete jobs matching filters and print how many'
complete -c queueprim -n "__fish_queueprim_needs_command" -f -a "info" -d 'Show which database commands use and what it holds'
complete -c queueprim -n "__fish_queueprim_needs_command" -f -a "sweep" -d 'Release expired claims, now and then, until stopped'
complete -c queueprim -n "__fish_queueprim_needs_command" -f -a "top" -d 'Watch every queue\'s counts and rates, redrawn in place until Ctrl-C'
complete -c queueprim -n "__fish_queueprim_needs_command" -f -a "work" -d 'Run a command for each job: the worker loop, built in'
complete -c queueprim -n "__fish_queueprim_needs_command" -f -a "retry" -d 'Bring dead jobs back to pending with a fresh attempt budget'
complete -c queueprim -n "__fish_queueprim_needs_command" -f -a "release" -d 'Give a claimed job back to the queue without counting a failed attempt'
complete -c queueprim -n "__fish_queueprim_needs_command" -f -a "cancel" -d 'Take pending jobs out of their queue for good'
complete -c queueprim -n "__fish_queueprim_needs_command" -f -a "peek" -d 'Show the next jobs a dequeue would get, in order, without claiming them'
complete -c queueprim -n "__fish_queueprim_needs_command" -f -a "pause" -d 'Stop handing out a queue\'s jobs; enqueue still accepts them'
complete -c queueprim -n "__fish_queueprim_needs_command" -f -a "resume" -d 'Hand out a paused queue\'s jobs again'
complete -c queueprim -n "__fish_queueprim_needs_command" -f -a "config" -d 'Show or set a queue\'s defaults, used by jobs and claims that do not set their own'
complete -c queueprim -n "__fish_queueprim_needs_command" -f -a "export" -d 'Write jobs and queue settings as lines of JSON, to move them to another database'
complete -c queueprim -n "__fish_queueprim_needs_command" -f -a "import" -d 'Add the jobs and queue settings of an export, read from stdin, in one transaction'
complete -c queueprim -n "__fish_queueprim_needs_command" -f -a "serve" -d 'Serve the queue over HTTP, for producers and workers that cannot run the CLI'
complete -c queueprim -n "__fish_queueprim_needs_command" -f -a "token" -d 'Create, list and revoke the API tokens of serve'
complete -c queueprim -n "__fish_queueprim_needs_command" -f -a "completions" -d 'Print the shell completion script for SHELL'
complete -c queueprim -n "__fish_queueprim_needs_command" -f -a "man" -d 'Print a man page, or write every page into a folder'
complete -c queueprim -n "__fish_queueprim_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c queueprim -n "__fish_queueprim_using_subcommand enqueue" -l queue -d 'Queue name, instead of the positional QUEUE' -r
complete -c queueprim -n "__fish_queueprim_using_subcommand enqueue" -l payload -d 'The job\'s payload: JSON, @FILE to read it from a file, or - to read stdin' -r
complete -c queueprim -n "__fish_queueprim_using_subcommand enqueue" -l priority -d 'Higher runs first: an integer, or high (10), normal (0), low (-10)' -r
complete -c queueprim -n "__fish_queueprim_using_subcommand enqueue" -l max-retries -d 'Retries after the first failure; the job is tried at most N + 1 times [default: the queue\'s (see config), else 0]' -r
complete -c queueprim -n "__fish_queueprim_using_subcommand enqueue" -l backoff -d 'Wait this long before the first retry, twice as long before each next one (with a little jitter) [default: the queue\'s, else none]' -r
complete -c queueprim -n "__fish_queueprim_using_subcommand enqueue" -l backoff-max -d 'Never wait longer than this between retries [default: 1d]' -r
complete -c queueprim -n "__fish_queueprim_using_subcommand enqueue" -l group -d 'Ordered group: jobs of one group run one at a time, in enqueue order (other groups and ungrouped jobs are not held up)' -r
complete -c queueprim -n "__fish_queueprim_using_subcommand enqueue" -l key -d 'Dedup key: while a job with this key is pending or claimed in the queue, return that job instead of adding another' -r
complete -c queueprim -n "__fish_queueprim_using_subcommand enqueue" -l delay -d 'Make the job visible only after this long (e.g. 90s, 1h 30m)' -r
complete -c queueprim -n "__fish_queueprim_using_subcommand enqueue" -l at -d 'Make the job visible only from this time (RFC 3339, e.g. 2026-12-01T09:00:00Z)' -r
complete -c queueprim -n "__fish_queueprim_using_subcommand enqueue" -l type -d 'Job type, so specialised workers can claim only theirs (dequeue --type)' -r
complete -c queueprim -n "__fish_queueprim_using_subcommand enqueue" -l db -d 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]' -r -F
complete -c queueprim -n "__fish_queueprim_using_subcommand enqueue" -l format -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t''
json\t''
jsonl\t''"
complete -c queueprim -n "__fish_queueprim_using_subcommand enqueue" -l synchronous -d 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database' -r -f -a "full\t''
normal\t''"
complete -c queueprim -n "__fish_queueprim_using_subcommand enqueue" -l batch -d 'Read newline-delimited JSON payloads from stdin, enqueue all in one transaction'
complete -c queueprim -n "__fish_queueprim_using_subcommand enqueue" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c queueprim -n "__fish_queueprim_using_subcommand dequeue" -l queue -d 'Queue name, instead of the positional QUEUE' -r
complete -c queueprim -n "__fish_queueprim_using_subcommand dequeue" -l type -d 'Claim only jobs of this type' -r
complete -c queueprim -n "__fish_queueprim_using_subcommand dequeue" -l wait -d 'Block until a job is available; with DUR, at most that long (write --wait=DUR or put the queue first when the queue is positional)' -r
complete -c queueprim -n "__fish_queueprim_using_subcommand dequeue" -l count -d 'Claim up to N jobs (1 to 10000) at once and print them as an array' -r
complete -c queueprim -n "__fish_queueprim_using_subcommand dequeue" -l timeout -d 'How long the claim lasts, at least 1s. A claim not completed, failed or extended by then expires, and that counts a failed attempt: with the default --max-retries 0 the job is then dead. A late complete --claim TOKEN still makes it done, as long as nobody has claimed it since [default: the queue\'s (see config), else 30m]' -r
complete -c queueprim -n "__fish_queueprim_using_subcommand dequeue" -l worker -d 'Name this worker; stored on the job (its "worker" field) and shown by list' -r
complete -c queueprim -n "__fish_queueprim_using_subcommand dequeue" -l db -d 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]' -r -F
complete -c queueprim -n "__fish_queueprim_using_subcommand dequeue" -l format -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t''
json\t''
jsonl\t''"
complete -c queueprim -n "__fish_queueprim_using_subcommand dequeue" -l synchronous -d 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database' -r -f -a "full\t''
normal\t''"
complete -c queueprim -n "__fish_queueprim_using_subcommand dequeue" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c queueprim -n "__fish_queueprim_using_subcommand complete" -l output -d 'Result to store on the job: JSON, @FILE, or - for stdin' -r
complete -c queueprim -n "__fish_queueprim_using_subcommand complete" -l claim -d 'Act only if this is still the job\'s claim (the "claim" field printed by dequeue)' -r
complete -c queueprim -n "__fish_queueprim_using_subcommand complete" -l enqueue -d 'Also enqueue this follow-up job, in the same transaction: the completion and every follow-up commit together or not at all (repeatable)' -r
complete -c queueprim -n "__fish_queueprim_using_subcommand complete" -l follow-up -d 'Also enqueue follow-ups written as JSON objects with enqueue\'s options, e.g. {"queue":"mail","payload":{..},"priority":"high","delay":"90s"} (also "type", "group", "key", "at", "max_retries", "backoff", "backoff_max"); @FILE or - reads any number of them, one after another (repeatable; after the --enqueue ones)' -r
complete -c queueprim -n "__fish_queueprim_using_subcommand complete" -l db -d 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]' -r -F
complete -c queueprim -n "__fish_queueprim_using_subcommand complete" -l format -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t''
json\t''
jsonl\t''"
complete -c queueprim -n "__fish_queueprim_using_subcommand complete" -l synchronous -d 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database' -r -f -a "full\t''
normal\t''"
complete -c queueprim -n "__fish_queueprim_using_subcommand complete" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c queueprim -n "__fish_queueprim_using_subcommand fail" -l reason -d 'Why it failed (kept in the job\'s errors; cut at 4096 characters)' -r
complete -c queueprim -n "__fish_queueprim_using_subcommand fail" -l retry-in -d 'If the job is retried, wait this long first (instead of its backoff)' -r
complete -c queueprim -n "__fish_queueprim_using_subcommand fail" -l claim -d 'Act only if this is still the job\'s claim' -r
complete -c queueprim -n "__fish_queueprim_using_subcommand fail" -l db -d 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]' -r -F
complete -c queueprim -n "__fish_queueprim_using_subcommand fail" -l format -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t''
json\t''
jsonl\t''"
complete -c queueprim -n "__fish_queueprim_using_subcommand fail" -l synchronous -d 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database' -r -f -a "full\t''
normal\t''"
complete -c queueprim -n "__fish_queueprim_using_subcommand fail" -l dead -d 'Make the job dead now, whatever retries it has left'
complete -c queueprim -n "__fish_queueprim_using_subcommand fail" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c queueprim -n "__fish_queueprim_using_subcommand extend" -l by -d 'How much longer the claim should last' -r
complete -c queueprim -n "__fish_queueprim_using_subcommand extend" -l claim -d 'Act only if this is still the job\'s claim' -r
complete -c queueprim -n "__fish_queueprim_using_subcommand extend" -l db -d 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]' -r -F
complete -c queueprim -n "__fish_queueprim_using_subcommand extend" -l format -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t''
json\t''
jsonl\t''"
complete -c queueprim -n "__fish_queueprim_using_subcommand extend" -l synchronous -d 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database' -r -f -a "full\t''
normal\t''"
complete -c queueprim -n "__fish_queueprim_using_subcommand extend" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c queueprim -n "__fish_queueprim_using_subcommand get" -l db -d 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]' -r -F
complete -c queueprim -n "__fish_queueprim_using_subcommand get" -l format -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t''
json\t''
jsonl\t''"
complete -c queueprim -n "__fish_queueprim_using_subcommand get" -l synchronous -d 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database' -r -f -a "full\t''
normal\t''"
complete -c queueprim -n "__fish_queueprim_using_subcommand get" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c queueprim -n "__fish_queueprim_using_subcommand list" -l queue -d 'Only jobs in this queue, instead of the positional QUEUE' -r
complete -c queueprim -n "__fish_queueprim_using_subcommand list" -l status -d 'Only jobs with this status: pending, claimed, done or dead' -r -f -a "pending\t''
claimed\t''
done\t''
dead\t''"
complete -c queueprim -n "__fish_queueprim_using_subcommand list" -l type -d 'Only jobs of this type' -r
complete -c queueprim -n "__fish_queueprim_using_subcommand list" -l worker -d 'Only jobs last claimed by this worker' -r
complete -c queueprim -n "__fish_queueprim_using_subcommand list" -l limit -d 'At most N jobs; 0 lists them all' -r
complete -c queueprim -n "__fish_queueprim_using_subcommand list" -l db -d 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]' -r -F
complete -c queueprim -n "__fish_queueprim_using_subcommand list" -l format -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t''
json\t''
jsonl\t''"
complete -c queueprim -n "__fish_queueprim_using_subcommand list" -l synchronous -d 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database' -r -f -a "full\t''
normal\t''"
complete -c queueprim -n "__fish_queueprim_using_subcommand list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c queueprim -n "__fish_queueprim_using_subcommand stats" -l db -d 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]' -r -F
complete -c queueprim -n "__fish_queueprim_using_subcommand stats" -l format -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t''
json\t''
jsonl\t''"
complete -c queueprim -n "__fish_queueprim_using_subcommand stats" -l synchronous -d 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database' -r -f -a "full\t''
normal\t''"
complete -c queueprim -n "__fish_queueprim_using_subcommand stats" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c queueprim -n "__fish_queueprim_using_subcommand queues" -l db -d 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]' -r -F
complete -c queueprim -n "__fish_queueprim_using_subcommand queues" -l format -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t''
json\t''
jsonl\t''"
complete -c queueprim -n "__fish_queueprim_using_subcommand queues" -l synchronous -d 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database' -r -f -a "full\t''
normal\t''"
complete -c queueprim -n "__fish_queueprim_using_subcommand queues" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c queueprim -n "__fish_queueprim_using_subcommand purge" -l queue -d 'Only jobs in this queue, instead of the positional QUEUE' -r
complete -c queueprim -n "__fish_queueprim_using_subcommand purge" -l status -d 'Only jobs with this status' -r -f -a "pending\t''
claimed\t''
done\t''
dead\t''"
complete -c queueprim -n "__fish_queueprim_using_subcommand purge" -l older-than -d 'Only jobs last updated more than DUR ago' -r
complete -c queueprim -n "__fish_queueprim_using_subcommand purge" -l db -d 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]' -r -F
complete -c queueprim -n "__fish_queueprim_using_subcommand purge" -l format -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t''
json\t''
jsonl\t''"
complete -c queueprim -n "__fish_queueprim_using_subcommand purge" -l synchronous -d 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database' -r -f -a "full\t''
normal\t''"
complete -c queueprim -n "__fish_queueprim_using_subcommand purge" -l dry-run -d 'Count what would be deleted, delete nothing'
complete -c queueprim -n "__fish_queueprim_using_subcommand purge" -l all -d 'Allow a purge with no filter: delete every job that is not claimed'
complete -c queueprim -n "__fish_queueprim_using_subcommand purge" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c queueprim -n "__fish_queueprim_using_subcommand info" -l db -d 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]' -r -F
complete -c queueprim -n "__fish_queueprim_using_subcommand info" -l format -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t''
json\t''
jsonl\t''"
complete -c queueprim -n "__fish_queueprim_using_subcommand info" -l synchronous -d 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database' -r -f -a "full\t''
normal\t''"
complete -c queueprim -n "__fish_queueprim_using_subcommand info" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c queueprim -n "__fish_queueprim_using_subcommand sweep" -l interval -d 'Time between passes' -r
complete -c queueprim -n "__fish_queueprim_using_subcommand sweep" -l db -d 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]' -r -F
complete -c queueprim -n "__fish_queueprim_using_subcommand sweep" -l format -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t''
json\t''
jsonl\t''"
complete -c queueprim -n "__fish_queueprim_using_subcommand sweep" -l synchronous -d 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database' -r -f -a "full\t''
normal\t''"
complete -c queueprim -n "__fish_queueprim_using_subcommand sweep" -l once -d 'Make one pass, print what it did, and exit'
complete -c queueprim -n "__fish_queueprim_using_subcommand sweep" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c queueprim -n "__fish_queueprim_using_subcommand top" -l interval -d 'Time between frames; the rates are counted over it' -r
complete -c queueprim -n "__fish_queueprim_using_subcommand top" -l db -d 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]' -r -F
complete -c queueprim -n "__fish_queueprim_using_subcommand top" -l format -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t''
json\t''
jsonl\t''"
complete -c queueprim -n "__fish_queueprim_using_subcommand top" -l synchronous -d 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database' -r -f -a "full\t''
normal\t''"
complete -c queueprim -n "__fish_queueprim_using_subcommand top" -l once -d 'Print one frame and exit'
complete -c queueprim -n "__fish_queueprim_using_subcommand top" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c queueprim -n "__fish_queueprim_using_subcommand work" -l queue -d 'Queue name, instead of the positional QUEUE' -r
complete -c queueprim -n "__fish_queueprim_using_subcommand work" -l type -d 'Claim only jobs of this type' -r
complete -c queueprim -n "__fish_queueprim_using_subcommand work" -l concurrency -d 'Run up to N jobs at once' -r
complete -c queueprim -n "__fish_queueprim_using_subcommand work" -l job-timeout -d 'Stop a command running longer than this (SIGTERM, SIGKILL 5 s later) and fail its job' -r
complete -c queueprim -n "__fish_queueprim_using_subcommand work" -l max-jobs -d 'Exit after N jobs have been run' -r
complete -c queueprim -n "__fish_queueprim_using_subcommand work" -l grace -d 'On SIGINT/SIGTERM, how long running commands may finish before they are stopped' -r
complete -c queueprim -n "__fish_queueprim_using_subcommand work" -l timeout -d 'How long each claim lasts, at least 1s. While a command runs its claim is renewed every third of this, so it only bounds how long the jobs of a runner that crashed stay claimed (each such expiry counts a failed attempt) [default: the queue\'s (see config), else 30m]' -r
complete -c queueprim -n "__fish_queueprim_using_subcommand work" -l worker -d 'Name this runner; stored on the jobs it claims [default: HOST:PID]' -r
complete -c queueprim -n "__fish_queueprim_using_subcommand work" -l db -d 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]' -r -F
complete -c queueprim -n "__fish_queueprim_using_subcommand work" -l format -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t''
json\t''
jsonl\t''"
complete -c queueprim -n "__fish_queueprim_using_subcommand work" -l synchronous -d 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database' -r -f -a "full\t''
normal\t''"
complete -c queueprim -n "__fish_queueprim_using_subcommand work" -l until-empty -d 'Exit once no job is visible and none is running'
complete -c queueprim -n "__fish_queueprim_using_subcommand work" -l until-drained -d 'Exit once the queue (of --type) has no unfinished job left: none visible, delayed, backing off or waiting in its group, and none claimed, here or by anyone else (their jobs may fail and come back). A paused queue with jobs is not drained'
complete -c queueprim -n "__fish_queueprim_using_subcommand work" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c queueprim -n "__fish_queueprim_using_subcommand retry" -l queue -d 'Retry every dead job of this queue' -r
complete -c queueprim -n "__fish_queueprim_using_subcommand retry" -l status -d 'With --queue: which jobs to retry' -r -f -a "dead\t''
done\t''"
complete -c queueprim -n "__fish_queueprim_using_subcommand retry" -l db -d 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]' -r -F
complete -c queueprim -n "__fish_queueprim_using_subcommand retry" -l format -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t''
json\t''
jsonl\t''"
complete -c queueprim -n "__fish_queueprim_using_subcommand retry" -l synchronous -d 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database' -r -f -a "full\t''
normal\t''"
complete -c queueprim -n "__fish_queueprim_using_subcommand retry" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c queueprim -n "__fish_queueprim_using_subcommand release" -l claim -d 'Act only if this is still the job\'s claim' -r
complete -c queueprim -n "__fish_queueprim_using_subcommand release" -l db -d 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]' -r -F
complete -c queueprim -n "__fish_queueprim_using_subcommand release" -l format -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t''
json\t''
jsonl\t''"
complete -c queueprim -n "__fish_queueprim_using_subcommand release" -l synchronous -d 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database' -r -f -a "full\t''
normal\t''"
complete -c queueprim -n "__fish_queueprim_using_subcommand release" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c queueprim -n "__fish_queueprim_using_subcommand cancel" -l db -d 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]' -r -F
complete -c queueprim -n "__fish_queueprim_using_subcommand cancel" -l format -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t''
json\t''
jsonl\t''"
complete -c queueprim -n "__fish_queueprim_using_subcommand cancel" -l synchronous -d 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database' -r -f -a "full\t''
normal\t''"
complete -c queueprim -n "__fish_queueprim_using_subcommand cancel" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c queueprim -n "__fish_queueprim_using_subcommand peek" -l queue -d 'Queue name, instead of the positional QUEUE' -r
complete -c queueprim -n "__fish_queueprim_using_subcommand peek" -l limit -d 'At most N jobs' -r
complete -c queueprim -n "__fish_queueprim_using_subcommand peek" -l db -d 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]' -r -F
complete -c queueprim -n "__fish_queueprim_using_subcommand peek" -l format -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t''
json\t''
jsonl\t''"
complete -c queueprim -n "__fish_queueprim_using_subcommand peek" -l synchronous -d 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database' -r -f -a "full\t''
normal\t''"
complete -c queueprim -n "__fish_queueprim_using_subcommand peek" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c queueprim -n "__fish_queueprim_using_subcommand pause" -l queue -d 'Queue name, instead of the positional QUEUE' -r
complete -c queueprim -n "__fish_queueprim_using_subcommand pause" -l db -d 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]' -r -F
complete -c queueprim -n "__fish_queueprim_using_subcommand pause" -l format -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t''
json\t''
jsonl\t''"
complete -c queueprim -n "__fish_queueprim_using_subcommand pause" -l synchronous -d 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database' -r -f -a "full\t''
normal\t''"
complete -c queueprim -n "__fish_queueprim_using_subcommand pause" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c queueprim -n "__fish_queueprim_using_subcommand resume" -l queue -d 'Queue name, instead of the positional QUEUE' -r
complete -c queueprim -n "__fish_queueprim_using_subcommand resume" -l db -d 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]' -r -F
complete -c queueprim -n "__fish_queueprim_using_subcommand resume" -l format -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t''
json\t''
jsonl\t''"
complete -c queueprim -n "__fish_queueprim_using_subcommand resume" -l synchronous -d 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database' -r -f -a "full\t''
normal\t''"
complete -c queueprim -n "__fish_queueprim_using_subcommand resume" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c queueprim -n "__fish_queueprim_using_subcommand config" -l queue -d 'Queue name, instead of the positional QUEUE' -r
complete -c queueprim -n "__fish_queueprim_using_subcommand config" -l timeout -d 'Claim length for dequeue and work, at least 1s' -r
complete -c queueprim -n "__fish_queueprim_using_subcommand config" -l max-retries -d 'Retries for new jobs' -r
complete -c queueprim -n "__fish_queueprim_using_subcommand config" -l backoff -d 'Retry backoff for new jobs' -r
complete -c queueprim -n "__fish_queueprim_using_subcommand config" -l db -d 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]' -r -F
complete -c queueprim -n "__fish_queueprim_using_subcommand config" -l format -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t''
json\t''
jsonl\t''"
complete -c queueprim -n "__fish_queueprim_using_subcommand config" -l synchronous -d 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database' -r -f -a "full\t''
normal\t''"
complete -c queueprim -n "__fish_queueprim_using_subcommand config" -l reset -d 'Forget every default first (pausing is kept)'
complete -c queueprim -n "__fish_queueprim_using_subcommand config" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c queueprim -n "__fish_queueprim_using_subcommand export" -l queue -d 'Only the jobs and settings of this queue (repeatable)' -r
complete -c queueprim -n "__fish_queueprim_using_subcommand export" -l db -d 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]' -r -F
complete -c queueprim -n "__fish_queueprim_using_subcommand export" -l format -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t''
json\t''
jsonl\t''"
complete -c queueprim -n "__fish_queueprim_using_subcommand export" -l synchronous -d 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database' -r -f -a "full\t''
normal\t''"
complete -c queueprim -n "__fish_queueprim_using_subcommand export" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c queueprim -n "__fish_queueprim_using_subcommand import" -l db -d 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]' -r -F
complete -c queueprim -n "__fish_queueprim_using_subcommand import" -l format -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t''
json\t''
jsonl\t''"
complete -c queueprim -n "__fish_queueprim_using_subcommand import" -l synchronous -d 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database' -r -f -a "full\t''
normal\t''"
complete -c queueprim -n "__fish_queueprim_using_subcommand import" -l skip-existing -d 'Leave a job whose id is already in the database as it is, skip its line, and import the rest [default: refuse the whole import, exit 4]'
complete -c queueprim -n "__fish_queueprim_using_subcommand import" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c queueprim -n "__fish_queueprim_using_subcommand serve" -l listen -d 'Address and port to listen on (port 0 picks a free one; the log says which)' -r
complete -c queueprim -n "__fish_queueprim_using_subcommand serve" -l max-connections -d 'Connections served at once; more wait to be accepted' -r
complete -c queueprim -n "__fish_queueprim_using_subcommand serve" -l idle-timeout -d 'Close a connection that sends no request (or not the rest of its headers) for this long' -r
complete -c queueprim -n "__fish_queueprim_using_subcommand serve" -l db -d 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]' -r -F
complete -c queueprim -n "__fish_queueprim_using_subcommand serve" -l format -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t''
json\t''
jsonl\t''"
complete -c queueprim -n "__fish_queueprim_using_subcommand serve" -l synchronous -d 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database' -r -f -a "full\t''
normal\t''"
complete -c queueprim -n "__fish_queueprim_using_subcommand serve" -l no-auth -d 'Serve without tokens: every caller reaches every queue. Refused unless --listen is a loopback address'
complete -c queueprim -n "__fish_queueprim_using_subcommand serve" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c queueprim -n "__fish_queueprim_using_subcommand token; and not __fish_seen_subcommand_from create list revoke" -l db -d 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]' -r -F
complete -c queueprim -n "__fish_queueprim_using_subcommand token; and not __fish_seen_subcommand_from create list revoke" -l format -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t''
json\t''
jsonl\t''"
complete -c queueprim -n "__fish_queueprim_using_subcommand token; and not __fish_seen_subcommand_from create list revoke" -l synchronous -d 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database' -r -f -a "full\t''
normal\t''"
complete -c queueprim -n "__fish_queueprim_using_subcommand token; and not __fish_seen_subcommand_from create list revoke" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c queueprim -n "__fish_queueprim_using_subcommand token; and not __fish_seen_subcommand_from create list revoke" -f -a "create" -d 'Make a token and print it, once'
complete -c queueprim -n "__fish_queueprim_using_subcommand token; and not __fish_seen_subcommand_from create list revoke" -f -a "list" -d 'List every token (never their secrets), revoked and expired ones included'
complete -c queueprim -n "__fish_queueprim_using_subcommand token; and not __fish_seen_subcommand_from create list revoke" -f -a "revoke" -d 'Revoke a token for good; requests with it get 401 from then on'
complete -c queueprim -n "__fish_queueprim_using_subcommand token; and __fish_seen_subcommand_from create" -l queues -d 'Queue patterns the token reaches, comma-separated or repeated: a queue name, with * for any characters (tenant/acme/*), or * for every queue' -r
complete -c queueprim -n "__fish_queueprim_using_subcommand token; and __fish_seen_subcommand_from create" -l name -d 'A name for people (shown by token list)' -r
complete -c queueprim -n "__fish_queueprim_using_subcommand token; and __fish_seen_subcommand_from create" -l expires -d 'The token stops working after this long [default: never]' -r
complete -c queueprim -n "__fish_queueprim_using_subcommand token; and __fish_seen_subcommand_from create" -l db -d 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]' -r -F
complete -c queueprim -n "__fish_queueprim_using_subcommand token; and __fish_seen_subcommand_from create" -l format -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t''
json\t''
jsonl\t''"
complete -c queueprim -n "__fish_queueprim_using_subcommand token; and __fish_seen_subcommand_from create" -l synchronous -d 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database' -r -f -a "full\t''
normal\t''"
complete -c queueprim -n "__fish_queueprim_using_subcommand token; and __fish_seen_subcommand_from create" -l produce-only -d 'The token may only enqueue jobs (a producer): every other route answers 404'
complete -c queueprim -n "__fish_queueprim_using_subcommand token; and __fish_seen_subcommand_from create" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c queueprim -n "__fish_queueprim_using_subcommand token; and __fish_seen_subcommand_from list" -l db -d 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]' -r -F
complete -c queueprim -n "__fish_queueprim_using_subcommand token; and __fish_seen_subcommand_from list" -l format -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t''
json\t''
jsonl\t''"
complete -c queueprim -n "__fish_queueprim_using_subcommand token; and __fish_seen_subcommand_from list" -l synchronous -d 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database' -r -f -a "full\t''
normal\t''"
complete -c queueprim -n "__fish_queueprim_using_subcommand token; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c queueprim -n "__fish_queueprim_using_subcommand token; and __fish_seen_subcommand_from revoke" -l db -d 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]' -r -F
complete -c queueprim -n "__fish_queueprim_using_subcommand token; and __fish_seen_subcommand_from revoke" -l format -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t''
json\t''
jsonl\t''"
complete -c queueprim -n "__fish_queueprim_using_subcommand token; and __fish_seen_subcommand_from revoke" -l synchronous -d 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database' -r -f -a "full\t''
normal\t''"
complete -c queueprim -n "__fish_queueprim_using_subcommand token; and __fish_seen_subcommand_from revoke" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c queueprim -n "__fish_queueprim_using_subcommand completions" -l db -d 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]' -r -F
complete -c queueprim -n "__fish_queueprim_using_subcommand completions" -l format -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t''
json\t''
jsonl\t''"
complete -c queueprim -n "__fish_queueprim_using_subcommand completions" -l synchronous -d 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database' -r -f -a "full\t''
normal\t''"
complete -c queueprim -n "__fish_queueprim_using_subcommand completions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c queueprim -n "__fish_queueprim_using_subcommand man" -l dir -d 'Write every page into this folder instead (e.g. ~/.local/share/man/man1)' -r -F
complete -c queueprim -n "__fish_queueprim_using_subcommand man" -l db -d 'Database: a SQLite file, or a PostgreSQL server as postgresql://USER@HOST/DB [default: ~/.local/share/queueprim/queueprim.db; see info]' -r -F
complete -c queueprim -n "__fish_queueprim_using_subcommand man" -l format -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t''
json\t''
jsonl\t''"
complete -c queueprim -n "__fish_queueprim_using_subcommand man" -l synchronous -d 'full syncs every commit to disk; normal survives a crash of queueprim, not of the machine holding the database' -r -f -a "full\t''
normal\t''"
complete -c queueprim -n "__fish_queueprim_using_subcommand man" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c queueprim -n "__fish_queueprim_using_subcommand help; and not __fish_seen_subcommand_from enqueue dequeue complete fail extend get list stats queues purge info sweep top work retry release cancel peek pause resume config export import serve token completions man help" -f -a "enqueue" -d 'Add a job to a queue and print it'
complete -c queueprim -n "__fish_queueprim_using_subcommand help; and not __fish_seen_subcommand_from enqueue dequeue complete fail extend get list stats queues purge info sweep top work retry release cancel peek pause resume config export import serve token completions man help" -f -a "dequeue" -d 'Claim the next visible job and print it'
complete -c queueprim -n "__fish_queueprim_using_subcommand help; and not __fish_seen_subcommand_from enqueue dequeue complete fail extend get list stats queues purge info sweep top work retry release cancel peek pause resume config export import serve token completions man help" -f -a "complete" -d 'Mark a claimed job done'
complete -c queueprim -n "__fish_queueprim_using_subcommand help; and not __fish_seen_subcommand_from enqueue dequeue complete fail extend get list stats queues purge info sweep top work retry release cancel peek pause resume config export import serve token completions man help" -f -a "fail" -d 'Record a failed attempt on a claimed job'
complete -c queueprim -n "__fish_queueprim_using_subcommand help; and not __fish_seen_subcommand_from enqueue dequeue complete fail extend get list stats queues purge info sweep top work retry release cancel peek pause resume config export import serve token completions man help" -f -a "extend" -d 'Push a claim\'s deadline further (a heartbeat for long jobs)'
complete -c queueprim -n "__fish_queueprim_using_subcommand help; and not __fish_seen_subcommand_from enqueue dequeue complete fail extend get list stats queues purge info sweep top work retry release cancel peek pause resume config export import serve token completions man help" -f -a "get" -d 'Print one job'
complete -c queueprim -n "__fish_queueprim_using_subcommand help; and not __fish_seen_subcommand_from enqueue dequeue complete fail extend get list stats queues purge info sweep top work retry release cancel peek pause resume config export import serve token completions man help" -f -a "list" -d 'List jobs, newest first'
complete -c queueprim -n "__fish_queueprim_using_subcommand help; and not __fish_seen_subcommand_from enqueue dequeue complete fail extend get list stats queues purge info sweep top work retry release cancel peek pause resume config export import serve token completions man help" -f -a "stats" -d 'Count jobs by status over every queue'
complete -c queueprim -n "__fish_queueprim_using_subcommand help; and not __fish_seen_subcommand_from enqueue dequeue complete fail extend get list stats queues purge info sweep top work retry release cancel peek pause resume config export import serve token completions man help" -f -a "queues" -d 'Count jobs by status for each queue'
complete -c queueprim -n "__fish_queueprim_using_subcommand help; and not __fish_seen_subcommand_from enqueue dequeue complete fail extend get list stats queues purge info sweep top work retry release cancel peek pause resume config export import serve token completions man help" -f -a "purge" -d 'Delete jobs matching filters and print how many'
complete -c queueprim -n "__fish_queueprim_using_subcommand help; and not __fish_seen_subcommand_from enqueue dequeue complete fail extend get list stats queues purge info sweep top work retry release cancel peek pause resume config export import serve token completions man help" -f -a "info" -d 'Show which database commands use and what it holds'
complete -c queueprim -n "__fish_queueprim_using_subcommand help; and not __fish_seen_subcommand_from enqueue dequeue complete fail extend get list stats queues purge info sweep top work retry release cancel peek pause resume config export import serve token completions man help" -f -a "sweep" -d 'Release expired claims, now and then, until stopped'
complete -c queueprim -n "__fish_queueprim_using_subcommand help; and not __fish_seen_subcommand_from enqueue dequeue complete fail extend get list stats queues purge info sweep top work retry release cancel peek pause resume config export import serve token completions man help" -f -a "top" -d 'Watch every queue\'s counts and rates, redrawn in place until Ctrl-C'
complete -c queueprim -n "__fish_queueprim_using_subcommand help; and not __fish_seen_subcommand_from enqueue dequeue complete fail extend get list stats queues purge info sweep top work retry release cancel peek pause resume config export import serve token completions man help" -f -a "work" -d 'Run a command for each job: the worker loop, built in'
complete -c queueprim -n "__fish_queueprim_using_subcommand help; and not __fish_seen_subcommand_from enqueue dequeue complete fail extend get list stats queues purge info sweep top work retry release cancel peek pause resume config export import serve token completions man help" -f -a "retry" -d 'Bring dead jobs back to pending with a fresh attempt budget'
complete -c queueprim -n "__fish_queueprim_using_subcommand help; and not __fish_seen_subcommand_from enqueue dequeue complete fail extend get list stats queues purge info sweep top work retry release cancel peek pause resume config export import serve token completions man help" -f -a "release" -d 'Give a claimed job back to the queue without counting a failed attempt'
complete -c queueprim -n "__fish_queueprim_using_subcommand help; and not __fish_seen_subcommand_from enqueue dequeue complete fail extend get list stats queues purge info sweep top work retry release cancel peek pause resume config export import serve token completions man help" -f -a "cancel" -d 'Take pending jobs out of their queue for good'
complete -c queueprim -n "__fish_queueprim_using_subcommand help; and not __fish_seen_subcommand_from enqueue dequeue complete fail extend get list stats queues purge info sweep top work retry release cancel peek pause resume config export import serve token completions man help" -f -a "peek" -d 'Show the next jobs a dequeue would get, in order, without claiming them'
complete -c queueprim -n "__fish_queueprim_using_subcommand help; and not __fish_seen_subcommand_from enqueue dequeue complete fail extend get list stats queues purge info sweep top work retry release cancel peek pause resume config export import serve token completions man help" -f -a "pause" -d 'Stop handing out a queue\'s jobs; enqueue still accepts them'
complete -c queueprim -n "__fish_queueprim_using_subcommand help; and not __fish_seen_subcommand_from enqueue dequeue complete fail extend get list stats queues purge info sweep top work retry release cancel peek pause resume config export import serve token completions man help" -f -a "resume" -d 'Hand out a paused queue\'s jobs again'
complete -c queueprim -n "__fish_queueprim_using_subcommand help; and not __fish_seen_subcommand_from enqueue dequeue complete fail extend get list stats queues purge info sweep top work retry release cancel peek pause resume config export import serve token completions man help" -f -a "config" -d 'Show or set a queue\'s defaults, used by jobs and claims that do not set their own'
complete -c queueprim -n "__fish_queueprim_using_subcommand help; and not __fish_seen_subcommand_from enqueue dequeue complete fail extend get list stats queues purge info sweep top work retry release cancel peek pause resume config export import serve token completions man help" -f -a "export" -d 'Write jobs and queue settings as lines of JSON, to move them to another database'
complete -c queueprim -n "__fish_queueprim_using_subcommand help; and not __fish_seen_subcommand_from enqueue dequeue complete fail extend get list stats queues purge info sweep top work retry release cancel peek pause resume config export import serve token completions man help" -f -a "import" -d 'Add the jobs and queue settings of an export, read from stdin, in one transaction'
complete -c queueprim -n "__fish_queueprim_using_subcommand help; and not __fish_seen_subcommand_from enqueue dequeue complete fail extend get list stats queues purge info sweep top work retry release cancel peek pause resume config export import serve token completions man help" -f -a "serve" -d 'Serve the queue over HTTP, for producers and workers that cannot run the CLI'
complete -c queueprim -n "__fish_queueprim_using_subcommand help; and not __fish_seen_subcommand_from enqueue dequeue complete fail extend get list stats queues purge info sweep top work retry release cancel peek pause resume config export import serve token completions man help" -f -a "token" -d 'Create, list and revoke the API tokens of serve'
complete -c queueprim -n "__fish_queueprim_using_subcommand help; and not __fish_seen_subcommand_from enqueue dequeue complete fail extend get list stats queues purge info sweep top work retry release cancel peek pause resume config export import serve token completions man help" -f -a "completions" -d 'Print the shell completion script for SHELL'
complete -c queueprim -n "__fish_queueprim_using_subcommand help; and not __fish_seen_subcommand_from enqueue dequeue complete fail extend get list stats queues purge info sweep top work retry release cancel peek pause resume config export import serve token completions man help" -f -a "man" -d 'Print a man page, or write every page into a folder'
complete -c queueprim -n "__fish_queueprim_using_subcommand help; and not __fish_seen_subcommand_from enqueue dequeue complete fail extend get list stats queues purge info sweep top work retry release cancel peek pause resume config export import serve token completions man help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c queueprim -n "__fish_queueprim_using_subcommand help; and __fish_seen_subcommand_from token" -f -a "create" -d 'Make a token and print it, once'
complete -c queueprim -n "__fish_queueprim_using_subcommand help; and __fish_seen_subcommand_from token" -f -a "list" -d 'List every token (never their secrets), revoked and expired ones included'
complete -c queueprim -n "__fish_queueprim_using_subcommand help; and __fish_seen_subcommand_from token" -f -a "revoke" -d 'Revoke a token for good; requests with it get 401 from then on'
