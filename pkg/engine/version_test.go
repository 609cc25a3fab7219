package engine_test

import (
	"context"
	"testing"

	"github.com/authzed/authzed-go/pkg/requestmeta"
	"github.com/authzed/authzed-go/pkg/responsemeta"
	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/hostaccess/hostaccess/internal/version"
	"github.com/hostaccess/hostaccess/schema"
)

// TestSpiceDBReportsItsRelease: asked for its version as zed asks, the
// embedded SpiceDB answers the SpiceDB module's release, not hostaccess's
// revision; a caller that does not ask gets no version.
func TestSpiceDBReportsItsRelease(t *testing.T) {
	eng := startMemory(t)
	ctx := context.Background()
	_, err := eng.EnsureSchema(ctx, schema.Hosting)
	require.NoError(t, err)

	want := version.Current().SpiceDB
	require.Regexp(t, `^v1\.\d+\.\d+$`, want)
	var header, trailer metadata.MD
	_, err = eng.Client.ReadSchema(requestmeta.AddRequestHeaders(ctx, requestmeta.RequestServerVersion), &v1.ReadSchemaRequest{},
		grpc.Header(&header), grpc.Trailer(&trailer))
	require.NoError(t, err)
	got := append(header.Get(string(responsemeta.ServerVersion)), trailer.Get(string(responsemeta.ServerVersion))...)
	require.Equal(t, []string{want}, got)

	header, trailer = nil, nil
	_, err = eng.Client.ReadSchema(ctx, &v1.ReadSchemaRequest{}, grpc.Header(&header), grpc.Trailer(&trailer))
	require.NoError(t, err)
	require.Empty(t, append(header.Get(string(responsemeta.ServerVersion)), trailer.Get(string(responsemeta.ServerVersion))...))
}
