package scanner

import "strings"

// kind is a bit set of what a context word speaks for.
type kind uint32

const (
	kSSN kind = 1 << iota
	kCard
	kAccount
	kRouting
	kIBAN
	kDL
	kPassport
	kEmail
	kPhone
	kAddress
	kDOB
	kMRN
	kInsurance
	kNPI
	kBiometric
	kPassword
	kUser
	kSecret
	kName
	// kNeg marks words that make a number something else (order, invoice,
	// tracking, version): a value without positive context next to one is
	// not reported.
	kNeg
	// kNotBio marks words that make a "fingerprint" a key or device
	// fingerprint rather than a biometric one.
	kNotBio
)

// keywords maps context words (lower case; "_" and "-" match a space, and
// a camelCase boundary matches a space too) to what they speak for.
var keywordList = []struct {
	kinds kind
	words string
}{
	{kSSN, "ssn|ssns|ssn#|social security|social security number|social security no|social sec|soc sec|ss number|ssnumber|tin|taxpayer id|itin|social|her social|his social|seguro social|numero de seguro social|sozialversicherungsnummer"},
	{kCard, "card|cards|card number|card no|credit|credit card|debit|debit card|visa|mastercard|master card|amex|american express|discover|cc|ccn|cc number|pan|cardholder|card holder|payment|jcb|diners|unionpay|maestro|card num|cardnumber|creditcard"},
	{kAccount, "account|accounts|account number|account no|acct|acct no|acc|acc no|bank|bank account|checking|savings|deposit|beneficiary account|iban|account num|accountnumber|bankaccount|dda|kontonummer|konto|kontonr|compte|numero de compte|no de compte|rekeningnummer|numero de cuenta|cuenta|numero da conta|conta|conto"},
	{kRouting, "routing|routing number|routing no|aba|aba number|rtn|transit|ach|routing num|routingnumber|aba routing|rdfi|odfi|micr|numero de ruta|número de ruta|ruta|routing no|aba no|transit number|rt|rt#"},
	{kIBAN, "iban"},
	{kDL, "driver license|drivers license|driver's license|driver licence|drivers licence|driver's licence|driving licence|driving license|license number|licence number|license no|licence no|dl|dln|dl number|dl no|dl#|driverlicense|driverslicense|driver lic|state id|license|licence|lic|lic#|lic no|operator license|operator's license|operators license|chauffeur license|licencia de conducir|licencia de manejo|licencia|permiso de conducir|permis de conduire|führerschein|führerscheinnummer|fuhrerschein|rijbewijs|rijbewijsnummer|patente di guida|carta de conducao|carteira de motorista|cdl number|cdl no|cdl#|cdl #|commercial driver license|commercial drivers license"},
	{kPassport, "passport|passport number|passport no|passport num|passportnumber|passport#|travel document|passeport|reisepass|reisepassnummer|passnummer|pasaporte|passaporto|paspoort|pax doc no|pax doc number|passport nr|passport id|passport no.|paspoortnummer|passaporte|passaporto nr|numero de pasaporte|passaporte n|pass nr|pass. nr|pass.-nr|passnr|reisepass nr|pasaport|pasaport no|pasaport numarasi"},
	{kEmail, "email|e mail|mail|email address"},
	{kPhone, "phone|phone number|tel|telephone|mobile|cell|cellphone|fax|call|sms|whatsapp|ph|contact number|phone no|mob|home phone|work phone|phonenumber|ring|ring me|landline|telefon|telefone|telefono|teléfono|téléphone|portable|mobil|mobile phone|handy|movil|móvil|celular|tlf|numero de telefono|número de teléfono"},
	{kAddress, "address|addr|street|residence|home address|mailing address|billing address|shipping address|ship to|lives at|resides at|located at|street address|address line"},
	{kDOB, "dob|d.o.b|d.o.b.|birth|born|birthday|birthdate|birth date|date of birth|dateofbirth|bday|b day|geburtsdatum|date de naissance|naissance|fecha de nacimiento|nacimiento|data di nascita|geboortedatum|data de nascimento|nascimento|fecha nac|nee le|ne le|geboren|geboren am|né le|née le|nacido|nacida|nacido el|nacida el|fecha de nac|naissance le|geb|geb. am|geb am|geburtstag"},
	{kMRN, "mrn|medical record|medical record number|medical record no|med rec|medrec|patient id|patient number|patient no|patient#|chart|chart number|chart no|health record|ehr|emr|record number|mrn#|patientid|mr number|medical id|mr#|mr no|unit record|unit record no|unit record number|hospital record|hospital record no|hospital number|hospital no|mr #|dossier médical|dossier medical|numéro de dossier|numero de dossier|n° de dossier"},
	{kInsurance, "member id|member number|member no|memberid|subscriber|subscriber id|subscriber number|policy number|policy no|policy|insurance|insurance id|insurance number|insured|health plan|plan id|medicare|medicaid|mbi|hicn|beneficiary id|insurer|health insurance|coverage id|bcbs|aetna|cigna|humana|unitedhealthcare|kaiser|anthem|policyholder|member|medi cal|medi cal id|bic id|insured's id|insured's id number|insured id|insureds id|uhc|uhc id|united healthcare|krankenversichertennummer|versichertennummer|krankenkasse|insurance no|tricare|tricare dbn|dbn|dod benefits number"},
	{kNPI, "npi|national provider|national provider identifier|provider npi|npi number"},
	// Biometric: "iris", "retina" and "facial" alone are a name, a display and
	// a tissue; only their data nouns label an id.
	{kBiometric, "biometric|biometrics|fingerprint|fingerprints|finger print|faceprint|face print|face template|facial template|facial geometry|face geometry|face encoding|face embedding|face id|face scan|facial scan|retina scan|retinal scan|retina image|retinal image|iris scan|iris template|iris image|iris code|voiceprint|voice print|palm print|palmprint|hand geometry|minutiae|biometric template|fingerprint template|vein pattern|dna profile|dna sample"},
	{kPassword, "password|passwd|pwd|pass|passphrase|passcode|pw|user password|db password|pword|passwort|kennwort|contraseña|contrasena|mot de passe|senha|wachtwoord|clave|smtp password|smtppassword"},
	{kUser, "user|username|user name|login|userid|user id|uid|usr|email|account|logon|login id"},
	{kSecret, "api key|apikey|secret|client secret|secret key|access key|access token|auth token|token|bearer|authorization|private key|x api key|secret access key|session token|refresh token|credential|credentials|api token|api secret"},
	{kName, "name|full name|fullname|first name|last name|surname|given name|patient|patient name|customer|customer name|employee|employee name|cardholder|card holder|cardholder name|account holder|insured|member|member name|subscriber|applicant|dear|mr|mrs|ms|miss|dr|holder|beneficiary|guarantor|student|client|contact|signed|signature|attn|attention|recipient|dependent|dependant|traveler|traveller|passenger|guest|renter|lessee|driver|operator|policyholder|policy holder|voter|subject|prescriber|provider|provider name|physician|doctor|visitor|kontoinhaber|inhaber|owner|account owner|author|sender|payee|borrower|claimant|spouse|emergency contact|next of kin|witness|addressee|nombre|titular|vorname|nachname|nome|cognome|heer|mevrouw|herr|frau|monsieur|madame|senor|senora|geachte heer|sehr geehrter herr|sehr geehrte frau"},
	{kNeg, "order|order number|order no|order id|invoice|invoice number|tracking|tracking number|ref|reference|serial|serial number|sku|isbn|version|build|ticket|transaction|transaction id|txn|trace|request id|confirmation|po|part|part number|imei|case|case number|batch|item|product|model|shipment|isin|ean|upc|barcode|lot|record id|event id|order#|account id|account ids|accountid|aws account|tenant|tenant id|user id|customer id|client id|project id|org id|organization id|bank code|blz|arn|business license|business licence|license key|licence key|license plate|liquor license|contractor license|group number|group no|group id|grp|ein|fein|employer id|employer identification number|payer's tin|payers tin|social media|social network|social club|social event"},
	{kNotBio, "ssh|tls|ssl|gpg|pgp|cert|certificate|sha|md|rsa|ecdsa|browser|device|host key|public key|server|canvas|key fingerprint|jwk|thumbprint"},
}

