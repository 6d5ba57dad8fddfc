"""Evidence an outsider can check: a Merkle tree over every stored event (RFC 9162),
signed checkpoints of it (C2SP tlog-checkpoint), witnesses' cosignatures, proofs, and
the examiner's self-contained audit file. See docs/integrity.md."""
