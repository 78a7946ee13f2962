#!/usr/bin/python3
"""Plain-PyTorch eager reference for the DeCo Stream model benchmark (io.decostream.lab.bench.ModelBench).

Reads the SAME random-weight safetensors files that the Java side wrote (SafeTensorsWriter), parsing the
format by hand (8-byte little-endian header length, JSON header, raw little-endian data), and times:
  phase "vit":   CLIP vision tower up to hidden state `feature_layer` (spec §1.3, hand-written attention)
  phase "llama": Llama prefill (one forward of `prompt` tokens), greedy decode with a preallocated KV cache
                 (spec §4.2/§4.3), and the DeCo prefill of `frames` x tokens-per-frame random embeddings.
Prints one JSON line (times in ms, peak RSS in KiB from resource.getrusage) as its last line.
Usage: torch_reference.py <config.json> <phase>
"""
import json
import resource
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F


def read_safetensors(path):
    """Hand-written safetensors reader (spec §6): F32 only (the benchmark writes F32)."""
    out = {}
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n).decode("utf-8"))
    base = 8 + n
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":
            raise ValueError(f"{name}: only F32 is supported, got {info['dtype']}")
        start, end = info["data_offsets"]
        arr = np.fromfile(path, dtype="<f4", count=(end - start) // 4, offset=base + start)
        out[name] = torch.from_numpy(arr).reshape(info["shape"])
    return out


def timed(fn, warmups, repeats):
    for _ in range(warmups):
        fn()
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000.0)
    return samples


# ---------------------------------------------------------------- CLIP vision tower (spec §1.3)
def clip_forward(w, c, pixels, upto):
    d, p, heads = c["hidden"], c["patch"], c["heads"]
    hd = d // heads
    pre = "vision_model."
    b = pixels.shape[0]
    x = F.conv2d(pixels, w[pre + "embeddings.patch_embedding.weight"], stride=p)  # [B,D,G,G]
    x = x.flatten(2).transpose(1, 2)  # token p = row*G + col
    cls = w[pre + "embeddings.class_embedding"].expand(b, 1, d)
    x = torch.cat([cls, x], 1) + w[pre + "embeddings.position_embedding.weight"]
    x = F.layer_norm(x, (d,), w[pre + "pre_layrnorm.weight"], w[pre + "pre_layrnorm.bias"], c["eps"])
    t = x.shape[1]
    for l in range(upto):
        k = f"{pre}encoder.layers.{l}."
        h = F.layer_norm(x, (d,), w[k + "layer_norm1.weight"], w[k + "layer_norm1.bias"], c["eps"])
        q = F.linear(h, w[k + "self_attn.q_proj.weight"], w[k + "self_attn.q_proj.bias"]).view(b, t, heads, hd).transpose(1, 2)
        kk = F.linear(h, w[k + "self_attn.k_proj.weight"], w[k + "self_attn.k_proj.bias"]).view(b, t, heads, hd).transpose(1, 2)
        v = F.linear(h, w[k + "self_attn.v_proj.weight"], w[k + "self_attn.v_proj.bias"]).view(b, t, heads, hd).transpose(1, 2)
        a = torch.softmax(torch.matmul(q, kk.transpose(2, 3)) * hd ** -0.5, dim=-1)  # explicit attention, no SDPA
        o = torch.matmul(a, v).transpose(1, 2).reshape(b, t, d)
        x = x + F.linear(o, w[k + "self_attn.out_proj.weight"], w[k + "self_attn.out_proj.bias"])
        h = F.layer_norm(x, (d,), w[k + "layer_norm2.weight"], w[k + "layer_norm2.bias"], c["eps"])
        h = F.linear(h, w[k + "mlp.fc1.weight"], w[k + "mlp.fc1.bias"])
        h = h * torch.sigmoid(1.702 * h)  # quick_gelu
        x = x + F.linear(h, w[k + "mlp.fc2.weight"], w[k + "mlp.fc2.bias"])
    return x[:, 1:, :]  # LLaVA "default" strategy drops CLS


