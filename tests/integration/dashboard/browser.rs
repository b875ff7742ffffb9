//! The dashboard in a real browser: headless Chromium through WebDriver, against a real
//! `serve`. One browser at a time (they are heavy on a shared machine); each test starts its
//! own and ends it. A missing Chromium fails the tests, naming what to install. Screenshots,
//! when `QUEUEPRIM_TEST_SCREENSHOTS` names a folder, go there (never into the repository).

use std::path::PathBuf;
use std::sync::Mutex;

use serde_json::json;

use super::webdriver::Browser;
use super::{dead_job, OURS};
use crate::harness::{Job, TestEnv};
use crate::serve::{token, Server};

/// Browsers run one at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

/// Saves what the browser shows as `name`.png when screenshots were asked for.
fn snapshot(browser: &Browser, name: &str) {
    if let Some(dir) = std::env::var_os("QUEUEPRIM_TEST_SCREENSHOTS") {
        let dir = PathBuf::from(dir);
        let _ = std::fs::create_dir_all(&dir);
        browser.screenshot(&dir.join(format!("{name}.png")));
    }
}

/// The CSS selector of a job's row in a table of jobs.
fn row(job: &Job) -> String {
    format!("tr[data-job=\"{}\"]", job.id)
}

/// Confirms the dialog an action opened.
fn confirm(browser: &Browser) {
    browser.wait_for(
        "the confirmation dialog",
        "return document.getElementById('confirm').open",
    );
    browser.click("#confirm-ok");
    browser.wait_for(
        "the dialog to close",
        "return !document.getElementById('confirm').open",
    );
}

#[test]
fn a_dead_job_s_reason_shows_and_one_confirmed_click_makes_it_pending() {
    let _one = one_at_a_time();
    let env = TestEnv::new();
    let secret = token(&env, "tenant/acme/*", &[]);
    let job = dead_job(
        &env,
        OURS,
        r#"{"to":"ann@example.com"}"#,
        "smtp said: 550 mailbox unavailable",
    );
    let server = Server::with_tokens(&env);
    let browser = Browser::start(1280, 900);
    // The token comes in the fragment, which the browser never sends.
    browser.goto(&format!("{}/#token={secret}", server.url));
    browser.wait_for(
        "the queues",
        "return document.querySelector('main[data-loaded=queues] .queue-card')",
    );
    assert_eq!(browser.run("return location.hash", json!([])), "#/");
    browser.click("a[href='#/dead']");
    let reason = browser.wait_for(
        "the dead job's reason",
        &format!(
            "const cell = document.querySelector('{} td.reason'); return cell && cell.innerText",
            row(&job)
        ),
    );
    assert_eq!(reason, "smtp said: 550 mailbox unavailable");
    snapshot(&browser, "dead-jobs");
    browser.click(&format!("{} button", row(&job)));
    confirm(&browser);
    browser.wait_for(
        "the job to leave the dead jobs",
        &format!("return document.querySelector('{}') === null", row(&job)),
    );
    let now: Job = env.json(&["get", &job.id]);
    assert_eq!(now.status, "pending");
    assert_eq!(now.attempt_count, 0, "retried with a fresh attempt budget");
    // Its page says so, and keeps the error history.
    browser.goto(&format!("{}/#/job/{}", server.url, job.id));
    let status = browser.wait_for(
        "the job's page",
        "const b = document.querySelector('main[data-loaded=job] h1 .badge'); return b && b.innerText",
    );
    assert_eq!(status, "pending");
    assert!(browser
        .text("main")
        .contains("smtp said: 550 mailbox unavailable"));
    snapshot(&browser, "job");
    let log = server.stop().stderr;
    assert!(!log.contains(&secret), "the token reached the log:\n{log}");
}

