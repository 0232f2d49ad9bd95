"""Experiment configs: one ``get_config()`` per file (ml_collections), its docstring the command and its output."""
