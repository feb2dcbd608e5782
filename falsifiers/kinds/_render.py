"""Moved to pv.kinds._render (the standard test shape is pv's, shared by every kind)."""

from pv.kinds._render import *  # noqa: F403
from pv.kinds._render import RenderError, literal, render_test  # noqa: F401
