"""End-to-end goldens for the LLaVA-1.5 (`llava`) and LLaVA-OneVision (`llava_onevision`) families
(spec models.md §1.3, §2, §3.1, §3.4, §3.5, §4.2-§4.5, §5), for `Llava.forwardDebug`, `LlavaOnevision.forwardDebug`
and `deco model forward`.

Plain PyTorch (no transformers), tiny random models written out by hand in the llava-hf checkpoint formats:

llava_15/  model_type "llava" (LlavaForConditionalGeneration), OLD llava-hf key layout as published on the Hub
  (vision_tower.vision_model.*, multi_modal_projector.*, language_model.model.*, language_model.lm_head.weight),
  weights stored as F16 (the reference computes with the F16 values widened to fp32):
  CLIP (§1.3) -> hidden state vision_feature_layer (-2) -> drop CLS ("default") -> mlp2x_gelu on EVERY token
  (§3.1, no pooling) -> splice in place of image_token_index placeholders (§4.4) -> Llama (§4.2, GQA).
  inputs.safetensors: pixel_values [F,3,S,S] (F images) and input_ids [1,T] with F*N image placeholders.
llava_onevision/  model_type "llava_onevision", NEW key layout (model.vision_tower.vision_model.*,
  model.multi_modal_projector.*, model.language_model.*, model.image_newline; NO lm_head: tied embeddings), F32:
  SigLIP (§2: patch conv with bias, "valid" conv dropping the remainder pixels, no CLS, no pre-LN, tanh GELU,
  eps 1e-6, post_layernorm present but unused) -> hs[-1] "full" -> projector (§3.1) -> per frame view [g,g,Dt]
  -> bilinear interpolate to ceil(g/2) (align_corners False, §3.4/§3.5) -> frames concatenated -> + image_newline
  -> splice in place of video_token_index placeholders -> Qwen2 (§4.2: q/k/v biases, o_proj none, tied head,
  rope_theta 1e6, eps 1e-6).
  inputs.safetensors: pixel_values_videos [1,F,3,S,S] and input_ids [1,T] with F*M+1 video placeholders.

expected.safetensors per pack: vision_features, pooled_features, projected_features (shapes as documented in
DebugForward.java), logits [T,V], greedy_ids I64 [<=K] (greedy, ties to lowest id, full recompute per step, stop
after an EOS id which is kept).

Run: /usr/bin/python3 make_family_goldens.py
"""
import json
import math
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
import sthelper  # noqa: E402

torch.set_num_threads(1)
F_ = torch.nn.functional
NEW_TOKENS = 12


# ------------------------------------------------------------------------------------------------ tokenizers
def word_level(words, specials, placeholders, bos, lowercase=True):
    order = specials + words + placeholders
    assert len(set(order)) == len(order)
    vocab = {t: i for i, t in enumerate(order)}
    added = [dict(id=vocab[s], content=s, single_word=False, lstrip=False, rstrip=False, normalized=False,
                  special=True) for s in specials + placeholders]
    tok = {"version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
           "normalizer": {"type": "Lowercase"} if lowercase else None,
           "pre_tokenizer": {"type": "Whitespace"}, "decoder": None,
           "model": {"type": "WordLevel", "vocab": vocab, "unk_token": specials[0]}}
    if bos is not None:
        b = {"SpecialToken": {"id": bos, "type_id": 0}}
        tok["post_processor"] = {"type": "TemplateProcessing", "single": [b, {"Sequence": {"id": "A", "type_id": 0}}],
                                 "pair": [b, {"Sequence": {"id": "A", "type_id": 0}}, b,
                                          {"Sequence": {"id": "B", "type_id": 1}}],
                                 "special_tokens": {bos: {"id": bos, "ids": [vocab[bos]], "tokens": [bos]}}}
    else:
        tok["post_processor"] = None
    return vocab, tok


COMMON = ("a chat between curious user and an artificial intelligence assistant the gives helpful detailed "
          "polite answers to questions what is happening in this video image who does do color red blue green "
          "man woman dog cat car running walking sitting table kitchen street ball yes no you are system : . , ? ' "
          "s").split()


