#!/usr/bin/env bash
# Regenerates docs/results/image_editing.md's numbers on a 2-core CPU (about 2 hours in all).
#
#   bash scripts/image_editing_study.sh [OUT_DIR]      (default: runs/image_editing)
#
# 1. The VQ-VAE tokenizer and the success classifier at their default settings (skipped if present).
# 2. regenerate / sft / rm, 3 seeds each: same backbone (the default 4-layer transformer), batch 64,
#    1200 steps, one thread per run, two runs at a time.
#    A tenth run fills the last free slot: rm with history=her, seed 0.
# 3. `rm eval task=image` of each run's last checkpoint on the shipped 600-pair test file, with the
#    sampler's defaults (rm_edit: 8 re-mask + 8 reveal turns): OUT/results/NAME.json.
# 4. scripts/image_editing_table.py: mean +- std per method (markdown + CSV) from those results.
set -euo pipefail
OUT=${1:-runs/image_editing}
mkdir -p "$OUT"
T="$OUT/tokenizer.pt"; C="$OUT/classifier.pt"
[ -f "$T" ] || rm prepare task=image split=tokenizer output="$T"
[ -f "$C" ] || rm prepare task=image split=classifier task.tokenizer="$T" output="$C"

COMMON="task=image task.tokenizer=$T task.classifier=$C sampler=rm_edit threads=1 batch_size=64 \
trainer.max_steps=1200 trainer.val_check_interval=1200 optim.warmup_steps=100 test_after_fit=false"
mkdir -p "$OUT/logs"
for s in 0 1 2; do
  echo "rm_seed$s objective=rm corruption=source history=off seed=$s"
  echo "sft_seed$s objective=mdm history=off seed=$s"
  echo "regenerate_seed$s objective=mdm task.instructions=false history=off seed=$s"
done | { cat; echo "rm_her_seed0 objective=rm corruption=source history=her seed=0"; } | xargs -P 2 -L 1 bash -c 'name=$0; rm train '"$COMMON"' "$@" run_dir='"$OUT"'/$name > '"$OUT"'/logs/$name.log 2>&1 \
  || { echo "failed: $name (see '"$OUT"'/logs/$name.log)"; exit 255; }'

mkdir -p "$OUT/results"
ls -d "$OUT"/*_seed*/ | xargs -P 2 -I{} bash -c 'name=$(basename {}); OMP_NUM_THREADS=1 rm eval task=image checkpoint={}checkpoints/last.ckpt \
  sampler=rm_edit output='"$OUT"'/results/$name.json > '"$OUT"'/logs/eval_$name.log 2>&1 || { echo "failed: eval $name"; exit 255; }'

python scripts/image_editing_table.py "$OUT" --out "$OUT/image_editing"

# 5. A figure of example edits: the first 6 test pairs, decoded by each method's seed-0 model.
rm prepare task=image split=prompts n=6 output="$OUT/figure_prompts"
for m in rm sft regenerate; do
  rm infer task=image checkpoint="$OUT/${m}_seed0/checkpoints/last.ckpt" prompts="$OUT/figure_prompts/prompts.jsonl" \
    sampler=rm_edit output="$OUT/figure_$m" > /dev/null
done
python scripts/image_editing_figure.py --tokenizer "$T" --method rm="$OUT/figure_rm" --method sft="$OUT/figure_sft" \
  --method regenerate="$OUT/figure_regenerate" --out "$OUT/image_editing_examples.png"
