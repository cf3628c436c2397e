#!/usr/bin/env bash
# Regenerates docs/results/sudoku_solving.md's numbers on a 2-core CPU (about 27 hours in all).
#
#   bash scripts/sudoku_solving_study.sh [OUT_DIR]      (default: runs/sudoku_solving)
#
# 1. RM + HER with uniform wrong digits, 3 seeds, 2000 steps each (three runs share the two cores).
# 2. Per seed: that run's own top-3 wrong digits cached (corruption=native), and 800 more steps of
#    RM + HER post-training on them, starting from its weights (init_from); validation on easy puzzles.
# 3. Every sampler on every checkpoint at one budget of 32 forward passes per board: generated
#    easy/medium/hard (first 200 of each fixed test file); for the post-trained (native) model
#    also the 9 kaidoku levels (first 50 each).
# 4. Test-time scaling on easy puzzles (first 100) for seed 0 of the post-trained model.
# 5. Per seed: 800 more steps on the same native cache with task.keep_rate=1.0 (partly filled boards
#    whose visible digits are mostly right), starting from the native model; every sampler plus
#    rm_solve (few reveals a turn, re-masking free) on it, rm_solve on the native models too, and
#    test-time scaling of every sampler on easy and hard puzzles (first 100) with seed 1's model.
# 6. History ablation, seed 0: the same 800 keep_rate steps from the native model with history switched
#    to off / hr / hr_decay (HR has no parameters, so the weights carry over), then rm, rm_solve and
#    vanilla on each, beside the HER run of step 5.
# 7. The shipped model until step 8 (seed 1 of step 5): every sampler on the whole 1,000-puzzle easy and hard test files.
# 8. Peer attention (backbone.attention=peers: a cell attends to its row, column and box only): steps 1,
#    2 and 5 again with it (uniform, native, keep_rate), 3 seeds; every sampler on the three uniform models
#    (first 200 of each generated level) and on the three keep-rate models (plus the kaidoku levels);
#    every sampler on the whole easy and hard files with seed 0's keep-rate model (the shipped one until step 10), and
#    its test-time scaling on easy and hard puzzles (first 100).
# 9. A longer uniform stage with peer attention: 3400 steps a seed (52 CPU-min,
#    no post-training), validated with vanilla on easy puzzles; every sampler on the three models (first 200
#    of each generated level), and vanilla and topk_margin on the whole easy and hard files (and on easy at budget 64);
#    then 800 task.keep_rate=1.0 steps from each (uniform wrong digits), and vanilla, topk_margin and rm_solve
#    with seed 0's on easy and hard (first 200).
# 10. From the same 3400-step models, 3 seeds: their own top-3 cache and 1600 corruption=native, keep_rate=1.0
#    steps; every sampler on these and on step 9's keep-rate models (first 200 of each generated level), and
#    on the whole easy and hard files with seed 0's keep-rate model (the shipped one from step 10 on), and its
#    test-time scaling on easy and hard puzzles (first 100).
# 11. A second cosine cycle of the uniform stage: 3600 more steps from each 3400-step model (7000 in all); every
#    sampler on the three (first 200 of each generated level), and vanilla, topk_margin and rm_solve on the
#    whole easy and hard files; then 600 task.keep_rate=1.0 steps from each (7600 in all) and vanilla,
#    topk_margin and rm_solve on them (first 200 easy and hard).
# 12. Why RM does not revise on solving (seed 0's keep-rate model, the shipped one): where its first mistake
#    happens and how its re-mask score ranks it (scripts/sudoku_remask_diagnostic.py); a cache of its own
#    rm_solve decodes (scripts/sudoku_rollout_cache.py) and 800 keep_rate=1.0 steps on it, against 800 more
#    plain keep_rate=1.0 steps; vanilla, topk_margin and rm_solve on both (whole hard file, first 200 easy)
#    and the diagnostic on both.
# 13. The standard masked objective instead of RM (objective=mdm, history off: the vanilla MDM baseline), with
#    step 9's recipe otherwise (peer attention, 3400 steps, 3 seeds); the peer samplers on the three models (first
#    200 of each generated level), and vanilla and topk_margin on the whole easy and hard files; then 600 RM + HER
#    task.keep_rate=1.0 steps from each MDM model, and vanilla, topk_margin and rm_solve on them (first 200 easy, hard).
# 14. Step 13's RM post-training at lower learning rates (1e-4 and 3e-4 instead of 1e-3), and at lr 1e-3 without
#    History Reference (history=off, as the MDM models were trained); the same three samplers on each. Then the
#    control: 600 more MDM steps (objective=mdm, lr 1e-3) from each MDM model, vanilla and topk_margin on them; and
#    RM + HER keep-rate steps with no wrong digits (task.wrong_rate=0), the same three samplers.
# 15. A second cosine cycle of the MDM objective, as step 11 did for RM + HER: 3600 more objective=mdm steps from
#    each MDM model of step 13 (7000 in all); vanilla and topk_margin on the whole easy and hard files (and the first
#    200); then step 13's 600 RM + HER keep-rate steps from each of these, the same three samplers as there.
# 16. Which part of RM training costs the peers: step 13's RM + HER keep-rate steps from the 3400-step MDM models
#    with the wrong digits in the inputs but no mask loss (loss.mask_weight=0), and with a fifth of the wrong
#    digits (task.wrong_rate=0.1); the same three samplers on each.
# 17. The wrong rate around step 16's 0.1: 0.05 and 0.2 from the 3400-step MDM models, and 600 more steps at 0.1
#    from step 16's 0.1 models (1200 RM + HER steps in all, two cosine cycles); the same three samplers on each,
#    and on the whole hard file for these three and step 16's two arms.
# 18. One reveal a pass (budget 64) on the whole files: vanilla and topk_margin with step 15's MDM models on easy and
#    hard (the easy goal), and the three samplers with step 16's wrong-rate-0.1 models on hard (does rm_solve's
#    margin over the peers widen with the budget?).
# 19. entropy and remdm at budget 64 on the easy file with step 15's MDM models; a third cosine cycle of the MDM
#    objective (3600 more steps, 10600 in all), vanilla and topk_margin at budget 64 on the whole easy and hard files.
# 20. Step 15's second cycle again with an exponential moving average of the weights (ema_decay=0.999; the raw
#    weights follow step 15's exactly), vanilla and topk_margin at budget 64 on the whole easy and hard files.
# 21. Step 16's RM + HER keep-rate steps from the 3400-step MDM models with wrong digits that no kept cell rules
#    out (corruption=consistent) at wrong rates 0.1 and 0.5; the three samplers on each (first 200 easy and hard,
#    and the whole hard file), and the re-mask diagnostic of seed 0's 0.1 model on hard.
# 22. Test-time scaling with no verifier (sampler=best_of): topk_margin decodes each puzzle under 4 random Sudoku
#    symmetries (budget 256) or 2 (budget 128) and the model's most likely board is kept; step 15's 7000-step MDM
#    models on the whole easy and hard files, step 13's 3400-step ones on easy (and their peers at budget 64); on step 16's RM + HER wrong-rate-0.1
#    models (first 200 hard), best_of over topk_margin against best_of over rm_solve, and the two alone.
#    (best_of scored the completed board then: score=board, named here since step 23 made score=masked the default.)
# 23. Which score best_of keeps a board by: every view of the first 200 hard puzzles kept (8 views, 60 passes each)
#    and each score's pick against the oracle, on step 13's 3400-step MDM models (topk_margin) and step 16's RM + HER
#    models (rm_solve); then best_of with the masked score (the new default) where the board score fell short.
set -euo pipefail
OUT=${1:-runs/sudoku_solving}
mkdir -p "$OUT"
SOLVE="task=sudoku task.mode=solve optim.lr=1e-3 threads=1 hydra/launcher=parallel hydra.launcher.n_jobs=3"
# collect SWEEP NAME [SEEDS]: each seed's last checkpoint in the sweep OUT/SWEEP, copied to OUT/NAME_seedS.ckpt
# (SEEDS: default "0 1 2").
collect() {
  for s in ${3:-0 1 2}; do cp "$(ls -d "$OUT/$1"/*seed=$s,*)/checkpoints/last.ckpt" "$OUT/$2_seed$s.ckpt"; done
}
# scaling_curves NAME BUDGETS TAG: every sampler at each of BUDGETS with OUT/NAME.ckpt on the first 100 easy
# and hard puzzles, into OUT/scaling_{easy,hard}_TAG.{json,csv,png} (steps 5, 8 and 10).
scaling_curves() {
  for level in easy hard; do
    rm eval task=sudoku task.mode=solve task.level=$level checkpoint="$OUT/$1.ckpt" limit=100 scaling=true \
      scaling_budgets=$2 "scaling_samplers=[vanilla,topk_margin,entropy,remdm,rm,rm_solve]" \
      output="$OUT/scaling_${level}_$3.json"
  done
}
# native_caches FROM CACHE: each seed's top-3 wrong digits of OUT/FROM_seedS.ckpt, cached as OUT/CACHE_seedS.pt.
native_caches() {
  for s in 0 1 2; do
    rm prepare task=sudoku task.mode=solve split=native checkpoint="$OUT/$1_seed$s.ckpt" k=3 output="$OUT/$2_seed$s.pt"
  done
}
# train_from NAME FROM STEPS VAL OVERRIDES...: a sweep into OUT/NAME of STEPS more steps on easy puzzles, validated
# every VAL steps, each seed starting from OUT/FROM_seedS.ckpt (steps 2, 5, 6 and 8-11). The sweep's folder names
# leave out the per-seed paths.
train_from() {
  local name=$1 from=$2 steps=$3 val=$4; shift 4
  rm train -m $SOLVE "$@" task.level=easy "init_from=$OUT/${from}_seed\${seed}.ckpt" trainer.max_steps=$steps \
    trainer.val_check_interval=$val hydra.sweep.dir="$OUT/$name" \
    "hydra.job.config.override_dirname.exclude_keys=[corruption.cache,init_from]"
}
# post_train NAME FROM CACHE OVERRIDES...: train_from with STEPS (default 800) steps on each seed's native cache
# OUT/CACHE_seedS.pt (steps 2, 5, 6, 8, 10).
post_train() {
  local name=$1 from=$2 cache=$3 steps=${STEPS:-800}; shift 3
  train_from $name $from $steps $((steps / 2)) "$@" corruption=native "corruption.cache=$OUT/${cache}_seed\${seed}.pt"
}

