"""Checkpoints: ``save`` and ``load`` in the safetensors format."""

from lucid_fx.io._checkpoint import StateDict, load, save

__all__ = ["StateDict", "load", "save"]
