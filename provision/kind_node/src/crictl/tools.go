//go:build tools

package build

import _ "sigs.k8s.io/cri-tools/cmd/crictl"
