// The pod sandbox program of the local workshop node.
module workshop.local/pause

go 1.23.0
