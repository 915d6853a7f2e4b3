"""Decoding strategies over a model's ``step(token, state) -> (logits, state)``."""
