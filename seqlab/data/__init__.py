"""Corpora -> ids -> batches.

``sources`` is the dataset registry (mirror, cache, download), ``lines`` reads any source's
splits as restartable line streams, ``corpus`` prepares memory-mapped id files once, and
``batching`` cuts them into LM stream windows or padded batches. Submodules import on use.
"""
