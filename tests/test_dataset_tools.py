"""Tests for datasets/combine_A_and_B.py and datasets/prepare_cityscapes_dataset.py on generated images."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
COMBINE = REPO / "datasets" / "combine_A_and_B.py"
CITYSCAPES = REPO / "datasets" / "prepare_cityscapes_dataset.py"


def run(script, *args):
    return subprocess.run([sys.executable, str(script), *map(str, args)], capture_output=True,
                          text=True, timeout=60, cwd=REPO)


def save_random(path, size, seed, mode="RGB"):
    """Write a deterministic random image of size (w, h) and return its pixels."""
    rng = np.random.default_rng(seed)
    shape = (size[1], size[0], 3) if mode == "RGB" else (size[1], size[0])
    pixels = rng.integers(0, 256, shape, dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels, mode).save(path)
    return pixels


def make_pairs(root, splits=("train", "test"), n=3, size=(8, 6)):
    """root/A/<split>/<i>.png and root/B/<split>/<i>.png; returns {(split, i): (a, b)} pixels."""
    pixels = {}
    for s_idx, split in enumerate(splits):
        for i in range(n):
            a = save_random(root / "A" / split / f"{i}.png", size, seed=100 * s_idx + i)
            b = save_random(root / "B" / split / f"{i}.png", size, seed=1000 + 100 * s_idx + i)
            pixels[(split, i)] = (a, b)
    return pixels


# ---------------------------------------------------------------- combine_A_and_B


@pytest.mark.parametrize("extra", [["--no_multiprocessing"], ["--num_workers", "2"]],
                         ids=["single-process", "multiprocessing"])
def test_combine_writes_aligned_pairs(tmp_path, extra):
    pixels = make_pairs(tmp_path)
    out = tmp_path / "AB"
    res = run(COMBINE, "--fold_A", tmp_path / "A", "--fold_B", tmp_path / "B", "--fold_AB", out, *extra)
    assert res.returncode == 0, res.stderr
    assert "wrote 6 aligned images" in res.stdout
    for (split, i), (a, b) in pixels.items():
        ab = np.asarray(Image.open(out / split / f"{i}.png"))
        assert ab.shape == (6, 16, 3)
        np.testing.assert_array_equal(ab[:, :8], a)  # A on the left
        np.testing.assert_array_equal(ab[:, 8:], b)  # B on the right
    assert sorted(p.name for p in (out / "train").iterdir()) == ["0.png", "1.png", "2.png"]


def test_combine_use_AB_names_and_num_imgs(tmp_path):
    for i in range(3):
        save_random(tmp_path / "A" / "train" / f"x{i}_A.png", (4, 4), seed=i)
        save_random(tmp_path / "B" / "train" / f"x{i}_B.png", (4, 4), seed=10 + i)
    save_random(tmp_path / "A" / "train" / "unrelated.png", (4, 4), seed=99)  # not *_A: ignored
    out = tmp_path / "AB"
    res = run(COMBINE, "--fold_A", tmp_path / "A", "--fold_B", tmp_path / "B", "--fold_AB", out,
              "--use_AB", "--num_imgs", 2, "--no_multiprocessing")
    assert res.returncode == 0, res.stderr
    assert sorted(p.name for p in (out / "train").iterdir()) == ["x0.png", "x1.png"]


def test_combine_skips_unmatched_files_and_splits_with_warning(tmp_path):
    make_pairs(tmp_path, splits=("train",), n=2)
    save_random(tmp_path / "A" / "train" / "lonely.png", (8, 6), seed=7)
    save_random(tmp_path / "A" / "val" / "0.png", (8, 6), seed=8)  # no B/val at all
    (tmp_path / "A" / "train" / "notes.txt").write_text("not an image")
    out = tmp_path / "AB"
    res = run(COMBINE, "--fold_A", tmp_path / "A", "--fold_B", tmp_path / "B", "--fold_AB", out,
              "--no_multiprocessing")
    assert res.returncode == 0, res.stderr
    assert "1 A images without a B image skipped (e.g. lonely.png)" in res.stdout
    assert "skipping split 'val'" in res.stdout
    assert sorted(p.name for p in (out / "train").iterdir()) == ["0.png", "1.png"]
    assert not (out / "val").exists()


def test_combine_size_mismatch_is_a_clear_error_or_resized(tmp_path):
    save_random(tmp_path / "A" / "train" / "0.jpg", (8, 6), seed=1)
    save_random(tmp_path / "B" / "train" / "0.jpg", (5, 4), seed=2)
    args = ["--fold_A", tmp_path / "A", "--fold_B", tmp_path / "B", "--no_multiprocessing"]
    res = run(COMBINE, *args, "--fold_AB", tmp_path / "bad")
    assert res.returncode == 1
    err = res.stderr.strip()
    assert err.startswith("Error: size mismatch") and "8x6" in err and "5x4" in err
    assert "--resize B_to_A" in err and len(err.splitlines()) == 1
    assert list((tmp_path / "bad").rglob("*.jpg")) == []  # nothing half written

    res = run(COMBINE, *args, "--fold_AB", tmp_path / "to_a", "--resize", "B_to_A")
    assert res.returncode == 0, res.stderr
    assert Image.open(tmp_path / "to_a" / "train" / "0.jpg").size == (16, 6)

    res = run(COMBINE, *args, "--fold_AB", tmp_path / "square", "--resize", "square", "--size", 10)
    assert res.returncode == 0, res.stderr
    assert Image.open(tmp_path / "square" / "train" / "0.jpg").size == (20, 10)


def test_combine_mixed_modes_become_rgb(tmp_path):
    save_random(tmp_path / "A" / "train" / "0.png", (4, 4), seed=1, mode="L")
    save_random(tmp_path / "B" / "train" / "0.png", (4, 4), seed=2)
    res = run(COMBINE, "--fold_A", tmp_path / "A", "--fold_B", tmp_path / "B",
              "--fold_AB", tmp_path / "AB", "--no_multiprocessing")
    assert res.returncode == 0, res.stderr
    out = Image.open(tmp_path / "AB" / "train" / "0.png")
    assert out.mode == "RGB" and out.size == (8, 4)


def test_combine_errors(tmp_path):
    res = run(COMBINE, "--fold_A", tmp_path / "nope", "--fold_B", tmp_path, "--fold_AB", tmp_path / "o")
    assert res.returncode == 1 and "--fold_A folder" in res.stderr and "does not exist" in res.stderr

    (tmp_path / "A").mkdir()
    (tmp_path / "B").mkdir()
    save_random(tmp_path / "A" / "flat.png", (4, 4), seed=0)
    res = run(COMBINE, "--fold_A", tmp_path / "A", "--fold_B", tmp_path / "B", "--fold_AB", tmp_path / "o")
    assert res.returncode == 1 and "no split subfolders" in res.stderr

    save_random(tmp_path / "A" / "train" / "1.png", (4, 4), seed=1)
    save_random(tmp_path / "B" / "train" / "2.png", (4, 4), seed=2)
    res = run(COMBINE, "--fold_A", tmp_path / "A", "--fold_B", tmp_path / "B", "--fold_AB", tmp_path / "o")
    assert res.returncode == 1 and "no matching image pairs" in res.stderr

    (tmp_path / "B" / "train" / "1.png").write_bytes(b"definitely not a png")
    res = run(COMBINE, "--fold_A", tmp_path / "A", "--fold_B", tmp_path / "B", "--fold_AB", tmp_path / "o",
              "--no_multiprocessing")
    assert res.returncode == 1 and "cannot read image" in res.stderr and "1.png" in res.stderr
    assert "Traceback" not in res.stderr


# ---------------------------------------------------------------- prepare_cityscapes_dataset

CLASS_COLORS = [(128, 64, 128), (70, 70, 70), (107, 142, 35), (0, 0, 142)]


def make_fake_cityscapes(root, layout=None, size=(64, 32)):
    """A tiny tree shaped like the official gtFine/ and leftImg8bit/ folders.

    Labels are RGBA blocks of Cityscapes class colors (as the real *_gtFine_color.png are);
    other gtFine files (labelIds, polygons) are present to check they are ignored.
    """
    layout = layout or {"train": {"aachen": 2, "bremen": 1}, "val": {"frankfurt": 2}}
    ids = []
    for phase, cities in layout.items():
        for city, count in cities.items():
            for k in range(count):
                image_id = f"{city}_{k:06d}_000019"
                label = np.zeros((size[1], size[0], 4), np.uint8)
                label[..., 3] = 255
                for q, color in enumerate(CLASS_COLORS):  # four vertical color bands
                    label[:, q * size[0] // 4:(q + 1) * size[0] // 4, :3] = color
                gt = root / "gtFine" / phase / city
                gt.mkdir(parents=True, exist_ok=True)
                Image.fromarray(label, "RGBA").save(gt / f"{image_id}_gtFine_color.png")
                Image.fromarray(np.full((size[1], size[0]), 7, np.uint8)).save(gt / f"{image_id}_gtFine_labelIds.png")
                (gt / f"{image_id}_gtFine_polygons.json").write_text("{}")
                save_random(root / "leftImg8bit" / phase / city / f"{image_id}_leftImg8bit.png", size,
                            seed=len(ids))
                ids.append((phase, image_id))
    return ids


@pytest.mark.parametrize("extra", [["--no_multiprocessing"], ["--num_workers", "2"]],
                         ids=["single-process", "multiprocessing"])
def test_prepare_cityscapes_pairs_photo_and_label(tmp_path, extra):
    ids = make_fake_cityscapes(tmp_path)
    out = tmp_path / "cityscapes"
    res = run(CITYSCAPES, "--gtFine_dir", tmp_path / "gtFine", "--leftImg8bit_dir", tmp_path / "leftImg8bit",
              "--output_dir", out, "--size", 16, "--ext", "png", *extra)
    assert res.returncode == 0, res.stderr
    assert "train: 3 pairs" in res.stdout and "val: 2 pairs" in res.stdout
    for phase, image_id in ids:
        ab = np.asarray(Image.open(out / phase / f"{image_id}.png"))
        assert ab.shape == (16, 32, 3)
        label_half = ab[:, 16:]
        # Nearest-neighbour resizing keeps exactly the class colors, in the same left-to-right order.
        assert {tuple(c) for c in label_half.reshape(-1, 3)} == set(CLASS_COLORS)
        assert [tuple(label_half[0, x]) for x in (0, 4, 8, 12)] == CLASS_COLORS
        photo = np.asarray(Image.open(tmp_path / "leftImg8bit" / phase / image_id.split("_")[0]
                                      / f"{image_id}_leftImg8bit.png").resize((16, 16), Image.BICUBIC))
        np.testing.assert_array_equal(ab[:, :16], photo)  # photo (A) on the left
    assert sorted(p.name for p in out.iterdir()) == ["train", "val"]


def test_prepare_cityscapes_default_jpg_and_missing_photo(tmp_path):
    ids = make_fake_cityscapes(tmp_path, {"train": {"aachen": 2}})
    missing_phase, missing_id = ids[1]
    (tmp_path / "leftImg8bit" / missing_phase / "aachen" / f"{missing_id}_leftImg8bit.png").unlink()
    out = tmp_path / "out"
    res = run(CITYSCAPES, "--gtFine_dir", tmp_path / "gtFine", "--leftImg8bit_dir", tmp_path / "leftImg8bit",
              "--output_dir", out, "--phases", "train", "--size", 8, "--no_multiprocessing")
    assert res.returncode == 0, res.stderr
    assert "1 labels without a photo skipped" in res.stdout
    written = sorted(p.name for p in (out / "train").iterdir())
    assert written == [f"{ids[0][1]}.jpg"]
    assert Image.open(out / "train" / written[0]).size == (16, 8)


def test_prepare_cityscapes_errors(tmp_path):
    res = run(CITYSCAPES, "--gtFine_dir", tmp_path / "gtFine", "--leftImg8bit_dir", tmp_path)
    assert res.returncode == 1
    assert "gtFine_trainvaltest.zip" in res.stderr and "Traceback" not in res.stderr

    make_fake_cityscapes(tmp_path, {"train": {"aachen": 1}})
    res = run(CITYSCAPES, "--gtFine_dir", tmp_path / "gtFine", "--leftImg8bit_dir", tmp_path / "leftImg8bit",
              "--output_dir", tmp_path / "o", "--phases", "train", "val")
    assert res.returncode == 1 and "val does not exist" in res.stderr

    res = run(CITYSCAPES, "--gtFine_dir", tmp_path / "gtFine", "--leftImg8bit_dir", tmp_path / "gtFine",
              "--output_dir", tmp_path / "o", "--phases", "train")
    assert res.returncode == 1 and "no *_gtFine_color.png label maps with matching" in res.stderr
