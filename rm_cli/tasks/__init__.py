"""Tasks: each one module (or package) subclassing `rm_cli.tasks.base.Task` plus a conf/task YAML."""
