#!/usr/bin/env python3
"""Plain-PyTorch reference for the Q-Former's Query-to-Patch (spec models.md §7.4, §7.6; DeCo Fig. 3), end to end.

Independent of the Java taps (AttentionRecorder's zero-leaf trick, §7.1): the Q-Former's reference forward
(projector's make_baseline_goldens.py, written from HF Blip2QFormerModel) keeps every self- and cross-attention's
post-softmax probabilities with retain_grad(); autograd back-propagates a fixed linear read-out of the output
(y = sum(out * probe)); per attention Abar = mean_heads(relu(A.grad * A)) (§7.2); the §7.4 rule
(nn's make_rgae_golden.cross_rule) folds them layer by layer from R_qq = I, R_qi = 0 with R_ii = I and the identity
proposal (R̂_ii = I), as QFormerRelevance does for the comparison's Fig. 3 maps.

Case: Dv 12, hidden 16, 2 heads, FFN 32, 3 layers with cross-attention in layers 0 and 2 only (freq 2, so a layer
without cross-attention is crossed), Q = 4 queries, P = 9 patches of one frame. Weights are scaled up (matrices
x3, queries x4) so the attention is far from uniform and every entry of the map differs.

File qformer_rgae.safetensors: the weights under their Java/HF names, "input" [1,9,12], "probe" [1,4,16],
"abar_qq" [3,4,4], "abar_qi" [2,4,9] (layers 0 and 2), "query_to_patch" [4,9].
Run: cd lab/src/test/resources/golden/qformer_rgae && /usr/bin/python3 make_qformer_rgae_golden.py
"""
import importlib.util
import os
from collections import OrderedDict

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..", "..", "..", "..", "..")


def module(name, path):
    spec = importlib.util.spec_from_file_location(name, os.path.join(ROOT, path))
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    return m


baselines = module("baselines", "projector/src/test/resources/golden/make_baseline_goldens.py")
rgae = module("rgae", "nn/src/test/resources/golden/rgae/make_rgae_golden.py")
torch.set_num_threads(1)

DV, H, HEADS, INTER, LAYERS, Q, FREQ, P = 12, 16, 2, 32, 3, 4, 2, 9


def head_mean(a):
    """§7.2: mean over heads of relu(dy/dA ⊙ A), [1, heads, rows, cols] -> [rows, cols]."""
    return (a.grad * a).clamp(min=0).mean(dim=1)[0]


def main():
    w = baselines.qformer_weights(2030, DV, H, INTER, LAYERS, Q, FREQ)
    for k in list(w):
        if k.endswith(".weight") and w[k].dim() == 2:
            w[k] = w[k] * 3
    w["query_tokens"] = w["query_tokens"] * 4
    gen = torch.Generator().manual_seed(2031)
    v = torch.randn(1, P, DV, generator=gen) * 2.0 + 0.5
    probe = torch.randn(1, Q, H, generator=gen)
    for t in list(w.values()) + [v]:
        t.requires_grad_(True)  # a graph through every attention (layer 0's self-attention reads no patch)
    self_taps, cross_taps = [], []
    out = baselines.qformer_forward(w, v, H, HEADS, LAYERS, FREQ, self_taps, cross_taps)
    (out * probe).sum().backward()
    abar_qq = [head_mean(a) for a in self_taps]
    crossed = iter(head_mean(a) for a in cross_taps)
    abar_qi = [next(crossed) if layer % FREQ == 0 else None for layer in range(LAYERS)]
    qtp = rgae.cross_rule(abar_qq, abar_qi, torch.eye(P), True)
    assert qtp.min() >= 0 and qtp.sum() > 0
    t = OrderedDict(w)
    t["input"] = v
    t["probe"] = probe
    t["abar_qq"] = torch.stack(abar_qq)
    t["abar_qi"] = torch.stack([a for a in abar_qi if a is not None])
    t["query_to_patch"] = qtp
    baselines.save(os.path.join(HERE, "qformer_rgae.safetensors"), t)


if __name__ == "__main__":
    main()
