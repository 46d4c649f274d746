package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/prowl-siem/prowl/internal/store"
)

// The steps that sources and destinations (the configurable components)
// share in their create and change handlers.

// exists reports whether get finds id (store.ErrNotFound: it does not).
func exists[T any](ctx context.Context, id string, get func(context.Context, string) (T, error)) (bool, error) {
	_, err := get(ctx, id)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, store.ErrNotFound):
		return false, nil
	}
	return false, err
}

// idPolicy is how a kind of component gets its id when it is created.
type idPolicy struct {
	kind  string // "source": in messages, and the id when nothing else gives one
	taken func(ctx context.Context, id string) (bool, error)
	// reserved, when set, tells the ids the server keeps for itself;
	// reservedMsg explains a refused one ("%q ...").
	reserved    func(id string) bool
	reservedMsg string
}

// newID is the id of a component being created: the one the request gives
// (checked, and returned even when it is not valid, with its problem), or
// one made unique from name, else from altName, else from the kind. An id
// in use is a conflict (409).
func (p idPolicy) newID(ctx context.Context, given *string, name, altName string) (string, []fieldProblem, error) {
	if given != nil && *given != "" {
		id := *given
		switch {
		case !idRE.MatchString(id):
			return id, []fieldProblem{{"id", fmt.Sprintf("%q is not an id: use 1 to 64 lowercase letters, digits, '.', '_' or '-', starting with a letter or digit", id)}}, nil
		case p.reserved != nil && p.reserved(id):
			return id, []fieldProblem{{"id", fmt.Sprintf(p.reservedMsg, id)}}, nil
		}
		taken, err := p.taken(ctx, id)
		if err != nil {
			return id, nil, err
		}
		if taken {
			return id, nil, &httpError{status: http.StatusConflict, msg: fmt.Sprintf("id: a %s %q exists already", p.kind, id)}
		}
		return id, nil, nil
	}
	if name == "" {
		return "", nil, nil
	}
	base := slug(name)
	if altName != "" && (base == "" || (p.reserved != nil && p.reserved(base))) {
		base = slug(altName)
	}
	if base == "" {
		base = p.kind
	}
	id, err := uniqueID(ctx, base, p.taken)
	return id, nil, err
}

// isGiven reports whether a request gives a JSON value (not left out, not null).
func isGiven(raw json.RawMessage) bool {
	return len(raw) > 0 && string(raw) != "null"
}

// mergeGiven merges the object patch, when given, into *obj (see
// mergeObject); a patch that is not an object is a problem of field.
func mergeGiven(problems []fieldProblem, field string, obj *json.RawMessage, patch json.RawMessage) []fieldProblem {
	if !isGiven(patch) {
		return problems
	}
	merged, err := mergeObject(*obj, patch)
	if err != nil {
		return append(problems, fieldProblem{field, err.Error()})
	}
	*obj = merged
	return problems
}

// readChange reads the body of a PATCH of a component into body and loads
// the stored component it changes, by the {id} of the path.
func readChange[T any](r *http.Request, body any, get func(context.Context, string) (T, error)) (T, error) {
	if err := readJSON(r, body); err != nil {
		var zero T
		return zero, err
	}
	return get(r.Context(), r.PathValue("id"))
}

// saveNew stores a new component c with put, then its secrets under owner.
// When the secrets cannot be saved the component is deleted again: none is
// left behind that cannot start.
func saveNew[T any](ctx context.Context, s *Server, st Secrets, c T, id, owner string, secrets map[string][]byte,
	put func(context.Context, T) error, del func(context.Context, string) error) error {
	if err := put(ctx, c); err != nil {
		return err
	}
	if err := s.saveSecrets(ctx, st, owner, secrets); err != nil {
		del(context.WithoutCancel(ctx), id)
		return err
	}
	return nil
}
