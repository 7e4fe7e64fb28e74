// Package compliance will screen every payment before it is held: sanctions
// lists, AML rules and travel-rule data, with a review queue. Nothing lives
// here yet; the clearing core holds payments unscreened until it does.
package compliance