rm train -m $SOLVE history=her seed=0,1,2 trainer.max_steps=2000 trainer.val_check_interval=500 hydra.sweep.dir="$OUT/uniform"
collect uniform uniform
native_caches uniform native
post_train native uniform native history=her seed=0,1,2
collect native native

STUDY_WHOLE="python scripts/sudoku_solving_study.py --budget 32 --jobs 2"  # every puzzle of each file
STUDY="$STUDY_WHOLE --limit 200 --kaidoku-limit 50"
$STUDY --checkpoints "$OUT"/uniform_seed{0,1,2}.ckpt --levels easy medium hard --out "$OUT/study_uniform.csv"
$STUDY --checkpoints "$OUT"/native_seed{0,1,2}.ckpt --out "$OUT/study_native.csv" --levels easy medium hard \
  kaidoku:1 kaidoku:2 kaidoku:3 kaidoku:4 kaidoku:5 kaidoku:6 kaidoku:7 kaidoku:8 kaidoku:9
rm eval task=sudoku task.mode=solve task.level=easy checkpoint="$OUT/native_seed0.ckpt" limit=100 scaling=true \
  scaling_budgets=[4,8,16,32,64] output="$OUT/scaling_easy_native.json"

post_train keep native native history=her seed=0,1,2 task.keep_rate=1.0
collect keep keep
$STUDY --checkpoints "$OUT"/keep_seed{0,1,2}.ckpt --out "$OUT/study_keep.csv" --levels easy medium hard \
  kaidoku:1 kaidoku:2 kaidoku:3 kaidoku:4 kaidoku:5 kaidoku:6 kaidoku:7 kaidoku:8 kaidoku:9 \
  --samplers vanilla topk_margin entropy remdm rm rm_solve
