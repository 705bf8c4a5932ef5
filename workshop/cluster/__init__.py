"""The workshop cluster: the kubectl client, the providers behind one interface (kind, an existing
context), the kind node image built where kindest/node cannot be pulled, which releases are
supported, stuck-pod diagnosis and the warm-up rollout."""
