"""LiSS (Lifelong Self-Supervision, Schmidt et al. 2020) building blocks: auxiliary self-supervised tasks and
their heads, the multi-head generator and the task schedules. The model itself is models/liss_model.py."""
from .tasks import (AUX_TASKS, build_heads, depth_target, jigsaw_batch, jigsaw_crop_size, jigsaw_permutations,
                    make_permutations, parse_tasks, rotation_batch, to_gray)
from .generator import ROTATION_CLASSES, LissGenerator, RotationDiscriminator, split_at_block
from .schedule import TaskSchedule, SCHEDULES, REPR_MODES
