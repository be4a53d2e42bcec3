package schema

// Page selects a window of a listing.
type Page struct {
	Limit  int
	Offset int
}
