package scanner

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Biometric references in prose: phrases that name biometric data
// ("fingerprint templates", "scans of face geometry", "DNA profile",
// "voiceprint"), found anywhere in the text, not only as the context of an
// identifier. They are letters, which the main loop skips, so they have a
// pass of their own, built to cost little on text without them.
//
// A sampled-gram prefilter reads the case-folded 4 bytes at every
// bioStride-th offset and tests them against two bitmaps holding the
// 4-grams of one anchor per phrase spelling: a stretch of bioStride+3 bytes
// of the phrase, so that wherever the phrase lies one sampled offset falls
// on one of the anchor's first bioStride 4-grams. The samples do not depend
// on each other, so the loop is bound by throughput, not by a chain of
// table look-ups as a shift-table (Wu–Manber) search would be. Where both
// bitmaps agree, an exact table gives the distances back to where phrases
// holding that 4-gram in their anchor start, and the phrase automaton runs
// from those word starts only. Anchors are placed on the 4-grams least
// common in ordinary text (commonGrams), so the automaton rarely runs.

// bioPhrases are the phrases that name biometric data, lower case, words
// separated by one space (in the text: a space, '_', '-' or a camelCase
// boundary): each head, alone when bare is set, and each head followed by
// each noun. ctx marks phrases that also name things that are not
// biometric (key, certificate, device and build fingerprints): they are
// dropped next to a word that says so.
var bioPhrases = []struct {
	heads, nouns string
	bare, ctx    bool
}{
	{
		heads: "fingerprint|fingerprints|finger print|finger prints",
		nouns: "template|templates|scan|scans|image|images|data|minutiae|record|records|reader|readers|scanner|scanners|" +
			"sensor|sample|samples|card|cards|impression|impressions|pattern|patterns|enrollment|enrolment",
		bare: true, ctx: true,
	},
	{heads: "thumbprint|thumbprints", nouns: "scan|scans|image|images|data|template|templates", ctx: true},
	{heads: "thumbprints", bare: true, ctx: true},
	{heads: "latent print|latent prints", bare: true},
	{heads: "finger vein|palm vein", nouns: "pattern|patterns|scan|scans|image|images|data|template|templates"},
	{heads: "palm print|palm prints|palmprint|palmprints|palm scan|palm scans", bare: true},
	{heads: "hand geometry|face geometry|facial geometry", bare: true},
	{heads: "faceprint|faceprints|face print|face prints", bare: true},
	{heads: "face|facial", nouns: "scan|scans|template|templates|encoding|encodings|embedding|embeddings|biometrics"},
	{heads: "facial recognition|face recognition", nouns: "data|template|templates", bare: true},
	{heads: "facial data", bare: true},
	{heads: "iris", nouns: "scan|scans|template|templates|image|images|pattern|patterns|code|codes|recognition|biometrics|data"},
	{heads: "retina|retinal", nouns: "scan|scans|image|images|pattern|patterns|template|templates|data"},
	{heads: "voiceprint|voiceprints|voice print|voice prints|voice template|voice templates|voice biometrics", bare: true},
	{heads: "voice sample|voice samples|finger scan|finger scans|fingerscan|vein pattern|vein patterns", bare: true},
	// German, Spanish, French, Portuguese.
	{heads: "fingerabdruck|fingerabdrucke|fingerabdrücke|fingerabdruckdaten|huellas dactilares|huella dactilar|empreintes digitales|" +
		"empreinte digitale|impressao digital|impressoes digitais", bare: true},
	{heads: "dna", nouns: "profile|profiles|sample|samples|data|record|records|sequence|sequences|test result|test results"},
	{heads: "genetic", nouns: "data|information|profile|profiles|test result|test results"},
	{heads: "genomic data", bare: true},
	{
		heads: "biometric|biometrics",
		nouns: "data|identifier|identifiers|information|template|templates|record|records|scan|scans|sample|samples",
	},
	{heads: "keystroke dynamics", bare: true},
}

// bioPhraseList expands bioPhrases into its phrases, each with its flags.
func bioPhraseList() (phrases []string, flags []kind) {
	for _, e := range bioPhrases {
		k := bioPhrase
		if e.ctx {
			k |= bioNeedCtx
		}
		for h := range strings.SplitSeq(e.heads, "|") {
			if e.bare {
				phrases, flags = append(phrases, h), append(flags, k)
			}
			if e.nouns == "" {
				continue
			}
			for n := range strings.SplitSeq(e.nouns, "|") {
				phrases, flags = append(phrases, h+" "+n), append(flags, k)
			}
		}
	}
	return phrases, flags
}

