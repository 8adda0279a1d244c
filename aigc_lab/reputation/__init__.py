"""Reputation experiments and benchmarks above the product: the paper's experiment
(``aigc simulate reputation``), the attack simulation (``--attack``), the ranking benchmark
(``aigc bench reputation``) with its plain-loop oracle, the baseline policies and the plots.
The ranking itself lives in ``services.reputation``."""
