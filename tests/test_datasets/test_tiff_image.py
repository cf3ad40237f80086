"""TiffImage: tiled, stripped and pyramidal TIFFs read region by region
(mmpatch/datasets/tiff_image.py), and LoadLazyImage handing them to the
patch grid without decoding them whole."""
import os
import os.path as osp
import subprocess
import sys
import textwrap

import numpy as np
import pytest

tifffile = pytest.importorskip('tifffile')


def _image(h, w, channels=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (h, w, channels), dtype=np.uint8)


@pytest.mark.parametrize('layout', [dict(tile=(64, 48)),
                                    dict(rowsperstrip=16)],
                         ids=['tiled', 'stripped'])
@pytest.mark.parametrize('flip', [None, 'horizontal', 'diagonal'])
def test_regions_equal_a_full_decode(tmp_path, layout, flip):
    """Windows across tile borders, at the edges and past partial edge
    tiles equal the decoded image's (BGR, as LoadImageFromFile gives)."""
    import mmcv

    from mmpatch.datasets.pixels import MappedImage
    from mmpatch.datasets.tiff_image import TiffImage
    rgb = _image(150, 170)
    path = str(tmp_path / 'img.tif')
    tifffile.imwrite(path, rgb, compression='zlib', photometric='rgb',
                     **layout)
    bgr = mmcv.imread(path)  # OpenCV's full decode
    np.testing.assert_array_equal(bgr, rgb[..., ::-1])
    np.save(tmp_path / 'img.npy', bgr)
    ref = MappedImage(str(tmp_path / 'img.npy'), flip)
    img = TiffImage(path, flip)
    assert img.shape == (150, 170) and img.channels == 3
    assert img.reads_by_region
    for win in [(0, 150, 0, 170), (10, 70, 40, 100), (140, 150, 160, 170),
                (63, 65, 47, 49), (0, 1, 0, 1)]:
        np.testing.assert_array_equal(img.read(*win), ref.read(*win))


def test_pyramid_levels(tmp_path):
    """An OME-style pyramid (SubIFDs): the smallest level that still holds
    the requested size."""
    from mmpatch.datasets.tiff_image import TiffImage
    base = _image(256, 320)
    path = str(tmp_path / 'pyr.ome.tif')
    with tifffile.TiffWriter(path, bigtiff=True) as tw:
        tw.write(base, tile=(64, 64), subifds=2, photometric='rgb')
        tw.write(base[::2, ::2], tile=(64, 64), subfiletype=1,
                 photometric='rgb')
        tw.write(base[::4, ::4], tile=(64, 64), subfiletype=1,
                 photometric='rgb')
    img = TiffImage(path)
    assert img.level_shapes == [(256, 320), (128, 160), (64, 80)]
    assert img.level_for((100, 100)) == 1
    assert img.level_for((64, 64)) == 2
    assert img.level_for((300, 300)) == 0
    np.testing.assert_array_equal(img.read_level(2),
                                  base[::4, ::4, ::-1].transpose(2, 0, 1))


def test_bad_tiff_is_refused_with_its_name(tmp_path):
    from mmpatch.datasets.tiff_image import TiffImage
    path = str(tmp_path / 'f32.tif')
    tifffile.imwrite(path, np.zeros((8, 8), np.float32))
    with pytest.raises(ValueError, match='f32.tif.*8-bit'):
        TiffImage(path)


def test_lazy_image_reads_a_tiled_tiff_in_place(tmp_path):
    """LoadLazyImage hands a tiled TIFF to the grid as it is (no .npy
    cache); a single-strip TIFF is decoded into the cache as before."""
    from mmpatch.datasets.lazy_image import LoadLazyImage
    tiled, strip = str(tmp_path / 'tiled.tif'), str(tmp_path / 'strip.tif')
    tifffile.imwrite(tiled, _image(64, 64), tile=(32, 32), photometric='rgb')
    tifffile.imwrite(strip, _image(64, 64), photometric='rgb')
    load = LoadLazyImage(cache_dir=str(tmp_path / 'cache'))
    assert load.mapped_path(tiled) == tiled
    assert load.mapped_path(strip).endswith('.npy')
    out = load.transform(dict(img_path=tiled))
    assert out['img_shape'] == (64, 64) and out['lazy_image'] == tiled


