#!/usr/bin/env bash
# One idempotent set-up for mmpatch: the OpenMMLab 2.x stack pinned to
# versions that work together, then mmpatch itself.
#
#   bash tools/install.sh          # .venv with the pinned stack (a no-op when done)
#   FORCE=1 bash tools/install.sh  # redo every step
#   WHEELS=dir bash tools/install.sh
#       offline: every pip call is --no-index --find-links dir
#   TARGET=dir WHEELS=dir PYTHON=python3 bash tools/install.sh
#       into an interpreter that already has torch (a GPU machine), no venv:
#       pip --target dir; then use PYTHONPATH=dir:<repo>
#   SYSTEM_SITE=1 PYTHON=python3 bash tools/install.sh
#       a venv that sees PYTHON's packages, so its torch is used
#
# With TARGET or SYSTEM_SITE=1 the interpreter must have torch; it is kept,
# and so is every package it has: only what it lacks is installed (from a
# wheel folder: tools/install_kit.py select). Otherwise torch and the
# runtime requirements are installed at their pins (a torch already in the
# venv is kept).
#
# Environment:
#   PYTHON           interpreter (default: python3)
#   VENV             venv folder (default: <repo>/.venv); unused with TARGET
#   TARGET           pip --target folder for PYTHON itself
#   SYSTEM_SITE      1: create the venv with --system-site-packages
#   WHEELS           a wheel folder: install offline from it
#   MMPATCH_CACHE    where a built mmcv wheel is cached, outside the repo
#                    (default: ${XDG_CACHE_HOME:-$HOME/.cache}/mmpatch)
#   MAX_JOBS         compile jobs for mmcv (default: number of cores)
#   FORCE_CUDA, TORCH_CUDA_ARCH_LIST   mmcv's CUDA ops (docs/install.md)
#
# Why each step exists is written in docs/install.md.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
VENV="${VENV:-$REPO/.venv}"
TARGET="${TARGET:-}"
WHEELS="${WHEELS:-}"
CACHE="${MMPATCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mmpatch}"
MMCV_VERSION="2.1.0"
TORCH_VERSION="2.14.1"
TORCHVISION_VERSION="0.29.1"
MAX_JOBS="${MAX_JOBS:-$(nproc)}"
KIT="$REPO/tools/install_kit.py"

log() { printf '[install] %s\n' "$*" >&2; }
die() { printf '[install] ERROR: %s\n' "$*" >&2; exit 1; }

if [[ -n "$WHEELS" ]]; then
    [[ -d "$WHEELS" ]] || die "WHEELS=$WHEELS is not a folder"
    WHEELS="$(cd "$WHEELS" && pwd)"
fi
# the machine-wide pip config may name index folders that do not exist
export PIP_NO_WARN_SCRIPT_LOCATION=1 PIP_DISABLE_PIP_VERSION_CHECK=1
OFFLINE=()
[[ -n "$WHEELS" ]] && OFFLINE=(--no-index --find-links "$WHEELS")

if [[ -n "$TARGET" ]]; then      # PYTHON itself, packages in TARGET
    MODE=present
    mkdir -p "$TARGET"
    TARGET="$(cd "$TARGET" && pwd)"
    PY="$(command -v "$PYTHON")" || die "PYTHON=$PYTHON not found"
    export PYTHONPATH="$TARGET:$REPO${PYTHONPATH:+:$PYTHONPATH}"
    PIP=("$PY" -m pip install -q --target "$TARGET" --upgrade --no-compile)
    STAMP="$TARGET/.mmpatch-installed"
else
    MODE=pinned
    [[ -n "${SYSTEM_SITE:-}" ]] && MODE=present
    PY="$VENV/bin/python"
    PIP=("$PY" -m pip install -q)
    STAMP="$VENV/.mmpatch-installed"
fi

