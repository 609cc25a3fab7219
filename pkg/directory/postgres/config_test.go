package postgres

import (
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
)

func TestParseDialect(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    Dialect
		wantErr bool
	}{
		{in: "postgres", want: Postgres},
		{in: "cockroachdb", want: CockroachDB},
		{in: " CockroachDB ", want: CockroachDB},
		{in: "postgresql", wantErr: true},
		{in: "memory", wantErr: true},
		{in: "", wantErr: true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseDialect(tc.in)
			if tc.wantErr {
				require.ErrorContains(t, err, `want "postgres" or "cockroachdb"`)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestPoolConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cfg     PoolConfig
		wantErr string
	}{
		{name: "zero", cfg: PoolConfig{}},
		{name: "explicit", cfg: PoolConfig{MaxConns: 20, MinConns: 2, ConnectTimeout: time.Second, MaxConnLifetime: time.Minute}},
		{name: "negative", cfg: PoolConfig{MaxConns: -1}, wantErr: "negative"},
		{name: "negative timeout", cfg: PoolConfig{ConnectTimeout: -time.Second}, wantErr: "negative"},
		{name: "min above max", cfg: PoolConfig{MaxConns: 2, MinConns: 3}, wantErr: "MinConns 3 is more than MaxConns 2"},
		{name: "min above default max", cfg: PoolConfig{MinConns: DefaultMaxConns + 1}, wantErr: "default MaxConns"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if tc.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.wantErr)
		})
	}
}

func TestPoolConfigDefaults(t *testing.T) {
	parse := func(uri string) *pgxpool.Config {
		pc, err := pgxpool.ParseConfig(uri)
		require.NoError(t, err)
		return pc
	}

	pc := parse("postgres://u@db.example/x?pool_max_conns=50")
	PoolConfig{}.apply(pc)
	require.Equal(t, DefaultMaxConns, pc.MaxConns)
	require.Equal(t, DefaultMinConns, pc.MinConns)
	require.Equal(t, DefaultConnectTimeout, pc.ConnConfig.ConnectTimeout)
	require.Equal(t, DefaultMaxConnLifetime, pc.MaxConnLifetime)

	pc = parse("postgres://u@db.example/x?connect_timeout=9")
	PoolConfig{}.apply(pc)
	require.Equal(t, 9*time.Second, pc.ConnConfig.ConnectTimeout, "the URI's connect_timeout is kept")

	pc = parse("postgres://u@db.example/x?connect_timeout=9")
	PoolConfig{MaxConns: 3, MinConns: 1, ConnectTimeout: time.Second, MaxConnLifetime: time.Minute}.apply(pc)
	require.Equal(t, int32(3), pc.MaxConns)
	require.Equal(t, int32(1), pc.MinConns)
	require.Equal(t, time.Second, pc.ConnConfig.ConnectTimeout)
	require.Equal(t, time.Minute, pc.MaxConnLifetime)
}
