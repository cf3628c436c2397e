#!/usr/bin/env bash
# Regenerates docs/results/text.md's numbers (`tiny` and MiniLM) on a 2-core CPU (about 20 hours in all).
#
#   bash scripts/text_study.sh [OUT_DIR]      (default: runs/text_study)
#
# 1. vanilla SFT / RM / RM + HER on the built-in arithmetic word problems, 3 seeds each, at equal
#    training compute: the default 4 x 128 `tiny` transformer from scratch, batch 32, 1500 steps,
#    validation (128 problems, logged) every 500 steps; one thread per run, two at a time.
#    Each run's last checkpoint (equal compute; validation's whole-answer exact match stays 0 at
#    this budget, so best.ckpt would only be the first one) is then scored by `rm eval task=text` on
#    the shipped 500-problem test file with the sampler it was trained for (vanilla_text for SFT,
#    rm_text for RM): OUT/results/NAME.json.
#    A run whose summary.json (or results JSON) exists is not redone.
# 2. accuracy vs decoding steps, seed 0, first 200 test problems: the SFT model with vanilla decoding,
#    the RM + HER model with rm and with vanilla decoding, at 8/16/32/56 forward passes per problem,
#    joined into OUT/text_scaling.{csv,png}.
# 3. scripts/text_table.py: mean +- std per method (OUT/text.md + OUT/text.csv); scripts/text_by_steps.py:
#    exact % per run by the problem's number of steps (OUT/text_by_steps.md).
# 4. three times the training budget: SFT, plain RM and RM + HER (seeds 0, 1, 2) for 4500 steps
#    (validation every 1500), two runs at once, scored like step 1 (OUT/long/, table
#    OUT/long/text_long.{md,csv}), plus the RM + HER models decoded with vanilla_text, to tell their
#    training from their decoder; exact % by the problem's number of steps: OUT/long/text_long_by_steps.md;
#    per seed, problems solved by SFT only vs RM only and McNemar's test: OUT/long/text_long_paired_sft_*.md.
# 5. the pretrained MiniLM (backbone=hf_mlm, 22.7M, WordPiece: 48 prompt + 32 answer tokens): SFT, plain
#    RM and RM + HER, seeds 0, 1, 2, 1500 steps at lr 1e-4, validation at the end, scored like step 1 and the
#    seed-0 RM + HER model also with vanilla_text (OUT/minilm/, table OUT/minilm/text_minilm.{md,csv},
#    by steps and paired as in step 4); about 1-1.5 hours a run with two at once on the two cores.
# 6. the real benchmarks decoded by the trained seed-0 MiniLM models: GSM8K's first 100 test problems,
#    the first 50 of ARC-Challenge, MMLU and MATH-500, the first 20 of MBPP and HumanEval (prompts cut to
#    their last 48 tokens, flagged per item): OUT/minilm/bench/BENCHMARK{N}_NAME.json.
# 7. the paper's recipe on MiniLM at step 5's 1500 steps: SFT for 750 steps, then the SFT model's own top-8
#    wrong tokens cached (`rm prepare split=native`, all 20,000 training problems) and 750 RM + HER steps on
#    them from its weights (`corruption=native init_from=...`), seeds 0, 1, 2, the three chains at once;
#    each stage scored like step 1 (OUT/minilm/native/, table OUT/minilm/native/text_minilm_native.{md,csv},
#    paired against step 5's SFT runs).
# 8. the control for step 7's second stage: 750 more SFT steps from the same 750-step SFT model (`objective=mdm
#    init_from=...`: a fresh learning-rate schedule, as the RM + HER stage had), scored like step 1 and paired
#    against step 7 (OUT/minilm/native/text_minilm_native_control_paired.md). Seeds 2, 0 and 1 (about 1.5 hours
#    each).
# 9. step 5's RM + HER with a third of the wrong answer tokens (task.wrong_rate=0.1; the default is 0.3), seeds 0,
#    1, 2, two runs at once, scored like step 1 and paired against step 5's SFT and RM + HER runs seed by seed
#    (OUT/minilm/wrong_rate_0.1/).
# 10. the same at a sixth of the default rate (task.wrong_rate=0.05), seeds 0, 1, 2, paired against step 5's SFT
#    and step 9's rate-0.1 runs (OUT/minilm/wrong_rate_0.05/).
set -euo pipefail
# score_run DIR RUN NAME SAMPLER: DIR/RUN's last checkpoint decoded with SAMPLER on the shipped test file,
# one thread, into DIR/results/NAME.json (unless it exists).
score_run() {
  local dir=$1 run=$2 name=$3 sampler=$4
  [ -f "$dir/results/$name.json" ] || OMP_NUM_THREADS=1 rm eval task=text checkpoint="$dir/$run/checkpoints/last.ckpt" \
    sampler="$sampler" output="$dir/results/$name.json" > "$dir/logs/eval_$name.log" 2>&1 \
    || { echo "failed: eval $name (see $dir/logs/eval_$name.log)"; return 1; }
}
export -f score_run

