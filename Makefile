# mmpatch: the two commands of the README, and the rest.
#   make demo        set up if needed, then ours against the equal-memory baselines on UltraDigits-scales (short schedule)
#   make test        set up if needed, then the whole test suite
#   make benchmarks  regenerate every figure and table of docs/benchmarks.md
#                    (about 3 h on 2 cores; sections and the schedule's
#                    arithmetic: tools/analysis_tools/run_benchmarks.py)
#   make data-cls    UltraDigits-cls, the classification benchmark's canvases
#   make data-scales UltraDigits-scales, the detection comparison's canvases
#   make pretrained  the locally pretrained narrow ResNet-18 (classifiers and detectors)
#   make device-check  on a CUDA machine: install from WHEELS (default .wheels),
#                    CUDA tests, GPU benchmarks, in 8 minutes (tools/device_check.sh)
PY := .venv/bin/python
# mmengine imports pkg_resources, which warns on every import
export PYTHONWARNINGS := ignore:pkg_resources is deprecated
DATA ?= data/ultradigits

.PHONY: setup demo test benchmarks data data-cls data-scales pretrained clean device-check

setup:
	bash tools/install.sh

data: setup
	$(PY) tools/make_ultradigits.py --out $(DATA)

demo: data-scales pretrained
	OMP_NUM_THREADS=1 $(PY) tools/demo.py

test: setup
	$(PY) -m pytest tests -q -p no:cacheprovider

data-cls: setup
	$(PY) tools/make_ultradigits_cls.py --out data/ultradigits_cls --num-test 256

data-scales: setup
	$(PY) tools/make_ultradigits_scales.py --out data/ultradigits_scales

# every UltraDigits classification config and every detector of
# configs/det/ultradigits_scales loads this backbone (init_cfg)
pretrained: checkpoints/resnet18n_digits.pth
checkpoints/resnet18n_digits.pth:
	$(MAKE) setup
	$(PY) tools/pretrain_digits.py --out $@

benchmarks: data data-cls data-scales pretrained
	$(PY) tools/analysis_tools/run_benchmarks.py

# no setup: it installs into the machine's own Python (tools/install.sh TARGET)
device-check:
	bash tools/device_check.sh --wheels $(or $(WHEELS),.wheels)

clean:
	rm -rf work_dirs
