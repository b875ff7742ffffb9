//! The words of the man pages' own sections: exit status, environment, files, examples,
//! output and guarantees, for the main page and for each command. Options and descriptions
//! come from the clap tree; this is what `--help` leaves out to stay short.

/// One paragraph of a section.
pub enum Para {
    Text(&'static str),
    /// A term and what it means (`.TP`).
    Item(&'static str, &'static str),
    /// What an example does, and its lines, shown as typed.
    Example(&'static str, &'static [&'static str]),
}

use Para::{Example, Item, Text};

type Section = (&'static str, Vec<Para>);

/// The sections of the main page (`None`) or of one command's page.
pub fn for_page(command: Option<&str>) -> Vec<Section> {
    let Some(command) = command else {
        return main_page();
    };
    let mut sections = vec![("EXIT STATUS", exit_status(command))];
    if !matches!(command, "completions" | "man") {
        sections.push(("ENVIRONMENT", environment(command)));
        sections.push(("FILES", vec![Text(FILES_SHORT)]));
    }
    sections.push(("EXAMPLES", examples(command)));
    sections.push(("OUTPUT", vec![Text(output(command))]));
    sections.push((
        "SEE ALSO",
        vec![Text(
            "queueprim(1), which describes the job, its JSON fields and the guarantees.",
        )],
    ));
    sections
}

const FILES_SHORT: &str = "The database, by default queueprim.db in the user data folder \
(~/.local/share/queueprim/ on Linux), and beside it the -wal and -shm files SQLite keeps while \
it is used; or a PostgreSQL server, when --db is a postgresql:// URL. queueprim info shows \
which database a command uses; see queueprim(1).";

fn main_page() -> Vec<Section> {
    vec![
        ("EXIT STATUS", exit_status("")),
        ("ENVIRONMENT", environment("")),
        (
            "FILES",
            vec![
                Item(
                    "~/.local/share/queueprim/queueprim.db",
                    "The default database on Linux ($XDG_DATA_HOME/queueprim/queueprim.db when \
                     that is set; ~/Library/Application Support/queueprim/ on macOS), created \
                     owner-only with its folder by the first command that adds or claims jobs. \
                     Reading commands never create it.",
                ),
                Item(
                    "DB-wal, DB-shm",
                    "SQLite's write-ahead log and its index, beside the database. Back up a live \
                     database with sqlite3 DB \".backup copy.db\", which sees the log too.",
                ),
                Item(
                    "postgresql://USER@HOST/DB",
                    "A PostgreSQL server instead of a file, for workers on many hosts: the tables \
                     live in the schema queueprim (?schema=NAME for another), created by the \
                     first command that writes. Every time is the server's; claims lock only \
                     the rows they take; waiters are woken by LISTEN/NOTIFY. The URL's \
                     password never appears in output; PGHOST, PGPORT, PGUSER, PGPASSWORD and \
                     PGDATABASE fill in what it leaves out.",
                ),
            ],
        ),
        ("EXAMPLES", examples("")),
        ("JSON OUTPUT", json_fields()),
        ("GUARANTEES", guarantees()),
        (
            "SEE ALSO",
            vec![Text(
                "queueprim-enqueue(1), queueprim-dequeue(1), queueprim-complete(1), \
                 queueprim-fail(1), queueprim-extend(1), queueprim-work(1), queueprim-info(1), \
                 and one page for each other command. The README holds the same in more words.",
            )],
        ),
    ]
}

fn exit_status(command: &str) -> Vec<Para> {
    let mut items = vec![
        Item(
            "0",
            match command {
                "dequeue" => "Success, also when no job was there to claim (nothing is printed).",
                _ => "Success.",
            },
        ),
        Item(
            "1",
            "A runtime error: the database or the file system failed.",
        ),
        Item(
            "2",
            "Bad usage or bad input: an unknown option, invalid JSON, a bad duration, queue \
             name or priority. Nothing was written: fix the command rather than retry it.",
        ),
    ];
    let not_found = Item("3", "There is no job with that id (in this database).");
    let conflict = Item(
        "4",
        "A conflict: the job's state does not allow it (it is not claimed, or already done), \
         or the claim is no longer yours: drop the job, someone else has it.",
    );
    match command {
        "" => items.extend([
            not_found,
            conflict,
            Item(
                "130, 143",
                "Interrupted by SIGINT or SIGTERM while waiting (dequeue --wait); nothing was \
                 claimed.",
            ),
            Text("A closed output pipe is not an error."),
        ]),
        "complete" | "fail" | "extend" | "release" => items.extend([not_found, conflict]),
        "cancel" => items.extend([
            not_found,
            Item(
                "4",
                "A job is claimed, done or dead; nothing was cancelled (all or nothing).",
            ),
        ]),
        "retry" => items.extend([
            not_found,
            Item(
                "4",
                "A job is not dead or done, or its dedup key is taken; none was retried.",
            ),
        ]),
        "get" => items.push(not_found),
        "import" => items.push(Item(
            "4",
            "A job's id is already in the database (without --skip-existing), or a job's dedup \
             key or group is taken by an unfinished or live job already there; nothing was \
             imported. A bad line, or input cut short, is exit 2.",
        )),
        "dequeue" => items.push(Item(
            "130, 143",
            "Interrupted by SIGINT or SIGTERM while waiting; nothing was claimed.",
        )),
        "top" => items.push(Text(
            "SIGINT and SIGTERM are the way to stop it: it then exits 0. It exits 1 if the \
             database cannot be read.",
        )),
        "work" | "sweep" => items.push(Text(
            "SIGINT and SIGTERM are the way to stop it: it then exits 0, leaving no job claimed.",
        )),
        "serve" => items.push(Text(
            "SIGINT and SIGTERM are the way to stop it: it stops accepting connections, lets \
             requests in flight finish (waiting claims answer [] having claimed nothing) and \
             exits 0. It exits 1 if it cannot listen or open the database, 2 for --no-auth on \
             an address that is not loopback.",
        )),
        "token" | "token revoke" => items.push(not_found),
        _ => {}
    }
    items
}

fn environment(command: &str) -> Vec<Para> {
    let mut items = vec![
        Item(
            "QUEUEPRIM_DB",
            "The database, as --db (which wins): a SQLite file, or a postgresql:// URL.",
        ),
        Item("QUEUEPRIM_FORMAT", "The output format, as --format."),
        Item("QUEUEPRIM_SYNCHRONOUS", "full or normal, as --synchronous."),
    ];
    let tables = Item(
        "NO_COLOR, COLUMNS",
        "Set NO_COLOR to anything to keep tables free of colour (there is none in pipes \
         anyway). COLUMNS is the width of a table that is not written to a terminal \
         (default 80).",
    );
    if matches!(command, "" | "dequeue" | "work") {
        items.push(Item(
            "QUEUEPRIM_LISTEN_DB",
            "On PostgreSQL, where waiters LISTEN for new jobs: a postgresql:// URL that \
             reaches the same database directly, for a --db that goes through a pooler in \
             transaction mode (where LISTEN cannot work); none to listen nowhere, waiters \
             then look again every 5 s. Unset: on the --db connection.",
        ));
    }
    match command {
        "" | "list" | "queues" | "peek" | "retry" | "get" => items.push(tables),
        "work" => items.push(Item(
            "QUEUEPRIM_JOB_ID, QUEUEPRIM_QUEUE, QUEUEPRIM_JOB_TYPE, QUEUEPRIM_ATTEMPT, \
             QUEUEPRIM_CLAIM, QUEUEPRIM_DB",
            "Given to each job's command: the job's id, queue and type (empty when none), \
             which try this is (the job's attempts, 1 for the first), its claim token, and the \
             database (a file's absolute path, or the URL), so the command can call queueprim \
             itself.",
        )),
        _ => {}
    }
    items.push(Text("An empty variable counts as unset."));
    items
}

fn examples(command: &str) -> Vec<Para> {
    let pairs: &[(&str, &[&str])] = match command {
        "" => &[
            (
                "A worker's round trip: claim, keep the id and the claim token, finish with both.",
                &[
                    "queueprim enqueue emails --payload '{\"to\":\"ada@example.com\"}'",
                    "JOB=$(queueprim dequeue emails --worker mailer-1 --wait 20s)",
                    "ID=$(jq -r .id <<<\"$JOB\"); CLAIM=$(jq -r .claim <<<\"$JOB\")",
                    "queueprim complete \"$ID\" --claim \"$CLAIM\" --output '{\"sent\":true}'",
                ],
            ),
            (
                "The same with the built-in worker loop, until nothing is left to do:",
                &["queueprim work emails --until-drained -- ./send-email.sh"],
            ),
            (
                "Where is the database, and what is in it?",
                &["queueprim info", "queueprim queues"],
            ),
        ],
        "enqueue" => &[
            (
                "Add a job and keep its id:",
                &["ID=$(queueprim enqueue emails --payload '{\"to\":\"a@example.com\"}' | jq -r .id)"],
            ),
            (
                "High priority, tried up to four times, waiting 30 s, then 60 s… between tries:",
                &["queueprim enqueue webhooks --payload @hook.json --priority high --max-retries 3 --backoff 30s"],
            ),
            (
                "In order within its group, once per key, in ten minutes:",
                &["queueprim enqueue orders --payload '{\"order\":7}' --group customer-17 --key order-7 --delay 10m"],
            ),
            (
                "Many at once, all or nothing:",
                &["printf '%s\\n' '{\"n\":1}' '{\"n\":2}' | queueprim enqueue numbers --batch"],
            ),
        ],
        "dequeue" => &[
            (
                "Claim one job, waiting up to 20 s; empty output means nothing came:",
                &[
                    "JOB=$(queueprim dequeue emails --worker mailer-1 --wait 20s)",
                    "[ -n \"$JOB\" ] || exit 0",
                    "ID=$(jq -r .id <<<\"$JOB\"); CLAIM=$(jq -r .claim <<<\"$JOB\")",
                    "queueprim complete \"$ID\" --claim \"$CLAIM\"",
                ],
            ),
            (
                "Claim up to ten jobs of one type, each for five minutes:",
                &["queueprim dequeue images --type resize --count 10 --timeout 5m"],
            ),
        ],
        "complete" => &[
            (
                "Finish a claimed job with its result:",
                &["queueprim complete \"$ID\" --claim \"$CLAIM\" --output '{\"sent\":true}'"],
            ),
            (
                "Finish it and enqueue what comes next, in one transaction:",
                &["queueprim complete \"$ID\" --claim \"$CLAIM\" --enqueue 'receipts={\"order\":1}' \\",
                  "  --follow-up '{\"queue\":\"audit\",\"payload\":{\"order\":1},\"priority\":\"high\",\"delay\":\"1m\"}'"],
            ),
            (
                "Many follow-ups, one JSON object per line, from a file:",
                &["queueprim complete \"$ID\" --claim \"$CLAIM\" --follow-up @next-jobs.jsonl | jq .follow_ups"],
            ),
        ],
        "fail" => &[
            (
                "Record a failure; the retry rule decides whether the job comes back:",
                &["queueprim fail \"$ID\" --claim \"$CLAIM\" --reason \"smtp timeout\""],
            ),
            (
                "Give up now, or retry in five minutes:",
                &[
                    "queueprim fail \"$ID\" --claim \"$CLAIM\" --reason \"bad address\" --dead",
                    "queueprim fail \"$ID\" --claim \"$CLAIM\" --reason \"rate limited\" --retry-in 5m",
                ],
            ),
        ],
        "extend" => &[(
            "Heartbeat a long job before its deadline:",
            &["queueprim extend \"$ID\" --by 10m --claim \"$CLAIM\""],
        )],
        "get" => &[(
            "Look at one job, or one field of it:",
            &["queueprim get q_1m8nqj814jqfwrx", "queueprim get q_1m8nqj814jqfwrx | jq -r .status"],
        )],
        "list" => &[
            (
                "Dead jobs, and every job of a queue as JSON lines:",
                &["queueprim list --status dead", "queueprim list emails --limit 0 --format jsonl | jq -c .payload"],
            ),
            ("Jobs a worker claimed:", &["queueprim list --worker mailer-1"]),
        ],
        "stats" => &[("Jobs by status:", &["queueprim stats", "queueprim stats | jq .dead"])],
        "queues" => &[("Queues with their counts and settings:", &["queueprim queues"])],
        "purge" => &[
            (
                "A retention purge from cron, counted first:",
                &["queueprim purge --status dead --older-than 7d --dry-run", "queueprim purge --older-than 30d"],
            ),
            ("Every job of one queue that is not claimed:", &["queueprim purge --queue scratch"]),
        ],
        "info" => &[(
            "Which database is in use, and where that came from:",
            &["queueprim info", "queueprim info | jq -r '.db, .db_from'"],
        )],
        "sweep" => &[(
            "Keep counts current and mark dead jobs dead promptly:",
            &["queueprim sweep --interval 30s", "queueprim sweep --once"],
        )],
        "top" => &[
            ("Watch the queues, redrawn every 2 seconds until Ctrl-C:", &["queueprim top"]),
            (
                "One frame, for a script or a log:",
                &["queueprim top --once --format table", "queueprim top --once | jq '.queues[] | select(.dead > 0)'"],
            ),
        ],
        "work" => &[
            (
                "Four at a time, until stopped with Ctrl-C or SIGTERM:",
                &["queueprim work emails --concurrency 4 -- ./send-email.sh --from ops@example.com"],
            ),
            (
                "Until the queue is done, delayed and retried jobs included (for a batch job or CI):",
                &["queueprim work builds --until-drained --job-timeout 20m -- make -C \"$HOME/src\" build"],
            ),
            (
                "A command reads the payload on stdin and prints its result on stdout:",
                &["#!/bin/sh", "payload=$(cat)", "echo \"try $QUEUEPRIM_ATTEMPT of $QUEUEPRIM_JOB_ID\" >&2", "echo '{\"sent\":true}'"],
            ),
        ],
        "retry" => &[(
            "Run dead jobs again, by id or all of a queue:",
            &["queueprim retry q_1m8nqj814jqfwrx q_9w2n5b8d1e", "queueprim retry --queue emails"],
        )],
        "release" => &[(
            "Give a job back without counting a failure:",
            &["queueprim release \"$ID\" --claim \"$CLAIM\""],
        )],
        "cancel" => &[(
            "Take back a job that should not run after all:",
            &["ID=$(queueprim enqueue reports --payload '{}' --delay 1h | jq -r .id)", "queueprim cancel \"$ID\""],
        )],
        "peek" => &[("The next five jobs a dequeue would get:", &["queueprim peek emails --limit 5"])],
        "pause" => &[("Stop handing out jobs for a while:", &["queueprim pause emails", "queueprim resume emails"])],
        "resume" => &[("Hand out a paused queue's jobs again:", &["queueprim resume emails"])],
        "config" => &[(
            "Defaults for a queue's claims and new jobs, then back to none:",
            &["queueprim config emails --timeout 5m --max-retries 3 --backoff 30s", "queueprim config emails --reset"],
        )],
        "export" => &[
            (
                "Move every queue from a SQLite file to a PostgreSQL server, in one pipe:",
                &["queueprim --db old.db export | queueprim --db postgresql://app@db.internal/app import"],
            ),
            (
                "Keep one queue in a file, and look into it with jq:",
                &["queueprim export --queue emails > emails.jsonl", "jq -c 'select(.job) | .job.status' emails.jsonl | sort | uniq -c"],
            ),
        ],
        "import" => &[
            (
                "Bring an export into another database (all of it, or nothing):",
                &["queueprim --db new.db import < emails.jsonl"],
            ),
            (
                "Run an import again after a partial merge, leaving jobs already there alone:",
                &["queueprim --db new.db import --skip-existing < emails.jsonl"],
            ),
        ],
        "completions" => &[(
            "Install completions for your shell:",
            &[
                "queueprim completions bash > ~/.local/share/bash-completion/completions/queueprim",
                "queueprim completions zsh > ~/.zfunc/_queueprim     # with fpath+=~/.zfunc",
                "queueprim completions fish > ~/.config/fish/completions/queueprim.fish",
            ],
        )],
        "serve" => &[
            (
                "Serve a PostgreSQL queue to other hosts, with a token per tenant:",
                &[
                    "queueprim --db postgresql://queue@db/jobs token create --queues 'tenant/acme/*'",
                    "queueprim --db postgresql://queue@db/jobs serve --listen 0.0.0.0:8080",
                ],
            ),
            (
                "A producer and a worker with curl (queue names percent-encoded in paths):",
                &[
                    "curl -H \"Authorization: Bearer $TOKEN\" -d '{\"payload\":{\"to\":\"ada\"}}' \\",
                    "  http://localhost:8080/v1/queues/tenant%2Facme%2Fmail/jobs",
                    "curl -H \"Authorization: Bearer $TOKEN\" -d '{\"worker\":\"w1\",\"wait\":\"20s\"}' \\",
                    "  http://localhost:8080/v1/queues/tenant%2Facme%2Fmail/claims",
                ],
            ),
            ("Only on this machine, without tokens:", &["queueprim serve --no-auth"]),
        ],
        "token" => &[
            (
                "A token for one tenant's queues, another that may only enqueue:",
                &[
                    "queueprim token create --queues 'tenant/acme/*' --name acme --expires 90d",
                    "queueprim token create --queues 'tenant/acme/*' --produce-only",
                ],
            ),
            ("See them, and revoke one:", &["queueprim token list", "queueprim token revoke t_8k2m4x7q9r"]),
        ],
        "token create" => &[(
            "A token for one tenant's queues that lasts 90 days, and one that may only enqueue:",
            &[
                "TOKEN=$(queueprim token create --queues 'tenant/acme/*' --expires 90d | jq -r .token)",
                "queueprim token create --queues 'tenant/acme/in,tenant/acme/retries' --produce-only",
            ],
        )],
        "token list" => &[(
            "Which tokens reach which queues, and whether they still work:",
            &["queueprim token list", "queueprim token list | jq -r '.[] | select(.revoked_at == null) | .id'"],
        )],
        "token revoke" => &[("Stop a token for good:", &["queueprim token revoke t_8k2m4x7q9r"])],
        "man" => &[(
            "Install the pages where man finds them, or read one now:",
            &["queueprim man --dir ~/.local/share/man/man1 && man queueprim", "queueprim man dequeue | man -l -"],
        )],
        _ => &[],
    };
    pairs
        .iter()
        .map(|(what, lines)| Example(what, lines))
        .collect()
}

/// What a command prints on stdout, in JSON (a table at a terminal).
fn output(command: &str) -> &'static str {
    match command {
        "enqueue" => "The job (see JSON OUTPUT in queueprim(1)) with \"deduplicated\": true when its key \
            found an unfinished job, which is then the job printed. --batch prints an array of them.",
        "dequeue" => "The claimed job, with its \"claim\" token and \"claim_deadline\"; nothing when no job \
            was there. --count prints an array, [] when empty.",
        "complete" => "The job, done, with \"follow_ups\": [{\"id\",\"queue\",\"deduplicated\"}, …], one \
            entry per follow-up in the order given (--enqueue ones first), [] without any.",
        "fail" | "extend" | "get" | "release" => "The job as it is now.",
        "list" | "peek" | "retry" => "An array of jobs (one per line with --format jsonl). list says on \
            stderr when it stopped at its --limit.",
        "stats" => "{\"pending\":N,\"claimed\":N,\"done\":N,\"dead\":N,\"total\":N}.",
        "queues" => "An array with one object per queue: \"queue\", the counts of stats, and the queue's \
            settings \"paused\", \"timeout_ms\", \"max_retries\", \"backoff_ms\".",
        "purge" => "{\"matched\":N,\"removed\":N,\"dry_run\":B}.",
        "cancel" => "{\"cancelled\":[ID, …]}: the jobs deleted.",
        "info" => "{\"backend\",\"db\",\"db_from\" (--db, QUEUEPRIM_DB or default),\"exists\",\
            \"schema_version\",\"supported_schema_version\",\"size_bytes\",\"wal_bytes\",\"synchronous\",\
            \"queues\",\"counts\":{…as stats},\"version\"}; null where the database does not exist.",
        "sweep" => "One {\"at\":TIME,\"retried\":N,\"dead\":N} per pass that released something (every \
            pass with --once).",
        "top" => "One {\"at\":TIME,\"interval_ms\":N,\"queues\":[…]} per frame, on a line of its own; \
            each queue has \"queue\", the counts of stats, \"paused\", \"done_per_second\" and \
            \"dead_per_second\" (finished over the last interval), and \"oldest_pending_ms\" (how long \
            its oldest claimable job has waited; null when none is).",
        "work" => "With JSON output, one {\"event\":\"job\",\"id\",\"queue\",\"attempt\",\"result\",\
            \"reason\",\"duration_ms\"} per run (result: done, retry, dead, lost or released), then \
            {\"event\":\"summary\",\"done\",\"retried\",\"dead\",\"lost\",\"released\",\"runs\"}, counting \
            each job once by its last result. For people, one line per run on stderr instead.",
        "pause" | "resume" | "config" => "The queue's settings: {\"queue\",\"paused\",\"timeout_ms\",\
            \"max_retries\",\"backoff_ms\"}, null where unset.",
        "export" => "Lines of JSON, whatever --format says: a header {\"queueprim_export\":1,\"engine\",\
            \"exported_at\"}, one {\"settings\":{\"queue\",\"paused\",\"timeout_ms\",\"max_retries\",\
            \"backoff_ms\"}} per configured queue, one {\"job\":{…}} per job in enqueue order (the job's \
            fields with times in integer milliseconds, its \"stored\" place, no \"attempts\", \
            \"claim_deadline\" or \"run_after\"), and {\"end\":{\"jobs\":N,\"settings\":N}}. The README's \
            \"Moving a queue\" describes each field.",
        "import" => "{\"imported\":N,\"skipped\":N,\"settings\":N}: the jobs added, those left as they were \
            with --skip-existing, and the queues whose settings were written.",
        "serve" => "Nothing on stdout. On stderr, \"listening on http://ADDR:PORT\" once it listens, \
            then one line per request: time, peer, method, path, status, duration and the token's \
            id (never the token). The API answers with the JSON the commands print; see \
            /openapi.json and the README.",
        "token create" => "{\"token\":SECRET,\"id\",\"name\",\"queues\":[PATTERN, …],\"produce_only\",\
            \"created_at\",\"expires_at\",\"revoked_at\"}: the only time the secret is shown.",
        "token list" => "An array of {\"id\",\"name\",\"queues\",\"produce_only\",\"created_at\",\
            \"expires_at\",\"revoked_at\"}, oldest first; never a secret.",
        "token revoke" => "The token revoked, as token list shows it.",
        "token" => "create: {\"token\":SECRET,\"id\",\"name\",\"queues\":[PATTERN, …],\"produce_only\",\
            \"created_at\",\"expires_at\",\"revoked_at\"}, the only time the secret is shown; list: \
            an array of the same without \"token\"; revoke: the token revoked.",
        "completions" => "The completion script, for the shell to load.",
        "man" => "A page in roff, for man -l -; with --dir, {\"written\":[PATH, …]}.",
        _ => "",
    }
}

fn json_fields() -> Vec<Para> {
    vec![
        Text(
            "JSON is the output whenever stdout is not a terminal. A job is one object; every \
             field is always present, null when empty, with the same type every time. Times are \
             RFC 3339 UTC with milliseconds.",
        ),
        Item(
            "id, queue, type",
            "The job's id (q_ and 10 characters), its queue, its type or null.",
        ),
        Item(
            "payload, output",
            "The JSON given to enqueue, and the JSON complete recorded (or null).",
        ),
        Item(
            "priority, status",
            "Higher runs first; pending, claimed, done or dead.",
        ),
        Item(
            "attempts",
            "Tries so far, the running one included: the number QUEUEPRIM_ATTEMPT and \
             errors[].attempt use. A released claim does not count; retry starts again at 0.",
        ),
        Item(
            "attempt_count, max_retries",
            "Failed tries so far (fail, or an expired claim), and how many failures are retried: \
             a job is tried at most max_retries + 1 times.",
        ),
        Item(
            "backoff_ms, backoff_max_ms",
            "The retry backoff and its cap, or null.",
        ),
        Item(
            "group, key",
            "Its ordered group and its dedup key, or null.",
        ),
        Item(
            "worker, claim",
            "The worker name and token of the last claim. They stay after the claim ends: the job \
             is held only while status is claimed.",
        ),
        Item(
            "claim_deadline",
            "While claimed, when the claim expires; null otherwise.",
        ),
        Item(
            "run_after",
            "While pending, when it may be dequeued; null otherwise.",
        ),
        Item(
            "visible_after",
            "run_after or claim_deadline, whichever applies; null when finished.",
        ),
        Item(
            "errors",
            "The 20 most recent failures: at, attempt, worker, reason.",
        ),
        Item(
            "created_at, updated_at, finished_at",
            "When it was enqueued, last changed, finished.",
        ),
        Text(
            "Errors go to stderr as one line; with --format json or jsonl given, as \
             {\"error\":{\"kind\":…,\"message\":…}}.",
        ),
    ]
}

fn guarantees() -> Vec<Para> {
    vec![
        Item(
            "Durable",
            "A command that writes and exits 0 has its change on disk: it survives a crash and a \
             power cut (WAL, synchronous=full; --synchronous normal trades the last commits on \
             power loss for speed).",
        ),
        Item(
            "Concurrent",
            "Any number of processes on one database. No job is held by two claims at once, and \
             ordinary contention never fails with \"database is locked\".",
        ),
        Item(
            "Atomic",
            "Each command is one transaction: a batch, a completion with its follow-ups, a claim \
             commit whole or not at all. A refused command has changed nothing.",
        ),
        Item(
            "Fenced",
            "A claim that expires counts a failed attempt, under the same retry rule as fail. \
             With --claim, complete, fail and extend act only for the claim's holder; a late \
             complete is accepted only while nobody else has claimed the job.",
        ),
        Item(
            "Safe with bad input",
            "Bad values exit 2 before anything is written. A database a newer queueprim wrote is \
             refused, untouched.",
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn every_command_has_examples_and_its_output_described() {
        for sub in crate::cli::Cli::command().get_subcommands() {
            let name = sub.get_name();
            assert!(!examples(name).is_empty(), "{name} has no examples");
            assert!(!output(name).is_empty(), "{name}'s output is not described");
        }
    }
}
