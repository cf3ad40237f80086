"""SlicedDetector: sliced inference as a model (mmpatch/evaluation/
sliced_detector.py), in mmengine's loops and with SAHI's merge."""
import json
from types import SimpleNamespace

import pytest
import torch

pytest.importorskip('sahi.slicing')

from tests.test_evaluation.test_sliced import CROP, _cfg, data  # noqa: E402,F401,E501


def _sliced(cfg, **options):
    """The crop baseline's config (a SlicedDetector) with ``options``."""
    assert cfg.model.type == 'SlicedDetector'
    cfg.model.update(options)
    cfg.custom_hooks = []
    return cfg


def test_one_slice_equals_the_test_loop_and_val_scores_sliced(data,  # noqa: F811,E501
                                                              tmp_path):
    """In mmengine's test loop, SlicedDetector with one slice over the
    canvas gives the stock detector's boxes; in the val loop of the
    crop-trained config, 128 px slices score through it."""
    from mmengine.runner import Runner
    from sliced_eval import build_model
    torch.manual_seed(0)
    plain = _cfg(CROP, data, tmp_path / 'a', score_thr=0.0)
    plain.model = plain.model.detector  # the stock FCOS alone
    ckpt = str(tmp_path / 'plain.pth')
    model = build_model(plain)
    torch.save(dict(state_dict=model.state_dict(), meta={}), ckpt)
    wrapped_ckpt = str(tmp_path / 'wrapped.pth')
    torch.save(dict(state_dict={f'detector.{k}': v for k, v in
                                model.state_dict().items()}, meta={}),
               wrapped_ckpt)
    plain.test_evaluator.outfile_prefix = str(tmp_path / 'plain')
    plain.load_from, plain.custom_hooks = ckpt, []
    want = Runner.from_cfg(plain).test()
    one = _sliced(_cfg(CROP, data, tmp_path / 'b', score_thr=0.0),
                  slice_size=None)
    one.test_evaluator.outfile_prefix = str(tmp_path / 'one')
    one.load_from = wrapped_ckpt
    got = Runner.from_cfg(one).test()
    assert got == want
    a = json.load(open(tmp_path / 'plain.bbox.json'))
    b = json.load(open(tmp_path / 'one.bbox.json'))
    assert len(a) == len(b) == 200
    key = lambda d: (d['image_id'], -d['score'], d['bbox'])  # noqa: E731
    for x, y in zip(sorted(a, key=key), sorted(b, key=key)):
        assert x['bbox'] == pytest.approx(y['bbox'], abs=1e-3)
    # the val loop, sliced at 128 px with overlap (9 slices a canvas)
    val = _sliced(_cfg(CROP, data, tmp_path / 'c', score_thr=0.0),
                  slice_size=128, merge='greedynmm')
    val.val_dataloader = val.test_dataloader
    val.val_evaluator = val.test_evaluator
    val.load_from = wrapped_ckpt
    runner = Runner.from_cfg(val)
    calls = []
    step = runner.model.detector.test_step
    runner.model.detector.test_step = lambda d: calls.append(
        len(d['inputs'])) or step(d)
    metrics = runner.val()
    assert 'coco/bbox_mAP' in metrics and 'coco/bbox_AP_tiny' in metrics
    assert sum(calls) == 2 * 9 and max(calls) == 4  # batches of 4 slices


class Pieces(torch.nn.Module):
    """Each slice sees the part of one canvas box inside it (label 1,
    scored by the part's size) and, in the whole canvas, nothing else."""

    def __init__(self, box):
        super().__init__()
        self.box, self.windows = torch.tensor(box, dtype=torch.float32), []
        self.bbox_head = SimpleNamespace(test_cfg=dict(
            nms=dict(type='nms', iou_threshold=0.5), max_per_img=10))

    def test_step(self, data):
        from mmengine.structures import InstanceData
        out = []
        for sample in data['data_samples']:
            x0, y0, x1, y1 = sample.slice_window
            self.windows.append((x0, y0, x1, y1))
            b = self.box.clone()
            b[0::2] = b[0::2].clamp(x0, x1) - x0
            b[1::2] = b[1::2].clamp(y0, y1) - y0
            area = float((b[2] - b[0]) * (b[3] - b[1]))
            keep = area > 0
            sample.pred_instances = InstanceData(
                bboxes=b[None][:int(keep)], labels=torch.ones(int(keep)).long(),
                scores=torch.full((int(keep), ), area / 1e4))
            out.append(sample)
        return out


def _predict(model, **options):
    from mmdet.structures import DetDataSample

    from mmpatch.evaluation.sliced import predict_sliced
    sample = DetDataSample(metainfo=dict(img_shape=(256, 256),
                                         ori_shape=(256, 256),
                                         scale_factor=(1.0, 1.0)))
    return predict_sliced(model, torch.zeros(3, 256, 256, dtype=torch.uint8),
                          sample, **options).pred_instances


def test_greedy_nmm_merges_the_pieces_nms_keeps_one():
    """A box cut by the slice borders: SAHI's merge (IOS 0.5) puts its
    overlapping pieces back together, NMS keeps the best piece."""
    box = [90., 100., 230., 140.]  # wider than a slice
    nms = _predict(Pieces(box), slice_size=128, overlap=0.25)
    merged = _predict(Pieces(box), slice_size=128, overlap=0.25,
                      merge='greedynmm')
    assert len(merged) == 1 and merged.labels.tolist() == [1]
    torch.testing.assert_close(merged.bboxes[0], torch.tensor(box))
    # NMS: the best piece, one slice wide, leads
    torch.testing.assert_close(nms.bboxes[0],
                               torch.tensor([96., 100., 224., 140.]))


def test_whole_image_pass_and_bad_merge():
    model = Pieces([10., 10., 50., 50.])
    _predict(model, slice_size=128, whole_image=True)
    assert model.windows[-1] == (0, 0, 256, 256)
    assert len(model.windows) == 9 + 1
    with pytest.raises(ValueError, match='merge'):
        _predict(model, slice_size=128, merge='wbf')
    import mmpatch.evaluation.sliced_detector as sd
    with pytest.raises(ValueError, match='overlap'):
        sd.SlicedDetector(detector=dict(type='FCOS'), overlap=1.0)


def test_det_inferencer_slices(data, tmp_path):  # noqa: F811
    """mmdet's DetInferencer runs the crop baseline's config as it is: the
    SlicedDetector's test_step, 128 px slices of a 256 px canvas."""
    from mmdet.apis import DetInferencer
    from mmdet.structures import DetDataSample
    from mmengine.config import Config
    from sliced_eval import build_model
    cfg = _sliced(_cfg(CROP, data, tmp_path, score_thr=0.0), slice_size=128)
    model = build_model(cfg)
    ckpt = str(tmp_path / 'm.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict(
        dataset_meta=dict(classes=tuple(str(d) for d in range(10))))), ckpt)
    cfg_path = str(tmp_path / 'sliced.py')
    Config(cfg.to_dict()).dump(cfg_path)
    infer = DetInferencer(model=cfg_path, weights=ckpt, device='cpu')
    calls = []
    step = infer.model.detector.test_step
    infer.model.detector.test_step = lambda d: calls.append(
        len(d['inputs'])) or step(d)
    img = data + 'images/test/000000.png'
    pred = infer(img, return_datasamples=True,
                 no_save_pred=True)['predictions'][0]
    assert isinstance(pred, DetDataSample) and len(pred.pred_instances) > 0
    assert sum(calls) == 9  # 3 x 3 slices of 128 px, overlap 0.25