$STUDY --checkpoints "$OUT"/native_seed{0,1,2}.ckpt --levels easy medium hard --samplers rm_solve \
  --out "$OUT/study_native_rm_solve.csv"
scaling_curves keep_seed1 [4,8,16,32,64] keep  # seed 1: the best validation score of the three, the shipped model

post_train hist native native history=off,hr,hr_decay seed=0 task.keep_rate=1.0
for h in off hr hr_decay; do cp "$(ls -d "$OUT"/hist/*history=$h,*)/checkpoints/last.ckpt" "$OUT/hist_$h.ckpt"; done
$STUDY --checkpoints "$OUT"/hist_{off,hr,hr_decay}.ckpt "$OUT/keep_seed0.ckpt" --levels easy medium hard \
  --samplers vanilla rm rm_solve --by-history --out "$OUT/study_history.csv"
$STUDY_WHOLE --checkpoints "$OUT/keep_seed1.ckpt" --levels easy hard --samplers vanilla topk_margin entropy remdm rm \
  rm_solve --out "$OUT/study_keep_seed1_1000.csv"

PEERS="history=her seed=0,1,2 backbone.attention=peers"
rm train -m $SOLVE $PEERS trainer.max_steps=2000 trainer.val_check_interval=500 hydra.sweep.dir="$OUT/peers"
collect peers uniform_peers
native_caches uniform_peers native_peers
post_train native_peers uniform_peers native_peers $PEERS
collect native_peers native_peers
post_train keep_peers native_peers native_peers $PEERS task.keep_rate=1.0
collect keep_peers keep_peers
$STUDY --checkpoints "$OUT"/uniform_peers_seed{0,1,2}.ckpt --levels easy medium hard \
  --samplers vanilla topk_margin entropy remdm rm rm_solve --out "$OUT/study_uniform_peers.csv"
