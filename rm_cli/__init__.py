"""rm: Reflective Masking for mask diffusion models."""

__version__ = "0.1.0"
