package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"time"

	"go.uber.org/zap"

	"github.com/hostaccess/hostaccess/internal/engine"
	"github.com/hostaccess/hostaccess/pkg/directory"
	"github.com/hostaccess/hostaccess/pkg/directory/postgres"
)

// offlineStores are both stores of a SQL deployment, opened directly by a
// command (a backup or a restore) rather than through a running server.
type offlineStores struct {
	engine *engine.Engine
	dir    directory.Store
	stop   func()
}

// openOffline starts SpiceDB in-process on the database, listening on
// loopback only, and opens the directory in the same database; with migrate,
// both are migrated first (a restore into an empty database).
func openOffline(ctx context.Context, engineName, uri string, migrate bool) (*offlineStores, error) {
	if engineName != engine.EnginePostgres && engineName != engine.EngineCockroachDB {
		return nil, fmt.Errorf("--datastore-engine %q: a full backup reads postgres or cockroachdb", engineName)
	}
	logger := zap.NewNop()
	key, err := randomKey()
	if err != nil {
		return nil, err
	}
	addr, err := loopbackAddr()
	if err != nil {
		return nil, err
	}
	runCtx, cancel := context.WithCancel(ctx)
	eng, err := engine.Open(runCtx, engine.Config{
		DatastoreEngine: engineName, DatastoreURI: uri, SkipMigrations: !migrate,
		GRPCAddr: addr, PresharedKey: key,
	}, logger)
	if err != nil {
		cancel()
		return nil, err
	}
	done := make(chan struct{})
	go func() { _ = eng.Run(runCtx); close(done) }()
	stop := func() { cancel(); <-done; _ = eng.Close() }

	dialect := postgres.Postgres
	if engineName == engine.EngineCockroachDB {
		dialect = postgres.CockroachDB
	}
	if migrate {
		if err := postgres.Migrate(ctx, uri, dialect); err != nil {
			stop()
			return nil, fmt.Errorf("migrating the directory: %w", err)
		}
	}
	dir, err := postgres.Open(ctx, uri, postgres.PoolConfig{})
	if err != nil {
		stop()
		return nil, err
	}
	return &offlineStores{engine: eng, dir: dir, stop: func() { _ = dir.Close(); stop() }}, nil
}

// waitServing waits until the in-process SpiceDB answers (a missing schema
// counts as answering).
func (o *offlineStores) waitServing(ctx context.Context) error {
	deadline := time.Now().Add(15 * time.Second)
	for {
		err := o.engine.Ready(ctx)
		if err == nil || err.Error() == "no schema written yet" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("SpiceDB did not start: %w", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func loopbackAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		return "", err
	}
	return addr, nil
}

// isEmpty reports whether a directory snapshot holds nothing.
func isEmpty(s directory.Snapshot) bool {
	return len(s.Accounts)+len(s.People)+len(s.Invitations)+len(s.Contacts)+len(s.Audit) == 0
}

var errNotEmpty = errors.New("the target database is not empty: restore into an empty database")

// randomKey is a throwaway preshared key for an in-process engine.
func randomKey() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}
