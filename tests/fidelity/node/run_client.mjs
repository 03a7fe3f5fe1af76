// Drives the UNMODIFIED npm package `midjourney` (erictik/midjourney-client, pinned in package.json) against
// mjproxy's Discord + Midjourney emulator, through the package's public API only.
//
// Environment:
//   MJ_BASE_URL    emulator REST base, e.g. http://127.0.0.1:PORT   (-> DiscordBaseUrl)
//   MJ_WS_URL      emulator gateway,   e.g. ws://127.0.0.1:PORT/?encoding=json&v=9   (-> WsBaseUrl)
//   MJ_SERVER_ID   guild id            MJ_CHANNEL_ID   channel id            MJ_TOKEN   user token
//   MJ_PROMPT      optional prompt (default below)
//   MJ_STEPS       optional comma list of steps to run (default: all, in the order below)
//   MJ_STEP_TIMEOUT_MS (default 20000)   MJ_TOTAL_TIMEOUT_MS (default 90000)
//
// Output: one line per step on stdout, prefixed with RESULT_PREFIX and followed by JSON:
//   {"step": "...", "ok": true|false, "skipped"?: true, "error"?: "...", "ms": n, ...step data}
// The package itself writes to stdout too (console.log), so consumers must only parse prefixed lines.
// Exit status: 0 when every requested step passed, 1 when any failed or was skipped, 2 on the global timeout.

import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { Midjourney } = require("midjourney");

const RESULT_PREFIX = "@@FIDELITY@@ ";
const ALL_STEPS = ["connect", "imagine", "variation", "upscale", "customzoom", "describe", "info", "settings", "remix"];
// Which earlier step each step needs (a step is skipped, not run, when its dependency failed).
const NEEDS = {
  imagine: "connect",
  variation: "imagine",
  upscale: "imagine",
  customzoom: "upscale",
  describe: "imagine",
  info: "connect",
  settings: "connect",
  remix: "imagine",
};

function env(name, fallback) {
  const value = process.env[name];
  if (value === undefined || value === "") {
    if (fallback !== undefined) return fallback;
    emit({ step: "setup", ok: false, error: `missing environment variable ${name}` });
    process.exit(1);
  }
  return value;
}

function emit(obj) {
  process.stdout.write(RESULT_PREFIX + JSON.stringify(obj) + "\n");
}

const baseUrl = env("MJ_BASE_URL").replace(/\/+$/, "");
const wsUrl = env("MJ_WS_URL");
const serverId = env("MJ_SERVER_ID");
const channelId = env("MJ_CHANNEL_ID");
const token = env("MJ_TOKEN");
const prompt = env("MJ_PROMPT", "a lighthouse on a cliff at dusk, oil painting");
const stepTimeoutMs = Number(env("MJ_STEP_TIMEOUT_MS", "20000"));
const totalTimeoutMs = Number(env("MJ_TOTAL_TIMEOUT_MS", "90000"));
const requested = env("MJ_STEPS", ALL_STEPS.join(","))
  .split(",")
  .map((s) => s.trim())
  .filter(Boolean);
for (const s of requested) {
  if (!ALL_STEPS.includes(s)) {
    emit({ step: "setup", ok: false, error: `unknown step ${s}` });
    process.exit(1);
  }
}

const globalTimer = setTimeout(() => {
  emit({ step: "global", ok: false, error: `overall timeout after ${totalTimeoutMs} ms` });
  process.exit(2);
}, totalTimeoutMs);

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// A progress recorder for the package's `loading(uri, progress)` callback.
function recorder() {
  const seen = [];
  const loading = (uri, progress) => {
    seen.push({ uri, progress, at: Date.now() });
  };
  return { seen, loading };
}

function summarize(msg) {
  if (!msg) return msg;
  return {
    id: msg.id,
    flags: msg.flags,
    content: msg.content,
    hash: msg.hash,
    progress: msg.progress,
    uri: msg.uri,
    proxy_url: msg.proxy_url,
    width: msg.width,
    height: msg.height,
    options: msg.options,
  };
}

const client = new Midjourney({
  ServerId: serverId,
  ChannelId: channelId,
  SalaiToken: token,
  DiscordBaseUrl: baseUrl,
  WsBaseUrl: wsUrl,
  Ws: true,
  Debug: process.env.MJ_DEBUG === "1",
});

const results = {};

// Evidence for failures: a summary of every gateway dispatch the package's socket received during a step.
// (Listens on the package's own WebSocket object; re-attaches when the package reconnects.)
let stepEvents = [];
let tappedSocket = null;
function summarizeDispatch(msg) {
  const d = msg.d || {};
  const out = { t: msg.t, s: msg.s };
  for (const k of ["id", "nonce", "type", "flags", "reason_code", "custom_id"]) if (d[k] !== undefined) out[k] = d[k];
  if (d.author) out.author = d.author.id;
  if (typeof d.content === "string") out.content = d.content.slice(0, 160);
  if (d.interaction) out.interaction = { name: d.interaction.name, user: d.interaction.user?.id };
  if (d.message_reference) out.reply_to = d.message_reference.message_id;
  if (Array.isArray(d.attachments) && d.attachments.length) out.attachments = d.attachments.map((a) => a.filename);
  if (Array.isArray(d.embeds) && d.embeds.length)
    out.embeds = d.embeds.map((e) => ({ title: e.title, description: (e.description || "").slice(0, 160) }));
  if (Array.isArray(d.components) && d.components.length)
    out.components = d.components.flatMap((r) => (r.components || []).map((c) => c.custom_id || c.label));
  return out;
}
function tap() {
  const ws = client.wsClient?.ws;
  if (!ws || ws === tappedSocket) return;
  tappedSocket = ws;
  ws.addEventListener("message", (event) => {
    try {
      const msg = JSON.parse(event.data);
      if (msg.t) stepEvents.push(summarizeDispatch(msg));
    } catch {
      stepEvents.push({ unparsable: String(event.data).slice(0, 200) });
    }
  });
}
const tapTimer = setInterval(tap, 20);

