"""Inference on new images (#29): the host libraries' inferencers run our
configs and checkpoints unchanged, and ``tools/predict.py`` writes their
outputs and pictures for a folder of images."""
import json
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config

from tests.conftest import host_scope

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
#: task -> (config, host scope): the CPU-sized UltraDigits configs
CONFIGS = dict(
    det=('configs/det/fcos_patchgd_ultradigits.py', 'mmdet'),
    seg=('configs/seg/unet_patchgd_ultradigits.py', 'mmseg'),
    cls=('configs/cls/resnet_patchgd_ultradigits.py', 'mmpretrain'))


def make_checkpoint(task: str, path: str) -> str:
    """A checkpoint of the task's PatchGD model, random weights."""
    config, scope = CONFIGS[task]
    cfg = Config.fromfile(osp.join(ROOT, config))
    with host_scope(scope):
        import importlib
        for module in cfg.custom_imports['imports']:
            importlib.import_module(module)
        registry = importlib.import_module(f'{scope}.registry').MODELS
        torch.manual_seed(0)
        model = registry.build(cfg.model)
    torch.save(dict(state_dict=model.state_dict(), meta={}), path)
    return path


def image(seed: int, shape=(300, 420)) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (*shape, 3),
                                                dtype=np.uint8)


@pytest.mark.parametrize('task', ['det', 'seg', 'cls'])
def test_host_inferencer_runs_our_checkpoint(task, tmp_path):
    """Each host library's inferencer builds our config, loads our
    checkpoint and returns its own result type for a whole image."""
    ckpt = make_checkpoint(task, str(tmp_path / 'model.pth'))
    config = osp.join(ROOT, CONFIGS[task][0])
    img = image(0)
    if task == 'det':
        from mmdet.apis import DetInferencer
        from mmdet.structures import DetDataSample
        infer = DetInferencer(model=config, weights=ckpt, device='cpu')
        res = infer(img, return_datasamples=True, no_save_pred=True)
        pred = res['predictions'][0]
        assert isinstance(pred, DetDataSample)
        assert pred.pred_instances.bboxes.shape[1] == 4
        # boxes in the image's own pixels (mmdet rescales them back)
        assert float(pred.pred_instances.bboxes[:, 2].max()) <= 420 + 1
    elif task == 'seg':
        from mmseg.apis import MMSegInferencer
        from mmseg.structures import SegDataSample
        infer = MMSegInferencer(model=config, weights=ckpt, device='cpu')
        pred = infer(img, return_datasamples=True)
        assert isinstance(pred, SegDataSample)
        assert tuple(pred.pred_sem_seg.data.shape) == (1, 300, 420)
    else:
        from mmpretrain.apis import ImageClassificationInferencer
        infer = ImageClassificationInferencer(model=config, pretrained=ckpt,
                                              device='cpu')
        pred = infer(img)[0]
        assert len(pred['pred_scores']) == 4  # the config's four classes
        assert 0 <= pred['pred_label'] < 4


@pytest.mark.parametrize('task', ['det', 'seg', 'cls'])
def test_predict_tool_writes_outputs_for_a_folder(task, tmp_path):
    ckpt = make_checkpoint(task, str(tmp_path / 'model.pth'))
    folder = tmp_path / 'images'
    folder.mkdir()
    for i, shape in enumerate([(300, 420), (520, 260)]):
        cv2.imwrite(str(folder / f'img{i}.png'), image(i, shape))
    (folder / 'notes.txt').write_text('not an image')
    out = tmp_path / 'out'
    proc = subprocess.run(
        [sys.executable, 'tools/predict.py', CONFIGS[task][0], ckpt,
         str(folder), '--out-dir', str(out), '--view-size', '200'],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = [ln for ln in proc.stdout.splitlines() if 'peak' in ln]
    assert len(lines) == 2 and all('MiB' in ln for ln in lines), proc.stdout
    for i, shape in enumerate([(300, 420), (520, 260)]):
        view = cv2.imread(str(out / f'img{i}_view.jpg'))
        assert max(view.shape[:2]) <= 200
        if task == 'seg':
            mask = cv2.imread(str(out / f'img{i}_mask.png'),
                              cv2.IMREAD_UNCHANGED)
            assert mask.shape == shape and mask.max() < 2
            continue
        result = json.loads((out / f'img{i}.json').read_text())
        if task == 'det':
            assert set(result) == {'bboxes', 'scores', 'labels'}
            assert all(s > 0.3 for s in result['scores'])
        else:
            assert len(result['scores']) == 4
            assert result['pred_label'] == int(np.argmax(result['scores']))


def test_predict_tool_names_a_missing_input(tmp_path):
    proc = subprocess.run(
        [sys.executable, 'tools/predict.py', CONFIGS['det'][0], 'x.pth',
         str(tmp_path / 'nothing')],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    assert 'nothing: no such image or folder' in proc.stderr
