"""LoadLazyImage and MappedBatch: images read patch by patch from disk give
exactly what the decoded in-memory images give, and hold no whole image."""
import copy
import os

import cv2
import mmcv
import numpy as np
import pytest
import torch

from mmpatch.patchgd import PatchGrid
from mmpatch.datasets.pixels import MappedBatch, MappedImage
from mmpatch.memory import MemoryMeter
from tests.conftest import host_scope
from tests.test_models.test_data_preprocessors import MEAN, STD, det_batch, pair

FLIPS = [None, 'horizontal', 'vertical', 'diagonal']


def random_image(h, w, seed=0):
    return np.random.RandomState(seed).randint(0, 256, (h, w, 3),
                                               dtype=np.uint8)


@pytest.fixture
def png(tmp_path):
    """A 150x230 BGR image on disk (neither side a multiple of a patch)."""
    path = str(tmp_path / 'image.png')
    cv2.imwrite(path, random_image(150, 230))
    return path


@pytest.mark.parametrize('direction', FLIPS)
def test_mapped_image_reads_the_flipped_window(tmp_path, direction):
    array = random_image(37, 53)
    path = str(tmp_path / 'a.npy')
    np.save(path, array)
    img = MappedImage(path, direction)
    flipped = array if direction is None else mmcv.imflip(array, direction)
    for y0, y1, x0, x1 in [(0, 37, 0, 53), (5, 20, 7, 50), (36, 37, 0, 1)]:
        expected = flipped[y0:y1, x0:x1].transpose(2, 0, 1)
        assert np.array_equal(img.read(y0, y1, x0, x1), expected)
    with pytest.raises(IndexError, match='outside the 37x53 image'):
        img.read(0, 38, 0, 10)


def test_mapped_batch_pads_with_zeros(tmp_path):
    array = random_image(20, 30)
    np.save(tmp_path / 'a.npy', array)
    batch = MappedBatch([MappedImage(str(tmp_path / 'a.npy'))], (32, 32))
    assert tuple(batch.shape) == (1, 3, 32, 32)
    window = batch.window(0, 16, 32, 16, 32)
    assert window.shape == (3, 16, 16) and window.dtype == torch.uint8
    assert torch.equal(window[:, :4, :14],
                       torch.from_numpy(array[16:, 16:].transpose(2, 0, 1)))
    assert not window[:, 4:].any() and not window[:, :, 14:].any()


