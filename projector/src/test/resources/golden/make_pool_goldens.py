#!/usr/bin/env python3
"""Golden fixtures for the deco-projector tests (models.md §3.1, §3.5, §8).

Plain PyTorch only (Debian python3-torch; no transformers, no safetensors package): the
safetensors files are written by hand (8-byte LE header length, JSON header, raw LE data).

Writes, next to this script:
  pool_goldens.safetensors  random token grids x{24,27} [H*W, D] in the ViT layout (token
                            p = row*W + col, channels contiguous) and, for each case
                            {24->12, 24->20, 27->12, 24->8}, torch's F.adaptive_avg_pool2d /
                            F.adaptive_max_pool2d outputs (flattened back to tokens [Q, D]) and
                            the max-pool indices (return_indices=True, I32, index into H*W).
  pool_edge.safetensors     a 6x6 grid -> 4x4 (overlapping windows) of small integers with ties
                            and NaNs, to pin torch's tie-break (first max) and NaN propagation.
  mlp_golden.safetensors    LLaVA mlp2x_gelu: x [T, Dv], linear_1 / linear_2 weight+bias,
                            y = linear_2(gelu_erf(linear_1(x))).
"""
import json
import os
import struct

import torch
import torch.nn.functional as F

torch.set_num_threads(1)
HERE = os.path.dirname(os.path.abspath(__file__))
DTYPES = {torch.float32: "F32", torch.int32: "I32", torch.int64: "I64"}


def save(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        t = t.detach().contiguous().cpu()
        data = t.numpy().astype(t.numpy().dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)  # pad to 8 bytes, as the safetensors writer does
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    print(f"wrote {path} ({8 + len(h) + offset} bytes)")


def pool_tokens(x, g, out, fn, **kw):
    """x [g*g, D] tokens -> NCHW exactly like HF LlavaNextVideoPooler / DeCo's rearrange."""
    nchw = x.view(1, g, g, -1).permute(0, 3, 1, 2)
    r = fn(nchw, (out, out), **kw)
    if isinstance(r, tuple):
        return tuple(t.flatten(2).transpose(1, 2)[0] for t in r)
    return r.flatten(2).transpose(1, 2)[0]


def explicit_avg(x, g, o):
    grid = x.view(g, g, -1)
    out = torch.empty(o * o, x.shape[1])
    for oh in range(o):
        hs, he = (oh * g) // o, -((-(oh + 1) * g) // o)
        for ow in range(o):
            ws, we = (ow * g) // o, -((-(ow + 1) * g) // o)
            acc = torch.zeros(x.shape[1])
            for ih in range(hs, he):
                for iw in range(ws, we):
                    acc = acc + grid[ih, iw]
            out[oh * o + ow] = acc / float((he - hs) * (we - ws))
    return out


def pools():
    gen = torch.Generator().manual_seed(1234)
    dim = 8
    xs = {g: torch.randn(g * g, dim, generator=gen) for g in (24, 27)}
    out = {f"x{g}": x for g, x in xs.items()}
    for g, o in [(24, 12), (24, 20), (27, 12), (24, 8)]:
        x = xs[g]
        avg = pool_tokens(x, g, o, F.adaptive_avg_pool2d)
        mx, idx = pool_tokens(x, g, o, F.adaptive_max_pool2d, return_indices=True)
        # the contiguous NCHW kernel (sum / kh / kw) agrees within an ulp
        ref = F.adaptive_avg_pool2d(x.view(1, g, g, dim).permute(0, 3, 1, 2).contiguous(), (o, o))
        assert torch.allclose(ref.flatten(2).transpose(1, 2)[0], avg, atol=1e-6, rtol=0)
        # The permuted view runs torch's channels-last kernel; its vectorised lanes compute
        # float sum over the window (row-major) / (kh*kw), which the Java pool reproduces bit for
        # bit. On a CPU whose vector width exceeds dim, torch takes the scalar tail instead
        # (sum / kh / kw): refuse to write fixtures that would then differ by an ulp.
        assert torch.equal(avg, explicit_avg(x, g, o)), "torch took the scalar tail; use dim 16"
        out[f"avg_{g}_{o}"] = avg
        out[f"max_{g}_{o}"] = mx
        out[f"maxidx_{g}_{o}"] = idx.to(torch.int32)
    save(os.path.join(HERE, "pool_goldens.safetensors"), out)


def edge():
    gen = torch.Generator().manual_seed(99)
    g, o, dim = 6, 4, 3
    x = torch.randint(0, 3, (g * g, dim), generator=gen).to(torch.float32)  # many ties
    x[7, 0] = float("nan")
    x[8, 0] = float("nan")  # two NaNs in one window: which index does torch keep?
    x[20, 2] = float("nan")
    avg = pool_tokens(x, g, o, F.adaptive_avg_pool2d)
    mx, idx = pool_tokens(x, g, o, F.adaptive_max_pool2d, return_indices=True)
    save(os.path.join(HERE, "pool_edge.safetensors"),
         {"x": x, "avg": avg, "max": mx, "maxidx": idx.to(torch.int32)})


def mlp():
    gen = torch.Generator().manual_seed(4321)
    t, dv, hidden, dt = 7, 16, 48, 24
    x = torch.randn(t, dv, generator=gen)
    w1 = torch.randn(hidden, dv, generator=gen) / dv ** 0.5 * 1.5   # pre-activations ~N(0, 2)
    b1 = torch.randn(hidden, generator=gen) * 0.5
    w2 = torch.randn(dt, hidden, generator=gen) / hidden ** 0.5
    b2 = torch.randn(dt, generator=gen) * 0.5
    y = F.linear(F.gelu(F.linear(x, w1, b1)), w2, b2)  # F.gelu default approximate='none' (erf)
    save(os.path.join(HERE, "mlp_golden.safetensors"),
         {"x": x, "linear_1.weight": w1, "linear_1.bias": b1,
          "linear_2.weight": w2, "linear_2.bias": b2, "y": y})


if __name__ == "__main__":
    print("torch", torch.__version__)
    pools()
    edge()
    mlp()