$STUDY --checkpoints "$OUT"/keep_peers_seed{0,1,2}.ckpt --out "$OUT/study_keep_peers.csv" --levels easy medium hard \
  kaidoku:1 kaidoku:2 kaidoku:3 kaidoku:4 kaidoku:5 kaidoku:6 kaidoku:7 kaidoku:8 kaidoku:9 \
  --samplers vanilla topk_margin entropy remdm rm rm_solve
$STUDY_WHOLE --checkpoints "$OUT/keep_peers_seed0.ckpt" --levels easy hard --samplers vanilla topk_margin entropy remdm \
  rm rm_solve --out "$OUT/study_keep_peers_seed0_1000.csv"
scaling_curves keep_peers_seed0 [8,16,32,64] keep_peers

rm train -m $SOLVE $PEERS task.level=easy sampler=vanilla sampler.steps=32 trainer.max_steps=3400 \
  trainer.val_check_interval=500 hydra.sweep.dir="$OUT/peers3400"
collect peers3400 uniform3400_peers
$STUDY --checkpoints "$OUT"/uniform3400_peers_seed{0,1,2}.ckpt --levels easy medium hard \
  --samplers vanilla topk_margin entropy remdm rm rm_solve --out "$OUT/study_uniform3400_peers.csv"
$STUDY_WHOLE --checkpoints "$OUT"/uniform3400_peers_seed{0,1,2}.ckpt --levels easy hard --samplers vanilla topk_margin \
  --out "$OUT/study_uniform3400_peers_1000.csv"
for s in 0 1 2; do
  rm eval task=sudoku task.mode=solve task.level=easy checkpoint="$OUT/uniform3400_peers_seed$s.ckpt" scaling=true \
    scaling_budgets=[64] "scaling_samplers=[vanilla,topk_margin]" output="$OUT/scaling_easy1000_b64_uniform3400_seed$s.json"
done
train_from keep3400_peers uniform3400_peers 800 400 $PEERS task.keep_rate=1.0
collect keep3400_peers keep3400_peers
$STUDY --checkpoints "$OUT/keep3400_peers_seed0.ckpt" --levels easy hard --samplers vanilla topk_margin rm_solve \
  --out "$OUT/study_keep3400_peers_seed0.csv"