// trie is the automaton that recognises context words at word starts.
// Alphabet: a-z (0-25), word separator (26), '.' (27), apostrophe (28), '#' (29),
// any byte of a non-ASCII UTF-8 letter (30).
type trie struct {
	next  [][trieSyms]uint16
	kinds []kind
	word  []string
	alpha [256]int8
}

// trieSyms is the size of the keyword alphabet.
const trieSyms = 31

func newTrie() *trie {
	t := newWordTrie()
	for _, e := range keywordList {
		for w := range strings.SplitSeq(e.words, "|") {
			t.add(w, e.kinds)
		}
	}
	return t
}

func (t *trie) add(w string, k kind) {
	node := 0
	for i := range len(w) {
		c := t.alpha[w[i]]
		nx := t.next[node][c]
		if nx == 0 {
			t.next = append(t.next, [trieSyms]uint16{})
			t.kinds = append(t.kinds, 0)
			t.word = append(t.word, "")
			nx = uint16(len(t.next) - 1)
			t.next[node][c] = nx
		}
		node = int(nx)
	}
	t.kinds[node] |= k
	t.word[node] = w
}

// match walks the automaton from b[q], which must be a word start, and
// returns the node of the longest keyword ending at a word boundary and its
// end, or 0.
func (t *trie) match(b []byte, q int) (node int, end int) {
	cur := 0
	for k := q; k < len(b); k++ {
		c := b[k]
		a := t.alpha[c]
		if a < 0 {
			break
		}
		if k > q && isUpper(c) && isLower(b[k-1]) { // camelCase boundary
			cur = int(t.next[cur][26])
			if cur == 0 {
				break
			}
		}
		cur = int(t.next[cur][a])
		if cur == 0 {
			break
		}
		if t.kinds[cur] != 0 && boundaryAfter(b, k) {
			node, end = cur, k+1
		}
	}
	return node, end
}

// exact returns the keyword node that spans exactly b[ws:k] (ws a word
// start), or 0.
func (t *trie) exact(b []byte, ws, k int) int {
	if node, end := t.match(b[:k], ws); end == k {
		return node
	}
	return 0
}

// wordBefore returns the start of the word of at most maxLen letters that
// ends just before b[k], or -1 when no word ends there.
func wordBefore(b []byte, k, maxLen int) int {
	ws := k
	for ws > 0 && isLetter(b[ws-1]) && k-ws < maxLen {
		ws--
	}
	if ws == k || !wordStart(b, ws) {
		return -1
	}
	return ws
}

// boundaryAfter reports whether a word may end after b[k].
func boundaryAfter(b []byte, k int) bool {
	if k+1 >= len(b) {
		return true
	}
	c := b[k+1]
	if !isLetter(c) {
		return true
	}
	return isUpper(c) && isLower(b[k])
}

// wordStart reports whether a word starts at b[q].
func wordStart(b []byte, q int) bool {
	c := b[q]
	if !isLetter(c) {
		return false
	}
	if q == 0 {
		return true
	}
	p := b[q-1]
	return !isLetter(p) || (isUpper(c) && isLower(p))
}
