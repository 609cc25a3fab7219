// Command hostaccess serves and administers hostaccess. See the README.
package main

import (
	"context"
	"os"

	"github.com/hostaccess/hostaccess/internal/cli"
)

func main() {
	os.Exit(cli.Run(context.Background(), os.Args[1:], cli.Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}))
}
