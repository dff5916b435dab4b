// Stellar dashboard: draws each page from the JSON of its /api twin and polls it.
// Data only ever reaches the page as text nodes and attribute values (never innerHTML).
"use strict";

(() => {
  const body = document.body;
  const page = body.dataset.page;
  const base = body.dataset.base || "";
  const apiUrl = body.dataset.api;
  const refresh = Math.max(500, Number(body.dataset.refresh) || 2000);
  const canAct = body.dataset.actions === "on";
  const csrfMeta = document.querySelector('meta[name="csrf-token"]');
  const csrf = csrfMeta ? csrfMeta.content : "";
  const SVG = "http://www.w3.org/2000/svg";

  // ------------------------------------------------------------------ DOM
  function add(el, children) {
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      el.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return el;
  }

  function setAttrs(el, attrs) {
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
      else el.setAttribute(key, value === true ? "" : String(value));
    }
    return el;
  }

  const h = (tag, attrs, ...children) => add(setAttrs(document.createElement(tag), attrs), children);
  const s = (tag, attrs, ...children) =>
    add(setAttrs(document.createElementNS(SVG, tag), attrs), children);

  // ----------------------------------------------------------- formatting
  const numbers = new Intl.NumberFormat();
  const num = (n) => (n === null || n === undefined ? "—" : numbers.format(n));
  const plural = (n, one, many) => `${num(n)} ${n === 1 ? one : many || one + "s"}`;

  function duration(seconds) {
    const sec = Math.max(0, Math.round(seconds));
    if (sec < 60) return `${sec} s`;
    const min = Math.floor(sec / 60);
    if (min < 60) return sec % 60 && min < 10 ? `${min} min ${sec % 60} s` : `${min} min`;
    const hours = Math.floor(min / 60);
    if (hours < 48) return min % 60 ? `${hours} h ${min % 60} min` : `${hours} h`;
    return `${Math.floor(hours / 24)} d ${hours % 24} h`;
  }

  function relative(iso) {
    const delta = (Date.parse(iso) - Date.now()) / 1000;
    if (Math.abs(delta) < 1.5) return "now";
    return delta > 0 ? `in ${duration(delta)}` : `${duration(-delta)} ago`;
  }

  const absolute = (iso) => new Date(iso).toLocaleString();

  // A <time> whose text is kept relative ("3 min ago") by the ticker below.
  function when(iso, fallback = "—") {
    if (!iso) return h("span", { class: "muted" }, fallback);
    return h("time", { datetime: iso, title: absolute(iso), "data-rel": "" }, relative(iso));
  }

  function tickTimes() {
    for (const el of document.querySelectorAll("time[data-rel]")) {
      el.textContent = relative(el.getAttribute("datetime"));
    }
  }

  function paramsText(args) {
    if (!Array.isArray(args)) return "";
    return JSON.stringify(args.length === 1 ? args[0] : args);
  }

  function pretty(text) {
    try {
      return JSON.stringify(JSON.parse(text), null, 2);
    } catch (_) {
      return text;
    }
  }

  const code = (text, cls = "") => h("code", { class: `clip ${cls}`, title: text }, text);
  const taskName = (name) =>
    name ? h("span", { class: "task" }, name) : h("span", { class: "muted" }, "(unreadable)");
  const pill = (text, kind = "") => h("span", { class: `pill ${kind}` }, text);

  function queryWith(changes) {
    const params = new URLSearchParams(window.location.search);
    for (const [key, value] of Object.entries(changes)) {
      if (value === null || value === undefined || value === "") params.delete(key);
      else params.set(key, String(value));
    }
    const text = params.toString();
    return text ? `?${text}` : "?";
  }

  // ---------------------------------------------------------------- blocks
  function panel(title, note, ...content) {
    return h(
      "section",
      { class: "panel" },
      title ? h("div", { class: "panel-head" }, h("h2", null, title), note ? h("span", { class: "muted small" }, note) : null) : null,
      content,
    );
  }

  function table(headers, rows, empty, cls = "") {
    if (!rows.length) return h("p", { class: "empty" }, empty);
    return h(
      "table",
      { class: `table ${cls}` },
      h("thead", null, h("tr", null, headers.map((text) => h("th", null, text)))),
      h("tbody", null, rows.map((cells) => h("tr", null, cells.map((cell) => h("td", null, cell))))),
    );
  }

  function pager(d) {
    if (d.pages <= 1) return null;
    const link = (label, number, disabled) =>
      disabled
        ? h("span", { class: "btn ghost small disabled", "aria-disabled": "true" }, label)
        : h("a", { class: "btn ghost small", href: queryWith({ page: number }) }, label);
    return h(
      "nav",
      { class: "pager", "aria-label": "Pages" },
      link("« First", 1, d.page === 1),
      link("‹ Previous", d.page - 1, d.page === 1),
      h("span", { class: "muted" }, `Page ${num(d.page)} of ${num(d.pages)}`),
      link("Next ›", d.page + 1, d.page === d.pages),
      link("Last »", d.pages, d.page === d.pages),
    );
  }

  // --------------------------------------------------------------- actions
  async function post(path, fields) {
    const response = await fetch(base + path, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(fields),
    });
    let data = {};
    try {
      data = await response.json();
    } catch (_) {
      data = {};
    }
    if (!response.ok) throw new Error(data.error || `${response.status} ${response.statusText}`);
    return data;
  }

  let toastTimer = null;
  function toast(message, bad = false) {
    const el = document.getElementById("toast");
    el.textContent = message;
    el.className = bad ? "toast bad" : "toast";
    el.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => {
      el.hidden = true;
    }, bad ? 8000 : 4000);
  }

  // A button that posts ``fields`` to ``path``; absent when this visitor may not act.
  function action(label, path, fields, { confirm, kind = "", title } = {}) {
    if (!canAct) return null;
    return h(
      "button",
      {
        type: "button",
        class: `btn small ${kind}`,
        title,
        onclick: async (event) => {
          if (confirm && !window.confirm(confirm)) return;
          const button = event.currentTarget;
          button.disabled = true;
          try {
            const result = await post(path, fields);
            toast(result.message || "Done");
          } catch (error) {
            toast(error.message, true);
          } finally {
            button.disabled = false;
            poll(true);
          }
        },
      },
      label,
    );
  }

  const actionsCell = (...buttons) => h("div", { class: "actions" }, buttons);

  // ------------------------------------------------------------------ chart
  function niceCeiling(value) {
    const exponent = 10 ** Math.floor(Math.log10(value));
    for (const step of [1, 1.2, 1.6, 2, 2.4, 3, 4, 5, 6, 8, 10]) {
      if (value <= step * exponent) return step * exponent;
    }
    return 10 * exponent;
  }

  function chart(throughput) {
    const minutes = throughput.minutes;
    const W = 760, H = 240, L = 48, R = 12, T = 14, B = 30;
    const top = niceCeiling(Math.max(4, ...minutes.map((m) => (m.processed || 0) + (m.failed || 0))));
    const plotW = W - L - R, plotH = H - T - B;
    const slot = plotW / minutes.length;
    const y = (v) => T + plotH * (1 - v / top);
    const svg = s("svg", {
      viewBox: `0 0 ${W} ${H}`,
      class: "chart",
      role: "img",
      "aria-label": "Jobs processed and failed per minute over the last hour",
    });
    for (let i = 0; i <= 4; i += 1) {
      const value = (top / 4) * i;
      svg.append(
        s("line", { x1: L, x2: W - R, y1: y(value), y2: y(value), class: i ? "grid" : "axis" }),
        s("text", { x: L - 8, y: y(value) + 4, "text-anchor": "end", class: "tick" }, num(Math.round(value))),
      );
    }
    minutes.forEach((m, i) => {
      const x = L + i * slot + 1;
      const width = Math.max(1, slot - 2);
      const start = new Date(m.start).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
      if (m.processed === null) {
        svg.append(s("rect", { x, y: T, width, height: plotH, class: "nodata" }));
        return;
      }
      const group = s("g", null, s("title", null, `${start}: ${num(m.processed)} processed, ${num(m.failed)} failed`));
      const hit = s("rect", { x, y: T, width, height: plotH, class: "hit" });
      group.append(hit);
      if (m.processed) {
        group.append(s("rect", { x, y: y(m.processed), width, height: plotH + T - y(m.processed), class: "bar ok" }));
      }
      if (m.failed) {
        const base0 = y(m.processed);
        group.append(s("rect", { x, y: y(m.processed + m.failed), width, height: base0 - y(m.processed + m.failed), class: "bar bad" }));
      }
      svg.append(group);
    });
    [60, 45, 30, 15, 0].forEach((ago) => {
      const x = L + plotW * (1 - ago / 60);
      const anchor = ago === 60 ? "start" : ago === 0 ? "end" : "middle";
      svg.append(s("text", { x, y: H - 8, "text-anchor": anchor, class: "tick" }, ago ? `−${ago} min` : "now"));
    });
    return svg;
  }

  function legend(throughput) {
    const since = throughput.since
      ? `History since ${new Date(throughput.since).toLocaleTimeString()}, when this dashboard started; sampled every ${throughput.interval} s.`
      : "No sample yet.";
    return h(
      "div",
      { class: "legend" },
      h("span", { class: "key ok" }, "Processed"),
      h("span", { class: "key bad" }, "Failed"),
      h("span", { class: "key nodata" }, "Before the history"),
      h("span", { class: "muted small" }, since),
    );
  }

  // ------------------------------------------------------------------ views
  function card(label, value, note, { kind = "", href } = {}) {
    const inner = [h("div", { class: "card-label" }, label), h("div", { class: "card-value" }, value), h("div", { class: "card-note" }, note)];
    return href ? h("a", { class: `card ${kind}`, href }, inner) : h("div", { class: `card ${kind}` }, inner);
  }

  const queueLink = (name) => h("a", { href: `${base}/queues/${encodeURIComponent(name)}` }, name);

  const views = {
    overview(d) {
      const t = d.totals;
      const lastMinute = d.throughput.minutes[d.throughput.minutes.length - 1];
      const cards = h(
        "div",
        { class: "cards" },
        card("Processed", num(t.processed), lastMinute && lastMinute.processed !== null ? `${num(lastMinute.processed)} this minute` : "in all"),
        card("Failed", num(t.failed), lastMinute && lastMinute.failed ? `${num(lastMinute.failed)} this minute` : "in all", { kind: t.failed ? "bad" : "" }),
        card("Queued", num(t.queued), plural(d.queues.length, "queue")),
        card("Delayed", num(t.delayed), "waiting for their time", { href: `${base}/delayed` }),
        card("Failed list", num(t.failed_jobs), "to retry or remove", { href: `${base}/failed`, kind: t.failed_jobs ? "bad" : "" }),
        card("Workers", `${num(t.busy)} / ${num(t.workers)}`, "busy / registered", { href: `${base}/workers` }),
      );
      const leader = d.leader
        ? h("p", { class: "banner" }, "Scheduler leader: ", h("code", null, d.leader))
        : h("p", { class: "banner warn" }, "No scheduler holds the leader lock: delayed and periodic jobs are not moving.");
      const queues = table(
        ["Queue", "Jobs waiting", "Oldest job waiting"],
        d.queues.map((q) => [queueLink(q.name), h("span", { class: "num" }, num(q.length)), q.length ? duration(q.oldest_age) : h("span", { class: "muted" }, "—")]),
        "No queue yet: enqueue a task to create one.",
        "queues",
      );
      return [
        cards,
        leader,
        h(
          "div",
          { class: "columns" },
          panel("Throughput", "jobs per minute, last hour", chart(d.throughput), legend(d.throughput)),
          panel("Queues", "oldest: how long the first job has waited at the head", queues),
        ),
      ];
    },

    queue(d) {
      const rows = d.items.map((job) => [
        h("span", { class: "num muted" }, num(job.position + 1)),
        taskName(job.task),
        code(paramsText(job.args)),
        actionsCell(action("Delete", "/api/queues/delete", { queue: d.queue, payload: job.payload }, { kind: "danger", confirm: "Delete this job from the queue?" })),
      ]);
      return [
        h("p", { class: "lead" }, `${plural(d.length, "job")} waiting, oldest first.`),
        panel(null, null, table(["#", "Task", "Params", ""], rows, "This queue is empty.")),
        pager(d),
      ];
    },

    delayed(d) {
      const groups = d.items.map((group) => {
        const rows = group.jobs.map((job) => [
          taskName(job.task),
          h("code", null, job.queue),
          code(paramsText(job.args)),
          actionsCell(action("Delete", "/api/delayed/delete", { payload: job.payload }, { kind: "danger", confirm: "Delete this delayed job?" })),
        ]);
        const more = group.count > group.jobs.length ? h("p", { class: "muted small" }, `Showing the first ${num(group.jobs.length)} of ${num(group.count)} jobs at this time.`) : null;
        return h(
          "section",
          { class: "panel group" },
          h(
            "div",
            { class: "panel-head" },
            h("h2", null, when(group.at), " ", h("span", { class: "muted small" }, absolute(group.at))),
            h("span", { class: "grow" }),
            pill(plural(group.count, "job")),
            action(`Delete all at this time`, "/api/delayed/delete-at", { timestamp: group.timestamp }, { kind: "danger", confirm: `Delete the ${plural(group.count, "job")} due at ${absolute(group.at)}?` }),
          ),
          table(["Task", "Queue", "Params", ""], rows, "No job."),
          more,
        );
      });
      return [
        h("p", { class: "lead" }, `${plural(d.jobs, "job")} waiting for ${plural(d.total, "point")} in time, soonest first.`),
        groups.length ? groups : panel(null, null, h("p", { class: "empty" }, "No delayed job.")),
        pager(d),
      ];
    },

    failed(d) {
      const f = d.filter;
      const bulk = [];
      if (d.items.length) {
        const scope = d.filtered ? "matching" : "all";
        const what = d.filtered ? "every failed job matching this filter" : `all ${plural(d.total, "failed job")}`;
        const fields = { queue: f.queue, task: f.task, exception: f.exception, q: f.text };
        bulk.push(
          action(`Retry ${scope}`, "/api/failed/retry-all", fields, { confirm: `Retry ${what}?` }),
          action(`Remove ${scope}`, "/api/failed/remove-all", fields, { kind: "danger", confirm: `Remove ${what}? They cannot be retried afterwards.` }),
        );
      }
      const summary = d.filtered
        ? `Matches among the ${plural(d.total, "failed job")}, newest first (${num(d.scanned)} examined on this page).`
        : `${plural(d.total, "failed job")}, newest first.`;
      const items = d.items.map((item) => {
        const trace = item.backtrace.length ? item.backtrace.join("\n") : "(no backtrace)";
        return h(
          "article",
          { class: "failure", "data-id": item.id },
          h(
            "div",
            { class: "failure-head" },
            h("a", { class: "exception", href: queryWith({ exception: item.exception, page: null, before: null }), title: "Show only this exception" }, item.exception || "Error"),
            h("span", { class: "message" }, item.error),
            h("span", { class: "grow" }),
            actionsCell(
              action("Retry", "/api/failed/retry", { id: item.id, index: item.index }),
              action("Remove", "/api/failed/remove", { id: item.id, index: item.index }, { kind: "danger" }),
            ),
          ),
          h(
            "div",
            { class: "meta" },
            taskName(item.task),
            h("span", null, "queue ", h("code", null, item.queue)),
            h("span", null, "worker ", h("code", null, item.worker || "—")),
            h("span", null, "failed ", when(item.failed_at, "at an unknown time")),
          ),
          h("details", { "data-key": `trace-${item.id}` }, h("summary", null, `Backtrace (${plural(item.backtrace.length, "line")})`), h("pre", null, trace)),
          h("details", { "data-key": `payload-${item.id}` }, h("summary", null, "Payload"), h("pre", null, pretty(item.payload))),
        );
      });
      let paging = null;
      if (!d.filtered) paging = pager(d);
      else if (d.before !== null || d.next_before !== null) {
        paging = h(
          "nav",
          { class: "pager" },
          d.before !== null ? h("a", { class: "btn ghost small", href: queryWith({ before: null }) }, "« Newest") : null,
          d.next_before !== null ? h("a", { class: "btn ghost small", href: queryWith({ before: d.next_before }) }, "Older ›") : null,
        );
      }
      return [
        h("div", { class: "toolbar" }, h("p", { class: "lead" }, summary), h("span", { class: "grow" }), bulk),
        items.length ? items : panel(null, null, h("p", { class: "empty" }, d.filtered ? "No failed job matches this filter here." : "No failed job. ")),
        paging,
      ];
    },

    workers(d) {
      const warning = "Only clean a worker whose process is gone: cleaning does not stop a running process.";
      const rows = d.items.map((w) => [
        h("div", null, h("code", null, w.name), h("div", { class: "muted small" }, `queues ${w.queues}`)),
        when(w.started),
        h("span", null, when(w.last_ping), w.stale ? [" ", pill("no ping", "bad")] : null),
        w.job
          ? h("div", null, taskName(w.job.task), " ", h("span", { class: "muted small" }, "from "), h("code", null, w.job.queue), h("div", null, code(paramsText(w.job.args), "small")), h("div", { class: "muted small" }, "since ", when(w.job.run_at)))
          : h("span", { class: "muted" }, "idle"),
        actionsCell(
          action("Clean", "/api/workers/clean", { name: w.name }, { kind: "danger", confirm: `${warning}\n\nClean ${w.name}? Its job goes to the failed list.` }),
          action("Clean & requeue", "/api/workers/clean", { name: w.name, requeue: "1" }, { kind: "ghost", confirm: `${warning}\n\nClean ${w.name}? Its job goes back to its queue.` }),
        ),
      ]);
      return [
        h("p", { class: "lead" }, `${plural(d.total, "worker")}, ${num(d.busy)} busy. A worker with no ping for ${duration(d.stuck_after)} is cleaned by the scheduler.`),
        panel(null, null, table(["Worker", "Started", "Last ping", "Working on", ""], rows, "No worker is registered.", "workers")),
      ];
    },

    locks(d) {
      const rows = d.items.map((lock) => [
        code(lock.name),
        when(lock.expires, "unknown"),
        actionsCell(action("Delete", "/api/locks/delete", { name: lock.name }, { kind: "danger", confirm: `Delete lock ${lock.name}?` })),
      ]);
      return [
        h("p", { class: "lead" }, `${plural(d.total, "lock")} held by plugins and workers.`),
        panel(null, null, table(["Lock", "Expires", ""], rows, "No lock is held.")),
        pager(d),
      ];
    },

    periodic(d) {
      const states = { scheduled: ["scheduled", "ok"], running: ["running", "accent"], queued: ["queued", "accent"], stopped: ["stopped", "bad"] };
      const rows = d.items.map((t) => {
        const [label, kind] = states[t.state] || [t.state, ""];
        return [
          h("div", null, h("span", { class: "task" }, t.name), h("div", { class: "muted small" }, t.description)),
          h("code", null, t.queue),
          `every ${duration(t.frequency)}`,
          pill(label, kind),
          t.state === "scheduled" ? when(t.next_run) : h("span", { class: "muted" }, t.state === "stopped" ? "never" : "due now"),
          actionsCell(
            t.stopped
              ? action("Start", "/api/periodic/start", { task: t.name })
              : action("Stop", "/api/periodic/stop", { task: t.name }, { kind: "danger", confirm: `Stop ${t.name}? It stays stopped until started again.` }),
          ),
        ];
      });
      return [
        h("p", { class: "lead" }, `${plural(d.total, "periodic task")}. The scheduler keeps exactly one copy of each that is not stopped.`),
        panel(null, null, table(["Task", "Queue", "Frequency", "Status", "Next run", ""], rows, "No periodic task is defined.")),
      ];
    },
  };

  // ------------------------------------------------------------------- live
  const view = document.getElementById("view");
  const live = document.getElementById("live");
  let lastText = null;
  let timer = null;

  function draw(data) {
    const open = new Set([...view.querySelectorAll("details[open]")].map((el) => el.dataset.key));
    view.replaceChildren(...[views[page](data)].flat(Infinity).filter(Boolean));
    for (const el of view.querySelectorAll("details")) if (open.has(el.dataset.key)) el.open = true;
  }

  function status(state, detail) {
    if (!live) return;
    live.className = `live ${state}`;
    live.textContent = { live: "Live", paused: "Paused", offline: "Offline" }[state];
    live.title = detail || `Updates every ${refresh / 1000} s`;
  }

  async function poll(now = false) {
    clearTimeout(timer);
    if (document.hidden && !now) {
      status("paused", "Paused while the tab is hidden");
      timer = setTimeout(poll, refresh);
      return;
    }
    try {
      const response = await fetch(apiUrl, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error(`${response.status} ${response.statusText}`);
      const text = await response.text();
      if (text !== lastText) {
        lastText = text;
        draw(JSON.parse(text));
      }
      status("live");
    } catch (error) {
      status("offline", `Last update failed: ${error.message}`);
    }
    timer = setTimeout(poll, refresh);
  }

  const initial = document.getElementById("stellar-data");
  if (view && initial && views[page]) {
    lastText = initial.textContent;
    draw(JSON.parse(lastText));
    if (apiUrl) timer = setTimeout(poll, refresh);
    document.addEventListener("visibilitychange", () => {
      if (!document.hidden) poll(true);
    });
    setInterval(tickTimes, 1000);
  }
})();
