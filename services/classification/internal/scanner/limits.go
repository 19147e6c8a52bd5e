package scanner

import (
	"fmt"

	"github.com/breachline/breachline/pkg/apperr"
)

// Request limits of the scanner's API.
const (
	// MaxContentBytes bounds the content of one scan (8 MiB).
	MaxContentBytes = 8 << 20
	// MaxContentNameBytes bounds the content name hint.
	MaxContentNameBytes = 1024
	// MaxColumns bounds the columns of a dataset sample.
	MaxColumns = 500
	// MaxRows bounds the rows of a dataset sample.
	MaxRows = 1000
	// MaxCellBytes bounds one cell of a dataset sample.
	MaxCellBytes = 4096
	// MaxColumnNameBytes bounds a column name.
	MaxColumnNameBytes = 256
)

// ValidateContent checks a scan request: which content field is set
// (field is "text" or "data", empty when neither), its size, and the length
// of the name hint. It reports every violation.
func ValidateContent(field string, size, nameLen int) apperr.Violations {
	var v apperr.Violations
	switch {
	case field == "":
		v.Add("content", "set text or data")
	case size > MaxContentBytes:
		v.Add(field, "must be at most %d bytes (8 MiB); got %d bytes — split the content and scan the parts", MaxContentBytes, size)
	}
	if nameLen > MaxContentNameBytes {
		v.Add("content_name", "must be at most %d bytes; got %d", MaxContentNameBytes, nameLen)
	}
	return v
}

// ValidateDataset checks a dataset sample against the limits and reports
// every violation (at most one per row and column name list, so that a
// large bad sample does not produce a huge answer).
func ValidateDataset(columns []string, rows [][]string) apperr.Violations {
	var v apperr.Violations
	switch {
	case len(columns) == 0:
		v.Add("column_names", "at least one column name is required")
	case len(columns) > MaxColumns:
		v.Add("column_names", "at most %d columns; got %d", MaxColumns, len(columns))
	}
	for i, c := range columns {
		if len(c) > MaxColumnNameBytes {
			v.Add(fmt.Sprintf("column_names[%d]", i), "must be at most %d bytes; got %d", MaxColumnNameBytes, len(c))
		}
	}
	if len(rows) > MaxRows {
		v.Add("rows", "at most %d rows; got %d", MaxRows, len(rows))
		return v
	}
	for r, row := range rows {
		if len(columns) > 0 && len(row) > len(columns) {
			v.Add(fmt.Sprintf("rows[%d].values", r), "has %d values but there are %d columns", len(row), len(columns))
		}
		for c, cell := range row {
			if len(cell) > MaxCellBytes {
				v.Add(fmt.Sprintf("rows[%d].values[%d]", r, c), "must be at most %d bytes; got %d", MaxCellBytes, len(cell))
				break
			}
		}
	}
	return v
}
