// Command hostaccess serves and administers hostaccess. See the README.
package main

import (
	"context"
	"os"

	"github.com/hostaccess/hostaccess/internal/cli"
	"github.com/hostaccess/hostaccess/pkg/engine"
)

func main() {
	// Before any gRPC client exists: serve --dispatch-* dials its peers
	// through the ring balancer and static resolver this registers.
	engine.RegisterClusterDispatch()
	os.Exit(cli.Run(context.Background(), os.Args[1:], cli.Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}))
}
