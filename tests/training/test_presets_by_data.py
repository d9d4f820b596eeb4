"""Presets pick their recipe by the kind of data: 8-bit images get the codable VAE."""

import pytest

from vaekit.compression.networks import EXACT_ARCHITECTURES, SYMBOL_LEVELS
from vaekit.data import DataSpec
from vaekit.errors import ConfigError
from vaekit.training.presets import EIGHT_BIT, PRESETS, Preset, data_kind


def spec(binarize: str, levels: int | None, kind: str = "image") -> DataSpec:
    shape = (1, 28, 28) if kind == "image" else (5,)
    return DataSpec(shape=shape, kind=kind, binarize=binarize, levels=levels, source="test",
                    scaling="test")  # fmt: skip


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_eight_bit_images_get_a_codable_single_latent_vae(name):
    recipe = PRESETS[name].for_data(spec("none", 256))
    assert recipe.model == "vae"
    # what the bits-back coder needs: a likelihood it codes 256 levels with, exact layers, ReLU
    assert SYMBOL_LEVELS.get(recipe.likelihood) == 256
    assert recipe.model_fields["arch"] in EXACT_ARCHITECTURES
    assert recipe.model_fields.get("activation", "relu") == "relu"
    assert (
        recipe.train_fields["time_budget_seconds"]
        == (PRESETS[name].train_fields["time_budget_seconds"])
    )


@pytest.mark.parametrize(
    "data", [spec("dynamic", 2), spec("static", 2), spec("none", 17), spec("none", None, "table")]
)
def test_other_data_keep_the_hierarchical_recipe(data):
    assert data_kind(data) != EIGHT_BIT
    for preset in PRESETS.values():
        assert preset.for_data(data) is preset and preset.model == "hvae"


def test_a_variant_for_an_unknown_kind_of_data_is_refused():
    with pytest.raises(ConfigError, match="unknown data kind 'rgb'"):
        Preset("x", "vae", variants={"rgb": Preset("y", "vae")})
    with pytest.raises(ConfigError, match="unknown likelihood"):
        Preset("x", "vae", likelihood="poisson")
