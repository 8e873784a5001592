"""Tests for the dataset/model download scripts and the train/test shell scripts.

The download scripts run against a local http.server on 127.0.0.1 (free port) that serves
archives built here, selected through GAN_DOWNLOAD_BASE_URL, so no internet is needed.
"""

import functools
import http.server
import io
import os
import shutil
import signal
import socket
import subprocess
import tarfile
import threading
import time
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PIX2PIX_DATA = REPO / "datasets" / "download_pix2pix_dataset.sh"
CYCLEGAN_DATA = REPO / "datasets" / "download_cyclegan_dataset.sh"
PIX2PIX_MODEL = REPO / "scripts" / "download_pix2pix_model.sh"
CYCLEGAN_MODEL = REPO / "scripts" / "download_cyclegan_model.sh"

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")


RELEASE_SLOW = threading.Event()  # set to let a stalled /slow/ response finish


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest output clean
        pass

    def do_GET(self):
        # Paths under /slow/ send part of a body, then stall (bounded) to test interruption.
        if "/slow/" in self.path:
            self.send_response(200)
            self.send_header("Content-Length", str(1 << 20))
            self.end_headers()
            try:
                self.wfile.write(b"x" * 4096)
                self.wfile.flush()
            except OSError:
                return
            RELEASE_SLOW.wait(timeout=10)
            return
        super().do_GET()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """Serve a temp folder on 127.0.0.1:<free port>; yields (base_url, folder)."""
    root = tmp_path_factory.mktemp("mirror")
    handler = functools.partial(_QuietHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", root
    finally:
        RELEASE_SLOW.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def _env(base_url, downloader=None):
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env["GAN_DOWNLOAD_BASE_URL"] = base_url
    if downloader:
        env["GAN_DOWNLOADER"] = downloader
    return env


def run_script(script, *args, base_url="http://127.0.0.1:1", downloader=None):
    return subprocess.run(["bash", str(script), *map(str, args)], env=_env(base_url, downloader),
                          capture_output=True, text=True, timeout=60)


def _files(layout):
    """{relative path: bytes} for a dataset with the given folders, two small files each."""
    return {f"{folder}/{i}.jpg": f"{folder}-{i}".encode() for folder in layout for i in range(2)}


def write_tar_gz(path, members):
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def write_zip(path, members):
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)


def prefixed(prefix, files):
    return {f"{prefix}/{k}": v for k, v in files.items()}


def leftovers(folder):
    """Hidden temp folders the scripts create while downloading (must be gone afterwards)."""
    return [p.name for p in Path(folder).glob(".*download*")] if Path(folder).exists() else []


# ---------------------------------------------------------------- datasets


def test_pix2pix_dataset_good_archive(server, tmp_path):
    base, root = server
    files = _files(["train", "val", "test"])
    write_tar_gz(root / "pix2pix/datasets/facades.tar.gz", prefixed("facades", files))
    dest = tmp_path / "datasets"
    res = run_script(PIX2PIX_DATA, "--datasets_dir", dest, "facades", base_url=base)
    assert res.returncode == 0, res.stderr
    for rel, data in files.items():
        assert (dest / "facades" / rel).read_bytes() == data
    assert "ready" in res.stdout
    assert sorted(p.name for p in dest.iterdir()) == ["facades"]  # no archive, no temp folder


@pytest.mark.parametrize("downloader", ["curl", "wget"])
def test_cyclegan_dataset_good_archive(server, tmp_path, downloader):
    if shutil.which(downloader) is None:
        pytest.skip(f"{downloader} not installed")
    base, root = server
    files = _files(["trainA", "trainB", "testA", "testB"])
    write_zip(root / "cyclegan/datasets/horse2zebra.zip", prefixed("horse2zebra", files))
    dest = tmp_path / "datasets"
    res = run_script(CYCLEGAN_DATA, "--datasets_dir", dest, "horse2zebra", base_url=base,
                     downloader=downloader)
    assert res.returncode == 0, res.stderr
    for rel, data in files.items():
        assert (dest / "horse2zebra" / rel).read_bytes() == data
    assert leftovers(dest) == []


