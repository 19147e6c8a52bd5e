package scanner

import "strings"

// maxMasked bounds a masked rendering; longer values keep their end.
const maxMasked = 48

// mask renders v without revealing it: letters and digits become '*'
// except the last four, separators stay. Credentials and secrets reveal
// nothing but a well-known prefix; names keep their initials; e-mail
// addresses keep the first letter and the top-level domain.
func mask(t Type, v []byte) string {
	switch t {
	case Credentials:
		return "********"
	case Secret:
		for _, p := range secretPrefixes {
			if strings.HasPrefix(string(v), p.prefix) {
				return p.prefix + "********"
			}
		}
		if strings.HasPrefix(string(v), "-----BEGIN ") {
			if e := strings.Index(string(v[5:]), "-----"); e > 0 && e < 40 && !strings.ContainsAny(string(v[:e+10]), "0123456789") {
				return string(v[:e+10]) + "********"
			}
			return "-----BEGIN PRIVATE KEY-----********"
		}
		if strings.HasPrefix(string(v), "eyJ") {
			return "eyJ********"
		}
		return "********"
	case PersonName:
		out := make([]byte, 0, len(v))
		for i, c := range v {
			if isLetter(c) && i > 0 && isLetter(v[i-1]) {
				c = '*'
			}
			out = append(out, c)
		}
		return truncMasked(out)
	case Email:
		at := strings.LastIndexByte(string(v), '@')
		dot := strings.LastIndexByte(string(v), '.')
		if at > 0 && dot > at {
			var sb strings.Builder
			if isLetter(v[0]) {
				sb.WriteByte(v[0])
			} else {
				sb.WriteByte('*')
			}
			sb.WriteString("***@")
			for _, c := range v[at+1 : dot] {
				if isAlnum(c) {
					c = '*'
				}
				sb.WriteByte(c)
			}
			sb.Write(v[dot:])
			return sb.String()
		}
	}
	out := make([]byte, len(v))
	keep := 4
	for i := len(v) - 1; i >= 0; i-- {
		c := v[i]
		switch {
		case isAlnum(c) && keep > 0:
			keep--
			out[i] = c
		case isAlnum(c) || c >= 0x80:
			out[i] = '*'
		default:
			out[i] = c
		}
	}
	return truncMasked(out)
}

func truncMasked(out []byte) string {
	if len(out) > maxMasked {
		return "…" + string(out[len(out)-maxMasked:])
	}
	return string(out)
}

// firstNames are common given names (US Social Security Administration
// lists), used to recognise a name next to other personal information.
func firstNames() map[string]bool {
	const list = `james john robert michael william david richard joseph thomas charles christopher daniel matthew
anthony mark donald steven paul andrew joshua kenneth kevin brian george timothy ronald edward jason jeffrey ryan
jacob gary nicholas eric jonathan stephen larry justin scott brandon benjamin samuel gregory alexander frank patrick
raymond jack dennis jerry tyler aaron jose adam nathan henry douglas zachary peter kyle ethan walter noah jeremy
christian keith roger terry gerald harold sean austin carl arthur lawrence dylan jesse jordan bryan billy joe bruce
gabriel logan albert willie alan juan wayne elijah randy roy vincent ralph eugene russell bobby mason philip louis
carlos luis miguel diego liam oliver lucas mateo leo owen caleb hunter evan ian luke wyatt isaac levi hugo omar
mary patricia jennifer linda elizabeth barbara susan jessica sarah karen lisa nancy betty margaret sandra ashley
kimberly emily donna michelle carol amanda dorothy melissa deborah stephanie rebecca sharon laura cynthia kathleen
amy angela shirley anna brenda pamela emma nicole helen samantha katherine christine debra rachel carolyn janet
catherine maria heather diane ruth julie olivia joyce virginia victoria kelly lauren christina joan evelyn judith
megan andrea cheryl hannah jacqueline martha gloria teresa ann sara madison frances kathryn janice jean abigail
alice judy sophia grace denise amber doris marilyn danielle beverly isabella theresa diana natalie brittany
charlotte marie kayla alexis lori jane ava mia harper ella chloe zoe lily aria nora riley layla camila penelope
luna elena sofia valentina lucia ana rosa carmen priya wei li mohammed muhammad ahmed fatima aisha yuki hiroshi
kenji raj amit anita sanjay deepa ivan olga dmitri sven lars ingrid klaus hans pierre marie jean claire sophie
lukas anna jonas mia finn emil felix max paula giulia marco luca francesca alessandro jan piotr katarzyna tom tim
sam ben dan rob mike bob bill jim jon steve chris nick alex kate liz beth meg sue jen jess becky`
	m := map[string]bool{}
	for _, f := range strings.Fields(list) {
		m[f] = true
	}
	return m
}
