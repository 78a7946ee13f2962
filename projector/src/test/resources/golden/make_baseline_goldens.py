#!/usr/bin/env python3
"""Golden fixtures for the compressive baselines of models.md §3.6 (QFormer, CAbstractor).

Plain PyTorch (Debian python3-torch; no transformers, timm or safetensors package). The
reference below is written from the module structure of HF Blip2QFormerModel (BLIP-2 ln_vision
+ query_tokens) and of Honeybee's CAbstractor with timm's RegStage/Bottleneck/SEModule/
LayerNorm2d, using torch.nn.functional ops (F.layer_norm, F.conv2d, F.adaptive_avg_pool2d,
F.gelu, F.silu) -- independent of the Java code, which uses matmul pooling and its own layout.

Weights are random and non-trivial (LayerNorm weights around 1 with random biases, all biases
non-zero) so every parameter influences the output. Files (baselines/ next to this script):

  qformer.safetensors     weights under their Java/HF names, "input" [2,9,16], "expected" [2,4,16]
                          Dv=16, hidden=16, heads=2, intermediate=32, layers=2, Q=4, freq=1
  qformer_freq2.safetensors  same sizes but 3 layers, crossAttentionFreq=2 (cross-attn in layers
                          0 and 2 only), Dv=12 (key/value weights [16,12]), "input" [2,5,12]
  cabstractor.safetensors weights, "input" [2,36,12], "expected" [2,9,24]
                          Dv=12, g=6, hidden=16, depth=2, o=3, Dout=24, se_ratio 0.25
                          (Dv != hidden: block net.0.b1 has a downsample shortcut and an SE
                          squeeze of round(12*0.25)=3, every other block round(16*0.25)=4)
  cabstractor_overlap.safetensors  Dv=hidden=16 (identity shortcuts), g=5 -> o=3 (overlapping
                          adaptive windows [0,2),[1,4),[3,5)), depth=1, Dout=8, "input" [2,25,16]

Deterministic (fixed seeds, one thread): rerunning rewrites byte-identical files.
Run: cd projector/src/test/resources/golden && /usr/bin/python3 make_baseline_goldens.py
"""
import json
import math
import os
import struct
from collections import OrderedDict

import torch
import torch.nn.functional as F

torch.set_num_threads(1)
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "baselines")


def save(path, tensors):
    """Hand-written safetensors (u64 LE header length, compact JSON header, raw LE F32)."""
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        t = t.detach().contiguous().cpu().to(torch.float32)
        data = t.numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    print(f"wrote {path} ({8 + len(h) + offset} bytes)")


class RandomWeights:
    """Draws non-trivial weights from one generator, in insertion order."""

    def __init__(self, seed):
        self.gen = torch.Generator().manual_seed(seed)
        self.w = OrderedDict()

    def normal(self, name, shape, std, mean=0.0):
        self.w[name] = torch.randn(*shape, generator=self.gen) * std + mean
        return self.w[name]

    def linear(self, prefix, out_f, in_f):
        self.normal(prefix + ".weight", (out_f, in_f), 1.0 / math.sqrt(in_f))
        self.normal(prefix + ".bias", (out_f,), 0.1)

    def norm(self, prefix, n):
        self.normal(prefix + ".weight", (n,), 0.2, mean=1.0)
        self.normal(prefix + ".bias", (n,), 0.1)


# ----------------------------------------------------------------------------- Q-Former

def qformer_weights(seed, dv, h, inter, layers, q, freq):
    r = RandomWeights(seed)
    r.norm("ln_vision", dv)
    r.normal("query_tokens", (1, q, h), 1.0)
    r.norm("layernorm", h)
    for i in range(layers):
        p = f"encoder.layer.{i}."
        blocks = [("attention.", h)] + ([("crossattention.", dv)] if i % freq == 0 else [])
        for name, kv_in in blocks:
            r.linear(p + name + "attention.query", h, h)
            r.linear(p + name + "attention.key", h, kv_in)
            r.linear(p + name + "attention.value", h, kv_in)
            r.linear(p + name + "output.dense", h, h)
            r.norm(p + name + "output.LayerNorm", h)
        r.linear(p + "intermediate_query.dense", inter, h)
        r.linear(p + "output_query.dense", h, inter)
        r.norm(p + "output_query.LayerNorm", h)
    return r.w


