"""What --model omnigan shows: every head of every domain of the batch as an image in [-1, 1] (segmentation
coloured with a fixed palette, the water mask as its probability, regressions min-max scaled)."""
from collections import OrderedDict

import numpy as np
import torch


def segmentation_palette(n_classes):
    """A fixed, well-spread colour per class (seeded so results pages are comparable across runs)."""
    rng = np.random.RandomState(1234)
    return torch.from_numpy(rng.randint(0, 256, size=(max(n_classes, 1), 3)).astype(np.float32) / 127.5 - 1.0)


class OmniganVisuals:
    """Mixin of OmniganModel (models/omnigan_model.py): visuals from self.outputs (computed when missing)."""

    def compute_visuals(self):
        if not self.outputs:
            with torch.no_grad():
                self.forward()
        vis = OrderedDict()
        for dom, out in self.outputs.items():
            vis[f"{dom}_x"] = self.batch[dom]["x"]
            for task in ("d", "h", "s", "w"):
                if task in out:
                    vis[f"{dom}_{task}"] = self._visual(task, out[task])
            for head in ("a", "t"):
                for target, img in out.get(head, {}).items():
                    vis[f"{dom}_{head}_{target}"] = img
        self.visuals = OrderedDict((k, v.detach().float()) for k, v in vis.items())

    def _visual(self, task, pred):
        """Map a head's output to an image in [-1, 1] (segmentation coloured, regression min-max scaled)."""
        pred = pred.detach().float()
        if task == "s":
            labels = pred.argmax(dim=1)
            return self.palette.to(pred.device)[labels].permute(0, 3, 1, 2)
        if task == "w":
            return pred.sigmoid() * 2 - 1
        lo = pred.amin(dim=(1, 2, 3), keepdim=True)
        hi = pred.amax(dim=(1, 2, 3), keepdim=True)
        return (pred - lo) / (hi - lo).clamp_min(1e-8) * 2 - 1

    def get_current_visuals(self):
        if not self.visuals:
            self.compute_visuals()
        return OrderedDict(self.visuals)
