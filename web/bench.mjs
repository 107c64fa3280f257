// Measures the built page (web/dist) in headless Chromium: what it downloads, the time from opening the page to
// ready, and the latency of one reply at the default settings (the worker's own timing of `respond`, after one
// warm-up reply). Prints a JSON report.
//
//   web/build.sh && node web/bench.mjs [REPLIES]        # default 10 replies; CHROMIUM=/path overrides the browser

import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { serve } from "./serve.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const dist = path.join(here, "dist");
const replies = Number(process.argv[2] ?? 10);
const MESSAGE = "I finally got the job I wanted after months of searching.";

if (!fs.existsSync(path.join(dist, "index.html"))) {
  console.error("web/dist is not built: run web/build.sh first");
  process.exit(1);
}
const server = await serve(dist, 0);
const origin = `http://127.0.0.1:${server.address().port}`;
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu"],
});
try {
  const context = await browser.newContext();
  const page = await context.newPage();
  // Everything the page and its worker fetch, sized from the served files.
  const sizes = {};
  context.on("request", (r) => {
    const u = new URL(r.url());
    const file = path.join(dist, u.pathname === "/" ? "index.html" : u.pathname);
    if (u.origin === origin && fs.existsSync(file)) sizes[u.pathname] = fs.statSync(file).size;
  });
  const opened = Date.now();
  await page.goto(origin + "/");
  await page.waitForSelector('#status[data-state="ready"]', { timeout: 300_000 });
  const readyMs = Date.now() - opened;
  const times = [];
  for (let i = 0; i <= replies; i++) {
    await page.click("#reset");
    await page.fill("#seed", "0");
    await page.fill("#message", MESSAGE);
    await page.click("#send");
    await page.waitForSelector('.turn.model:not(.pending) .meta', { timeout: 120_000 });
    const meta = await page.textContent(".turn.model .meta");
    if (i > 0) times.push(Number(meta.match(/(\d+) ms/)[1])); // the first reply is a warm-up
  }
  times.sort((a, b) => a - b);
  const wasm = Object.entries(sizes).find(([p]) => p.endsWith(".wasm"));
  const total = Object.values(sizes).reduce((a, b) => a + b, 0);
  console.log(
    JSON.stringify(
      {
        browser: browser.version(),
        ready_ms: readyMs,
        reply_ms_median: times[Math.floor(times.length / 2)],
        reply_ms_min: times[0],
        reply_ms_max: times.at(-1),
        replies: times.length,
        reply: await page.textContent(".turn.model .reply-text"),
        wasm_bytes: wasm?.[1],
        downloaded_bytes: total,
        files: sizes,
      },
      null,
      2,
    ),
  );
} finally {
  await browser.close();
  server.close();
}