def mha(w, p, x, kv, heads, taps=None):
    """Blip2QFormerMultiHeadAttention + Blip2QFormerSelfOutput (post-LN), no mask.

    taps: a list that receives the post-softmax probabilities, kept for autograd (R-GAE, §7.1).
    """
    b, tq, h = x.shape
    hd = h // heads

    def split(t):  # transpose_for_scores: [B,T,H] -> [B,heads,T,hd]
        return t.view(t.shape[0], t.shape[1], heads, hd).permute(0, 2, 1, 3)

    q = split(F.linear(x, w[p + "attention.query.weight"], w[p + "attention.query.bias"]))
    k = split(F.linear(kv, w[p + "attention.key.weight"], w[p + "attention.key.bias"]))
    v = split(F.linear(kv, w[p + "attention.value.weight"], w[p + "attention.value.bias"]))
    scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(hd)
    probs = torch.softmax(scores, dim=-1)
    if taps is not None:
        probs.retain_grad()
        taps.append(probs)
    ctx = torch.matmul(probs, v).permute(0, 2, 1, 3).reshape(b, tq, h)
    out = F.linear(ctx, w[p + "output.dense.weight"], w[p + "output.dense.bias"])
    return F.layer_norm(out + x, (h,), w[p + "output.LayerNorm.weight"],
                        w[p + "output.LayerNorm.bias"], eps=1e-12)


def qformer_forward(w, v, h, heads, layers, freq, self_taps=None, cross_taps=None):
    dv = v.shape[-1]
    vis = F.layer_norm(v, (dv,), w["ln_vision.weight"], w["ln_vision.bias"], eps=1e-5)
    qt = w["query_tokens"].expand(v.shape[0], -1, -1)
    x = F.layer_norm(qt, (h,), w["layernorm.weight"], w["layernorm.bias"], eps=1e-12)
    for i in range(layers):
        p = f"encoder.layer.{i}."
        x = mha(w, p + "attention.", x, x, heads, self_taps)
        if i % freq == 0:
            x = mha(w, p + "crossattention.", x, vis, heads, cross_taps)
        up = F.gelu(F.linear(x, w[p + "intermediate_query.dense.weight"],
                             w[p + "intermediate_query.dense.bias"]))
        down = F.linear(up, w[p + "output_query.dense.weight"], w[p + "output_query.dense.bias"])
        x = F.layer_norm(down + x, (h,), w[p + "output_query.LayerNorm.weight"],
                         w[p + "output_query.LayerNorm.bias"], eps=1e-12)
    return x


def qformer_case(path, seed, dv, h, heads, inter, layers, q, freq, p_tokens):
    w = qformer_weights(seed, dv, h, inter, layers, q, freq)
    gen = torch.Generator().manual_seed(seed + 1)
    v = torch.randn(2, p_tokens, dv, generator=gen) * 2.0 + 0.5
    y = qformer_forward(w, v, h, heads, layers, freq)
    out = OrderedDict(w)
    out["input"] = v
    out["expected"] = y
    save(path, out)


# ----------------------------------------------------------------------------- C-Abstractor

def cabs_weights(seed, dv, g, hidden, depth, dout, se_ratio):
    r = RandomWeights(seed)
    r.normal("pos_emb", (1, g * g, dv), 0.5)
    for stage, s_in in (("net.0.", dv), ("net.2.", hidden)):
        for j in range(1, depth + 1):
            cin = s_in if j == 1 else hidden
            rd = int(round(cin * se_ratio))  # timm Bottleneck: se_channels from in_chs
            p = f"{stage}b{j}."
            r.normal(p + "conv1.conv.weight", (hidden, cin, 1, 1), 1.0 / math.sqrt(cin))
            r.norm(p + "conv1.bn", hidden)
            r.normal(p + "conv2.conv.weight", (hidden, 1, 3, 3), 1.0 / 3.0)
            r.norm(p + "conv2.bn", hidden)
            r.normal(p + "se.fc1.weight", (rd, hidden, 1, 1), 1.0 / math.sqrt(hidden))
            r.normal(p + "se.fc1.bias", (rd,), 0.1)
            r.normal(p + "se.fc2.weight", (hidden, rd, 1, 1), 1.0 / math.sqrt(rd))
            r.normal(p + "se.fc2.bias", (hidden,), 0.1)
            r.normal(p + "conv3.conv.weight", (hidden, hidden, 1, 1), 1.0 / math.sqrt(hidden))
            r.norm(p + "conv3.bn", hidden)
            if cin != hidden:
                r.normal(p + "downsample.conv.weight", (hidden, cin, 1, 1), 1.0 / math.sqrt(cin))
                r.norm(p + "downsample.bn", hidden)
    r.linear("readout.0", dout, hidden)
    r.linear("readout.2", dout, dout)
    return r.w


