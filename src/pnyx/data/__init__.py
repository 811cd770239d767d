"""Datasets: ingestion into content-addressed shards, manifests, Croissant export, search."""
