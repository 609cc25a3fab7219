package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/hostaccess/hostaccess/pkg/directory"
	"github.com/hostaccess/hostaccess/pkg/engine"
	"github.com/hostaccess/hostaccess/pkg/stack"
)

// offlineStores are both stores of a SQL deployment, opened directly by a
// command (a backup or a restore) rather than through a running server.
type offlineStores struct {
	engine *engine.Engine
	dir    directory.Store
	stop   func()
}

// openOffline starts the stack on the database, SpiceDB in-process without
// a port, leaving its schema as it is; with migrate, both stores are
// migrated first (a restore into an empty database).
func openOffline(ctx context.Context, engineName, uri string, migrate bool) (*offlineStores, error) {
	if engineName != engine.EnginePostgres && engineName != engine.EngineCockroachDB {
		return nil, fmt.Errorf("--datastore-engine %q: a full backup reads postgres or cockroachdb", engineName)
	}
	s := &stack.Server{
		Engine:           engine.Config{DatastoreEngine: engineName, DatastoreURI: uri, SkipMigrations: !migrate},
		KeepStoredSchema: true,
		Consistency:      stack.ConsistencyFull, // no watch: nothing here reads twice
		RecoverInterval:  -1,                    // a backup changes nothing
	}
	if err := s.Start(ctx); err != nil {
		_ = s.Close()
		return nil, err
	}
	return &offlineStores{engine: s.SpiceDB(), dir: s.Store(), stop: func() { _ = s.Close() }}, nil
}

// isEmpty reports whether a directory snapshot holds nothing.
func isEmpty(s directory.Snapshot) bool {
	return len(s.Accounts)+len(s.People)+len(s.Invitations)+len(s.Contacts)+len(s.AccessRequests)+len(s.Audit) == 0
}

var errNotEmpty = errors.New("the target database is not empty: restore into an empty database")
