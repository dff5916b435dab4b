"""Plugins: hooks around enqueue and perform, with node-resque's semantics."""

from stellar.plugins.base import Plugin, PluginContext, run_after, run_before

__all__ = ["Plugin", "PluginContext", "run_after", "run_before"]
