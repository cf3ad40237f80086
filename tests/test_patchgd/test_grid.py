import pytest
import torch

from mmpatch.patchgd import (LatentBuffer, PatchGrid, PatchSampler, coverage,
                            image_generator)
from mmpatch.patchgd.fusion import place_global, valid_mask
from mmpatch.patchgd.grid import to_2tuple
from mmpatch.patchgd.latent import put, stitch, take


def _image(B=2, C=3, H=70, W=45):
    return torch.arange(B * C * H * W, dtype=torch.float64).view(B, C, H, W)


def test_grid_shapes_non_square_non_multiple():
    grid = PatchGrid((70, 45), (32, 16), [(70, 45), (50, 30)])
    assert (grid.rows, grid.cols) == (3, 3)
    assert grid.padded_shape == (96, 48)
    x = grid.pad(_image())
    assert x.shape == (2, 3, 96, 48)
    assert x[..., 70:, :].abs().sum() == 0 and x[..., 45:].abs().sum() == 0


def test_patches_and_stitch_roundtrip():
    x = _image()
    grid = PatchGrid(x.shape[-2:], (32, 16), batch_size=2)
    xp = grid.pad(x)
    patches = grid.gather(xp, grid.index(grid.all_cells()))
    assert patches.shape == (2 * 9, 3, 32, 16)
    # cell (r=1, c=2) of image 1 is the right slice of the padded image
    assert torch.equal(patches[9 + 1 * 3 + 2], xp[1, :, 32:64, 32:48])
    assert torch.equal(stitch(grid, patches), xp)


def test_stitch_at_a_stride():
    grid = PatchGrid((64, 64), (32, 32), batch_size=1)
    feats = torch.arange(4, dtype=torch.float32).view(4, 1, 1, 1).expand(
        4, 2, 4, 4)
    z = stitch(grid, feats)
    assert z.shape == (1, 2, 8, 8)
    assert z[0, 0, 0, 0] == 0 and z[0, 0, 0, 4] == 1 and z[0, 0, 4, 0] == 2
    with pytest.raises(ValueError, match='multiple of every feature stride'):
        put(grid, z.clone(), grid.index(grid.all_cells()),
                 torch.zeros(4, 2, 3, 3))


def test_image_smaller_than_one_patch():
    grid = PatchGrid((20, 10), (64, 64), batch_size=1)
    assert grid.num_cells == 1 and grid.padded_shape == (64, 64)
    g = grid.global_patch(torch.rand(1, 3, 20, 10), (32, 32))
    assert g.shape == (1, 3, 32, 32)


def test_global_patch_ignores_padding():
    x = torch.zeros(2, 1, 40, 40)
    x[1, :, :20, :20] = 1.0  # image 1 is 20x20, padded with zeros
    x[0] = 1.0
    grid = PatchGrid((40, 40), (16, 16), [(40, 40), (20, 20)])
    g = grid.global_patch(x, (8, 8))
    assert torch.allclose(g, torch.ones_like(g))


def test_place_global_and_valid_mask():
    grid = PatchGrid((64, 64), (32, 32), [(64, 64), (40, 20)])
    g = torch.ones(2, 4, 1, 1)
    placed = place_global(grid, g, (2, 2))  # one value per cell
    assert placed[0].sum() == 4 * 4
    # image 1 covers rows 0..1 (40/32 -> 2 cells) and column 0 only
    assert placed[1, 0].tolist() == [[1, 0], [1, 0]]
    mask = valid_mask(grid, (64, 64))
    assert mask[1, 0, :40, :20].all() and not mask[1, 0, 40:].any()
    assert not mask[1, 0, :, 20:].any()


@pytest.mark.parametrize('bad', [0, -3, (4, ), (4, 5, 6), 2.5, 'x', True])
def test_to_2tuple_rejects(bad):
    with pytest.raises(ValueError, match='patch_size'):
        to_2tuple(bad, 'patch_size')


def test_disjoint_coverage():
    sampler = PatchSampler('disjoint')
    gens = [image_generator(0, 0, i) for i in range(3)]
    plans = sampler.select(10, 3, 4, gens)  # k * I = 12 >= 10 cells
    counts = coverage(plans, 10)
    assert (counts == 1).all(), 'every cell exactly once'
    plans = sampler.select(20, 3, 4, gens[:2])  # k * I = 12 < 20 cells
    counts = coverage(plans, 20)
    assert counts.max() == 1 and (counts.sum(1) == 12).all()


