package alerts_test

import (
	"testing"

	"github.com/prowl-siem/prowl/internal/alerts"
	"github.com/prowl-siem/prowl/internal/alerts/alertstest"
)

func TestMemoryStoreConformance(t *testing.T) {
	alertstest.Run(t, func(*testing.T) alertstest.Backend { return alerts.NewMemoryStore() })
}
