"""omni dataset mode: JSON / YAML lists, batch layout, clear errors for bad lists, process_data.py."""
import argparse
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch
import yaml
from PIL import Image

from data.omni_dataset import OmniDataset, OmniListError, items_from_folders, read_list
from datasets.synthetic_omni import make_omni_dataset
from tools.omnigan import process_data
from util.cli import run_cli


@pytest.fixture(scope="module")
def omni_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("omni"))
    make_omni_dataset(root, n_train=3, n_val=2, size=32, seed=0)
    return root


def make_opt(root, **kw):
    opt = dict(dataroot=root, omni_domains="rf,rn,sf,sn", omni_lists_dir="", omni_split="", phase="train",
               tasks="a,d,h,s,t,w", max_dataset_size=float("inf"), serial_batches=False, isTrain=True,
               preprocess="resize_and_crop", load_size=36, crop_size=32, no_flip=False, seed=0)
    opt.update(kw)
    return argparse.Namespace(**opt)


def copy_root(omni_root, tmp_path):
    root = str(tmp_path / "copy")
    shutil.copytree(omni_root, root)
    return root


def test_generator_writes_json_and_yaml_lists(omni_root):
    assert os.path.isfile(os.path.join(omni_root, "rf_train.json"))
    assert os.path.isfile(os.path.join(omni_root, "sn_val.yaml"))
    items = read_list(os.path.join(omni_root, "sf_train.yaml"))
    assert len(items) == 3 and set(items[0]) == {"x", "d", "s", "h", "w"}
    assert all(os.path.isabs(p) and os.path.isfile(p) for p in items[0].values())


def test_dataset_items_and_collated_batch(omni_root):
    ds = OmniDataset(make_opt(omni_root))
    assert len(ds) == 3
    assert ds.keys == {"rf": ["x", "d", "s", "w"], "rn": ["x", "d", "s"], "sf": ["x", "d", "s", "h", "w"],
                       "sn": ["x", "d", "s", "h", "w"]}
    batch = torch.utils.data.default_collate([ds[0], ds[1]])
    assert set(batch) == {"rf", "rn", "sf", "sn"}
    sf = batch["sf"]
    assert set(sf) == {"data", "paths", "domain", "mode"}
    assert sf["domain"] == ["sf", "sf"] and sf["mode"] == ["train", "train"]
    assert sf["data"]["x"].shape == (2, 3, 32, 32) and -1 <= sf["data"]["x"].min() and sf["data"]["x"].max() <= 1
    assert sf["data"]["s"].shape == (2, 32, 32) and sf["data"]["s"].dtype == torch.long
    assert set(torch.unique(sf["data"]["w"]).tolist()) <= {0.0, 1.0}
    assert sf["data"]["d"].shape == (2, 1, 32, 32) and sf["data"]["h"].dtype == torch.float32
    assert len(sf["paths"]["x"]) == 2 and sf["paths"]["x"][0].endswith(".png")


def test_tasks_limit_loaded_keys_and_test_split_falls_back_to_val(omni_root):
    ds = OmniDataset(make_opt(omni_root, tasks="a,t,d", phase="test", isTrain=False))
    assert ds.split == "test" and len(ds) == 2
    assert ds.keys["sf"] == ["x", "d"] and ds.keys["rn"] == ["x", "d"]
    assert ds[0]["rf"]["mode"] == "test"


def test_missing_list_for_a_domain(omni_root, tmp_path):
    root = copy_root(omni_root, tmp_path)
    os.remove(os.path.join(root, "rn_train.json"))
    with pytest.raises(FileNotFoundError, match="no data list for domain 'rn' and split 'train'"):
        OmniDataset(make_opt(root))


def test_missing_file_reports_item_index_and_list(omni_root, tmp_path):
    root = copy_root(omni_root, tmp_path)
    os.remove(os.path.join(root, "sf", "Depth", "train_001.npy"))
    with pytest.raises(FileNotFoundError, match=r"sf_train\.yaml: item 1: 'd' file not found"):
        OmniDataset(make_opt(root))
    # the file is not needed when depth is not a task
    OmniDataset(make_opt(root, tasks="a,s,t"))


