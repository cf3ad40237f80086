# mmpatch: the two commands of the README, and the rest.
#   make demo        set up if needed, then train + evaluate the main job on UltraDigits
#   make test        set up if needed, then the whole test suite
#   make benchmarks  regenerate every figure and table of docs/benchmarks.md
#                    (about 3 h on 2 cores; sections and the schedule's
#                    arithmetic: tools/analysis_tools/run_benchmarks.py)
#   make data-cls    UltraDigits-cls, the classification benchmark's canvases
#   make pretrained  the UltraDigits classifiers' locally pretrained backbone
#   make device-check  on a CUDA machine: install from WHEELS (default .wheels),
#                    CUDA tests, GPU benchmarks, in 8 minutes (tools/device_check.sh)
PY := .venv/bin/python
# mmengine imports pkg_resources, which warns on every import
export PYTHONWARNINGS := ignore:pkg_resources is deprecated
DATA ?= data/ultradigits
DEMO_CONFIG ?= configs/det/fcos_patchgd_ultradigits.py

.PHONY: setup demo test benchmarks data data-cls pretrained clean device-check

setup:
	bash tools/install.sh

data: setup
	$(PY) tools/make_ultradigits.py --out $(DATA)

demo: data
	$(PY) tools/demo.py --config $(DEMO_CONFIG) --max-iters 360

test: setup
	$(PY) -m pytest tests -q -p no:cacheprovider

data-cls: setup
	$(PY) tools/make_ultradigits_cls.py --out data/ultradigits_cls --num-test 256

# every UltraDigits classification config loads this backbone (init_cfg)
pretrained: checkpoints/resnet18n_digits.pth
checkpoints/resnet18n_digits.pth:
	$(MAKE) setup
	$(PY) tools/pretrain_digits.py --out $@

benchmarks: data data-cls pretrained
	$(PY) tools/analysis_tools/run_benchmarks.py

# no setup: it installs into the machine's own Python (tools/install.sh TARGET)
device-check:
	bash tools/device_check.sh --wheels $(or $(WHEELS),.wheels)

clean:
	rm -rf work_dirs
