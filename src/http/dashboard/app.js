// The queueprim dashboard: reads and acts through the API (/v1/...) with the token the user
// signs in with. Every text that comes from a job or a queue goes into the page as a text
// node (never as markup), so a payload holding <script> shows as those characters.
"use strict";

const TOKEN_KEY = "queueprim.token";
const POLL_MS = 3000;
const PAGE_SIZE = 25;
const MOST_LISTED = 1000;
const STATUSES = ["pending", "claimed", "done", "dead"];

const state = {
  // null: not signed in; "" : the server needs no token.
  token: null,
  timer: null,
  busy: false,
  // A refresh was asked for while one ran: run again once it is done.
  again: false,
};

// ---- building the page, text only ----

// An element with attributes and children; strings become text nodes.
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "onclick" || name === "onsubmit") el.addEventListener(name.slice(2), value);
    else if (name === "text") el.textContent = value;
    else el.setAttribute(name, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attrs) {
  const el = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, String(value));
  return el;
}

// ---- talking to the API ----

class ApiError extends Error {
  constructor(status, kind, message) {
    super(message);
    this.status = status;
    this.kind = kind;
  }
}

async function api(method, path, body) {
  const headers = {};
  if (state.token) headers.Authorization = "Bearer " + state.token;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
      credentials: "omit",
    });
  } catch (e) {
    throw new ApiError(0, "network", "cannot reach the server");
  }
  const text = await response.text();
  if (!response.ok) {
    let kind = "http", message = `the server answered ${response.status}`;
    try {
      const error = JSON.parse(text).error;
      kind = error.kind;
      message = error.message;
    } catch (e) { /* not JSON: keep the status */ }
    throw new ApiError(response.status, kind, message);
  }
  const type = response.headers.get("content-type") || "";
  return {
    data: type.startsWith("application/json") ? JSON.parse(text) : text,
    total: Number(response.headers.get("x-total-count")) || null,
    skipped: Number(response.headers.get("x-skipped-count")) || 0,
  };
}

const q = encodeURIComponent;

// ---- words and numbers ----

function count(n) {
  return Number(n).toLocaleString("en-US");
}

