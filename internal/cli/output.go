package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

const (
	outputTable = "table"
	outputJSON  = "json"
)

func registerOutput(cmd *cobra.Command, output *string) {
	cmd.Flags().StringVarP(output, "output", "o", outputTable, "output format: table or json")
}

func checkOutput(output string) error {
	if output != outputTable && output != outputJSON {
		return fmt.Errorf("invalid --output %q: use table or json", output)
	}
	return nil
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// printTable prints rows under a header, aligned in columns.
func printTable(w io.Writer, header []string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, row := range rows {
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	return tw.Flush()
}

// describeRPCError turns a gRPC status into a one-line error an admin can act on.
func describeRPCError(err error, endpoint string) error {
	if err == nil {
		return nil
	}
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	switch st.Code() {
	case codes.Unavailable:
		return fmt.Errorf("cannot reach a server at %s (is `hostaccess serve` running? --endpoint, --insecure, --tls-ca-path): %s", endpoint, st.Message())
	case codes.Unauthenticated, codes.PermissionDenied:
		if st.Code() == codes.PermissionDenied && !strings.Contains(st.Message(), "preshared key") {
			return fmt.Errorf("%s (permission denied)", st.Message())
		}
		return fmt.Errorf("the server refused the token (--token / HOSTACCESS_TOKEN): %s", st.Message())
	case codes.DeadlineExceeded:
		return fmt.Errorf("the server did not answer in time (--timeout): %s", st.Message())
	default:
		return fmt.Errorf("%s (%s)", st.Message(), strings.ToLower(st.Code().String()))
	}
}
