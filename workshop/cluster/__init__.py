"""The workshop cluster: the kubectl client, one module per provider (kind, local node, an existing
context), stuck-pod diagnosis and the warm-up rollout."""
