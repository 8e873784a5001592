"""OmniGenerator: one shared encoder, task decoders d/s/h/w, adaptation decoders a[r|s] and the SPADE
translation head t (targets f, n).

Adaptation has one decoder per *target* domain: `a["s"]` renders an image in the simulated style, `a["r"]` in
the real style. Translation to f (flooded) or n (not flooded) goes through one decoder told the target by a
2-channel bit (published) or through one decoder per target (`--omni_translation separate`).
"""
import torch
import torch.nn as nn

from .decoders import TaskDecoder, TranslationDecoders
from .encoders import DeeplabV2Encoder, MunitContentEncoder

ALL_TASKS = ("a", "d", "h", "s", "t", "w")
# output activation of the task decoders: the published decoders end every head in tanh (blocks.py:189 at
# cc-ai/omnigan@432cfa1); the water mask keeps raw logits here (its published loss is a placeholder)
TASK_ACTIVATIONS = ("tanh", "none")
# the SPADE condition: raw (published: the heads' outputs in sorted order d, h, s, w, the water head through
# the tanh the published head ends in) or probs (the seed's order h, d, s, w with softmax(s) and sigmoid(w))
CONDITION_ORDER = {"raw": ("d", "h", "s", "w"), "probs": ("h", "d", "s", "w")}
CONDITION_CHOICES = tuple(CONDITION_ORDER)
CONDITION_TASKS = CONDITION_ORDER["raw"]


def parse_tasks(tasks):
    """'d,s,t' or ['d', 's', 't'] -> sorted tuple of task keys; clear error for unknown keys."""
    if isinstance(tasks, str):
        tasks = [t.strip() for t in tasks.split(",") if t.strip()]
    tasks = tuple(sorted(set(tasks)))
    unknown = [t for t in tasks if t not in ALL_TASKS]
    if unknown:
        raise ValueError(f"unknown omnigan task(s) {unknown}: choose from {','.join(ALL_TASKS)}")
    if not tasks:
        raise ValueError(f"--tasks is empty: choose some of {','.join(ALL_TASKS)}")
    return tasks


class OmniGenerator(nn.Module):
    """Encoder + per-task decoders; see the module docstring for the decoder dictionary layout."""

    def __init__(self, tasks=ALL_TASKS, input_nc=3, encoder="munit", enc_dim=64, n_downsample=2, enc_n_res=4,
                 dec_n_res=4, n_classes=19, norm="in", deeplab_layers=(3, 4, 23, 3), deeplab_weights="",
                 deeplab_proj_dim=512, spade_nhidden=128, spade_norm="instance", spade_spectral=True,
                 load_pretrained=True, task_activation="tanh", spade_kernel_size=3, activation="lrelu",
                 enc_conv_norm="spectral", condition="raw", shared_translation=True):
        super().__init__()
        self.tasks = parse_tasks(tasks)
        self.n_classes = n_classes
        if encoder == "munit":
            self.encoder = MunitContentEncoder(input_nc, enc_dim, n_downsample, enc_n_res, norm=norm,
                                               activation=activation, conv_norm=enc_conv_norm)
        elif encoder == "deeplabv2":
            self.encoder = DeeplabV2Encoder(input_nc, deeplab_layers, deeplab_proj_dim, enc_n_res, norm=norm,
                                            activation=activation, weights_path=deeplab_weights,
                                            load_weights=load_pretrained)
        else:
            raise ValueError(f"unknown --omni_encoder '{encoder}': use munit or deeplabv2")
        z_nc, n_up = self.encoder.output_dim, self.encoder.n_downsample

        def task_decoder(out_nc, output_activation="none"):
            # decoders upsample as many times as the encoder downsampled so outputs match the input size
            return TaskDecoder(z_nc, out_nc, n_up, dec_n_res, res_norm=norm, activation=activation,
                               output_activation=output_activation)

        out_channels = {"d": 1, "h": 1, "w": 1, "s": n_classes}
        if task_activation not in TASK_ACTIVATIONS:
            raise ValueError(f"unknown task decoder activation '{task_activation}': use one of "
                             f"{', '.join(TASK_ACTIVATIONS)}")
        self.task_activation = task_activation
        self.decoders = nn.ModuleDict()
        for task in ("d", "h", "s", "w"):
            if task in self.tasks:
                self.decoders[task] = task_decoder(out_channels[task], "none" if task == "w" else task_activation)
        if "a" in self.tasks:
            self.decoders["a"] = nn.ModuleDict({dom: task_decoder(input_nc, "tanh") for dom in ("r", "s")})
        if condition not in CONDITION_ORDER:
            raise ValueError(f"unknown SPADE condition '{condition}': use one of {', '.join(CONDITION_CHOICES)}")
        self.condition_kind = condition
        self.condition_tasks = tuple(t for t in CONDITION_ORDER[condition] if t in self.tasks)
        self.cond_nc = sum(out_channels[t] for t in self.condition_tasks)
        if "t" in self.tasks:
            self.decoders["t"] = TranslationDecoders(
                shared_translation, z_nc=z_nc, cond_nc=self.cond_nc, n_up=n_up, output_nc=input_nc,
                nhidden=spade_nhidden, param_free_norm=spade_norm, use_spectral_norm=spade_spectral,
                kernel_size=spade_kernel_size)

    def load_pretrained(self):
        """Reload pretrained encoder weights (DeepLab-v2 file) if any, e.g. after a global weight init."""
        if hasattr(self.encoder, "load_pretrained"):
            self.encoder.load_pretrained()

    # ------------------------------------------------------------------ pieces
    def encode(self, x):
        return self.encoder(x)

    def decode(self, task, z):
        """Output of task decoder d|h|s|w (logits for w; d, h, s after the --omni_task_activation)."""
        return self.decoders[task](z)

    def adapt(self, z, target):
        """Adaptation decoder towards domain style `target` in {r, s}; image in [-1, 1]."""
        return self.decoders["a"][target](z)

    def condition_from(self, preds, tasks=None):
        """Concatenate task predictions into the SPADE condition (see CONDITION_ORDER): raw, the water logits
        through tanh; probs, s as softmax and w as sigmoid."""
        maps = []
        for task in self.condition_tasks if tasks is None else tasks:
            p = preds[task]
            if self.condition_kind == "probs" and task == "s":
                p = p.softmax(dim=1)
            elif task == "w":
                p = p.sigmoid() if self.condition_kind == "probs" else p.tanh()
            maps.append(p)
        return torch.cat(maps, dim=1)

    def condition(self, z, preds=None):
        preds = dict(preds or {})
        for task in self.condition_tasks:
            if task not in preds:
                preds[task] = self.decode(task, z)
        return self.condition_from(preds, self.condition_tasks)

    def translate(self, z, target, cond=None):
        """Translation decoder towards `target` in {f (flooded), n (not flooded)}; image in [-1, 1]."""
        if cond is None:
            cond = self.condition(z)
        return self.decoders["t"](z, cond, target)

    def forward(self, x):
        """Every head on `x`: {'z', 'd', 'h', 's', 'w', 'a': {r, s}, 't': {f, n}} (enabled ones only)."""
        z = self.encode(x)
        out = {"z": z}
        for task in ("d", "h", "s", "w"):
            if task in self.decoders:
                out[task] = self.decode(task, z)
        if "a" in self.decoders:
            out["a"] = {dom: self.adapt(z, dom) for dom in ("r", "s")}
        if "t" in self.decoders:
            cond = self.condition(z, out)
            out["t"] = {dom: self.translate(z, dom, cond) for dom in ("f", "n")}
        return out