def test_inconsistent_keys_report_item(omni_root, tmp_path):
    root = copy_root(omni_root, tmp_path)
    path = os.path.join(root, "rf_train.json")
    items = json.load(open(path))
    del items[2]["s"]
    json.dump(items, open(path, "w"))
    with pytest.raises(OmniListError, match=r"rf_train\.json: item 2 has no 's' entry but item 0 does"):
        OmniDataset(make_opt(root))


@pytest.mark.parametrize("content,message", [
    ("{x: a.png}", "must contain a list of items"),
    ("[]", "is empty"),
    ("- x: a.png\n  q: b.png\n", r"item 0 has unknown key\(s\) \['q'\]"),
    ("- d: a.npy\n", "item 0 has no 'x'"),
    ("- x: [1, 2]\n", "item 0: 'x' must be a file path"),
    ("- x: a.png\n- 3\n", "item 1 must be a mapping"),
    ("- x: [unclosed\n", "is not valid YAML"),
])
def test_bad_yaml_lists(tmp_path, content, message):
    path = tmp_path / "rf_train.yaml"
    path.write_text(content)
    with pytest.raises(OmniListError, match=message):
        read_list(str(path))


def test_bad_json_list_and_bad_label_files(tmp_path):
    path = tmp_path / "rf_train.json"
    path.write_text('[{"x": "a.png",}]')
    with pytest.raises(OmniListError, match="is not valid JSON"):
        read_list(str(path))
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "a.png")
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "rgb_seg.png")
    np.save(tmp_path / "seg.npy", np.zeros((8, 8), np.float32))
    from data.omni_dataset import load_entry
    with pytest.raises(OmniListError, match="item 4: 's' .*one class id per pixel"):
        load_entry("s", str(tmp_path / "rgb_seg.png"), 4, str(path))
    with pytest.raises(OmniListError, match="integer HxW map"):
        load_entry("s", str(tmp_path / "seg.npy"), 0, str(path))


def test_process_data_on_a_generated_tree(omni_root, tmp_path):
    src = os.path.join(omni_root, "sf")
    out = str(tmp_path / "lists")
    assert process_data.main(["--path", src, "--domain", "sf", "--out_dir", out, "--train_size", "60",
                              "--format", "yaml", "--relative",
                              "--mapping", "Data=x,Depth=d,Segmentation=s,Height=h,Flood=w"]) == 0
    train = read_list(os.path.join(out, "sf_train.yaml"))
    val = read_list(os.path.join(out, "sf_val.yaml"))
    assert len(train) == 3 and len(val) == 2
    assert {os.path.basename(i["x"]) for i in train + val} == {f"{s}_{i:03d}.png" for s, n in
                                                                (("train", 3), ("val", 2)) for i in range(n)}
    raw = yaml.safe_load(open(os.path.join(out, "sf_train.yaml")))
    assert not os.path.isabs(raw[0]["x"]) and set(raw[0]) == {"x", "d", "s", "h", "w"}
    # one list without --train_size, with a custom mapping that drops Height
    assert process_data.main(["--source", src, "--domain", "sf", "--out_dir", out, "--split", "all",
                              "--mapping", "Data=x,Depth=d"]) == 0
    items = json.load(open(os.path.join(out, "sf_all.json")))
    assert len(items) == 5 and set(items[0]) == {"x", "d"}


def fails(argv):
    """process_data's command line: a user error exits with status 2 and one line."""
    with pytest.raises(SystemExit) as info:
        run_cli(process_data.main, argv)
    return info.value.code == 2


