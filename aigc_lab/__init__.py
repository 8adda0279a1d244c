"""The harness above the product: the lifecycle demo and the API / load benchmarks.

Production packages depend strictly one way, and nothing in them imports this package:

    ledger  <-  generators, services  <-  marketplace_api  <-  aigc_lab  <-  aigc_cli

``aigc_lab.demo`` plays the whole lifecycle against a real stack (``aigc demo``), and
``aigc_lab.bench`` measures the API and the lifecycle under load (``aigc bench api``,
``aigc bench load``). ``tests/test_layers.py`` checks the direction on every import.
"""