function span(seconds) {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

function ago(iso) {
  if (!iso) return "";
  const delta = (Date.now() - Date.parse(iso)) / 1000;
  if (Math.abs(delta) < 1) return "now";
  return delta > 0 ? `${span(delta)} ago` : `in ${span(-delta)}`;
}

function when(iso) {
  return iso ? h("time", { datetime: iso, title: iso }, ago(iso)) : "";
}

function short(text, most) {
  const chars = Array.from(text);
  return chars.length > most ? chars.slice(0, most - 1).join("") + "…" : text;
}

function preview(value) {
  return short(JSON.stringify(value), 80);
}

function lastError(job) {
  const last = job.errors[job.errors.length - 1];
  return last ? last.reason : "";
}

function badge(status) {
  return h("span", { class: `badge ${status}` }, status);
}

// ---- confirming and acting ----

// Asks before an action; resolves true when confirmed.
function confirmAction(title, text, cli, verb) {
  const dialog = document.getElementById("confirm");
  document.getElementById("confirm-title").textContent = title;
  document.getElementById("confirm-text").textContent = text;
  document.getElementById("confirm-cli").textContent = cli;
  const ok = document.getElementById("confirm-ok");
  ok.textContent = verb;
  const cancel = document.getElementById("confirm-cancel");
  const opener = document.activeElement;
  return new Promise((resolve) => {
    const finish = (answer) => {
      ok.removeEventListener("click", yes);
      cancel.removeEventListener("click", no);
      dialog.removeEventListener("cancel", no);
      if (dialog.open) dialog.close();
      if (opener && opener.isConnected) opener.focus();
      resolve(answer);
    };
    const yes = () => finish(true);
    const no = (event) => { if (event) event.preventDefault(); finish(false); };
    ok.addEventListener("click", yes);
    cancel.addEventListener("click", no);
    dialog.addEventListener("cancel", no);
    dialog.showModal();
    cancel.focus();
  });
}

// Runs a confirmed action, says what it did, and shows the page anew.
async function act(confirmation, run, said) {
  if (!(await confirmAction(...confirmation))) return;
  try {
    const result = await run();
    say(typeof said === "function" ? said(result) : said);
    notice(null);
  } catch (e) {
    failed(e);
  }
  await refresh();
}

function actionButton(label, focusKey, confirmation, run, said) {
  return h("button", {
    type: "button",
    "data-focus": focusKey,
    onclick: () => act(confirmation, run, said),
  }, label);
}

function retryButton(job) {
  return actionButton("Retry", `retry-${job.id}`,
    ["Retry this job?", `Job ${job.id} in ${job.queue} goes back to pending with a fresh attempt budget.`,
      `queueprim retry ${job.id}`, "Retry"],
    () => api("POST", `/v1/jobs/${q(job.id)}/retry`, {}),
    `${job.id} is pending again`);
}

function cancelButton(job) {
  return actionButton("Cancel", `cancel-${job.id}`,
    ["Cancel this job?", `Job ${job.id} in ${job.queue} is deleted before any worker claims it.`,
      `queueprim cancel ${job.id}`, "Cancel job"],
    () => api("DELETE", `/v1/jobs/${q(job.id)}`),
    `${job.id} was cancelled`);
}

function retryAllButton(queue, dead) {
  return actionButton(`Retry all ${count(dead)} dead`, `retry-all-${queue}`,
    ["Retry every dead job?", `Every dead job of ${queue} goes back to pending with a fresh attempt budget.`,
      `queueprim retry --queue ${queue}`, "Retry all"],
    () => api("POST", `/v1/queues/${q(queue)}/retry`, {}),
    (r) => `${count(r.data.length)} jobs of ${queue} are pending again` +
      (r.skipped ? `; ${count(r.skipped)} left dead: their dedup key is taken` : ""));
}

function pauseButton(queue, paused) {
  const verb = paused ? "Resume" : "Pause";
  const text = paused
    ? `Workers may claim the jobs of ${queue} again.`
    : `Workers claim nothing from ${queue} until it is resumed; jobs may still be enqueued.`;
  return actionButton(verb, `pause-${queue}`,
    [`${verb} this queue?`, text, `queueprim ${verb.toLowerCase()} ${queue}`, verb],
    () => api("PATCH", `/v1/queues/${q(queue)}`, { paused: !paused }),
    `${queue} is ${paused ? "running again" : "paused"}`);
}

function purgeButton(queue, done) {
  return actionButton(`Purge ${count(done)} done`, `purge-${queue}`,
    ["Purge the done jobs?", `Every done job of ${queue} is deleted for good.`,
      `queueprim purge --queue ${queue} --status done`, "Purge"],
    () => api("DELETE", `/v1/queues/${q(queue)}/jobs?status=done`),
    (r) => `${count(r.data.removed)} done jobs of ${queue} were purged`);
}

// ---- the views ----

function route() {
  const hash = location.hash.replace(/^#/, "") || "/";
  const [path, query] = hash.split("?");
  const params = new URLSearchParams(query || "");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  if (parts[0] === "queue" && parts[1]) return { view: "queue", queue: parts[1], params };
  if (parts[0] === "job" && parts[1]) return { view: "job", id: parts[1] };
  if (parts[0] === "dead") return { view: "dead" };
  return { view: "queues" };
}

// The age of each queue's oldest claimable job, from /metrics.
function oldestFromMetrics(text) {
  const ages = new Map();
  const line = /^queueprim_oldest_pending_age_seconds\{queue="([^"]*)"\} (\S+)$/gm;
  for (const match of text.matchAll(line)) ages.set(match[1], Number(match[2]));
  return ages;
}

function chart(minutes) {
  const done = minutes ? minutes.done : new Array(60).fill(0);
  const dead = minutes ? minutes.dead : new Array(60).fill(0);
  const totals = done.map((d, i) => d + dead[i]);
  const peak = Math.max(1, ...totals);
  const sum = (list) => list.reduce((a, b) => a + b, 0);
  const label = `last hour: ${count(sum(done))} done, ${count(sum(dead))} dead, ` +
    `busiest minute ${count(Math.max(...totals))}`;
  const graph = svg("svg", { viewBox: "0 0 60 20", preserveAspectRatio: "none", class: "chart", role: "img", "aria-label": label });
  const title = svg("title", {});
  title.textContent = label;
  graph.append(title);
  totals.forEach((total, i) => {
    if (!total) return;
    const doneHeight = (done[i] / peak) * 20;
    const deadHeight = (dead[i] / peak) * 20;
    if (doneHeight) graph.append(svg("rect", { x: i + 0.1, y: 20 - doneHeight, width: 0.8, height: doneHeight, class: "done" }));
    if (deadHeight) graph.append(svg("rect", { x: i + 0.1, y: 20 - doneHeight - deadHeight, width: 0.8, height: deadHeight, class: "dead" }));
  });
  return h("figure", { class: "throughput" }, graph, h("figcaption", {}, label));
}

function counts(c) {
  return h("dl", { class: "counts" }, STATUSES.map((status) =>
    h("div", { class: status }, h("dt", {}, status), h("dd", {}, count(c[status] || 0)))));
}

async function viewQueues() {
  const [queues, throughput, metrics] = await Promise.all([
    api("GET", "/v1/queues"),
    api("GET", "/v1/throughput"),
    api("GET", "/metrics"),
  ]);
  const minutes = new Map(throughput.data.queues.map((t) => [t.queue, t]));
  const oldest = oldestFromMetrics(metrics.data);
  const list = queues.data;
  const heading = h("h1", {}, "Queues");
  if (!list.length) {
    return [heading, h("p", { class: "empty" }, "No queues yet: jobs enqueued with this token's queues show up here.")];
  }
  const cards = list.map((queue) => {
    const age = oldest.get(queue.queue);
    return h("article", { class: "queue-card", "data-queue": queue.queue },
      h("header", {},
        h("h2", {}, h("a", { href: `#/queue/${q(queue.queue)}`, "data-focus": `queue-${queue.queue}` }, queue.queue)),
        queue.paused ? h("span", { class: "badge paused" }, "paused") : null),
      counts(queue),
      chart(minutes.get(queue.queue)),
      h("p", { class: "oldest" }, age === undefined
        ? "nothing waiting"
        : `oldest pending: ${span(age)}`));
  });
  const all = { pending: 0, claimed: 0, done: 0, dead: 0 };
  for (const queue of list) for (const status of STATUSES) all[status] += queue[status];
  return [
    heading,
    h("section", { class: "totals", "aria-label": "Every queue together" }, counts(all)),
    h("div", { class: "cards" }, cards),
  ];
}

function jobTable(jobs, { withQueue, withError }) {
  const rows = jobs.map((job) => h("tr", { "data-job": job.id },
    h("td", {}, h("a", { href: `#/job/${q(job.id)}`, "data-focus": `job-${job.id}` }, job.id)),
    withQueue ? h("td", { class: "name" }, job.queue) : null,
    h("td", {}, badge(job.status)),
    h("td", { class: "wide-only" }, job.type || ""),
    h("td", { class: "num wide-only" }, String(job.attempts)),
    h("td", { class: "payload wide-only" }, h("code", {}, preview(job.payload))),
    withError ? h("td", { class: "reason" }, lastError(job)) : null,
    h("td", { class: "nowrap" }, when(job.finished_at || job.updated_at)),
    h("td", { class: "actions" },
      job.status === "dead" ? retryButton(job) : null,
      job.status === "pending" ? cancelButton(job) : null)));
  return h("div", { class: "scroll" }, h("table", { class: "jobs" },
    h("thead", {}, h("tr", {},
      h("th", { scope: "col" }, "Job"),
      withQueue ? h("th", { scope: "col" }, "Queue") : null,
      h("th", { scope: "col" }, "Status"),
      h("th", { scope: "col", class: "wide-only" }, "Type"),
      h("th", { scope: "col", class: "num wide-only" }, "Attempt"),
      h("th", { scope: "col", class: "wide-only" }, "Payload"),
      withError ? h("th", { scope: "col" }, "Last error") : null,
      h("th", { scope: "col" }, "Updated"),
      h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Actions")))),
    h("tbody", {}, rows)));
}

async function viewQueue(queue, params) {
  const status = STATUSES.includes(params.get("status")) ? params.get("status") : "";
  const page = Math.max(1, Math.min(Number(params.get("page")) || 1, MOST_LISTED / PAGE_SIZE));
  const limit = page * PAGE_SIZE;
  const filter = status ? `&status=${status}` : "";
  const [settings, queues, listed] = await Promise.all([
    api("GET", `/v1/queues/${q(queue)}`),
    api("GET", "/v1/queues"),
    api("GET", `/v1/queues/${q(queue)}/jobs?limit=${limit}${filter}`),
  ]);
  const found = queues.data.find((entry) => entry.queue === queue) ||
    { pending: 0, claimed: 0, done: 0, dead: 0, total: 0 };
  const s = settings.data;
  const jobs = listed.data.slice((page - 1) * PAGE_SIZE);
  const matching = status ? found[status] : found.total;
  const tabs = h("nav", { class: "tabs", "aria-label": "Jobs by status" },
    ["", ...STATUSES].map((option) => h("a", {
      href: `#/queue/${q(queue)}${option ? `?status=${option}` : ""}`,
      "aria-current": option === status ? "page" : null,
      "data-focus": `tab-${option || "all"}`,
    }, `${option || "all"} (${count(option ? found[option] : found.total)})`)));
  const first = (page - 1) * PAGE_SIZE + 1;
  const pager = h("nav", { class: "pager", "aria-label": "Pages" },
    page > 1 ? h("a", { href: pageLink(queue, status, page - 1), "data-focus": "newer" }, "← Newer") : null,
    h("span", {}, jobs.length
      ? `${count(first)}–${count(first + jobs.length - 1)} of ${count(matching)}, newest first`
      : "no jobs"),
    jobs.length === PAGE_SIZE && page * PAGE_SIZE < Math.min(matching, MOST_LISTED)
      ? h("a", { href: pageLink(queue, status, page + 1), "data-focus": "older" }, "Older →") : null,
    page * PAGE_SIZE >= MOST_LISTED && matching > MOST_LISTED
      ? h("span", { class: "hint" }, `older jobs: queueprim list ${queue}`) : null);
  const setting = (name, value) => h("div", {}, h("dt", {}, name), h("dd", {}, value));
  return [
    h("p", { class: "crumbs" }, h("a", { href: "#/" }, "Queues"), " / "),
    h("h1", {}, queue, s.paused ? h("span", { class: "badge paused" }, "paused") : null),
    counts(found),
    h("section", { "aria-labelledby": "settings-title" },
      h("h2", { id: "settings-title" }, "Settings"),
      h("dl", { class: "settings" },
        setting("paused", s.paused ? "yes" : "no"),
        setting("claim timeout", s.timeout_ms === null ? "default (30m)" : span(s.timeout_ms / 1000)),
        setting("max retries", s.max_retries === null ? "default (0)" : String(s.max_retries)),
        setting("backoff", s.backoff_ms === null ? "none" : span(s.backoff_ms / 1000)))),
    h("div", { class: "toolbar" },
      pauseButton(queue, s.paused),
      found.dead ? retryAllButton(queue, found.dead) : null,
      found.done ? purgeButton(queue, found.done) : null),
    h("section", { "aria-labelledby": "jobs-title" },
      h("h2", { id: "jobs-title" }, "Jobs"),
      tabs,
      jobs.length ? jobTable(jobs, { withError: status === "dead" || status === "" }) : h("p", { class: "empty" }, "No jobs here."),
      pager),
  ];
}

function pageLink(queue, status, page) {
  const params = new URLSearchParams();
  if (status) params.set("status", status);
  if (page > 1) params.set("page", String(page));
  const query = params.toString();
  return `#/queue/${q(queue)}${query ? `?${query}` : ""}`;
}

function json(value) {
  return h("pre", { class: "json", tabindex: "0" }, JSON.stringify(value, null, 2));
}

function timeline(job) {
  const events = [{ at: job.created_at, what: "enqueued" }];
  for (const error of job.errors) {
    events.push({ at: error.at, what: `attempt ${error.attempt} failed` + (error.worker ? ` on ${error.worker}` : "") + `: ${error.reason}` });
  }
  if (job.status === "claimed") events.push({ at: job.updated_at, what: `claimed by ${job.worker || "a worker"}, until ${job.claim_deadline}` });
  if (job.status === "pending" && job.run_after) events.push({ at: job.run_after, what: "may be claimed from then on" });
  if (job.finished_at) events.push({ at: job.finished_at, what: job.status === "dead" ? "dead" : "done" });
  events.sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
  return h("ol", { class: "timeline" }, events.map((e) =>
    h("li", {}, h("time", { datetime: e.at }, e.at), " ", h("span", {}, e.what))));
}

async function viewJob(id) {
  const { data: job } = await api("GET", `/v1/jobs/${q(id)}`);
  const field = (name, value) => value === null || value === undefined || value === ""
    ? null : h("div", {}, h("dt", {}, name), h("dd", {}, value));
  return [
    h("p", { class: "crumbs" },
      h("a", { href: "#/" }, "Queues"), " / ",
      h("a", { href: `#/queue/${q(job.queue)}` }, job.queue), " / "),
    h("h1", {}, job.id, " ", badge(job.status)),
    h("div", { class: "toolbar" },
      job.status === "dead" ? retryButton(job) : null,
      job.status === "pending" ? cancelButton(job) : null),
    h("dl", { class: "fields" },
      field("queue", job.queue),
      field("type", job.type),
      field("priority", String(job.priority)),
      field("failed attempts", `${job.attempt_count} (max retries ${job.max_retries})`),
      field("worker", job.worker),
      field("group", job.group),
      field("key", job.key),
      field("claimed until", job.claim_deadline),
      field("runs after", job.run_after),
      field("created", job.created_at),
      field("updated", job.updated_at),
      field("finished", job.finished_at)),
    h("section", { "aria-labelledby": "payload-title" }, h("h2", { id: "payload-title" }, "Payload"), json(job.payload)),
    job.output === null ? null
      : h("section", { "aria-labelledby": "output-title" }, h("h2", { id: "output-title" }, "Output"), json(job.output)),
    h("section", { "aria-labelledby": "errors-title" },
      h("h2", { id: "errors-title" }, "Errors"),
      job.errors.length
        ? h("div", { class: "scroll" }, h("table", { class: "errors" },
          h("thead", {}, h("tr", {},
            h("th", { scope: "col" }, "At"), h("th", { scope: "col" }, "Attempt"),
            h("th", { scope: "col" }, "Worker"), h("th", { scope: "col" }, "Reason"))),
          h("tbody", {}, job.errors.map((e) => h("tr", {},
            h("td", { class: "nowrap" }, when(e.at)), h("td", { class: "num" }, String(e.attempt)),
            h("td", {}, e.worker || ""), h("td", { class: "reason" }, e.reason))))))
        : h("p", { class: "empty" }, "No failed attempts.")),
    h("section", { "aria-labelledby": "timeline-title" }, h("h2", { id: "timeline-title" }, "Timeline"), timeline(job)),
  ];
}

async function viewDead() {
  const { data: queues } = await api("GET", "/v1/queues");
  const dead = queues.filter((queue) => queue.dead > 0);
  const lists = await Promise.all(dead.map((queue) =>
    api("GET", `/v1/queues/${q(queue.queue)}/jobs?status=dead&limit=${PAGE_SIZE}`)));
  const heading = h("h1", {}, "Dead jobs");
  if (!dead.length) return [heading, h("p", { class: "empty" }, "No dead jobs.")];
  return [heading, dead.map((queue, i) => h("section", { class: "dead-queue", "data-queue": queue.queue },
    h("h2", {}, h("a", { href: `#/queue/${q(queue.queue)}?status=dead` }, queue.queue), ` (${count(queue.dead)})`),
    h("div", { class: "toolbar" }, retryAllButton(queue.queue, queue.dead)),
    jobTable(lists[i].data, { withError: true }),
    queue.dead > PAGE_SIZE ? h("p", { class: "hint" }, h("a", { href: `#/queue/${q(queue.queue)}?status=dead&page=2` }, "more dead jobs")) : null))];
}

// ---- showing a view, and keeping it fresh ----

function say(text) {
  document.getElementById("status").textContent = text;
}

function notice(text) {
  const box = document.getElementById("notice");
  box.textContent = text || "";
  box.hidden = !text;
}

function failed(error) {
  if (error.status === 401) {
    signOut("Signed out: " + error.message);
    return;
  }
  if (error.status === 404 && error.message.includes("may only enqueue")) {
    signOut("This token may only enqueue jobs: the dashboard needs one that may read its queues.");
    return;
  }
  notice(error.status === 0 ? "Cannot reach the server; trying again." : error.message);
}

// Replaces the main content, keeping the focus on the same control when it is still there.
function show(nodes) {
  const main = document.getElementById("main");
  const focused = document.activeElement && document.activeElement.getAttribute("data-focus");
  main.replaceChildren(...nodes.flat().filter(Boolean));
  if (focused) {
    const again = [...main.querySelectorAll("[data-focus]")].find((el) => el.getAttribute("data-focus") === focused);
    if (again) again.focus();
  }
}

async function refresh() {
  if (state.token === null) return;
  if (state.busy) {
    state.again = true;
    return;
  }
  state.busy = true;
  state.again = false;
  try {
    const where = route();
    const nodes = where.view === "queue" ? await viewQueue(where.queue, where.params)
      : where.view === "job" ? await viewJob(where.id)
      : where.view === "dead" ? await viewDead()
      : await viewQueues();
    show(nodes);
    document.getElementById("nav").hidden = false;
    document.getElementById("main").setAttribute("data-loaded", where.view);
    notice(null);
  } catch (e) {
    if (e.status === 404 && !e.message.includes("may only enqueue")) {
      show([h("h1", {}, "Not found"), h("p", {}, e.message), h("p", {}, h("a", { href: "#/" }, "All queues"))]);
    } else {
      failed(e);
    }
  } finally {
    state.busy = false;
  }
  if (state.again) await refresh();
}

function poll() {
  clearInterval(state.timer);
  state.timer = setInterval(() => { if (!document.hidden) refresh(); }, POLL_MS);
}

// ---- signing in and out ----

function signInForm(message) {
  const input = h("input", {
    id: "token", name: "token", type: "password", autocomplete: "off", spellcheck: "false",
    required: true, "aria-describedby": "token-help",
  });
  const error = h("p", { id: "sign-in-error", class: "error", role: "alert" }, message || "");
  const form = h("form", { class: "sign-in", onsubmit: (event) => { event.preventDefault(); signIn(input.value.trim(), error); } },
    h("h1", {}, "Sign in"),
    h("label", { for: "token" }, "API token"),
    input,
    h("p", { id: "token-help", class: "hint" },
      "A token from queueprim token create. It is kept for this tab only, and the page shows exactly the queues it reaches."),
    h("button", { type: "submit" }, "Sign in"),
    error);
  return { form, input };
}

async function signIn(token, error) {
  if (!token) return;
  state.token = token;
  try {
    await api("GET", "/v1/queues");
  } catch (e) {
    state.token = null;
    error.textContent = e.status === 401 ? e.message
      : e.status === 404 ? "This token may only enqueue jobs: the dashboard needs one that may read its queues."
      : e.message;
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, token);
  start();
}

function signOut(message) {
  state.token = null;
  clearInterval(state.timer);
  sessionStorage.removeItem(TOKEN_KEY);
  document.getElementById("nav").hidden = true;
  document.getElementById("sign-out").hidden = true;
  document.getElementById("main").removeAttribute("data-loaded");
  notice(null);
  say("");
  const { form, input } = signInForm(message);
  show([form]);
  input.focus();
}

function start() {
  document.getElementById("sign-out").hidden = state.token === "";
  say("");
  refresh();
  poll();
}

// A token handed over in the address (#token=...): the fragment never reaches the server.
function tokenFromFragment() {
  const match = location.hash.match(/^#token=([^&]*)/);
  if (!match) return null;
  history.replaceState(null, "", location.pathname + location.search + "#/");
  return decodeURIComponent(match[1]);
}

async function boot() {
  document.getElementById("sign-out").addEventListener("click", () => signOut(""));
  // The skip link only moves the focus: the address's fragment is the page's route, and
  // following "#main" would leave the page for the Queues overview.
  document.querySelector("a.skip").addEventListener("click", (event) => {
    event.preventDefault();
    document.getElementById("main").focus();
  });
  window.addEventListener("hashchange", () => {
    if (tokenFromFragmentAndStart()) return;
    refresh().then(() => document.getElementById("main").focus({ preventScroll: true }));
  });
  document.addEventListener("visibilitychange", () => { if (!document.hidden) refresh(); });
  if (tokenFromFragmentAndStart()) return;
  const kept = sessionStorage.getItem(TOKEN_KEY);
  if (kept) {
    state.token = kept;
    start();
    return;
  }
  // A server run without tokens (--no-auth, loopback only) answers without one.
  try {
    state.token = "";
    await api("GET", "/v1/queues");
    start();
  } catch (e) {
    signOut("");
  }
}

function tokenFromFragmentAndStart() {
  const token = tokenFromFragment();
  if (token === null) return false;
  sessionStorage.setItem(TOKEN_KEY, token);
  state.token = token;
  start();
  return true;
}

boot();