def test_process_data_skips_incomplete_samples_and_reports_errors(omni_root, tmp_path, capsys):
    src = str(tmp_path / "rn")
    shutil.copytree(os.path.join(omni_root, "rn"), src)
    os.remove(os.path.join(src, "Depth", "val_000.png"))
    items, incomplete = items_from_folders(src, {"Data": "x", "Depth": "d", "Segmentation": "s"})
    assert len(items) == 4 and incomplete == [("val_000", ["d"])]
    rn_mapping = ["--mapping", "Data=x,Depth=d,Segmentation=s"]  # rn has no height or water maps
    assert process_data.main(["--source", src, "--domain", "rn"] + rn_mapping) == 0
    assert "skipped sample 'val_000'" in capsys.readouterr().out
    # the default mapping (Segmentation, Depth, Data, Height) names a folder rn does not have: an error, as published
    assert fails(["--source", src, "--domain", "rn"])
    assert "folder 'Height' (mapped to 'h') not found" in capsys.readouterr().err
    assert fails(["--source", src, "--domain", "rn", "--train_size", "1.0"] + rn_mapping)
    assert "--train_size" in capsys.readouterr().err
    assert fails(["--source", str(tmp_path / "nowhere"), "--domain", "rn"])
    assert fails(["--source", src, "--domain", "rn", "--mapping", "Depth"])
    assert "Folder=key" in capsys.readouterr().err


def test_preprocess_none_rounds_to_the_encoder_multiple(omni_root):
    ds = OmniDataset(make_opt(omni_root, preprocess="none", omni_n_downsample=4, isTrain=False))
    item = ds[0]["sn"]["data"]
    assert item["x"].shape == (3, 32, 32) and item["s"].shape == (32, 32)  # 32 is a multiple of 16
    ds = OmniDataset(make_opt(omni_root, preprocess="scale_width", load_size=40, isTrain=False))
    assert ds[0]["rf"]["data"]["w"].shape == (1, 40, 40)


def test_scripts_run_from_any_folder(tmp_path):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    data = str(tmp_path / "omni")
    subprocess.run([sys.executable, os.path.join(root, "datasets", "synthetic_omni.py"), "--root", data,
                    "--n_train", "2", "--n_val", "1", "--size", "16"], cwd=str(tmp_path), check=True,
                   capture_output=True)
    lists = tmp_path / "lists"
    env = dict(os.environ, PYTHONPATH=root)
    res = subprocess.run([sys.executable, "-m", "tools.omnigan.process_data", "--source", os.path.join(data, "rn"),
                          "--domain", "rn", "--out_dir", str(lists), "--mapping", "Data=x,Depth=d,Segmentation=s"],
                         cwd=str(tmp_path), capture_output=True,
                         text=True, env=env)
    assert res.returncode == 0, res.stderr
    assert "wrote 3 items" in res.stdout and len(read_list(str(lists / "rn_train.json"))) == 3
    # the old path forwards to the new module and says so; errors stay one line with status 2
    res = subprocess.run([sys.executable, os.path.join(root, "scripts", "process_data.py"), "--source",
                          os.path.join(data, "nowhere"), "--domain", "rn"], cwd=str(tmp_path), capture_output=True,
                         text=True)
    assert res.returncode == 2 and "python -m tools.omnigan.process_data" in res.stderr
    assert res.stderr.strip().splitlines()[-1].startswith("error: ") and "Traceback" not in res.stderr


def test_published_geometry_and_inverse_depth(omni_root, tmp_path):
    # resize to load_size, crop crop_size, resize back to load_size (published 256 -> 224 -> 256)
    ds = OmniDataset(make_opt(omni_root, load_size=40, crop_size=24, omni_final_size=-1))
    item = ds[0]["sf"]["data"]
    assert item["x"].shape == (3, 40, 40) and item["s"].shape == (40, 40) and item["w"].shape == (1, 40, 40)
    assert OmniDataset(make_opt(omni_root, load_size=40, crop_size=24, omni_final_size=0))[0]["sf"]["data"][
        "x"].shape == (3, 24, 24)
    assert OmniDataset(make_opt(omni_root, load_size=40, crop_size=24, omni_final_size=16))[0]["sf"]["data"][
        "d"].shape == (1, 16, 16)
    from data.omni_dataset import load_entry
    Image.fromarray(np.array([[0, 1], [2, 255]], np.uint8)).save(tmp_path / "depth.png")
    inverse = load_entry("d", str(tmp_path / "depth.png"))
    assert torch.allclose(inverse, torch.tensor([[[0.0, 1.0], [0.5, 1 / 255]]]))
    linear = load_entry("d", str(tmp_path / "depth.png"), depth="linear")
    assert torch.allclose(linear, torch.tensor([[[0.0, 1 / 255], [2 / 255, 1.0]]]))