// bioNotWords make a fingerprint a key, certificate or device fingerprint
// when they are among the three words before or after it.
const bioNotWords = "ssh|tls|ssl|gpg|pgp|cert|certs|certificate|certificates|sha|md|rsa|ecdsa|dsa|jwk|jwks|" +
	"key|keys|host key|public key|signing key|fingerprinting"

// bioNotBefore make a fingerprint a software fingerprint when they come
// right before it ("browser fingerprint", "build fingerprint").
const bioNotBefore = "browser|device|canvas|webgl|audio|font|fonts|tcp|http|build|file|content|hash|asset|" +
	"assets|schema|query|request|cache|event|commit|package|digital|document|app|apk|docker|container|os|network|" +
	"server|client|release|binary|artifact|code|source|message|config|session|gpu|hardware|machine|unique|object|git|checksum|digest"

const (
	// bioStride is the distance between sampled offsets.
	bioStride = 4
	// bioAnchor is the length of an anchor: wherever it lies, one sampled
	// offset falls on one of its first bioStride 4-grams.
	bioAnchor = bioStride + 3
	// bioBits1 and bioBits2 are log2 of the sizes in bits of the bitmaps
	// (16 KiB and 8 KiB): the first is tested at every sample, the second
	// only where the first matches.
	bioBits1 = 17
	bioBits2 = 16
	// bioMergeGap is how close after a phrase an identifier it labels must
	// start to be reported with it.
	bioMergeGap = idGap
	// bio flags in the phrase automaton's kinds.
	bioPhrase  = kBiometric
	bioNeedCtx = kNotBio
)

// bioFilter is the compiled biometric phrase matcher.
type bioFilter struct {
	h1 [1 << (bioBits1 - 6)]uint64
	h2 [1 << (bioBits2 - 6)]uint64
	// backs maps an anchor 4-gram to the distances (bit i: i bytes) from
	// where a phrase holding it starts.
	backs   map[uint32]uint64
	phrases *trie
	notAny  *trie
	notPrev *trie
}

// fold is the prefilter's case folding of four bytes: letters become lower
// case (other bytes may collide, which only costs a look). The word
// separators ' ', '-' and '_' stay distinct: anchors are entered with each.
func fold(x uint32) uint32 { return x | 0x20202020 }

func bioHash1(x uint32) uint32 { return (x * 0x9E3779B1) >> (32 - bioBits1) }
func bioHash2(x uint32) uint32 { return (x * 0x85EBCA77) >> (32 - bioBits2) }

func newBioFilter() *bioFilter {
	f := &bioFilter{backs: map[uint32]uint64{}, phrases: newWordTrie(), notAny: newWordTrie(), notPrev: newWordTrie()}
	phrases, flags := bioPhraseList()
	for x, p := range phrases {
		f.phrases.add(p, flags[x])
		f.addAnchors(p)
	}
	for w := range strings.SplitSeq(bioNotWords, "|") {
		f.notAny.add(w, kNotBio)
	}
	for w := range strings.SplitSeq(bioNotBefore, "|") {
		f.notPrev.add(w, kNotBio)
	}
	return f
}

// newWordTrie returns an empty automaton with the keyword alphabet.
func newWordTrie() *trie {
	t := &trie{next: make([][trieSyms]uint16, 1, 256), kinds: make([]kind, 1, 256), word: make([]string, 1, 256)}
	for i := range t.alpha {
		t.alpha[i] = -1
	}
	for c := 'a'; c <= 'z'; c++ {
		t.alpha[c] = int8(c - 'a')
		t.alpha[c-'a'+'A'] = int8(c - 'a')
	}
	t.alpha[' '], t.alpha['_'], t.alpha['-'] = 26, 26, 26
	t.alpha['.'], t.alpha['\''], t.alpha['#'] = 27, 28, 29
	// Every byte of a multi-byte UTF-8 letter is one symbol, so keywords
	// in other languages match ("führerschein", "contraseña", "né le") in
	// either case; any two-byte letter matches any other in that place.
	for c := 0x80; c < 0x100; c++ {
		t.alpha[c] = 30
	}
	return t
}

