package api

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"go.uber.org/zap"
)

// ReadKeyFile reads a file of API keys: one key per line in ParseKey's
// syntax (NAME=KEY, NAME:read=KEY), blank lines and lines starting with #
// ignored. A file without any key is refused: a file caught half-written
// would otherwise lock every caller out. Errors name the line, never a key.
func ReadKeyFile(path string) ([]Key, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var keys []Key
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, err := ParseKey(line)
		if err != nil {
			return nil, fmt.Errorf("%s line %d: %w", path, n, err)
		}
		keys = append(keys, k)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%s holds no key (to revoke every key, replace them with a new one)", path)
	}
	return keys, nil
}

// KeyFile keeps a keyring in step with a file of keys (ReadKeyFile) plus
// keys given once at start.
type KeyFile struct {
	Path   string
	Static []Key // from the command line; kept across reloads
	Ring   *Keyring
	Logger *zap.Logger

	stamp fileStamp
}

// fileStamp tells whether a file changed since it was last read.
type fileStamp struct {
	mod  time.Time
	size int64
}

// Load reads the file and its static keys into a key set without
// installing it.
func (f *KeyFile) Load() (*KeySet, error) {
	info, err := os.Stat(f.Path)
	if err != nil {
		return nil, err
	}
	keys, err := ReadKeyFile(f.Path)
	if err != nil {
		return nil, err
	}
	set, err := NewKeySet(append(append([]Key{}, f.Static...), keys...))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Path, err)
	}
	f.stamp = fileStamp{mod: info.ModTime(), size: info.Size()}
	if info.Mode().Perm()&0o004 != 0 && f.Logger != nil {
		f.Logger.Warn("the API keys file is readable by every user of the host; chmod 600 it", zap.String("file", f.Path))
	}
	return set, nil
}

// Reload reads the file and swaps the keyring's key set at once. When the
// file cannot be read or parsed the keys in force stay, and the error says
// why.
func (f *KeyFile) Reload() error {
	set, err := f.Load()
	if err != nil {
		return err
	}
	f.Ring.Set(set)
	return nil
}

// changed reports whether the file's modification time or size differs
// from the last successful read.
func (f *KeyFile) changed() bool {
	info, err := os.Stat(f.Path)
	if err != nil {
		return true // gone or unreadable: Reload says so, and keeps the keys
	}
	return !info.ModTime().Equal(f.stamp.mod) || info.Size() != f.stamp.size
}

// Watch reloads the file on each value from reload (SIGHUP) and whenever
// it changes on disk (polled every interval), until ctx ends. A failed
// reload is logged and the keys in force stay. The first Load (or Reload)
// must have run.
func (f *KeyFile) Watch(ctx context.Context, interval time.Duration, reload <-chan os.Signal) {
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	var lastErr string
	for {
		why := ""
		select {
		case <-ctx.Done():
			return
		case <-reload:
			why, lastErr = "signal", ""
		case <-ticker.C:
			if !f.changed() {
				continue
			}
			why = "file changed"
		}
		if err := f.Reload(); err != nil {
			// Polling retries a broken file every interval: log it once.
			if msg := err.Error(); msg != lastErr || why == "signal" {
				f.Logger.Error("reloading the API keys failed; the previous keys stay in force", zap.String("trigger", why), zap.Error(err))
				lastErr = msg
			}
			continue
		}
		lastErr = ""
		f.Logger.Info("reloaded the API keys", zap.String("trigger", why), zap.String("file", f.Path),
			zap.Strings("keys", f.Ring.Current().Names()))
	}
}
