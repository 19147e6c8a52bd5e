package scanner

import "bytes"

// csvPasswords reports the cells of a password column of a CSV/TSV whose
// header names one ("username,password\nelena.moreno,Maple?70"): the main
// loop sees only the cells that contain a digit or a delimiter, and a
// column's header is all the context a cell has.
func (st *scan) csvPasswords() {
	col := -1
	for c, k := range st.header {
		if k&kPassword != 0 && k&kUser == 0 {
			col = c
			break
		}
	}
	if col < 0 {
		return
	}
	b := st.b
	sep := st.hdrSep
	// The column's name must name a password ("password", "db_pass"), not
	// something about one ("password_hint").
	cs, c := st.hdrStart, 0
	for k := st.hdrStart; k <= st.hdrEnd && c <= col; k++ {
		if k < st.hdrEnd && b[k] != sep {
			continue
		}
		if c == col && classifyKey(bytes.Trim(b[cs:k], "\" \r")) != keyPassword {
			return
		}
		c++
		cs = k + 1
	}
	for ls := st.hdrEnd + 1; ls < len(b); {
		le := ls
		for le < len(b) && b[le] != '\n' {
			le++
		}
		// The col-th cell of the line (no quoted separators in passwords'
		// columns are assumed beyond a simple quote pair).
		cs, c := ls, 0
		for k := ls; k <= le && c <= col; k++ {
			if k < le && b[k] != sep {
				continue
			}
			if c == col {
				v, e := cs, k
				if e > v && b[e-1] == '\r' {
					e--
				}
				if e-v >= 2 && b[v] == '"' && b[e-1] == '"' {
					v, e = v+1, e-1
				}
				if val := b[v:e]; len(val) >= 3 && !placeholder(val) && !st.covered(v, e) {
					st.emit(Credentials, v, e, 0.9, nil)
				}
			}
			c++
			cs = k + 1
		}
		ls = le + 1
	}
}

// covered reports whether a Credentials finding already overlaps b[v:e].
func (st *scan) covered(v, e int) bool {
	for i := len(st.findings) - 1; i >= 0 && i >= len(st.findings)-64; i-- {
		f := st.findings[i]
		if f.Type == Credentials && f.Start < e && v < f.End {
			return true
		}
	}
	return false
}
