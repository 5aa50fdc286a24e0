"""The fused graph's uint8 edges (`artify_stream/fused.py`)."""

import torch

from artify_stream.fused import model_to_frames


def test_a_bf16_output_rounds_to_the_nearest_level_as_fp32_would():
    # Every bf16 value in [0, 1]: bf16 cannot hold x.5 above 128, so scaling and rounding in bf16
    # misrounded bright pixels by a level (a bf16 engine's output, before the fix).
    values = torch.arange(0, 0x3F81, dtype=torch.int16).view(torch.bfloat16)  # 0.0 up to 1.0
    y = values[(values >= 0) & (values <= 1)].reshape(1, 1, 1, -1).expand(1, 3, 1, -1)
    out = model_to_frames(y, 1, y.shape[-1])
    expected = torch.floor(y.float() * 255.0 + 0.5).clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1)
    assert out.dtype == torch.uint8 and torch.equal(out, expected)
