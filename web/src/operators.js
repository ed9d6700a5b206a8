// Operators on the map: the login (when the map has operators' accounts), who is logged in, and
// the coordination actions of the selected track (identity, notes, handover) and of the alerts
// (acknowledged), as the server's nodes applied them to the view. Every action goes to the
// server (POST api/actions), which checks it against the operator's role and nation; what the
// view shows comes back from the nodes (WebSocket "coord" messages), for every operator of the
// view alike.

import { esc, fmtTime } from "./format.js";
import { IDENTITY_LETTERS, assignedIdentity } from "./symbols.js";

const SESSION_CHECK_MS = 60_000;

let state = null;
let onChange = () => {};
const views = new Map(); // nation -> coordination actions applied to its view, in order
let shownTrack = null; // the track whose coordination panel is shown (its details were asked for)
let trackActions = []; // that track's actions as the server gave them

const who = (a) => `${a.origin}/${a.operator}`;

// The operator logged in, or null (an open map). Asks for a login first when the map needs one.
export async function ensureLogin() {
  const session = await (await fetch("api/session")).json();
  if (session.operator || !session.login_required) return showOperator(session);
  return new Promise((resolve) => {
    const box = document.createElement("div");
    box.className = "login-overlay";
    box.innerHTML = `<form class="login" data-testid="login-form">
        <h2>airpicture</h2>
        <label>Operator <input name="name" autocomplete="username" required data-testid="login-name"></label>
        <label>Password <input name="password" type="password" autocomplete="current-password" required data-testid="login-password"></label>
        <button type="submit" data-testid="login-submit">Log in</button>
        <div class="login-error" data-testid="login-error"></div>
      </form>`;
    document.body.appendChild(box);
    const form = box.querySelector("form");
    form.onsubmit = async (ev) => {
      ev.preventDefault();
      const res = await fetch("api/login", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ name: form.name.value, password: form.password.value }),
      });
      if (!res.ok) {
        box.querySelector(".login-error").textContent = "Unknown operator or wrong password.";
        form.password.value = "";
        return;
      }
      box.remove();
      resolve(showOperator(await (await fetch("api/session")).json()));
    };
  });
}

function showOperator(session) {
  const operator = session.operator;
  if (!operator) return null;
  const badge = document.createElement("div");
  badge.className = "operator";
  badge.dataset.testid = "operator";
  badge.innerHTML = `<span>${esc(operator.name)} · ${esc(operator.nation)} ${esc(operator.role)}</span><button title="Log out">log out</button>`;
  badge.querySelector("button").onclick = async () => {
    await fetch("api/logout", { method: "POST" });
    location.reload();
  };
  document.getElementById("top").appendChild(badge);
  // A session ends (8 h after the login): the page asks for a login again.
  setInterval(async () => {
    const now = await fetch("api/session").then((r) => r.json(), () => null);
    if (now && !now.operator) location.reload();
  }, SESSION_CHECK_MS);
  return { ...operator, affiliations: session.affiliations, handover_to: session.handover_to };
}

// Called once at boot with the page's state; `changed` redraws what depends on the actions.
export function initOperators(pageState, changed) {
  state = pageState;
  onChange = changed;
  const panel = document.createElement("section");
  panel.className = "panel coord-panel";
  panel.id = "coord-panel";
  panel.hidden = true;
  panel.dataset.testid = "coord";
  const details = document.getElementById("details").closest("section");
  details.after(panel);
  // The alert list is drawn by the alert panel; partners' acknowledgements are marked on it.
  const list = document.getElementById("alerts");
  new MutationObserver(markAlerts).observe(list, { childList: true });
}

// Every WebSocket message: the view's actions come with its snapshot, new ones one by one.
export function onOperatorMessage(msg) {
  if (msg.type === "snapshot" && msg.coordination) {
    views.set(msg.nation, [...msg.coordination]);
  } else if (msg.type === "coord") {
    const list = views.get(msg.nation) || [];
    list.push(...msg.actions);
    views.set(msg.nation, list);
    if (msg.nation === state.nation) trackActions.push(...msg.actions.filter((a) => a.track_id === shownTrack));
  } else {
    if (msg.type === "snapshot") assignedIdentity.clear(); // a view without coordination
    return;
  }
  if (msg.nation !== state.nation) return;
  assignedIdentity.clear();
  for (const a of views.get(msg.nation)) {
    if (a.action === "acknowledge" && state.acks) (state.acks[msg.nation] ||= {})[a.alert_id] ??= a.t_s;
    if (a.action === "identity" && IDENTITY_LETTERS[a.identity]) assignedIdentity.set(a.track_id, IDENTITY_LETTERS[a.identity]);
  }
  renderTrackActions();
  markAlerts();
  onChange();
}

// Sends an operator's action on a track of a view; the server answers with the action applied
// (or refuses it: the error is shown in the panel).
export async function sendAction(view, fields) {
  const res = await fetch("api/actions", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ nation: view, ...fields }),
  });
  const body = await res.json();
  const error = document.querySelector("#coord-panel .coord-error");
  if (error) error.textContent = res.ok ? "" : body.error.message;
  return res.ok ? body.action : null;
}

