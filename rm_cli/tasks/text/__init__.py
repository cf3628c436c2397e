from rm_cli.tasks.text.task import TextTask

__all__ = ["TextTask"]
