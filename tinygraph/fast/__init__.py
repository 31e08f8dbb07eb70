"""Fast paths over the executor's plan: ``tg.compile`` (straight-line Python) and ``tg.profile``."""

from .compile import CompiledGraph, compile
from .profile import NodeProfile, Profile, profile

__all__ = ["CompiledGraph", "compile", "NodeProfile", "Profile", "profile"]
