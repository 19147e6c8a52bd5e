package domain

import "strings"

// isoCountries are the ISO 3166-1 alpha-2 codes officially assigned (249, as
// of the iso-codes database). User-assigned and reserved codes (e.g. XK, EU,
// UK) are rejected: a subprocessor's location must name a real country.
var isoCountries = setOf(`
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE
BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD
CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM
DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF
GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU
ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN
KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME
MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA
NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM
PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI
SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK
TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI
VN VU WF WS YE YT ZA ZM ZW`)

// euEEACH are the places where personal data stays under the GDPR (or the
// Swiss FADP) without a transfer mechanism: the 27 EU member states, the EU's
// outermost regions and Åland that ISO codes separately (AX, GF, GP, MF, MQ,
// RE, YT), the EEA EFTA states (IS, LI, NO) and Switzerland. Greece is GR in
// ISO 3166-1 (the EU's own "EL" is not an ISO code).
var euEEACH = setOf(`
AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE
AX GF GP MF MQ RE YT
IS LI NO
CH`)

func setOf(codes string) map[string]bool {
	m := make(map[string]bool)
	for _, c := range strings.Fields(codes) {
		m[c] = true
	}
	return m
}

// InEUEEACH reports whether country (ISO 3166-1 alpha-2) is in the EU, the
// EEA or Switzerland, where the data processing addendum needs no transfer
// mechanism.
func InEUEEACH(country string) bool { return euEEACH[country] }
