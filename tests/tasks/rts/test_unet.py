"""The U-Net of seed 001 §3.3: kernel-size schedule, shapes, gradients and errors."""

import pytest
import torch
from torch import nn

from permafusion.tasks.rts.unet import SlumpUNet, kernel_schedule


def test_kernel_sizes_alternate_and_grow_from_3_to_6():
    schedule = kernel_schedule(5, 3, 6)
    assert schedule == [(3, 4), (3, 4), (4, 5), (4, 5), (5, 6)]
    assert all(a != b for a, b in schedule)
    assert schedule[0][0] == 3 and schedule[-1][1] == 6
    assert [max(p) for p in schedule] == sorted(max(p) for p in schedule)


def test_contracting_path_grows_and_expanding_path_shrinks_its_kernels():
    model = SlumpUNet(in_channels=5, widths=(4, 8, 8, 8, 8))
    down = [m.kernel_size[0] for block in model.down for m in block.modules() if isinstance(m, nn.Conv2d)]
    up = [m.kernel_size[0] for block in model.up_blocks for m in block.modules() if isinstance(m, nn.Conv2d)]
    assert down == [3, 4, 3, 4, 4, 5, 4, 5, 5, 6]
    assert up == [5, 4, 5, 4, 4, 3, 4, 3]  # levels 3..0 on the way up, each pair reversed
    assert sum(isinstance(m, nn.SELU) for m in model.modules()) == 2 * (5 + 4)
    assert any(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    assert any(isinstance(m, nn.Dropout2d) for m in model.modules())
    assert sum(isinstance(m, nn.MaxPool2d) for m in model.modules()) == 1  # one module, used 4 times
    assert all(isinstance(up.up, nn.Upsample) and up.conv.kernel_size == (2, 2) for up in model.ups)


def test_forward_keeps_the_tile_size_with_one_logit_and_gradients_flow():
    torch.manual_seed(0)
    model = SlumpUNet(in_channels=5, widths=(4, 8, 8, 8, 8))
    x = torch.rand(2, 5, 64, 64, requires_grad=True)
    out = model(x)
    assert out.shape == (2, 1, 64, 64)
    out.mean().backward()
    assert x.grad is not None and all(p.grad is not None for p in model.parameters())
    assert model(torch.rand(1, 5, 32, 48)).shape == (1, 1, 32, 48)


def test_sides_that_do_not_pool_four_times_are_an_error():
    with pytest.raises(ValueError, match="multiples of 16"):
        SlumpUNet(in_channels=4, widths=(4, 4, 4, 4, 4))(torch.zeros(1, 4, 40, 64))
