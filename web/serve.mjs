// A static file server for web/dist on 127.0.0.1, with the page's Content-Security-Policy as a header too (a
// dedicated worker takes its policy from its own response, not from the page's <meta> tag).
//
//   node web/serve.mjs [DIR] [PORT]      # defaults: web/dist 8000
//
// Any static host works for the page; this one needs nothing but Node.

import http from "node:http";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const CSP =
  "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; connect-src 'self'; " +
  "style-src 'self'; img-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'";

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".wasm": "application/wasm",
  ".json": "application/json; charset=utf-8",
  ".txt": "text/plain; charset=utf-8",
  ".bpk": "application/octet-stream",
  ".svg": "image/svg+xml",
};

/** Serves `root` on host:port; resolves to the listening server. */
export function serve(root, port = 8000, host = "127.0.0.1") {
  const base = path.resolve(root);
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, "http://localhost");
    let file = path.join(base, decodeURIComponent(url.pathname));
    if (!file.startsWith(base)) {
      res.writeHead(403).end("forbidden");
      return;
    }
    if (fs.existsSync(file) && fs.statSync(file).isDirectory()) file = path.join(file, "index.html");
    fs.readFile(file, (err, body) => {
      if (err) {
        res.writeHead(404, { "Content-Type": "text/plain" }).end("not found");
        return;
      }
      res.writeHead(200, {
        "Content-Type": TYPES[path.extname(file)] ?? "application/octet-stream",
        "Content-Security-Policy": CSP,
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-cache",
      });
      res.end(body);
    });
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve(server));
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const root = process.argv[2] ?? path.join(here, "dist");
  const port = Number(process.argv[3] ?? 8000);
  if (!fs.existsSync(path.join(root, "index.html"))) {
    console.error(`${root}/index.html does not exist: build the page first with web/build.sh`);
    process.exit(1);
  }
  serve(root, port).then(
    () => console.log(`serving ${root} at http://127.0.0.1:${port}/ (Ctrl-C to stop)`),
    (e) => {
      console.error(`cannot listen on 127.0.0.1:${port}: ${e.message}; pass another port: node web/serve.mjs ${root} 8001`);
      process.exit(1);
    },
  );
}
