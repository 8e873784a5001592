"""LSUN-style LMDB databases (every value an encoded image) for unconditional GANs.

    DATAROOT/<lsun_category>_lmdb/data.mdb     e.g. --lsun_category bedroom_train, as LSUN's download unpacks
    DATAROOT/data.mdb                          DATAROOT is itself the database (--lsun_category not needed)

Write one from a folder of images with python -m tools.gan.make_lmdb --src FOLDER --out DB. Needs the lmdb
package (pip install lmdb).
"""
import io
import os

from PIL import Image

from data.base_dataset import BadImageError, _to_mode
from data.unconditional import UnconditionalDataset


def open_lmdb(path):
    """Open an LMDB environment read-only, or raise ValueError saying why ``path`` is not one."""
    try:
        import lmdb
    except ImportError as exc:
        raise ImportError('--dataset_mode lmdb needs the lmdb package: pip install lmdb') from exc
    if not os.path.exists(path):
        raise FileNotFoundError(f"LMDB database '{path}' does not exist")
    subdir = os.path.isdir(path)
    if subdir and not os.path.isfile(os.path.join(path, 'data.mdb')):
        raise ValueError(f"'{path}' is not an LMDB database (no data.mdb in it); point --dataroot at the folder "
                         f"holding <category>_lmdb and pass --lsun_category, or write one with "
                         f"python -m tools.gan.make_lmdb")
    try:
        return lmdb.open(path, subdir=subdir, readonly=True, lock=False, readahead=False, meminit=False,
                         max_readers=64)
    except lmdb.Error as exc:
        raise ValueError(f"'{path}' is not a readable LMDB database ({exc})") from exc


def database_path(opt):
    root = opt.dataroot
    if root is None:
        raise FileNotFoundError('--dataset_mode lmdb needs --dataroot (and --lsun_category for LSUN folders)')
    category = getattr(opt, 'lsun_category', None)
    if category:
        return os.path.join(root, category if category.endswith('_lmdb') else f'{category}_lmdb')
    return root


class LmdbDataset(UnconditionalDataset):
    """Items {'A': image, 'label': -1, 'A_paths': '<database>/<key>'}."""

    @staticmethod
    def modify_commandline_options(parser, is_train):
        parser.add_argument('--lsun_category', type=str, default=None,
                            help='dataset_mode lmdb: read DATAROOT/<category>_lmdb, e.g. bedroom_train '
                                 '(without it DATAROOT itself is the database)')
        return parser

    def load_train(self):
        import lmdb
        self.path = database_path(self.opt)
        env = open_lmdb(self.path)
        keys = []
        try:
            with env.begin(write=False) as txn:
                for key in txn.cursor().iternext(keys=True, values=False):
                    if len(keys) >= self.opt.max_dataset_size:
                        break
                    keys.append(bytes(key))
        except lmdb.Error as exc:
            raise ValueError(f"'{self.path}' is not a readable LMDB database ({exc})") from exc
        finally:
            env.close()
        if not keys:
            raise FileNotFoundError(f"LMDB database '{self.path}' is empty")
        self.keys = keys
        self._env = None
        return len(keys)

    def __getstate__(self):  # loader workers open their own environment
        state = dict(self.__dict__)
        state['_env'] = None
        return state

    def get_image(self, index):
        if self._env is None:
            self._env = open_lmdb(self.path)
        key = self.keys[index]
        name = f'{self.path}/{key.decode("utf-8", "replace")}'
        with self._env.begin(write=False) as txn:
            value = txn.get(key)
        try:
            with Image.open(io.BytesIO(value)) as img:
                img.load()
                img = _to_mode(img, 'RGB')
        except (OSError, SyntaxError, ValueError, TypeError) as exc:
            raise BadImageError(f"cannot decode the image of '{name}' ({exc}); pass --skip_bad_images") from exc
        return img, -1, name
