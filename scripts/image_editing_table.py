"""Mean +- std per method of the `rm eval task=image` results of scripts/image_editing_study.sh.

    python scripts/image_editing_table.py OUT_DIR [--out PREFIX]

Reads OUT_DIR/results/NAME_seedS.json (one per trained run; the method is NAME) and, where present,
OUT_DIR/NAME_seedS/summary.json for the training cost. Writes PREFIX.csv (one row per run) and
PREFIX.md (the paper's table layout, mean +- std over seeds, then the tokenizer/classifier ceilings).
"""

from seed_table import main

# (results key, column title, digits): the paper's columns first, then RM's token-level localisation
COLUMNS = [("precision_pct", "precision %", 1), ("coverage_pct", "coverage %", 1), ("mae_out", "MAE out", 3),
           ("psnr_out_db", "PSNR out dB", 3), ("ssim_out", "SSIM out", 4), ("success_pct", "success %", 1),
           ("success_replace_pct", "replace %", 1), ("success_remove_pct", "remove %", 1), ("success_add_pct", "add %", 1),
           ("remask_precision_pct", "re-mask prec. %", 1), ("remask_recall_pct", "re-mask recall %", 1),
           ("no_change_pct", "no change %", 1), ("nfe_per_example", "NFE", 1)]
CEILINGS = [("ceiling_psnr_out_db", "tokenizer's PSNR out (source reconstructed)"),
            ("gold_coverage_pct", "coverage of the target's own tokens"), ("gold_success_pct", "success of the target's own tokens")]
ORDER = ["regenerate", "sft", "rm"]  # the paper's row order; other methods (e.g. rm_her) follow

if __name__ == "__main__":
    main(__doc__, "image_editing", COLUMNS, ORDER, CEILINGS)