const steps = {
  // `client.init()` = Connect() + Settings() (+ remix detection). Connect alone is split out so that the
  // /settings round trip is its own step ("settings" below).
  async connect() {
    await client.Connect();
    return { user_id: client.wsClient?.UserId ?? null };
  },

  async imagine() {
    const rec = recorder();
    const msg = await client.Imagine(prompt, rec.loading);
    if (!msg) throw new Error("Imagine returned nothing");
    return { prompt, message: summarize(msg), loading: rec.seen };
  },

  async variation() {
    const grid = results.imagine.message;
    const rec = recorder();
    const msg = await client.Variation({
      index: 1,
      msgId: grid.id,
      hash: grid.hash,
      flags: grid.flags,
      content: grid.content,
      loading: rec.loading,
    });
    if (!msg) throw new Error("Variation returned nothing");
    return { source_id: grid.id, message: summarize(msg), loading: rec.seen };
  },

  async upscale() {
    const grid = results.imagine.message;
    const rec = recorder();
    const msg = await client.Upscale({
      index: 1,
      msgId: grid.id,
      hash: grid.hash,
      flags: grid.flags,
      content: grid.content, // the package can only match the result by prompt when content is given
      loading: rec.loading,
    });
    if (!msg) throw new Error("Upscale returned nothing");
    return { source_id: grid.id, message: summarize(msg), loading: rec.seen };
  },

  async customzoom() {
    const up = results.upscale.message;
    const zoom = (up.options || []).find((o) => o.label === "Custom Zoom");
    if (!zoom) throw new Error(`no "Custom Zoom" option on the upscale: ${JSON.stringify(up.options)}`);
    const rec = recorder();
    const content = `${prompt} --zoom 2`;
    const msg = await client.Custom({
      msgId: up.id,
      flags: up.flags,
      customId: zoom.custom,
      content,
      loading: rec.loading,
    });
    if (!msg) throw new Error("Custom (zoom) returned nothing");
    return { source_id: up.id, custom_id: zoom.custom, submitted: content, message: summarize(msg), loading: rec.seen };
  },

  async describe() {
    const uri = results.imagine.message.uri;
    const res = await client.Describe(uri);
    if (!res) throw new Error("Describe returned nothing");
    let fetched = null;
    if (res.uri) {
      const r = await fetch(res.uri);
      fetched = { status: r.status, content_type: r.headers.get("content-type"), bytes: (await r.arrayBuffer()).byteLength };
    }
    return {
      fetched,
      image: uri,
      id: res.id,
      flags: res.flags,
      descriptions: res.descriptions,
      uri: res.uri,
      proxy_url: res.proxy_url,
      options: res.options,
    };
  },

  async info() {
    const info = await client.Info();
    if (!info) throw new Error("Info returned nothing");
    return { info };
  },

  async settings() {
    const settings = await client.Settings();
    if (!settings) throw new Error("Settings returned nothing");
    const remix = settings.options.find((o) => o.label === "Remix mode");
    return { id: settings.id, flags: settings.flags, options: settings.options, remix_style: remix?.style ?? null };
  },

  // /prefer remix, then init() (which reads remix state from /settings), then V2 with an edited prompt: the
  // package answers the remix modal itself (RemixApi, custom_id rebuilt by `toRemixCustom`).
  async remix() {
    const grid = results.imagine.message;
    const t0 = Date.now();
    const switched = await client.SwitchRemix();
    const t1 = Date.now();
    await client.init(); // re-fetches the command index: the package's fetch queue then idles 4 s (command.js)
    const t2 = Date.now();
    if (client.config.Remix !== true) throw new Error(`init() did not detect remix mode after: ${switched}`);
    const rec = recorder();
    const content = `${prompt} at night`;
    const msg = await client.Variation({
      index: 2,
      msgId: grid.id,
      hash: grid.hash,
      flags: grid.flags,
      content,
      loading: rec.loading,
    });
    if (!msg) throw new Error("remix Variation returned nothing");
    const timings_ms = { prefer_remix: t1 - t0, init: t2 - t1, variation: Date.now() - t2 };
    return { switched, timings_ms, source_id: grid.id, submitted: content, message: summarize(msg), loading: rec.seen };
  },
};

let failures = 0;
for (const step of ALL_STEPS) {
  if (!requested.includes(step)) continue;
  const need = NEEDS[step];
  if (need && !results[need]) {
    failures++;
    emit({ step, ok: false, skipped: true, error: `skipped: needs ${need}` });
    continue;
  }
  const started = Date.now();
  tap();
  stepEvents = [];
  try {
    const data = await withTimeout(steps[step](), stepTimeoutMs, step);
    results[step] = data;
    emit({ step, ok: true, ms: Date.now() - started, ...data });
  } catch (err) {
    failures++;
    emit({ step, ok: false, ms: Date.now() - started, error: String(err?.message ?? err), stack: err?.stack,
           events: stepEvents });
  }
}

clearTimeout(globalTimer);
clearInterval(tapTimer);
try {
  client.Close();
} catch {
  // closing is best effort
}
emit({ step: "end", ok: failures === 0, failures });
// The package keeps timers (heartbeat, queues) alive; exit explicitly.
process.exit(failures === 0 ? 0 : 1);
