package engine

import (
	"context"
	"fmt"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// SchemaChange tells what EnsureSchema did.
type SchemaChange struct {
	// Written is true when the schema was written (absent or different).
	Written bool
	// Changes lists how the new schema differs from the stored one; empty
	// when it was absent or unchanged.
	Changes []string
}

// EnsureSchema writes schemaText when no schema is stored, or when the stored
// one differs in more than comments. SpiceDB refuses a change that would orphan relationships (a
// removed relation or type still in use): the error says which, and nothing
// is changed. It waits for the engine to come up.
func (e *Engine) EnsureSchema(ctx context.Context, schemaText string) (SchemaChange, error) {
	current, err := e.Client.ReadSchema(ctx, &v1.ReadSchemaRequest{}, grpc.WaitForReady(true))
	switch {
	case status.Code(err) == codes.NotFound:
		if _, err := e.Client.WriteSchema(ctx, &v1.WriteSchemaRequest{Schema: schemaText}); err != nil {
			return SchemaChange{}, fmt.Errorf("writing the schema: %w", err)
		}
		e.logger.Info("wrote the hosting schema")
		return SchemaChange{Written: true}, nil
	case err != nil:
		return SchemaChange{}, fmt.Errorf("reading the stored schema: %w", err)
	}

	changes, err := DiffSchemas(current.GetSchemaText(), schemaText)
	if err != nil {
		return SchemaChange{}, err
	}
	if len(changes) == 0 {
		return SchemaChange{}, nil
	}
	if _, err := e.Client.WriteSchema(ctx, &v1.WriteSchemaRequest{Schema: schemaText}); err != nil {
		return SchemaChange{Changes: changes}, fmt.Errorf("SpiceDB refused the schema change (%d changes): %w", len(changes), err)
	}
	e.logger.Info("updated the hosting schema", zap.Strings("changes", changes))
	return SchemaChange{Written: true, Changes: changes}, nil
}
