"""Image editing on Fashion-MNIST scenes (task=image)."""

from rm_cli.tasks.image.task import ImageTask

__all__ = ["ImageTask"]
