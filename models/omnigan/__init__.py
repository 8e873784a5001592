"""omnigan: a multi-task generator (depth d, segmentation s, height h, water w, adaptation a) with a SPADE
translation decoder t, spectral-norm PatchGAN discriminators, a domain classifier and the ExtraAdam optimizer.

The training logic lives in models/omnigan_model.py; this package holds the networks, losses, options and the
model's objective, validation and visuals (mixins of OmniganModel).
"""
from .classifier import DOMAINS, DomainClassifier
from .discriminators import OmniDiscriminator
from .generator import ALL_TASKS, CONDITION_TASKS, OmniGenerator, parse_tasks
from .summary import count_parameters, parameter_report

__all__ = ["DOMAINS", "DomainClassifier", "OmniDiscriminator", "ALL_TASKS",
           "CONDITION_TASKS", "OmniGenerator", "parse_tasks", "count_parameters", "parameter_report"]
