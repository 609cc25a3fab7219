package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/hostaccess/hostaccess/internal/apiclient"
	"github.com/hostaccess/hostaccess/internal/tlsconf"
	"github.com/hostaccess/hostaccess/pkg/hostaccess"
)

// apiFlags are the flags of every client of the HTTP API (docs/http-api.md).
type apiFlags struct {
	url   string
	key   string
	actor string
	// mfa and clientIP are the acting person's session conditions.
	mfa      bool
	clientIP string
	caPath   string
	timeout  time.Duration
	output   string
	// noActor marks a command that acts for nobody (accept: the login in
	// the body accepts): it has no --actor.
	noActor bool
	// documents are the further --output formats the server renders for
	// the command (the review's csv and html), printed as received.
	documents []string
}

func (f *apiFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.url, "api-url", "http://localhost:8080", "base URL of the hostaccess HTTP API (--http-addr of serve)")
	cmd.Flags().StringVar(&f.key, "api-key", "", "API key of the calling service (one KEY of serve's --api-keys NAME=KEY)")
	if !f.noActor {
		// No default: a forgotten --actor must not silently act as the
		// trusted service, which bypasses every permission check.
		cmd.Flags().StringVar(&f.actor, "actor", "", `who acts (required): "user:<id>" (checked against their permissions) or "service" (the calling service, trusted)`)
		cmd.Flags().BoolVar(&f.mfa, "mfa", false, "the acting person's session passed two-factor authentication (needed for the rights serve --mfa-rights names)")
		cmd.Flags().StringVar(&f.clientIP, "client-ip", "", "the IP address the acting person's request comes from (needed by a member restricted to networks)")
	}
	cmd.Flags().StringVar(&f.caPath, "tls-ca-path", "", "PEM authorities verifying an https:// --api-url's certificate (default: the system's)")
	cmd.Flags().DurationVar(&f.timeout, "timeout", 30*time.Second, "how long a command may take")
	if len(f.documents) == 0 {
		registerOutput(cmd, &f.output)
		return
	}
	cmd.Flags().StringVarP(&f.output, "output", "o", outputTable, "output format: table, json, "+strings.Join(f.documents, " or "))
}

// validate refuses bad flag values before any request is made.
func (f *apiFlags) validate() error {
	if err := f.checkOutput(); err != nil {
		return err
	}
	if f.key == "" {
		return errors.New("--api-key (or HOSTACCESS_API_KEY) is required: the key the server knows the calling service by")
	}
	if !strings.HasPrefix(f.url, "http://") && !strings.HasPrefix(f.url, "https://") {
		return fmt.Errorf("invalid --api-url %q: want http://HOST:PORT or https://HOST", f.url)
	}
	if f.caPath != "" && !strings.HasPrefix(f.url, "https://") {
		return fmt.Errorf("--tls-ca-path verifies an https:// server; --api-url %q is plaintext", f.url)
	}
	switch {
	case f.noActor:
		return nil
	case f.actor == "":
		return errors.New(`--actor (or HOSTACCESS_ACTOR) is required: "user:<id>" to act as that person, checked against their permissions, or "service" to act as the calling service, trusted for everything`)
	case f.actor != apiclient.ActorService:
		id, ok := strings.CutPrefix(f.actor, "user:")
		if !ok || id == "" || strings.ContainsAny(id, " \t/:") {
			return fmt.Errorf("invalid --actor %q: use user:<id> or service", f.actor)
		}
	}
	return nil
}

