"""The lifecycle demo (``aigc demo``): a real chain, the API, ESP workers, producers, a consumer
and a plagiarist, round after round; see :class:`services.demo.story.Story`."""

from services.demo.stack import Stack, start_stack
from services.demo.story import DemoConfig, Story

__all__ = ["DemoConfig", "Stack", "Story", "start_stack"]
