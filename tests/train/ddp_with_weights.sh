#!/usr/bin/env bash
# Usage: ddp_with_weights.sh SATCLIP_DDP RECIPE OUTPUT_DIR FILE
# satclip-ddp --dry-run of RECIPE with model.weights=FILE (and the seed's architecture), for
# expect_clean_errors.sh: the weights are loaded while the trainer is set up.
exec "$1" "$2" --dry-run --set "output.dir=$3" --set "model.geoclip_sigmas=[1,16,256]" --set model.embed_dim=256 \
  --set "model.weights=$4"
