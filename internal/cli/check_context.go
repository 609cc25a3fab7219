package cli

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"

	"github.com/spf13/cobra"
)

// contextFlags are the caveat context of a check: --client-ip and
// --context KEY=VALUE (check, token check).
type contextFlags struct {
	clientIP string
	pairs    []string
}

func (c *contextFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&c.clientIP, "client-ip", "", "the address the request came from: context client_ip, which a token restricted to networks needs")
	cmd.Flags().StringArrayVar(&c.pairs, "context", nil, `caveat context KEY=VALUE, repeatable; VALUE is read as JSON when it is JSON (5, true, ["a"], "quoted"), else as a string`)
}

// context builds the caveat context, refusing what no check could use
// before any request is made; nil when none is given.
func (c *contextFlags) context() (map[string]any, error) {
	if c.clientIP == "" && len(c.pairs) == 0 {
		return nil, nil
	}
	out := map[string]any{}
	for _, kv := range c.pairs {
		key, value, ok := strings.Cut(kv, "=")
		key = strings.TrimSpace(key)
		if !ok || key == "" {
			return nil, fmt.Errorf("invalid --context %q: want KEY=VALUE, e.g. client_ip=203.0.113.7", kv)
		}
		if _, dup := out[key]; dup {
			return nil, fmt.Errorf("--context %s is given twice", key)
		}
		out[key] = contextValue(value)
	}
	if c.clientIP != "" {
		if _, dup := out["client_ip"]; dup {
			return nil, fmt.Errorf("--client-ip and --context client_ip=... both give client_ip: keep one")
		}
		out["client_ip"] = c.clientIP
	}
	if ip, ok := out["client_ip"]; ok {
		s, isString := ip.(string)
		if _, err := netip.ParseAddr(s); !isString || err != nil {
			return nil, fmt.Errorf("invalid client_ip %v: want an IP address, e.g. 203.0.113.7 or 2001:db8::1", ip)
		}
	}
	return out, nil
}

// contextValue reads VALUE as JSON when it is JSON (not null), else as the
// string it is: client_ip=10.1.2.3 is a string, retries=3 a number.
func contextValue(s string) any {
	var v any
	if err := json.Unmarshal([]byte(s), &v); err == nil && v != nil {
		return v
	}
	return s
}
