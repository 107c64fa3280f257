// Runs the model off the page's main thread. Messages in: {type: "load"}, {type: "respond", id, request}.
// Messages out: {type: "progress", text, loaded, total}, {type: "ready", ...}, {type: "reply", id, response, ms},
// {type: "error", id, message}. Everything is fetched from this page's own origin.

import init, { Engine, defaults } from "./pkg/reflectdiffu_web.js";

const MODEL = "./model/";
let engine = null;

async function fetchBytes(name, report) {
  const res = await fetch(MODEL + name);
  if (!res.ok) throw new Error(`cannot fetch ${MODEL + name}: HTTP ${res.status}`);
  const total = Number(res.headers.get("Content-Length")) || 0;
  const reader = res.body.getReader();
  const chunks = [];
  let loaded = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    loaded += value.length;
    report(loaded, total);
  }
  const out = new Uint8Array(loaded);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

async function load() {
  const started = performance.now();
  const progress = (text, loaded = 0, total = 0) => postMessage({ type: "progress", text, loaded, total });
  progress("loading the WebAssembly module…");
  await init();
  // manifest.json (written by build.sh) names the reason tagger's file and the lexical emotion reader's (or null).
  const manifest = JSON.parse(new TextDecoder().decode(await fetchBytes("manifest.json", () => {})));
  const files = {};
  let downloaded = 0;
  const names = ["config.json", "tokenizer.json", manifest.reasons, "model.bpk"];
  if (manifest.emotion) names.push(manifest.emotion);
  for (const name of names) {
    files[name] = await fetchBytes(name, (loaded, total) =>
      progress(`downloading ${name}…`, loaded, total),
    );
    downloaded += files[name].length;
  }
  progress("building the model…");
  engine = new Engine(
    files["config.json"],
    files["model.bpk"],
    files["tokenizer.json"],
    files[manifest.reasons],
  );
  if (manifest.emotion) engine.set_lexical(files[manifest.emotion]);
  postMessage({
    type: "ready",
    backend: engine.backend(),
    info: JSON.parse(engine.info()),
    defaults: JSON.parse(defaults()),
    modelBytes: downloaded,
    ms: performance.now() - started,
  });
}

onmessage = async (e) => {
  const msg = e.data;
  try {
    if (msg.type === "load") {
      await load();
    } else if (msg.type === "respond") {
      if (!engine) throw new Error("the model is not loaded yet");
      const started = performance.now();
      const response = JSON.parse(engine.respond(JSON.stringify(msg.request)));
      postMessage({ type: "reply", id: msg.id, response, ms: performance.now() - started });
    }
  } catch (err) {
    postMessage({ type: "error", id: msg.id, message: String(err?.message ?? err) });
  }
};
