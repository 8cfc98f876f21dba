#!/usr/bin/python3
"""bench_engine.py — the PyTorch twin of bench/bench_engine.c.

A GPT-2 of the same shape (pre-LN blocks, tanh GELU, learned positions, tied head, eager attention)
timed on the same three things: a training step (forward + backward + AdamW), forward-only scoring
(logits and the cross-entropy), and cached greedy decoding (B sequences batched, and B = 1), each
in fp32 and under torch.autocast('cpu', dtype=torch.bfloat16). FLOPs are counted exactly as the C
benchmark counts them (see its header). Run with Debian's /usr/bin/python3 (python3-torch).

    /usr/bin/python3 bench/bench_engine.py --layers 6 --embd 256 --heads 8 --vocab 4096 \
        --batch 8 --seq 256 --threads 2 [--modes fp32,bf16] [--json]
"""
import argparse
import contextlib
import json
import math
import os
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


class Block(nn.Module):
    def __init__(self, C, H):
        super().__init__()
        self.H = H
        self.ln_1 = nn.LayerNorm(C)
        self.c_attn = nn.Linear(C, 3 * C)
        self.c_proj = nn.Linear(C, C)
        self.ln_2 = nn.LayerNorm(C)
        self.c_fc = nn.Linear(C, 4 * C)
        self.mlp_proj = nn.Linear(4 * C, C)

    def attn(self, x, cache=None, pos=0):
        B, T, C = x.shape
        H, hs = self.H, C // self.H
        q, k, v = self.c_attn(x).split(C, dim=2)
        q, k, v = (t.view(B, T, H, hs).transpose(1, 2) for t in (q, k, v))
        if cache is not None:  # preallocated [B, H, maxT, hs] key and value buffers
            kc, vc = cache
            kc[:, :, pos:pos + T] = k
            vc[:, :, pos:pos + T] = v
            k, v = kc[:, :, :pos + T], vc[:, :, :pos + T]
        w = (q @ k.transpose(-2, -1)) / math.sqrt(hs)
        S = k.shape[2]
        if T > 1:
            mask = torch.ones(T, S, dtype=torch.bool, device=x.device).tril(S - T)
            w = w.masked_fill(~mask, torch.finfo(w.dtype).min)
        w = F.softmax(w, dim=-1)
        y = (w @ v).transpose(1, 2).reshape(B, T, C)
        return self.c_proj(y)

    def forward(self, x, cache=None, pos=0):
        x = x + self.attn(self.ln_1(x), cache, pos)
        return x + self.mlp_proj(gelu_new(self.c_fc(self.ln_2(x))))


class GPT2(nn.Module):
    def __init__(self, L, C, H, V, maxT):
        super().__init__()
        self.wte = nn.Embedding(V, C)
        self.wpe = nn.Embedding(maxT, C)
        self.h = nn.ModuleList(Block(C, H) for _ in range(L))
        self.ln_f = nn.LayerNorm(C)
        for n, p in self.named_parameters():  # GPT-2 initialisation
            if p.dim() == 2:
                nn.init.normal_(p, 0.0, 0.02 / math.sqrt(2 * L) if n.endswith("proj.weight") else 0.02)
            elif n.endswith("bias"):
                nn.init.zeros_(p)

    def forward(self, ids, caches=None, pos=0):
        T = ids.shape[1]
        x = self.wte(ids) + self.wpe(torch.arange(pos, pos + T, device=ids.device))
        for i, blk in enumerate(self.h):
            x = blk(x, caches[i] if caches is not None else None, pos)
        return self.ln_f(x) @ self.wte.weight.t()


def matmul_params(L, C, V):
    return L * (3 * C * C + C * C + 2 * C * 4 * C) + V * C


def forward_flops_seq(L, C, V, T):
    return 2.0 * matmul_params(L, C, V) * T + sum(L * 4.0 * C * (t + 1) for t in range(T))


def timed(fn, warmup, repeats):
    """(median wall seconds, mean process CPU seconds) of fn over repeats after warmup calls"""
    for _ in range(warmup):
        fn()
    ts = []
    c0 = time.process_time()
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts), (time.process_time() - c0) / repeats


