"""vLLM's own endpoints, beyond the OpenAI ones: tokens, scores, classes, pooling, LoRA, status.

The clients attach them on first use (``client.tokenizer``, ``client.score``,
``client.classify``, ``client.pooling``, ``client.lora``, ``client.server``), so
``import babyapi`` never loads this package. Each resource is a few lines on the client's
request API; what both twins share (the bodies sent, how answers are read) lives in plain
functions beside them. vLLM serves these routes at its root, not under ``/v1``.
"""
