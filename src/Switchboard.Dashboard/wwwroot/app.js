// Switchboard dashboard: plain JavaScript, no build step. Every value from the server is put into the page as text
// (textContent), never as HTML.
"use strict";

const state = { session: null, view: 0 };

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const fmtNumber = (n) => (n === null || n === undefined ? "–" : Number(n).toLocaleString());
const fmtTime = (t) => (t ? new Date(t).toLocaleString() : "–");
function fmtAge(span) {
  if (!span) return "–";
  const [h, m, s] = span.split(":");
  const seconds = Number(h.includes(".") ? Number(h.split(".")[0]) * 86400 + Number(h.split(".")[1]) * 3600 : Number(h) * 3600) + Number(m) * 60 + Number(s);
  if (seconds < 1) return "< 1 s";
  if (seconds < 120) return `${Math.round(seconds)} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  return `${Math.round(seconds / 3600)} h`;
}

async function api(path, options) {
  const response = await fetch(path, Object.assign({ credentials: "same-origin", headers: { Accept: "application/json" } }, options || {}));
  const body = response.headers.get("content-type")?.includes("json") ? await response.json() : null;
  if (!response.ok) throw new Error((body && body.detail) || `${response.status} ${response.statusText}`);
  return body;
}

async function post(path, payload) {
  return api(path, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json", [state.session.antiforgeryHeader]: state.session.antiforgeryToken },
    body: JSON.stringify(payload),
  });
}

function confirmAction(text, okLabel) {
  const dialog = document.getElementById("confirm");
  document.getElementById("confirm-text").textContent = text;
  document.getElementById("confirm-ok").textContent = okLabel;
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
    dialog.returnValue = "";
    dialog.showModal();
  });
}

function parseHash() {
  const hash = location.hash.replace(/^#/, "") || "/";
  const [path, query] = hash.split("?");
  return { path, params: new URLSearchParams(query || "") };
}

function setView(...children) {
  const view = document.getElementById("view");
  view.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined));
}

function healthBadge(health) {
  const labels = { healthy: "healthy", deadLetters: "dead letters", unreachable: "unreachable" };
  return el("span", { class: `badge ${health}` }, labels[health] || health);
}

async function renderOverview() {
  const data = await api("api/overview");
  const rows = data.sources.map((s) =>
    el("tr", { "data-source": s.source },
      el("td", {}, s.transport),
      el("td", {}, s.destination),
      el("td", {}, s.consumerGroup),
      el("td", { class: "num" }, fmtNumber(s.info?.backlog)),
      el("td", { class: "num" }, fmtNumber(s.info?.inFlight)),
      el("td", { class: "num" }, fmtNumber(s.info?.delayed)),
      el("td", { class: "num" }, fmtNumber(s.info?.lag)),
      el("td", { class: "num" }, fmtAge(s.info?.oldestAge)),
      el("td", { class: "num" }, fmtNumber(s.info?.consumers)),
      el("td", { class: "num" }, el("a", { href: `#/dead-letters?source=${encodeURIComponent(s.source)}`, "data-testid": "dead-letter-count" }, fmtNumber(s.deadLetters))),
      el("td", {}, healthBadge(s.health)),
      el("td", { class: "reason" }, s.error || s.info?.lastError || "", s.info?.lastErrorAt ? el("div", { class: "muted" }, fmtTime(s.info.lastErrorAt)) : null)));
  const health = data.health.length === 0 ? [] : [
    el("h2", {}, "Health checks"),
    el("table", {}, el("thead", {}, el("tr", {}, el("th", {}, "check"), el("th", {}, "status"))),
      el("tbody", {}, data.health.map((h) => el("tr", {}, el("td", {}, h.name), el("td", {}, el("span", { class: `badge ${h.status}` }, h.status)))))),
  ];
  setView(
    el("h1", {}, "Overview"),
    el("table", { id: "overview" },
      el("thead", {}, el("tr", {},
        ["transport", "destination", "group"].map((h) => el("th", {}, h)),
        ["backlog", "in flight", "delayed", "lag", "oldest", "consumers", "dead letters"].map((h) => el("th", { class: "num" }, h)),
        el("th", {}, "health"), el("th", {}, "last error"))),
      el("tbody", {}, rows.length ? rows : el("tr", {}, el("td", { colspan: 12, class: "muted" }, "No sources.")))),
    ...health,
    el("p", { class: "muted" }, `Read at ${fmtTime(data.generatedAt)}. `, el("a", { href: "#/", onclick: (e) => { e.preventDefault(); route(); } }, "Refresh")));
}

