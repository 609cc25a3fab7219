package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/hostaccess/hostaccess/internal/apiclient"
	"github.com/hostaccess/hostaccess/pkg/hostaccess"
)

// Personal access tokens (docs/tokens.md). A secret is printed once, by
// token create, and read by token check from --secret, HOSTACCESS_SECRET
// or standard input (--secret -); it is never part of an error message.

func newTokenCommand(streams Streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Personal access tokens: create, list, revoke, and check a request made with one (HTTP API)",
	}
	cmd.AddCommand(
		newTokenCreateCommand(streams),
		newTokenListCommand(streams),
		newTokenRevokeCommand(streams),
		newTokenCheckCommand(streams),
	)
	return cmd
}

// secretWarning follows a new token's secret, on standard error so that
// standard output can be piped.
const secretWarning = "Copy the secret now: it is not stored (only its hash is) and will not be shown again."

// tokenFlags describe a TokenInput.
type tokenFlags struct {
	scopeFlags
	name       string
	expiresIn  string
	expiresAt  string
	allowCIDRs []string
}

func (t *tokenFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&t.name, "name", "", `what the token is for (required), e.g. "DNS-01 renewal"`)
	t.scopeFlags.register(cmd, "account-wide right to give (you must hold it)")
	fl.StringVar(&t.expiresIn, "expires-in", "", "lifetime from now: a Go duration (720h) or days (30d); this or --expires-at is required")
	fl.StringVar(&t.expiresAt, "expires-at", "", "end of the token, RFC 3339 (2026-12-31T00:00:00Z)")
	fl.StringSliceVar(&t.allowCIDRs, "allow-cidr", nil, "network the token may be used from, repeatable (10.0.0.0/8); checks must then give --client-ip")
}

// input builds the TokenInput, refusing a missing name or expiry and bad
// values before any request is made. The server checks the rest (what
// the creator holds, the longest lifetime, the networks).
func (t *tokenFlags) input(now time.Time) (hostaccess.TokenInput, error) {
	in := hostaccess.TokenInput{Name: t.name, AllowedCIDRs: t.allowCIDRs}
	in.Technical, in.View = t.scopes()
	if strings.TrimSpace(t.name) == "" {
		return hostaccess.TokenInput{}, errors.New(`--name is required: what the token is for, e.g. --name "DNS-01 renewal"`)
	}
	var err error
	if in.Rights, err = parseRights(t.rights); err != nil {
		return hostaccess.TokenInput{}, err
	}
	switch {
	case t.expiresIn == "" && t.expiresAt == "":
		return hostaccess.TokenInput{}, errors.New("--expires-in (720h, 30d) or --expires-at (RFC 3339) is required: every token expires")
	case t.expiresIn != "" && t.expiresAt != "":
		return hostaccess.TokenInput{}, errors.New("--expires-in and --expires-at both set the end: give one")
	case t.expiresIn != "":
		d, err := parseLifetime(t.expiresIn)
		if err != nil {
			return hostaccess.TokenInput{}, err
		}
		end := now.Add(d).UTC().Truncate(time.Second)
		in.ExpiresAt = &end
	default:
		end, err := time.Parse(time.RFC3339, t.expiresAt)
		if err != nil {
			return hostaccess.TokenInput{}, fmt.Errorf("invalid --expires-at %q: want RFC 3339, e.g. 2026-12-31T00:00:00Z", t.expiresAt)
		}
		in.ExpiresAt = &end
	}
	return in, nil
}

// parseLifetime reads --expires-in: a Go duration, or a whole number of days.
func parseLifetime(s string) (time.Duration, error) {
	bad := fmt.Errorf("invalid --expires-in %q: want a positive duration, e.g. 720h or 30d", s)
	var d time.Duration
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n <= 0 || n > 100*365 {
			return 0, bad
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, bad
		}
	}
	if d <= 0 {
		return 0, bad
	}
	return d, nil
}

func newTokenCreateCommand(streams Streams) *cobra.Command {
	f := &apiFlags{}
	tf := &tokenFlags{}
	cmd := newAPILeaf("create ACCOUNT --name N --expires-in D", "Create a personal access token with a subset of what you hold; prints its secret once", cobra.ExactArgs(1), f,
		func(cmd *cobra.Command, args []string) error {
			var in hostaccess.TokenInput
			parse := func() (err error) {
				in, err = tf.input(time.Now())
				return err
			}
			return f.withAPI(cmd, parse, func(ctx context.Context, client *apiclient.Client) error {
				nt, err := client.CreateToken(ctx, args[0], in)
				if err != nil {
					return err
				}
				if f.json() {
					err = printJSON(streams.Out, nt)
				} else {
					err = printFields(streams.Out, append(tokenFields(nt.Token), [2]string{"secret", nt.Secret}))
				}
				if err != nil {
					return err
				}
				_, err = fmt.Fprintln(streams.Err, secretWarning)
				return err
			})
		})
	cmd.Example = `  hostaccess token create acme --name "invoice export" --right billing --expires-in 720h --actor user:carol
  hostaccess token create acme --name deploys --product site --expires-in 30d --allow-cidr 10.0.0.0/8 --actor user:dave`
	tf.register(cmd)
	return cmd
}

// tokenFields are a token's fields as printed by create.
func tokenFields(t hostaccess.Token) [][2]string {
	return [][2]string{
		{"token", t.ID},
		{"name", t.Name},
		{"creator", t.Creator},
		{"access", tokenAccess(t)},
		{"networks", networks(t.AllowedCIDRs)},
		{"expires", t.ExpiresAt.UTC().Format(time.RFC3339)},
	}
}

