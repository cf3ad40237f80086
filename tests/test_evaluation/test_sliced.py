"""Sliced inference scored like mmengine's test loop, on two tiny canvases
(the library: ``mmpatch.evaluation.sliced``; the model building and the
scoring: ``tools/analysis_tools/sliced_eval.py``)."""
import json
import os.path as osp
import sys
from types import SimpleNamespace

import pytest
import torch

# sahi (requirements/benchmarks.txt) provides the slicing and the box shift
# of mmdet.utils.large_image
pytest.importorskip('sahi.slicing')

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CROP = osp.join(ROOT, 'configs/det/ultradigits_scales/fcos_crop_scales.py')
DOWN = osp.join(ROOT,
                'configs/det/ultradigits_scales/fcos_downsampled_scales.py')
# sliced_eval.py, importable as the tools beside it import it
sys.path.insert(0, osp.join(ROOT, 'tools', 'analysis_tools'))


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    from mmpatch.datasets.ultradigits_scales import \
        generate_ultradigits_scales
    root = str(tmp_path_factory.mktemp('uds_sliced'))
    # huge squares up to 0.6 of the side: every box fits in a 192 px slice,
    # so the oracle below can find each one whole
    generate_ultradigits_scales(root, canvas_size=256, num_train=1,
                                num_val=1, num_test=2, tiny=(3, 4),
                                medium=(2, 2), huge_frac=(0.45, 0.6))
    return root + '/'


def _cfg(path, root, tmp, score_thr=0.05):
    from sliced_eval import load_config
    cfg = load_config(path)
    detector = cfg.model.get('detector', cfg.model)  # SlicedDetector's
    detector.backbone.init_cfg = None  # no pretrained file in a test
    detector.test_cfg.score_thr = score_thr
    cfg.test_dataloader.dataset.data_root = root
    cfg.test_dataloader.num_workers = 0
    cfg.test_dataloader.persistent_workers = False
    cfg.test_evaluator.ann_file = root + 'annotations/instances_test.json'
    cfg.test_evaluator.buckets = dict(tiny=(0, 16), medium=(16, 96),
                                      huge=(96, 1e5))
    cfg.work_dir = str(tmp)
    return cfg


def test_slice_windows():
    from mmpatch.evaluation.sliced import slice_windows
    assert slice_windows(256, 300, None) == [(0, 0, 300, 256)]
    assert slice_windows(256, 256, 512) == [(0, 0, 256, 256)]
    wins = slice_windows(256, 256, 128, 0.25)
    assert all(x1 - x0 == 128 and y1 - y0 == 128 and 0 <= x0 and
               x1 <= 256 and y1 <= 256 for x0, y0, x1, y1 in wins)
    assert {w[0] for w in wins} == {0, 96, 128}  # step 96, last shifted in


class Oracle(torch.nn.Module):
    """A perfect crop detector: in each slice, the ground-truth boxes that
    lie wholly inside it, in its coordinates, scoring 1. With 192 px slices
    of a 256 px canvas every digit (<= 123 px) lies wholly in one."""

    def __init__(self, boxes):
        super().__init__()
        self.boxes = boxes
        self.bbox_head = SimpleNamespace(test_cfg=dict(
            nms=dict(type='nms', iou_threshold=0.5), max_per_img=100))

    def test_step(self, data):
        from mmengine.structures import InstanceData
        out = []
        for sample in data['data_samples']:
            x0, y0, x1, y1 = sample.slice_window
            b, labels = self.boxes[sample.img_id]
            inside = ((b[:, 0] >= x0) & (b[:, 1] >= y0) & (b[:, 2] <= x1)
                      & (b[:, 3] <= y1))
            sample.pred_instances = InstanceData(
                bboxes=b[inside] - torch.tensor([x0, y0, x0, y0]),
                scores=torch.ones(int(inside.sum())), labels=labels[inside])
            out.append(sample)
        return out


def test_perfect_prediction_scores_1_and_json_loads(data, tmp_path):
    from pycocotools.coco import COCO
    from sliced_eval import evaluate_detector
    cfg = _cfg(CROP, data, tmp_path)
    coco = json.load(open(data + 'annotations/instances_test.json'))
    boxes = {}
    for img in coco['images']:
        anns = [a for a in coco['annotations'] if a['image_id'] == img['id']]
        b = torch.tensor([a['bbox'] for a in anns], dtype=torch.float32)
        b[:, 2:] += b[:, :2]
        boxes[img['id']] = (b, torch.tensor([a['category_id'] for a in anns]))
    prefix = str(tmp_path / 'perfect')
    res = evaluate_detector(cfg, Oracle(boxes), 'test', slice_size=192,
                            sliced=True, outfile_prefix=prefix)
    assert res['num_images'] == 2 and res['slices'] == 4
    m = res['metrics']
    assert m['coco/bbox_mAP'] == 1.0 and m['coco/bbox_mAP_50'] == 1.0
    for b in ('tiny', 'medium', 'huge'):
        assert m[f'coco/bbox_n_{b}'] > 0 and m[f'coco/bbox_AP_{b}'] == 1.0
    gt = COCO(data + 'annotations/instances_test.json')
    dets = gt.loadRes(prefix + '.bbox.json')  # the results json loads
    assert len(dets.getAnnIds()) == len(coco['annotations'])


def test_one_slice_equals_test_loop(data, tmp_path):
    """The whole canvas as one slice gives the test loop's detections and
    AP exactly (a random FCOS with score_thr 0: 100 boxes a canvas)."""
    from mmengine.runner import Runner
    from sliced_eval import build_model, evaluate_detector
    torch.manual_seed(0)
    cfg = _cfg(CROP, data, tmp_path / 'a', score_thr=0.0)
    model = build_model(cfg)
    ckpt = str(tmp_path / 'model.pth')
    torch.save(dict(state_dict=model.state_dict(), meta={}), ckpt)
    res = evaluate_detector(cfg.copy(), model, 'test', slice_size=None,
                            sliced=True, outfile_prefix=str(tmp_path / 's'))
    loop_cfg = _cfg(CROP, data, tmp_path / 'b', score_thr=0.0)
    loop_cfg.test_evaluator.outfile_prefix = str(tmp_path / 'loop')
    loop_cfg.load_from = ckpt
    loop_cfg.custom_hooks = []
    loop = Runner.from_cfg(loop_cfg).test()
    assert res['metrics'] == {k: float(v) for k, v in loop.items()}
    sliced = json.load(open(tmp_path / 's.bbox.json'))
    whole = json.load(open(tmp_path / 'loop.bbox.json'))
    assert len(sliced) == len(whole) == 200
    key = lambda d: (d['image_id'], -d['score'], d['bbox'])  # noqa: E731
    for a, b in zip(sorted(sliced, key=key), sorted(whole, key=key)):
        assert a['category_id'] == b['category_id']
        assert a['bbox'] == pytest.approx(b['bbox'], abs=1e-3)
        assert a['score'] == pytest.approx(b['score'], abs=1e-6)


def test_refuses_a_resizing_pipeline(data, tmp_path):
    from sliced_eval import build_model, evaluate_detector
    cfg = _cfg(DOWN, data, tmp_path)
    with pytest.raises(ValueError, match='stored size'):
        evaluate_detector(cfg, build_model(cfg), 'test', slice_size=128,
                          sliced=True)