const filterNames = ["messageType", "exceptionType", "text", "from", "to"];

// Bulk replay and delete run as jobs on the server: the page polls their progress and can cancel them. Leaving the page
// does not stop a job; coming back shows it again.
const jobVerbs = { replay: ["Replaying", "Replayed"], delete: ["Deleting", "Deleted"] };
const jobDone = (job) => ["completed", "cancelled", "failed"].includes(job.state);

function jobText(job) {
  const [doing, done] = jobVerbs[job.action];
  const gone = job.missing ? ` (${job.missing} already gone)` : "";
  switch (job.state) {
    case "selecting": return `${doing}: selecting the dead letters that match…`;
    case "running": return `${doing}: ${job.done} of ${job.total} done${gone}${job.cancelRequested ? " — stopping after the current message…" : ""}`;
    case "completed": return `${done} ${job.succeeded} of ${job.total}${gone}.`;
    case "cancelled": return `Cancelled: ${done.toLowerCase()} ${job.succeeded} of ${job.total}${gone}; the others are untouched. Run it again to finish.`;
    default: return `Failed after ${job.succeeded} of ${job.total}: ${job.error || "unknown error"}. The others are untouched.`;
  }
}

function jobPanel(job, finished) {
  const bar = el("progress", { id: "job-bar", max: Math.max(job.total, 1), value: job.done });
  const text = el("span", { id: "job-progress" }, jobText(job));
  const cancel = el("button", { id: "job-cancel" }, "Cancel");
  const panel = el("div", { class: "job", id: "job", "data-state": job.state }, bar, text, state.session.readOnly ? null : cancel);
  const show = (j) => {
    panel.dataset.state = j.state;
    bar.max = Math.max(j.total, 1);
    bar.value = j.done;
    text.textContent = jobText(j);
    cancel.disabled = j.cancelRequested || jobDone(j);
  };
  cancel.addEventListener("click", async () => {
    cancel.disabled = true;
    try { show(await post(`api/jobs/${encodeURIComponent(job.id)}/cancel`, {})); } catch (error) { text.textContent = error.message; }
  });
  const view = state.view;
  const poll = async () => {
    if (state.view !== view) return;
    let current;
    try { current = await api(`api/jobs/${encodeURIComponent(job.id)}`); } catch (error) { text.textContent = error.message; return; }
    if (state.view !== view) return;
    show(current);
    if (jobDone(current)) finished(current);
    else setTimeout(poll, 250);
  };
  show(job);
  setTimeout(poll, 250);
  return panel;
}

