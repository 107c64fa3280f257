// The page: conversation, controls, side-by-side mode and the session log. The model runs in worker.js.
// Every user and model string is put into the page with textContent (never as HTML).

const $ = (id) => document.getElementById(id);
const statusLine = $("status");
const log = $("log");
const message = $("message");
const send = $("send");

const worker = new Worker("./worker.js", { type: "module" });
const waiting = new Map(); // request id → {resolve, reject}
let nextId = 1;

/** The conversation as the model sees it: user, model, user, … (the model turns are what was shown). */
let history = [];
/** One object per user message, downloaded as JSONL. */
let session = [];
let ready = false;

function setStatus(state, text) {
  statusLine.dataset.state = state;
  statusLine.textContent = text;
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

worker.onmessage = (e) => {
  const msg = e.data;
  if (msg.type === "progress") {
    const bar = $("load-progress");
    const mb = (n) => (n / 1e6).toFixed(1);
    setStatus("loading", msg.total ? `${msg.text} ${mb(msg.loaded)} / ${mb(msg.total)} MB` : msg.text);
    bar.value = msg.total ? msg.loaded / msg.total : 0;
  } else if (msg.type === "ready") {
    ready = true;
    $("load-progress").hidden = true;
    applyDefaults(msg.defaults);
    const i = msg.info;
    $("model-info").textContent =
      `Model: ${(i.parameters / 1e6).toFixed(1)} M parameters, ${i.encoder_layers} + ${i.decoder_layers} layers, ` +
      `d_model ${i.d_model}, replies of up to ${i.max_reply_len} tokens ` +
      (i.block_len < i.max_reply_len ? `written in blocks of ${i.block_len}; ` : "denoised as one block; ") +
      `${(msg.modelBytes / 1e6).toFixed(1)} MB of checkpoint files.`;
    setStatus("ready", `Ready — running on ${msg.backend}${webgpuNote(msg)}; loaded in ${(msg.ms / 1000).toFixed(1)} s.`);
    document.body.dataset.backend = msg.backend.startsWith("GPU") ? "webgpu" : "cpu";
    document.body.dataset.loadMs = Math.round(msg.ms);
    message.disabled = false;
    send.disabled = false;
    message.focus();
  } else if (msg.type === "reply" || msg.type === "error") {
    const w = waiting.get(msg.id);
    if (msg.id === undefined && msg.type === "error") {
      setStatus("error", `Could not load the model: ${msg.message}`);
      return;
    }
    if (!w) return;
    waiting.delete(msg.id);
    if (msg.type === "reply") w.resolve({ ...msg.response, ms: msg.ms });
    else w.reject(new Error(msg.message));
  }
};
worker.onerror = (e) => setStatus("error", `The model worker failed: ${e.message ?? e}`);

function webgpuNote(msg) {
  if (msg.backend.startsWith("GPU") || !msg.fallback) return "";
  return "gpu" in navigator ? ` (this browser has WebGPU; not used: ${msg.fallback})` : "";
}

function ask(request) {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    waiting.set(id, { resolve, reject });
    worker.postMessage({ type: "respond", id, request });
  });
}

function applyDefaults(d) {
  $("steps").value = d.steps;
  $("temperature").value = d.temperature;
  $("stop").value = d.stop_temperature;
  $("seed").value = d.seed;
  $("steps-b").value = d.steps;
  $("temperature-b").value = d.temperature;
  $("stop-b").value = d.stop_temperature;
  $("seed-b").value = d.seed + 1;
}

function settings(suffix = "") {
  const num = (id, fallback) => {
    const v = Number($(id + suffix).value);
    return Number.isFinite(v) && $(id + suffix).value !== "" ? v : fallback;
  };
  return {
    steps: Math.max(1, Math.round(num("steps", 32))),
    temperature: Math.max(0, num("temperature", 0.5)),
    stop_temperature: Math.max(0, num("stop", 1.5)),
    seed: Math.max(0, Math.round(num("seed", 0))),
  };
}

/** A user turn, with the reason words marked once the model has read it. */
function renderUser(node, text, segments) {
  node.replaceChildren(el("span", "who", "you"));
  if (!segments) {
    node.append(document.createTextNode(text));
    return;
  }
  for (const s of segments) {
    node.append(s.reason ? el("mark", "reason", s.text) : document.createTextNode(s.text));
  }
}

