"""Validation of --model omnigan during training: every --omni_val_freq epochs the <domain>_val lists are scored
(the generator losses of the current phase and the task losses, as val_<name>) and the first batch's images are
shown, through the Visualizer's metrics and results API."""
from collections import OrderedDict

import torch

from data.omni_dataset import find_list
from .objective import TASK_LOSS_NAMES


class OmniganValidation:
    """Mixin of OmniganModel (models/omnigan_model.py): the hooks the training loop calls for validation."""

    def eval_dataset_spec(self):
        """The val lists, scored every --omni_val_freq epochs (data.create_eval_dataset keyword arguments)."""
        if not self.isTrain or self.opt.omni_val_freq <= 0:
            return None
        root = self.opt.omni_lists_dir or self.opt.dataroot
        domains = [d.strip() for d in str(self.opt.omni_domains).split(",") if d.strip()]
        missing = [d for d in domains if find_list(root, d, "val") is None]
        if missing:
            if getattr(self.opt, "rank", 0) == 0:
                print(f"omnigan: no val list for {', '.join(missing)} in {root}: no validation during training "
                      f"(build <domain>_val lists or pass --omni_val_freq 0)")
            return None
        # the training geometry (published resize / crop / resize) with the fixed crops of epoch 0, no flips
        return {"phase": "val", "n": self.opt.omni_val_num, "test_preprocess": False}

    def validate(self):
        """Mean generator losses of the current phase and task losses over the val loader; visuals of batch 1."""
        sums, count, visuals = {}, 0, None
        saved = self.batch, getattr(self, "paths", {}), getattr(self, "image_paths", [])
        for data in self.eval_dataset:
            self.set_input(data)
            self._reset_losses()
            with torch.no_grad(), self.autocast():
                self.loss_G = self._generator_losses()
                for dom, b in self.batch.items():
                    z = self.G.encode(b["x"])
                    for task in self.repr_tasks:
                        if task in b:
                            self._add(f"val_{task}", self.losses["G"]["tasks"][task](
                                self.G.decode(task, z).float(), b[task]))
            values = self.get_current_losses()
            for task in self.repr_tasks:
                value = getattr(self, f"loss_val_{task}", None)
                if value is not None:
                    values[TASK_LOSS_NAMES[task]] = float(value)
                    setattr(self, f"loss_val_{task}", None)
            for name, value in values.items():
                sums[name] = sums.get(name, 0.0) + value
            count += 1
            if visuals is None:
                self.compute_visuals()
                visuals = OrderedDict((f"val_{k}", v) for k, v in self.visuals.items())
        self.batch, self.paths, self.image_paths = saved
        self._reset_losses()
        self.outputs, self.visuals = {}, OrderedDict()
        return {f"val_{k}": v / count for k, v in sums.items()} if count else {}, visuals

    def end_of_epoch(self, epoch, visualizer):
        """Validation on the val lists every --omni_val_freq epochs (losses logged, first batch shown)."""
        if getattr(self, "eval_dataset", None) is None or epoch % max(self.opt.omni_val_freq, 1):
            return
        metrics, visuals = self.validate()
        if metrics:
            visualizer.print_current_metrics(epoch, metrics, split="val")
        if visuals:
            visualizer.display_current_results(visuals, epoch, True)
