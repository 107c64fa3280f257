#!/usr/bin/env bash
# Builds the demo page into web/dist/, a static site any static host can serve:
#   web/build.sh [CHECKPOINT_DIR]          # default: checkpoints/default
#   node web/serve.mjs                     # then open http://127.0.0.1:8000/
# Installs what it needs by name and version: the wasm32 Rust target and wasm-bindgen-cli at exactly the
# wasm-bindgen version in Cargo.lock (the two must match). A first build takes several minutes (burn for wasm;
# and the native CLI, which writes the f16 weights, if it is not built yet).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
checkpoint="${1:-checkpoints/default}"
dist="web/dist"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"

# The reason tagger the model was trained with: an ERA tagger or the lexicon rule's word list.
reasons=reason_words.txt
[ -f "$checkpoint/reason_tagger.bin" ] && reasons=reason_tagger.bin
for f in config.json model.bpk tokenizer.json "$reasons"; do
  if [ ! -f "$checkpoint/$f" ]; then
    echo "error: $checkpoint/$f is missing; pass a checkpoint folder written by 'reflectdiffu train'" >&2
    exit 1
  fi
done

rustup target add wasm32-unknown-unknown
version="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)"
if [ -z "$version" ]; then
  echo "error: no wasm-bindgen in Cargo.lock" >&2
  exit 1
fi
if ! command -v wasm-bindgen >/dev/null || [ "$(wasm-bindgen --version | awk '{print $2}')" != "$version" ]; then
  echo "installing wasm-bindgen-cli $version (once; about 3 minutes)…" >&2
  # --locked builds with the lock file wasm-bindgen-cli was released with; when a crate in it has since been
  # yanked from the registry (webpki-roots 1.0.11 was, for 0.2.130) that fails, and the newest compatible
  # versions are used instead.
  cargo install --locked wasm-bindgen-cli --version "$version" ||
    cargo install wasm-bindgen-cli --version "$version"
fi

# simd128: WebAssembly's 128-bit SIMD, which Flex's matrix kernels use (Chrome 91+, Firefox 89+, Safari 16.4+).
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="-C target-feature=+simd128" \
  cargo build -p reflectdiffu-web --target wasm32-unknown-unknown --profile web

rm -rf "$dist"
mkdir -p "$dist/pkg" "$dist/model"
wasm-bindgen --target web --no-typescript --out-dir "$dist/pkg" \
  "$CARGO_TARGET_DIR/wasm32-unknown-unknown/web/reflectdiffu_web.wasm"
# The WebGPU bundle (burn's WGPU backend on the browser's adapter; ~5× the module size, so a second bundle the
# worker loads only when it uses it). WEB_WEBGPU=0 skips it.
webgpu=false
if [ "${WEB_WEBGPU:-1}" != 0 ]; then
  CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="-C target-feature=+simd128" \
    cargo build -p reflectdiffu-web --target wasm32-unknown-unknown --profile web --features webgpu
  mkdir -p "$dist/pkg-webgpu"
  wasm-bindgen --target web --no-typescript --out-dir "$dist/pkg-webgpu" \
    "$CARGO_TARGET_DIR/wasm32-unknown-unknown/web/reflectdiffu_web.wasm"
  webgpu=true
fi
cp web/www/index.html web/www/app.js web/www/worker.js web/www/style.css web/www/favicon.svg "$dist/"
for f in config.json tokenizer.json "$reasons"; do
  cp "$checkpoint/$f" "$dist/model/$f"
done
# The lexical emotion reader, when the checkpoint has one, as f16 (12.8 instead of 25.7 MB): the page then reads
# the emotion as the CLI does.
emotion=null
if [ -f "$checkpoint/emotion_ngrams.bin" ]; then
  cargo run --release --quiet -- export --checkpoint "$checkpoint" --format lexical-f16 \
    --out "$dist/model/emotion_ngrams.bin"
  emotion='"emotion_ngrams.bin"'
fi
# The exemplar index, when the model was trained to read one (model.exemplars): without it the page would answer
# without the memory the CLI gives the same model.
exemplars=null
if [ -f "$checkpoint/exemplars.bin" ] && grep -Eq '"exemplars": *[1-9]' "$checkpoint/config.json"; then
  cp "$checkpoint/exemplars.bin" "$dist/model/exemplars.bin"
  exemplars='"exemplars.bin"'
fi
printf '{"reasons": "%s", "emotion": %s, "exemplars": %s, "webgpu": %s}\n' "$reasons" "$emotion" "$exemplars" "$webgpu" > "$dist/model/manifest.json"
# The weights as f16: half the download (10 instead of 20 MB for the shipped model); the page casts them back
# to f32, and on 500 ED test replies 495 come out identical (BENCHMARKS.md). Needs the native CLI.
cargo run --release --quiet -- export --checkpoint "$checkpoint" --format burnpack-f16 --out "$dist/model/model.bpk"
echo "built $dist ($(du -sh "$dist" | cut -f1)); serve it with: node web/serve.mjs" >&2
