#!/usr/bin/env bash
# One idempotent set-up for mmpatch: builds .venv in the repository with the
# OpenMMLab 2.x stack pinned to versions that work together on torch 2.14.
#
#   bash tools/install.sh          # set up (fast no-op when already done)
#   FORCE=1 bash tools/install.sh  # redo every step
#
# Environment:
#   PYTHON           interpreter used to create the venv (default: python3)
#   VENV             venv folder (default: <repo>/.venv)
#   MMPATCH_CACHE    where the built mmcv wheel is cached, outside the repo
#                    (default: ${XDG_CACHE_HOME:-$HOME/.cache}/mmpatch)
#   MAX_JOBS         compile jobs for mmcv (default: number of cores)
#
# Why each step exists is written in docs/install.md.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
VENV="${VENV:-$REPO/.venv}"
CACHE="${MMPATCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mmpatch}"
MMCV_VERSION="2.1.0"
TORCH_VERSION="2.14.1"
TORCHVISION_VERSION="0.29.1"
MAX_JOBS="${MAX_JOBS:-$(nproc)}"
STAMP="$VENV/.mmpatch-installed"

log() { printf '[install] %s\n' "$*" >&2; }
die() { printf '[install] ERROR: %s\n' "$*" >&2; exit 1; }

# The stamp records the inputs of the set-up; when they are unchanged and the
# import check passes, there is nothing to do.
inputs_hash() {
    cat "$REPO/tools/install.sh" "$REPO"/requirements/*.txt "$REPO/setup.py" | sha256sum | cut -d' ' -f1
}

check_stack() {
    "$VENV/bin/python" - <<'PY'
import importlib
from mmcv.ops import nms  # fails when mmcv was built without its ops
import mmdet.models, mmseg.models, mmpretrain.models  # noqa: F401
import torch, mmcv, mmdet, mmseg, mmpretrain, mmengine
print(f'[install] ok: torch {torch.__version__}, mmengine {mmengine.__version__}, '
      f'mmcv {mmcv.__version__} (ops), mmdet {mmdet.__version__}, '
      f'mmseg {mmseg.__version__}, mmpretrain {mmpretrain.__version__}')
PY
}

if [[ -z "${FORCE:-}" && -f "$STAMP" && "$(cat "$STAMP")" == "$(inputs_hash)" ]]; then
    if check_stack 2>/dev/null; then
        "$VENV/bin/pip" install -q --no-deps --no-build-isolation -e "$REPO" >/dev/null
        exit 0
    fi
    log "stamp present but the import check failed: reinstalling"
fi

t0=$(date +%s)
if [[ ! -x "$VENV/bin/python" ]]; then
    log "creating $VENV with $($PYTHON --version)"
    "$PYTHON" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip)
# the machine-wide pip config names local index folders that may not exist
export PIP_NO_WARN_SCRIPT_LOCATION=1
export PIP_DISABLE_PIP_VERSION_CHECK=1

log "1/7 pip, torch $TORCH_VERSION, torchvision $TORCHVISION_VERSION"
"${PIP[@]}" install -q -U pip
"${PIP[@]}" install -q "torch==$TORCH_VERSION" "torchvision==$TORCHVISION_VERSION"

# torch pulls setuptools 84, which has no pkg_resources; mmcv's setup.py and
# mmengine's `mmdet::` config resolution both import it.
log "2/7 build tools (setuptools<82 for pkg_resources)"
"${PIP[@]}" install -q "setuptools>=77.0.3,<82" wheel ninja psutil

log "3/7 pinned runtime dependencies"
"${PIP[@]}" install -q -r "$REPO/requirements/runtime.txt" -r "$REPO/requirements/tests.txt"
# mmengine's metadata asks for the GUI opencv-python; its real needs are above.
"${PIP[@]}" install -q --no-deps mmengine==0.10.7

log "4/7 mmcv $MMCV_VERSION with CPU ops (cached wheel, keyed by mmcv + torch version)"
TORCH_FULL="$("$VENV/bin/python" -c 'import torch; print(torch.__version__)')"
PYTAG="$("$VENV/bin/python" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')"
WHEEL_DIR="$CACHE/wheels/mmcv-$MMCV_VERSION/torch-$TORCH_FULL/$PYTAG"
mkdir -p "$WHEEL_DIR"
WHEEL="$(ls "$WHEEL_DIR"/mmcv-"$MMCV_VERSION"-*.whl 2>/dev/null | head -n1 || true)"
if [[ -z "$WHEEL" ]]; then
    SRC="$(mktemp -d)"
    trap 'rm -rf "$SRC"' EXIT
    log "    no cached wheel in $WHEEL_DIR: building from the PyPI sdist (12-15 min on 2 cores)"
    "${PIP[@]}" download -q --no-deps --no-binary :all: --no-build-isolation -d "$SRC" "mmcv==$MMCV_VERSION"
    tar xzf "$SRC/mmcv-$MMCV_VERSION.tar.gz" -C "$SRC"
    # mmcv's setup.py hard-codes -std=c++17; use the standard the installed
    # torch's headers demand (torch >= 2.10 stops with "C++20 or later ... required").
    # Probe: compile ATen's header under each standard, keep the first that passes.
    TORCH_INC="$("$VENV/bin/python" -c 'import torch.utils.cpp_extension as c; print(" ".join("-I" + p for p in c.include_paths()))')"
    STD=""
    for cand in c++17 c++20; do
        if echo '#include <ATen/ATen.h>' | ${CXX:-c++} -std=$cand -fsyntax-only -x c++ $TORCH_INC - 2>/dev/null; then
            STD=$cand; break
        fi
    done
    [[ -n "$STD" ]] || die "neither -std=c++17 nor -std=c++20 compiles torch's ATen.h with ${CXX:-c++}"
    log "    compiling with -std=$STD, MAX_JOBS=$MAX_JOBS"
    sed -i "s/-std=c++1[47]/-std=$STD/g" "$SRC/mmcv-$MMCV_VERSION/setup.py"
    BUILD_LOG="$CACHE/mmcv-build.log"
    log "    build log: $BUILD_LOG"
    if ! (cd "$SRC/mmcv-$MMCV_VERSION" && MMCV_WITH_OPS=1 FORCE_CUDA="${FORCE_CUDA:-0}" MAX_JOBS="$MAX_JOBS" \
        "${PIP[@]}" wheel -q --no-build-isolation --no-deps -w "$SRC/dist" .) >"$BUILD_LOG" 2>&1; then
        grep -E "error|Error" "$BUILD_LOG" | head -n 20 >&2 || true
        die "building mmcv $MMCV_VERSION failed; the whole log is $BUILD_LOG"
    fi
    built="$(ls "$SRC"/dist/mmcv-"$MMCV_VERSION"-*.whl)"
    # copy then rename so an interrupted copy never looks like a cached wheel
    cp "$built" "$WHEEL_DIR/.partial" && mv "$WHEEL_DIR/.partial" "$WHEEL_DIR/$(basename "$built")"
    WHEEL="$WHEEL_DIR/$(basename "$built")"
else
    log "    using cached $WHEEL"
fi
"${PIP[@]}" install -q --no-deps --force-reinstall "$WHEEL"

log "5/7 mmdet, mmsegmentation, mmpretrain (--no-deps: their pins reject mmcv 2.1 + numpy 2)"
"${PIP[@]}" install -q --no-deps mmdet==3.3.0 mmsegmentation==1.2.2 mmpretrain==1.2.0

log "6/7 mmpatch (editable)"
"${PIP[@]}" install -q --no-deps --no-build-isolation -e "$REPO"

log "7/7 import check"
check_stack || die "the OpenMMLab stack does not import; see the traceback above"
inputs_hash > "$STAMP"
log "done in $(( $(date +%s) - t0 )) s"