# train_and_score DIR "COMMON": reads lines "NAME SAMPLER OVERRIDES..." and, two at a time, trains DIR/NAME
# (unless its summary.json exists) and scores its last checkpoint into DIR/results/NAME.json (unless it exists).
train_and_score() {
  xargs -P 2 -L 1 bash -c 'dir=$1; common=$2; name=$3; sampler=$4; shift 4; run=$dir/$name
    [ -f $run/summary.json ] || rm train $common sampler=$sampler "$@" run_dir=$run > $dir/logs/$name.log 2>&1 \
      || { echo "failed: $name (see $dir/logs/$name.log)"; exit 255; }
    score_run $dir $name $name $sampler || exit 255' _ "$1" "$2"
}

# score_with_vanilla DIR S: DIR/rm_her_seedS's weights decoded with vanilla_text (LLaDA, no re-masking),
# to tell their training from their decoder: DIR/results/rm_her_vanilla_seedS.json (unless it exists).
score_with_vanilla() {
  score_run "$1" "rm_her_seed$2" "rm_her_vanilla_seed$2" vanilla_text || exit 1
}

OUT=${1:-runs/text_study}
mkdir -p "$OUT/logs" "$OUT/results" "$OUT/scaling"
TINY_SETTINGS="task=text backbone=tiny threads=1 batch_size=32 test_after_fit=false"
COMMON="$TINY_SETTINGS trainer.max_steps=1500 trainer.val_check_interval=500"
for s in 0 1 2; do
  echo "sft_seed$s vanilla_text objective=mdm history=off seed=$s"
  echo "rm_seed$s rm_text objective=rm history=off seed=$s"
  echo "rm_her_seed$s rm_text objective=rm history=her seed=$s"
done | train_and_score "$OUT" "$COMMON"

printf '%s\n' "sft_seed0 vanilla_text [vanilla]" "rm_her_seed0 rm_text [rm,vanilla]" \
  | xargs -P 2 -L 1 bash -c 'name=$0; [ -f '"$OUT"'/scaling/$name.csv ] && exit 0
  OMP_NUM_THREADS=1 rm eval task=text checkpoint='"$OUT"'/$name/checkpoints/last.ckpt sampler=$1 scaling=true \
    scaling_samplers=$2 "scaling_budgets=[8,16,32,56]" limit=200 output='"$OUT"'/scaling/$name.json \
    > '"$OUT"'/logs/scaling_$name.log 2>&1 || { echo "failed: scaling $name"; exit 255; }'
python scripts/scaling_join.py --run sft="$OUT/scaling/sft_seed0.csv" --run rm_her="$OUT/scaling/rm_her_seed0.csv" --out "$OUT/text_scaling" \
  --title "arithmetic test (first 200), tiny from scratch, seed 0: exact answer % vs forward passes"

