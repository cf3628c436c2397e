from rm_cli.cli import main_rmdm

main_rmdm()
