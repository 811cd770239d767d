"""Training-data search: a suffix-array index per text shard, exact counts, locate, proofs.

- :mod:`.corpus`: a JSONL text shard -> the indexed text (documents joined by 0xFF).
- :mod:`.layout`: the index manifest (what an index is made of, content-addressed).
- :mod:`.build`: build one shard's index into an artifact store.
- :mod:`.index`: open an index memory-mapped (hash-checked) and answer count / locate.
- :mod:`.query`: query validation and answers over every shard of a dataset version.
- :mod:`.proof`: membership proofs that verify offline against a signed log checkpoint.
"""
