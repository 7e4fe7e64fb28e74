// Package messages will speak ISO 20022 on the wire: decode inbound
// pacs.008/pain.001 files, encode pacs.002/pacs.009/camt.053/camt.054/pacs.004,
// and sign what leaves. Nothing lives here yet; the clearing core is reached
// over its JSON API until it does.
package messages