def test_mapped_image_errors_name_the_file(tmp_path):
    np.save(tmp_path / 'f.npy', np.zeros((4, 4, 3), np.float32))
    with pytest.raises(ValueError, match=r'f\.npy holds a float32.*uint8'):
        MappedImage(str(tmp_path / 'f.npy'))
    (tmp_path / 'bad.npy').write_bytes(b'not an array')
    with pytest.raises(ValueError, match=r'cannot memory-map.*bad\.npy'):
        MappedImage(str(tmp_path / 'bad.npy'))
    np.save(tmp_path / 'ok.npy', np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(ValueError, match='unknown flip direction'):
        MappedImage(str(tmp_path / 'ok.npy'), 'sideways')


# ------------------------------------------------------------- pipelines
SCOPE = dict(det='mmdet', seg='mmseg', cls='mmpretrain')
PACK = dict(det='PackDetInputs', seg='PackSegInputs', cls='PackInputs')


def run_pipeline(scope, load, img_path, flip=None, tmp=None):
    """One sample through ``load`` (+ RandomFlip) + the scope's Pack."""
    from mmcv.transforms import Compose

    import mmpatch.datasets.lazy_image as lazy
    steps = [dict(type='LoadLazyImage', cache_dir=str(tmp))
             if load == 'lazy' else dict(type='LoadImageFromFile')]
    if flip:
        steps.append(dict(type='RandomFlip', prob=1.0, direction=flip))
    steps.append(dict(type=PACK[scope], meta_keys=lazy.LAZY_META_KEYS))
    with host_scope(SCOPE[scope]):
        return Compose(steps)(dict(img_path=img_path, img_id=0,
                                   sample_idx=0, instances=[],
                                   seg_fields=[], reduce_zero_label=False))


@pytest.mark.parametrize('scope,flip', [('det', None), ('det', 'horizontal'),
                                        ('det', 'diagonal'),
                                        ('seg', 'vertical'), ('cls', None)])
def test_lazy_pipeline_gives_the_decoded_pixels(scope, flip, png, tmp_path):
    """Through the host's RandomFlip and Pack and mmpatch's preprocessor,
    every patch and the global patch read from the mapped file equal those
    of LoadImageFromFile's decoded image, bit for bit; so does the
    metadata (but the mapped file's name and a unit scale_factor)."""
    import mmpatch.datasets.lazy_image  # noqa: F401
    _, pre = pair(scope, **({'pad_size_divisor': 64} if scope != 'seg'
                            else {'size_divisor': 64}))
    outs = []
    for load in ('memory', 'lazy'):
        sample = run_pipeline(scope, load, png, flip, tmp_path / 'cache')
        with host_scope(SCOPE[scope]):
            outs.append(pre(dict(inputs=[sample['inputs']],
                                 data_samples=[sample['data_samples']]),
                            False))
    ref, out = outs
    assert isinstance(out['inputs'], MappedBatch)
    assert isinstance(ref['inputs'], torch.Tensor)
    assert tuple(out['inputs'].shape) == tuple(ref['inputs'].shape)
    meta = dict(out['data_samples'][0].metainfo)
    assert meta.pop('lazy_image').endswith('.npy')
    # what a Resize at the stored size would record; mmdet needs it
    assert meta.pop('scale_factor') == (1.0, 1.0)
    assert meta == ref['data_samples'][0].metainfo
    grids = [PatchGrid(tuple(o['inputs'].shape[-2:]), 64, [(150, 230)], 1,
                       pre.normalize_patch) for o in outs]
    cells = grids[0].all_cells()
    index = grids[0].index(cells)
    assert torch.equal(grids[1].gather(grids[1].pad(out['inputs']), index),
                       grids[0].gather(grids[0].pad(ref['inputs']), index))
    assert torch.equal(grids[1].global_patch(out['inputs'], (48, 40)),
                       grids[0].global_patch(ref['inputs'], (48, 40)))


def test_cache_is_written_once_and_follows_the_image(png, tmp_path,
                                                     monkeypatch):
    from mmpatch.datasets.lazy_image import LoadLazyImage
    cache = tmp_path / 'cache'
    load = LoadLazyImage(cache_dir=str(cache))
    first = load(dict(img_path=png))
    assert first['img'].shape == (150, 230, 0)
    assert first['img_shape'] == first['ori_shape'] == (150, 230)
    assert first['scale_factor'] == (1.0, 1.0)
    assert np.array_equal(np.load(first['lazy_image']), cv2.imread(png))
    assert len(os.listdir(cache)) == 1

    # mapped again without decoding
    def no_decoding(results):
        raise AssertionError('decoded again')

    monkeypatch.setattr(load._decoder, 'transform', no_decoding)
    assert load(dict(img_path=png))['lazy_image'] == first['lazy_image']
    monkeypatch.undo()

    # a changed image is decoded again, under another name
    cv2.imwrite(png, random_image(150, 230, seed=1))
    stat = os.stat(png)
    os.utime(png, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    second = load(dict(img_path=png))
    assert second['lazy_image'] != first['lazy_image']
    assert np.array_equal(np.load(second['lazy_image']), cv2.imread(png))

    # an .npy image is mapped where it is
    np.save(tmp_path / 'raw.npy', random_image(9, 7))
    raw = load(dict(img_path=str(tmp_path / 'raw.npy')))
    assert raw['lazy_image'] == str(tmp_path / 'raw.npy')
    assert raw['img'].shape == (9, 7, 0)
    assert len(os.listdir(cache)) == 2


def test_lazy_errors_name_the_fix(png, tmp_path):
    from mmpatch.datasets.lazy_image import (LoadLazyImage,
                                             check_lazy_pipeline)
    np.save(tmp_path / 'f.npy', np.zeros((4, 4, 3), np.float32))
    with pytest.raises(ValueError, match=r'f\.npy.*float32.*uint8'):
        LoadLazyImage(cache_dir=str(tmp_path))(
            dict(img_path=str(tmp_path / 'f.npy')))

    pipeline = [dict(type='LoadLazyImage'), dict(type='LoadAnnotations'),
                dict(type='Resize', scale=(64, 64)),
                dict(type='PackDetInputs')]
    with pytest.raises(ValueError,
                       match=r"train\.pipeline: Resize follows "
                       r"LoadLazyImage.*allow=\['Resize'\]"):
        check_lazy_pipeline(pipeline, 'train.pipeline')
    check_lazy_pipeline([dict(type='Resize')] + pipeline[:2])  # before: fine
    pipeline[0] = dict(type='LoadLazyImage', allow=['Resize'])
    check_lazy_pipeline(pipeline)
    tta = [dict(type='LoadLazyImage'),
           dict(type='TestTimeAug', transforms=[[dict(type='RandomFlip')],
                                                [dict(type='Pad')]])]
    with pytest.raises(ValueError, match='Pad follows LoadLazyImage'):
        check_lazy_pipeline(tta)

    # Pack without the lazy_image key: the preprocessor says what to add
    _, pre = pair('det')
    sample = run_pipeline('det', 'lazy', png, tmp=tmp_path / 'cache')
    data_sample = sample['data_samples']
    data_sample.set_metainfo(dict(lazy_image=None))
    del data_sample.lazy_image
    with pytest.raises(ValueError, match="add 'lazy_image' to the meta_keys"):
        pre(dict(inputs=[sample['inputs']], data_samples=[data_sample]))

    # a transform that changed the stand-in's shape after LoadLazyImage
    sample = run_pipeline('det', 'lazy', png, tmp=tmp_path / 'cache')
    with pytest.raises(ValueError, match=r'image\.png: the pipeline made the '
                       r'image \(100, 230\).*\(150, 230\).*only flips'):
        pre(dict(inputs=[sample['inputs'][:, :100]],
                 data_samples=[sample['data_samples']]))


def test_hook_refuses_a_pixel_transform_before_the_run():
    from mmengine.config import Config

    from mmpatch.engine.hooks import LazyImageCheckHook

    class Runner:
        cfg = Config(dict(test_dataloader=dict(dataset=dict(pipeline=[
            dict(type='LoadLazyImage'),
            dict(type='PhotoMetricDistortion'),
            dict(type='PackSegInputs')
        ]))))

    with pytest.raises(ValueError,
                       match=r'test_dataloader\.dataset\.pipeline: '
                       'PhotoMetricDistortion follows LoadLazyImage'):
        LazyImageCheckHook().before_run(Runner())


# ------------------------------------------------------------- the model
def mapped_copy(batch, tmp_path):
    """``batch`` (uint8 images + data samples) as LoadLazyImage packs it."""
    out = copy.deepcopy(batch)
    for i, (img, sample) in enumerate(zip(batch['inputs'],
                                          out['data_samples'])):
        path = str(tmp_path / f'{i}.npy')
        np.save(path, img.permute(1, 2, 0).numpy())
        sample.set_metainfo(dict(lazy_image=path))
        out['inputs'][i] = img.new_empty((0, *img.shape[1:]))
    return out


def test_detector_step_and_inference_equal_in_memory(det_scope, tmp_path):
    """A PatchGlobalDetector trains and predicts the same from a mapped
    batch as from the decoded uint8 batch: same losses, same update, same
    boxes."""
    from mmengine.optim import build_optim_wrapper

    from tests.test_models.test_detector import build, fcos_cfg
    batch = det_batch([(256, 300), (200, 250)])
    sources = dict(memory=batch, mapped=mapped_copy(batch, tmp_path))
    losses, weights, boxes = {}, {}, {}
    for name, data in sources.items():
        cfg = fcos_cfg(data_preprocessor=dict(
            type='PatchDetDataPreprocessor', mean=MEAN, std=STD,
            bgr_to_rgb=True, pad_size_divisor=128))
        cfg['patch_cfg'] = dict(cfg['patch_cfg'], sample_fraction=0.5)
        model = build(cfg)
        model.eval()  # BN on running statistics
        optim = build_optim_wrapper(model, dict(
            optimizer=dict(type='SGD', lr=0.01)))
        losses[name] = model.train_step(copy.deepcopy(data), optim)['loss']
        weights[name] = model.backbone.conv1.weight.detach().clone()
        with torch.no_grad():
            boxes[name] = model.test_step(copy.deepcopy(data))[0]
    assert torch.equal(losses['memory'], losses['mapped'])
    assert torch.equal(weights['memory'], weights['mapped'])
    assert torch.equal(boxes['memory'].pred_instances.bboxes,
                       boxes['mapped'].pred_instances.bboxes)


@pytest.mark.parametrize('source', ['memory', 'mapped'])
def test_global_patch_never_holds_the_whole_image(source, tmp_path):
    """The global patch of a 1024² image is read in bands: its peak stays
    under 1.5 MiB (the image resized along its width, 0.75 MiB, and one
    band), where resizing the whole image at once would hold 12 MiB of
    float pixels (4 MiB one channel at a time)."""
    img = torch.randint(0, 256, (3, 1024, 1024), dtype=torch.uint8,
                        generator=torch.Generator().manual_seed(0))
    if source == 'mapped':
        np.save(tmp_path / 'a.npy', img.permute(1, 2, 0).numpy())
        x = MappedBatch([MappedImage(str(tmp_path / 'a.npy'))], (1024, 1024))
    else:
        x = img[None]
    grid = PatchGrid((1024, 1024), 128, [(1024, 1024)], 1,
                     lambda t: (t - 128.0) / 64.0)
    with MemoryMeter('cpu') as meter:
        out = grid.global_patch(x, (64, 64))
    assert out.shape == (1, 3, 64, 64)
    assert meter.peak_bytes < 1.5 * 2**20, meter.peak_bytes
    ref = torch.nn.functional.interpolate(
        img[None].float(), (64, 64), mode='bilinear', align_corners=False,
        antialias=True)
    assert torch.equal(out, (ref - 128.0) / 64.0)


def test_runner_trains_and_tests_from_mapped_images(tmp_path):
    """A whole mmengine run on a LoadLazyImage pipeline (RandomFlip
    included): mmpretrain's CustomDataset, collate, PatchClsDataPreprocessor,
    MemoryLoggerHook, LazyImageCheckHook and the evaluator; each image is
    decoded into the cache once, and the logged peak is measured."""
    from mmengine.config import Config
    from mmengine.runner import Runner

    import mmpatch.datasets.lazy_image as lazy
    from tests.test_models.test_classifier import cls_cfg
    for label, name in enumerate(('dark', 'light')):
        (tmp_path / 'data' / name).mkdir(parents=True)
        for i in range(2):
            img = random_image(64, 96, seed=i) // 2 + 127 * label
            cv2.imwrite(str(tmp_path / 'data' / name / f'{i}.png'), img)
    pipeline = [dict(type='LoadLazyImage', cache_dir=str(tmp_path / 'cache')),
                dict(type='RandomFlip', prob=0.5),
                dict(type='PackInputs', meta_keys=lazy.LAZY_META_KEYS)]
    loader = dict(batch_size=2, num_workers=0,
                  dataset=dict(type='CustomDataset',
                               data_root=str(tmp_path / 'data'),
                               pipeline=pipeline))
    model = cls_cfg(
        data_preprocessor=dict(type='PatchClsDataPreprocessor', mean=MEAN,
                               std=STD, to_rgb=True, num_classes=2),
        head=dict(type='LinearClsHead', num_classes=2, in_channels=16,
                  loss=dict(type='CrossEntropyLoss')))
    cfg = Config(dict(
        default_scope='mmpretrain', model=model, work_dir=str(tmp_path / 'w'),
        train_dataloader=dict(loader, sampler=dict(type='InfiniteSampler')),
        test_dataloader=dict(loader, sampler=dict(type='DefaultSampler',
                                                  shuffle=False)),
        test_evaluator=dict(type='Accuracy'), test_cfg=dict(),
        train_cfg=dict(by_epoch=False, max_iters=2),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        custom_hooks=[dict(type='MemoryLoggerHook'),
                      dict(type='LazyImageCheckHook')],
        default_hooks=dict(logger=dict(type='LoggerHook', interval=1)),
        log_processor=dict(by_epoch=False), randomness=dict(seed=0)))
    with host_scope('mmpretrain'):
        import mmpatch.models.classifier  # noqa: F401
        runner = Runner.from_cfg(cfg)
        runner.train()
        peak = runner.message_hub.get_scalar(
            'train/memory/peak_mb').current()
        metrics = runner.test()
    assert 0 < peak
    assert 'accuracy/top1' in metrics
    assert len(os.listdir(tmp_path / 'cache')) == 4
