package cli

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestGCSettingsLeaveTheEnvironmentsChoice(t *testing.T) {
	env := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }
	const gib = 1 << 30

	percent, limit := gcSettings(env(nil), 10*gib)
	require.Equal(t, serveGCPercent, percent)
	require.Equal(t, int64(9*gib), limit)

	percent, limit = gcSettings(env(map[string]string{"GOGC": "100", "GOMEMLIMIT": "2GiB"}), 10*gib)
	require.Zero(t, percent, "GOGC from the environment stays")
	require.Zero(t, limit, "GOMEMLIMIT from the environment stays")

	percent, limit = gcSettings(env(map[string]string{"GOGC": "off"}), 0)
	require.Zero(t, percent)
	require.Zero(t, limit, "no limit when the memory is unknown")
}
