"""One module per subcommand; each exposes `run(cfg)` and is wrapped as a Hydra app by rm_cli.cli."""
