"""LiSS (Lifelong Self-Supervision, Schmidt et al. 2020) building blocks: auxiliary self-supervised tasks and
their heads, the multi-head generator and the task schedules. The model itself is models/liss_model.py."""
from .tasks import AUX_TASKS, parse_tasks, build_heads, rotation_batch, jigsaw_batch, to_gray, make_permutations
from .generator import LissGenerator, RotationDiscriminator
from .schedule import TaskSchedule, SCHEDULES, REPR_MODES
