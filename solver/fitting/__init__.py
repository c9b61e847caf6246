"""Scripts that fit model presets to published figures; each is runnable with ``python -m``."""
