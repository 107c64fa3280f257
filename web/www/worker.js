// Runs the model off the page's main thread. Messages in: {type: "load", backend}, {type: "respond", id, request}.
// backend: "auto" (WebGPU when the page was built with the WebGPU bundle and the browser offers a hardware
// adapter, the CPU otherwise), "webgpu" (WebGPU on any adapter, software ones included) or "cpu".
// Messages out: {type: "progress", text, loaded, total}, {type: "ready", ...}, {type: "reply", id, response, ms},
// {type: "error", id, message}. Everything is fetched from this page's own origin.

import init, { Engine, defaults } from "./pkg/reflectdiffu_web.js";

const MODEL = "./model/";
let engine = null;
let fallback = ""; // why the WebGPU bundle is not used, when it is not

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

// The WebGPU bundle's engine, or null (with `fallback` saying why) when it cannot or should not run here.
async function webgpuEngine(manifest, files, wanted) {
  if (wanted === "cpu") return null;
  if (!manifest.webgpu) {
    fallback = "this build has no WebGPU bundle";
    return null;
  }
  const adapter = navigator.gpu ? await navigator.gpu.requestAdapter() : null;
  if (!adapter) {
    fallback = "no WebGPU adapter";
    return null;
  }
  const software = adapter.info?.isFallbackAdapter ?? adapter.isFallbackAdapter ?? false;
  if (software && wanted !== "webgpu") {
    fallback = "the WebGPU adapter is a software one, slower than the CPU backend";
    return null;
  }
  try {
    const gpu = await import("./pkg-webgpu/reflectdiffu_web.js");
    await gpu.default();
    const e = await gpu.Engine.create_webgpu(
      files["config.json"],
      files["model.bpk"],
      files["tokenizer.json"],
      files[manifest.reasons],
    );
    return e;
  } catch (err) {
    fallback = `WebGPU failed: ${err?.message ?? err}`;
    return null;
  }
}

async function load(wanted = "auto") {
  const started = performance.now();
  const progress = (text, loaded = 0, total = 0) => postMessage({ type: "progress", text, loaded, total });
  progress("loading the WebAssembly module…");
  await init();
  // manifest.json (written by build.sh) names the reason tagger's file, the lexical emotion reader's and the
  // exemplar index's (or null).
  const manifest = JSON.parse(new TextDecoder().decode(await fetchBytes("manifest.json", () => {})));
  const files = {};
  let downloaded = 0;
  const names = ["config.json", "tokenizer.json", manifest.reasons, "model.bpk"];
  if (manifest.emotion) names.push(manifest.emotion);
  if (manifest.exemplars) names.push(manifest.exemplars);
  for (const name of names) {
    files[name] = await fetchBytes(name, (loaded, total) =>
      progress(`downloading ${name}…`, loaded, total),
    );
    downloaded += files[name].length;
  }
  progress("building the model…");
  engine = await webgpuEngine(manifest, files, wanted);
  engine ??= new Engine(
    files["config.json"],
    files["model.bpk"],
    files["tokenizer.json"],
    files[manifest.reasons],
  );
  if (manifest.emotion) engine.set_lexical(files[manifest.emotion]);
  if (manifest.exemplars) engine.set_exemplars(files[manifest.exemplars]);
  postMessage({
    type: "ready",
    backend: engine.backend(),
    fallback,
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
      await load(msg.backend);
    } else if (msg.type === "respond") {
      if (!engine) throw new Error("the model is not loaded yet");
      const started = performance.now();
      // The WebGPU engine awaits its read-backs; the CPU one answers at once.
      const request = JSON.stringify(msg.request);
      const response = JSON.parse(
        engine.respond_async ? await engine.respond_async(request) : engine.respond(request),
      );
      postMessage({ type: "reply", id: msg.id, response, ms: performance.now() - started });
    }
  } catch (err) {
    postMessage({ type: "error", id: msg.id, message: String(err?.message ?? err) });
  }
};