// An alert acknowledged by this operator (acknowledgeAlert of the alert panel calls it).
export function acknowledgeOnServer(view, alertId, trackId) {
  if (!state.operator || !state.operator.actions.includes("acknowledge")) return Promise.resolve(null);
  return sendAction(view, { action: "acknowledge", alert_id: alertId, track_id: trackId });
}

// The coordination panel of the selected track: what operators did to it in this view, and
// the actions this operator's role allows. Asking for a track's actions is audited by the server
// (who looked at what).
export async function renderTrackActions() {
  const panel = document.getElementById("coord-panel");
  if (!panel) return;
  const id = state.selected;
  const operator = state.operator;
  if (!id || !operator) {
    panel.hidden = true;
    shownTrack = null;
    return;
  }
  if (shownTrack !== id || panel.dataset.view !== state.nation) {
    shownTrack = id;
    panel.dataset.view = state.nation;
    const res = await fetch(`api/coordination?nation=${encodeURIComponent(state.nation)}&track_id=${encodeURIComponent(id)}`);
    trackActions = res.ok ? (await res.json()).actions : [];
    if (state.selected !== id) return;
  }
  panel.hidden = false;
  const identity = [...trackActions].reverse().find((a) => a.action === "identity");
  const handover = [...trackActions].reverse().find((a) => a.action === "handover");
  const notes = trackActions.filter((a) => a.action === "note");
  const acks = trackActions.filter((a) => a.action === "acknowledge");
  const may = (action) => operator.actions.includes(action);
  panel.innerHTML = `<h3>Coordination · ${esc(id)}</h3>
    <dl>
      <dt>Identity</dt><dd data-testid="coord-identity">${identity ? `<b>${esc(identity.identity)}</b> · ${esc(who(identity))} ${fmtTime(identity.t_s)}` : "not assigned"}</dd>
      <dt>Reporting</dt><dd data-testid="coord-handover">${handover ? `handed over to <b>${esc(handover.handover_to)}</b> · ${esc(who(handover))} ${fmtTime(handover.t_s)}` : "—"}</dd>
      ${acks.map((a) => `<dt>Alert</dt><dd data-testid="coord-alert-ack">${esc(a.alert_id)} acknowledged · ${esc(who(a))} ${fmtTime(a.t_s)}</dd>`).join("")}
    </dl>
    <ul class="coord-notes" data-testid="coord-notes">${notes.map((a) => `<li><span class="sub">${esc(who(a))} ${fmtTime(a.t_s)}</span> ${esc(a.note)}</li>`).join("")}</ul>
    ${may("identity") ? `<label>Assign <select data-testid="coord-identity-select"><option value="">identity…</option>${operator.affiliations.map((v) => `<option>${esc(v)}</option>`).join("")}</select></label>` : ""}
    ${may("note") ? `<div class="coord-note"><input maxlength="1000" placeholder="note" data-testid="coord-note"><button data-testid="coord-note-add">Add note</button></div>` : ""}
    ${may("handover") ? `<label>Hand over reporting to <select data-testid="coord-handover-select"><option value="">nation…</option>${operator.handover_to.map((n) => `<option>${esc(n)}</option>`).join("")}</select></label>` : ""}
    <div class="coord-error" data-testid="coord-error"></div>`;
  const view = state.nation;
  const select = panel.querySelector("[data-testid=coord-identity-select]");
  if (select) select.onchange = () => select.value && sendAction(view, { action: "identity", track_id: id, identity: select.value });
  const note = panel.querySelector("[data-testid=coord-note]");
  if (note) {
    panel.querySelector("[data-testid=coord-note-add]").onclick = async () => {
      if (note.value.trim() && (await sendAction(view, { action: "note", track_id: id, note: note.value.trim() }))) note.value = "";
    };
  }
  const to = panel.querySelector("[data-testid=coord-handover-select]");
  if (to) to.onchange = () => to.value && sendAction(view, { action: "handover", track_id: id, handover_to: to.value });
}

// Marks the alerts of the list that operators acknowledged in this view: the alert itself, or,
// from a partner's view, an alert on the same track.
function markAlerts() {
  if (!state) return;
  const list = views.get(state.nation) || [];
  for (const li of document.querySelectorAll("#alerts li[data-track]")) {
    const ack = [...list].reverse().find((a) => a.action === "acknowledge" && (a.alert_id === li.dataset.alert || a.track_id === li.dataset.track));
    const mark = li.querySelector(".coord-ack");
    if (!ack) {
      if (mark) mark.remove();
      continue;
    }
    const text = `ACK ${who(ack)} ${fmtTime(ack.t_s)}`;
    if (mark && mark.textContent === text) continue;
    if (mark) mark.remove();
    li.insertAdjacentHTML("beforeend", `<div class="coord-ack" data-testid="coord-ack">${esc(text)}</div>`);
  }
}
