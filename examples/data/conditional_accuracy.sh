#!/bin/sh
# How often a conditional generator draws the class it is asked for: for each class c,
# `flock generate GAN --condition c` draws N samples, `flock predict CLASSIFIER` labels
# them, and the share labelled c is printed per class and over all classes.
# Usage: conditional_accuracy.sh FLOCK GAN_RUN_OR_CHECKPOINT CLASSIFIER_RUN [N] [SEED]
set -eu
flock=$1 gan=$2 classifier=$3 samples=${4:-100} seed=${5:-1}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
total=0 correct=0
for class in 0 1 2 3 4 5 6 7 8 9; do
    "$flock" generate "$gan" --samples "$samples" --condition "$class" --seed "$seed" --output "$work/g.csv" > /dev/null
    "$flock" predict "$classifier" --data "$work/g.csv" --output "$work/p.jsonl" > /dev/null
    hits=$(grep -c "\"prediction\":\"$class\"\|\"prediction\":$class[,}]" "$work/p.jsonl" || true)
    echo "class $class: $hits/$samples"
    total=$((total + samples)) correct=$((correct + hits))
done
echo "all: $correct/$total = $(awk "BEGIN { printf \"%.1f\", 100 * $correct / $total }") %"