# 10. Post-training the 3,400-step models, 3 seeds: step 9's keep-rate steps, and the run's own top-3 cache
# with task.keep_rate=1.0 for 1600 steps; every sampler on both (first 200 of each generated level).
native_caches uniform3400_peers native3400_peers
STEPS=1600 post_train nativekeep3400_peers uniform3400_peers native3400_peers $PEERS task.keep_rate=1.0
collect nativekeep3400_peers nativekeep3400_peers
for name in keep3400_peers nativekeep3400_peers; do
  $STUDY --checkpoints "$OUT"/${name}_seed{0,1,2}.ckpt --levels easy medium hard \
    --samplers vanilla topk_margin entropy remdm rm rm_solve --out "$OUT/study_${name}.csv"
done
# seed 0's keep-rate model: the best validation score of the three, the shipped model from step 10 on
$STUDY_WHOLE --checkpoints "$OUT/keep3400_peers_seed0.ckpt" --levels easy hard --samplers vanilla topk_margin entropy \
  remdm rm rm_solve --out "$OUT/study_keep3400_peers_seed0_1000.csv"
scaling_curves keep3400_peers_seed0 [8,16,32,64] keep3400_peers

# 11. A second cosine cycle (warm-up, then decay to lr * min_lr_ratio again) of 3600 uniform steps from each
# 3400-step model: 7000 steps a seed, ~54 minutes for a run alone on both cores (0.46 s a step).
train_from uniform7000_peers uniform3400_peers 3600 1200 $PEERS sampler=vanilla sampler.steps=32
collect uniform7000_peers uniform7000_peers
$STUDY --checkpoints "$OUT"/uniform7000_peers_seed{0,1,2}.ckpt --levels easy medium hard \
  --samplers vanilla topk_margin entropy remdm rm rm_solve --out "$OUT/study_uniform7000_peers.csv"
$STUDY_WHOLE --checkpoints "$OUT"/uniform7000_peers_seed{0,1,2}.ckpt --levels easy hard \
  --samplers vanilla topk_margin rm_solve --out "$OUT/study_uniform7000_peers_1000.csv"
train_from keep7000_peers uniform7000_peers 600 300 $PEERS task.keep_rate=1.0
collect keep7000_peers keep7000_peers
$STUDY --checkpoints "$OUT"/keep7000_peers_seed{0,1,2}.ckpt --levels easy hard --samplers vanilla topk_margin rm_solve \
  --out "$OUT/study_keep7000_peers.csv"

# 12. The RM head on the model's own mistakes, seed 0 (one seed: the other seeds' models cost hours to remake).
DIAG="python scripts/sudoku_remask_diagnostic.py --levels easy hard --limit 200"
$DIAG --checkpoint "$OUT/keep3400_peers_seed0.ckpt" --out "$OUT/diagnostic_keep3400_peers_seed0.json"
python scripts/sudoku_rollout_cache.py --checkpoint "$OUT/keep3400_peers_seed0.ckpt" --sampler rm_solve --n 20000 \
  --out "$OUT/rollout3400_peers_seed0.pt"
train_from keep1600_peers keep3400_peers 800 400 history=her seed=0 backbone.attention=peers task.keep_rate=1.0
post_train rollout_peers keep3400_peers rollout3400_peers history=her seed=0 backbone.attention=peers task.keep_rate=1.0
for name in keep1600_peers rollout_peers; do
  collect $name $name 0
  $DIAG --checkpoint "$OUT/${name}_seed0.ckpt" --out "$OUT/diagnostic_${name}_seed0.json"
done
CKPTS="$OUT/keep3400_peers_seed0.ckpt $OUT/keep1600_peers_seed0.ckpt $OUT/rollout_peers_seed0.ckpt"
$STUDY_WHOLE --checkpoints $CKPTS --levels hard --samplers vanilla topk_margin rm_solve --out "$OUT/study_rollout_1000.csv"
$STUDY --checkpoints $CKPTS --levels easy --samplers vanilla topk_margin rm_solve --out "$OUT/study_rollout_easy.csv"

