#!/usr/bin/env python3
"""PyTorch reference of the supervised training step, for the Rust/PyTorch speed ratio.

What it is
----------
One AdamW step of ReflectDiffu's supervised objective, written in PyTorch with the same network, the same
objective and the same synthetic batch as the Rust benchmark `train_step_shipped_config/flex`
(`benches/speed.rs`, fn `train_step` and fn `synthetic_batch`). Timing this script and that benchmark in one
sitting on one machine gives the ratio "Rust step time / PyTorch step time" of the issue "Training at PyTorch's
speed on a CPU". It is run by hand; it is not part of CI or of any test. See docs/pytorch-reference.md.

How to run it
-------------
    python3 -m venv /tmp/torch-venv
    /tmp/torch-venv/bin/pip install torch numpy   # plain PyPI; see the note below
    /tmp/torch-venv/bin/python benches/pytorch_step.py --threads 2   # defaults: --warmup 3 --steps 20

beside (same sitting, nothing else running, same thread count):

    RAYON_NUM_THREADS=2 BENCH_DEVICES=flex cargo bench --bench speed -- train_step_shipped_config/flex

Flags: --checkpoint DIR (whose config.json gives the shapes; default checkpoints/default, as the Rust
benchmark's BENCH_CHECKPOINT), --threads N (torch.set_num_threads and torch.set_num_interop_threads; default 2),
--warmup W (default 3), --steps S (default 20), --seed, --lr, --weight-decay, --intent-dropout,
--attention {explicit,sdpa}. It prints the parameter count (checked against the Rust count in the checkpoint's
meta.json / supervised_meta.json), the per-step figures, and last one JSON line.

Installing torch: `pip install torch --index-url https://download.pytorch.org/whl/cpu` (the CPU-only wheel,
a few hundred MB) is the lighter install where that index is reachable; it is not reachable from the project's
machines (only PyPI is). Plain `pip install torch` from PyPI works there: it gave torch 2.15.0+cu132 and pulls the
CUDA runtime wheels too (the venv is 5.3 GB; a CPU run never loads them; about a minute to install). Both wheels
run the same CPU kernels. numpy is optional: without it torch only warns at import.

What it mirrors (file: function)
--------------------------------
* src/model/mod.rs: ModelConfig::init, ReflectDiffu::denoise_train_hidden (blocks shorter than the reply: the
  denoiser reads [x_t ; x_0], 2·len tokens at reply positions 0..len, under block::train_mask).
* src/model/block.rs: train_mask (a noisy block sees itself and the clean blocks before it; the clean half is
  block-causal; True = may not attend).
* src/model/encoder.rs: EmotionContagionEncoder::forward (E^W + E^P + E^R + E^S, dropout, pre-norm encoder,
  final LayerNorm, masked mean pool Q, dropout on Q, emotion head and intent head on it; reason-bias and
  polarity experts when the config turns them on).
* src/model/denoiser.rs: Denoiser::hidden_with (the condition emotion + intent + time(t) as one extra memory slot
  in front of H, word + position embeddings, dropout, pre-norm decoder, output sliced to the noisy half, then
  LayerNorm), time_features (sin/cos of t at 1000^(i/16)), Denoiser::project.
* src/model/layers.rs: Attention::attend (scores / sqrt(d_k), masked_fill with -1e4, softmax, dropout on the
  weights), FeedForward (exact GELU, dropout after it), EncoderLayer / DecoderLayer order and norm names
  (norm_first: x + drop(attn(norm x)), + drop(cross(norm x)), + drop(ffn(norm x))), dropout (inverted).
* src/diffusion/corrupt.rs: sample_t (MDLM's low-discrepancy t_i = (u + i/n) mod 1 in [T_MIN, 1]), q_xt (each
  reply token -> [MASK] with probability mask_rate(t) = t, schedule.rs).
* src/diffusion/loss.rs: selection + selected_cross_entropy (the output layer and log-softmax run on the masked
  positions only; each masked position weighs 1 / (masked positions of its reply · rows): the per-reply mean NLL,
  averaged over the batch. This is the Rust training objective; it replaces MDLM's ELBO weight 1/t, which Rust
  uses only for the reported perplexity bound (masked_nll_sum), not in the step).
* src/train/step.rs: forward (total = diffusion_weight · diffusion + emotion_weight · CE(emotion) +
  intent_weight · CE(intent policy, rows whose intent is known); intent dropout), intent_loss.
* src/train/clip.rs: clip_global_norm (global L2 norm over all gradients, = torch's clip_grad_norm_).
* src/train/mod.rs: Run::step (loss read back, backward, clip, AdamW step; tokens = context + non-[PAD] reply
  tokens of the batch) and benches/speed.rs: train_step (the loop timed) and synthetic_batch (32 rows,
  full-length 64-token contexts and 32-token replies of random ids in 8..vocab, roles 0, reasons 0, emotion i % 32,
  intent i % 10, so 3 rows of 32 have the "unknown" intent and are left out of the intent loss).
* burn 0.22.1's AdamW (burn-optim adamw.rs): betas (0.9, 0.999), eps 1e-5 added to sqrt(v_hat), decoupled decay
  on every parameter; its Linear / Embedding / LayerNorm initialisations equal torch's defaults (Kaiming-uniform
  bound 1/sqrt(fan_in), N(0, 1), eps 1e-5).

What it leaves out or does differently, and why
-----------------------------------------------
* Random numbers: the Rust step draws t, the corruption and the dropout masks from its own generators (StdRng,
  a splitmix stream on the host); here torch's generator. Same distributions, different draws; the work per step
  is the same up to how many positions get masked (~half the reply on average in both).
* The corruption (t, masks, x_t) is drawn with torch ops on the CPU rather than in host loops; the block
  training mask is built once instead of every step, and broadcast over the batch instead of repeated.
* The contrastive loss of the polarity experts is not computed: benches/speed.rs passes no polarities, so the
  Rust step computes none either (and the shipped config has no experts).
* Learning rate: the benchmark steps at a constant 1e-4 (the default --lr), not train's warm-up + cosine schedule
  (which is only a number per step). Weight decay: the default is the config's train.weight_decay (0.01, what
  training uses); the benchmark builds `AdamWConfig::new()`, burn's default 1e-4. Both are non-zero, so the
  work is the same.
* Intent dropout: 0 by default, as the benchmark (training uses train.intent_dropout = 0.1, one coin per row:
  no cost). `length_buckets` trimming does not apply: the synthetic replies have no [EOS], so a trimmed batch
  keeps its full width, and the benchmark sets trim false anyway.
* Clipping: clip_global_norm reads the norm back and rescales only when it exceeds train.grad_clip; torch's
  clip_grad_norm_ always multiplies by min(1, max_norm / norm). Same result, one multiply per gradient more or
  less. AdamW runs PyTorch's CPU default implementation (no fused=True): what a plain PyTorch user gets.
* --attention sdpa (not the default) swaps the explicit attention for torch's fused scaled_dot_product_attention
  with an additive -1e4 mask: what an idiomatic PyTorch model would use. The default is op-for-op the Rust
  computation.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time
from pathlib import Path

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError:  # pragma: no cover - a hand-run script
    sys.exit("this script needs PyTorch: pip install torch (see the module docstring)")

REPO = Path(__file__).resolve().parent.parent

# src/tokenizer.rs
PAD, MASK, EOS = 0, 2, 4
# src/data/mod.rs
N_EMOTIONS, N_INTENTS, UNKNOWN_INTENT = 32, 9, 9
# src/reason/mod.rs
EM = 1
# src/diffusion/schedule.rs
T_MIN = 1e-3
# src/model/layers.rs: the score masked positions get before the softmax
MASKED_SCORE = -1.0e4
# src/model/denoiser.rs
TIME_FEATURES = 32


# --------------------------------------------------------------------------------------------- layers (layers.rs)


class Attention(nn.Module):
    """Multi-head attention as src/model/layers.rs Attention::attend (burn's query/key/value/output)."""

    def __init__(self, d: int, heads: int, p: float, sdpa: bool):
        super().__init__()
        self.query, self.key, self.value, self.output = (nn.Linear(d, d) for _ in range(4))
        self.heads, self.p, self.sdpa = heads, p, sdpa

    def split(self, x: torch.Tensor, linear: nn.Linear) -> torch.Tensor:
        b, s, d = x.shape
        return linear(x).reshape(b, s, self.heads, d // self.heads).transpose(1, 2)

    def forward(self, query, memory, pad=None, mask=None, bias=None):
        """pad [b, s2] and mask [b|1, s1, s2]: True = may not attend; bias [b, s2] added to each key's score."""
        b, s1, d = query.shape
        q, k, v = self.split(query, self.query), self.split(memory, self.key), self.split(memory, self.value)
        p = self.p if self.training else 0.0
        if self.sdpa:
            add = None
            if bias is not None:
                add = bias[:, None, None, :]
            for m in (pad[:, None, None, :] if pad is not None else None,
                      mask[:, None] if mask is not None else None):
                if m is not None:
                    fill = torch.zeros(m.shape, dtype=q.dtype).masked_fill(m, MASKED_SCORE)
                    add = fill if add is None else add + fill
            ctx = F.scaled_dot_product_attention(q, k, v, attn_mask=add, dropout_p=p)
        else:
            scores = q.matmul(k.transpose(-2, -1)) / math.sqrt(d // self.heads)
            if bias is not None:
                scores = scores + bias[:, None, None, :]
            if pad is not None:
                scores = scores.masked_fill(pad[:, None, None, :], MASKED_SCORE)
            if mask is not None:
                scores = scores.masked_fill(mask[:, None], MASKED_SCORE)
            ctx = F.dropout(torch.softmax(scores, dim=3), p, self.training).matmul(v)
        return self.output(ctx.transpose(1, 2).reshape(b, s1, d))


class FeedForward(nn.Module):
    """burn's PositionWiseFeedForward: linear_inner, exact GELU, dropout, linear_outer."""

    def __init__(self, d: int, d_ff: int, p: float):
        super().__init__()
        self.linear_inner, self.linear_outer, self.p = nn.Linear(d, d_ff), nn.Linear(d_ff, d), p

    def forward(self, x):
        return self.linear_outer(F.dropout(F.gelu(self.linear_inner(x)), self.p, self.training))


class EncoderLayer(nn.Module):
    def __init__(self, d, heads, d_ff, p, sdpa):
        super().__init__()
        self.mha, self.pwff = Attention(d, heads, p, sdpa), FeedForward(d, d_ff, p)
        self.norm_1, self.norm_2, self.p = nn.LayerNorm(d), nn.LayerNorm(d), p

    def forward(self, x, pad, bias):
        h = self.norm_2(x)
        x = x + F.dropout(self.mha(h, h, pad=pad, bias=bias), self.p, self.training)
        return x + F.dropout(self.pwff(self.norm_1(x)), self.p, self.training)


class DecoderLayer(nn.Module):
    def __init__(self, d, heads, d_ff, p, sdpa):
        super().__init__()
        self.cross_attn, self.self_attn = Attention(d, heads, p, sdpa), Attention(d, heads, p, sdpa)
        self.pwff = FeedForward(d, d_ff, p)
        self.norm_1, self.norm_2, self.norm_3 = nn.LayerNorm(d), nn.LayerNorm(d), nn.LayerNorm(d)
        self.p = p

    def forward(self, x, self_mask, memory, memory_pad, memory_bias):
        h = self.norm_3(x)
        x = x + F.dropout(self.self_attn(h, h, mask=self_mask), self.p, self.training)
        h = self.norm_1(x)
        x = x + F.dropout(self.cross_attn(h, memory, pad=memory_pad, bias=memory_bias), self.p, self.training)
        return x + F.dropout(self.pwff(self.norm_2(x)), self.p, self.training)


# ------------------------------------------------------------------------------------------ encoder (encoder.rs)


class PolarityExperts(nn.Module):
    """src/model/experts.rs (only built when model.polarity_experts is true)."""

    def __init__(self, d):
        super().__init__()
        self.positive, self.negative, self.gate = nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, 1)

    def forward(self, q):
        g = torch.sigmoid(self.gate(q))
        e = F.gelu(self.positive(q)) * g + F.gelu(self.negative(q)) * (1.0 - g)
        return q + e


class Encoder(nn.Module):
    def __init__(self, m: dict, sdpa: bool):
        super().__init__()
        d, p = m["d_model"], m["dropout"]
        self.word = nn.Embedding(m["vocab_size"], d)
        self.position = nn.Embedding(m["max_context_len"], d)
        self.reason = nn.Embedding(2, d)
        self.role = nn.Embedding(3, d)
        self.layers = nn.ModuleList(
            EncoderLayer(d, m["n_heads"], m["d_ff"], p, sdpa) for _ in range(m["encoder_layers"]))
        self.norm = nn.LayerNorm(d)
        self.emotion_head = nn.Linear(d, N_EMOTIONS)
        self.experts = PolarityExperts(d) if m.get("polarity_experts") else None
        self.intent_head = nn.Linear(d, N_INTENTS) if m.get("intent_policy") else None
        self.p, self.reason_bias = p, float(m.get("reason_bias") or 0.0)

    def forward(self, ids, roles, reasons, pad):
        b, n = ids.shape
        bias = (reasons == EM).float() * self.reason_bias if self.reason_bias != 0.0 else None
        positions = torch.arange(n).unsqueeze(0).expand(b, n)
        x = self.word(ids) + self.position(positions) + self.reason(reasons) + self.role(roles)
        x = F.dropout(x, self.p, self.training)
        for layer in self.layers:
            x = layer(x, pad, bias)
        h = self.norm(x)
        keep = (~pad).float().unsqueeze(2)
        q = (h * keep).sum(1) / keep.sum(1).clamp_min(1.0)
        read = self.experts(q) if self.experts is not None else q
        read = F.dropout(read, self.p, self.training)
        intent_logits = self.intent_head(read) if self.intent_head is not None else None
        return h, self.emotion_head(read), intent_logits, bias


# ---------------------------------------------------------------------------------------- denoiser (denoiser.rs)


def time_features(t: torch.Tensor) -> torch.Tensor:
    half = TIME_FEATURES // 2
    freqs = torch.tensor([1000.0 ** (i / half) for i in range(half)])
    angles = t.unsqueeze(1) * freqs.unsqueeze(0)
    return torch.cat([angles.sin(), angles.cos()], dim=1)


class Denoiser(nn.Module):
    def __init__(self, m: dict, sdpa: bool):
        super().__init__()
        d, p = m["d_model"], m["dropout"]
        self.word = nn.Embedding(m["vocab_size"], d)
        self.position = nn.Embedding(m["max_reply_len"], d)
        self.emotion = nn.Embedding(N_EMOTIONS, d)
        self.intent = nn.Embedding(N_INTENTS + 1, d)
        self.time = nn.Linear(TIME_FEATURES, d)
        self.layers = nn.ModuleList(
            DecoderLayer(d, m["n_heads"], m["d_ff"], p, sdpa) for _ in range(m["decoder_layers"]))
        self.norm = nn.LayerNorm(d)
        self.output = nn.Linear(d, m["vocab_size"])
        self.p = p

    def hidden_with(self, x, positions, t, emotion, intent, memory, memory_pad, memory_bias, self_mask, out_len):
        b = x.shape[0]
        c = (self.emotion(emotion) + self.intent(intent) + self.time(time_features(t))).unsqueeze(1)
        memory = torch.cat([c, memory], dim=1)
        memory_pad = torch.cat([torch.zeros(b, 1, dtype=torch.bool), memory_pad], dim=1)
        if memory_bias is not None:
            memory_bias = torch.cat([torch.zeros(b, 1), memory_bias], dim=1)
        h = F.dropout(self.word(x) + self.position(positions), self.p, self.training)
        for layer in self.layers:
            h = layer(h, self_mask, memory, memory_pad, memory_bias)
        return self.norm(h[:, :out_len])


class ReflectDiffu(nn.Module):
    def __init__(self, m: dict, sdpa: bool):
        super().__init__()
        self.encoder, self.denoiser = Encoder(m, sdpa), Denoiser(m, sdpa)


def train_mask(length: int, block: int) -> torch.Tensor:
    """src/model/block.rs train_mask over [x_t ; x_0], [2·len, 2·len], True = may not attend."""
    i = torch.arange(2 * length)
    noisy, blk = i < length, (i % length) // block
    qn, kn = noisy[:, None], noisy[None, :]
    qb, kb = blk[:, None], blk[None, :]
    allowed = (qn & kn & (qb == kb)) | (qn & ~kn & (kb < qb)) | (~qn & ~kn & (kb <= qb))
    return ~allowed


# -------------------------------------------------------------------------------------------- the step (step.rs)


def synthetic_batch(m: dict, batch_size: int, gen: torch.Generator) -> dict:
    """benches/speed.rs synthetic_batch: full-length contexts and replies of random ids in 8..vocab."""
    v, n, r = m["vocab_size"], m["max_context_len"], m["max_reply_len"]
    ctx = torch.randint(8, v, (batch_size, n), generator=gen)
    rows = torch.arange(batch_size)
    return {
        "ctx_ids": ctx,
        "ctx_roles": torch.zeros(batch_size, n, dtype=torch.long),
        "ctx_reasons": torch.zeros(batch_size, n, dtype=torch.long),
        "ctx_pad": ctx == PAD,
        "reply": torch.randint(8, v, (batch_size, r), generator=gen),
        "emotion": rows % 32,
        "intent": rows % 10,
    }


def batch_tokens(batch: dict) -> int:
    """src/train/mod.rs Run::step: context tokens + reply tokens that are not [PAD]."""
    return int(batch["ctx_ids"].numel() + (batch["reply"] != PAD).sum())


def forward(model: ReflectDiffu, batch: dict, opts: dict, block_mask, gen: torch.Generator) -> torch.Tensor:
    """src/train/step.rs forward + diffusion_loss + intent_loss: the step's total loss."""
    h, emotion_logits, intent_logits, reason_bias = model.encoder(
        batch["ctx_ids"], batch["ctx_roles"], batch["ctx_reasons"], batch["ctx_pad"])
    x0 = batch["reply"]
    rows, length = x0.shape
    intent = batch["intent"]
    if opts["intent_dropout"] > 0.0:
        hide = torch.rand(rows, generator=gen) < opts["intent_dropout"]
        intent = torch.where(hide, torch.full_like(intent, UNKNOWN_INTENT), intent)
    total = torch.zeros(())
    if opts["diffusion_weight"] > 0.0:
        # corrupt.rs sample_t and q_xt (mask_rate(t) = t)
        u = torch.rand((), generator=gen)
        t = T_MIN + (1.0 - T_MIN) * ((u + torch.arange(rows) / rows) % 1.0)
        masked = torch.rand(rows, length, generator=gen) < t.unsqueeze(1)
        xt = torch.where(masked, torch.full_like(x0, MASK), x0)
        block = opts["block"]
        if block < length:
            x = torch.cat([xt, x0], dim=1)
            positions = torch.arange(length).repeat(2).unsqueeze(0).expand(rows, 2 * length)
            mask = block_mask.unsqueeze(0)
        else:
            x, positions, mask = xt, torch.arange(length).unsqueeze(0).expand(rows, length), None
        hidden = model.denoiser.hidden_with(
            x, positions, t, batch["emotion"], intent, h, batch["ctx_pad"], reason_bias, mask, length)
        # loss.rs selection + selected_cross_entropy
        flat = masked.reshape(-1)
        index = flat.nonzero().squeeze(1)
        if index.numel() > 0:
            count = masked.sum(1, keepdim=True).float().expand(rows, length).reshape(-1)
            weight = 1.0 / (count[index] * rows)
            picked = hidden.reshape(rows * length, -1).index_select(0, index)
            logp = torch.log_softmax(model.denoiser.output(picked), dim=1)
            nll = -logp.gather(1, x0.reshape(-1)[index].unsqueeze(1)).squeeze(1)
            diffusion = (nll * weight).sum()
            total = diffusion if opts["diffusion_weight"] == 1.0 else diffusion * opts["diffusion_weight"]
    total = total + F.cross_entropy(emotion_logits, batch["emotion"]) * opts["emotion_weight"]
    if intent_logits is not None and opts["intent_weight"] > 0.0:
        known = (batch["intent"] < UNKNOWN_INTENT).nonzero().squeeze(1)
        if known.numel() > 0:
            il = F.cross_entropy(intent_logits.index_select(0, known), batch["intent"].index_select(0, known))
            total = total + il * opts["intent_weight"]
    return total


# ------------------------------------------------------------------------------------------------------- main


def rust_parameter_count(checkpoint: Path):
    """The Rust model's `num_params()` as a run wrote it (meta.json or supervised_meta.json), if present."""
    for name in ("meta.json", "supervised_meta.json"):
        try:
            value = json.loads((checkpoint / name).read_text()).get("parameters")
        except (OSError, ValueError):
            continue
        if isinstance(value, int):
            return value, name
    return None, None


def machine() -> str:
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.platform()}; {cpu or 'unknown CPU'}; {os.cpu_count()} logical CPUs"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--checkpoint", type=Path, default=REPO / "checkpoints" / "default",
                    help="folder whose config.json gives the shapes (default: checkpoints/default)")
    ap.add_argument("--threads", type=int, default=2, help="intra- and inter-op threads (default 2)")
    ap.add_argument("--warmup", type=int, default=3, help="untimed steps first (default 3)")
    ap.add_argument("--steps", type=int, default=20, help="timed steps (default 20)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--lr", type=float, default=1e-4, help="constant learning rate (the benchmark's 1e-4)")
    ap.add_argument("--weight-decay", type=float, default=None,
                    help="AdamW weight decay (default: the config's train.weight_decay)")
    ap.add_argument("--intent-dropout", type=float, default=0.0,
                    help="fraction of rows conditioned on 'unknown' intent (the benchmark: 0)")
    ap.add_argument("--attention", choices=("explicit", "sdpa"), default="explicit",
                    help="explicit = op-for-op the Rust attention (default); sdpa = torch's fused attention")
    args = ap.parse_args()
    if args.threads < 1 or args.steps < 1 or args.warmup < 0:
        ap.error("--threads and --steps must be at least 1, --warmup at least 0")

    # Before any parallel work: set_num_interop_threads may only be called once, before it.
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(args.threads)
    torch.manual_seed(args.seed)

    cfg = json.loads((args.checkpoint / "config.json").read_text())
    m, tr = cfg["model"], cfg["train"]
    block = m.get("block_len") or m["max_reply_len"]
    opts = {
        # benches/speed.rs train_step's StepOptions
        "block": block,
        "diffusion_weight": 1.0,
        "emotion_weight": 1.0,
        "intent_dropout": args.intent_dropout,
        "intent_weight": float(tr.get("intent_weight", 1.0)),
    }
    weight_decay = float(tr.get("weight_decay", 0.01)) if args.weight_decay is None else args.weight_decay
    grad_clip = float(tr.get("grad_clip", 1.0))

    model = ReflectDiffu(m, sdpa=args.attention == "sdpa")
    model.train()  # dropout on, as on the Rust autodiff device
    params = sum(p.numel() for p in model.parameters())
    rust_params, source = rust_parameter_count(args.checkpoint)
    if rust_params is None:
        note = "no meta.json with the Rust count in the checkpoint folder to compare with"
    elif rust_params == params:
        note = f"matches the Rust model's count ({source})"
    else:
        note = f"DIFFERS from the Rust model's {rust_params:,} ({source}); the shapes above are wrong somewhere"
    print(f"parameters: {params:,} ({params / 1e6:.2f} M): {note}")

    gen = torch.Generator().manual_seed(args.seed)
    batch = synthetic_batch(m, int(tr["batch_size"]), gen)
    tokens = batch_tokens(batch)
    block_mask = train_mask(m["max_reply_len"], block)
    # burn 0.22.1 AdamWConfig: betas (0.9, 0.999), epsilon 1e-5
    optim = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.999), eps=1e-5,
                              weight_decay=weight_decay)
    print(f"batch {tr['batch_size']} · context {m['max_context_len']} · reply {m['max_reply_len']} · "
          f"block {block} · d_model {m['d_model']} · {m['encoder_layers']}+{m['decoder_layers']} layers · "
          f"vocab {m['vocab_size']} · "
          f"{tokens} tokens/step · torch {torch.__version__} · {args.threads} threads · attention {args.attention}")

    def step() -> float:
        optim.zero_grad(set_to_none=True)
        total = forward(model, batch, opts, block_mask, gen)
        loss = total.item()  # the benchmark reads the loss back before backward
        total.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
        optim.step()
        return loss

    for _ in range(args.warmup):
        step()
    times, losses = [], []
    for _ in range(args.steps):
        start = time.perf_counter()
        losses.append(step())
        times.append(time.perf_counter() - start)

    median = statistics.median(times)
    result = {
        "benchmark": "pytorch_train_step_shipped_config",
        "checkpoint": str(args.checkpoint),
        "parameters": params,
        "rust_parameters": rust_params,
        "warmup": args.warmup,
        "steps": args.steps,
        "median_s": median,
        "min_s": min(times),
        "max_s": max(times),
        "steps_per_s": 1.0 / median,
        "tokens_per_step": tokens,
        "tokens_per_s": tokens / median,
        "last_loss": losses[-1],
        "attention": args.attention,
        "torch": torch.__version__,
        "threads": args.threads,
        "interop_threads": torch.get_num_interop_threads(),
        "python": platform.python_version(),
        "machine": machine(),
    }
    print(f"step: median {median * 1e3:.1f} ms [min {min(times) * 1e3:.1f}, max {max(times) * 1e3:.1f}] over "
          f"{args.steps} steps after {args.warmup} warm-up · {1.0 / median:.2f} steps/s · "
          f"{tokens / median:,.0f} tokens/s · loss {losses[0]:.3f} -> {losses[-1]:.3f}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