// addAnchors enters the anchor of each spelling of phrase p (separators
// ' ', '-', '_' or none) into the bitmaps and the table of distances.
func (f *bioFilter) addAnchors(p string) {
	for _, v := range spellings(p) {
		s := bestAnchor(v)
		for o := range bioStride {
			g := fold(binary.LittleEndian.Uint32([]byte(v[s+o : s+o+4])))
			h1, h2 := bioHash1(g), bioHash2(g)
			f.h1[h1>>6] |= 1 << (h1 & 63)
			f.h2[h2>>6] |= 1 << (h2 & 63)
			f.backs[g] |= 1 << (s + o)
		}
	}
}

// spellings returns p with each of its separators written as ' ', '-',
// '_' or nothing (camelCase), folded like the prefilter folds text.
func spellings(p string) []string {
	out := []string{""}
	for i := 0; i < len(p); i++ {
		c := p[i]
		var next []string
		for _, s := range out {
			if c != ' ' {
				next = append(next, s+string(c))
				continue
			}
			next = append(next, s+" ", s+"-", s+"\x7f", s)
		}
		out = next
	}
	return out
}

// bestAnchor returns where the anchor of spelling v starts: the
// bioAnchor-byte stretch whose sampled 4-grams are least common in
// ordinary text, nearest the start of v on a tie.
func bestAnchor(v string) int {
	if len(v) < bioAnchor || len(v) > 60 {
		panic("scanner: biometric phrase of bad length: " + v)
	}
	best, bestCost := 0, 1<<30
	for s := 0; s+bioAnchor <= len(v); s++ {
		cost := 0
		for o := range bioStride {
			g := strings.NewReplacer("-", " ", "\x7f", " ").Replace(v[s+o : s+o+4])
			switch {
			case commonGrams[g] != 0:
				cost += commonGrams[g]
			case strings.Contains(g, " "):
				cost += 10 // a word end and a word start: often common
			default:
				cost += 2
			}
		}
		if cost < bestCost {
			best, bestCost = s, cost
		}
	}
	return best
}

// commonGrams are the 4-grams of the phrases that are common in ordinary
// text (' ' standing for any separator) with how often they occur per MiB
// (50 or more), measured on 54 MB of English documentation, licences and
// Go source and on the benchmark's mixed text (the larger of the two).
var commonGrams = func() map[string]int {
	m := map[string]int{}
	for e := range strings.SplitSeq(commonGramList, "|") {
		g, n, _ := strings.Cut(e, "=")
		m[g], _ = strconv.Atoi(n)
	}
	return m
}()

const commonGramList = " cod=187| dat=675| enc=70| imp=183| inf=1076| pat=2157| pri=92| pro=676| rea=156| rec=136| res=343|" +
	" sam=682| tes=446|a pa=72|ace =109|ader=215|ages=152|al p=97|amic=54|ampl=471|and =1161|anne=74|ates=86|" +
	"atio=2157|atte=90|c te=121|cann=85|ce b=74|ce s=111|ce t=150|cial=102|code=355|codi=62|cord=57|data=703|" +
	"dent=152|ders=305|ding=348|dyna=54|e en=64|e ge=146|e pr=145|e re=642|e te=193|eade=215|ecor=52|eint=57|" +
	"embe=66|empl=78|ence=188|enco=109|ent =493|enti=172|eome=259|eque=2852|er p=119|erpr=52|erve=277|" +
	"esca=54|essi=139|est =2157|estr=100|esul=122|etri=307|etry=247|face=103|file=1521|form=383|gene=268|" +
	"geom=259|ger =53|hand=178|ial =102|ice =621|iden=95|ifie=126|iles=748|imag=57|in s=91|in t=407|inal=142|" +
	"info=1076|ings=166|int =240|inte=695|intp=349|ion =913|ions=580|is b=148|is c=88|is d=77|is i=115|" +
	"is p=157|is r=82|is s=255|is t=288|iste=125|itio=232|l re=69|late=150|mage=127|mati=62|ment=630|" +
	"metr=307|mpla=79|mple=672|n da=106|n te=65|nal =152|nami=56|ncod=102|ndat=61|niti=63|nt i=60|nt s=113|" +
	"nt t=88|nten=88|ntim=221|nts =144|odin=64|ofil=62|omet=277|omic=66|on t=163|onda=456|onte=216|orma=262|" +
	"patt=56|plat=75|ples=94|pres=232|prin=180|prof=118|quen=96|r pr=62|r ve=54|read=518|reco=102|ress=249|" +
	"resu=136|rics=307|rict=51|rint=184|ris =271|rmat=143|rofi=79|roll=51|s ca=76|s co=124|s da=73|s in=295|" +
	"s re=185|s sa=75|s se=71|scan=110|sequ=96|side=53|sion=794|ssio=185|st r=141|stem=704|stre=141|sult=123|" +
	"t ca=173|t da=170|t mi=84|t pa=2193|t pr=88|t re=371|t sa=171|t se=172|t te=82|temp=99|tent=132|" +
	"tern=187|test=3047|tifi=100|tion=2512|trea=144|tric=307|ts r=88|ts t=84|tter=114|uenc=58|ynam=60"