sqlite_only! {
use super::{done_job, THEIRS};

#[test]
fn signing_in_shows_exactly_the_token_s_queues_and_no_data_before() {
    let _one = one_at_a_time();
    let env = TestEnv::new();
    let secret = token(&env, "tenant/acme/*", &[]);
    let ours = dead_job(&env, OURS, "1", "our failure");
    dead_job(&env, THEIRS, "2", "their secret failure");
    let server = Server::with_tokens(&env);
    let browser = Browser::start(1280, 900);
    browser.goto(&format!("{}/", server.url));
    browser.find("form.sign-in input#token");
    let before = browser.text("body");
    assert!(!before.contains("tenant/"), "job data without a token:\n{before}");
    // A wrong token is refused, with the server's words.
    browser.type_into("#token", "qp_not-a-real-token");
    browser.click("form.sign-in button[type=submit]");
    let refused = browser.wait_for(
        "the refusal",
        "return document.getElementById('sign-in-error').innerText",
    );
    assert!(refused.as_str().unwrap().contains("not valid"), "{refused}");
    browser.run("document.getElementById('token').value = ''", json!([]));
    browser.type_into("#token", &secret);
    browser.click("form.sign-in button[type=submit]");
    browser.wait_for(
        "our queue",
        &format!("return document.querySelector('.queue-card[data-queue=\"{OURS}\"]')"),
    );
    let page = browser.text("main");
    assert!(!page.contains(THEIRS), "another tenant's queue shows:\n{page}");
    // Kept for this tab only.
    assert_eq!(
        browser.run("return sessionStorage.getItem('queueprim.token')", json!([])),
        secret.as_str()
    );
    assert_eq!(browser.run("return localStorage.length", json!([])), 0);
    browser.click("a[href='#/dead']");
    browser.find(&row(&ours));
    let dead = browser.text("main");
    assert!(!dead.contains("their secret failure"), "{dead}");
    // Their queue, asked for by name, is not there.
    browser.goto(&format!("{}/#/queue/tenant%2Fother%2Fsecret", server.url));
    browser.wait_for(
        "not found",
        "return document.querySelector('main h1') && document.querySelector('main h1').innerText === 'Not found'",
    );
    // Signing out forgets the token and shows nothing.
    browser.click("#sign-out");
    browser.find("form.sign-in");
    assert_eq!(
        browser.run("return sessionStorage.getItem('queueprim.token')", json!([])),
        serde_json::Value::Null
    );
    assert!(!browser.text("main").contains("tenant/"));
}

#[test]
fn markup_in_payloads_and_reasons_shows_as_text_and_runs_nothing() {
    let _one = one_at_a_time();
    let env = TestEnv::new();
    let secret = token(&env, "*", &[]);
    let payload = json!({
        "html": "<script>document.title='pwned'</script>",
        "img": "<img src=x onerror=\"document.title='pwned'\">"
    });
    let reason = "<img src=x onerror=\"document.title='pwned'\"><b>bold</b>";
    let job = dead_job(&env, OURS, &payload.to_string(), reason);
    let server = Server::with_tokens(&env);
    let browser = Browser::start(1280, 900);
    browser.goto(&format!("{}/#token={secret}", server.url));
    browser.find("main[data-loaded=queues]");
    browser.goto(&format!("{}/#/job/{}", server.url, job.id));
    let shown = browser.wait_for(
        "the payload",
        "const pre = document.querySelector('main[data-loaded=job] pre.json'); return pre && pre.innerText",
    );
    let shown = shown.as_str().unwrap();
    assert!(shown.contains("<script>document.title='pwned'</script>"), "{shown}");
    assert!(shown.contains("<img src=x onerror="), "{shown}");
    assert!(browser.text("main").contains(reason));
    browser.goto(&format!("{}/#/dead", server.url));
    browser.find(&format!("{} td.reason", row(&job)));
    assert_eq!(browser.text(&format!("{} td.reason", row(&job))), reason);
    // Nothing ran, and no element came from a job.
    assert_eq!(browser.run("return document.title", json!([])), "queueprim");
    assert_eq!(
        browser.run(
            "return document.querySelectorAll('main img, main script, main b').length",
            json!([])
        ),
        0
    );
}

#[test]
fn actions_do_what_the_commands_do_and_the_page_follows_without_reloading() {
    let _one = one_at_a_time();
    let env = TestEnv::new();
    let secret = token(&env, "tenant/acme/*", &[]);
    done_job(&env, OURS);
    dead_job(&env, OURS, "2", "first");
    dead_job(&env, OURS, "3", "second");
    let pending = env.enqueue(OURS, "1", &[]);
    let server = Server::with_tokens(&env);
    let browser = Browser::start(1280, 900);
    browser.goto(&format!("{}/#token={secret}", server.url));
    browser.find("main[data-loaded=queues]");
    browser.run("window.sameDocument = true", json!([]));
    browser.click(&format!("a[href='#/queue/{}']", OURS.replace('/', "%2F")));
    browser.find("main[data-loaded=queue]");
    // The skip link moves the focus to the content and leaves the page where it is.
    let route = browser.run("return location.hash", json!([]));
    browser.run(
        "const skip = document.querySelector('a.skip'); skip.focus(); skip.click()",
        json!([]),
    );
    assert_eq!(
        browser.run(
            "return [location.hash, document.activeElement.id]",
            json!([])
        ),
        json!([route, "main"])
    );
    browser.find("main[data-loaded=queue]");
    let queue = || -> serde_json::Value {
        let all: Vec<serde_json::Value> = env.json(&["queues"]);
        all.into_iter().find(|q| q["queue"] == OURS).unwrap()
    };
    // Pause, then resume.
    browser.click(&format!("button[data-focus='pause-{OURS}']"));
    confirm(&browser);
    crate::support::wait::eventually(super::webdriver::PAGE, "the queue paused", || {
        queue()["paused"] == true
    });
    browser.wait_for(
        "the page to say paused",
        "return document.querySelector('main h1 .badge.paused')",
    );
    browser.click(&format!("button[data-focus='pause-{OURS}']"));
    confirm(&browser);
    crate::support::wait::eventually(super::webdriver::PAGE, "the queue resumed", || {
        queue()["paused"] == false
    });
    // Cancel the pending job.
    browser.click(&format!("{} button", row(&pending)));
    confirm(&browser);
    browser.wait_for(
        "the cancelled job to go",
        &format!("return document.querySelector('{}') === null", row(&pending)),
    );
    env.cmd(["get", &pending.id]).expect_status(3);
    // Purge the done jobs, retry every dead one.
    browser.click(&format!("button[data-focus='purge-{OURS}']"));
    confirm(&browser);
    browser.wait_for(
        "the purge to be said",
        "return document.getElementById('status').innerText.includes('purged')",
    );
    browser.click(&format!("button[data-focus='retry-all-{OURS}']"));
    confirm(&browser);
    browser.wait_for(
        "the retry to be said",
        "return document.getElementById('status').innerText.includes('pending again')",
    );
    let counts = queue();
    assert_eq!(
        (counts["pending"].as_u64(), counts["done"].as_u64(), counts["dead"].as_u64()),
        (Some(2), Some(0), Some(0)),
        "{counts}"
    );
    // Work enqueued elsewhere shows up by itself.
    env.enqueue(OURS, "4", &[]);
    browser.wait_for(
        "the new job's count",
        "const dd = document.querySelector('main .counts .pending dd'); return dd && dd.innerText === '3'",
    );
    assert_eq!(browser.run("return window.sameDocument", json!([])), true);
    // Every action asked first: a cancelled confirmation changes nothing.
    browser.click(&format!("button[data-focus='pause-{OURS}']"));
    browser.click("#confirm-cancel");
    assert_eq!(queue()["paused"], false);
}

#[test]
fn a_phone_width_shows_every_page_without_sideways_scrolling() {
    let _one = one_at_a_time();
    let env = TestEnv::new();
    let secret = token(&env, "*", &[]);
    let long_queue = format!("tenant/acme/{}", "very-long-queue-name-".repeat(5));
    let job = dead_job(
        &env,
        &long_queue,
        &json!({ "text": "x".repeat(500) }).to_string(),
        &"a reason without any space to break at ".repeat(3).replace(' ', "_"),
    );
    let server = Server::with_tokens(&env);
    let browser = Browser::start(390, 844);
    let fits = "return document.documentElement.scrollWidth <= window.innerWidth";
    browser.goto(&format!("{}/#token={secret}", server.url));
    browser.find("main[data-loaded=queues] .queue-card");
    assert!(browser.run("return window.innerWidth < 500", json!([])) == true);
    assert_eq!(browser.run(fits, json!([])), true, "the queues overflow");
    snapshot(&browser, "phone-queues");
    browser.goto(&format!(
        "{}/#/queue/{}",
        server.url,
        long_queue.replace('/', "%2F")
    ));
    browser.find("main[data-loaded=queue] table.jobs");
    assert_eq!(browser.run(fits, json!([])), true, "the queue page overflows");
    snapshot(&browser, "phone-queue");
    browser.goto(&format!("{}/#/job/{}", server.url, job.id));
    browser.find("main[data-loaded=job] pre.json");
    assert_eq!(browser.run(fits, json!([])), true, "the job page overflows");
    // Reachable from the keyboard: every control is a real link or button with a name.
    let unnamed = browser.run(
        "return [...document.querySelectorAll('a, button, input')].filter(el => \
         !(el.innerText || el.labels?.[0]?.innerText || el.getAttribute('aria-label') || '').trim()).length",
        json!([]),
    );
    assert_eq!(unnamed, 0);
}
}
