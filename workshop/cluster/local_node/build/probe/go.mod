// The self-test image of the local workshop node.
module workshop.local/probe

go 1.23.0
