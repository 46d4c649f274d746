package analysis

// Global returns the global with the given GlobalID, or nil.
func (r *Repo) Global(id string) *Global {
	for _, g := range r.Globals {
		if g.ID == id {
			return g
		}
	}
	return nil
}

// DataModel returns the data model with the given DataModelID, or nil.
func (r *Repo) DataModel(id string) *DataModel {
	for _, m := range r.DataModels {
		if m.ID == id {
			return m
		}
	}
	return nil
}

// DataModelFor returns the enabled data model of a log type, or nil.
func (r *Repo) DataModelFor(logType string) *DataModel {
	for _, m := range r.DataModels {
		if !m.Enabled {
			continue
		}
		for _, lt := range m.LogTypes {
			if lt == logType {
				return m
			}
		}
	}
	return nil
}

// Pack returns the pack with the given PackID, or nil.
func (r *Repo) Pack(id string) *Pack {
	for _, p := range r.Packs {
		if p.ID == id {
			return p
		}
	}
	return nil
}

// Query returns the saved or scheduled query with the given QueryName, or
// nil.
func (r *Repo) Query(name string) *Query {
	for _, q := range r.Queries {
		if q.Name == name {
			return q
		}
	}
	return nil
}

// LookupTable returns the lookup table with the given LookupName, or nil.
func (r *Repo) LookupTable(name string) *LookupTable {
	for _, t := range r.LookupTables {
		if t.Name == name {
			return t
		}
	}
	return nil
}
