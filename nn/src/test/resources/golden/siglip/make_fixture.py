"""Golden fixtures for SiglipVisionTowerTest and SiglipImageProcessorTest (spec §2, §8).

Tower: a tiny random SigLIP vision model built directly in plain torch (no transformers import), following
spec §2: patch conv (WITH bias, stride = kernel) -> flatten(2).transpose(1,2) -> + position_embedding (no CLS,
no pre-LN) -> layers [LN1 -> MHA (q/k/v/out with bias, softmax(q k^T * d^-0.5)) -> residual;
LN2 -> fc1 -> gelu(approximate="tanh") -> fc2 -> residual]. post_layernorm and the MAP head (head.*) exist in
the checkpoint but are not applied (LLaVA-OneVision takes hs[-1], before post_layernorm).
  weights.safetensors   HF names under "vision_model." (F16), config JSON in __metadata__
  expected.safetensors  pixels [B,3,S,S]; hs_i [B,N,D] for i = 0..L (all hidden states);
                        post_ln [B,N,D] = post_layernorm(hs_L) (only to show it differs from hs[-1])
Preprocessing (HF SiglipImageProcessor slow path re-implemented with PIL + numpy): PIL resize((W, H), BICUBIC)
on uint8 RGB straight to S x S (no crop), float64(u8) * (1/255) -> float32, (x - 0.5) / 0.5 in float32, CHW.
  <name>.png            input image (odd sizes: a downscale 53x41 and an upscale 13x19, to 30x30)
  preprocess.safetensors <name>_resized U8 [S,S,3] (after the PIL resize), <name>_pixels F32 [3,S,S]
Run: /usr/bin/python3 make_fixture.py   (torch 1.13, Pillow 9.4; deterministic)
"""
import json
import os
import sys

import numpy as np
import torch
from PIL import Image, ImageDraw

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
import sthelper  # noqa: E402

torch.manual_seed(20240611)
torch.set_num_threads(1)

CFG = dict(model_type="siglip_vision_model", image_size=30, patch_size=7, hidden_size=32, num_attention_heads=4,
           num_hidden_layers=3, intermediate_size=64, layer_norm_eps=1e-6, hidden_act="gelu_pytorch_tanh",
           num_channels=3)
S, P, D, H, L, I = (CFG[k] for k in ("image_size", "patch_size", "hidden_size", "num_attention_heads",
                                     "num_hidden_layers", "intermediate_size"))
G = S // P  # 30 // 7 = 4: like 384 / 14 the image is not a multiple of the patch (the valid conv drops 2 px)
N = G * G
B = 2
EPS = CFG["layer_norm_eps"]


def rnd(*shape, std=0.2):
    return torch.randn(*shape) * std


w = {}
pre = "vision_model."
w[pre + "embeddings.patch_embedding.weight"] = rnd(D, 3, P, P, std=0.05)
w[pre + "embeddings.patch_embedding.bias"] = rnd(D, std=0.3)
w[pre + "embeddings.position_embedding.weight"] = rnd(N, D, std=0.5)
for i in range(L):
    lp = pre + "encoder.layers.%d." % i
    for ln in ("layer_norm1", "layer_norm2"):
        w[lp + ln + ".weight"] = 1 + rnd(D, std=0.1)
        w[lp + ln + ".bias"] = rnd(D, std=0.1)
    for proj in ("q_proj", "k_proj", "v_proj", "out_proj"):
        w[lp + "self_attn." + proj + ".weight"] = rnd(D, D, std=D ** -0.5)
        w[lp + "self_attn." + proj + ".bias"] = rnd(D, std=0.1)
    w[lp + "mlp.fc1.weight"] = rnd(I, D, std=D ** -0.5 * 1.5)  # pre-activations ~N(0, 2): the tanh term matters
    w[lp + "mlp.fc1.bias"] = rnd(I, std=0.1)
    w[lp + "mlp.fc2.weight"] = rnd(D, I, std=I ** -0.5)
    w[lp + "mlp.fc2.bias"] = rnd(D, std=0.1)
w[pre + "post_layernorm.weight"] = 1 + rnd(D, std=0.1)
w[pre + "post_layernorm.bias"] = rnd(D, std=0.1)
# MAP head of the original SigLIP checkpoint (SiglipMultiheadAttentionPoolingHead): bound, never applied
w[pre + "head.probe"] = rnd(1, 1, D)
w[pre + "head.attention.in_proj_weight"] = rnd(3 * D, D)
w[pre + "head.attention.in_proj_bias"] = rnd(3 * D)
w[pre + "head.attention.out_proj.weight"] = rnd(D, D)
w[pre + "head.attention.out_proj.bias"] = rnd(D)
w[pre + "head.layernorm.weight"] = 1 + rnd(D, std=0.1)
w[pre + "head.layernorm.bias"] = rnd(D)
w[pre + "head.mlp.fc1.weight"] = rnd(I, D)
w[pre + "head.mlp.fc1.bias"] = rnd(I)
w[pre + "head.mlp.fc2.weight"] = rnd(D, I)
w[pre + "head.mlp.fc2.bias"] = rnd(D)
# stored as F16 to keep the fixture small (and to exercise widening); the reference uses the widened values
w = {k: v.half().float() for k, v in w.items()}

