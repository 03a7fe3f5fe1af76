// mjproxy dashboard: live task updates, the Create forms, task buttons and their modal flows.
// Everything here talks to the same JSON routes API clients use (/mj/submit/*, /mj/task/*).
"use strict";

const TERMINAL = new Set(["SUCCESS", "FAILURE", "CANCEL"]);
const csrf = () => document.querySelector('meta[name="csrf-token"]')?.content || "";
const PAGES = "/dashboard";

if (window.htmx) {
  // Error answers of the dashboard's fragments carry a readable message: swap them in too.
  htmx.config.responseHandling = [
    { code: "204", swap: false },
    { code: "[23]..", swap: true },
    { code: "4..", swap: true, error: true },
    { code: "...", swap: false, error: true },
  ];
}

function toast(message, isError = false) {
  const box = document.getElementById("toast");
  if (!box) return;
  box.textContent = message;
  box.classList.toggle("error", isError);
  box.setAttribute("role", isError ? "alert" : "status");
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { box.hidden = true; }, 6000);
}

async function api(method, path, body) {
  const init = { method, credentials: "same-origin", headers: { "X-CSRF-Token": csrf() } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  let data = null;
  try { data = await response.json(); } catch { data = null; }
  return { ok: response.ok, status: response.status, data: data || { description: `HTTP ${response.status}` } };
}

function readAsDataURL(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

// -- live updates ---------------------------------------------------------------------------------

function percentOf(progress) {
  const n = parseInt(String(progress || "0").replace("%", ""), 10);
  return Number.isFinite(n) ? Math.max(0, Math.min(100, n)) : 0;
}

function applyTask(task) {
  const nodes = document.querySelectorAll(`[data-task-id="${CSS.escape(task.id)}"]:not(button)`);
  if (!nodes.length) return false;
  for (const node of nodes) {
    const before = node.dataset.status;
    node.dataset.status = task.status;
    const status = node.querySelector('[data-field="status"]');
    if (status) {
      status.textContent = task.status;
      status.className = `badge status-${task.status.toLowerCase()}`;
    }
    const bar = node.querySelector('progress[data-field="progress"]');
    const shown = task.progress || (task.status === "SUCCESS" ? "100%" : "0%");
    if (bar) { bar.value = percentOf(shown); bar.textContent = shown; }
    const text = node.querySelector('[data-field="progress-text"]');
    if (text) text.textContent = shown;
    const image = node.querySelector('img[data-field="image"]');
    if (image && task.imageUrl && image.getAttribute("src") !== task.imageUrl) {
      image.src = task.imageUrl;
      image.hidden = false;
      node.querySelector(".noimg")?.remove();
    }
    // A task page that reaches its end is re-rendered in place (buttons, split images, callbacks).
    if (node.hasAttribute("data-live-task") && TERMINAL.has(task.status) && before !== task.status && window.htmx) {
      htmx.ajax("GET", location.pathname, { target: "#task", select: "#task", swap: "outerHTML" })
        .then(() => watch());
    }
  }
  return true;
}

function watchedIds() {
  return [...document.querySelectorAll("[data-task-id][data-status]:not(button)")]
    .filter((n) => !TERMINAL.has(n.dataset.status)).map((n) => n.dataset.taskId);
}

let refreshTimer = null;
function refreshGallery() {
  const gallery = document.querySelector("[data-live-gallery]");
  if (!gallery || !window.htmx || refreshTimer) return;
  refreshTimer = setTimeout(() => {
    refreshTimer = null;
    const filters = JSON.parse(gallery.dataset.filters || "{}");
    const query = new URLSearchParams(Object.entries(filters).filter(([, v]) => v)).toString();
    htmx.ajax("GET", `${PAGES}/fragments/tasks?${query}`, { target: "#gallery", swap: "outerHTML" });
  }, 500);
}

let stream = null;
let poller = null;

function startPolling() {
  if (poller) return;
  poller = setInterval(async () => {
    const ids = watchedIds();
    if (!ids.length) return;
    const answer = await api("POST", "/mj/task/list-by-condition", { ids });
    if (answer.ok && Array.isArray(answer.data)) answer.data.forEach(applyTask);
  }, 1000);
}

// The all-tasks event stream (GET /mj/task/events, api/streams/); polling when the server has none.
function watch() {
  const live = document.querySelector("[data-live-gallery], [data-live-task]");
  if (!live || stream || poller) return;
  if (!window.EventSource) { startPolling(); return; }
  const gallery = document.querySelector("[data-live-gallery]");
  const ids = gallery ? null : watchedIds();
  if (ids && !ids.length) return;  // a finished task page has nothing to watch
  const url = ids ? `/mj/task/events?ids=${encodeURIComponent(ids.join(","))}` : "/mj/task/events";
  let opened = false;
  stream = new EventSource(url);
  const onEvent = (event) => {
    let task;
    try { task = JSON.parse(event.data); } catch { return; }
    if (!applyTask(task) && gallery) refreshGallery();
  };
  for (const name of ["status", "progress", "success", "failure", "cancel", "message"]) {
    stream.addEventListener(name, onEvent);
  }
  stream.onopen = () => { opened = true; document.body.dataset.live = "stream"; };
  stream.onerror = () => {
    // A 404/401 (no stream route) closes the source for good; a dropped connection reconnects by itself.
    if (stream.readyState === EventSource.CLOSED || !opened) {
      stream.close();
      stream = null;
      document.body.dataset.live = "poll";
      startPolling();
    }
  };
  setTimeout(() => { if (!opened && stream) stream.onerror(); }, 4000);
}

// -- Create ---------------------------------------------------------------------------------------

function composePrompt(form) {
  const parts = [form.prompt.value.trim()];
  if (form.ar.value) parts.push(`--ar ${form.ar.value}`);
  if (form.version.value) parts.push(form.version.value);
  if (form.stylize.value !== "") parts.push(`--s ${form.stylize.value}`);
  return parts.join(" ");
}

async function submitCreate(form) {
  const kind = form.dataset.submit;
  const result = document.getElementById("create-result");
  let path = `/mj/submit/${kind}`;
  let body;
  if (kind === "imagine") {
    body = { prompt: composePrompt(form) };
    const files = [...form.refs.files];
    if (files.length) body.base64Array = await Promise.all(files.map(readAsDataURL));
    if (form.speed.value) path = `/mj-${form.speed.value}/mj/submit/imagine`;
  } else if (kind === "describe") {
    body = { base64: await readAsDataURL(form.file.files[0]) };
  } else if (kind === "blend") {
    const files = [...form.files.files];
    if (files.length < 2 || files.length > 5) {
      result.textContent = "Blend needs 2 to 5 images.";
      result.className = "result error";
      return;
    }
    body = { base64Array: await Promise.all(files.map(readAsDataURL)), dimensions: form.dimensions.value };
  } else {
    body = { prompt: form.prompt.value.trim() };
  }
  result.className = "result";
  result.textContent = "Submitting…";
  const answer = await api("POST", path, body);
  const code = answer.data.code;
  if (answer.ok && (code === 1 || code === 22) && answer.data.result) {
    result.textContent = `${answer.data.description} (task ${answer.data.result})`;
    location.assign(`${PAGES}/tasks/${encodeURIComponent(answer.data.result)}`);
    return;
  }
  result.className = "result error";
  result.textContent = `Not submitted (code ${code ?? answer.status}): ${answer.data.description || answer.data.detail}`;
}

// -- task buttons and modals ----------------------------------------------------------------------

async function pressButton(button) {
  const taskId = button.dataset.taskId;
  const customId = button.dataset.customId;
  button.disabled = true;
  try {
    const answer = await api("POST", "/mj/submit/action", { taskId, customId });
    const code = answer.data.code;
    if (code === 21) { await openModal(answer.data.result, customId, answer.data.properties || {}); return; }
    if ((code === 1 || code === 22) && answer.data.result) {
      location.assign(`${PAGES}/tasks/${encodeURIComponent(answer.data.result)}`);
      return;
    }
    toast(`Not submitted (code ${code ?? answer.status}): ${answer.data.description || answer.data.detail}`, true);
  } finally {
    button.disabled = false;
  }
}

const mask = { canvas: null, ctx: null, drawing: false, painted: false };

function setupMask(imageUrl) {
  const base = document.getElementById("mask-base");
  const canvas = document.getElementById("mask-canvas");
  mask.canvas = canvas;
  mask.painted = false;
  return new Promise((resolve) => {
    base.onload = () => {
      // The mask must have the image's own size (the server checks); the canvas is shown scaled.
      canvas.width = base.naturalWidth;
      canvas.height = base.naturalHeight;
      mask.ctx = canvas.getContext("2d");
      clearMask();
      resolve();
    };
    base.src = imageUrl;
  });
}

function clearMask() {
  const { ctx, canvas } = mask;
  if (!ctx) return;
  ctx.globalCompositeOperation = "source-over";
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  mask.painted = false;
}

function paintAt(event) {
  const { ctx, canvas } = mask;
  const box = canvas.getBoundingClientRect();
  const x = ((event.clientX - box.left) / box.width) * canvas.width;
  const y = ((event.clientY - box.top) / box.height) * canvas.height;
  const radius = (Number(document.getElementById("brush").value) / box.width) * canvas.width / 2;
  ctx.fillStyle = "rgba(255,255,255,1)";
  ctx.beginPath();
  ctx.arc(x, y, radius, 0, Math.PI * 2);
  ctx.fill();
  mask.painted = true;
}

function paintRect() {
  const { ctx, canvas } = mask;
  const v = (id) => Number(document.getElementById(id).value) / 100;
  ctx.fillStyle = "rgba(255,255,255,1)";
  ctx.fillRect(v("rx") * canvas.width, v("ry") * canvas.height, v("rw") * canvas.width, v("rh") * canvas.height);
  mask.painted = true;
}

function maskDataURL() {
  // Painted strokes are white on transparent while editing; the mask sent is white on black.
  const out = document.createElement("canvas");
  out.width = mask.canvas.width;
  out.height = mask.canvas.height;
  const ctx = out.getContext("2d");
  ctx.fillStyle = "#000";
  ctx.fillRect(0, 0, out.width, out.height);
  ctx.drawImage(mask.canvas, 0, 0);
  return out.toDataURL("image/png");
}

let modalTaskId = null;

async function openModal(taskId, customId, properties) {
  modalTaskId = taskId;
  const dialog = document.getElementById("modal");
  const prompt = document.getElementById("modal-prompt");
  const editor = document.getElementById("mask-editor");
  const error = document.getElementById("modal-error");
  const isRegion = customId.includes("Inpaint");
  const isZoom = customId.includes("CustomZoom");
  error.hidden = true;
  document.getElementById("modal-h").textContent =
    isRegion ? "Vary (Region)" : isZoom ? "Custom Zoom" : "Remix prompt";
  document.getElementById("modal-help").textContent = isZoom
    ? "Edit the prompt; keep --zoom with a value from 1 to 2."
    : isRegion ? "Paint the region to repaint and adjust the prompt." : "Edit the prompt for this variation.";
  const fetched = await api("GET", `/mj/task/${encodeURIComponent(taskId)}/fetch`);
  prompt.value = properties.finalPrompt || fetched.data.properties?.finalPrompt || fetched.data.prompt || "";
  editor.hidden = !isRegion;
  dialog.dataset.kind = isRegion ? "region" : isZoom ? "zoom" : "remix";
  dialog.showModal();
  if (isRegion) await setupMask(document.getElementById("task-image").currentSrc || document.getElementById("task-image").src);
  prompt.focus();
}

async function submitModal() {
  const dialog = document.getElementById("modal");
  const error = document.getElementById("modal-error");
  const body = { taskId: modalTaskId, prompt: document.getElementById("modal-prompt").value };
  if (dialog.dataset.kind === "region") {
    if (!mask.painted) { error.textContent = "Paint the region to vary first."; error.hidden = false; return; }
    body.maskBase64 = maskDataURL();
  }
  const answer = await api("POST", "/mj/submit/modal", body);
  const code = answer.data.code;
  if ((code === 1 || code === 22) && answer.data.result) {
    dialog.close();
    location.assign(`${PAGES}/tasks/${encodeURIComponent(answer.data.result)}`);
    return;
  }
  error.textContent = `Not submitted (code ${code ?? answer.status}): ${answer.data.description || answer.data.detail}`;
  error.hidden = false;
}

async function cancelModal() {
  document.getElementById("modal").close();
  // The MODAL task would otherwise wait for a confirmation that never comes.
  if (modalTaskId) await api("POST", `/mj/task/${encodeURIComponent(modalTaskId)}/cancel`);
  modalTaskId = null;
}

function setupTaskPage() {
  const dialog = document.getElementById("modal");
  if (!dialog) return;
  document.getElementById("modal-form").addEventListener("submit", (event) => { event.preventDefault(); submitModal(); });
  document.getElementById("modal-cancel").addEventListener("click", cancelModal);
  dialog.addEventListener("cancel", (event) => { event.preventDefault(); cancelModal(); });
  document.getElementById("mask-clear").addEventListener("click", clearMask);
  document.getElementById("mask-rect").addEventListener("click", paintRect);
  const canvas = document.getElementById("mask-canvas");
  canvas.addEventListener("pointerdown", (e) => { mask.drawing = true; canvas.setPointerCapture(e.pointerId); paintAt(e); });
  canvas.addEventListener("pointermove", (e) => { if (mask.drawing) paintAt(e); });
  canvas.addEventListener("pointerup", () => { mask.drawing = false; });
  canvas.addEventListener("pointercancel", () => { mask.drawing = false; });
}

// -- wiring ---------------------------------------------------------------------------------------

document.addEventListener("click", (event) => {
  const button = event.target.closest("button.mj-button");
  if (button) { pressButton(button); return; }
  const cancel = event.target.closest("button[data-cancel-task]");
  if (cancel) {
    api("POST", `/mj/task/${encodeURIComponent(cancel.dataset.cancelTask)}/cancel`).then((answer) => {
      toast(answer.data.description || `HTTP ${answer.status}`, answer.data.code !== 1);
    });
    return;
  }
  const copy = event.target.closest("button[data-copy-from]");
  if (copy) {
    const field = document.getElementById(copy.dataset.copyFrom);
    field.select();
    navigator.clipboard?.writeText(field.value).then(() => toast("Copied."), () => toast("Select the key and copy it."));
  }
});

document.addEventListener("submit", (event) => {
  const form = event.target.closest("form[data-submit]");
  if (!form) return;
  event.preventDefault();
  submitCreate(form).catch((error) => toast(String(error), true));
});

document.addEventListener("DOMContentLoaded", () => {
  setupTaskPage();
  watch();
});
document.addEventListener("htmx:afterSwap", (event) => {
  if (event.detail.target?.id === "gallery" && !stream) watch();
});
