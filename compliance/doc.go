// Package compliance screens payments before they are held: sanctions
// lists, AML rules and travel-rule data. It is pure: lists come in as
// bytes (or are read from files and URLs by Load), decisions go out as
// values; the store records them and keeps the review queue.
//
//   - Lists: OFAC's SDN list (its four legacy CSV files, read with
//     github.com/moov-io/watchman v0.60.0) and the UN Security Council
//     consolidated list (XML, read here). Each loaded version carries a
//     SHA-256 of its content, recorded with every decision.
//   - Index and Screener: the lists indexed for matching; a reload builds
//     a new index and swaps it in atomically, so screening never stops.
//   - Matching: names are folded (Normalize, NameKey, Skeleton), candidates
//     found by character trigrams, and scored with watchman's similarity.
//   - Policy: thresholds depend on what the score rests on (a name alone,
//     or also a date of birth, identifier or address); a name equal to a
//     listed one after normalisation is always held for review.
//   - Rules: AML rules per jurisdiction (large value, structuring,
//     velocity, FATF high-risk jurisdictions as versioned data, travel
//     rule), over the History of earlier payments the store provides.
package compliance