function renderReply(node, label, r) {
  node.className = "turn model" + (r.safety?.crisis ? " crisis" : "");
  node.replaceChildren(el("span", "who", label), el("span", "reply-text", r.reply));
  const bars = el("div", "emotions");
  for (const { label: name, p } of r.emotion) {
    const bar = el("div", "bar");
    const fill = el("span");
    fill.style.width = `${(p * 100).toFixed(1)}%`;
    bar.append(fill);
    bars.append(el("span", "emotion-label", name), bar, el("span", "", `${(p * 100).toFixed(0)} %`));
  }
  node.append(bars);
  // The intent the reply was written for (Intent Twice's "explore"); a model without an intent policy has none.
  if (r.intent && r.intent !== "unknown") node.append(el("div", "intent", `intent: ${r.intent}`));
  // The replies people wrote to the most similar moments, the ones the model leaned on marked as such.
  const similar = r.explain?.similar_replies ?? [];
  if (similar.length) {
    const box = el("details", "similar");
    box.append(el("summary", "", similar.some((x) => x.read_by_model) ? "what people wrote in similar moments (the model leaned on these)" : "what people wrote in similar moments"));
    for (const x of similar) box.append(el("div", "exemplar", `“${x.text}” (${x.emotion}, similarity ${x.similarity.toFixed(2)})`));
    node.append(box);
  }
  const s = r.settings;
  node.append(el("div", "meta", `${s.steps} steps · T ${s.temperature} · stop T ${s.stop_temperature} · seed ${s.seed} · ${Math.round(r.ms)} ms`));
}

async function submit() {
  const text = message.value.trim();
  if (!ready || !text) return;
  message.value = "";
  message.disabled = true;
  send.disabled = true;
  const compare = $("compare").checked;
  const turns = [...history, text];
  document.body.dataset.turnsSent = turns.length;

  const userNode = el("div", "turn user");
  renderUser(userNode, text);
  log.append(userNode);
  const configs = compare ? [settings(), settings("-b")] : [settings()];
  const holder = compare ? el("div", "pair") : log;
  if (compare) log.append(holder);
  const nodes = configs.map(() => {
    const n = el("div", "turn model pending", "writing a reply…");
    holder.append(n);
    return n;
  });
  setStatus("busy", "Writing…");

  const entry = { time: new Date().toISOString(), message: text, context_turns: turns.length - 1, replies: [], choice: null };
  session.push(entry);
  try {
    const replies = [];
    for (const cfg of configs) replies.push(await ask({ turns, ...cfg }));
    const mine = replies[0].explain.reasons.at(-1);
    renderUser(userNode, text, mine?.segments);
    replies.forEach((r, i) => {
      renderReply(nodes[i], compare ? (i === 0 ? "reply A" : "reply B") : "reflectdiffu", r);
      entry.replies.push({
        label: compare ? "AB"[i] : "reply",
        settings: r.settings,
        reply: r.reply,
        emotion: r.emotion,
        intent: r.intent,
        crisis: r.safety.crisis,
        ms: Math.round(r.ms),
      });
    });
    history = [...turns, replies[0].reply];
    if (compare) addChoice(holder, nodes, replies, entry, turns);
    for (const id of ["seed", "seed-b"]) $(id).value = Number($(id).value) + 1; // as `chat` does
    setStatus("ready", `Ready — ${Math.round(replies[0].ms)} ms for the last reply.`);
  } catch (err) {
    nodes.forEach((n) => {
      n.className = "turn model";
      n.textContent = `Could not write a reply: ${err.message}`;
    });
    setStatus("error", `Error: ${err.message}`);
  } finally {
    message.disabled = false;
    send.disabled = false;
    message.focus();
  }
}

/** Side by side: the user marks the more empathetic reply; it becomes the model's turn in the history. */
function addChoice(holder, nodes, replies, entry, turns) {
  const row = el("div", "controls choose");
  const pick = (choice) => {
    entry.choice = choice;
    nodes.forEach((n, i) => n.classList.toggle("chosen", "AB"[i] === choice));
    const kept = choice === "B" ? replies[1] : replies[0];
    if (history.length === turns.length + 1 && history[turns.length - 1] === turns.at(-1)) {
      history = [...turns, kept.reply];
    }
    row.querySelectorAll("button").forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.choice === choice)));
  };
  for (const [choice, label] of [["A", "A is more empathetic"], ["B", "B is more empathetic"], ["tie", "About the same"]]) {
    const b = el("button", "", label);
    b.type = "button";
    b.dataset.choice = choice;
    b.addEventListener("click", () => pick(choice));
    row.append(b);
  }
  holder.after(row);
}

$("composer").addEventListener("submit", (e) => {
  e.preventDefault();
  submit();
});
message.addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey) {
    e.preventDefault();
    submit();
  }
});
$("compare").addEventListener("change", (e) => {
  $("compare-settings").hidden = !e.target.checked;
});
$("reset").addEventListener("click", () => {
  history = [];
  log.replaceChildren();
  setStatus(ready ? "ready" : statusLine.dataset.state, ready ? "Ready — new conversation." : statusLine.textContent);
});
$("download").addEventListener("click", () => {
  const body = session.map((s) => JSON.stringify(s)).join("\n") + (session.length ? "\n" : "");
  const url = URL.createObjectURL(new Blob([body], { type: "application/x-ndjson" }));
  const a = el("a");
  a.href = url;
  a.download = `reflectdiffu-session-${new Date().toISOString().replace(/[:.]/g, "-")}.jsonl`;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
});

// ?backend=webgpu|cpu overrides the choice (webgpu also takes a software adapter, which the tests use).
const wanted = new URLSearchParams(location.search).get("backend") ?? "auto";
worker.postMessage({ type: "load", backend: wanted });
