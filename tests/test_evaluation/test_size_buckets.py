"""AP by size bucket of the longer box side
(``mmpatch.evaluation.size_buckets``)."""
import pytest

from mmpatch.evaluation.size_buckets import bucket_ap, bucket_edges


def _gt():
    # longer sides: 10 and 12 (tiny), 40 (medium), 900 x 300 (huge by its
    # longer side although its area 270000 < 768^2)
    boxes = [[0, 0, 10, 6], [50, 50, 12, 12], [100, 100, 40, 30],
             [200, 200, 900, 300]]
    return dict(
        images=[dict(id=1, width=2048, height=2048, file_name='a.png')],
        categories=[dict(id=i, name=str(i)) for i in range(10)],
        annotations=[dict(id=i + 1, image_id=1, category_id=i % 10, bbox=b,
                          area=b[2] * b[3], iscrowd=0)
                     for i, b in enumerate(boxes)])


def test_bucket_edges():
    b = bucket_edges(2048, 768, 768)
    assert b == dict(tiny=(0.0, 21.33), medium=(21.33, 768.0),
                     huge=(768.0, 1e5))
    with pytest.raises(ValueError):
        bucket_edges(2048, 64, 128)


def test_bucket_ap_by_longer_side():
    gt = _gt()
    dets = [dict(image_id=1, category_id=a['category_id'], bbox=a['bbox'],
                 score=0.9) for a in gt['annotations']]
    buckets = bucket_edges(2048, 768, 768)
    perfect = bucket_ap(gt, dets, buckets)
    assert perfect == pytest.approx(dict(
        n_tiny=2.0, n_medium=1.0, n_huge=1.0, AP_tiny=1.0, AP50_tiny=1.0,
        AP_medium=1.0, AP50_medium=1.0, AP_huge=1.0, AP50_huge=1.0))
    no_huge = bucket_ap(gt, dets[:3], buckets)
    assert no_huge['AP_huge'] == 0.0
    assert no_huge['AP_tiny'] == pytest.approx(1.0)
    # the input is not modified (areas are rewritten on a copy)
    assert gt['annotations'][3]['area'] == 270000
    assert bucket_ap(gt, [], buckets)['AP_tiny'] == 0.0
