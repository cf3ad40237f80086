#!/usr/bin/env bash
# The device check of issue #21, on a CUDA machine, from a fresh copy of the
# repository and a wheel folder, in at most 8 minutes:
#   1. install from the wheel folder into the machine's Python (tools/install.sh,
#      TARGET mode: pip --target, the machine's torch kept)
#   2. the CUDA tests (pytest -m cuda)
#   3. tools/analysis_tools/benchmark_memory.py on CUDA: FCOS-R50 ours (k = 1)
#      against the stock full-image FCOS-R50 at 2048/4096/8192 px, the
#      UltraDigits U-Net at 2048/4096, the PANDA ResNet-50 at 4096
#   4. if time is left, a short training of the UltraDigits detection comparison
#   5. device_check.json + device_check.log in the output folder ($OUT when set)
#
#   bash tools/device_check.sh --wheels .wheels       # .wheels: a copy of ../shared/device
#   bash tools/device_check.sh --dry-run --out /tmp/dc   # fake steps: the orchestration on a CPU
#   bash tools/device_check.sh --help                 # every option, the steps and their shares
#
# PYTHON names the machine's interpreter (default python3); the logic is in
# tools/analysis_tools/device_check.py. After a real run, copy device_check.json
# into docs/gpu/ and run: python tools/analysis_tools/run_benchmarks.py --only
# page (or gpu_report.py --doc docs/benchmarks.md for that section alone)
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
exec "${PYTHON:-python3}" "$REPO/tools/analysis_tools/device_check.py" "$@"
