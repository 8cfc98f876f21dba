#!/usr/bin/python3
"""bench_lora_twin.py — PyTorch twin of the engine's LoRA training benchmark (bench/bench_lora.sh).

A GPT-2 whose base weights are BF16 and frozen, with PEFT's LoRA (h = W x + (alpha / r) B (A x),
A Kaiming-uniform, B zero, fp32 master weights) on the given modules, trained with AdamW on the
adapters only under torch.autocast('cpu', dtype=torch.bfloat16) — how PEFT users fine-tune on a CPU
with bf16. Prints training tokens/s (one line of JSON), the figure the engine's benchmark prints
beside it. Random weights and tokens: speed only.

    /usr/bin/python3 bench/bench_lora_twin.py [--layers 12 --embd 768 --heads 12 --vocab 50257]
        [--batch 4 --seq 64 --rank 16 --targets c_attn --steps 5 --threads 2]
"""
import argparse
import json
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class LoraLinear(nn.Module):
    """nn.Linear [out, in] frozen in bf16, plus fp32 LoRA A [r, in], B [out, r]."""

    def __init__(self, fin, fout, r, alpha, lora):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(fout, fin, dtype=torch.bfloat16) * 0.02, requires_grad=False)
        self.bias = nn.Parameter(torch.zeros(fout, dtype=torch.bfloat16), requires_grad=False)
        self.lora = lora
        if lora:
            self.lora_A = nn.Parameter(torch.empty(r, fin))
            nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))
            self.lora_B = nn.Parameter(torch.zeros(fout, r))
            self.scaling = alpha / r

    def forward(self, x):
        y = F.linear(x, self.weight, self.bias)
        if self.lora:
            y = y + F.linear(F.linear(x, self.lora_A), self.lora_B) * self.scaling
        return y


class Block(nn.Module):
    def __init__(self, C, H, r, alpha, targets):
        super().__init__()
        self.H = H
        self.ln_1, self.ln_2 = nn.LayerNorm(C), nn.LayerNorm(C)
        for p in list(self.ln_1.parameters()) + list(self.ln_2.parameters()):
            p.requires_grad_(False)
        self.c_attn = LoraLinear(C, 3 * C, r, alpha, "c_attn" in targets)
        self.attn_proj = LoraLinear(C, C, r, alpha, "c_proj" in targets)
        self.c_fc = LoraLinear(C, 4 * C, r, alpha, "c_fc" in targets)
        self.mlp_proj = LoraLinear(4 * C, C, r, alpha, "c_proj" in targets)

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(C, dim=2)
        q, k, v = (t.view(B, T, self.H, C // self.H).transpose(1, 2) for t in (q, k, v))
        w = (q @ k.transpose(-1, -2)) / math.sqrt(C // self.H)
        w = w.masked_fill(torch.triu(torch.ones(T, T, dtype=torch.bool), 1), float("-inf"))
        y = (F.softmax(w.float(), dim=-1).to(v.dtype) @ v).transpose(1, 2).reshape(B, T, C)
        x = x + self.attn_proj(y)
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


class GPT(nn.Module):
    def __init__(self, L, C, H, V, r, alpha, targets, maxT):
        super().__init__()
        self.wte = nn.Parameter(torch.randn(V, C, dtype=torch.bfloat16) * 0.02, requires_grad=False)
        self.wpe = nn.Parameter(torch.randn(maxT, C, dtype=torch.bfloat16) * 0.01, requires_grad=False)
        self.h = nn.ModuleList([Block(C, H, r, alpha, targets) for _ in range(L)])
        self.ln_f = nn.LayerNorm(C)
        for p in self.ln_f.parameters():
            p.requires_grad_(False)

    def forward(self, ids, targets):
        x = (self.wte[ids] + self.wpe[: ids.shape[1]][None]).float()  # the residual stream in fp32
        for b in self.h:
            x = b(x)
        logits = F.linear(self.ln_f(x), self.wte)
        return F.cross_entropy(logits.float().view(-1, logits.shape[-1]), targets.view(-1))


def main():
    ap = argparse.ArgumentParser()
    for k, v in (("layers", 12), ("embd", 768), ("heads", 12), ("vocab", 50257), ("batch", 4), ("seq", 64),
                 ("rank", 16), ("steps", 5), ("threads", 2)):
        ap.add_argument("--" + k, type=int, default=v)
    ap.add_argument("--targets", default="c_attn")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    targets = a.targets.split(",")
    m = GPT(a.layers, a.embd, a.heads, a.vocab, a.rank, 2 * a.rank, targets, a.seq)
    params = [p for p in m.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-4, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1)
    ids = torch.randint(0, a.vocab, (a.batch, a.seq + 1))
    x, y = ids[:, :-1], ids[:, 1:].contiguous()

    def step():
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            loss = m(x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        return loss.item()

    step()  # warm-up
    t0 = time.perf_counter()
    for _ in range(a.steps):
        loss = step()
    dt = time.perf_counter() - t0
    print(json.dumps({"impl": "pytorch", "torch": torch.__version__, "threads": a.threads, "layers": a.layers,
                      "embd": a.embd, "batch": a.batch, "seq": a.seq, "rank": a.rank, "targets": a.targets,
                      "adapter_params": sum(p.numel() for p in params), "loss": round(loss, 4),
                      "tokens_per_s": round(a.batch * a.seq * a.steps / dt, 1)}))


if __name__ == "__main__":
    main()
