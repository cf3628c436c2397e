"""Mean +- std per method of the `rm eval task=text` results of scripts/text_study.sh.

    python scripts/text_table.py OUT_DIR [--out PREFIX]

Reads OUT_DIR/results/NAME_seedS.json (one per trained run; the method is NAME: sft, rm, rm_her) and
OUT_DIR/NAME_seedS/summary.json for the training cost. Writes PREFIX.csv (one row per run) and
PREFIX.md (mean +- std over seeds).
"""

from seed_table import main

# (results key, column title, digits): the metric (exact final answer) first
COLUMNS = [("exact_pct", "exact answer %", 1), ("sequence_exact_pct", "whole answer exact %", 1),
           ("nfe_per_example", "NFE", 1), ("remasks_per_example", "re-masks", 2)]
ORDER = ["sft", "rm", "rm_her", "rm_her_vanilla"]  # rm_her_vanilla: the RM + HER model, vanilla decoding

if __name__ == "__main__":
    main(__doc__, "text", COLUMNS, ORDER)