# ------------------------------------------------------------------------------------------------ shared math
def rnd_factory(seed):
    g = torch.Generator().manual_seed(seed)

    def rnd(*shape, std=0.2, mean=0.0):
        return mean + torch.randn(*shape, generator=g) * std
    return g, rnd


def vit_layer_weights(w, rnd, p, d, inter):
    for proj in ("k_proj", "v_proj", "q_proj", "out_proj"):
        w[p + "self_attn." + proj + ".weight"] = rnd(d, d, std=d ** -0.5)
        w[p + "self_attn." + proj + ".bias"] = rnd(d, std=0.1)
    for ln in ("layer_norm1", "layer_norm2"):
        w[p + ln + ".weight"] = rnd(d, std=0.1, mean=1.0)
        w[p + ln + ".bias"] = rnd(d, std=0.1)
    w[p + "mlp.fc1.weight"] = rnd(inter, d, std=d ** -0.5)
    w[p + "mlp.fc1.bias"] = rnd(inter, std=0.1)
    w[p + "mlp.fc2.weight"] = rnd(d, inter, std=inter ** -0.5)
    w[p + "mlp.fc2.bias"] = rnd(d, std=0.1)


def vit_layer(w, p, x, heads, eps, act):
    """Pre-LN ViT layer shared by CLIP and SigLIP (§1.3, §2)."""
    d = x.shape[-1]
    hd = d // heads

    def ln(t, name):
        return F_.layer_norm(t, (d,), w[name + ".weight"], w[name + ".bias"], eps)

    def lin(t, name):
        return F_.linear(t, w[name + ".weight"], w[name + ".bias"])
    r = x
    h = ln(x, p + "layer_norm1")
    T = h.shape[1]
    q = lin(h, p + "self_attn.q_proj").view(-1, T, heads, hd).transpose(1, 2)
    k = lin(h, p + "self_attn.k_proj").view(-1, T, heads, hd).transpose(1, 2)
    v = lin(h, p + "self_attn.v_proj").view(-1, T, heads, hd).transpose(1, 2)
    a = torch.softmax(q @ k.transpose(-1, -2) * hd ** -0.5, dim=-1)
    x = r + lin((a @ v).transpose(1, 2).reshape(-1, T, d), p + "self_attn.out_proj")
    r = x
    return r + lin(act(lin(ln(x, p + "layer_norm2"), p + "mlp.fc1")), p + "mlp.fc2")


def projector_weights(w, rnd, pp, dv, dt):
    w[pp + "linear_1.weight"] = rnd(dt, dv, std=dv ** -0.5)
    w[pp + "linear_1.bias"] = rnd(dt, std=0.1)
    w[pp + "linear_2.weight"] = rnd(dt, dt, std=dt ** -0.5)
    w[pp + "linear_2.bias"] = rnd(dt, std=0.1)


def project(w, pp, x):
    """multi_modal_projector (§3.1): linear_2(GELU_erf(linear_1(x)))."""
    h = F_.gelu(F_.linear(x, w[pp + "linear_1.weight"], w[pp + "linear_1.bias"]))
    return F_.linear(h, w[pp + "linear_2.weight"], w[pp + "linear_2.bias"])


