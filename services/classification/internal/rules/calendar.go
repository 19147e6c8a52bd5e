package rules

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"time"

	// The calendars name IANA zones; the binary carries the database so a
	// distroless image computes the same deadlines.
	_ "time/tzdata"

	"sigs.k8s.io/yaml"
)

//go:embed calendars/*.yaml
var embeddedCalendars embed.FS

// Calendar is a business-day calendar as data: the holidays a "<n>bd"
// deadline skips, in a time zone, with the time of day a business day ends.
type Calendar struct {
	ID       string   `json:"id"`
	Title    string   `json:"title"`
	Citation string   `json:"citation"`
	Sources  []Source `json:"sources"`
	TimeZone string   `json:"time_zone"`
	// DayEnds ("HH:MM") is when a deadline on a business day falls; empty
	// keeps the anchor's time of day.
	DayEnds  string    `json:"day_ends,omitempty"`
	Notes    []string  `json:"notes,omitempty"`
	Holidays []Holiday `json:"holidays"`

	loc      *time.Location
	endH     int
	endM     int
	observed map[string]string // "YYYY-MM-DD" -> holiday name
}

// Holiday is a fixed date (month, day), observed on the nearest weekday when
// it falls on a weekend (Saturday to Friday, Sunday to Monday), or the nth
// weekday of a month (nth -1: the last).
type Holiday struct {
	Name     string `json:"name"`
	Month    int    `json:"month"`
	Day      int    `json:"day,omitempty"`
	Weekday  string `json:"weekday,omitempty"`
	Nth      int    `json:"nth,omitempty"`
	FromYear int    `json:"from_year,omitempty"`
}

const (
	calendarFirstYear = 1990
	calendarLastYear  = 2100
)

// loadCalendars reads and validates the embedded calendars.
func loadCalendars() (map[string]*Calendar, error) {
	names, err := fs.Glob(embeddedCalendars, "calendars/*.yaml")
	if err != nil {
		return nil, fmt.Errorf("list calendars: %w", err)
	}
	out := map[string]*Calendar{}
	var errs []error
	for _, name := range names {
		data, err := fs.ReadFile(embeddedCalendars, name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		c, err := parseCalendar(data)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", path.Base(name), err))
			continue
		}
		out[c.ID] = c
	}
	return out, errors.Join(errs...)
}

var weekdays = map[string]time.Weekday{
	"sunday": time.Sunday, "monday": time.Monday, "tuesday": time.Tuesday, "wednesday": time.Wednesday,
	"thursday": time.Thursday, "friday": time.Friday, "saturday": time.Saturday,
}

func parseCalendar(data []byte) (*Calendar, error) {
	var c Calendar
	if err := yaml.UnmarshalStrict(data, &c); err != nil {
		return nil, err
	}
	var ps problems
	if !idPattern.MatchString(c.ID) {
		ps.add("id", "must be lower-case words joined by hyphens, not %q", c.ID)
	}
	if c.Citation == "" || len(c.Sources) == 0 {
		ps.add("citation", "citation and sources are required")
	}
	loc, err := time.LoadLocation(c.TimeZone)
	if err != nil || c.TimeZone == "" {
		ps.add("time_zone", "must be an IANA time zone, not %q", c.TimeZone)
		loc = time.UTC
	}
	c.loc = loc
	if c.DayEnds != "" {
		t, err := time.Parse("15:04", c.DayEnds)
		if err != nil {
			ps.add("day_ends", "must be HH:MM, not %q", c.DayEnds)
		}
		c.endH, c.endM = t.Hour(), t.Minute()
	}
	for i, h := range c.Holidays {
		field := fmt.Sprintf("holidays[%d]", i)
		_, okWD := weekdays[h.Weekday]
		switch {
		case h.Name == "":
			ps.add(field+".name", "is required")
		case h.Month < 1 || h.Month > 12:
			ps.add(field+".month", "must be 1 to 12")
		case (h.Day == 0) == (h.Weekday == ""):
			ps.add(field, "needs exactly one of day or weekday")
		case h.Day != 0 && (h.Day < 1 || h.Day > 31):
			ps.add(field+".day", "must be 1 to 31")
		case h.Weekday != "" && (!okWD || h.Nth == 0 || h.Nth < -1 || h.Nth > 5):
			ps.add(field, "weekday must be a day name and nth 1 to 5 or -1")
		}
	}
	if err := errors.Join(ps...); err != nil {
		return nil, err
	}
	c.observed = map[string]string{}
	for y := calendarFirstYear; y <= calendarLastYear; y++ {
		for _, h := range c.Holidays {
			if y < h.FromYear {
				continue
			}
			c.observed[h.date(y).Format(time.DateOnly)] = h.Name
		}
	}
	return &c, nil
}

// date is the observed date of h in year y.
func (h Holiday) date(y int) time.Time {
	if h.Day != 0 {
		d := time.Date(y, time.Month(h.Month), h.Day, 0, 0, 0, 0, time.UTC)
		switch d.Weekday() {
		case time.Saturday:
			return d.AddDate(0, 0, -1)
		case time.Sunday:
			return d.AddDate(0, 0, 1)
		}
		return d
	}
	wd := weekdays[h.Weekday]
	if h.Nth == -1 {
		d := time.Date(y, time.Month(h.Month)+1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, -1)
		for d.Weekday() != wd {
			d = d.AddDate(0, 0, -1)
		}
		return d
	}
	d := time.Date(y, time.Month(h.Month), 1, 0, 0, 0, 0, time.UTC)
	for d.Weekday() != wd {
		d = d.AddDate(0, 0, 1)
	}
	return d.AddDate(0, 0, 7*(h.Nth-1))
}

// Holiday names the holiday observed on the date of t (in the calendar's
// zone), or "".
func (c *Calendar) Holiday(t time.Time) string {
	return c.observed[t.In(c.loc).Format(time.DateOnly)]
}

func (c *Calendar) businessDay(t time.Time) bool {
	wd := t.Weekday()
	return wd != time.Saturday && wd != time.Sunday && c.Holiday(t) == ""
}

// addBusinessDays counts n business days after the day of t (in the
// calendar's zone); the deadline is at DayEnds that day, or at t's time of
// day.
func (c *Calendar) addBusinessDays(t time.Time, n int) time.Time {
	local := t.In(c.loc)
	d := time.Date(local.Year(), local.Month(), local.Day(), 12, 0, 0, 0, c.loc)
	for n > 0 {
		d = d.AddDate(0, 0, 1)
		if c.businessDay(d) {
			n--
		}
	}
	h, m, s := local.Hour(), local.Minute(), local.Second()
	if c.DayEnds != "" {
		h, m, s = c.endH, c.endM, 0
	}
	return time.Date(d.Year(), d.Month(), d.Day(), h, m, s, local.Nanosecond(), c.loc).UTC()
}

func (c *Calendar) describe() string {
	s := c.ID + " calendar: weekends and " + strings.ToLower(c.Title) + " excluded, in " + c.TimeZone
	if c.DayEnds != "" {
		s += ", due by " + c.DayEnds
	}
	return s
}
