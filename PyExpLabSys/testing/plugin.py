"""pytest plugin of PyExpLabSys (registered as the ``pytest11`` entry point ``pyexplabsys``).

Fixtures for labs testing their own instrument scripts live here.
"""
