package api

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

func writeKeys(t *testing.T, path, content string, perm os.FileMode) {
	t.Helper()
	require.NoError(t, os.WriteFile(path, []byte(content), perm))
	require.NoError(t, os.Chmod(path, perm))
}

// names is the keyring's current keys, for comparisons.
func names(r *Keyring) []string { return r.Current().Names() }

func TestKeyFileReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys")
	writeKeys(t, path, "# panel\npanel=0123456789abcdef\n\n  auditor:read=fedcba9876543210  \n", 0o600)
	core, logs := observer.New(zap.InfoLevel)
	kf := &KeyFile{Path: path, Static: []Key{mustKey(t, "ops=static-0123456789")}, Ring: NewKeyring(nil), Logger: zap.New(core)}
	require.NoError(t, kf.Reload())
	require.Equal(t, []string{"ops:read+write", "panel:read+write", "auditor:read"}, names(kf.Ring))
	require.Zero(t, logs.FilterMessageSnippet("readable by every user").Len(), "a 0600 file is not warned about")

	t.Run("a broken file keeps the keys in force", func(t *testing.T) {
		for _, broken := range []string{"panel=short\n", "panel:admin=0123456789abcdef\n", "# empty\n", "ops=static-0123456789\n"} {
			writeKeys(t, path, broken, 0o600)
			require.Error(t, kf.Reload(), broken)
			require.Equal(t, []string{"ops:read+write", "panel:read+write", "auditor:read"}, names(kf.Ring))
		}
		require.NoError(t, os.Remove(path))
		require.ErrorContains(t, kf.Reload(), "no such file")
		require.Len(t, names(kf.Ring), 3)
	})
	t.Run("a world-readable file is warned about", func(t *testing.T) {
		writeKeys(t, path, "panel=0123456789abcdef\n", 0o644)
		require.NoError(t, kf.Reload())
		require.Equal(t, 1, logs.FilterMessageSnippet("readable by every user").Len())
	})
}

func TestKeyFileWatch(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys")
	writeKeys(t, path, "panel=0123456789abcdef\n", 0o600)
	core, logs := observer.New(zap.InfoLevel)
	kf := &KeyFile{Path: path, Ring: NewKeyring(nil), Logger: zap.New(core)}
	require.NoError(t, kf.Reload())

	ctx, cancel := context.WithCancel(context.Background())
	hup := make(chan os.Signal, 1)
	done := make(chan struct{})
	// An hour between polls: only the signal can trigger a reload here.
	go func() { kf.Watch(ctx, time.Hour, hup); close(done) }()
	t.Cleanup(func() { cancel(); <-done })

	waitFor := func(snippet string, n int) {
		t.Helper()
		require.Eventually(t, func() bool { return logs.FilterMessageSnippet(snippet).Len() >= n }, 5*time.Second, 10*time.Millisecond)
	}
	writeKeys(t, path, "billing=fedcba9876543210\n", 0o600)
	hup <- syscall.SIGHUP
	waitFor("reloaded the API keys", 1)
	require.Equal(t, []string{"billing:read+write"}, names(kf.Ring))

	writeKeys(t, path, "billing=short\n", 0o600)
	hup <- syscall.SIGHUP
	waitFor("the previous keys stay in force", 1)
	require.Equal(t, []string{"billing:read+write"}, names(kf.Ring))
}

func TestKeyFileWatchPolls(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys")
	writeKeys(t, path, "panel=0123456789abcdef\n", 0o600)
	kf := &KeyFile{Path: path, Ring: NewKeyring(nil), Logger: zap.NewNop()}
	require.NoError(t, kf.Reload())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { kf.Watch(ctx, 10*time.Millisecond, nil); close(done) }()
	t.Cleanup(func() { cancel(); <-done })

	writeKeys(t, path, "panel:read=0123456789abcdef-rotated\n", 0o600)
	require.Eventually(t, func() bool {
		n := names(kf.Ring)
		return len(n) == 1 && n[0] == "panel:read"
	}, 5*time.Second, 10*time.Millisecond)
}