// withAPI runs fn with a client and a context bounded by --timeout. check
// validates the command's own arguments; it runs before any request.
func (f *apiFlags) withAPI(cmd *cobra.Command, check func() error, fn func(ctx context.Context, client *apiclient.Client) error) error {
	if err := f.validate(); err != nil {
		return err
	}
	if check != nil {
		if err := check(); err != nil {
			return err
		}
	}
	client := apiclient.New(f.url, f.key, f.actor)
	client.MFA, client.ClientIP = f.mfa, f.clientIP
	if f.caPath != "" {
		tlsCfg, err := tlsconf.ClientConfig(f.caPath, "--tls-ca-path")
		if err != nil {
			return err
		}
		transport := http.DefaultTransport.(*http.Transport).Clone()
		transport.TLSClientConfig = tlsCfg
		client.HTTPClient = &http.Client{Transport: transport}
	}
	ctx, cancel := context.WithCancel(cmd.Context())
	if f.timeout > 0 {
		ctx, cancel = context.WithTimeout(cmd.Context(), f.timeout)
	}
	defer cancel()
	return fn(ctx, client)
}

func (f *apiFlags) json() bool { return f.output == outputJSON }

func (f *apiFlags) checkOutput() error {
	if slices.Contains(f.documents, f.output) {
		return nil
	}
	if len(f.documents) > 0 && f.output != outputTable && f.output != outputJSON {
		return fmt.Errorf("invalid --output %q: use table, json, %s", f.output, strings.Join(f.documents, " or "))
	}
	return checkOutput(f.output)
}

// document is the --output format when it is one the server renders.
func (f *apiFlags) document() string {
	if slices.Contains(f.documents, f.output) {
		return f.output
	}
	return ""
}

// newAPILeaf builds a command of the HTTP API with its connection flags.
func newAPILeaf(use, short string, args cobra.PositionalArgs, f *apiFlags, run func(cmd *cobra.Command, args []string) error) *cobra.Command {
	cmd := &cobra.Command{Use: use, Short: short, Args: args, RunE: run}
	f.register(cmd)
	return cmd
}

// scopeFlags are the flags naming rights and product scopes: what an
// invitation, a member, a request or a token is given.
type scopeFlags struct {
	rights       []string
	allProducts  bool
	products     []string
	groups       []string
	tags         []string
	viewProducts []string
	viewGroups   []string
	viewTags     []string
}

func (sc *scopeFlags) register(cmd *cobra.Command, rightHelp string) {
	fl := cmd.Flags()
	fl.StringSliceVar(&sc.rights, "right", nil, rightHelp+", repeatable: "+strings.Join(rightNames(), ", "))
	fl.BoolVar(&sc.allProducts, "all-products", false, "technical management of all products, now and later")
	fl.StringSliceVar(&sc.products, "product", nil, "technical management of this product (repeatable)")
	fl.StringSliceVar(&sc.groups, "group", nil, "technical management of this product group (repeatable)")
	fl.StringSliceVar(&sc.tags, "tag", nil, "technical management of products with this tag (repeatable)")
	fl.StringSliceVar(&sc.viewProducts, "view-product", nil, "read-only access to this product (repeatable)")
	fl.StringSliceVar(&sc.viewGroups, "view-group", nil, "read-only access to this product group (repeatable)")
	fl.StringSliceVar(&sc.viewTags, "view-tag", nil, "read-only access to products with this tag (repeatable)")
}

// scopes are the technical and view scopes the flags name.
func (sc *scopeFlags) scopes() (technical, view hostaccess.ProductScope) {
	return hostaccess.ProductScope{All: sc.allProducts, Products: sc.products, Groups: sc.groups, Tags: sc.tags},
		hostaccess.ProductScope{Products: sc.viewProducts, Groups: sc.viewGroups, Tags: sc.viewTags}
}

// accessFlags are the flags describing an Access (invite create, member set).
type accessFlags struct {
	scopeFlags
	administrator bool
	notify        []string
	expires       string
	allowCIDRs    []string
}

func (a *accessFlags) register(cmd *cobra.Command) {
	a.scopeFlags.register(cmd, "account-wide right")
	fl := cmd.Flags()
	fl.BoolVar(&a.administrator, "administrator", false, "the Administrator role (counted against the account's cap)")
	fl.StringSliceVar(&a.notify, "notify", nil, "notification category, repeatable: "+strings.Join(categoryNames(), ", "))
	fl.StringVar(&a.expires, "expires", "", "end of the access, RFC 3339 (2026-12-31T00:00:00Z)")
	fl.StringSliceVar(&a.allowCIDRs, "allow-cidr", nil, "restrict the access to requests from this network, CIDR (repeatable; checks then need client_ip)")
}

