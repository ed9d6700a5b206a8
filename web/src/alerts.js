// The alert panel: active alerts ordered by time to impact, with absolute times and an
// acknowledge button, then the log of every alert that ended (cancelled, or its missile down), as
// /api/alerts keeps it; a flash and a beep when a new alert comes in.
import { esc, fmtTime } from "./format.js";
import { acknowledgeOnServer } from "./operators.js";

const MUTE_KEY = "airpicture.alerts.muted";
const ACK_KEY = "airpicture.alerts.acknowledged";
const FLASH_MS = 3000;
const REASONS = { down: "impacted", clear: "cleared", "not-ballistic": "no longer ballistic", "end-of-input": "input ended" };

let state = null;

function loadAcks() {
  try {
    return JSON.parse(localStorage.getItem(ACK_KEY) || "{}");
  } catch {
    return {};
  }
}

// Called once at boot with the page's state; adds what the panel keeps to it.
export function initAlerts(pageState) {
  state = pageState;
  state.alertLog = new Map(); // alert id -> latest record, for the view: active and ended
  state.alertLogReady = false; // the log of the view has been read from /api/alerts
  state.acks = loadAcks(); // {view: {alert id: time acknowledged}}
  state.muted = localStorage.getItem(MUTE_KEY) === "1";
  state.cues = { flashes: 0, beeps: 0 };
  const mute = document.getElementById("alerts-mute");
  const showMute = () => {
    mute.textContent = state.muted ? "♪ off" : "♪ on";
    mute.title = state.muted ? "New alerts flash without sound (click to sound them)" : "New alerts flash and beep (click to mute)";
    mute.classList.toggle("muted", state.muted);
  };
  showMute();
  mute.onclick = () => {
    state.muted = !state.muted;
    localStorage.setItem(MUTE_KEY, state.muted ? "1" : "0");
    showMute();
  };
  // Browsers start sound only after the operator has interacted with the page.
  const unlock = () => audioContext()?.resume();
  document.addEventListener("pointerdown", unlock, { once: true });
  document.addEventListener("keydown", unlock, { once: true });
}

// The whole log of the view's alerts, from the server (at boot, on a view change, on reconnect).
export async function loadAlertLog() {
  const nation = state.nation;
  const res = await fetch(`api/alerts?nation=${encodeURIComponent(nation)}`);
  if (!res.ok || nation !== state.nation) return;
  const data = await res.json();
  state.alertLog = new Map(data.alerts.map((a) => [a.alert_id, a]));
  state.alertLogReady = true;
  renderAlerts();
}

// Alert records of a live delta: into the log; a newly issued one flashes and beeps.
export function noteAlerts(records) {
  let fresh = false;
  for (const a of records) {
    const before = state.alertLog.get(a.alert_id);
    if (state.alertLogReady && a.state === "active" && (!before || before.state !== "active")) fresh = true;
    state.alertLog.set(a.alert_id, a);
  }
  if (fresh) cue();
}

// Acknowledges an alert of a view: the one way the page acknowledges, kept in this browser and,
// for a logged-in operator, sent to the server (a coordination action for every allowed view).
export function acknowledgeAlert(view, alertId) {
  const acks = state.acks[view] || (state.acks[view] = {});
  acks[alertId] = state.tLive ?? Date.now() / 1000;
  localStorage.setItem(ACK_KEY, JSON.stringify(state.acks));
  renderAlerts();
  const alert = state.alerts.get(alertId) || state.alertLog.get(alertId);
  if (alert) acknowledgeOnServer(view, alertId, alert.track_id);
}

function ackTime(alertId) {
  const acks = state.acks[state.nation];
  return acks ? acks[alertId] : undefined;
}

let audio = null;
function audioContext() {
  const Ctx = window.AudioContext || window.webkitAudioContext;
  if (!audio && Ctx) audio = new Ctx();
  return audio;
}

