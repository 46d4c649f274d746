package match

import "os"

func readDoc() ([]byte, error) {
	return os.ReadFile("../../docs/simple-detections.md")
}