// biometric finds biometric phrases, joins each with an identifier the main
// loop reported as biometric right after it ("Fingerprint template:
// FP-00123456"), and adds them to the findings.
func (st *scan) biometric() {
	f := st.s.bio
	b := st.b
	n := len(b)
	var found []Finding
	last := 0 // end of the last phrase found
	i := 0
	h := &f.h1
	for ; i+32 <= n; i += 32 {
		w := b[i : i+32 : i+32]
		x0, x1 := binary.LittleEndian.Uint64(w[0:8]), binary.LittleEndian.Uint64(w[8:16])
		x2, x3 := binary.LittleEndian.Uint64(w[16:24]), binary.LittleEndian.Uint64(w[24:32])
		a0, a1 := bioHash1(fold(uint32(x0))), bioHash1(fold(uint32(x0>>32)))
		a2, a3 := bioHash1(fold(uint32(x1))), bioHash1(fold(uint32(x1>>32)))
		a4, a5 := bioHash1(fold(uint32(x2))), bioHash1(fold(uint32(x2>>32)))
		a6, a7 := bioHash1(fold(uint32(x3))), bioHash1(fold(uint32(x3>>32)))
		if (h[a0>>6]>>(a0&63)|h[a1>>6]>>(a1&63)|h[a2>>6]>>(a2&63)|h[a3>>6]>>(a3&63)|
			h[a4>>6]>>(a4&63)|h[a5>>6]>>(a5&63)|h[a6>>6]>>(a6&63)|h[a7>>6]>>(a7&63))&1 == 0 {
			continue
		}
		for p := i; p < i+32; p += bioStride {
			if a := bioHash1(fold(binary.LittleEndian.Uint32(b[p:]))); h[a>>6]>>(a&63)&1 != 0 {
				found, last = f.check(b, p, last, found)
			}
		}
	}
	for ; i+4 <= n; i += bioStride {
		found, last = f.check(b, i, last, found)
	}
	if len(found) > 0 {
		st.joinBiometric(found)
	}
}

// check looks for a phrase whose anchor holds the 4-gram at p. It returns
// the findings and the end of the last phrase found.
func (f *bioFilter) check(b []byte, p, last int, found []Finding) ([]Finding, int) {
	g := fold(binary.LittleEndian.Uint32(b[p:]))
	h1, h2 := bioHash1(g), bioHash2(g)
	if (f.h1[h1>>6]>>(h1&63))&(f.h2[h2>>6]>>(h2&63))&1 == 0 || p < last {
		return found, last
	}
	backs := f.backs[g]
	// Farthest start first: the longest phrase.
	for backs != 0 {
		d := 63 - bits.LeadingZeros64(backs)
		backs &^= 1 << d
		q := p - d
		if q < last || q < 0 || !wordStart(b, q) {
			continue
		}
		node, end := f.phrases.match(b, q)
		if node == 0 || end <= p {
			continue
		}
		q = phrasePrefix(b, q)
		if f.phrases.kinds[node]&bioNeedCtx != 0 && f.notBiometric(b, q, end) {
			return found, end
		}
		found = append(found, Finding{
			Type: Biometric, Start: q, End: end, Confidence: 0.7,
			Context: []string{f.phrases.word[node]},
		})
		return found, end
	}
	return found, last
}

