//go:build tools

package build

import _ "github.com/rancher/local-path-provisioner"
