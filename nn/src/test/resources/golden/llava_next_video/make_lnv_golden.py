"""End-to-end golden for LlavaNextVideo.forwardDebug and `deco model forward` (spec models.md §1.3, §3.1, §3.3,
§4.2-§4.4, §5).

Plain PyTorch (no transformers): a tiny random llava_next_video model written out by hand:
  CLIP vision tower (§1.3: patch conv without bias, CLS + position embeddings, pre_layrnorm, pre-LN layers with
  quick_gelu MLP) -> hidden state vision_feature_layer (-2) -> drop CLS ("default")
  -> LlavaNextVideoPooler (§3.3): view [F,g,g,Dv] -> NCHW -> AvgPool2d / MaxPool2d(kernel=stride, stride=stride)
     -> flatten(2).transpose(1,2)  (pooling BEFORE the projector)
  -> multi_modal_projector (§3.1): linear_2(gelu_erf(linear_1(x)))
  -> splice (§4.4): the rows replace the video placeholders of input_ids in order (masked_scatter)
  -> Llama (§4.2): RMSNorm, half-split RoPE, GQA repeat_kv, finfo.min causal mask, fp32 softmax, SiLU MLP.
Greedy (§5): argmax (ties to the lowest id), full recompute per step, K = 12 new tokens; like HF generate it
stops after emitting an EOS id (the EOS id is kept as the last token).

Writes, per variant directory (the Java loader reads each as a model pack):
  config.json (model_type llava_next_video, vision clip_vision_model, text llama with GQA),
  tokenizer.json (WordLevel, same format as io.decostream.nn.tokenizer.WordLevelTokenizerJson),
  model.safetensors in the NEW llava-hf key layout (model.vision_tower.vision_model.*,
  model.multi_modal_projector.*, model.language_model.*, lm_head.weight)  [or 2 shards + index json],
  expected.safetensors: vision_features [F,N,Dv], pooled_features [F,M,Dv], projected_features [F,M,Dt],
  logits [T,V], greedy_ids [K] I64.
Variants: f32/ (F32 weights), bf16/ (the same weights rounded to BF16; the reference widens them to fp32),
sharded/ (the F32 weights in 2 shards + model.safetensors.index.json).
Shared: inputs.safetensors with pixel_values_videos [1,F,3,S,S] F32 (already normalised) and input_ids [1,T] I64
(placeholders already expanded to F*M copies of video_token_index).

Run (from anywhere): /usr/bin/python3 make_lnv_golden.py
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

FRAMES = 2
NEW_TOKENS = 12

# ---------------------------------------------------------------- tokenizer (WordLevel, ids as in the Java writer)
WORDS = ("a chat between curious user and an artificial intelligence assistant the gives helpful detailed "
         "polite answers to questions what is happening in this video who does do color red blue green "
         "man woman dog cat car running walking sitting table kitchen street ball yes no : . , ? ' s").split()
SPECIALS = ["<unk>", "<s>", "</s>", "<pad>"]
VOCAB_ORDER = SPECIALS + WORDS + ["<video>", "<image>"]
assert len(set(VOCAB_ORDER)) == len(VOCAB_ORDER)
VOCAB = {t: i for i, t in enumerate(VOCAB_ORDER)}
V = len(VOCAB)


def tokenizer_json():
    added = [dict(id=VOCAB[s], content=s, single_word=False, lstrip=False, rstrip=False, normalized=False,
                  special=True) for s in SPECIALS + ["<video>", "<image>"]]
    bos = {"SpecialToken": {"id": "<s>", "type_id": 0}}
    return {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
        "normalizer": {"type": "Lowercase"}, "pre_tokenizer": {"type": "Whitespace"},
        "post_processor": {"type": "TemplateProcessing",
                           "single": [bos, {"Sequence": {"id": "A", "type_id": 0}}],
                           "pair": [bos, {"Sequence": {"id": "A", "type_id": 0}},
                                    {"SpecialToken": {"id": "<s>", "type_id": 1}},
                                    {"Sequence": {"id": "B", "type_id": 1}}],
                           "special_tokens": {"<s>": {"id": "<s>", "ids": [VOCAB["<s>"]], "tokens": ["<s>"]}}},
        "decoder": None,
        "model": {"type": "WordLevel", "vocab": VOCAB, "unk_token": "<unk>"},
    }


# ---------------------------------------------------------------- config
VISION = dict(model_type="clip_vision_model", image_size=28, patch_size=7, hidden_size=16, intermediate_size=32,
              num_hidden_layers=2, num_attention_heads=2, num_channels=3, hidden_act="quick_gelu",
              layer_norm_eps=1e-5, projection_dim=16)
TEXT = dict(model_type="llama", vocab_size=V, hidden_size=32, intermediate_size=32, num_hidden_layers=2,
            num_attention_heads=4, num_key_value_heads=2, hidden_act="silu", max_position_embeddings=64,
            rms_norm_eps=1e-5, rope_theta=10000.0, attention_bias=False, tie_word_embeddings=False,
            bos_token_id=1, eos_token_id=2, pad_token_id=3)
CONFIG = dict(model_type="llava_next_video", architectures=["LlavaNextVideoForConditionalGeneration"],
              vision_config=VISION, text_config=TEXT, vision_feature_layer=-2,
              vision_feature_select_strategy="default", projector_hidden_act="gelu", multimodal_projector_bias=True,
              spatial_pool_mode="average", spatial_pool_stride=2, video_token_index=VOCAB["<video>"],
              image_token_index=VOCAB["<image>"], tie_word_embeddings=False)

S, P, DV, IV, LV, HV = (VISION[k] for k in ("image_size", "patch_size", "hidden_size", "intermediate_size",
                                            "num_hidden_layers", "num_attention_heads"))
G = S // P
N = G * G
STRIDE = CONFIG["spatial_pool_stride"]
M = (G // STRIDE) ** 2
DT = TEXT["hidden_size"]

VP = "model.vision_tower.vision_model."
PP = "model.multi_modal_projector."
LP = "model.language_model."


def make_weights(seed):
    g = torch.Generator().manual_seed(seed)

    def rnd(*shape, std=0.2, mean=0.0):
        return mean + torch.randn(*shape, generator=g) * std

    w = {}
    w[VP + "embeddings.class_embedding"] = rnd(DV, std=1.0)
    w[VP + "embeddings.patch_embedding.weight"] = rnd(DV, 3, P, P, std=0.08)
    w[VP + "embeddings.position_embedding.weight"] = rnd(N + 1, DV, std=0.5)
    w[VP + "pre_layrnorm.weight"] = rnd(DV, std=0.1, mean=1.0)
    w[VP + "pre_layrnorm.bias"] = rnd(DV, std=0.1)
    for i in range(LV):
        p = VP + "encoder.layers.%d." % i
        for proj in ("k_proj", "v_proj", "q_proj", "out_proj"):
            w[p + "self_attn." + proj + ".weight"] = rnd(DV, DV, std=DV ** -0.5)
            w[p + "self_attn." + proj + ".bias"] = rnd(DV, std=0.1)
        w[p + "layer_norm1.weight"] = rnd(DV, std=0.1, mean=1.0)
        w[p + "layer_norm1.bias"] = rnd(DV, std=0.1)
        w[p + "mlp.fc1.weight"] = rnd(IV, DV, std=DV ** -0.5)
        w[p + "mlp.fc1.bias"] = rnd(IV, std=0.1)
        w[p + "mlp.fc2.weight"] = rnd(DV, IV, std=IV ** -0.5)
        w[p + "mlp.fc2.bias"] = rnd(DV, std=0.1)
        w[p + "layer_norm2.weight"] = rnd(DV, std=0.1, mean=1.0)
        w[p + "layer_norm2.bias"] = rnd(DV, std=0.1)
    w[VP + "post_layernorm.weight"] = rnd(DV, std=0.1, mean=1.0)  # unused by LLaVA (CLS pooled output only)
    w[VP + "post_layernorm.bias"] = rnd(DV, std=0.1)
    w[PP + "linear_1.weight"] = rnd(DT, DV, std=DV ** -0.5)
    w[PP + "linear_1.bias"] = rnd(DT, std=0.1)
    w[PP + "linear_2.weight"] = rnd(DT, DT, std=DT ** -0.5)
    w[PP + "linear_2.bias"] = rnd(DT, std=0.1)
    nH, nKV, I = TEXT["num_attention_heads"], TEXT["num_key_value_heads"], TEXT["intermediate_size"]
    hd = DT // nH
    w[LP + "embed_tokens.weight"] = rnd(V, DT, std=1.0)
    for l in range(TEXT["num_hidden_layers"]):
        p = LP + "layers.%d." % l
        w[p + "input_layernorm.weight"] = rnd(DT, std=0.1, mean=1.0)
        w[p + "self_attn.q_proj.weight"] = rnd(nH * hd, DT, std=0.25)
        w[p + "self_attn.k_proj.weight"] = rnd(nKV * hd, DT, std=0.25)
        w[p + "self_attn.v_proj.weight"] = rnd(nKV * hd, DT, std=0.25)
        w[p + "self_attn.o_proj.weight"] = rnd(DT, nH * hd, std=0.25)
        w[p + "post_attention_layernorm.weight"] = rnd(DT, std=0.1, mean=1.0)
        w[p + "mlp.gate_proj.weight"] = rnd(I, DT, std=0.25)
        w[p + "mlp.up_proj.weight"] = rnd(I, DT, std=0.25)
        w[p + "mlp.down_proj.weight"] = rnd(DT, I, std=0.25)
    w[LP + "norm.weight"] = rnd(DT, std=0.1, mean=1.0)
    w["lm_head.weight"] = rnd(V, DT, std=0.5)
    return w


# ---------------------------------------------------------------- model math
def clip_features(w, pixels):
    """pixels [F,3,S,S] -> hidden state index vision_feature_layer, CLS dropped: [F,N,DV] (§1.3)."""
    layers = CONFIG["vision_feature_layer"]
    idx = LV + 1 + layers if layers < 0 else layers
    eps = VISION["layer_norm_eps"]

    def ln(x, name):
        return F_.layer_norm(x, (DV,), w[name + ".weight"], w[name + ".bias"], eps)

    def lin(x, name):
        return F_.linear(x, w[name + ".weight"], w[name + ".bias"])

    x = F_.conv2d(pixels, w[VP + "embeddings.patch_embedding.weight"], stride=P).flatten(2).transpose(1, 2)
    cls = w[VP + "embeddings.class_embedding"].expand(pixels.shape[0], 1, DV)
    x = torch.cat([cls, x], dim=1) + w[VP + "embeddings.position_embedding.weight"]
    x = ln(x, VP + "pre_layrnorm")  # hidden_states[0]
    hd = DV // HV
    for i in range(idx):
        p = VP + "encoder.layers.%d." % i
        r = x
        h = ln(x, p + "layer_norm1")
        T = h.shape[1]
        q = lin(h, p + "self_attn.q_proj").view(-1, T, HV, hd).transpose(1, 2)
        k = lin(h, p + "self_attn.k_proj").view(-1, T, HV, hd).transpose(1, 2)
        v = lin(h, p + "self_attn.v_proj").view(-1, T, HV, hd).transpose(1, 2)
        a = torch.softmax(q @ k.transpose(-1, -2) * hd ** -0.5, dim=-1)
        x = r + lin((a @ v).transpose(1, 2).reshape(-1, T, DV), p + "self_attn.out_proj")
        r = x
        h = lin(ln(x, p + "layer_norm2"), p + "mlp.fc1")
        h = h * torch.sigmoid(1.702 * h)  # quick_gelu
        x = r + lin(h, p + "mlp.fc2")
    return x[:, 1:]  # "default" strategy drops CLS


def pool(feats, mode):
    """HF LlavaNextVideoPooler (§3.3): [F,N,DV] -> [F,M,DV]."""
    f = feats.view(feats.shape[0], G, G, DV).permute(0, 3, 1, 2)
    f = F_.avg_pool2d(f, STRIDE, STRIDE) if mode == "average" else F_.max_pool2d(f, STRIDE, STRIDE)
    return f.flatten(2).transpose(1, 2).contiguous()


def project(w, x):
    """multi_modal_projector (§3.1): linear_2(GELU_erf(linear_1(x)))."""
    h = F_.gelu(F_.linear(x, w[PP + "linear_1.weight"], w[PP + "linear_1.bias"]))  # exact erf GELU
    return F_.linear(h, w[PP + "linear_2.weight"], w[PP + "linear_2.bias"])


def rms_norm(x, wt):
    return wt * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + TEXT["rms_norm_eps"]))


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def llama_logits(w, h):
    """h: spliced input embeddings [T,DT] -> logits [T,V] (§4.2, full causal forward)."""
    nH, nKV = TEXT["num_attention_heads"], TEXT["num_key_value_heads"]
    hd = DT // nH
    T = h.shape[0]
    inv_freq = 1.0 / (TEXT["rope_theta"] ** (torch.arange(0, hd, 2).float() / hd))
    freqs = torch.outer(torch.arange(T).float(), inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos(), emb.sin()
    mask = torch.full((T, T), torch.finfo(torch.float32).min).triu(1)
    for l in range(TEXT["num_hidden_layers"]):
        p = LP + "layers.%d." % l
        r = h
        x = rms_norm(h, w[p + "input_layernorm.weight"])
        q = (x @ w[p + "self_attn.q_proj.weight"].T).view(T, nH, hd).transpose(0, 1)
        k = (x @ w[p + "self_attn.k_proj.weight"].T).view(T, nKV, hd).transpose(0, 1)
        v = (x @ w[p + "self_attn.v_proj.weight"].T).view(T, nKV, hd).transpose(0, 1)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        rep = nH // nKV
        k = k[:, None].expand(nKV, rep, T, hd).reshape(nH, T, hd)  # repeat_kv (GQA)
        v = v[:, None].expand(nKV, rep, T, hd).reshape(nH, T, hd)
        a = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(hd) + mask, dim=-1)
        h = r + (a @ v).transpose(0, 1).reshape(T, nH * hd) @ w[p + "self_attn.o_proj.weight"].T
        r = h
        x = rms_norm(h, w[p + "post_attention_layernorm.weight"])
        h = r + (F_.silu(x @ w[p + "mlp.gate_proj.weight"].T) * (x @ w[p + "mlp.up_proj.weight"].T)) \
            @ w[p + "mlp.down_proj.weight"].T
    return rms_norm(h, w[LP + "norm.weight"]) @ w["lm_head.weight"].T


def splice(w, ids, rows, prompt_len):
    """§4.4: token embeddings with the prompt's video placeholder rows replaced, in order, by the projected rows.
    Generated ids are never spliced (HF passes pixel values only at prefill; later steps embed the id)."""
    e = w[LP + "embed_tokens.weight"][ids].clone()
    sel = ids == CONFIG["video_token_index"]
    sel[prompt_len:] = False
    assert int(sel.sum()) == rows.shape[0]
    e[sel] = rows
    return e


def run(w, pixels, ids, mode):
    with torch.no_grad():
        vf = clip_features(w, pixels[0])
        pooled = pool(vf, mode)
        proj = project(w, pooled)
        rows = proj.reshape(-1, DT)  # frames in time order, no separators (§3.3)
        logits = llama_logits(w, splice(w, ids[0], rows, ids.shape[1]))
        seq = ids[0].clone()
        greedy, margins = [], []
        for _ in range(NEW_TOKENS):
            last = llama_logits(w, splice(w, seq, rows, ids.shape[1]))[-1]
            top = torch.topk(last, 2).values
            margins.append(float(top[0] - top[1]))
            nxt = int(torch.argmax(last))
            greedy.append(nxt)
            if nxt == TEXT["eos_token_id"]:
                break  # HF generate: the EOS id is emitted, then generation ends
            seq = torch.cat([seq, torch.tensor([nxt])])
    return dict(vision_features=vf.contiguous(), pooled_features=pooled, projected_features=proj.contiguous(),
                logits=logits.contiguous(), greedy_ids=torch.tensor(greedy, dtype=torch.long)), margins


def write_pack(d, w, dtype, shards=1):
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(CONFIG, f, indent=2)
    with open(os.path.join(d, "tokenizer.json"), "w") as f:
        json.dump(tokenizer_json(), f, indent=2)
    tensors = {k: v.to(dtype) for k, v in w.items()}
    if shards == 1:
        sthelper.save(tensors, os.path.join(d, "model.safetensors"), metadata={"format": "pt"})
        return
    names = list(tensors)
    cut = len(names) // 2
    weight_map, total = {}, 0
    for i, part in enumerate((names[:cut], names[cut:])):
        fn = "model-%05d-of-%05d.safetensors" % (i + 1, 2)
        sthelper.save({n: tensors[n] for n in part}, os.path.join(d, fn), metadata={"format": "pt"})
        for n in part:
            weight_map[n] = fn
            total += tensors[n].numel() * tensors[n].element_size()
    with open(os.path.join(d, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)


def main():
    g = torch.Generator().manual_seed(7)
    pixels = torch.randn(1, FRAMES, 3, S, S, generator=g)
    text_before = "<s> a chat between a curious user and an artificial intelligence assistant . user :".split()
    text_after = "what is the man does in this video ? assistant :".split()
    vid = ["<video>"] * (FRAMES * M)
    ids = torch.tensor([[VOCAB[t] for t in text_before + vid + text_after]], dtype=torch.long)
    assert ids.shape[1] + NEW_TOKENS <= TEXT["max_position_embeddings"]
    sthelper.save({"pixel_values_videos": pixels, "input_ids": ids}, os.path.join(HERE, "inputs.safetensors"))

    w32 = make_weights(2024)
    variants = [("f32", torch.float32, 1), ("bf16", torch.bfloat16, 1), ("sharded", torch.float32, 2)]
    for name, dtype, shards in variants:
        d = os.path.join(HERE, name)
        w = {k: v.to(dtype).float() for k, v in w32.items()}  # the reference uses the stored values, widened
        write_pack(d, w, dtype, shards)
        exp, margins = run(w, pixels, ids, CONFIG["spatial_pool_mode"])
        sthelper.save(exp, os.path.join(d, "expected.safetensors"), metadata={"new_tokens": str(NEW_TOKENS)})
        print(name, "greedy", exp["greedy_ids"].tolist(), "min top1-top2 margin %.4g" % min(margins),
              "max|logit| %.3g" % float(exp["logits"].abs().max()), "T", ids.shape[1])
    for root, _, files in sorted(os.walk(HERE)):
        for fn in sorted(files):
            if not fn.endswith(".py") and not fn.endswith(".md"):
                print(os.path.relpath(os.path.join(root, fn), HERE), os.path.getsize(os.path.join(root, fn)))


if __name__ == "__main__":
    main()