async function renderDeadLetters(params) {
  const overview = await api("api/overview");
  let source = params.get("source");
  if (!source && overview.sources.length) {
    source = (overview.sources.find((s) => s.deadLetters > 0) || overview.sources[0]).source;
  }
  if (!source) {
    setView(el("h1", {}, "Dead letters"), el("p", { class: "muted" }, "No sources."));
    return;
  }
  const query = new URLSearchParams({ source });
  // datetime-local inputs give local times without a zone: the API gets them as UTC instants.
  for (const name of [...filterNames, "cursor"]) if (params.get(name)) query.set(name, name === "from" || name === "to" ? new Date(params.get(name)).toISOString() : params.get(name));
  const page = await api(`api/dead-letters?${query}`);
  const jobs = await api(`api/jobs?${new URLSearchParams({ source })}`);
  const filter = {};
  for (const name of filterNames) if (params.get(name)) filter[name] = name === "from" || name === "to" ? new Date(params.get(name)).toISOString() : params.get(name);

  const select = el("select", { id: "source", name: "source" },
    overview.sources.map((s) => el("option", { value: s.source, selected: s.source === source }, `${s.source} (${fmtNumber(s.deadLetters)})`)));
  const inputs = {
    messageType: el("input", { name: "messageType", placeholder: "OrderPlaced", value: params.get("messageType") || "" }),
    exceptionType: el("input", { name: "exceptionType", placeholder: "TimeoutException", value: params.get("exceptionType") || "" }),
    text: el("input", { name: "text", placeholder: "text in the reason", value: params.get("text") || "" }),
    from: el("input", { name: "from", type: "datetime-local", value: params.get("from") || "" }),
    to: el("input", { name: "to", type: "datetime-local", value: params.get("to") || "" }),
  };
  const apply = (cursor) => {
    const next = new URLSearchParams({ source: select.value });
    for (const name of filterNames) if (inputs[name].value) next.set(name, inputs[name].value);
    if (cursor) next.set("cursor", cursor);
    location.hash = `#/dead-letters?${next}`;
  };
  const form = el("form", { class: "filters", id: "filters", onsubmit: (e) => { e.preventDefault(); apply(null); } },
    el("label", {}, "source", select),
    el("label", {}, "message type", inputs.messageType),
    el("label", {}, "exception type", inputs.exceptionType),
    el("label", {}, "reason contains", inputs.text),
    el("label", {}, "from", inputs.from),
    el("label", {}, "to", inputs.to),
    el("button", { type: "submit", class: "primary", id: "apply" }, "Apply"));

  const all = el("input", { type: "checkbox", id: "select-all", "aria-label": "select all" });
  const boxes = [];
  const rows = page.items.map((m) => {
    const box = el("input", { type: "checkbox", value: m.id, "aria-label": `select ${m.id}` });
    boxes.push(box);
    return el("tr", { "data-id": m.id },
      el("td", {}, box),
      el("td", {}, fmtTime(m.deadLetteredAt)),
      el("td", {}, m.messageType || "–"),
      el("td", {}, el("a", { href: `#/message?source=${encodeURIComponent(source)}&id=${encodeURIComponent(m.id)}` }, m.messageId || m.id)),
      el("td", { class: "reason" }, m.reason),
      el("td", {}, m.exceptionType || "–"),
      el("td", { class: "num" }, m.attempts));
  });
  all.addEventListener("change", () => boxes.forEach((b) => { b.checked = all.checked; }));

  const output = el("div", { id: "outcome" });
  const selected = () => boxes.filter((b) => b.checked).map((b) => b.value);
  const settle = async (replay, matching) => {
    const ids = matching ? null : selected();
    if (!matching && ids.length === 0) {
      output.replaceChildren(el("div", { class: "error" }, "Select one or more dead letters first."));
      return;
    }
    const verb = replay ? "Replay" : "Delete";
    const what = matching ? "every dead letter that matches the filters" : `${ids.length} dead letter${ids.length === 1 ? "" : "s"}`;
    const ok = await confirmAction(`${verb} ${what} of ${source}?${replay ? "" : " Deleted messages are gone for good."}`, verb);
    if (!ok) return;
    try {
      const job = await post("api/jobs", { action: replay ? "replay" : "delete", source, ids, matching, filter: matching ? filter : null });
      output.replaceChildren(jobPanel(job, finished));
    } catch (error) {
      output.replaceChildren(el("div", { class: "error" }, error.message));
    }
  };
  const finished = (job) => {
    sessionStorage.setItem("switchboard-outcome", jobText(job));
    route();
  };
  const outcome = sessionStorage.getItem("switchboard-outcome");
  sessionStorage.removeItem("switchboard-outcome");
  if (outcome) output.replaceChildren(el("div", { class: "result", id: "result" }, outcome));
  const running = jobs.find((j) => !jobDone(j));
  if (running) output.replaceChildren(jobPanel(running, finished));
  const writable = !state.session.readOnly;
  setView(
    el("h1", {}, "Dead letters"),
    form,
    output,
    el("div", { class: "actions" },
      el("span", { class: "muted", id: "total" }, `${fmtNumber(page.total)} in ${source}`),
      writable ? el("button", { id: "replay-selected", class: "primary", onclick: () => settle(true, false) }, "Replay selected") : null,
      writable ? el("button", { id: "delete-selected", onclick: () => settle(false, false) }, "Delete selected") : null,
      writable ? el("button", { id: "replay-matching", onclick: () => settle(true, true) }, "Replay all matching") : null,
      writable ? el("button", { id: "delete-matching", onclick: () => settle(false, true) }, "Delete all matching") : null),
    el("table", { id: "dead-letters" },
      el("thead", {}, el("tr", {}, el("th", {}, all), el("th", {}, "dead-lettered"), el("th", {}, "type"), el("th", {}, "message"),
        el("th", {}, "reason"), el("th", {}, "exception"), el("th", { class: "num" }, "attempts"))),
      el("tbody", {}, rows.length ? rows : el("tr", {}, el("td", { colspan: 7, class: "muted" }, "No dead letters.")))),
    el("div", { class: "actions" },
      params.get("cursor") ? el("button", { id: "first-page", onclick: () => apply(null) }, "First page") : null,
      page.nextCursor ? el("button", { id: "next-page", onclick: () => apply(page.nextCursor) }, "Next page") : null));
}

