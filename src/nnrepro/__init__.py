"""nnrepro: a reproducible study of how neural networks learn, as a DVC pipeline."""

__version__ = "0.1.0"
