"""`omni` dataset mode: four domains (rf real-flooded, rn real-non-flooded, sf sim-flooded,
sn sim-non-flooded), each described by a JSON or YAML list per split.

A list is a sequence of items, each a mapping from task key to file path:
    x image (required), d depth, s segmentation, h height, w water mask  -- any subset of d/s/h/w,
with `.npy` arrays or images. Relative paths are relative to the list file. Lists are found as
<--omni_lists_dir or --dataroot>/<domain>_<split>.json|.yaml|.yml (see scripts/process_data.py).

Every item of the dataset is {domain: {"data": {key: tensor}, "paths": {key: path}, "domain": domain,
"mode": split}} for the four domains, so a collated batch holds one sub-batch per domain laid out as in
the design notes (tensors stacked, paths / domain / mode as lists).

Label formats after loading: x float 3xHxW in [-1, 1]; d, h float 1xHxW (raw .npy values, or image
intensity / 255); s long HxW class ids (255 = ignored); w float 1xHxW in {0, 1}.
"""
import json
import os

import numpy as np
import torch
import torch.nn.functional as F
import yaml
from PIL import Image

from data.base_dataset import BaseDataset, BadImageError, load_image
from util.errors import OmniListError
from util.util import read_yaml_or_json

DOMAINS = ("rf", "rn", "sf", "sn")
TASK_KEYS = ("x", "d", "s", "h", "w")
LIST_EXTENSIONS = (".json", ".yaml", ".yml")
# which keys a model task reads from the lists (a and t only need the image)
KEYS_OF_TASK = {"d": "d", "s": "s", "h": "h", "w": "w"}