// Two short tones, 880 then 660 Hz.
function beep() {
  const ctx = audioContext();
  if (!ctx) return;
  ctx.resume();
  const t = ctx.currentTime;
  [880, 660].forEach((freq, i) => {
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.frequency.value = freq;
    gain.gain.setValueAtTime(0.0001, t + i * 0.2);
    gain.gain.exponentialRampToValueAtTime(0.3, t + i * 0.2 + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, t + i * 0.2 + 0.18);
    osc.connect(gain).connect(ctx.destination);
    osc.start(t + i * 0.2);
    osc.stop(t + i * 0.2 + 0.2);
  });
  state.cues.beeps++;
}

let flashTimer = null;
function cue() {
  state.cues.flashes++;
  const panel = document.querySelector(".alerts-panel");
  panel.classList.add("flash");
  clearTimeout(flashTimer);
  flashTimer = setTimeout(() => panel.classList.remove("flash"), FLASH_MS);
  if (!state.muted) beep();
}

function areaNames() {
  return new Map((state.areas ? state.areas.features : []).map((f) => [f.properties.id, f.properties.name]));
}

function attrs(a) {
  return `data-alert="${esc(a.alert_id)}" data-track="${esc(a.track_id)}" data-area="${esc(a.area_id)}"`;
}

// Active alerts: those of the picture shown (live, or at the time scrubbed to), the most urgent
// first; below them the log of ended alerts, the latest first.
export function renderAlerts() {
  const names = areaNames();
  const active = [...state.alerts.values()]
    .filter((a) => a.state === "active")
    .sort((a, b) => (a.impact_t_s ?? Infinity) - (b.impact_t_s ?? Infinity) || a.t_s - b.t_s);
  const unacked = active.filter((a) => ackTime(a.alert_id) === undefined).length;
  const banner = document.getElementById("alert-banner");
  banner.hidden = active.length === 0;
  banner.textContent = `⚠ ${active.length} ACTIVE ALERT${active.length === 1 ? "" : "S"}${unacked ? ` · ${unacked} TO ACK` : ""}`;
  banner.classList.toggle("acked", unacked === 0);
  document.getElementById("alerts-title").textContent = `Alerts (${active.length} active)`;
  const now = state.mode === "live" ? state.tS : state.replayT;
  const live = active.map((a) => {
    const tgo = a.impact_t_s != null && now != null ? a.impact_t_s - now : null;
    const acked = ackTime(a.alert_id);
    const issued = a.issued_t_s ?? a.t_s;
    return `<li class="alert${acked === undefined ? " unacked" : " acked"}" ${attrs(a)}>
        <div><b>${esc(names.get(a.area_id) || a.area_id)}</b><span class="tgo">${tgo == null ? "" : tgo > 0 ? `T−${tgo.toFixed(0)} s` : "impact due"}</span></div>
        <div class="sub"><span class="impact-at">impact ${fmtTime(a.impact_t_s)}</span> · <span class="issued-at">issued ${fmtTime(issued)}</span></div>
        <div class="sub">${esc(a.alert_id)} · track ${esc(a.track_id)}${
          acked === undefined ? `<button class="ack" data-ack="${esc(a.alert_id)}" title="Acknowledge this alert">ACK</button>` : `<span class="ack-done">ACK ${fmtTime(acked)}</span>`
        }</div></li>`;
  });
  const ended = [...state.alertLog.values()].filter((a) => a.state !== "active").sort((a, b) => b.t_s - a.t_s);
  const log = ended.map(
    (a) => `<li class="cancelled" ${attrs(a)} data-reason="${esc(a.reason)}">
        <div><b>${esc(names.get(a.area_id) || a.area_id)}</b><span class="tgo">${esc(REASONS[a.reason] || a.reason || "cancelled")}</span></div>
        <div class="sub">issued ${fmtTime(a.issued_t_s ?? null)} · ended ${fmtTime(a.t_s)}${a.impact_t_s != null ? ` · impact ${fmtTime(a.impact_t_s)}` : ""}</div>
        <div class="sub">${esc(a.alert_id)} · track ${esc(a.track_id)}</div></li>`,
  );
  document.getElementById("alerts").innerHTML =
    (active.length ? live.join("") : `<li class="none">No active alerts</li>`) +
    (log.length ? `<li class="log-head">Log · ${log.length} ended</li>${log.join("")}` : "");
}