def test_random_sampling_distinct_per_iteration():
    sampler = PatchSampler('random')
    plans = sampler.select(6, 4, 5, [image_generator(1, 0, i) for i in range(2)])
    for p in plans:
        assert p.shape == (2, 4)
        for row in p:
            assert len(set(row.tolist())) == 4


def test_sampler_rejects_bad_k():
    with pytest.raises(ValueError, match='does not fit'):
        PatchSampler().select(4, 5, 1, [torch.Generator()])
    with pytest.raises(ValueError, match='sampling'):
        PatchSampler('everything')


def test_latent_fill_chunked_equals_stitch_and_scatter_out_of_place():
    x = _image(H=64, W=96)
    grid = PatchGrid((64, 64 + 32), (32, 32), batch_size=2)
    conv = torch.nn.Conv2d(3, 4, 4, stride=4).double()

    def encode(p):
        return [conv(p), conv(p)[:, :2, ::2, ::2]]

    with torch.no_grad():
        z = LatentBuffer.fill(grid, grid.pad(x), encode, chunk=5)
        ref = encode(grid.gather(grid.pad(x), grid.index(grid.all_cells())))
    assert torch.allclose(z.maps[0], stitch(grid, ref[0]))
    assert torch.allclose(z.maps[1], stitch(grid, ref[1]))
    assert z.nbytes == sum(m.numel() * 8 for m in z.maps)

    cells = torch.tensor([[1], [4]])
    feats = [torch.ones(2, 4, 8, 8, dtype=torch.float64,
                        requires_grad=True),
             torch.ones(2, 2, 4, 4, dtype=torch.float64)]
    z2, replaced = z.scatter_(grid.index(cells), feats)
    assert z2.maps[0].data_ptr() == z.maps[0].data_ptr(), 'in place'
    assert torch.allclose(replaced[0], take(grid, stitch(grid, ref[0]),
                                                 grid.index(cells)))
    z2.maps[0].sum().backward()
    assert torch.equal(feats[0].grad, torch.ones_like(feats[0]))
    # image 0 cell 1 is rows 0..8, cols 8..16 of level 0
    assert (z2.maps[0][0, :, :8, 8:16] == 1).all()


def test_image_generators_are_derived_not_carried():
    """Same (seed, step, image) -> same cells; another image -> others."""
    sampler = PatchSampler('disjoint')
    a = sampler.select(50, 5, 2, [image_generator(7, 3, 0), image_generator(7, 3, 1)])
    b = sampler.select(50, 5, 2, [image_generator(7, 3, 0)])
    c = sampler.select(50, 5, 2, [image_generator(7, 3, 1)])
    assert torch.equal(a[0][:1], b[0]) and torch.equal(a[0][1:], c[0])
    assert not torch.equal(b[0], c[0])
    d = sampler.select(50, 5, 2, [image_generator(7, 4, 0)])
    assert not torch.equal(b[0], d[0]), 'a new step draws new cells'


def test_latent_scatter_in_place_and_restore():
    """scatter_ writes the cells into Z without copying it; two inner
    iterations in a row backpropagate (no stale graph); restore_ gives the
    fill back."""
    grid = PatchGrid((64, 64), (32, 32), batch_size=1)
    g = torch.Generator().manual_seed(0)
    z = LatentBuffer(grid, [torch.randn(1, 3, 8, 8, generator=g,
                                        dtype=torch.float64)])
    fill = z.maps[0].clone()
    for step, cells in enumerate([torch.tensor([[1, 2]]),
                                  torch.tensor([[2, 3]])]):
        feats = [torch.full((2, 3, 4, 4), float(step + 5),
                            dtype=torch.float64, requires_grad=True)]
        ref = fill.clone()
        put(grid, ref, grid.index(cells), feats[0].detach())
        cur, replaced = z.scatter_(grid.index(cells), feats)
        assert cur.maps[0].data_ptr() == z.maps[0].data_ptr(), 'no copy'
        assert torch.equal(cur.maps[0], ref)
        (cur.maps[0] * 2).sum().backward()
        assert torch.equal(feats[0].grad, torch.full_like(feats[0], 2.))
        z.restore_(grid.index(cells), replaced)
        assert torch.equal(z.maps[0], fill)
