"""Golden fixture for ClipImageProcessorTest (spec §1.2, §8 "preprocessing").

Re-implements HF CLIPImageProcessor's slow path with PIL + numpy only (no transformers):
  size = int(S * long / short) for the long side, PIL Image.resize((w, h), BICUBIC) on uint8 RGB,
  center crop (floor offsets), rescale float64(u8) * (1/255) -> float32, (x - mean) / std in float32, CHW.
Inputs are deterministic synthetic images (gradients + flat shapes with hard black/white edges, which
exercise the bicubic overshoot clamping, + a 1-pixel checkerboard patch), saved as PNG.
Outputs per case <name>:
  <name>.png           input image
  <name>_crop.png      expected uint8 image after resize + center crop (lossless PNG)
  expected.safetensors lut F32 [3,256]: normalize(v, c) for every uint8 v and channel c,
                       <name>_pixels F32 [3,S,S] full float output (small-crop cases only, to keep it small)
Cases: see CASES below (settings also stored as JSON in the safetensors __metadata__).
Run: /usr/bin/python3 make_fixture.py   (Pillow 9.4, numpy; deterministic)
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

MEAN = [0.48145466, 0.4578275, 0.40821073]
STD = [0.26862954, 0.26130258, 0.27577711]

CASES = [
    # name, width, height, shortest_edge, crop, store full floats
    ("wide_down", 500, 375, 336, 336, False),   # downscale 375 -> 336 (antialiased kernel), 448x336, crop x
    ("tall_up", 180, 250, 336, 336, False),     # upscale, 336x466, crop y
    ("square", 336, 336, 336, 336, False),      # already 336: PIL copies
    ("odd_small", 401, 350, 32, 32, True),      # strong downscale 350 -> 32 (36x32), full floats stored
    ("odd_tall", 97, 131, 48, 40, True),        # 48x64, non-square crop 40 (h) x 32 (w)
]


def make_image(w, h, seed):
    rng = np.random.RandomState(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    img = np.zeros((h, w, 3), dtype=np.uint8)
    img[..., 0] = np.clip(255 * x / (w - 1), 0, 255).astype(np.uint8)
    img[..., 1] = np.clip(255 * y / (h - 1), 0, 255).astype(np.uint8)
    img[..., 2] = (96 + 64 * np.sin(x / 17.0 + y / 23.0)).astype(np.uint8)
    pil = Image.fromarray(img, "RGB")
    d = ImageDraw.Draw(pil)
    for _ in range(6):
        x0, y0 = rng.randint(0, w - 10), rng.randint(0, h - 10)
        x1, y1 = x0 + rng.randint(5, w // 3 + 6), y0 + rng.randint(5, h // 3 + 6)
        col = tuple(int(c) for c in rng.choice([0, 255], size=3))
        if rng.rand() < 0.5:
            d.rectangle([x0, y0, x1, y1], fill=col)
        else:
            d.ellipse([x0, y0, x1, y1], fill=col)
    arr = np.array(pil)
    # 1-pixel checkerboard: the hardest case for the antialiased downscale
    cy, cx = h // 3, w // 2
    s = min(24, h // 4, w // 4)
    cb = ((np.add.outer(np.arange(s), np.arange(s)) % 2) * 255).astype(np.uint8)
    arr[cy:cy + s, cx:cx + s, :] = cb[..., None]
    return Image.fromarray(arr, "RGB")


def resized_size(w, h, size):
    short, long = (w, h) if w <= h else (h, w)
    new_long = int(size * long / short)
    return (size, new_long) if w <= h else (new_long, size)


def process(pil, size, crop_h, crop_w):
    w, h = pil.size
    nw, nh = resized_size(w, h, size)
    r = pil.resize((nw, nh), resample=Image.BICUBIC, reducing_gap=None)
    a = np.array(r)
    top = (nh - crop_h) // 2
    left = (nw - crop_w) // 2
    a = a[top:top + crop_h, left:left + crop_w]
    x = (a.astype(np.float64) * (1 / 255)).astype(np.float32)
    mean = np.array(MEAN, dtype=np.float32)
    std = np.array(STD, dtype=np.float32)
    x = (x - mean) / std
    return a, x.transpose(2, 0, 1).copy()


def lut():
    v = np.arange(256, dtype=np.uint8).reshape(256, 1).repeat(3, axis=1)  # [256,3]
    x = (v.astype(np.float64) * (1 / 255)).astype(np.float32)
    x = (x - np.array(MEAN, dtype=np.float32)) / np.array(STD, dtype=np.float32)
    return x.T.copy()  # [3,256]


def main():
    tensors = {"lut": torch.from_numpy(lut())}
    meta = {}
    for i, (name, w, h, size, crop, full) in enumerate(CASES):
        crop_h, crop_w = (crop, crop) if name != "odd_tall" else (crop, 32)
        src = make_image(w, h, seed=100 + i)
        src.save(os.path.join(HERE, name + ".png"), optimize=True)
        src = Image.open(os.path.join(HERE, name + ".png")).convert("RGB")
        u8, pixels = process(src, size, crop_h, crop_w)
        Image.fromarray(u8, "RGB").save(os.path.join(HERE, name + "_crop.png"), optimize=True)
        if full:
            tensors[name + "_pixels"] = torch.from_numpy(pixels)
        meta[name] = json.dumps({"width": w, "height": h, "shortest_edge": size, "crop_h": crop_h, "crop_w": crop_w})
    sthelper.save(tensors, os.path.join(HERE, "expected.safetensors"), metadata=meta)
    for f in sorted(os.listdir(HERE)):
        print(f, os.path.getsize(os.path.join(HERE, f)))


if __name__ == "__main__":
    main()
