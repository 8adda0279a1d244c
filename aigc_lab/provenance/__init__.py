"""Provenance evaluation above the product: the image corpora, the plagiarist's edits, the
robustness, held-out, adversarial, search-index and verdict benchmarks (``aigc bench provenance /
search / corpus / verdict``), the stage-3 cache and the squatting economics.

The rules themselves (the compact fingerprint, the detail descriptor and rule, stage 3's
comparison, the near-duplicate index and the plagiarism watch) live in ``services.provenance``.
"""
