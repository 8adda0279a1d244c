"""The lifecycle demo (``aigc demo``): a real chain, the API, ESP workers, producers, a consumer
and a plagiarist, round after round, then a batch registration and a batched copy revoked alone;
see :class:`aigc_lab.demo.story.Story` and :mod:`aigc_lab.demo.batches`."""

from aigc_lab.demo.stack import Stack, start_stack
from aigc_lab.demo.story import DemoConfig, Story

__all__ = ["DemoConfig", "Stack", "Story", "start_stack"]
