"""The image-editing metrics on hand-made images, each checked against its definition (SPEC §5)."""

import math

import torch

from rm_cli.tasks.image.metrics import (PEAK, localisation, masked_ssim, pixel_metrics, psnr, remasked_positions,
                                        ssim_map)
from rm_cli.tasks.image.scenes import region_mask


def region(q: int, batch: int = 1) -> torch.Tensor:
    return torch.from_numpy(region_mask(q)).expand(batch, -1, -1).clone()


def test_psnr_is_ten_log_peak_squared_over_mse_and_capped_for_identical_images():
    x, y = torch.zeros(1, 56, 56), torch.full((1, 56, 56), 10.0)
    assert torch.isclose(psnr(x, y), torch.tensor(10 * math.log10(PEAK**2 / 100.0)))
    assert float(psnr(x, x)) == 100.0
    # masked: only the masked pixels count (an error outside the mask changes nothing)
    y2 = y.clone()
    y2[0, :28, :28] = 200.0
    outside = ~region(0)
    assert torch.isclose(psnr(x, y2, mask=outside), psnr(x, y))


def test_ssim_is_one_for_identical_images_and_matches_the_closed_form_for_constants():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(1, 56, 56, generator=g) * 255
    assert torch.allclose(ssim_map(x, x), torch.ones(1, 46, 46), atol=1e-4)
    a, b = 100.0, 150.0
    c1 = (0.01 * PEAK) ** 2
    expected = (2 * a * b + c1) / (a * a + b * b + c1)  # zero variances: the structure term is 1
    s = ssim_map(torch.full((1, 56, 56), a), torch.full((1, 56, 56), b))
    assert torch.allclose(s, torch.full_like(s, expected), atol=1e-3)
    noisy = (x + torch.randn(1, 56, 56, generator=g) * 40).clamp(0, 255)
    noisier = (x + torch.randn(1, 56, 56, generator=g) * 90).clamp(0, 255)
    assert 1.0 > float(ssim_map(x, noisy).mean()) > float(ssim_map(x, noisier).mean())


def test_masked_ssim_ignores_differences_far_outside_the_mask():
    g = torch.Generator().manual_seed(1)
    x = torch.rand(1, 56, 56, generator=g) * 255
    y = x.clone()
    y[0, :28, :28] = 0.0  # only the top-left quadrant differs
    far = torch.zeros(1, 56, 56, dtype=torch.bool)
    far[0, 40:, 40:] = True  # windows centred here (radius 5) never reach the top-left quadrant
    assert torch.isclose(masked_ssim(x, y, far), torch.tensor(1.0), atol=1e-4)
    assert float(masked_ssim(x, y, region(0))) < 0.5


def test_precision_coverage_and_outside_errors_count_the_right_pixels():
    source = torch.zeros(2, 56, 56)
    edited = source.clone()
    edited[0, 0, :10] = 200.0  # 10 changed pixels inside the top-left region
    edited[0, 40, :5] = 200.0  # 5 changed outside it
    edited[0, 50, 50] = 20.0  # a change below the threshold (0.1 * 255) does not count
    real_target = torch.full((2, 56, 56), 4.0)
    m = pixel_metrics(source, edited, real_target, region(0, 2), threshold=0.1)
    assert torch.isclose(m["precision"][0], torch.tensor(10 / 15))
    assert torch.isclose(m["coverage"][0], torch.tensor(10 / 784))
    outside = 56 * 56 - 784
    expected_mae = ((outside - 6) * 4.0 + 5 * 196.0 + 16.0) / outside
    assert torch.isclose(m["mae_out"][0], torch.tensor(expected_mae))
    assert math.isnan(float(m["precision"][1])) and float(m["coverage"][1]) == 0.0  # nothing changed
    assert int(m["changed"][0].sum()) == 15


def test_token_localisation_precision_and_recall():
    mask_id = 9
    trajectory = torch.tensor([[[1, 2, 3, 4]], [[9, 2, 9, 4]], [[9, 2, 9, 9]], [[5, 2, 6, 7]]])  # [turns+1, B=1, N=4]
    remasked = remasked_positions(trajectory, mask_id)
    assert remasked.tolist() == [[True, False, True, True]]
    region = torch.tensor([[True, True, True, False]])
    must = torch.tensor([[True, True, False, False]])
    loc = localisation(remasked, region, must)
    assert torch.isclose(loc["precision"], torch.tensor([2 / 3])).all()
    assert torch.isclose(loc["recall"], torch.tensor([1 / 2])).all()
    none = localisation(torch.zeros(1, 4, dtype=torch.bool), region, must)
    assert math.isnan(float(none["precision"][0])) and float(none["recall"][0]) == 0.0