def layer_norm_2d(x, w, b):
    """timm LayerNorm2d: permute to NHWC, layer_norm over C (eps 1e-6), permute back."""
    x = x.permute(0, 2, 3, 1)
    x = F.layer_norm(x, (x.shape[-1],), w, b, eps=1e-6)
    return x.permute(0, 3, 1, 2)


def conv_norm(w, p, x, groups=1, padding=0, act=True):
    """timm ConvNormAct: conv (no bias) -> LayerNorm2d -> SiLU (optional)."""
    y = F.conv2d(x, w[p + "conv.weight"], None, stride=1, padding=padding, groups=groups)
    y = layer_norm_2d(y, w[p + "bn.weight"], w[p + "bn.bias"])
    return F.silu(y) if act else y


def bottleneck(w, p, x):
    cout = w[p + "conv1.conv.weight"].shape[0]
    y = conv_norm(w, p + "conv1.", x)
    y = conv_norm(w, p + "conv2.", y, groups=cout, padding=1)
    # timm SEModule: mean over hw, fc1 (bias), act (SiLU), fc2 (bias), sigmoid gate
    s = y.mean((2, 3), keepdim=True)
    s = F.silu(F.conv2d(s, w[p + "se.fc1.weight"], w[p + "se.fc1.bias"]))
    s = torch.sigmoid(F.conv2d(s, w[p + "se.fc2.weight"], w[p + "se.fc2.bias"]))
    y = y * s
    y = conv_norm(w, p + "conv3.", y, act=False)
    sc = conv_norm(w, p + "downsample.", x, act=False) if p + "downsample.conv.weight" in w else x
    return F.silu(y + sc)


def cabs_forward(w, v, g, depth, o):
    b, _, d = v.shape
    x = v + w["pos_emb"]
    x = x.transpose(1, 2).reshape(b, d, g, g)  # rearrange "b (h w) d -> b d h w"
    for j in range(1, depth + 1):
        x = bottleneck(w, f"net.0.b{j}.", x)
    x = F.adaptive_avg_pool2d(x, (o, o))
    for j in range(1, depth + 1):
        x = bottleneck(w, f"net.2.b{j}.", x)
    x = x.flatten(2).transpose(1, 2)  # "b d h w -> b (h w) d"
    x = F.linear(x, w["readout.0.weight"], w["readout.0.bias"])
    x = F.silu(x)
    return F.linear(x, w["readout.2.weight"], w["readout.2.bias"])


def cabs_case(path, seed, dv, g, hidden, depth, o, dout):
    w = cabs_weights(seed, dv, g, hidden, depth, dout, 0.25)
    gen = torch.Generator().manual_seed(seed + 1)
    v = torch.randn(2, g * g, dv, generator=gen) * 2.0 + 0.5
    y = cabs_forward(w, v, g, depth, o)
    out = OrderedDict(w)
    out["input"] = v
    out["expected"] = y
    save(path, out)


if __name__ == "__main__":
    print("torch", torch.__version__)
    os.makedirs(OUT, exist_ok=True)
    qformer_case(os.path.join(OUT, "qformer.safetensors"), 2024,
                 dv=16, h=16, heads=2, inter=32, layers=2, q=4, freq=1, p_tokens=9)
    qformer_case(os.path.join(OUT, "qformer_freq2.safetensors"), 2025,
                 dv=12, h=16, heads=2, inter=32, layers=3, q=4, freq=2, p_tokens=5)
    cabs_case(os.path.join(OUT, "cabstractor.safetensors"), 2026,
              dv=12, g=6, hidden=16, depth=2, o=3, dout=24)
    cabs_case(os.path.join(OUT, "cabstractor_overlap.safetensors"), 2027,
              dv=16, g=5, hidden=16, depth=1, o=3, dout=8)