// tokenAccess summarizes what a token was given.
func tokenAccess(t hostaccess.Token) string {
	return hostaccess.Access{Rights: t.Rights, Technical: t.Technical, View: t.View}.Summary()
}

func networks(cidrs []string) string {
	if len(cidrs) == 0 {
		return "any"
	}
	return strings.Join(cidrs, ",")
}

func newTokenListCommand(streams Streams) *cobra.Command {
	f := &apiFlags{}
	return newAPILeaf("list ACCOUNT", "List an account's tokens (an owner sees every token, a member their own); never their secrets", cobra.ExactArgs(1), f,
		func(cmd *cobra.Command, args []string) error {
			return f.withAPI(cmd, nil, func(ctx context.Context, client *apiclient.Client) error {
				tokens, err := client.ListTokens(ctx, args[0])
				if err != nil {
					return err
				}
				if f.json() {
					return printJSON(streams.Out, map[string]any{"tokens": orEmpty(tokens)})
				}
				rows := make([][]string, 0, len(tokens))
				for _, t := range tokens {
					rows = append(rows, []string{t.ID, t.Name, t.Creator, t.Status, tokenAccess(t), networks(t.AllowedCIDRs), t.ExpiresAt.UTC().Format(time.RFC3339)})
				}
				return printTable(streams.Out, []string{"ID", "NAME", "CREATOR", "STATUS", "ACCESS", "NETWORKS", "EXPIRES"}, rows)
			})
		})
}

func newTokenRevokeCommand(streams Streams) *cobra.Command {
	f := &apiFlags{}
	return newAPILeaf("revoke ACCOUNT TOKEN", "Revoke a token at once (its creator or an owner); TOKEN is its id or short name", cobra.ExactArgs(2), f,
		func(cmd *cobra.Command, args []string) error {
			id := fullID(args[0], args[1])
			return f.withAPI(cmd, nil, func(ctx context.Context, client *apiclient.Client) error {
				res, err := client.RevokeToken(ctx, args[0], id)
				if err != nil {
					return err
				}
				return printDone(streams.Out, f, res, "token %s revoked", id)
			})
		})
}

func newTokenCheckCommand(streams Streams) *cobra.Command {
	f := &apiFlags{noActor: true} // the secret names the token
	var secret string
	cf := &contextFlags{}
	cmd := newAPILeaf("check RESOURCE PERMISSION --secret S",
		"Ask whether the token with this secret has PERMISSION on RESOURCE (exit 0 allowed, 1 denied, 2 error, 3 conditional: context missing)", cobra.ExactArgs(2), f,
		func(cmd *cobra.Command, args []string) error {
			var caveats map[string]any
			parse := func() (err error) {
				if secret, err = readSecret(secret, streams.In); err != nil {
					return err
				}
				caveats, err = cf.context()
				return err
			}
			var code int
			err := f.withAPI(cmd, parse, func(ctx context.Context, client *apiclient.Client) error {
				ans, err := client.CheckToken(ctx, hostaccess.TokenCheck{Secret: secret, Resource: args[0], Permission: args[1], Context: caveats}, "")
				if err != nil {
					return err
				}
				code, err = printTokenAnswer(streams.Out, f, ans)
				return err
			})
			if err != nil {
				return err
			}
			if code != ExitOK {
				return exitError{code: code}
			}
			return nil
		})
	cmd.Example = `  HOSTACCESS_SECRET=hat_... hostaccess token check account:acme pay_invoices
  hostaccess token check product:acme/site manage --secret - --client-ip 10.1.2.3 < secret.txt`
	cmd.Flags().StringVar(&secret, "secret", "", "the token's secret, or - to read it from standard input (better: HOSTACCESS_SECRET, kept out of the shell history)")
	cf.register(cmd)
	return cmd
}

// readSecret is the --secret value, read from in when it is "-".
func readSecret(secret string, in io.Reader) (string, error) {
	if secret == "-" {
		line, err := bufio.NewReader(io.LimitReader(in, 4096)).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("reading the secret from standard input: %w", err)
		}
		secret = line
	}
	secret = strings.TrimSpace(secret)
	if secret == "" {
		return "", errors.New("--secret (or HOSTACCESS_SECRET) is required: the " + hostaccess.TokenSecretPrefix + "... value shown when the token was created (--secret - reads it from standard input)")
	}
	return secret, nil
}

// printTokenAnswer prints a token check's verdict and returns its exit code.
func printTokenAnswer(w io.Writer, f *apiFlags, ans hostaccess.TokenAnswer) (int, error) {
	verdict, code := "denied", ExitDenied
	switch {
	case ans.Allowed:
		verdict, code = "allowed", ExitOK
	case ans.Conditional:
		verdict, code = "conditional", ExitConditional
	}
	if f.json() {
		return code, printJSON(w, ans)
	}
	line := fmt.Sprintf("%s: %s (%q of %s) %s %s", verdict, ans.Subject, ans.Token.Name, ans.Token.Creator, ans.Permission, ans.Resource)
	switch {
	case ans.Conditional:
		line += fmt.Sprintf(" (missing context %s: give --client-ip or --context KEY=VALUE)", strings.Join(ans.MissingContext, ", "))
	case ans.Token.Status != "active":
		line += " (the token is " + ans.Token.Status + ")"
	}
	_, err := fmt.Fprintln(w, line)
	return code, err
}
