"""The model card: what a checkpoint was trained on, and the refusal of a checkpoint that does not fit."""

from __future__ import annotations

import pytest

from permafusion.tasks.degradation.card import check_card, model_card


def test_a_fitting_checkpoint_is_accepted_and_its_card_returned() -> None:
    card = model_card(time_steps=12, training={"aoi": "demo", "start": "2023-01-01", "end": "2023-12-31"})
    assert card["task"] == "degradation" and card["bands"]["sar"] == ["vv", "vh"]
    assert card["classes"]["names"]["3"] == "thermokarst / retrogressive thaw slump"
    assert check_card({"card": card}, path="m.pt", time_steps=12)["training"]["aoi"] == "demo"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"time_steps": 6}, r"trained on 6 monthly time steps.*set patches.time_steps to 6"),
        ({"task": "rts"}, r"a model of the 'rts' task"),
        ({"bands": {"sar": ["vv"], "optical": ["B04"]}}, r"trained on bands"),
        ({"step_months": 4}, r"4 month\(s\) apart.*set patches.step_months to 4"),
    ],
)
def test_a_checkpoint_that_does_not_fit_is_refused_saying_what_differs(change: dict, message: str) -> None:
    card = {**model_card(time_steps=12, training={"aoi": "tibet"}), **change}
    with pytest.raises(ValueError, match=message) as error:
        check_card({"card": card}, path="colleague.pt", time_steps=12)
    assert "checkpoint colleague.pt (trained on AOI 'tibet') does not fit this AOI" in str(error.value)


def test_a_checkpoint_without_a_card_is_refused() -> None:
    with pytest.raises(ValueError, match="carries no model card"):
        check_card({"state_dict": {}}, path="old.pt", time_steps=12)


@pytest.mark.parametrize("card", [None, {"task": "degradation"}, {"model_format": 1}])
def test_a_checkpoint_of_an_older_model_format_is_refused(card: dict | None) -> None:
    from permafusion.tasks.degradation.card import MODEL_FORMAT, check_model_format

    payload = {} if card is None else {"card": card}
    with pytest.raises(
        ValueError, match=rf"model format 1, this version of permafusion reads format {MODEL_FORMAT}.*retrain"
    ):
        check_model_format(payload, path="old.pt")
    check_model_format({"card": model_card(time_steps=12)}, path="new.pt")