python scripts/text_table.py "$OUT" --out "$OUT/text"
python scripts/text_by_steps.py "$OUT"/results/*.json --out "$OUT/text_by_steps.md"

LONG="$OUT/long"
mkdir -p "$LONG/logs" "$LONG/results"
LONG_COMMON="$TINY_SETTINGS trainer.max_steps=4500 trainer.val_check_interval=1500"
{ for s in 0 1 2; do
    echo "sft_seed$s vanilla_text objective=mdm history=off seed=$s"
    echo "rm_seed$s rm_text objective=rm history=off seed=$s"
    echo "rm_her_seed$s rm_text objective=rm history=her seed=$s"
  done
} | train_and_score "$LONG" "$LONG_COMMON"
for s in 0 1 2; do score_with_vanilla "$LONG" $s; done
python scripts/text_table.py "$LONG" --out "$LONG/text_long"
python scripts/text_by_steps.py "$LONG"/results/*.json --out "$LONG/text_long_by_steps.md"
for m in rm rm_her; do python scripts/text_paired.py "$LONG/results" sft $m --out "$LONG/text_long_paired_sft_$m.md"; done

MINILM="$OUT/minilm"
mkdir -p "$MINILM/logs" "$MINILM/results"
MINILM_SETTINGS="task=text backbone=hf_mlm task.prompt_len=48 task.answer_len=32 threads=1 batch_size=32 optim.lr=1e-4 \
test_after_fit=false"
MINILM_COMMON="$MINILM_SETTINGS trainer.max_steps=1500 trainer.val_check_interval=1500"
for s in 0 1 2; do
  echo "sft_seed$s vanilla_text objective=mdm history=off seed=$s"
  echo "rm_seed$s rm_text objective=rm history=off seed=$s"
  echo "rm_her_seed$s rm_text objective=rm history=her seed=$s"
done | train_and_score "$MINILM" "$MINILM_COMMON"
score_with_vanilla "$MINILM" 0
python scripts/text_table.py "$MINILM" --out "$MINILM/text_minilm"
python scripts/text_by_steps.py "$MINILM"/results/*.json --out "$MINILM/text_minilm_by_steps.md"
for m in rm rm_her; do python scripts/text_paired.py "$MINILM/results" sft $m --out "$MINILM/text_minilm_paired_sft_$m.md"; done

mkdir -p "$MINILM/bench"
for bench in "gsm8k 100" "arc_challenge 50" "mmlu 50" "math500 50" "mbpp 20" "humaneval 20"; do
  printf "$bench %s\n" "sft_seed0 vanilla_text" "rm_her_seed0 rm_text"
done | xargs -P 2 -L 1 bash -c 'bench=$0 n=$1 name=$2; out='"$MINILM"'/bench/$bench${n}_$name; [ -f $out.json ] && exit 0
  OMP_NUM_THREADS=1 rm eval task=text benchmark=$bench limit=$n task.truncate_prompt=true \
    checkpoint='"$MINILM"'/$name/checkpoints/last.ckpt sampler=$3 output=$out.json > $out.log 2>&1 \
    || { echo "failed: $bench $name (see $out.log)"; exit 255; }'


NATIVE="$MINILM/native"
mkdir -p "$NATIVE/logs" "$NATIVE/results"
NATIVE_COMMON="$MINILM_SETTINGS trainer.max_steps=750 trainer.val_check_interval=750"
# native_chain S: SFT 750 steps -> its native cache -> 750 RM + HER steps on it; each stage skipped when its output exists
native_chain() {
  local s=$1 d=$NATIVE sft=$NATIVE/sft750_seed$1 cache=$NATIVE/native_k8_seed$1 rm=$NATIVE/sft750_rm_her_native750_seed$1
  [ -f "$sft/summary.json" ] || rm train $NATIVE_COMMON objective=mdm history=off sampler=vanilla_text seed=$s \
    run_dir="$sft" > "$d/logs/sft750_seed$s.log" 2>&1 || { echo "failed: sft750_seed$s"; return 1; }
  [ -f "$cache/rm_native.json" ] || OMP_NUM_THREADS=1 rm prepare task=text split=native k=8 \
    checkpoint="$sft/checkpoints/last.ckpt" output="$cache" > "$d/logs/prepare_seed$s.log" 2>&1 \
    || { echo "failed: prepare seed $s"; return 1; }
  [ -f "$rm/summary.json" ] || rm train $NATIVE_COMMON objective=rm history=her sampler=rm_text corruption=native \
    corruption.cache="$cache" init_from="$sft/checkpoints/last.ckpt" seed=$s run_dir="$rm" \
    > "$d/logs/sft750_rm_her_native750_seed$s.log" 2>&1 || { echo "failed: rm_her_native seed $s"; return 1; }
  score_run "$d" "sft750_rm_her_native750_seed$s" "sft750_rm_her_native750_seed$s" rm_text || return 1
  score_run "$d" "sft750_seed$s" "sft750_seed$s" vanilla_text || return 1
}
pids=()
for s in 0 1 2; do native_chain $s & pids+=($!); done
for p in "${pids[@]}"; do wait "$p"; done
python scripts/text_table.py "$NATIVE" --out "$NATIVE/text_minilm_native"
mkdir -p "$NATIVE/paired"  # step 5's SFT runs (1500 steps) beside the native runs, seed by seed
for s in 0 1 2; do
  ln -sf "$(realpath "$MINILM/results/sft_seed$s.json")" "$NATIVE/paired/sft_seed$s.json"
  ln -sf "$(realpath "$NATIVE/results/sft750_rm_her_native750_seed$s.json")" "$NATIVE/paired/"
done
python scripts/text_paired.py "$NATIVE/paired" sft sft750_rm_her_native750 --out "$NATIVE/text_minilm_native_paired.md"

# step 8: SFT's own second stage from the same first stage (seeds 2, 0 and 1)
sft_control() {
  local s=$1 d=$NATIVE run=sft750_sft750_seed$1
  [ -f "$d/$run/summary.json" ] || rm train $NATIVE_COMMON objective=mdm history=off sampler=vanilla_text \
    init_from="$d/sft750_seed$s/checkpoints/last.ckpt" seed=$s run_dir="$d/$run" > "$d/logs/$run.log" 2>&1 \
    || { echo "failed: $run (see $d/logs/$run.log)"; return 1; }
  score_run "$d" "$run" "$run" vanilla_text
}
mkdir -p "$NATIVE/control"
for s in 2 0 1; do
  sft_control $s
  ln -sf "$(realpath "$NATIVE/results/sft750_sft750_seed$s.json")" "$NATIVE/control/"
  ln -sf "$(realpath "$NATIVE/results/sft750_rm_her_native750_seed$s.json")" "$NATIVE/control/"
done
python scripts/text_paired.py "$NATIVE/control" sft750_sft750 sft750_rm_her_native750 \
  --out "$NATIVE/text_minilm_native_control_paired.md"
for s in 0 1 2; do ln -sf "$(realpath "$MINILM/results/sft_seed$s.json")" "$NATIVE/control/"; done  # step 5's one-cycle SFT
python scripts/text_paired.py "$NATIVE/control" sft750_sft750 sft --out "$NATIVE/text_minilm_native_control_sft_paired.md"

# wrong_rate_study RATE NAME:DIR...: step 5's RM + HER at task.wrong_rate=RATE, seeds 0, 1, 2, in
# OUT/minilm/wrong_rate_RATE/ (table text_minilm_wrRATE), paired seed by seed against each NAME's runs in DIR/results/.
wrong_rate_study() {
  local rate=$1 baseline m from s; shift
  local dir="$MINILM/wrong_rate_$rate" name="rm_her_wr$rate"
  mkdir -p "$dir/logs" "$dir/results" "$dir/paired"
  for s in 0 1 2; do
    echo "${name}_seed$s rm_text objective=rm history=her task.wrong_rate=$rate seed=$s"
  done | train_and_score "$dir" "$MINILM_COMMON"
  python scripts/text_table.py "$dir" --out "$dir/text_minilm_wr$rate"
  for s in 0 1 2; do ln -sf "$(realpath "$dir/results/${name}_seed$s.json")" "$dir/paired/"; done
  for baseline in "$@"; do
    m=${baseline%%:*} from=${baseline#*:}
    for s in 0 1 2; do ln -sf "$(realpath "$from/results/${m}_seed$s.json")" "$dir/paired/"; done
    python scripts/text_paired.py "$dir/paired" "$m" "$name" --out "$dir/text_minilm_paired_${m}_$name.md"
  done
}

# step 9: step 5's RM + HER with a third of the wrong answer tokens (task.wrong_rate=0.1), paired against step 5's
# SFT and RM + HER runs (OUT/minilm/wrong_rate_0.1/).
wrong_rate_study 0.1 "sft:$MINILM" "rm_her:$MINILM"

# step 10: the same at task.wrong_rate=0.05, paired against step 5's SFT and step 9's rate-0.1 runs
# (OUT/minilm/wrong_rate_0.05/).
wrong_rate_study 0.05 "sft:$MINILM" "rm_her_wr0.1:$MINILM/wrong_rate_0.1"
