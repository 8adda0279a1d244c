"""The ``aigc`` command line: one entry point fronting contracts, ledger, services and generators.

Each domain registers its commands in its own module (``chain_cmds``, ``provenance_cmds``,
``reputation_cmds``, ``generator_cmds``); :mod:`aigc_cli.main` assembles them.
"""
