package cloudtrail

import "github.com/leakscope/leakscope/ingest"

// parseTime parses an RFC 3339 timestamp (Z or numeric offset, optional
// fractional seconds; 'T', 't' or ' ' between date and time; a missing zone
// means UTC) or the ISO 8601 basic form 20131102T010628Z, and returns Unix
// microseconds UTC. It does not allocate.
func parseTime(b []byte) (int64, bool) {
	if len(b) == 20 && b[19] == 'Z' {
		if t, ok := parseTimeZ(b); ok {
			return t, true
		}
	}
	var y, mo, d, h, mi, s, i int
	switch {
	case len(b) >= 19 && b[4] == '-':
		if b[7] != '-' || (b[10] != 'T' && b[10] != 't' && b[10] != ' ') || b[13] != ':' || b[16] != ':' {
			return 0, false
		}
		y, mo, d = digits(b[0:4]), digits(b[5:7]), digits(b[8:10])
		h, mi, s = digits(b[11:13]), digits(b[14:16]), digits(b[17:19])
		i = 19
	case len(b) >= 15 && (b[8] == 'T' || b[8] == 't'):
		y, mo, d = digits(b[0:4]), digits(b[4:6]), digits(b[6:8])
		h, mi, s = digits(b[9:11]), digits(b[11:13]), digits(b[13:15])
		i = 15
	default:
		return 0, false
	}
	if y < 0 || mo < 1 || mo > 12 || d < 1 || d > ingest.DaysIn(y, mo) || h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 59 {
		return 0, false
	}
	var micros int64
	if i < len(b) && (b[i] == '.' || b[i] == ',') {
		i++
		n := 0
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			if n < 6 {
				micros = micros*10 + int64(b[i]-'0')
			}
			n++
			i++
		}
		if n == 0 {
			return 0, false
		}
		for ; n < 6; n++ {
			micros *= 10
		}
	}
	var off int
	if i < len(b) {
		switch b[i] {
		case 'Z', 'z':
			i++
		case '+', '-':
			sign := 1
			if b[i] == '-' {
				sign = -1
			}
			i++
			var oh, om int
			switch {
			case len(b)-i == 5 && b[i+2] == ':':
				oh, om = digits(b[i:i+2]), digits(b[i+3:i+5])
			case len(b)-i == 4:
				oh, om = digits(b[i:i+2]), digits(b[i+2:i+4])
			case len(b)-i == 2:
				oh, om = digits(b[i:i+2]), 0
			default:
				return 0, false
			}
			if oh < 0 || oh > 23 || om < 0 || om > 59 {
				return 0, false
			}
			off = sign * (oh*3600 + om*60)
			i = len(b)
		default:
			return 0, false
		}
	}
	if i != len(b) {
		return 0, false
	}
	days := ingest.DaysFromCivil(y, mo, d)
	secs := days*86400 + int64(h*3600+mi*60+s) - int64(off)
	return secs*1_000_000 + micros, true
}

// parseTimeZ is parseTime for the form CloudTrail writes,
// 2006-01-02T15:04:05Z (len(b) == 20). It rejects anything else, which
// parseTime then handles.
func parseTimeZ(b []byte) (int64, bool) {
	b = b[:20]
	if b[4] != '-' || b[7] != '-' || b[10] != 'T' || b[13] != ':' || b[16] != ':' {
		return 0, false
	}
	c, y := digit2(b[0], b[1]), digit2(b[2], b[3])
	mo, d := digit2(b[5], b[6]), digit2(b[8], b[9])
	h, mi, s := digit2(b[11], b[12]), digit2(b[14], b[15]), digit2(b[17], b[18])
	if c < 0 || y < 0 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 59 {
		return 0, false
	}
	y += 100 * c
	if d > ingest.DaysIn(y, mo) {
		return 0, false
	}
	secs := ingest.DaysFromCivil(y, mo, d)*86400 + int64(h*3600+mi*60+s)
	return secs * 1_000_000, true
}

// digit2 returns the value of the two decimal digits a and b, or -1.
func digit2(a, b byte) int {
	a -= '0'
	b -= '0'
	if a > 9 || b > 9 {
		return -1
	}
	return int(a)*10 + int(b)
}

func digits(b []byte) int {
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int(c-'0')
	}
	return n
}
