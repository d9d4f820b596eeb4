"""The top package exports what a user needs to build and train every registered model."""

import vaekit
from vaekit.models import MODELS


def test_every_registered_model_and_its_config_are_exported():
    for name, cls in MODELS.items():
        assert getattr(vaekit, cls.__name__, None) is cls, name
        assert getattr(vaekit, cls.config_class.__name__, None) is cls.config_class, name
        assert cls.__name__ in vaekit.__all__ and cls.config_class.__name__ in vaekit.__all__


def test_all_names_exist():
    assert [name for name in vaekit.__all__ if not hasattr(vaekit, name)] == []
