"""Model evaluation: held-out perplexity and multiple-choice benchmarks scored by log-likelihood.

Runs on a model directory in Hugging Face format (``config.json``, safetensors weights,
``tokenizer.json``) with torch and transformers; knows nothing of the database or services, so
the same code can run inside an evaluation job.
"""
