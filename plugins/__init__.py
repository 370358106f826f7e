"""The framework's built-in plugins.

Each module here is registered through an entry point in the ``framework``
group (see ``pyproject.toml``), exactly as a third-party plugin would be.
"""
