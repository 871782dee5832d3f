package ingest

// Calendar arithmetic shared by the decoders' hand-written time parsers
// (CloudTrail's RFC 3339 times, S3 access logs' bracketed times), which
// avoid time.Parse on the hot path.

// DaysIn is the number of days of month m (1-12) of year y in the
// proleptic Gregorian calendar.
func DaysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// DaysFromCivil returns the days since 1970-01-01 of the proleptic
// Gregorian date y-m-d (H. Hinnant's algorithm; y >= 0).
func DaysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}
