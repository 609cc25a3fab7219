package cli

import (
	"context"
	"fmt"
	"io"
	"strings"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"github.com/authzed/authzed-go/v1"
	"github.com/spf13/cobra"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/hostaccess/hostaccess/internal/tuples"
	"github.com/hostaccess/hostaccess/schema"
)

func newCheckCommand(streams Streams, conn *connFlags) *cobra.Command {
	var explain bool
	cf := &contextFlags{}
	cmd := &cobra.Command{
		Use:   "check RESOURCE PERMISSION SUBJECT",
		Short: "Ask whether SUBJECT has PERMISSION on RESOURCE (exit 0 allowed, 1 denied, 2 error, 3 conditional: context missing)",
		Example: `  hostaccess check account:acme pay_invoices user:carol
  hostaccess check product:acme/site manage user:dave --explain
  hostaccess check account:acme pay_invoices token:acme/0123456789abcdef --client-ip 10.1.2.3`,
		Args: cobra.ExactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			resource, err := tuples.ParseObject(args[0])
			if err != nil {
				return err
			}
			subject, err := tuples.ParseSubject(args[2])
			if err != nil {
				return err
			}
			caveats, err := caveatContext(cf)
			if err != nil {
				return err
			}
			// A token subject holds only the token_ permissions (docs/tokens.md):
			// ask the counterpart, as the service does.
			permission := args[1]
			if subject.GetObject().GetObjectType() == schema.TypeToken {
				if p, ok := schema.TokenPermission(resource.GetObjectType(), permission); ok {
					permission = p
				}
			}
			var code int
			err = conn.withClient(cmd, func(ctx context.Context, client *authzed.Client) error {
				resp, err := client.CheckPermission(ctx, &v1.CheckPermissionRequest{
					Resource:    resource,
					Permission:  permission,
					Subject:     subject,
					Consistency: fullyConsistent(),
					WithTracing: explain,
					Context:     caveats,
				})
				if err != nil {
					return err
				}
				code, err = printCheck(streams.Out, conn.output, args, permission, resp, explain)
				return err
			})
			if err != nil {
				return err
			}
			if code != ExitOK {
				return exitError{code: code}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&explain, "explain", false, "show the relationship path that grants the permission")
	cf.register(cmd)
	conn.register(cmd)
	return cmd
}

// caveatContext is the flags' caveat context as SpiceDB takes it.
func caveatContext(cf *contextFlags) (*structpb.Struct, error) {
	c, err := cf.context()
	if err != nil || c == nil {
		return nil, err
	}
	st, err := structpb.NewStruct(c)
	if err != nil {
		return nil, fmt.Errorf("invalid --context: %w", err)
	}
	return st, nil
}

// printCheck prints the verdict on args (RESOURCE PERMISSION SUBJECT), asked
// as permission.
func printCheck(w io.Writer, output string, args []string, permission string, resp *v1.CheckPermissionResponse, explain bool) (int, error) {
	verdict, code := "denied", ExitDenied
	switch resp.GetPermissionship() {
	case v1.CheckPermissionResponse_PERMISSIONSHIP_HAS_PERMISSION:
		verdict, code = "allowed", ExitOK
	case v1.CheckPermissionResponse_PERMISSIONSHIP_CONDITIONAL_PERMISSION:
		verdict, code = "conditional", ExitConditional
	}
	var lines []string
	if explain {
		lines = explainTrace(resp.GetDebugTrace())
	}
	missing := resp.GetPartialCaveatInfo().GetMissingRequiredContext()
	if output == outputJSON {
		out := map[string]any{
			"resource": args[0], "permission": args[1], "subject": args[2],
			"result": verdict, "allowed": code == ExitOK, "checked_at": resp.GetCheckedAt().GetToken(),
		}
		if permission != args[1] {
			out["asked_as"] = permission
		}
		if len(missing) > 0 {
			out["missing_context"] = missing
		}
		if explain {
			out["explanation"] = lines
		}
		return code, printJSON(w, out)
	}
	line := fmt.Sprintf("%s: %s %s %s", verdict, args[2], args[1], args[0])
	if permission != args[1] {
		line += " (asked as " + permission + ")"
	}
	if len(missing) > 0 {
		line += fmt.Sprintf(" (missing context %s: give --client-ip or --context KEY=VALUE)", strings.Join(missing, ", "))
	}
	if _, err := fmt.Fprintln(w, line); err != nil {
		return code, err
	}
	for _, l := range lines {
		if _, err := fmt.Fprintln(w, l); err != nil {
			return code, err
		}
	}
	return code, nil
}

// explainTrace renders the branches of a check's debug trace that granted
// the permission, as an indented tree; for a denial it says so and lists the
// branches that were tried.
func explainTrace(trace *v1.DebugInformation) []string {
	root := trace.GetCheck()
	if root == nil {
		return []string{"(the server returned no trace)"}
	}
	var lines []string
	if root.GetWasCachedResult() && len(root.GetSubProblems().GetTraces()) == 0 {
		// A cached answer carries no sub-problems: say so rather than print
		// an empty path. The answer is still the one asked for (fully
		// consistent); only the path is not kept.
		what := "no relationship path grants it"
		if granted(root) {
			what = "a relationship path grants it"
		}
		return []string{what + "; SpiceDB answered from its cache, which keeps no path (it is shown again after the next change to these relationships)"}
	}
	if !granted(root) {
		lines = append(lines, "no relationship path grants it; tried:")
		for _, sub := range root.GetSubProblems().GetTraces() {
			lines = append(lines, "  "+traceLabel(sub))
		}
		return lines
	}
	var walk func(t *v1.CheckDebugTrace, depth int)
	walk = func(t *v1.CheckDebugTrace, depth int) {
		lines = append(lines, strings.Repeat("  ", depth)+"└ "+traceLabel(t))
		for _, sub := range t.GetSubProblems().GetTraces() {
			if granted(sub) {
				walk(sub, depth+1)
			}
		}
	}
	walk(root, 0)
	return lines
}

func granted(t *v1.CheckDebugTrace) bool {
	return t.GetResult() != v1.CheckDebugTrace_PERMISSIONSHIP_NO_PERMISSION &&
		t.GetResult() != v1.CheckDebugTrace_PERMISSIONSHIP_UNSPECIFIED
}

func traceLabel(t *v1.CheckDebugTrace) string {
	kind := "relation"
	if t.GetPermissionType() == v1.CheckDebugTrace_PERMISSION_TYPE_PERMISSION {
		kind = "permission"
	}
	label := fmt.Sprintf("%s#%s (%s)", tuples.ObjectString(t.GetResource()), t.GetPermission(), kind)
	if t.GetWasCachedResult() {
		label += " [cached]"
	}
	if exp := t.GetOptionalExpiresAt(); exp != nil {
		label += " [expires " + exp.AsTime().UTC().Format("2006-01-02T15:04:05Z") + "]"
	}
	return label
}
