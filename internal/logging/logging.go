// Package logging builds the program's one zap logger and bridges SpiceDB's
// zerolog output into it, so an operator reads a single stream in one format.
package logging

import (
	"encoding/json"
	"fmt"

	"github.com/rs/zerolog"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Formats accepted by New.
const (
	FormatJSON    = "json"
	FormatConsole = "console"
)

// New returns a zap logger writing to stderr at the given level
// (debug, info, warn, error) in the given format (json or console).
func New(level, format string) (*zap.Logger, error) {
	lvl, err := zapcore.ParseLevel(level)
	if err != nil {
		return nil, fmt.Errorf("invalid log level %q: use debug, info, warn or error", level)
	}
	var cfg zap.Config
	switch format {
	case FormatJSON:
		cfg = zap.NewProductionConfig()
	case FormatConsole:
		cfg = zap.NewDevelopmentConfig()
		cfg.EncoderConfig.EncodeLevel = zapcore.CapitalColorLevelEncoder
		cfg.Development = false
	default:
		return nil, fmt.Errorf("invalid log format %q: use json or console", format)
	}
	cfg.Level = zap.NewAtomicLevelAt(lvl)
	cfg.Sampling = nil
	cfg.DisableStacktrace = true
	return cfg.Build()
}

// SpiceDB returns a zerolog logger for SpiceDB's internals that forwards into
// logger under component=spicedb. SpiceDB is chatty at info level, so its
// events are kept one level quieter than ours: info only when we log debug.
func SpiceDB(logger *zap.Logger) zerolog.Logger {
	minLevel := zerolog.WarnLevel
	if logger.Core().Enabled(zapcore.DebugLevel) {
		minLevel = zerolog.InfoLevel
	}
	w := zapWriter{logger: logger.Named("spicedb").WithOptions(zap.AddCallerSkip(1))}
	return zerolog.New(w).Level(minLevel)
}

// zapWriter receives zerolog's JSON events and re-emits them through zap.
type zapWriter struct{ logger *zap.Logger }

func (w zapWriter) Write(p []byte) (int, error) {
	var event map[string]any
	if err := json.Unmarshal(p, &event); err != nil {
		w.logger.Info(string(p))
		return len(p), nil //nolint:nilerr // a line we cannot parse is still logged, verbatim
	}
	msg, _ := event[zerolog.MessageFieldName].(string)
	levelName, _ := event[zerolog.LevelFieldName].(string)
	delete(event, zerolog.MessageFieldName)
	delete(event, zerolog.LevelFieldName)
	fields := make([]zap.Field, 0, len(event))
	for k, v := range event {
		fields = append(fields, zap.Any(k, v))
	}
	if ce := w.logger.Check(zapLevel(levelName), msg); ce != nil {
		ce.Write(fields...)
	}
	return len(p), nil
}

func zapLevel(zerologLevel string) zapcore.Level {
	switch zerologLevel {
	case "trace", "debug":
		return zapcore.DebugLevel
	case "info":
		return zapcore.InfoLevel
	case "warn":
		return zapcore.WarnLevel
	default:
		return zapcore.ErrorLevel
	}
}
