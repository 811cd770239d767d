"""The reference open-model training recipe; runs INSIDE jobs (torch, transformers)."""