async function renderMessage(params) {
  const source = params.get("source");
  const id = params.get("id");
  const m = await api(`api/dead-letters/message?${new URLSearchParams({ source, id })}`);
  const props = [
    ["source", m.source], ["id", m.id], ["message id", m.messageId], ["type", m.messageType], ["destination", m.destination],
    ["consumer group", m.consumerGroup], ["correlation id", m.correlationId], ["partition key", m.partitionKey],
    ["sent", fmtTime(m.sentAt)], ["dead-lettered", fmtTime(m.deadLetteredAt)], ["attempts", m.attempts], ["body size", `${m.bodyBytes} bytes`],
  ];
  const output = el("div", { id: "outcome" });
  const settle = async (replay) => {
    const verb = replay ? "Replay" : "Delete";
    if (!(await confirmAction(`${verb} this message (${m.messageId || m.id}) of ${source}?`, verb))) return;
    try {
      const result = await post(`api/dead-letters/${replay ? "replay" : "delete"}`, { source, ids: [id] });
      sessionStorage.setItem("switchboard-outcome", `${replay ? "Replayed" : "Deleted"} ${result.succeeded} of ${result.selected}${result.missing ? " (already gone)" : ""}.`);
      location.hash = `#/dead-letters?${new URLSearchParams({ source })}`;
    } catch (error) {
      output.replaceChildren(el("div", { class: "error" }, error.message));
    }
  };
  const writable = !state.session.readOnly;
  setView(
    el("p", {}, el("a", { href: `#/dead-letters?${new URLSearchParams({ source })}` }, "← dead letters")),
    el("h1", {}, `Message ${m.messageId || m.id}`),
    output,
    writable ? el("div", { class: "actions" },
      el("button", { id: "replay-one", class: "primary", onclick: () => settle(true) }, "Replay"),
      el("button", { id: "delete-one", onclick: () => settle(false) }, "Delete")) : null,
    el("dl", { class: "props" }, props.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v === null || v === undefined ? "–" : v)])),
    el("h2", {}, "Reason"),
    el("pre", { id: "reason" }, m.reason),
    m.exceptionDetails ? [el("h2", {}, `Exception ${m.exceptionType || ""}`), el("pre", { id: "exception" }, m.exceptionDetails)] : null,
    el("h2", {}, `Body (${m.bodyFormat})`),
    el("pre", { id: "body" }, m.body),
    el("h2", {}, "Headers"),
    el("table", { id: "headers" }, el("tbody", {}, Object.entries(m.headers || {}).map(([k, v]) => el("tr", {}, el("td", {}, k), el("td", {}, v))))));
}

async function route() {
  state.view++;
  const { path, params } = parseHash();
  for (const link of document.querySelectorAll("[data-nav]")) {
    link.classList.toggle("active", path.startsWith(`/${link.dataset.nav === "overview" ? "" : link.dataset.nav}`) && (link.dataset.nav !== "overview" || path === "/"));
  }
  try {
    if (path === "/dead-letters") await renderDeadLetters(params);
    else if (path === "/message") await renderMessage(params);
    else await renderOverview();
  } catch (error) {
    setView(el("div", { class: "error", id: "load-error" }, error.message));
  }
}

async function start() {
  state.session = await api("api/session");
  const banner = document.getElementById("banner");
  if (state.session.loopbackOnly) {
    banner.textContent = "No authorization policy is set: this dashboard answers only requests from this machine (loopback). Call RequireAuthorization(...) on it to open it to others.";
    banner.hidden = false;
  }
  document.getElementById("mode").textContent = state.session.readOnly ? "read-only" : "";
  window.addEventListener("hashchange", route);
  await route();
}

start().catch((error) => setView(el("div", { class: "error", id: "load-error" }, error.message)));