F = torch.nn.functional


def ln(x, name):
    return F.layer_norm(x, (D,), w[name + ".weight"], w[name + ".bias"], EPS)


def lin(x, name):
    return F.linear(x, w[name + ".weight"], w[name + ".bias"])


def forward(pixels):
    x = F.conv2d(pixels, w[pre + "embeddings.patch_embedding.weight"], w[pre + "embeddings.patch_embedding.bias"],
                 stride=P)  # [B,D,G,G], padding "valid"
    x = x.flatten(2).transpose(1, 2)  # [B,N,D], token p = row*G + col
    x = x + w[pre + "embeddings.position_embedding.weight"]  # position_ids = arange(N); no CLS, no pre-LN
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
        h = F.gelu(h, approximate="tanh")  # gelu_pytorch_tanh
        x = r + lin(h, lp + "mlp.fc2")
        hs.append(x)
    return hs


def tower():
    pixels = torch.randn(B, 3, S, S)
    with torch.no_grad():
        hs = forward(pixels)
        # the explicit formula of §2 equals torch's tanh GELU
        z = torch.linspace(-6, 6, 1001)
        explicit = 0.5 * z * (1 + torch.tanh((2 / torch.pi) ** 0.5 * (z + 0.044715 * z ** 3)))
        assert torch.allclose(explicit, F.gelu(z, approximate="tanh"), atol=1e-6, rtol=0)
        post = ln(hs[-1], pre + "post_layernorm")
    sthelper.save({k: v.half() for k, v in w.items()}, os.path.join(HERE, "weights.safetensors"),
                  metadata={"config": json.dumps(CFG)})
    exp = {"pixels": pixels}
    for i, h in enumerate(hs):
        exp["hs_%d" % i] = h.contiguous()
    exp["post_ln"] = post.contiguous()
    sthelper.save(exp, os.path.join(HERE, "expected.safetensors"), metadata={"config": json.dumps(CFG)})


PRE_CASES = [("odd_down", 53, 41), ("odd_up", 13, 19)]


def make_image(w_, h_, seed):
    rng = np.random.RandomState(seed)
    y, x = np.mgrid[0:h_, 0:w_].astype(np.float64)
    img = np.zeros((h_, w_, 3), dtype=np.uint8)
    img[..., 0] = np.clip(255 * x / (w_ - 1), 0, 255).astype(np.uint8)
    img[..., 1] = np.clip(255 * y / (h_ - 1), 0, 255).astype(np.uint8)
    img[..., 2] = (96 + 64 * np.sin(x / 5.0 + y / 7.0)).astype(np.uint8)
    pil = Image.fromarray(img, "RGB")
    d = ImageDraw.Draw(pil)
    for _ in range(3):  # hard black/white edges exercise the bicubic overshoot clamping
        x0, y0 = rng.randint(0, w_ - 3), rng.randint(0, h_ - 3)
        x1, y1 = x0 + rng.randint(2, w_ // 2 + 3), y0 + rng.randint(2, h_ // 2 + 3)
        d.rectangle([x0, y0, x1, y1], fill=tuple(int(c) for c in rng.choice([0, 255], size=3)))
    return pil


def preprocess():
    mean = np.array([0.5, 0.5, 0.5], dtype=np.float32)
    std = np.array([0.5, 0.5, 0.5], dtype=np.float32)
    out = {}
    for k, (name, w_, h_) in enumerate(PRE_CASES):
        pil = make_image(w_, h_, 7 + k)
        pil.save(os.path.join(HERE, name + ".png"))
        resized = np.array(pil.resize((S, S), resample=Image.BICUBIC))  # [S,S,3] uint8
        x = (resized.astype(np.float64) * (1 / 255)).astype(np.float32)  # HF rescale
        x = ((x - mean) / std).astype(np.float32)  # HF normalize (float32)
        out[name + "_resized"] = torch.from_numpy(resized.copy())
        out[name + "_pixels"] = torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))
    sthelper.save(out, os.path.join(HERE, "preprocess.safetensors"),
                  metadata={"cases": json.dumps([[n, w_, h_] for n, w_, h_ in PRE_CASES]), "size": str(S)})


if __name__ == "__main__":
    tower()
    preprocess()
    for f in sorted(os.listdir(HERE)):
        print(f, os.path.getsize(os.path.join(HERE, f)))
