/* peerlog capture: every entry gets its command_id and occurred_at at the tap, waits in
   IndexedDB, and is sent in order through /capture/batch when there is a network.
   See docs/capture.md. No build step: this file is what the browser runs. */
"use strict";
(function () {
  const DB = "peerlog-capture", STORE = "queue", CACHE = "peerlog-capture-v1", KEEP = 20;
  const body = document.body;
  const pair = body.dataset.pair, me = body.dataset.me;
  // The page's language: the server writes the script's messages into the page.
  const words = JSON.parse(body.dataset.messages || "{}");
  function say(key, fallback) { return words[key] || fallback; }
  function fill(text, values) {
    return text.replace(/%\((\w+)\)s/g, function (all, name) { return String(values[name]); });
  }
  let sequence = 0;

  // --- IndexedDB ------------------------------------------------------------------------
  function open() {
    return new Promise(function (resolve, reject) {
      const request = indexedDB.open(DB, 1);
      request.onupgradeneeded = function () {
        const store = request.result.createObjectStore(STORE, { keyPath: "command_id" });
        store.createIndex("seq", "seq");
      };
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
  }
  function tx(mode, work) {
    return open().then(function (db) {
      return new Promise(function (resolve, reject) {
        const t = db.transaction(STORE, mode);
        const out = work(t.objectStore(STORE));
        t.oncomplete = function () { db.close(); resolve(out && out.result !== undefined ? out.result : out); };
        t.onerror = function () { db.close(); reject(t.error); };
      });
    });
  }
  function all() {
    return tx("readonly", function (s) { return s.index("seq").getAll(); });
  }
  function put(item) { return tx("readwrite", function (s) { s.put(item); }); }
  function remove(id) { return tx("readwrite", function (s) { s.delete(id); }); }

  // --- ids, times, state ---------------------------------------------------------------
  function newId(prefix) {
    const r = crypto.randomUUID ? crypto.randomUUID() : String(Math.random()).slice(2) + Date.now();
    return prefix + "-" + r.replace(/-/g, "").slice(0, 20);
  }
  function newer(a, b) { return (a ? Date.parse(a) : 0) > (b ? Date.parse(b) : 0); }
  function stateKey() { return "peerlog-state-" + pair + "-" + me; }
  function serverState() { return JSON.parse(body.dataset.state || "{}"); }
  function state() {
    const server = serverState();
    let local = null;
    try { local = JSON.parse(localStorage.getItem(stateKey()) || "null"); } catch (e) { local = null; }
    return local && newer(local.at, server.at) ? local : server;
  }
  function keep(next) { localStorage.setItem(stateKey(), JSON.stringify(next)); applyState(); }
  function holding(role) {
    const roles = state().roles || {};
    return Object.keys(roles).filter(function (p) { return roles[p] === role; });
  }
  function applyState() {
    const now = state();
    document.querySelectorAll("[data-when]").forEach(function (el) {
      el.hidden = (el.dataset.when === "open") !== Boolean(now.open);
    });
    document.querySelectorAll("input[name=session_id]").forEach(function (el) {
      // Feedback and reflections name the session only while it is open.
      el.value = el.dataset.optional !== undefined && !now.open ? "" : now.session_id || "";
    });
    document.querySelectorAll("[data-session-id]").forEach(function (el) {
      el.textContent = now.session_id || "";
    });
    document.querySelectorAll("[data-roles] [data-person]").forEach(function (el) {
      const role = (now.roles || {})[el.dataset.person];
      if (role) {
        const words = role.replace(/_/g, " ");
        el.querySelector("strong").textContent = words.charAt(0).toUpperCase() + words.slice(1);
      }
    });
    if (newer(now.at, serverState().at)) {
      document.querySelectorAll("input[type=checkbox][data-preset]").forEach(function (el) {
        el.checked = (now.roles || {})[el.value] === el.dataset.preset;
      });
    }
  }

  // --- a personal identity number in a free text (the server stays the judge) ----------
  const PIN = /(?:^|[^\d])((?:19|20)?(\d{2})(\d{2})(\d{2})[-+]?(\d{4}))(?!\d)/g;
  function luhn(digits) {
    let sum = 0;
    for (let i = 0; i < digits.length; i++) {
      let d = Number(digits[i]) * (i % 2 === 0 ? 2 : 1);
      sum += d > 9 ? d - 9 : d;
    }
    return sum % 10 === 0;
  }
  function looksLikeIdentityNumber(text) {
    PIN.lastIndex = 0;
    let m;
    while ((m = PIN.exec(text)) !== null) {
      const month = Number(m[3]), day = Number(m[4]) % 60; // samordningsnummer: day + 60
      if (month >= 1 && month <= 12 && day >= 1 && day <= 31 && luhn(m[2] + m[3] + m[4] + m[5])) {
        return true;
      }
    }
    // A Danish CPR number as people type it: DDMMYY-SSSS, the last four not a time of day.
    const cpr = /(?:^|[^\d])(\d{2})(\d{2})\d{2}-(\d{2})(\d{2})(?!\d)/g;
    while ((m = cpr.exec(text)) !== null) {
      const day = Number(m[1]), month = Number(m[2]);
      const time = Number(m[3]) < 24 && Number(m[4]) < 60;
      if (day >= 1 && day <= 31 && month >= 1 && month <= 12 && !time) { return true; }
    }
    return false;
  }
  function flag(field) {
    let note = field.parentNode.querySelector('[data-flag-for="' + field.name + '"]');
    const bad = looksLikeIdentityNumber(field.value);
    if (bad && !note) {
      note = document.createElement("p");
      note.className = "flagged";
      note.dataset.flagFor = field.name;
      note.id = "flag-" + (field.id || field.name);
      note.textContent = say("identity_number", "This looks like a personal identity number. Patients must not be identifiable: remove it.");
      field.insertAdjacentElement("afterend", note);
      field.setAttribute("aria-describedby", note.id);
    } else if (!bad && note) {
      note.remove();
      field.removeAttribute("aria-describedby");
    }
  }

  // --- forms into commands -------------------------------------------------------------
  function setPath(target, path, value) {
    const dot = path.indexOf(".");
    if (dot < 0) { target[path] = value; return; }
    const head = path.slice(0, dot);
    target[head] = target[head] || {};
    const rest = path.slice(dot + 1);
    if (head === "changes" && rest.indexOf(".") > 0) { setPath(target[head], rest, value); }
    else { target[head][rest] = value; }
  }
  function build(form) {
    const command = { command: form.dataset.command };
    const lists = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.disabled) { return; }
      if (el.dataset.preset !== undefined && el.type === "hidden") {
        lists[el.name] = holding(el.dataset.preset);
        return;
      }
      if (el.dataset.list !== undefined) {
        lists[el.name] = lists[el.name] || [];
        if (el.type !== "checkbox" || el.checked) { lists[el.name].push(el.value); }
        return;
      }
      if ((el.type === "radio" || el.type === "checkbox") && !el.checked) { return; }
      if (el.value === "" && (el.dataset.text !== undefined || el.dataset.optional !== undefined)) { return; }
      setPath(command, el.name, el.value);
    });
    Object.keys(lists).forEach(function (k) { command[k] = lists[k]; });
    if (form.dataset.swap !== undefined) {
      const roles = Object.assign({}, state().roles || {});
      Object.keys(roles).forEach(function (p) {
        if (roles[p] === "performer") { roles[p] = "observer"; }
        else if (roles[p] === "observer") { roles[p] = "performer"; }
      });
      command.roles = roles;
    }
    if (form.dataset.command === "record_step" || form.dataset.command === "record_reflection") {
      ["goals", "performers", "observers"].forEach(function (k) {
        if (form.dataset.command === "record_step" || k === "goals") { command[k] = command[k] || []; }
      });
    }
    if (form.dataset.command === "give_feedback") { command.goals = command.goals || []; }
    if (form.dataset.command === "record_reflection") { command.stages = command.stages || {}; }
    return command;
  }
  function describe(command) {
    if (command.command === "record_step") {
      return say("step", "Step") + ": " + say("kind_" + command.kind, command.kind.replace(/_/g, " "));
    }
    return say(command.command, command.command);
  }
  function localEffect(command) {
    const at = command.occurred_at;
    if (command.command === "open_session") { keep({ session_id: command.session_id, roles: command.roles, open: true, at: at }); }
    if (command.command === "switch_roles") { keep(Object.assign({}, state(), { roles: command.roles, at: at })); }
    if (command.command === "close_session") { keep(Object.assign({}, state(), { open: false, at: at })); }
  }

  function submit(event) {
    const form = event.target;
    if (form.dataset && form.dataset.logout !== undefined) { forget(event); return; }
    if (!form.dataset || !form.dataset.command) { return; }
    event.preventDefault();
    const tapped = new Date().toISOString();
    const mark = "peerlog-tap-";
    const fixing = form.dataset.fixing ? JSON.parse(form.dataset.fixing) : null;
    const command = build(form);
    const idField = form.dataset.newId;
    if (idField) { command[idField] = fixing ? fixing.command[idField] : newId(idField.split("_")[0]); }
    command.command_id = newId("c");
    command.occurred_at = fixing ? fixing.command.occurred_at : tapped;
    const item = {
      command_id: command.command_id, seq: Date.now() * 1000 + (sequence++ % 1000), pair: pair,
      me: me, page: location.pathname, command: command, label: describe(command), status: "waiting"
    };
    const done = fixing ? remove(fixing.command_id) : Promise.resolve();
    if (performance.mark) { performance.mark(mark + command.command_id); }
    done.then(function () { return put(item); }).then(function () {
      localEffect(command);
      if (form.dataset.draft) { localStorage.removeItem("peerlog-draft-" + form.dataset.draft); }
      delete form.dataset.fixing;
      form.reset();
      if (form.dataset.then && location.pathname !== form.dataset.then) {
        sync().finally(function () { location.assign(form.dataset.then); });
      } else {
        render();
        sync();
      }
    });
  }

  // --- sending --------------------------------------------------------------------------
  let sending = null;
  function sync() {
    if (!navigator.onLine) { render(); return Promise.resolve(); }
    if (sending) { return sending; }
    const run = function () {
      return all().then(function (items) {
        const waiting = items.filter(function (i) { return i.status === "waiting" && i.me === me; });
        if (!waiting.length) { return null; }
        return fetch("/capture/batch", {
          method: "POST", credentials: "same-origin",
          headers: { "content-type": "application/json", "x-peerlog-capture": "1" },
          body: JSON.stringify({ commands: waiting.map(function (i) { return i.command; }) })
        }).then(function (response) {
          if (!response.ok) { throw new Error("status " + response.status); }
          return response.json();
        }).then(function (answer) {
          return Promise.all(answer.results.map(function (result) {
            const item = waiting[result.index];
            item.sent_at = new Date().toISOString();
            if (result.status === "rejected") {
              item.status = "rejected";
              item.errors = result.errors;
            } else {
              item.status = "accepted";
              item.errors = null;
              // User timing: from the tap to the record's answer (the benchmarks read it).
              if (performance.mark) { performance.mark("peerlog-accepted-" + item.command_id); }
            }
            return put(item);
          }));
        });
      });
    };
    const locked = navigator.locks ? navigator.locks.request("peerlog-capture-sync", run) : run();
    sending = locked.then(prune).catch(function () { return null; })
      .finally(function () { sending = null; render(); });
    return sending;
  }
  // Accepted entries are in the record: the device keeps only the last few to show.
  function prune() {
    return all().then(function (items) {
      const accepted = items.filter(function (i) { return i.status === "accepted" && i.me === me; });
      return Promise.all(accepted.slice(0, Math.max(0, accepted.length - KEEP)).map(function (i) {
        return remove(i.command_id);
      }));
    });
  }
  // Logging out on a shared computer leaves no page or accepted entry of this person behind
  // (what still waits, or was rejected, stays until it is sent or discarded).
  function forget(event) {
    const form = event.target;
    event.preventDefault();
    all().then(function (items) {
      return Promise.all(items.filter(function (i) { return i.me === me && i.status === "accepted"; })
        .map(function (i) { return remove(i.command_id); }));
    }).then(function () {
      return "caches" in window ? caches.delete(CACHE) : null;
    }).finally(function () {
      Object.keys(localStorage).filter(function (k) { return k.indexOf("peerlog-") === 0; })
        .forEach(function (k) { if (k.indexOf("-" + me) > 0 || k.indexOf("peerlog-draft-") === 0) { localStorage.removeItem(k); } });
      form.submit();
    });
  }

  // --- showing the queue ----------------------------------------------------------------
  function time(iso) { return new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", hour12: false }); }
  function render() {
    const net = document.getElementById("net");
    if (net) { net.textContent = navigator.onLine ? say("online", "online") : say("offline", "offline"); net.className = "net " + (navigator.onLine ? "on" : "off"); }
    return all().then(function (items) {
      const mine = items.filter(function (i) { return i.pair === pair && i.me === me; });
      const list = document.getElementById("queue-list");
      if (!list) { return; }
      list.textContent = "";
      const counts = { waiting: 0, accepted: 0, rejected: 0 };
      const shown = mine.filter(function (i) { return i.status !== "accepted"; })
        .concat(mine.filter(function (i) { return i.status === "accepted"; }).slice(-10));
      mine.forEach(function (i) { counts[i.status] = (counts[i.status] || 0) + 1; });
      shown.forEach(function (i) {
        const li = document.createElement("li");
        li.dataset.status = i.status;
        li.dataset.command = i.command_id;
        li.className = "item " + i.status;
        const word = say(i.status, i.status);
        const head = document.createElement("span");
        head.textContent = describe(i.command) + " · " + time(i.command.occurred_at) + " · " + word;
        li.appendChild(head);
        if (i.status === "rejected") {
          (i.errors || []).forEach(function (e) {
            const p = document.createElement("p");
            p.className = "error";
            p.dataset.rule = e.rule;
            p.textContent = (e.field ? e.field + ": " : "") + e.message + " (" + e.rule + ")";
            li.appendChild(p);
          });
          const fix = document.createElement("a");
          fix.href = i.page + "?fix=" + encodeURIComponent(i.command_id);
          fix.textContent = say("fix", "Fix and send again");
          fix.className = "button";
          li.appendChild(fix);
          const drop = document.createElement("button");
          drop.type = "button";
          drop.textContent = say("discard", "Discard");
          drop.className = "quiet";
          drop.addEventListener("click", function () { remove(i.command_id).then(render); });
          li.appendChild(drop);
        }
        list.appendChild(li);
      });
      const summary = document.getElementById("queue-summary");
      summary.textContent = fill(say("summary", "%(waiting)s waiting, %(accepted)s accepted, %(rejected)s rejected."), counts);
      return mine;
    });
  }

  // --- fixing a rejected entry: the form refilled, the server's message by the field ---
  function refill(form, command, errors) {
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.type === "hidden") { return; }
      const path = el.name.split(".");
      let value = command;
      if (path[0] === "changes" && path.length > 2) { value = ((command.changes || {})[path[1]] || {})[path[2]]; }
      else if (path.length > 1) { value = (command[path[0]] || {})[path.slice(1).join(".")]; }
      else { value = command[el.name]; }
      if (el.type === "checkbox") { el.checked = Array.isArray(value) && value.indexOf(el.value) >= 0; }
      else if (el.type === "radio") { el.checked = value === el.value; }
      else if (value !== undefined) { el.value = value; }
    });
    (errors || []).forEach(function (e) {
      const name = e.field || "";
      const field = form.querySelector('[name="' + CSS.escape(name) + '"]') || form.querySelector("button[type=submit]");
      const p = document.createElement("p");
      p.className = "error";
      p.id = "error-" + name.replace(/[^A-Za-z0-9_-]/g, "-");
      p.textContent = e.message + " (" + e.rule + ")";
      field.insertAdjacentElement(field.tagName === "BUTTON" ? "beforebegin" : "afterend", p);
      if (field.tagName !== "BUTTON") { field.setAttribute("aria-describedby", p.id); }
    });
  }
  function fixFromQuery() {
    const id = new URLSearchParams(location.search).get("fix");
    if (!id) { return; }
    tx("readonly", function (s) { return s.get(id); }).then(function (item) {
      if (!item) { return; }
      const form = document.querySelector('form[data-command="' + item.command.command + '"]');
      if (!form) { return; }
      form.dataset.fixing = JSON.stringify(item);
      refill(form, item.command, item.errors);
    });
  }

  // --- drafts, goal filter, empty stages -----------------------------------------------
  function drafts() {
    document.querySelectorAll("form[data-draft]").forEach(function (form) {
      const key = "peerlog-draft-" + form.dataset.draft;
      const saved = JSON.parse(localStorage.getItem(key) || "{}");
      Array.prototype.forEach.call(form.querySelectorAll("textarea"), function (el) {
        if (saved[el.name]) { el.value = saved[el.name]; }
      });
      form.addEventListener("input", function () {
        const now = {};
        form.querySelectorAll("textarea").forEach(function (el) { if (el.value) { now[el.name] = el.value; } });
        localStorage.setItem(key, JSON.stringify(now));
      });
    });
  }
  function stages() {
    const marks = document.querySelectorAll("[data-stage]");
    if (!marks.length) { return; }
    let written = 0;
    marks.forEach(function (stage) {
      const empty = stage.querySelector("textarea").value.trim() === "";
      stage.querySelector("[data-empty-mark]").hidden = !empty;
      stage.classList.toggle("empty", empty);
      if (!empty) { written++; }
    });
    const done = document.getElementById("stages-done");
    if (done) {
      // Swedish, Danish and English have a form for one and one for every other number.
      const form = say(marks.length === 1 ? "stages_one" : "stages_other", "%(written)s of %(count)s stages written");
      done.textContent = fill(form, { written: written, count: marks.length }) +
        (written < marks.length ? " " + say("incomplete", "(incomplete)") : "");
    }
  }
  function filterGoals(input) {
    const words = input.value.trim().toLowerCase();
    input.closest("fieldset").querySelectorAll("[data-goal-title]").forEach(function (li) {
      li.hidden = words !== "" && li.dataset.goalTitle.indexOf(words) < 0 && !li.querySelector("input").checked;
    });
  }

  // --- offline: the worker, and the pages kept for it --------------------------------------
  function keepPages() {
    const urls = ["/static/capture.js", "/static/capture.css", location.pathname];
    document.querySelectorAll("nav.pages a, a.button[href^='/capture/'], link[data-offline]").forEach(function (a) {
      urls.push(a.getAttribute("href"));
    });
    if (!("caches" in window) || !navigator.onLine) { return; }
    caches.open(CACHE).then(function (cache) {
      Array.from(new Set(urls)).forEach(function (url) {
        fetch(url, { credentials: "same-origin" }).then(function (r) {
          if (r.ok && !r.redirected) { return cache.put(url, r); }
          return null;
        }).catch(function () { return null; });
      });
    });
  }

  document.addEventListener("submit", submit);
  document.addEventListener("input", function (event) {
    const el = event.target;
    if (el.dataset && el.dataset.text !== undefined) { flag(el); }
    if (el.dataset && el.dataset.filter === "goal") { filterGoals(el); }
    if (el.name === "mode" && el.value === "pair") {
      el.form.querySelectorAll("input[name=authors]").forEach(function (a) { a.checked = true; });
    }
    stages();
  });
  window.addEventListener("online", function () { render(); sync(); });
  window.addEventListener("offline", render);
  window.addEventListener("storage", function () { applyState(); render(); });
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/capture/sw.js", { scope: "/capture/" }).catch(function () { return null; });
  }
  applyState();
  drafts();
  stages();
  fixFromQuery();
  render().then(sync);
  keepPages();
  setInterval(function () { if (navigator.onLine) { sync(); } }, 5000);
  window.peerlogCapture = { all: all, sync: sync, looksLikeIdentityNumber: looksLikeIdentityNumber };
})();