def run_mode(a, bf16):
    torch.manual_seed(1234)
    L, C, H, V, B, T = a.layers, a.embd, a.heads, a.vocab, a.batch, a.seq
    maxT = max(T, a.prompt + a.decode_steps)
    model = GPT2(L, C, H, V, maxT)
    ids = torch.randint(0, V, (B, T))
    tg = torch.roll(ids, -1, dims=1)
    ctx = (lambda: torch.autocast("cpu", dtype=torch.bfloat16)) if bf16 else contextlib.nullcontext
    out = {}
    toks = B * T
    fwd = forward_flops_seq(L, C, V, T) * B

    if "train" in a.only:
        opt = torch.optim.AdamW(model.parameters(), lr=3e-4, betas=(0.9, 0.95), eps=1e-8,
                                weight_decay=0.1)

        def step():
            with ctx():
                logits = model(ids)
                loss = F.cross_entropy(logits.float().view(-1, V), tg.view(-1))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()

        s, c = timed(step, a.warmup, a.repeats)
        out["train"] = {"tok_s": toks / s, "gflops": 3 * fwd / s / 1e9, "ms": s * 1e3, "cpu_ms": c * 1e3}

    if "score" in a.only:
        def score():
            with torch.no_grad(), ctx():
                logits = model(ids)
                F.cross_entropy(logits.float().view(-1, V), tg.view(-1), reduction="none")

        s, c = timed(score, a.warmup, a.repeats)
        out["score"] = {"tok_s": toks / s, "gflops": fwd / s / 1e9, "ms": s * 1e3, "cpu_ms": c * 1e3}

    if "decode" in a.only:
        P, D = a.prompt, a.decode_steps
        for name, nb in (("decode", B), ("decode_b1", 1)):
            if nb == 1 and B == 1:
                out[name] = out["decode"]
                continue
            prompt = ids[:nb, :P]
            dt = torch.bfloat16 if bf16 else torch.float32

            def decode():
                with torch.no_grad(), ctx():
                    caches = [(torch.zeros(nb, H, P + D, C // H, dtype=dt),
                               torch.zeros(nb, H, P + D, C // H, dtype=dt)) for _ in range(L)]
                    tok = model(prompt, caches, 0)[:, -1].argmax(-1, keepdim=True)
                    t0, c0 = time.perf_counter(), time.process_time()
                    for p in range(P, P + D):
                        tok = model(tok, caches, p)[:, -1].argmax(-1, keepdim=True)
                    return time.perf_counter() - t0, time.process_time() - c0

            decode()
            runs = [decode() for _ in range(a.repeats)]
            s = statistics.median(r[0] for r in runs)
            c = statistics.mean(r[1] for r in runs)
            flops = nb * sum(2.0 * matmul_params(L, C, V) + L * 4.0 * C * (p + 1) for p in range(P, P + D))
            out[name] = {"tok_s": nb * D / s, "gflops": flops / s / 1e9, "ms": s * 1e3 / D,
                         "cpu_ms": c * 1e3 / D}
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--layers", type=int, default=6)
    ap.add_argument("--embd", type=int, default=256)
    ap.add_argument("--heads", type=int, default=8)
    ap.add_argument("--vocab", type=int, default=4096)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--prompt", type=int, default=16)
    ap.add_argument("--decode-steps", type=int, default=32)
    ap.add_argument("--modes", default="fp32,bf16")
    ap.add_argument("--only", default="train,score,decode")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.zeros(2, 2) @ torch.zeros(2, 2)  # loads the BLAS that serves fp32 matmul
    blas = sorted({ln.split()[-1] for ln in open("/proc/self/maps") if "blas" in ln.split()[-1]})
    res = {"engine": "pytorch", "torch": torch.__version__, "threads": torch.get_num_threads(),
           "loadavg": os.getloadavg()[0], "blas": blas,
           "shape": {k: getattr(a, k) for k in ("layers", "embd", "heads", "vocab", "batch", "seq",
                                                 "prompt", "decode_steps")}}
    for mode in a.modes.split(","):
        res[mode] = run_mode(a, mode == "bf16")
    if a.json:
        print(json.dumps(res, indent=1))
    else:
        for mode in a.modes.split(","):
            print(f"PyTorch {torch.__version__} {mode}, {res['threads']} threads")
            for k, r in res[mode].items():
                print(f"  {k:<10} {r['tok_s']:10.1f} tok/s {r['gflops']:8.1f} GFLOP/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
