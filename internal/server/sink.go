package server

import "github.com/prowl-siem/prowl/internal/sources"

// Sink is where sources hand their batches: the pipeline's Ingest, which
// acknowledges a batch once it is durable. In-process feeders such as
// `prowl bench soak` use it exactly as a source does.
func (s *Server) Sink() sources.Sink { return s.pipe }