@pytest.mark.skipif(sys.platform != 'linux', reason='RLIMIT_AS is Linux')
def test_bigtiff_larger_than_the_memory_limit_is_read_by_region(tmp_path):
    """A 12288 x 12288 RGB BigTIFF (432 MiB decoded, a few MiB on disk):
    under an address-space limit 320 MiB above the interpreter's own, a
    full decode fails, and PatchGD's inference succeeds: the engine's fill
    (LatentBuffer.fill_without_grad, what encode_batch runs) of a small
    θ1 over every 1024 px patch, read through MappedBatch, and the global
    patch from bands of rows."""
    path = str(tmp_path / 'big.tif')
    side, tile = 12288, 512
    rng = np.random.default_rng(0)
    with tifffile.TiffWriter(path, bigtiff=True) as tw:
        # tile by tile: the test itself never holds the image either
        def tiles():
            for _ in range((side // tile)**2):
                t = np.full((tile, tile, 3), 40, np.uint8)
                t[rng.integers(0, tile, 8), rng.integers(0, tile, 8)] = 250
                yield t
        tw.write(tiles(), shape=(side, side, 3), dtype=np.uint8,
                 tile=(tile, tile), compression='zlib', photometric='rgb')
    assert osp.getsize(path) < 64 * 2**20
    script = textwrap.dedent(f'''
        import resource, sys
        import numpy as np
        import torch
        from mmpatch.datasets.pixels import MappedBatch
        from mmpatch.datasets.tiff_image import TiffImage
        from mmpatch.patchgd.grid import PatchGrid
        def vm():
            return int(open('/proc/self/statm').read().split()[0]) * 4096
        limit = vm() + 320 * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        if sys.argv[1] == 'decode':
            import tifffile
            tifffile.imread({path!r})
        else:
            from mmpatch.patchgd.latent import LatentBuffer
            theta1 = torch.nn.Sequential(
                torch.nn.Conv2d(3, 8, 8, stride=8), torch.nn.ReLU(),
                torch.nn.Conv2d(8, 4, 4, stride=4))
            batch = MappedBatch([TiffImage({path!r})], ({side}, {side}))
            grid = PatchGrid(({side}, {side}), 1024,
                             normalize=lambda x: x / 255.0)
            z = LatentBuffer.fill_without_grad(
                grid, batch, lambda p: [theta1(p)], chunk=2)
            with torch.no_grad():
                g = theta1(grid.global_patch(batch, (256, 256)))
            assert z.maps[0].shape == (1, 4, {side // 32}, {side // 32})
            assert g.shape == (1, 4, 8, 8) and z.maps[0].abs().sum() > 0
        print('ok')
    ''')
    env = dict(os.environ, OMP_NUM_THREADS='1')
    decode = subprocess.run([sys.executable, '-c', script, 'decode'],
                            capture_output=True, text=True, env=env)
    assert decode.returncode != 0 and 'ok' not in decode.stdout
    assert 'MemoryError' in decode.stderr or 'memory' in decode.stderr
    region = subprocess.run([sys.executable, '-c', script, 'region'],
                            capture_output=True, text=True, env=env,
                            timeout=600)
    assert region.returncode == 0, region.stderr[-2000:]


def test_global_patch_from_the_pyramid(tmp_path):
    """The global patch of a pyramidal TIFF is resized from the smallest
    level that holds it (flips applied), not from the full resolution."""
    import torch

    from mmpatch.datasets.pixels import MappedBatch
    from mmpatch.datasets.tiff_image import TiffImage
    from mmpatch.patchgd.grid import PatchGrid, resize
    base = _image(256, 256)
    path = str(tmp_path / 'pyr.tif')
    with tifffile.TiffWriter(path) as tw:
        tw.write(base, tile=(64, 64), subifds=1, photometric='rgb')
        tw.write(base[::2, ::2], tile=(64, 64), subfiletype=1,
                 photometric='rgb')
    grid = PatchGrid((256, 256), 64, normalize=lambda x: x)
    for flip in (None, 'horizontal'):
        batch = MappedBatch([TiffImage(path, flip)], (256, 256))
        got = grid.global_patch(batch, (64, 64))
        level = torch.from_numpy(np.ascontiguousarray(
            base[::2, ::2, ::-1].transpose(2, 0, 1))).float()
        if flip:
            level = level.flip(-1)
        torch.testing.assert_close(got, resize(level[None], (64, 64)))
    # no level holds 160 px: resized from the full resolution
    assert batch.pyramid_image(0, (160, 160)) is None


def test_tiff_memory_tool_small(tmp_path):
    """tools/analysis_tools/tiff_memory.py end to end on a 2048 px scene:
    both modes run and read the same global patch size (at this size the
    peaks stay under the interpreter's own import peak; the 20480 px
    figures are the page's)."""
    sys.path.insert(0, osp.join(osp.dirname(osp.dirname(osp.dirname(
        osp.abspath(__file__)))), 'tools', 'analysis_tools'))
    import tiff_memory
    out = tiff_memory.main(['--side', '2048', '--tile', '256', '--patch',
                            '512', '--global-size', '256', '--dir',
                            str(tmp_path), '--json', str(tmp_path / 'm.json')])
    rows = {r['mode']: r for r in out['rows']}
    assert set(rows) == {'by region', 'decode'}
    assert rows['by region']['global_shape'] == [1, 3, 256, 256]
    assert rows['decode']['global_shape'] == [1, 3, 256, 256]
    assert out['decoded_mib'] == 12.0 and out['file_mib'] > 0
    assert all(r['peak_above_start_mib'] >= 0 and r['seconds'] > 0
               for r in rows.values())
