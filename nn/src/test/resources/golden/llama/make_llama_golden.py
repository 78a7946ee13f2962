"""Golden reference for io.decostream.nn.llama.LlamaModel (spec models.md §4.2, §4.3, §5).

Plain PyTorch (no transformers): a tiny random Llama written out by hand per §4.2 (RMSNorm fp32,
half-split RoPE, GQA repeat_kv, additive causal mask with finfo.min, explicit fp32 softmax, SiLU MLP).
Weights are drawn in fp32, rounded to fp16 and stored as F16 (keeps the fixture small); the reference
computes with the fp16-rounded values widened to fp32, which is what the Java loader sees.

Outputs, one safetensors file per model (weights under HF names with prefix "model." + "lm_head.weight"):
  input_ids [T] I64, logits [T, V] F32 (full forward), greedy [8] I64 (greedy continuation, full recompute
  per step, no EOS), config as __metadata__.

Models:
  llama_golden.safetensors      hidden 64, 2 layers, 4 heads, 2 kv heads, vocab 100, theta 1e4, no bias, untied
  llama_bias_golden.safetensors hidden 64, 2 layers, 4 heads, 1 kv head, vocab 100, theta 1e6, q/k/v bias (Qwen2
                                style), tied lm head, rope_scaling linear factor 2 (positions / factor)

Run: /usr/bin/python3 make_llama_golden.py   (from this directory)
"""
import json
import math
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import sthelper  # noqa: E402

torch.set_num_threads(1)