def test_ae_photos_needs_only_testA(server, tmp_path):
    base, root = server
    write_zip(root / "cyclegan/datasets/ae_photos.zip", prefixed("ae_photos", _files(["testA"])))
    res = run_script(CYCLEGAN_DATA, "--datasets_dir", tmp_path, "ae_photos", base_url=base)
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "ae_photos/testA/0.jpg").is_file()


def test_existing_dataset_is_kept_without_force(server, tmp_path):
    base, root = server
    write_tar_gz(root / "pix2pix/datasets/maps.tar.gz", prefixed("maps", _files(["train", "val"])))
    (tmp_path / "maps").mkdir()
    (tmp_path / "maps" / "mine.txt").write_text("keep")
    res = run_script(PIX2PIX_DATA, "--datasets_dir", tmp_path, "maps", base_url=base)
    assert res.returncode == 0
    assert "already exists" in res.stdout and "--force" in res.stdout
    assert sorted(p.name for p in (tmp_path / "maps").iterdir()) == ["mine.txt"]


def test_force_replaces_existing_dataset_after_verification(server, tmp_path):
    base, root = server
    files = _files(["train", "val"])
    write_tar_gz(root / "pix2pix/datasets/edges2shoes.tar.gz", prefixed("edges2shoes", files))
    (tmp_path / "edges2shoes").mkdir()
    (tmp_path / "edges2shoes" / "old.txt").write_text("old")
    res = run_script(PIX2PIX_DATA, "--force", "--datasets_dir", tmp_path, "edges2shoes", base_url=base)
    assert res.returncode == 0, res.stderr
    assert not (tmp_path / "edges2shoes" / "old.txt").exists()
    assert (tmp_path / "edges2shoes/train/0.jpg").read_bytes() == files["train/0.jpg"]
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("kind", ["truncated", "html"])
def test_broken_archive_fails_and_keeps_existing(server, tmp_path, kind):
    base, root = server
    good = io.BytesIO()
    with tarfile.open(fileobj=good, mode="w:gz") as tar:
        for name, data in prefixed("night2day", _files(["train", "val", "test"])).items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    payload = good.getvalue()[: len(good.getvalue()) // 2] if kind == "truncated" \
        else b"<html><body>Service temporarily unavailable</body></html>"
    (root / "pix2pix/datasets").mkdir(parents=True, exist_ok=True)
    (root / "pix2pix/datasets/night2day.tar.gz").write_bytes(payload)
    (tmp_path / "night2day").mkdir()
    (tmp_path / "night2day" / "mine.txt").write_text("keep")
    res = run_script(PIX2PIX_DATA, "--force", "--datasets_dir", tmp_path, "night2day", base_url=base)
    assert res.returncode == 1
    assert "not a valid tar.gz" in res.stderr and "Nothing was changed" in res.stderr
    assert sorted(p.name for p in (tmp_path / "night2day").iterdir()) == ["mine.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["night2day"]


def test_corrupt_zip_fails_cleanly(server, tmp_path):
    base, root = server
    (root / "cyclegan/datasets").mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in prefixed("monet2photo", _files(["trainA", "trainB", "testA", "testB"])).items():
            zf.writestr(name, data)
    (root / "cyclegan/datasets/monet2photo.zip").write_bytes(buf.getvalue()[:-40])
    dest = tmp_path / "d"
    res = run_script(CYCLEGAN_DATA, "--datasets_dir", dest, "monet2photo", base_url=base)
    assert res.returncode == 1
    assert "not a valid zip" in res.stderr
    assert not dest.exists()  # the folder it created for the download is gone again


def test_archive_without_expected_folders_is_rejected(server, tmp_path):
    base, root = server
    write_zip(root / "cyclegan/datasets/apple2orange.zip",
              prefixed("apple2orange", _files(["trainA", "testA"])))
    (tmp_path / "apple2orange").mkdir()
    (tmp_path / "apple2orange" / "mine.txt").write_text("keep")
    res = run_script(CYCLEGAN_DATA, "--force", "--datasets_dir", tmp_path, "apple2orange", base_url=base)
    assert res.returncode == 1
    assert "expected layout" in res.stderr and "trainB" in res.stderr
    assert sorted(p.name for p in (tmp_path / "apple2orange").iterdir()) == ["mine.txt"]
    assert leftovers(tmp_path) == []


def test_archive_with_parent_paths_is_refused(server, tmp_path):
    base, root = server
    members = prefixed("edges2handbags", _files(["train", "val"]))
    members["edges2handbags/../../escape.txt"] = b"evil"
    write_tar_gz(root / "pix2pix/datasets/edges2handbags.tar.gz", members)
    dest = tmp_path / "a" / "b"
    res = run_script(PIX2PIX_DATA, "--datasets_dir", dest, "edges2handbags", base_url=base)
    assert res.returncode == 1
    assert "'..'" in res.stderr
    assert list(tmp_path.rglob("escape.txt")) == []
    assert not (tmp_path / "a").exists()


def test_interrupted_download_leaves_nothing(server, tmp_path):
    """Ctrl-C (SIGINT to the process group) during the transfer removes the partial archive."""
    base, _ = server
    dest = tmp_path / "datasets"
    proc = subprocess.Popen(["bash", str(CYCLEGAN_DATA), "--datasets_dir", str(dest), "maps"],
                            env=_env(base + "/slow"), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.monotonic() + 10
        while not list(dest.glob(".maps.download.*/archive.zip")):
            assert time.monotonic() < deadline, "download never started"
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.02)
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode != 0
    assert not dest.exists()


def test_dataset_404_fails_cleanly(server, tmp_path):
    base, _ = server
    dest = tmp_path / "datasets"
    res = run_script(CYCLEGAN_DATA, "--datasets_dir", dest, "vangogh2photo", base_url=base)
    assert res.returncode == 1
    assert "download failed" in res.stderr and "vangogh2photo.zip" in res.stderr
    assert "404" in res.stderr
    assert not dest.exists()


def test_unreachable_server_fails_cleanly(tmp_path):
    with socket.socket() as sock:  # a port that was just free, so nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    res = run_script(PIX2PIX_DATA, "--datasets_dir", tmp_path, "facades", base_url=f"http://127.0.0.1:{port}")
    assert res.returncode == 1
    assert "download failed" in res.stderr
    assert list(tmp_path.iterdir()) == []


def test_cityscapes_pix2pix_explains_how_to_build_it(tmp_path):
    res = run_script(PIX2PIX_DATA, "--datasets_dir", tmp_path, "cityscapes")
    assert res.returncode == 1
    assert "cityscapes-dataset.com" in res.stderr
    assert "prepare_cityscapes_dataset.py" in res.stderr
    assert list(tmp_path.iterdir()) == []


EXPECTED_NAMES = {
    PIX2PIX_DATA: ["facades", "cityscapes", "maps", "edges2shoes", "edges2handbags", "night2day"],
    CYCLEGAN_DATA: ["apple2orange", "summer2winter_yosemite", "horse2zebra", "monet2photo",
                    "cezanne2photo", "ukiyoe2photo", "vangogh2photo", "maps", "cityscapes",
                    "facades", "iphone2dslr_flower", "ae_photos"],
    PIX2PIX_MODEL: ["edges2shoes", "sat2map", "map2sat", "facades_label2photo", "day2night"],
    CYCLEGAN_MODEL: ["apple2orange", "orange2apple", "summer2winter_yosemite",
                     "winter2summer_yosemite", "horse2zebra", "zebra2horse", "monet2photo",
                     "style_monet", "style_cezanne", "style_ukiyoe", "style_vangogh", "sat2map",
                     "map2sat", "cityscapes_photo2label", "cityscapes_label2photo",
                     "facades_photo2label", "facades_label2photo", "iphone2dslr_flower"],
}


@pytest.mark.parametrize("script", list(EXPECTED_NAMES), ids=lambda p: p.name)
def test_unknown_name_lists_valid_names(script, tmp_path):
    res = run_script(script, "no_such_thing", "--datasets_dir" if "dataset" in script.name
                     else "--checkpoints_dir", tmp_path)
    assert res.returncode == 2
    assert "unknown" in res.stderr and "no_such_thing" in res.stderr
    for name in EXPECTED_NAMES[script]:
        assert name in res.stderr.split()
    assert list(tmp_path.iterdir()) == []
    listed = run_script(script, "--list")
    assert listed.returncode == 0 and listed.stdout.split() == EXPECTED_NAMES[script]
    assert run_script(script).returncode == 2  # no name at all
    helped = run_script(script, "--help")
    assert helped.returncode == 0 and "GAN_DOWNLOAD_BASE_URL" in helped.stdout


# ---------------------------------------------------------------- models


def _fake_checkpoint(path):
    torch = pytest.importorskip("torch")
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {"model.0.weight": torch.arange(6, dtype=torch.float32).reshape(2, 3)}
    torch.save(state, path)
    return torch, state


@pytest.mark.parametrize("script,remote", [
    (CYCLEGAN_MODEL, "cyclegan/pretrained_models/horse2zebra.pth"),
    (PIX2PIX_MODEL, "pix2pix/models-pytorch/sat2map.pth"),
], ids=["cyclegan", "pix2pix"])
def test_model_download_writes_latest_net_G(server, tmp_path, script, remote):
    base, root = server
    torch, state = _fake_checkpoint(root / remote)
    name = Path(remote).stem
    res = run_script(script, "--checkpoints_dir", tmp_path / "checkpoints", name, base_url=base)
    assert res.returncode == 0, res.stderr
    target = tmp_path / "checkpoints" / f"{name}_pretrained" / "latest_net_G.pth"
    loaded = torch.load(target, map_location="cpu", weights_only=True)
    assert torch.equal(loaded["model.0.weight"], state["model.0.weight"])
    assert sorted(p.name for p in target.parent.iterdir()) == ["latest_net_G.pth"]
    assert leftovers(tmp_path / "checkpoints") == []
    # Existing checkpoint: kept unless --force.
    target.write_bytes(b"PK-mine")
    again = run_script(script, "--checkpoints_dir", tmp_path / "checkpoints", name, base_url=base)
    assert again.returncode == 0 and target.read_bytes() == b"PK-mine"
    forced = run_script(script, "--force", "--checkpoints_dir", tmp_path / "checkpoints", name, base_url=base)
    assert forced.returncode == 0 and target.read_bytes() == (root / remote).read_bytes()


def test_model_404_fails_cleanly(server, tmp_path):
    base, _ = server
    ckpt = tmp_path / "checkpoints"
    res = run_script(CYCLEGAN_MODEL, "--checkpoints_dir", ckpt, "style_monet", base_url=base)
    assert res.returncode == 1
    assert "download failed" in res.stderr and "404" in res.stderr
    assert not ckpt.exists()


def test_model_that_is_not_a_checkpoint_is_rejected(server, tmp_path):
    base, root = server
    (root / "pix2pix/models-pytorch").mkdir(parents=True, exist_ok=True)
    (root / "pix2pix/models-pytorch/day2night.pth").write_bytes(b"<html>moved</html>")
    ckpt = tmp_path / "checkpoints"
    ckpt.mkdir()
    res = run_script(PIX2PIX_MODEL, "--checkpoints_dir", ckpt, "day2night", base_url=base)
    assert res.returncode == 1
    assert "not a PyTorch checkpoint" in res.stderr
    assert list(ckpt.iterdir()) == []


# ---------------------------------------------------------------- train/test scripts

FAKE_PYTHON = """#!/usr/bin/env bash
{ echo "CWD=$PWD"; printf '%s\\n' "$@"; } > "$RECORD"
"""

# script -> (entry point, {option: expected value, or None for a flag})
RUN_SCRIPTS = {
    "train_pix2pix.sh": ("train.py", {"--dataroot": "./datasets/facades", "--model": "pix2pix",
                                      "--netG": "unet_256", "--direction": "BtoA", "--lambda_L1": "100",
                                      "--dataset_mode": "aligned", "--norm": "batch", "--pool_size": "0"}),
    "test_pix2pix.sh": ("test.py", {"--dataroot": "./datasets/facades", "--model": "pix2pix",
                                    "--netG": "unet_256", "--direction": "BtoA",
                                    "--dataset_mode": "aligned", "--norm": "batch"}),
    "train_cyclegan.sh": ("train.py", {"--dataroot": "./datasets/maps", "--model": "cycle_gan",
                                       "--pool_size": "50", "--no_dropout": None}),
    "test_cyclegan.sh": ("test.py", {"--dataroot": "./datasets/maps", "--model": "cycle_gan",
                                     "--phase": "test", "--no_dropout": None}),
    "test_single.sh": ("test.py", {"--dataroot": "./datasets/facades/testB/", "--model": "test",
                                   "--netG": "unet_256", "--direction": "BtoA",
                                   "--dataset_mode": "single", "--norm": "batch"}),
}


def _recording_python(tmp_path):
    """An interpreter stand-in (via $PYTHON) that records its working folder and arguments."""
    fake = tmp_path / "fakepython"
    fake.write_text(FAKE_PYTHON)
    fake.chmod(0o755)
    record = tmp_path / "argv.txt"
    return dict(os.environ, PYTHON=str(fake), RECORD=str(record)), record


@pytest.mark.parametrize("script", list(RUN_SCRIPTS))
def test_run_scripts_call_entry_point_from_repo_root(script, tmp_path):
    env, record = _recording_python(tmp_path)
    res = subprocess.run(["bash", str(REPO / "scripts" / script), "--name", "mine", "--gpu_ids", "-1"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=30)
    assert res.returncode == 0, res.stderr
    lines = record.read_text().splitlines()
    assert lines[0] == f"CWD={REPO}"
    entry, expected = RUN_SCRIPTS[script]
    args = lines[1:]
    assert args[0] == entry
    for option, value in expected.items():
        assert option in args, f"{script} does not pass {option}"
        if value is not None:
            assert args[args.index(option) + 1] == value
    assert args[-4:] == ["--name", "mine", "--gpu_ids", "-1"]  # user arguments come last and win


@pytest.mark.parametrize("script", list(RUN_SCRIPTS))
def test_run_script_options_are_accepted_by_the_option_parser(script, tmp_path):
    """Every option a script passes must exist for its --model/--dataset_mode (catches drift)."""
    env, record = _recording_python(tmp_path)
    subprocess.run(["bash", str(REPO / "scripts" / script), "--checkpoints_dir", str(tmp_path / "ck")],
                   env=env, check=True, capture_output=True, timeout=30)
    entry, *args = record.read_text().splitlines()[1:]
    options = pytest.importorskip("options.train_options" if entry == "train.py" else "options.test_options")
    cls = options.TrainOptions if entry == "train.py" else options.TestOptions
    opt = cls(args).gather_options()  # argparse exits (SystemExit) on any unknown option
    for option, value in RUN_SCRIPTS[script][1].items():
        parsed = getattr(opt, option.lstrip("-"))
        if value is None:
            assert parsed is True
        elif isinstance(parsed, (int, float)) and not isinstance(parsed, bool):
            assert parsed == float(value)
        else:
            assert str(parsed) == value