def llm_weights(w, rnd, lp, text, vocab, bias, head_name):
    dt, nH, nKV, inter = (text[k] for k in ("hidden_size", "num_attention_heads", "num_key_value_heads",
                                            "intermediate_size"))
    hd = dt // nH
    w[lp + "embed_tokens.weight"] = rnd(vocab, dt, std=1.0)
    for l in range(text["num_hidden_layers"]):
        p = lp + "layers.%d." % l
        w[p + "input_layernorm.weight"] = rnd(dt, std=0.1, mean=1.0)
        w[p + "self_attn.q_proj.weight"] = rnd(nH * hd, dt, std=0.25)
        w[p + "self_attn.k_proj.weight"] = rnd(nKV * hd, dt, std=0.25)
        w[p + "self_attn.v_proj.weight"] = rnd(nKV * hd, dt, std=0.25)
        if bias:
            w[p + "self_attn.q_proj.bias"] = rnd(nH * hd, std=0.3)
            w[p + "self_attn.k_proj.bias"] = rnd(nKV * hd, std=0.3)
            w[p + "self_attn.v_proj.bias"] = rnd(nKV * hd, std=0.3)
        w[p + "self_attn.o_proj.weight"] = rnd(dt, nH * hd, std=0.25)
        w[p + "post_attention_layernorm.weight"] = rnd(dt, std=0.1, mean=1.0)
        w[p + "mlp.gate_proj.weight"] = rnd(inter, dt, std=0.25)
        w[p + "mlp.up_proj.weight"] = rnd(inter, dt, std=0.25)
        w[p + "mlp.down_proj.weight"] = rnd(dt, inter, std=0.25)
    w[lp + "norm.weight"] = rnd(dt, std=0.1, mean=1.0)
    if head_name is not None:
        w[head_name] = rnd(vocab, dt, std=0.5)


