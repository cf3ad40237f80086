#!/usr/bin/env bash
# Distributed training on one or more machines (mmdet's tools/dist_train.sh,
# with torchrun instead of the deprecated torch.distributed.launch):
#
#   bash tools/dist_train.sh CONFIG GPUS [train.py options ...]
#   NNODES=2 NODE_RANK=0 MASTER_ADDR=10.0.0.1 bash tools/dist_train.sh CONFIG 8
#
# Each process runs tools/train.py CONFIG --launcher pytorch; mmpatch configs
# select model_wrapper_cfg = dict(type='PatchGDDistributedDataParallel')
# (see docs/distributed.md). PYTHON picks the interpreter (default: python).

CONFIG=$1
GPUS=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
PYTHON=${PYTHON:-python}

PYTHONPATH="$(dirname $0)/..":$PYTHONPATH \
$PYTHON -m torch.distributed.run \
    --nnodes=$NNODES \
    --node_rank=$NODE_RANK \
    --master_addr=$MASTER_ADDR \
    --nproc_per_node=$GPUS \
    --master_port=$PORT \
    $(dirname "$0")/train.py \
    $CONFIG \
    --launcher pytorch ${@:3}