# The stamp records the inputs of the set-up; when they are unchanged and the
# import check passes, there is nothing to do.
inputs_hash() {
    { cat "$REPO/tools/install.sh" "$KIT" "$REPO"/requirements/*.txt "$REPO/setup.py"
      echo "$MODE $TARGET $PYTHON"; if [[ -n "$WHEELS" ]]; then ls -lL "$WHEELS"; fi; } | sha256sum | cut -d' ' -f1
}
# into a machine's own Python (present), a mmpretrain without torchvision
# is a warning: detection and segmentation still work there
check_stack() { (cd /tmp && "$PY" "$KIT" check $([[ "$MODE" == present ]] && echo --lenient)); }

if [[ -z "${FORCE:-}" && -f "$STAMP" && "$(cat "$STAMP")" == "$(inputs_hash)" ]]; then
    if check_stack 2>/dev/null; then
        [[ -z "$TARGET" ]] && "${PIP[@]}" --no-deps --no-build-isolation -e "$REPO" >/dev/null
        exit 0
    fi
    log "stamp present but the import check failed: reinstalling"
fi

t0=$(date +%s)
if [[ -z "$TARGET" && ! -x "$PY" ]]; then
    SITE=(); [[ "$MODE" == present ]] && SITE=(--system-site-packages)
    log "creating $VENV ${SITE[*]} with $($PYTHON --version)"
    "$PYTHON" -m venv "${SITE[@]}" "$VENV"
fi
HAVE_TORCH="$("$PY" -c 'import torch; print(torch.__version__)' 2>/dev/null || true)"
log "mode: $MODE${TARGET:+ (pip --target $TARGET)}${WHEELS:+, offline from $WHEELS}; $("$PY" --version)"

if [[ "$MODE" == present ]]; then
    [[ -n "$HAVE_TORCH" ]] || die "$PY has no torch: TARGET and SYSTEM_SITE=1 install into an interpreter that has one"
    log "1/7 torch $HAVE_TORCH present: kept (never reinstalled)"
    if [[ -n "$WHEELS" ]]; then
        log "2-3/7 the folder's wheels this interpreter lacks, and the OpenMMLab pins"
        mapfile -t SEL < <("$PY" "$KIT" select "$WHEELS")
        # --ignore-installed: in a --system-site-packages venv the pins go
        # into the venv without touching the system's copies
        IGN=(); [[ -z "$TARGET" ]] && IGN=(--ignore-installed)
        "${PIP[@]}" "${OFFLINE[@]}" --no-deps "${IGN[@]}" "${SEL[@]}"
    else
        log "2-3/7 requirements this interpreter lacks (present ones kept)"
        "$PY" -c 'import pkg_resources' 2>/dev/null || "${PIP[@]}" "setuptools>=77.0.3,<82"
        mapfile -t MISS < <("$PY" "$KIT" missing "$REPO/requirements/runtime.txt" "$REPO/requirements/tests.txt")
        # with TARGET, --no-deps: pip --target would copy what is present
        ND=(); [[ -n "$TARGET" ]] && ND=(--no-deps)
        [[ ${#MISS[@]} -eq 0 ]] || "${PIP[@]}" "${ND[@]}" "${MISS[@]}"
        "${PIP[@]}" --no-deps mmengine==0.10.7
        "${PIP[@]}" --no-deps -r "$REPO/requirements/benchmarks.txt"
    fi
else
    if [[ -n "$HAVE_TORCH" ]]; then
        log "1/7 torch $HAVE_TORCH present in $VENV: kept"
    else
        log "1/7 pip, torch $TORCH_VERSION, torchvision $TORCHVISION_VERSION"
        [[ -z "$WHEELS" ]] && "${PIP[@]}" -U pip
        "${PIP[@]}" "${OFFLINE[@]}" "torch==$TORCH_VERSION" "torchvision==$TORCHVISION_VERSION"
    fi
    # torch pulls setuptools 84, which has no pkg_resources; mmcv's setup.py and
    # mmengine's `mmdet::` config resolution both import it.
    log "2/7 build tools (setuptools<82 for pkg_resources)"
    "${PIP[@]}" "${OFFLINE[@]}" "setuptools>=77.0.3,<82" wheel ninja psutil
    log "3/7 pinned runtime dependencies"
    "${PIP[@]}" "${OFFLINE[@]}" -r "$REPO/requirements/runtime.txt" -r "$REPO/requirements/tests.txt"
    # mmengine's metadata asks for the GUI opencv-python; its real needs are above.
    "${PIP[@]}" "${OFFLINE[@]}" --no-deps mmengine==0.10.7
    # the benchmarks' sliced inference (sahi); --no-deps: its metadata, too,
    # asks for the GUI opencv-python. A wheel folder without it leaves the
    # sliced-inference tests skipped.
    if [[ -z "$WHEELS" ]] || ls "$WHEELS"/sahi-*.whl >/dev/null 2>&1; then
        "${PIP[@]}" "${OFFLINE[@]}" --no-deps -r "$REPO/requirements/benchmarks.txt"
    else
        log "    $WHEELS has no sahi wheel: the sliced-inference tests will skip"
    fi
fi

log "4/7 mmcv $MMCV_VERSION"
WHEEL=""
[[ -n "$WHEELS" ]] && WHEEL="$("$PY" "$KIT" find-mmcv "$WHEELS")"
if [[ -n "$WHEEL" ]]; then
    log "    from the wheel folder: $WHEEL"
else
    # keyed by torch version, CPU or CUDA ops (and their architectures) and
    # Python: an mmcv wheel is tied to the torch it was built against (pip's
    # own wheel cache ignores that)
    read -r KEY ARCHS < <("$PY" "$KIT" mmcv-key)
    [[ -n "$ARCHS" ]] && export TORCH_CUDA_ARCH_LIST="$ARCHS" FORCE_CUDA=1
    WHEEL_DIR="$CACHE/wheels/mmcv-$MMCV_VERSION/$KEY"
    mkdir -p "$WHEEL_DIR"
    WHEEL="$(ls "$WHEEL_DIR"/mmcv-"$MMCV_VERSION"-*.whl 2>/dev/null | head -n1 || true)"
    # before the key named the ops, CPU builds were cached one level up
    OLD="$(dirname "$(dirname "$WHEEL_DIR")")/$(basename "$WHEEL_DIR")"
    OLD_WHEEL="$(ls "$OLD"/mmcv-"$MMCV_VERSION"-*.whl 2>/dev/null | head -n1 || true)"
    if [[ -z "$WHEEL" && -n "$OLD_WHEEL" && "$KEY" == */ops-cpu/* \
          && "$("$PY" "$KIT" wheel-ops "$OLD_WHEEL")" == cpu ]]; then
        log "    copying the CPU-ops wheel cached under the old key $OLD_WHEEL"
        cp "$OLD_WHEEL" "$WHEEL_DIR/.partial" && mv "$WHEEL_DIR/.partial" "$WHEEL_DIR/$(basename "$OLD_WHEEL")"
        WHEEL="$WHEEL_DIR/$(basename "$OLD_WHEEL")"
    fi
    if [[ -z "$WHEEL" ]]; then
        SRC="$(mktemp -d)"
        trap 'rm -rf "$SRC"' EXIT
        log "    no cached wheel in $WHEEL_DIR: building from the sdist (CPU ops: 12-15 min on 2 cores)"
        "$PY" -m pip download -q "${OFFLINE[@]}" --no-deps --no-binary :all: --no-build-isolation -d "$SRC" "mmcv==$MMCV_VERSION"
        tar xzf "$SRC/mmcv-$MMCV_VERSION.tar.gz" -C "$SRC"
        # mmcv's setup.py hard-codes -std=c++17; use the standard the installed
        # torch's headers demand (torch >= 2.10 stops with "C++20 or later ... required").
        # Probe: compile ATen's header under each standard, keep the first that passes.
        TORCH_INC="$("$PY" -c 'import torch.utils.cpp_extension as c; print(" ".join("-I" + p for p in c.include_paths()))')"
        STD=""
        for cand in c++17 c++20; do
            if echo '#include <ATen/ATen.h>' | ${CXX:-c++} -std=$cand -fsyntax-only -x c++ $TORCH_INC - 2>/dev/null; then
                STD=$cand; break
            fi
        done
        [[ -n "$STD" ]] || die "neither -std=c++17 nor -std=c++20 compiles torch's ATen.h with ${CXX:-c++}"
        log "    compiling with -std=$STD, MAX_JOBS=$MAX_JOBS, key $KEY"
        sed -i "s/-std=c++1[47]/-std=$STD/g" "$SRC/mmcv-$MMCV_VERSION/setup.py"
        BUILD_LOG="$CACHE/mmcv-build.log"
        log "    build log: $BUILD_LOG"
        if ! (cd "$SRC/mmcv-$MMCV_VERSION" && MMCV_WITH_OPS=1 FORCE_CUDA="${FORCE_CUDA:-0}" MAX_JOBS="$MAX_JOBS" \
            "$PY" -m pip wheel -q --no-build-isolation --no-deps -w "$SRC/dist" .) >"$BUILD_LOG" 2>&1; then
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
fi
FR=(--force-reinstall); [[ "$MODE" == present ]] && FR=(--ignore-installed)
[[ -n "$TARGET" ]] && FR=()
"${PIP[@]}" --no-deps "${FR[@]}" "$WHEEL"

log "5/7 mmdet, mmsegmentation, mmpretrain (--no-deps: their pins reject mmcv 2.1 + numpy 2)"
if [[ "$MODE" == pinned || -z "$WHEELS" ]]; then
    "${PIP[@]}" "${OFFLINE[@]}" --no-deps mmdet==3.3.0 mmsegmentation==1.2.2 mmpretrain==1.2.0
else
    log "    (installed with the folder's wheels above)"
fi
# mmpretrain 1.2.0 fails to import beside transformers 5 (docs/install.md)
log "    $("$PY" "$KIT" patch-mmpretrain)"

if [[ -n "$TARGET" ]]; then
    log "6/7 mmpatch: from the repository, PYTHONPATH=$TARGET:$REPO"
else
    log "6/7 mmpatch (editable)"
    "${PIP[@]}" --no-deps --no-build-isolation -e "$REPO"
fi

log "7/7 import check"
check_stack || die "the OpenMMLab stack does not import; see the traceback above"
inputs_hash > "$STAMP"
log "done in $(( $(date +%s) - t0 )) s${TARGET:+; use: export PYTHONPATH=$TARGET:$REPO}"
