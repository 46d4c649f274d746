# prowl build and test entry points. `make test` is what CI runs.
GO ?= go

.PHONY: build test vet fmt bench

build:
	$(GO) build -o bin/prowl ./cmd/prowl

vet:
	$(GO) vet ./...

fmt:
	@files="$$(gofmt -l cmd internal packs)"; if [ -n "$$files" ]; then echo "gofmt needed:"; echo "$$files"; exit 1; fi

test: fmt vet
	$(GO) test -count=1 ./...

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...
