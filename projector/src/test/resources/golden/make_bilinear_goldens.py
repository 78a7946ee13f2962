#!/usr/bin/env python3
"""Golden fixtures for Bilinear2dTest (models.md §3.4 OneVision video pooling, §3.5 bilinear rule).

Plain PyTorch only (Debian python3-torch; no transformers, no safetensors package): the
safetensors file is written by hand (8-byte LE header length, JSON header, raw LE data), in
the same style as make_pool_goldens.py.

Writes bilinear_goldens.safetensors next to this script. For each case (inH, inW) -> (outH, outW):
  x_<inH>x<inW>                 random token grid [inH*inW, dim] in the ViT layout (token
                                p = row*W + col, channels contiguous)
  bil_<inH>x<inW>_<outH>x<outW> F.interpolate(mode="bilinear", align_corners=False) of the
                                NCHW view exactly as HF LlavaOnevision apply_pooling does it
                                (view -> permute(0,3,1,2).contiguous() -> interpolate -> permute back),
                                flattened back to tokens [outH*outW, dim]
  idx_<in>_<out>                I32 [out, 2] and lam_<in>_<out> F32 [out, 2]: the per-axis (i0, i1)
                                and (lambda0, lambda1) of §3.5 (fp32 scale, float64 source index),
                                asserted bit-equal to the weights torch itself applies (one-hot input)
Cases: 27->14 (OneVision, ceil(27/2)), 24->12, 24->13, 5->3, a non-square 5x7->3x4, and an
upsampling 3->5 (src clamped at 0 at the left edge, i1 == i0 at the right edge).
"""
import json
import math
import os
import struct

import torch
import torch.nn.functional as F

torch.set_num_threads(1)
HERE = os.path.dirname(os.path.abspath(__file__))
DTYPES = {torch.float32: "F32", torch.int32: "I32", torch.int64: "I64"}
DIM = 6

CASES = [((27, 27), (14, 14)), ((24, 24), (12, 12)), ((24, 24), (13, 13)), ((5, 5), (3, 3)),
         ((5, 7), (3, 4)), ((3, 3), (5, 5))]


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


def hf_apply_pooling(x, ih, iw, oh, ow):
    """HF LlavaOnevisionForConditionalGeneration.apply_pooling on one frame's tokens."""
    nchw = x.view(1, ih, iw, -1).permute(0, 3, 1, 2).contiguous()
    r = F.interpolate(nchw, size=[oh, ow], mode="bilinear")  # align_corners default False
    return r.permute(0, 2, 3, 1).reshape(oh * ow, -1)


def axis(i, o):
    """§3.5 per-axis rule: fp32 scale, source index and lambda in float64 (torch's CPU
    acc_type<float> is double; an fp32 source index is up to 8e-7 off torch's lambdas)."""
    if i == o:
        idx = torch.arange(o, dtype=torch.int32)
        return torch.stack([idx, idx], 1), torch.stack([torch.ones(o), torch.zeros(o)], 1)
    scale = (torch.tensor(i, dtype=torch.float32) / torch.tensor(o, dtype=torch.float32)).double()
    src = scale * (torch.arange(o, dtype=torch.float64) + 0.5) - 0.5
    src = src.clamp(min=0)
    i0 = torch.clamp(src.floor().to(torch.int64), max=i - 1)
    i1 = i0 + (i0 < i - 1).to(torch.int64)
    l1 = (src - i0.to(torch.float64)).clamp(0, 1)
    return torch.stack([i0, i1], 1).to(torch.int32), torch.stack([1 - l1, l1], 1).float()


def torch_axis(i, o):
    """The same per-axis weights read back from torch itself: interpolate one-hot rows 1 x i -> 1 x o."""
    w = F.interpolate(torch.eye(i).view(i, 1, 1, i), size=[1, o], mode="bilinear")[:, 0, 0, :].t()  # [o, i]
    idx, lam = axis(i, o)
    for d in range(o):
        expect = torch.zeros(i)
        expect[idx[d, 0].long()] += lam[d, 0]
        expect[idx[d, 1].long()] += lam[d, 1]
        assert torch.equal(w[d], expect), (i, o, d, w[d], expect)
    return idx, lam


def main():
    print("torch", torch.__version__)
    gen = torch.Generator().manual_seed(2718)
    out = {}
    for (ih, iw), (oh, ow) in CASES:
        key = f"x_{ih}x{iw}"
        if key not in out:
            out[key] = torch.randn(ih * iw, DIM, generator=gen)
        x = out[key]
        y = hf_apply_pooling(x, ih, iw, oh, ow)
        # the channels-last kernel (a non-contiguous permuted view) agrees within float rounding
        cl = F.interpolate(x.view(1, ih, iw, -1).permute(0, 3, 1, 2), size=[oh, ow], mode="bilinear")
        assert torch.allclose(cl.permute(0, 2, 3, 1).reshape(oh * ow, -1), y, atol=1e-6, rtol=0)
        # and the explicit §3.5 rule reproduces it (within a few ulp: summation order differs)
        (idx_h, lam_h), (idx_w, lam_w) = torch_axis(ih, oh), torch_axis(iw, ow)
        grid = x.view(ih, iw, -1)
        ref = torch.zeros(oh, ow, DIM)
        for a in range(2):
            for b in range(2):
                ref += (lam_h[:, a].view(oh, 1, 1) * lam_w[:, b].view(1, ow, 1)
                        * grid[idx_h[:, a].long()][:, idx_w[:, b].long()])
        assert torch.allclose(ref.view(oh * ow, -1), y, atol=1e-6, rtol=0), (ih, iw, oh, ow)
        out[f"bil_{ih}x{iw}_{oh}x{ow}"] = y
        for i, o, idx, lam in ((ih, oh, idx_h, lam_h), (iw, ow, idx_w, lam_w)):
            out[f"idx_{i}_{o}"] = idx
            out[f"lam_{i}_{o}"] = lam
    assert math.ceil(27 / 2) == 14
    save(os.path.join(HERE, "bilinear_goldens.safetensors"), out)


if __name__ == "__main__":
    main()
