"""The explorer: a small local web app to play with a trained model (`vaekit serve`)."""

from vaekit.serve.app import create_app
from vaekit.serve.explorer import Explorer

__all__ = ["Explorer", "create_app"]