def rms_norm(x, w, eps):
    x32 = x.float()
    var = x32.pow(2).mean(-1, keepdim=True)
    return w * (x32 * torch.rsqrt(var + eps))


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def rope_cos_sin(positions, hd, theta, factor):
    inv_freq = 1.0 / (theta ** (torch.arange(0, hd, 2).float() / hd))
    t = positions.float() / factor
    freqs = torch.outer(t, inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos(), emb.sin()


def forward(cfg, W, ids):
    """Full forward over ids (no cache), logits [T, V]."""
    D, nH, nKV = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd = D // nH
    T = ids.shape[0]
    h = W["model.embed_tokens.weight"][ids]
    cos, sin = rope_cos_sin(torch.arange(T), hd, cfg["rope_theta"], cfg["factor"])
    mask = torch.full((T, T), torch.finfo(torch.float32).min).triu(1)
    for l in range(cfg["num_hidden_layers"]):
        p = "model.layers.%d." % l
        r = h
        x = rms_norm(h, W[p + "input_layernorm.weight"], cfg["rms_norm_eps"])
        q = x @ W[p + "self_attn.q_proj.weight"].T
        k = x @ W[p + "self_attn.k_proj.weight"].T
        v = x @ W[p + "self_attn.v_proj.weight"].T
        if cfg["attention_bias"]:
            q = q + W[p + "self_attn.q_proj.bias"]
            k = k + W[p + "self_attn.k_proj.bias"]
            v = v + W[p + "self_attn.v_proj.bias"]
        q = q.view(T, nH, hd).transpose(0, 1)
        k = k.view(T, nKV, hd).transpose(0, 1)
        v = v.view(T, nKV, hd).transpose(0, 1)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        rep = nH // nKV
        k = k[:, None].expand(nKV, rep, T, hd).reshape(nH, T, hd)  # repeat_kv
        v = v[:, None].expand(nKV, rep, T, hd).reshape(nH, T, hd)
        s = q @ k.transpose(1, 2) / math.sqrt(hd) + mask
        a = torch.softmax(s.float(), dim=-1)
        o = (a @ v).transpose(0, 1).reshape(T, nH * hd)
        h = r + o @ W[p + "self_attn.o_proj.weight"].T
        r = h
        x = rms_norm(h, W[p + "post_attention_layernorm.weight"], cfg["rms_norm_eps"])
        g = x @ W[p + "mlp.gate_proj.weight"].T
        u = x @ W[p + "mlp.up_proj.weight"].T
        h = r + (torch.nn.functional.silu(g) * u) @ W[p + "mlp.down_proj.weight"].T
    h = rms_norm(h, W["model.norm.weight"], cfg["rms_norm_eps"])
    head = W["model.embed_tokens.weight"] if cfg["tie_word_embeddings"] else W["lm_head.weight"]
    return h @ head.T


def make(path, cfg, seed, T=12, steps=8):
    g = torch.Generator().manual_seed(seed)
    D, nH, nKV, I, V = (cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"],
                        cfg["intermediate_size"], cfg["vocab_size"])
    hd = D // nH

    def rnd(*shape, std=0.15, mean=0.0):
        # rounded to fp16 AFTER the offset, so the reference uses exactly the stored values
        return (mean + torch.randn(*shape, generator=g) * std).half().float()

    W = {"model.embed_tokens.weight": rnd(V, D, std=1.0)}
    for l in range(cfg["num_hidden_layers"]):
        p = "model.layers.%d." % l
        W[p + "input_layernorm.weight"] = rnd(D, std=0.1, mean=1.0)
        W[p + "self_attn.q_proj.weight"] = rnd(nH * hd, D)
        W[p + "self_attn.k_proj.weight"] = rnd(nKV * hd, D)
        W[p + "self_attn.v_proj.weight"] = rnd(nKV * hd, D)
        if cfg["attention_bias"]:
            W[p + "self_attn.q_proj.bias"] = rnd(nH * hd, std=0.3)
            W[p + "self_attn.k_proj.bias"] = rnd(nKV * hd, std=0.3)
            W[p + "self_attn.v_proj.bias"] = rnd(nKV * hd, std=0.3)
        W[p + "self_attn.o_proj.weight"] = rnd(D, nH * hd)
        W[p + "post_attention_layernorm.weight"] = rnd(D, std=0.1, mean=1.0)
        W[p + "mlp.gate_proj.weight"] = rnd(I, D)
        W[p + "mlp.up_proj.weight"] = rnd(I, D)
        W[p + "mlp.down_proj.weight"] = rnd(D, I)
    W["model.norm.weight"] = rnd(D, std=0.1, mean=1.0)
    if not cfg["tie_word_embeddings"]:
        W["lm_head.weight"] = rnd(V, D, std=0.3)

    ids = torch.randint(0, V, (T,), generator=g)
    with torch.no_grad():
        logits = forward(cfg, W, ids)
        seq = ids.clone()
        greedy = []
        margins = []
        for _ in range(steps):
            last = forward(cfg, W, seq)[-1]
            top = torch.topk(last, 2).values
            margins.append(float(top[0] - top[1]))
            nxt = int(torch.argmax(last))
            greedy.append(nxt)
            seq = torch.cat([seq, torch.tensor([nxt])])
    print(path, "greedy", greedy, "min top1-top2 margin %.4g" % min(margins),
          "max |logit| %.3g" % float(logits.abs().max()))
    out = {k: v.half() for k, v in W.items()}
    out["input_ids"] = ids.long()
    out["logits"] = logits.float()
    out["greedy"] = torch.tensor(greedy, dtype=torch.long)
    meta = dict(cfg)
    del meta["factor"]
    if cfg["factor"] != 1.0:
        meta["rope_scaling"] = {"type": "linear", "factor": cfg["factor"]}
    sthelper.save(out, path, metadata={"config": json.dumps(meta)})


BASE = dict(model_type="llama", vocab_size=100, hidden_size=64, intermediate_size=96, num_hidden_layers=2,
            num_attention_heads=4, num_key_value_heads=2, hidden_act="silu", max_position_embeddings=64,
            rms_norm_eps=1e-5, rope_theta=10000.0, attention_bias=False, tie_word_embeddings=False,
            bos_token_id=1, eos_token_id=2, factor=1.0)

if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    make(os.path.join(here, "llama_golden.safetensors"), BASE, seed=1234)
    bias = dict(BASE, num_key_value_heads=1, rope_theta=1e6, attention_bias=True, tie_word_embeddings=True,
                factor=2.0)
    make(os.path.join(here, "llama_bias_golden.safetensors"), bias, seed=99)
