"""Golden fixture for SafeTensorsTest (spec §6, §8 "safetensors reader: exact").

Writes fixture.safetensors with
  src        F32 source values, incl. specials (±0, ±inf, nan, subnormals, F16 overflow, halfway cases)
  src_f16    torch's src.half()          src_f16_f32   torch's src.half().float()
  src_bf16   torch's src.bfloat16()      src_bf16_f32  torch's src.bfloat16().float()
  ids        I64 token ids, ids32 I32
  m3         F32 3-D tensor (C order check)
The Java test checks widening (F16/BF16 -> F32) and its own narrowing against these bit for bit.
Run: /usr/bin/python3 make_fixture.py   (deterministic; torch 1.13)
"""
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import sthelper  # noqa: E402

torch.manual_seed(1234)
torch.set_num_threads(1)

specials = torch.tensor([0.0, -0.0, float("inf"), float("-inf"), float("nan"), 1.0, -2.5,
                         65504.0, 65520.0, 70000.0, 6.0e-8, 5.9604645e-08, 2.9802322e-08, 2.98023259e-08,
                         1.0e-5, 6.1035156e-05, 6.1e-05, 1.00048828125, 1.0009765625, 1.00146484375,
                         3.3895314e38, 1.0e-40, 1.00390625, 1.0078125, 1.01171875], dtype=torch.float32)
rnd = torch.cat([torch.randn(200) * 3.0, torch.randn(50) * 1e-4, torch.randn(50) * 1e4])
src = torch.cat([specials, rnd]).float()

tensors = {
    "src": src,
    "src_f16": src.half(),
    "src_f16_f32": src.half().float(),
    "src_bf16": src.bfloat16(),
    "src_bf16_f32": src.bfloat16().float(),
    "ids": torch.tensor([1, 319, 13563, 1546, 32000, -7, 2 ** 40], dtype=torch.int64),
    "ids32": torch.tensor([[1, 2, 3], [32000, 32001, -1]], dtype=torch.int32),
    "m3": torch.arange(24, dtype=torch.float32).reshape(2, 3, 4) * 0.5 - 3.0,
}
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixture.safetensors")
sthelper.save(tensors, out, metadata={"format": "pt", "source": "make_fixture.py"})
print("wrote", out, os.path.getsize(out), "bytes")
