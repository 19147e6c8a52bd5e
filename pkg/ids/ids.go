// Package ids makes server-assigned resource ids. An id is a short type prefix
// and a MongoDB ObjectID in hex ("inc_65f0c2..."): unique without
// coordination between replicas, and ordered by creation time, so sorting by
// id sorts newest-first cheaply and gives stable page tokens.
package ids

import (
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// New returns a new id with the given prefix, e.g. New("inc").
func New(prefix string) string {
	return prefix + "_" + bson.NewObjectID().Hex()
}

// Valid reports whether id looks like an id made by New with that prefix.
func Valid(prefix, id string) bool {
	rest, ok := strings.CutPrefix(id, prefix+"_")
	if !ok {
		return false
	}
	_, err := bson.ObjectIDFromHex(rest)
	return err == nil
}
