// The demo page in a real Chromium (the system's: CHROMIUM or /usr/bin/chromium), against the built web/dist
// served on 127.0.0.1. Run: web/build.sh && (cd web && npm test). Writes a screenshot of a conversation to
// web/test-output/conversation.png (or $SCREENSHOT_DIR).

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { serve } from "../serve.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const dist = path.join(here, "..", "dist");
const shots = process.env.SCREENSHOT_DIR ?? path.join(here, "..", "test-output");
const executablePath = process.env.CHROMIUM ?? "/usr/bin/chromium";
const READY_MS = 180_000;
const REPLY_MS = 120_000;

let server, browser, page, origin;
const requests = [];
const dialogs = [];
const consoleErrors = [];

before(async () => {
  assert.ok(fs.existsSync(path.join(dist, "index.html")), "web/dist is not built: run web/build.sh first");
  server = await serve(dist, 0);
  origin = `http://127.0.0.1:${server.address().port}`;
  browser = await chromium.launch({ executablePath, args: ["--no-sandbox", "--disable-gpu"] });
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1000, height: 1100 } });
  // Every request of the page and of its worker, as the browser's network log sees it.
  context.on("request", (r) => requests.push(r.url()));
  page = await context.newPage();
  page.on("dialog", (d) => {
    dialogs.push(d.message());
    d.dismiss();
  });
  page.on("console", (m) => m.type() === "error" && consoleErrors.push(m.text()));
  await page.goto(origin + "/");
  await page.waitForSelector('#status[data-state="ready"]', { timeout: READY_MS });
});

after(async () => {
  await browser?.close();
  server?.close();
});

async function say(text) {
  const before = await page.locator(".turn.model:not(.pending)").count();
  await page.fill("#message", text);
  await page.click("#send");
  await page.waitForFunction(
    (n) => document.querySelectorAll(".turn.model:not(.pending)").length > n &&
      document.getElementById("status").dataset.state !== "busy",
    before,
    { timeout: REPLY_MS },
  );
  return page.locator(".turn.model").last();
}

test("the page loads the shipped checkpoint and says it is ready, and on which backend", async () => {
  const status = await page.textContent("#status");
  assert.match(status, /Ready — running on CPU/);
  assert.match(await page.textContent("#model-info"), /M parameters/);
});

test("a message gets a non-empty reply with three emotion bars; a second turn keeps the history", async () => {
  const first = await say("I finally got the job I wanted after months of searching. I am so happy!");
  const reply = (await first.locator(".reply-text").textContent()).trim();
  assert.ok(reply.length > 0, "empty reply");
  assert.equal(await first.locator(".emotions .bar").count(), 3);
  // web/test.sh leaves the native CLI's answer (same checkpoint, seed 0) here: the browser must write the same.
  const native = path.join(here, "..", "test-output", "native.json");
  if (fs.existsSync(native)) {
    const expected = JSON.parse(fs.readFileSync(native, "utf8"));
    assert.equal(reply, expected.reply);
    const labels = await first.locator(".emotion-label").allTextContents();
    assert.deepEqual(labels, expected.emotion.map((e) => e.label));
    // …and write it for the same intent, drawn from the shipped model's intent policy.
    assert.equal((await first.locator(".intent").textContent()).trim(), `intent: ${expected.intent}`);
  }
  // A model trained with exemplars leans on the replies people wrote to similar moments; the page lists them.
  const manifest = JSON.parse(fs.readFileSync(path.join(here, "..", "dist", "model", "manifest.json"), "utf8"));
  if (manifest.exemplars) {
    assert.ok((await first.locator(".similar .exemplar").count()) >= 1, "no exemplar shown");
    assert.match(await first.locator(".similar summary").textContent(), /the model leaned on these/);
  }
  // The shipped model has an intent policy, so every reply names the intent it was written for.
  assert.match(await first.locator(".intent").textContent(), /^intent: (agreeing|acknowledging|encouraging|consoling|sympathizing|suggesting|questioning|wishing|neutral)$/);
  assert.equal(await page.getAttribute("body", "data-turns-sent"), "1");
  // The reason tagger marks "happy" in the user's message.
  const marked = await page.locator(".turn.user").first().locator("mark.reason").allTextContents();
  assert.ok(marked.map((m) => m.toLowerCase()).includes("happy"), `marked: ${marked}`);

  const second = await say("I was so nervous at the interview, I thought I had failed.");
  assert.ok((await second.locator(".reply-text").textContent()).trim().length > 0);
  // user, model, user: the second request carried the first exchange.
  assert.equal(await page.getAttribute("body", "data-turns-sent"), "3");
  assert.equal(await page.locator(".turn.user").count(), 2);
  fs.mkdirSync(shots, { recursive: true });
  await page.screenshot({ path: path.join(shots, "conversation.png"), fullPage: true });
});