# ---------------------------------------------------------------------------- list files
def read_list(path):
    """Read and structurally check one data list; paths are made absolute (relative to the list file)."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"omni data list not found: {path}")
    items = read_yaml_or_json(path, OmniListError)
    if not isinstance(items, list):
        raise OmniListError(f"{path} must contain a list of items (mappings of task key to path), "
                            f"got {type(items).__name__}")
    if not items:
        raise OmniListError(f"{path} is empty: it needs at least one item")
    base = os.path.dirname(os.path.abspath(path))
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise OmniListError(f"{path}: item {i} must be a mapping of task key to path, got {type(item).__name__}")
        unknown = sorted(set(item) - set(TASK_KEYS))
        if unknown:
            raise OmniListError(f"{path}: item {i} has unknown key(s) {unknown}; allowed keys: {', '.join(TASK_KEYS)}")
        if "x" not in item:
            raise OmniListError(f"{path}: item {i} has no 'x' (image) entry")
        clean = {}
        for key, value in item.items():
            if not isinstance(value, str) or not value:
                raise OmniListError(f"{path}: item {i}: '{key}' must be a file path, got {value!r}")
            clean[key] = value if os.path.isabs(value) else os.path.normpath(os.path.join(base, value))
        out.append(clean)
    return out


def write_list(items, path):
    """Write items to `path` as JSON or YAML (by extension), creating the folder."""
    ext = os.path.splitext(path)[1]
    if ext not in LIST_EXTENSIONS:
        raise ValueError(f"data list {path} must end with one of {', '.join(LIST_EXTENSIONS)}")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        if ext == ".json":
            json.dump(items, f, indent=2)
        else:
            yaml.safe_dump(items, f, sort_keys=False)
    return path


def find_list(root, domain, split):
    """Path of <root>/<domain>_<split>.json|.yaml|.yml, or None."""
    for ext in LIST_EXTENSIONS:
        path = os.path.join(root, f"{domain}_{split}{ext}")
        if os.path.isfile(path):
            return path
    return None


def check_items(items, path, needed_keys):
    """Enforce per-list consistency and file existence for the keys the enabled tasks use.

    Each list provides 'x' plus, for every enabled task key, either a file in every item or in none
    (a task's loss is computed only on domains whose list has its labels). Returns the keys to load.
    """
    provided = ["x"] + [k for k in TASK_KEYS[1:] if k in needed_keys and any(k in it for it in items)]
    for i, item in enumerate(items):
        for key in provided:
            if key not in item:
                first = next(j for j, it in enumerate(items) if key in it)
                raise OmniListError(
                    f"{path}: item {i} has no '{key}' entry but item {first} does; the tasks enabled need "
                    f"'{key}' in every item of a list that has it (or in none)")
            if not os.path.isfile(item[key]):
                raise FileNotFoundError(f"{path}: item {i}: '{key}' file not found: {item[key]}")
    return provided


# ---------------------------------------------------------------------------- file loading
def _load_array(path, key, index, list_path):
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise BadImageError(f"{list_path}: item {index}: cannot read '{key}' array {path} ({exc})") from exc


def load_entry(key, path, index=0, list_path="<list>"):
    """Load one file as a tensor in the format documented in the module docstring (native resolution)."""
    is_npy = path.endswith(".npy")
    where = f"{list_path}: item {index}: '{key}' {path}"
    if key == "x":
        if is_npy:
            arr = _load_array(path, key, index, list_path)
            if arr.ndim == 3 and arr.shape[0] == 3 and arr.shape[-1] != 3:
                arr = arr.transpose(1, 2, 0)
            if arr.ndim != 3 or arr.shape[-1] != 3 or arr.dtype != np.uint8:
                raise OmniListError(f"{where}: an 'x' array must be uint8 HxWx3, got {arr.dtype} {arr.shape}")
            rgb = arr
        else:
            rgb = np.asarray(load_image(path, "RGB"))
        return torch.from_numpy(rgb.transpose(2, 0, 1).astype(np.float32) / 127.5 - 1.0)
    if key == "s":
        if is_npy:
            arr = np.squeeze(_load_array(path, key, index, list_path))
        else:
            try:
                with Image.open(path) as img:
                    img.load()
                    if img.mode not in ("L", "P", "I", "I;16"):
                        raise OmniListError(f"{where}: segmentation images must hold one class id per pixel "
                                            f"(mode L or P), got mode {img.mode}; or use .npy")
                    arr = np.asarray(img)
            except (OSError, SyntaxError) as exc:
                raise BadImageError(f"{where}: cannot read image ({exc})") from exc
        if arr.ndim != 2 or not np.issubdtype(arr.dtype, np.integer):
            raise OmniListError(f"{where}: segmentation must be an integer HxW map, got {arr.dtype} {arr.shape}")
        return torch.from_numpy(arr.astype(np.int64))
    # d, h, w: one float channel
    if is_npy:
        arr = np.squeeze(_load_array(path, key, index, list_path)).astype(np.float32)
    else:
        arr = np.asarray(load_image(path, "L"), dtype=np.float32) / 255.0
    if arr.ndim != 2:
        raise OmniListError(f"{where}: expected a single-channel HxW map, got shape {arr.shape}")
    if key == "w":
        arr = (arr > 0.5).astype(np.float32)
    return torch.from_numpy(arr)[None]


def _resize(t, size, key):
    """Resize a loaded entry to size (h, w): nearest for labels (s, w), bilinear otherwise."""
    if tuple(t.shape[-2:]) == tuple(size):
        return t
    if key == "s":
        return F.interpolate(t[None, None].float(), size=size, mode="nearest")[0, 0].long()
    mode = "nearest" if key == "w" else "bilinear"
    kwargs = {} if mode == "nearest" else {"align_corners": False, "antialias": True}
    return F.interpolate(t[None], size=size, mode=mode, **kwargs)[0]


# ---------------------------------------------------------------------------- dataset
class OmniDataset(BaseDataset):
    """Multi-domain dataset for omnigan; see the module docstring."""

    @staticmethod
    def modify_commandline_options(parser, is_train):
        parser.add_argument("--omni_domains", type=str, default=",".join(DOMAINS),
                            help="comma-separated domains to load, among rf,rn,sf,sn (one list per domain and split)")
        parser.add_argument("--omni_lists_dir", type=str, default="",
                            help="folder holding <domain>_<split>.json|yaml lists; empty: --dataroot")
        parser.add_argument("--omni_split", type=str, default="",
                            help="split to read (train|val|...); empty: --phase, with 'test' falling back to 'val'")
        return parser

    def __init__(self, opt):
        super().__init__(opt)
        self.domains = [d.strip() for d in str(opt.omni_domains).split(",") if d.strip()]
        bad = [d for d in self.domains if d not in DOMAINS]
        if bad or not self.domains:
            raise ValueError(f"--omni_domains {opt.omni_domains!r}: choose among {', '.join(DOMAINS)}")
        root = opt.omni_lists_dir or opt.dataroot
        if not root:
            raise ValueError("the omni dataset needs --dataroot (or --omni_lists_dir) pointing at the folder of data lists")
        split = opt.omni_split or opt.phase
        tasks = getattr(opt, "tasks", "a,d,h,s,t,w")
        tasks = tasks.split(",") if isinstance(tasks, str) else list(tasks)
        needed = {KEYS_OF_TASK[t.strip()] for t in tasks if t.strip() in KEYS_OF_TASK}
        self.split, self.lists, self.list_paths, self.keys = split, {}, {}, {}
        for dom in self.domains:
            path = find_list(root, dom, split)
            if path is None and split == "test" and not opt.omni_split:
                path = find_list(root, dom, "val")
            if path is None:
                raise FileNotFoundError(
                    f"no data list for domain '{dom}' and split '{split}' in {root}: expected {dom}_{split}.json "
                    f"(or .yaml/.yml); build lists with scripts/process_data.py")
            items = read_list(path)
            self.keys[dom] = check_items(items, path, needed)
            self.lists[dom], self.list_paths[dom] = items, path
        self.size = min(max(len(v) for v in self.lists.values()), opt.max_dataset_size)
        self.size = int(self.size)

    def __len__(self):
        return self.size

    def _index(self, dom, index, rng):
        n = len(self.lists[dom])
        # the longest list is walked in order; shorter ones are sampled so every pairing gets seen
        if self.opt.serial_batches or not self.opt.isTrain or n >= self.size:
            return index % n
        return rng.randrange(n)

    def _transform(self, tensors, rng):
        """Same resize / crop / flip for every key of an item."""
        opt = self.opt
        h, w = tensors["x"].shape[-2:]
        tensors = {k: _resize(v, (h, w), k) for k, v in tensors.items()}
        if "resize" in opt.preprocess:
            h = w = opt.load_size
        elif "scale_width" in opt.preprocess:
            h, w = max(opt.crop_size, round(opt.load_size * h / w)), opt.load_size
        if "crop" not in opt.preprocess:
            # sizes must survive the encoder's downsamplings (8x for DeepLab-v2, 2^n for MUNIT)
            m = 2 ** max(3, int(getattr(opt, "omni_n_downsample", 3)))
            h, w = max(m, round(h / m) * m), max(m, round(w / m) * m)
        tensors = {k: _resize(v, (h, w), k) for k, v in tensors.items()}
        if "crop" in opt.preprocess:
            c = opt.crop_size
            if h < c or w < c:
                raise ValueError(f"--crop_size {c} is larger than the resized image {h}x{w}; raise --load_size")
            y, x = rng.randint(0, h - c), rng.randint(0, w - c)
            tensors = {k: v[..., y:y + c, x:x + c] for k, v in tensors.items()}
        if opt.isTrain and not opt.no_flip and rng.random() > 0.5:
            tensors = {k: v.flip(-1) for k, v in tensors.items()}
        return {k: v.contiguous() for k, v in tensors.items()}

    def __getitem__(self, index):
        rng = self.item_rng(index)
        out = {}
        for dom in self.domains:
            i = self._index(dom, index, rng)
            item = self.lists[dom][i]
            tensors = {k: load_entry(k, item[k], i, self.list_paths[dom]) for k in self.keys[dom]}
            out[dom] = {"data": self._transform(tensors, rng), "paths": {k: item[k] for k in self.keys[dom]},
                        "domain": dom, "mode": self.split}
        return out


# ---------------------------------------------------------------------------- building lists from folders
# folder name -> list key (scripts/process_data.py --mapping overrides it)
DEFAULT_FOLDER_MAPPING = {"Segmentation": "s", "Depth": "d", "Data": "x", "Height": "h", "Flood": "w"}


def items_from_folders(source, mapping=None):
    """Items from a folder per category: <source>/<Folder>/<name>.<ext> with the same <name> across folders.

    Returns (items, incomplete): items hold every key of `mapping` found for a sample of the 'x' folder;
    samples lacking a file present for other samples are left out and reported in `incomplete` as
    (name, [missing keys]) so every list stays consistent (see check_items).
    """
    mapping = dict(DEFAULT_FOLDER_MAPPING if mapping is None else mapping)
    bad = sorted(set(mapping.values()) - set(TASK_KEYS))
    if bad:
        raise ValueError(f"folder mapping targets unknown key(s) {bad}; allowed: {', '.join(TASK_KEYS)}")
    if "x" not in mapping.values():
        raise ValueError("the folder mapping needs a folder for 'x' (images), e.g. Data=x")
    if not os.path.isdir(source):
        raise FileNotFoundError(f"source folder not found: {source}")
    files = {}
    for folder, key in mapping.items():
        path = os.path.join(source, folder)
        if not os.path.isdir(path):
            if key == "x":
                raise FileNotFoundError(f"image folder '{folder}' (mapped to 'x') not found in {source}")
            continue
        by_stem = {}
        for name in sorted(os.listdir(path)):
            full = os.path.join(path, name)
            if not os.path.isfile(full) or name.startswith("."):
                continue
            stem = os.path.splitext(name)[0]
            if stem in by_stem:
                raise ValueError(f"{path} holds two files named '{stem}' ({os.path.basename(by_stem[stem])}, {name}); "
                                 f"samples are matched across folders by name without extension")
            by_stem[stem] = os.path.abspath(full)
        files[key] = by_stem
    keys = [k for k in TASK_KEYS if k in files and files[k]]
    items, incomplete = [], []
    for stem in sorted(files["x"]):
        missing = [k for k in keys if stem not in files[k]]
        if missing:
            incomplete.append((stem, missing))
            continue
        items.append({k: files[k][stem] for k in keys})
    return items, incomplete


def split_items(items, train_size, seed=0):
    """Shuffle with `seed` and split into (train, val); train_size is a fraction (0, 1) or a percentage (1, 100)."""
    frac = float(train_size)
    if frac > 1:
        frac /= 100.0
    if not 0 < frac < 1:
        raise ValueError(f"--train_size {train_size} must be a fraction in (0, 1) or a percentage in (1, 100)")
    order = np.random.RandomState(seed).permutation(len(items))
    n_train = int(round(frac * len(items)))
    if n_train < 1 or n_train >= len(items):
        raise ValueError(f"--train_size {train_size} of {len(items)} items leaves an empty train or val split")
    return [items[i] for i in sorted(order[:n_train])], [items[i] for i in sorted(order[n_train:])]


def relative_items(items, base):
    """Paths of `items` rewritten relative to folder `base` (lists stay valid when the tree is moved)."""
    return [{k: os.path.relpath(v, base) for k, v in it.items()} for it in items]
