package memory_test

import (
	"testing"

	"github.com/hostaccess/hostaccess/pkg/directory"
	"github.com/hostaccess/hostaccess/pkg/directory/directorytest"
	"github.com/hostaccess/hostaccess/pkg/directory/memory"
)

func TestConformance(t *testing.T) {
	directorytest.RunConformance(t, func(*testing.T) directory.Store { return memory.New() })
}