# 13. The vanilla MDM baseline: step 9's uniform stage with objective=mdm and history off (MDM training has no
# history to feed back).
rm train -m $SOLVE objective=mdm history=off seed=0,1,2 backbone.attention=peers task.level=easy sampler=vanilla \
  sampler.steps=32 trainer.max_steps=3400 trainer.val_check_interval=500 hydra.sweep.dir="$OUT/mdm3400_peers"
collect mdm3400_peers mdm3400_peers
$STUDY_WHOLE --checkpoints "$OUT"/mdm3400_peers_seed{0,1,2}.ckpt --levels easy hard --samplers vanilla topk_margin \
  --out "$OUT/study_mdm3400_peers_1000.csv"
$STUDY --checkpoints "$OUT"/mdm3400_peers_seed{0,1,2}.ckpt --levels easy medium hard \
  --samplers vanilla topk_margin entropy remdm --out "$OUT/study_mdm3400_peers.csv"
# from_mdm NAME "SAMPLERS" OVERRIDES...: 600 steps from each MDM model (FROM, default step 13's mdm3400_peers; peer
# attention, 3 seeds) into OUT/NAME, then SAMPLERS on the first 200 easy and hard puzzles (steps 13-15).
from_mdm() {
  local name=$1 samplers=$2; shift 2
  train_from $name "${FROM:-mdm3400_peers}" 600 300 seed=0,1,2 backbone.attention=peers test_after_fit=false "$@"
  collect $name $name
  $STUDY --checkpoints "$OUT"/${name}_seed{0,1,2}.ckpt --levels easy hard --samplers $samplers \
    --out "$OUT/study_${name}.csv"
}
from_mdm mdmkeep_peers "vanilla topk_margin rm_solve" history=her task.keep_rate=1.0

# 14. Step 13's RM post-training at lr 1e-4 and 3e-4 (the later optim.lr overrides SOLVE's), without History
# Reference, with no wrong digits, and the control: 600 more MDM steps.
for lr in 1e-4 3e-4; do
  from_mdm mdmkeep_lr${lr}_peers "vanilla topk_margin rm_solve" history=her task.keep_rate=1.0 optim.lr=$lr
done
from_mdm mdmkeep_off_peers "vanilla topk_margin rm_solve" history=off task.keep_rate=1.0
from_mdm mdmmore_peers "vanilla topk_margin" objective=mdm history=off sampler=vanilla sampler.steps=32
from_mdm mdmkeep_nowrong_peers "vanilla topk_margin rm_solve" history=her task.keep_rate=1.0 task.wrong_rate=0

# 15. A second cosine cycle of the MDM objective (as step 11 for RM + HER): 3600 more steps, 7000 in all.
# mdm_cycle NAME FROM [OVERRIDES...]: one more cosine cycle of the MDM objective, 3600 steps from each of FROM's
# models (3 seeds, peer attention) into OUT/NAME, collected as OUT/NAME_seedS.ckpt (steps 15, 19 and 20).
mdm_cycle() {
  local name=$1 from=$2; shift 2
  train_from $name $from 3600 1200 seed=0,1,2 backbone.attention=peers test_after_fit=false objective=mdm history=off \
    sampler=vanilla sampler.steps=32 "$@"
  collect $name $name
}
mdm_cycle mdm7000_peers mdm3400_peers
$STUDY_WHOLE --checkpoints "$OUT"/mdm7000_peers_seed{0,1,2}.ckpt --levels easy hard --samplers vanilla topk_margin \
  --out "$OUT/study_mdm7000_peers_1000.csv"
$STUDY --checkpoints "$OUT"/mdm7000_peers_seed{0,1,2}.ckpt --levels easy hard --samplers vanilla topk_margin \
  --out "$OUT/study_mdm7000_peers.csv"
FROM=mdm7000_peers from_mdm mdm7000keep_peers "vanilla topk_margin rm_solve" history=her task.keep_rate=1.0