def llm_logits(w, lp, text, head, h):
    """Llama / Qwen2 decoder (§4.2): RMSNorm, half-split RoPE, GQA repeat_kv, finfo.min causal mask, fp32 softmax,
    SiLU MLP; q/k/v biases when present (Qwen2). h: spliced embeddings [T,Dt] -> logits [T,V]."""
    nH, nKV, dt = text["num_attention_heads"], text["num_key_value_heads"], text["hidden_size"]
    hd = dt // nH
    eps = text["rms_norm_eps"]
    T = h.shape[0]

    def rms(x, wt):
        return wt * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))

    def rot(x):
        return torch.cat((-x[..., hd // 2:], x[..., :hd // 2]), dim=-1)

    def lin(x, name):
        b = w.get(name + ".bias")
        return F_.linear(x, w[name + ".weight"], b)
    inv_freq = 1.0 / (text["rope_theta"] ** (torch.arange(0, hd, 2).float() / hd))
    freqs = torch.outer(torch.arange(T).float(), inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos(), emb.sin()
    mask = torch.full((T, T), torch.finfo(torch.float32).min).triu(1)
    rep = nH // nKV
    for l in range(text["num_hidden_layers"]):
        p = lp + "layers.%d." % l
        r = h
        x = rms(h, w[p + "input_layernorm.weight"])
        q = lin(x, p + "self_attn.q_proj").view(T, nH, hd).transpose(0, 1)
        k = lin(x, p + "self_attn.k_proj").view(T, nKV, hd).transpose(0, 1)
        v = lin(x, p + "self_attn.v_proj").view(T, nKV, hd).transpose(0, 1)
        q = q * cos + rot(q) * sin
        k = k * cos + rot(k) * sin
        k = k[:, None].expand(nKV, rep, T, hd).reshape(nH, T, hd)
        v = v[:, None].expand(nKV, rep, T, hd).reshape(nH, T, hd)
        a = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(hd) + mask, dim=-1)
        h = r + (a @ v).transpose(0, 1).reshape(T, nH * hd) @ w[p + "self_attn.o_proj.weight"].T
        r = h
        x = rms(h, w[p + "post_attention_layernorm.weight"])
        h = r + (F_.silu(x @ w[p + "mlp.gate_proj.weight"].T) * (x @ w[p + "mlp.up_proj.weight"].T)) \
            @ w[p + "mlp.down_proj.weight"].T
    return rms(h, w[lp + "norm.weight"]) @ w[head].T


def greedy_run(w, lp, text, head, ids, rows, placeholder, eos):
    """Splice (§4.4) + all prompt logits + greedy ids (§5, full recompute per step; generated ids never spliced)."""
    prompt_len = ids.shape[0]

    def splice(seq):
        e = w[lp + "embed_tokens.weight"][seq].clone()
        sel = seq == placeholder
        sel[prompt_len:] = False
        assert int(sel.sum()) == rows.shape[0], (int(sel.sum()), rows.shape)
        e[sel] = rows
        return e
    logits = llm_logits(w, lp, text, head, splice(ids))
    seq = ids.clone()
    greedy, margins = [], []
    for _ in range(NEW_TOKENS):
        last = llm_logits(w, lp, text, head, splice(seq))[-1]
        top = torch.topk(last, 2).values
        margins.append(float(top[0] - top[1]))
        nxt = int(torch.argmax(last))
        greedy.append(nxt)
        if nxt in eos:
            break
        seq = torch.cat([seq, torch.tensor([nxt])])
    return logits, torch.tensor(greedy, dtype=torch.long), margins


def write_pack(d, config, tok, w, dtype, extra_files=None):
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    with open(os.path.join(d, "tokenizer.json"), "w") as f:
        json.dump(tok, f, indent=2)
    for name, content in (extra_files or {}).items():
        with open(os.path.join(d, name), "w") as f:
            json.dump(content, f, indent=2)
    sthelper.save({k: v.to(dtype) for k, v in w.items()}, os.path.join(d, "model.safetensors"),
                  metadata={"format": "pt"})


def report(name, exp, margins, T):
    print(name, "greedy", exp["greedy_ids"].tolist(), "min top1-top2 margin %.4g" % min(margins),
          "max|logit| %.3g" % float(exp["logits"].abs().max()), "T", T)


# ------------------------------------------------------------------------------------------------ LLaVA-1.5
def llava_15():
    d = os.path.join(HERE, "llava_15")
    vocab, tok = word_level(COMMON, ["<unk>", "<s>", "</s>", "<pad>"], ["<image>"], "<s>")
    V = len(vocab)
    vision = dict(model_type="clip_vision_model", image_size=21, patch_size=7, hidden_size=16, intermediate_size=40,
                  num_hidden_layers=3, num_attention_heads=4, num_channels=3, hidden_act="quick_gelu",
                  layer_norm_eps=1e-5, projection_dim=16)
    text = dict(model_type="llama", vocab_size=V, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
                num_attention_heads=4, num_key_value_heads=2, hidden_act="silu", max_position_embeddings=96,
                rms_norm_eps=1e-5, rope_theta=10000.0, attention_bias=False, tie_word_embeddings=False,
                bos_token_id=1, eos_token_id=2, pad_token_id=3)
    g = vision["image_size"] // vision["patch_size"]
    n = g * g
    config = dict(model_type="llava", architectures=["LlavaForConditionalGeneration"], vision_config=vision,
                  text_config=text, vision_feature_layer=-2, vision_feature_select_strategy="default",
                  projector_hidden_act="gelu", image_token_index=vocab["<image>"], image_seq_length=n,
                  tie_word_embeddings=False)
    VP, PP, LP, HEAD = "vision_tower.vision_model.", "multi_modal_projector.", "language_model.model.", \
        "language_model.lm_head.weight"
    dv, dt, P = vision["hidden_size"], text["hidden_size"], vision["patch_size"]
    _, rnd = rnd_factory(15)
    w = {VP + "embeddings.class_embedding": rnd(dv, std=1.0),
         VP + "embeddings.patch_embedding.weight": rnd(dv, 3, P, P, std=0.08),
         VP + "embeddings.position_embedding.weight": rnd(n + 1, dv, std=0.5),
         VP + "pre_layrnorm.weight": rnd(dv, std=0.1, mean=1.0), VP + "pre_layrnorm.bias": rnd(dv, std=0.1)}
    for i in range(vision["num_hidden_layers"]):
        vit_layer_weights(w, rnd, VP + "encoder.layers.%d." % i, dv, vision["intermediate_size"])
    w[VP + "post_layernorm.weight"] = rnd(dv, std=0.1, mean=1.0)
    w[VP + "post_layernorm.bias"] = rnd(dv, std=0.1)
    projector_weights(w, rnd, PP, dv, dt)
    llm_weights(w, rnd, LP, text, V, False, HEAD)
    w = {k: v.to(torch.float16).float() for k, v in w.items()}  # the pack stores F16; compute with those values

    frames = 2
    g2 = torch.Generator().manual_seed(151)
    pixels = torch.randn(frames, 3, vision["image_size"], vision["image_size"], generator=g2)
    words = ("<s> a chat between a curious user and an artificial intelligence assistant . user :".split()
             + ["<image>"] * n + ["<image>"] * n + "what color is the car in this image ? assistant :".split())
    ids = torch.tensor([vocab[t] for t in words], dtype=torch.long)

    with torch.no_grad():
        x = F_.conv2d(pixels, w[VP + "embeddings.patch_embedding.weight"], stride=P).flatten(2).transpose(1, 2)
        x = torch.cat([w[VP + "embeddings.class_embedding"].expand(frames, 1, dv), x], 1) \
            + w[VP + "embeddings.position_embedding.weight"]
        x = F_.layer_norm(x, (dv,), w[VP + "pre_layrnorm.weight"], w[VP + "pre_layrnorm.bias"], 1e-5)
        idx = vision["num_hidden_layers"] + 1 - 2  # hidden_states[-2]
        for i in range(idx):
            x = vit_layer(w, VP + "encoder.layers.%d." % i, x, vision["num_attention_heads"], 1e-5,
                          lambda t: t * torch.sigmoid(1.702 * t))
        vf = x[:, 1:].contiguous()  # "default": drop CLS
        proj = project(w, PP, vf)  # every token, no pooling
        logits, greedy, margins = greedy_run(w, LP, text, HEAD, ids, proj.reshape(-1, dt), vocab["<image>"], {2})
    write_pack(d, config, tok, w, torch.float16)
    sthelper.save({"pixel_values": pixels, "input_ids": ids[None]}, os.path.join(d, "inputs.safetensors"))
    exp = dict(vision_features=vf, pooled_features=vf, projected_features=proj.contiguous(),
               logits=logits.contiguous(), greedy_ids=greedy)
    sthelper.save(exp, os.path.join(d, "expected.safetensors"), metadata={"new_tokens": str(NEW_TOKENS)})
    report("llava_15", exp, margins, ids.shape[0])


# ------------------------------------------------------------------------------------------------ OneVision
def llava_onevision():
    d = os.path.join(HERE, "llava_onevision")
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    vocab, tok = word_level(COMMON, specials, ["<image>", "<video>"], None, lowercase=False)
    V = len(vocab)
    # 37 px / patch 7: the "valid" conv covers 35 px (grid 5), the last 2 rows/cols are dropped; 5 -> 3 bilinear
    vision = dict(model_type="siglip_vision_model", image_size=37, patch_size=7, hidden_size=24, intermediate_size=40,
                  num_hidden_layers=2, num_attention_heads=3, num_channels=3, hidden_act="gelu_pytorch_tanh",
                  layer_norm_eps=1e-6)
    text = dict(model_type="qwen2", vocab_size=V, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
                num_attention_heads=4, num_key_value_heads=2, hidden_act="silu", max_position_embeddings=96,
                rms_norm_eps=1e-6, rope_theta=1000000.0, tie_word_embeddings=True, use_sliding_window=False,
                eos_token_id=vocab["<|im_end|>"])
    g = vision["image_size"] // vision["patch_size"]
    n = g * g
    pg = math.ceil(g / 2)
    m = pg * pg
    config = dict(model_type="llava_onevision", architectures=["LlavaOnevisionForConditionalGeneration"],
                  vision_config=vision, text_config=text, vision_feature_layer=-1,
                  vision_feature_select_strategy="full", projector_hidden_act="gelu",
                  image_token_index=vocab["<image>"], video_token_index=vocab["<video>"],
                  vision_aspect_ratio="anyres_max_9", tie_word_embeddings=True)
    gen_config = {"eos_token_id": [vocab["<|im_end|>"], vocab["<|endoftext|>"]]}
    VP, PP, LP = "model.vision_tower.vision_model.", "model.multi_modal_projector.", "model.language_model."
    dv, dt, P = vision["hidden_size"], text["hidden_size"], vision["patch_size"]
    _, rnd = rnd_factory(1006)
    w = {VP + "embeddings.patch_embedding.weight": rnd(dv, 3, P, P, std=0.08),
         VP + "embeddings.patch_embedding.bias": rnd(dv, std=0.1),
         VP + "embeddings.position_embedding.weight": rnd(n, dv, std=0.5)}
    for i in range(vision["num_hidden_layers"]):
        vit_layer_weights(w, rnd, VP + "encoder.layers.%d." % i, dv, vision["intermediate_size"])
    w[VP + "post_layernorm.weight"] = rnd(dv, std=0.1, mean=1.0)  # present in SigLIP, unused by OneVision
    w[VP + "post_layernorm.bias"] = rnd(dv, std=0.1)
    projector_weights(w, rnd, PP, dv, dt)
    llm_weights(w, rnd, LP, text, V, True, None)  # Qwen2: q/k/v biases, tied head (no lm_head tensor)
    w["model.image_newline"] = rnd(dt, std=1.0)
    head = LP + "embed_tokens.weight"

    frames = 2
    g2 = torch.Generator().manual_seed(4242)
    pixels = torch.randn(1, frames, 3, vision["image_size"], vision["image_size"], generator=g2)
    text_before = ["<|im_start|>", "system", "you", "are", "a", "helpful", "assistant", ".", "<|im_end|>",
                   "<|im_start|>", "user"]
    text_after = "what is happening in this video ?".split() + ["<|im_end|>", "<|im_start|>", "assistant"]
    ids = torch.tensor([vocab[t] for t in text_before + ["<video>"] * (frames * m + 1) + text_after],
                       dtype=torch.long)

    def gelu_tanh(t):
        return F_.gelu(t, approximate="tanh")
    with torch.no_grad():
        x = F_.conv2d(pixels[0], w[VP + "embeddings.patch_embedding.weight"],
                      w[VP + "embeddings.patch_embedding.bias"], stride=P).flatten(2).transpose(1, 2)
        x = x + w[VP + "embeddings.position_embedding.weight"]  # no CLS, no pre-LN
        for i in range(vision["num_hidden_layers"]):  # vision_feature_layer -1: the last layer's output
            x = vit_layer(w, VP + "encoder.layers.%d." % i, x, vision["num_attention_heads"], 1e-6, gelu_tanh)
        vf = x.contiguous()  # "full"
        proj = project(w, PP, vf)  # [F,N,Dt], projector BEFORE pooling
        grid = proj.view(frames, g, g, dt).permute(0, 3, 1, 2)
        pooled = F_.interpolate(grid, size=(pg, pg), mode="bilinear").permute(0, 2, 3, 1).reshape(frames, m, dt)
        rows = torch.cat([pooled.reshape(-1, dt), w["model.image_newline"][None]], 0)
        logits, greedy, margins = greedy_run(w, LP, text, head, ids, rows, vocab["<video>"],
                                             set(gen_config["eos_token_id"]))
    write_pack(d, config, tok, w, torch.float32, {"generation_config.json": gen_config})
    sthelper.save({"pixel_values_videos": pixels, "input_ids": ids[None]}, os.path.join(d, "inputs.safetensors"))
    exp = dict(vision_features=vf, pooled_features=pooled.contiguous(), projected_features=proj.contiguous(),
               logits=logits.contiguous(), greedy_ids=greedy)
    sthelper.save(exp, os.path.join(d, "expected.safetensors"), metadata={"new_tokens": str(NEW_TOKENS)})
    report("llava_onevision", exp, margins, ids.shape[0])


if __name__ == "__main__":
    llava_15()
    llava_onevision()
    for root, _, files in sorted(os.walk(HERE)):
        for fn in sorted(files):
            if not fn.endswith(".py") and not fn.endswith(".md"):
                print(os.path.relpath(os.path.join(root, fn), HERE), os.path.getsize(os.path.join(root, fn)))
