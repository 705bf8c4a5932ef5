// The pod sandbox program (registry.k8s.io/pause) of the workshop's kind node image.
module workshop.local/pause

go 1.23.0