# 16. Wrong digits in the inputs without their MASK labels, and fewer wrong digits with them.
from_mdm mdmkeep_nomaskloss_peers "vanilla topk_margin rm_solve" history=her task.keep_rate=1.0 loss.mask_weight=0
from_mdm mdmkeep_wrong0.1_peers "vanilla topk_margin rm_solve" history=her task.keep_rate=1.0 task.wrong_rate=0.1

# 17. The wrong rate at 0.05 and 0.2, and a second 600-step cycle at 0.1 from step 16's models.
for rate in 0.05 0.2; do
  from_mdm mdmkeep_wrong${rate}_peers "vanilla topk_margin rm_solve" history=her task.keep_rate=1.0 task.wrong_rate=$rate
done
FROM=mdmkeep_wrong0.1_peers from_mdm mdmkeep2_wrong0.1_peers "vanilla topk_margin rm_solve" history=her \
  task.keep_rate=1.0 task.wrong_rate=0.1
for name in mdmkeep_nomaskloss_peers mdmkeep_wrong0.1_peers mdmkeep_wrong0.05_peers mdmkeep_wrong0.2_peers \
  mdmkeep2_wrong0.1_peers; do
  $STUDY_WHOLE --checkpoints "$OUT"/${name}_seed{0,1,2}.ckpt --levels hard --samplers vanilla topk_margin rm_solve \
    --out "$OUT/study_${name}_1000.csv"
done

# 18. One reveal a pass: budget 64 on the whole easy and hard files.
STUDY_64="python scripts/sudoku_solving_study.py --budget 64 --jobs 2"
$STUDY_64 --checkpoints "$OUT"/mdm7000_peers_seed{0,1,2}.ckpt --levels easy hard --samplers vanilla topk_margin \
  --out "$OUT/study_mdm7000_peers_1000_b64.csv"
$STUDY_64 --checkpoints "$OUT"/mdmkeep_wrong0.1_peers_seed{0,1,2}.ckpt --levels hard --samplers vanilla topk_margin \
  rm_solve --out "$OUT/study_mdmkeep_wrong0.1_peers_1000_b64.csv"

# 19. The other two peers (entropy, remdm) at one reveal a pass on the easy file with step 15's models, and a third
# cosine cycle of the MDM objective: 3600 more steps from each, 10600 in all; vanilla and topk_margin at budget 64.
$STUDY_64 --checkpoints "$OUT"/mdm7000_peers_seed{0,1,2}.ckpt --levels easy --samplers entropy remdm \
  --out "$OUT/study_mdm7000_peers_1000_b64_more.csv"
mdm_cycle mdm10600_peers mdm7000_peers
$STUDY_64 --checkpoints "$OUT"/mdm10600_peers_seed{0,1,2}.ckpt --levels easy hard --samplers vanilla topk_margin \
  --out "$OUT/study_mdm10600_peers_1000_b64.csv"

# 20. Step 15's second cycle with a moving average of the weights (the raw weights are step 15's, step for step).
mdm_cycle mdm7000ema_peers mdm3400_peers ema_decay=0.999
$STUDY_64 --checkpoints "$OUT"/mdm7000ema_peers_seed{0,1,2}.ckpt --levels easy hard --samplers vanilla topk_margin \
  --out "$OUT/study_mdm7000ema_peers_1000_b64.csv"

# 21. Wrong digits like the model's own: none repeats a given or kept blank of its row, column or box.
for rate in 0.1 0.5; do
  from_mdm mdmkeep_consistent${rate}_peers "vanilla topk_margin rm_solve" history=her task.keep_rate=1.0 \
    task.wrong_rate=$rate corruption=consistent
  $STUDY_WHOLE --checkpoints "$OUT"/mdmkeep_consistent${rate}_peers_seed{0,1,2}.ckpt --levels hard \
    --samplers vanilla topk_margin rm_solve --out "$OUT/study_mdmkeep_consistent${rate}_peers_1000.csv"
done
python scripts/sudoku_remask_diagnostic.py --levels hard --limit 200 --checkpoint "$OUT/mdmkeep_consistent0.1_peers_seed0.ckpt" \
  --out "$OUT/diagnostic_mdmkeep_consistent0.1_peers_seed0.json"

