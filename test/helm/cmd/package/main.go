// Command package is `helm package` with the Helm library this module pins (no helm
// binary needed): `make chart` writes charts/paasdiag as bin/paasdiag-<version>.tgz,
// the version being the Makefile's VERSION (make manifests writes it into Chart.yaml).
package main

import (
	"flag"
	"fmt"
	"os"

	"helm.sh/helm/v3/pkg/action"
)

func main() {
	chart := flag.String("chart", "../../charts/paasdiag", "the chart's directory")
	out := flag.String("out", "../../bin", "where the archive is written")
	flag.Parse()
	pkg := action.NewPackage()
	pkg.Destination = *out
	archive, err := pkg.Run(*chart, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, "package:", err)
		os.Exit(1)
	}
	fmt.Println("wrote", archive)
}
