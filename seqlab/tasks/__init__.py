"""Tasks: the registry of trainable models and one runner for all of them.

    >>> from seqlab.tasks import TASKS, preset
    >>> "lm" in TASKS, preset("lm", "char-small").data.tokenizer
    (True, 'char')
"""

from seqlab.tasks.registry import (
    TASKS,
    Task,
    build_model,
    config_of,
    default_config,
    get_task,
    load,
    preset,
)
from seqlab.tasks.runner import train

__all__ = ["TASKS", "Task", "build_model", "config_of", "default_config", "get_task", "load",
           "preset", "train"]