test("markup typed by the user is shown literally and runs nothing", async () => {
  const evil = "<img src=x onerror=alert(1)>";
  await say(evil);
  const shown = await page.locator(".turn.user").last().textContent();
  assert.ok(shown.includes(evil), `shown: ${shown}`);
  assert.equal(await page.locator("#log img").count(), 0);
  assert.deepEqual(dialogs, []);
});

test("a crisis message gets the fixed note, not a generated reply", async () => {
  const node = await say("I can't take it anymore, I want to kill myself.");
  assert.match(await node.getAttribute("class"), /crisis/);
  const text = await node.locator(".reply-text").textContent();
  assert.match(text, /ending your life or hurting yourself/);
  assert.match(text, /emergency number/);
  // The whole conversation is read, as in `chat`: an answer to the note still gets the note.
  const next = await say("yes, tonight");
  assert.match(await next.getAttribute("class"), /crisis/);
  assert.match(await next.locator(".reply-text").textContent(), /ending your life or hurting yourself/);
});

test("side by side: two replies, the choice and the session download as JSONL", async () => {
  await page.click("#reset");
  await page.check("#compare");
  // Reply B with one temperature for the choice to end (the length control): the setting travels with it.
  await page.fill("#stop-b", "0");
  await say("My dog died last week and the house feels empty.");
  assert.equal(await page.locator(".pair .turn.model").count(), 2);
  await page.click('button[data-choice="B"]');
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#download")]);
  const lines = fs.readFileSync(await download.path(), "utf8").trim().split("\n").map((l) => JSON.parse(l));
  const last = lines.at(-1);
  assert.equal(last.message, "My dog died last week and the house feels empty.");
  assert.equal(last.replies.length, 2);
  assert.equal(last.choice, "B");
  assert.notDeepEqual(last.replies[0].settings.seed, last.replies[1].settings.seed);
  assert.equal(last.replies[0].settings.stop_temperature, 1.5);
  assert.equal(last.replies[1].settings.stop_temperature, 0);
  assert.ok(lines.length >= 5, `${lines.length} session lines`);
});

test("with ?backend=webgpu the WebGPU bundle loads and answers (Chromium's software adapter here)", async (t) => {
  const manifest = JSON.parse(fs.readFileSync(path.join(dist, "model", "manifest.json"), "utf8"));
  if (!manifest.webgpu) {
    t.skip("built with WEB_WEBGPU=0: no WebGPU bundle");
    return;
  }
  // A browser of its own: the main one runs with --disable-gpu, and WebGPU in headless Chromium needs this flag.
  const gpuBrowser = await chromium.launch({ executablePath, args: ["--no-sandbox", "--enable-unsafe-webgpu"] });
  try {
    const gpuPage = await gpuBrowser.newPage();
    gpuPage.on("request", (r) => requests.push(r.url()));
    await gpuPage.goto(origin + "/?backend=webgpu");
    await gpuPage.waitForSelector('#status[data-state="ready"], #status[data-state="error"]', { timeout: READY_MS });
    const status = await gpuPage.locator("#status").textContent();
    assert.equal(await gpuPage.evaluate(() => document.body.dataset.backend), "webgpu", status);
    await gpuPage.fill("#message", "I finally got the job I wanted after months of searching. I am so happy!");
    await gpuPage.click("#send");
    await gpuPage.waitForSelector(".turn.model:not(.pending) .reply-text", { timeout: REPLY_MS });
    const reply = (await gpuPage.locator(".turn.model .reply-text").last().textContent()).trim();
    assert.ok(reply.length > 0, "an empty reply on WebGPU");
    assert.equal(await gpuPage.locator(".turn.model").last().locator(".emotions .bar").count(), 3);
  } finally {
    await gpuBrowser.close();
  }
});

test("the page made no request outside its own origin", async () => {
  const outside = requests.filter((u) => !u.startsWith(origin + "/") && !u.startsWith(`blob:${origin}/`));
  assert.deepEqual(outside, []);
  assert.ok(requests.some((u) => u.endsWith("/model/model.bpk")), "the weights were fetched from the origin");
  assert.deepEqual(consoleErrors, []);
});