// parseInto returns a check that parses the flags into dst before any
// request is made.
func (a *accessFlags) parseInto(dst *hostaccess.Access) func() error {
	return func() (err error) {
		*dst, err = a.access()
		return err
	}
}

// access builds the Access, refusing unknown rights, categories and times.
func (a *accessFlags) access() (hostaccess.Access, error) {
	out := hostaccess.Access{Administrator: a.administrator, AllowedCIDRs: a.allowCIDRs}
	out.Technical, out.View = a.scopes()
	var err error
	if out.Rights, err = parseRights(a.rights); err != nil {
		return hostaccess.Access{}, err
	}
	if out.Notifications, err = parseCategories("--notify", a.notify); err != nil {
		return hostaccess.Access{}, err
	}
	if a.expires != "" {
		t, err := time.Parse(time.RFC3339, a.expires)
		if err != nil {
			return hostaccess.Access{}, fmt.Errorf("invalid --expires %q: want RFC 3339, e.g. 2026-12-31T00:00:00Z", a.expires)
		}
		out.ExpiresAt = &t
	}
	return out, nil
}

func rightNames() []string {
	out := make([]string, len(hostaccess.Rights))
	for i, r := range hostaccess.Rights {
		out[i] = string(r)
	}
	return out
}

func categoryNames() []string {
	out := make([]string, len(hostaccess.Categories))
	for i, c := range hostaccess.Categories {
		out[i] = string(c)
	}
	return out
}

func parseRights(in []string) ([]hostaccess.Right, error) {
	var out []hostaccess.Right
	for _, s := range in {
		r := hostaccess.Right(strings.TrimSpace(s))
		if !slices.Contains(hostaccess.Rights, r) {
			return nil, fmt.Errorf("invalid --right %q: use one of %s", s, strings.Join(rightNames(), ", "))
		}
		out = append(out, r)
	}
	return out, nil
}

func parseCategories(flag string, in []string) ([]hostaccess.Category, error) {
	var out []hostaccess.Category
	for _, s := range in {
		c, err := parseCategory(flag, s)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

func parseCategory(what, s string) (hostaccess.Category, error) {
	c := hostaccess.Category(strings.TrimSpace(s))
	if !slices.Contains(hostaccess.Categories, c) {
		return "", fmt.Errorf("invalid %s %q: use one of %s", what, s, strings.Join(categoryNames(), ", "))
	}
	return c, nil
}

// printFields prints name/value pairs, aligned: one record.
func printFields(w io.Writer, fields [][2]string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, f := range fields {
		fmt.Fprintf(tw, "%s:\t%s\n", f[0], f[1])
	}
	return tw.Flush()
}

// printDone reports a change: the message as a line, or the API's answer in JSON.
func printDone(w io.Writer, f *apiFlags, answer any, format string, args ...any) error {
	if f.json() {
		return printJSON(w, answer)
	}
	_, err := fmt.Fprintf(w, format+"\n", args...)
	return err
}

// orEmpty keeps JSON lists as [] rather than null, as the API sends them.
func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// joinOrDash joins names with commas, or "-" for none.
func joinOrDash[T ~string](in []T) string {
	s := make([]string, len(in))
	for i, v := range in {
		s[i] = string(v)
	}
	return orDash(strings.Join(s, ","))
}

// fullID prefixes a short id with its account (x1 -> acme/x1): contacts and
// invitations are listed with full ids, but a short one is easier to type.
func fullID(accountID, id string) string {
	if strings.HasPrefix(id, accountID+"/") {
		return id
	}
	return accountID + "/" + id
}