# 22. Best of several views: topk_margin under 4 (budget 256) or 2 (budget 128) random symmetries, the most likely kept.
STUDY_VIEWS="python scripts/sudoku_solving_study.py --jobs 1"
$STUDY_VIEWS --budget 256 --checkpoints "$OUT"/mdm7000_peers_seed{0,1,2}.ckpt --levels easy --samplers best_of:score=board \
  --out "$OUT/study_mdm7000_peers_1000_bestof4_b256_easy.csv"
$STUDY_VIEWS --budget 256 --checkpoints "$OUT"/mdm7000_peers_seed{0,1,2}.ckpt --levels hard --samplers best_of:score=board \
  --out "$OUT/study_mdm7000_peers_1000_bestof4_b256_hard.csv"
$STUDY_VIEWS --budget 256 --checkpoints "$OUT"/mdm3400_peers_seed{0,1,2}.ckpt --levels easy --samplers best_of:score=board \
  --out "$OUT/study_mdm3400_peers_1000_bestof4_b256.csv"
$STUDY_64 --checkpoints "$OUT"/mdm3400_peers_seed{0,1,2}.ckpt --levels easy --samplers vanilla topk_margin \
  --out "$OUT/study_mdm3400_peers_1000_b64.csv"
$STUDY_VIEWS --budget 128 --checkpoints "$OUT"/mdm7000_peers_seed{0,1,2}.ckpt --levels easy --samplers best_of:views=2,score=board \
  --out "$OUT/study_mdm7000_peers_1000_bestof2_b128.csv"
$STUDY_VIEWS --budget 256 --limit 200 --checkpoints "$OUT"/mdmkeep_wrong0.1_peers_seed{0,1,2}.ckpt --levels hard \
  --samplers topk_margin rm_solve best_of:score=board best_of:base=rm_solve,score=board \
  --out "$OUT/study_mdmkeep_wrong0.1_peers_bestof4_b256.csv"

# 23. best_of's two scores against the oracle (every view kept), then the masked score where the board one fell short.
python scripts/best_of_views.py --checkpoints "$OUT"/mdm3400_peers_seed{0,1,2}.ckpt --level hard --limit 200 \
  --base topk_margin --views 8 --per-view 60 --out "$OUT/best_of_views_mdm3400_topk_margin_hard200.csv"
python scripts/best_of_views.py --checkpoints "$OUT"/mdmkeep_wrong0.1_peers_seed{0,1,2}.ckpt --level hard --limit 200 \
  --base rm_solve --views 8 --per-view 60 --out "$OUT/best_of_views_mdmkeep_wrong0.1_rm_solve_hard200.csv"
$STUDY_VIEWS --budget 256 --checkpoints "$OUT"/mdm3400_peers_seed{0,1,2}.ckpt --levels easy --samplers best_of \
  --out "$OUT/study_mdm3400_peers_1000_bestof4masked_b256.csv"
$STUDY_VIEWS --budget 256 --checkpoints "$OUT"/mdm3400_peers_seed{0,1,2}.ckpt --levels hard --samplers best_of \
  --out "$OUT/study_mdm3400_peers_1000_bestof4masked_b256_hard.csv"
$STUDY_VIEWS --budget 256 --limit 200 --checkpoints "$OUT"/mdmkeep_wrong0.1_peers_seed{0,1,2}.ckpt --levels hard \
  --samplers best_of best_of:base=rm_solve --out "$OUT/study_mdmkeep_wrong0.1_peers_bestof4masked_b256.csv"

# 24. Does the model know its failed boards' wrong digits when they are hidden? Step 12's diagnostic of the shipped model
#     (keep3400_peers seed 0) scores them with a quarter of the blanks masked at a time; then half, then one cell.
for parts in 2 81; do
  python scripts/sudoku_remask_diagnostic.py --levels hard --limit 200 --parts $parts \
    --checkpoint "$OUT/keep3400_peers_seed0.ckpt" --out "$OUT/diagnostic_keep3400_peers_seed0_parts$parts.json"
done