// phrasePrefix returns where the phrase starting at q starts with a word
// that belongs to it before it: "latent fingerprints", "scans of face
// geometry".
func phrasePrefix(b []byte, q int) int {
	word := func(e int) (int, string) {
		if e < 2 || (b[e-1] != ' ' && b[e-1] != '_' && b[e-1] != '-') {
			return e, ""
		}
		s := e - 1
		for s > 0 && isLetter(b[s-1]) && e-s < 8 {
			s--
		}
		if s > 0 && isLetter(b[s-1]) {
			return e, ""
		}
		var lb [8]byte
		return s, lowerWord(lb[:], b[s:e-1])
	}
	s, w := word(q)
	switch w {
	case "latent":
		return s
	case "of":
		if s2, w2 := word(s); w2 == "scan" || w2 == "scans" {
			return s2
		}
	}
	return q
}

// notBiometric reports whether the fingerprint named by b[q:end] is a key,
// certificate, device or build fingerprint: a word that says so among the
// three words before or after it on its line, or a command-line flag
// ("--fingerprint").
func (f *bioFilter) notBiometric(b []byte, q, end int) bool {
	if q >= 2 && b[q-1] == '-' && b[q-2] == '-' {
		return true
	}
	if bytes.HasPrefix(b[end:], []byte(" all over")) { // "left his fingerprints all over the code"
		return true
	}
	// Words before, nearest first.
	k := q
	for w := range 3 {
		for k > 0 && !isAlnum(b[k-1]) && b[k-1] != '\n' && q-k < 48 {
			k--
		}
		e := k
		for k > 0 && isAlnum(b[k-1]) && e-k < 32 {
			k--
		}
		if k == e {
			break
		}
		if isLetter(b[k]) {
			if node, we := f.notAny.match(b, k); node != 0 && we >= e {
				return true
			}
			if node, we := f.notPrev.match(b, k); w == 0 && node != 0 && we >= e {
				return true
			}
		}
	}
	// Words after.
	k = end
	for range 3 {
		for k < len(b) && !isAlnum(b[k]) && b[k] != '\n' && k-end < 24 {
			k++
		}
		if k >= len(b) || k-end >= 24 || !isLetter(b[k]) {
			return false
		}
		if node, _ := f.notAny.match(b, k); node != 0 {
			return true
		}
		for k < len(b) && isAlnum(b[k]) {
			k++
		}
	}
	return false
}

// joinBiometric adds the phrase findings (in order), each joined with the
// biometric identifier the main loop found right after it on its line, if
// any.
func (st *scan) joinBiometric(found []Finding) {
	// Phrases side by side, or overlapping ("finger scan of face geometry"
	// holds "scan of face geometry"), name one thing: "Facial recognition
	// face templates", "Genetic data: DNA sample".
	k := 0
	for x := range found {
		if k > 0 {
			p := &found[k-1]
			if found[x].Start <= p.End || (found[x].Start-p.End <= 3 && onlySeparators(st.b[p.End:found[x].Start])) {
				p.End = max(p.End, found[x].End)
				continue
			}
		}
		found[k] = found[x]
		k++
	}
	found = found[:k]
	var ids []int
	for x, g := range st.findings {
		if g.Type == Biometric {
			ids = append(ids, x)
		}
	}
	drop := map[int]bool{}
	if len(ids) > 0 {
		sort.Slice(ids, func(a, c int) bool { return st.findings[ids[a]].Start < st.findings[ids[c]].Start })
		j := 0
		for x := range found {
			p := &found[x]
			for j < len(ids) && st.findings[ids[j]].Start < p.End {
				j++
			}
			if j == len(ids) {
				break
			}
			id := st.findings[ids[j]]
			if id.Start-p.End > bioMergeGap || (x+1 < len(found) && found[x+1].Start < id.Start) ||
				bytes.IndexByte(st.b[p.End:id.Start], '\n') >= 0 {
				continue
			}
			p.End = id.End
			p.Confidence = max(id.Confidence, 0.85)
			for _, w := range id.Context {
				if !slices.Contains(p.Context, w) {
					p.Context = append(p.Context, w)
				}
			}
			drop[ids[j]] = true
			j++
		}
	}
	if len(drop) > 0 {
		out := st.findings[:0]
		for x, g := range st.findings {
			if !drop[x] {
				out = append(out, g)
			}
		}
		st.findings = out
	}
	for _, p := range found {
		p.Masked = mask(Biometric, st.b[p.Start:p.End])
		st.findings = append(st.findings, p)
		if p.End > st.done {
			st.done = p.End
		}
	}
}

// onlySeparators reports whether v holds only spaces and punctuation.
func onlySeparators(v []byte) bool {
	for _, c := range v {
		if isAlnum(c) || c >= 0x80 {
			return false
		}
	}
	return true
}