# ---------------------------------------------------------------- Llama with KV cache (spec §4.2, §4.3)
class Llama:
    def __init__(self, w, c):
        self.w, self.c = w, c
        self.d, self.heads, self.kv = c["hidden"], c["heads"], c["kv_heads"]
        self.hd = self.d // self.heads
        self.layers = c["layers"]
        inv = 1.0 / (c["theta"] ** (torch.arange(0, self.hd, 2, dtype=torch.float32) / self.hd))
        freqs = torch.outer(torch.arange(c["context"], dtype=torch.float32), inv)
        emb = torch.cat([freqs, freqs], -1)
        self.cos, self.sin = emb.cos(), emb.sin()
        self.embed = w["model.embed_tokens.weight"]
        self.head = w.get("lm_head.weight", self.embed)

    def new_cache(self, cap):
        return {"k": [torch.zeros(self.kv, cap, self.hd) for _ in range(self.layers)],
                "v": [torch.zeros(self.kv, cap, self.hd) for _ in range(self.layers)], "len": 0}

    def rms(self, x, wt):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.c["eps"]) * wt

    @staticmethod
    def rot(x):
        h = x.shape[-1] // 2
        return torch.cat([-x[..., h:], x[..., :h]], -1)

    def forward_last(self, x, cache):
        t = x.shape[0]
        past = cache["len"]
        total = past + t
        cos, sin = self.cos[past:total], self.sin[past:total]
        mask = None
        if t > 1:
            mask = torch.full((t, total), torch.finfo(torch.float32).min).triu(past + 1)
        rep = self.heads // self.kv
        for l in range(self.layers):
            k_ = f"model.layers.{l}."
            w = self.w
            h = self.rms(x, w[k_ + "input_layernorm.weight"])
            q = F.linear(h, w[k_ + "self_attn.q_proj.weight"]).view(t, self.heads, self.hd).transpose(0, 1)
            k = F.linear(h, w[k_ + "self_attn.k_proj.weight"]).view(t, self.kv, self.hd).transpose(0, 1)
            v = F.linear(h, w[k_ + "self_attn.v_proj.weight"]).view(t, self.kv, self.hd).transpose(0, 1)
            q = q * cos + self.rot(q) * sin
            k = k * cos + self.rot(k) * sin
            cache["k"][l][:, past:total] = k
            cache["v"][l][:, past:total] = v
            keys, vals = cache["k"][l][:, :total], cache["v"][l][:, :total]
            if rep > 1:
                keys = keys.repeat_interleave(rep, 0)
                vals = vals.repeat_interleave(rep, 0)
            s = torch.matmul(q, keys.transpose(1, 2)) / (self.hd ** 0.5)
            if mask is not None:
                s = s + mask
            o = torch.matmul(torch.softmax(s, -1), vals).transpose(0, 1).reshape(t, self.d)
            x = x + F.linear(o, w[k_ + "self_attn.o_proj.weight"])
            h = self.rms(x, w[k_ + "post_attention_layernorm.weight"])
            g = F.linear(h, w[k_ + "mlp.gate_proj.weight"])
            x = x + F.linear(g * torch.sigmoid(g) * F.linear(h, w[k_ + "mlp.up_proj.weight"]),
                             w[k_ + "mlp.down_proj.weight"])
        cache["len"] = total
        return F.linear(self.rms(x[-1:], self.w["model.norm.weight"]), self.head).reshape(-1)


def vm_hwm_kb():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def main():
    cfg = json.load(open(sys.argv[1]))
    phase = sys.argv[2]
    torch.set_num_threads(cfg["threads"])
    torch.manual_seed(cfg["seed"])
    res = {"phase": phase, "threads": torch.get_num_threads(), "torch": torch.__version__}
    with torch.no_grad():
        if phase == "vit":
            c = cfg["vision"]
            w = read_safetensors(cfg["vision_file"])
            px = torch.randn(1, 3, c["image"], c["image"])
            res["vit_ms"] = timed(lambda: clip_forward(w, c, px, c["feature_layer"]), cfg["warmups"], cfg["repeats"])
        elif phase == "llama":
            c = cfg["text"]
            m = Llama(read_safetensors(cfg["text_file"]), c)
            g = torch.Generator().manual_seed(cfg["seed"])
            ids = torch.randint(0, c["vocab"], (cfg["prompt"],), generator=g)
            cap = cfg["prompt"] + cfg["decode"]

            def prefill():
                cache = m.new_cache(cap)
                return cache, m.forward_last(m.embed[ids], cache)

            res["prefill_ms"] = timed(prefill, cfg["warmups"], cfg["repeats"])

            def decode():
                cache, logits = prefill()
                t0 = time.perf_counter()
                for _ in range(cfg["decode"]):
                    nxt = int(torch.argmax(logits))
                    logits = m.forward_last(m.embed[nxt:nxt + 1], cache)
                return (time.perf_counter() - t0) * 1000.0

            decode()  # warm-up
            res["decode_ms"] = [decode() for _ in range(cfg["repeats"])]
            for key, tpf in (("deco_compressed_ms", cfg["deco_tokens_per_frame"]), ("deco_full_ms", cfg["full_tokens_per_frame"])):
                n = cfg["frames"] * tpf
                vis = torch.randn(n, c["hidden"], generator=g) * 0.02
                warm = cfg["warmups"] if key == "deco_compressed_ms" else 0
                res[key] = timed(lambda: m.forward_last(vis, m.new_cache(n)), warm, cfg["deco_repeats"])
        else:
            raise SystemExit(f"unknown phase {phase}")
    # Peak RSS: VmHWM of this process image. ru_maxrss is reported too, but on Linux it carries over the
    # parent's (the JVM's) peak across fork+exec, so it overstates this script when launched from Java.
    res["ru_maxrss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    res["peak_rss_kb"] = vm_hwm_kb()
    print(json.dumps(res))


if __name__ == "__main__":
    main()
