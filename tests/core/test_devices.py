import torch

from permafusion.core.devices import place_model
from permafusion.tasks.degradation.models.registry import build_model
from permafusion.tasks.soiltemp.models import build_model as build_sequence_model


def test_placed_network_has_channels_last_weights_and_the_same_outputs():
    torch.manual_seed(0)
    model = build_model("permafusionnet", preset="small", num_steps=3).eval()
    sar, optical = torch.randn(1, 3, 3, 16, 16), torch.randn(1, 3, 7, 16, 16)
    with torch.no_grad():
        before = model(sar, optical)
        placed = place_model(model, torch.device("cpu"))
        after = placed(sar, optical)
    weights = [p for p in placed.parameters() if p.ndim == 4]
    assert weights and all(p.is_contiguous(memory_format=torch.channels_last) for p in weights)
    torch.testing.assert_close(after, before, rtol=1e-5, atol=1e-5)
    # a checkpoint written from the placed model loads into a freshly built one
    fresh = build_model("permafusionnet", preset="small", num_steps=3).eval()
    fresh.load_state_dict(placed.state_dict())
    with torch.no_grad():
        torch.testing.assert_close(fresh(sar, optical), after, rtol=1e-5, atol=1e-5)


def test_placing_a_network_without_convolutions_only_moves_it():
    gru = build_sequence_model("gru", features=3, statics=1, bands=2, depths=2, hidden=4, layers=1)
    before = {k: v.clone() for k, v in gru.state_dict().items()}
    placed = place_model(gru, torch.device("cpu"))
    for name, value in placed.state_dict().items():
        assert value.is_contiguous() and torch.equal(value, before[name])
