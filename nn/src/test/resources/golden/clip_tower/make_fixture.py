"""Golden fixture for ClipVisionTowerTest (spec §1.3, §8 "CLIP embeddings + layers").

Builds a tiny random CLIP vision model directly in plain torch (no transformers import), following
spec §1.3: patch conv (no bias) -> flatten(2).transpose(1,2) -> prepend class_embedding -> add
position_embedding -> pre_layrnorm -> layers [LN1 -> MHA (q/k/v/out with bias, softmax(q k^T * d^-0.5))
-> residual; LN2 -> fc1 -> quick_gelu -> fc2 -> residual]. post_layernorm exists but is unused.
Writes weights.safetensors (HF names, prefix "vision_model.", F16) and expected.safetensors:
  pixels [B,3,S,S]; hs_i [B,1+N,D] for i = 0..L (all hidden states, CLS included).
Run: /usr/bin/python3 make_fixture.py   (torch 1.13, deterministic)
"""
import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
import sthelper  # noqa: E402

torch.manual_seed(20240607)
torch.set_num_threads(1)

CFG = dict(image_size=28, patch_size=7, hidden_size=32, num_attention_heads=4, num_hidden_layers=3,
           intermediate_size=64, layer_norm_eps=1e-5, hidden_act="quick_gelu", num_channels=3)
S, P, D, H, L, I = (CFG[k] for k in ("image_size", "patch_size", "hidden_size", "num_attention_heads",
                                     "num_hidden_layers", "intermediate_size"))
G = S // P
N = G * G
B = 2
EPS = CFG["layer_norm_eps"]


def rnd(*shape, std=0.2):
    return torch.randn(*shape) * std


w = {}
pre = "vision_model."
w[pre + "embeddings.class_embedding"] = rnd(D, std=1.0)
w[pre + "embeddings.patch_embedding.weight"] = rnd(D, 3, P, P, std=0.05)
w[pre + "embeddings.position_embedding.weight"] = rnd(N + 1, D, std=0.5)
w[pre + "pre_layrnorm.weight"] = 1 + rnd(D, std=0.1)
w[pre + "pre_layrnorm.bias"] = rnd(D, std=0.1)
for i in range(L):
    lp = pre + "encoder.layers.%d." % i
    for ln in ("layer_norm1", "layer_norm2"):
        w[lp + ln + ".weight"] = 1 + rnd(D, std=0.1)
        w[lp + ln + ".bias"] = rnd(D, std=0.1)
    for proj in ("q_proj", "k_proj", "v_proj", "out_proj"):
        w[lp + "self_attn." + proj + ".weight"] = rnd(D, D, std=D ** -0.5)
        w[lp + "self_attn." + proj + ".bias"] = rnd(D, std=0.1)
    w[lp + "mlp.fc1.weight"] = rnd(I, D, std=D ** -0.5)
    w[lp + "mlp.fc1.bias"] = rnd(I, std=0.1)
    w[lp + "mlp.fc2.weight"] = rnd(D, I, std=I ** -0.5)
    w[lp + "mlp.fc2.bias"] = rnd(D, std=0.1)
w[pre + "post_layernorm.weight"] = 1 + rnd(D, std=0.1)
w[pre + "post_layernorm.bias"] = rnd(D, std=0.1)
# stored as F16 to keep the fixture small (and to exercise widening); the reference uses the widened values
w = {k: v.half().float() for k, v in w.items()}

F = torch.nn.functional


def ln(x, name):
    return F.layer_norm(x, (D,), w[name + ".weight"], w[name + ".bias"], EPS)


def lin(x, name):
    return F.linear(x, w[name + ".weight"], w[name + ".bias"])


def forward(pixels):
    x = F.conv2d(pixels, w[pre + "embeddings.patch_embedding.weight"], stride=P)  # [B,D,G,G]
    x = x.flatten(2).transpose(1, 2)  # [B,N,D], token p = row*G + col
    cls = w[pre + "embeddings.class_embedding"].expand(pixels.shape[0], 1, D)
    x = torch.cat([cls, x], dim=1) + w[pre + "embeddings.position_embedding.weight"]
    x = ln(x, pre + "pre_layrnorm")
    hs = [x]
    for i in range(L):
        lp = pre + "encoder.layers.%d." % i
        r = x
        h = ln(x, lp + "layer_norm1")
        T = h.shape[1]
        q = lin(h, lp + "self_attn.q_proj").view(-1, T, H, D // H).transpose(1, 2)
        k = lin(h, lp + "self_attn.k_proj").view(-1, T, H, D // H).transpose(1, 2)
        v = lin(h, lp + "self_attn.v_proj").view(-1, T, H, D // H).transpose(1, 2)
        a = torch.softmax(q @ k.transpose(-1, -2) * (D // H) ** -0.5, dim=-1)
        o = (a @ v).transpose(1, 2).reshape(-1, T, D)
        x = r + lin(o, lp + "self_attn.out_proj")
        r = x
        h = lin(ln(x, lp + "layer_norm2"), lp + "mlp.fc1")
        h = h * torch.sigmoid(1.702 * h)  # quick_gelu
        x = r + lin(h, lp + "mlp.fc2")
        hs.append(x)
    return hs


pixels = torch.randn(B, 3, S, S)
with torch.no_grad():
    hs = forward(pixels)
sthelper.save({k: v.half() for k, v in w.items()}, os.path.join(HERE, "weights.safetensors"), metadata={"config": json.dumps(CFG)})
exp = {"pixels": pixels}
for i, h in enumerate(hs):
    exp["hs_%d" % i] = h.contiguous()
sthelper.save(exp, os.path.join(HERE, "expected.safetensors"), metadata={"config": json.dumps(CFG)})
for f in sorted(os.listdir(HERE)):
    print(f, os.path.getsize(os.path.join(HERE, f)))
