package cli

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// envPrefix is the prefix of every flag's environment variable.
const envPrefix = "HOSTACCESS_"

// envName is the environment variable that sets a flag: --grpc-addr reads
// HOSTACCESS_GRPC_ADDR.
func envName(flag string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// bindEnv sets every flag the user did not pass from its environment
// variable, if present. A flag on the command line wins over the environment.
func bindEnv(cmd *cobra.Command) error {
	var err error
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if err != nil || f.Changed {
			return
		}
		value, ok := os.LookupEnv(envName(f.Name))
		if !ok {
			return
		}
		if setErr := cmd.Flags().Set(f.Name, value); setErr != nil {
			err = fmt.Errorf("invalid %s=%q: %w", envName(f.Name), value, setErr)
		}
	})
	return err
}
