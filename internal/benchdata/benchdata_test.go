package benchdata

import (
	"testing"

	"github.com/prowl-siem/prowl/internal/analysis"
)

func TestExtractOktaSimple(t *testing.T) {
	path, err := ExtractOktaSimple(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	repo, err := analysis.Load([]string{path}, analysis.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(repo.Detections) != 24 {
		t.Fatalf("%d detections, want 24", len(repo.Detections))
	}
	for _, d := range repo.Detections {
		if !d.IsSimple() {
			t.Errorf("%s is not a simple detection", d.ID)
		}
	}
}
