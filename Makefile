# prowl build and test entry points. `make test` is what CI runs.
GO ?= go

.PHONY: build test vet bench

build:
	$(GO) build -o bin/prowl ./cmd/prowl

vet:
	$(GO) vet ./...

test: vet
	$(GO) test -count=1 ./...

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...
