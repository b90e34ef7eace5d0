// Package smsgw is a fake brandname SMS gateway for tests and demos: a
// separate HTTP server speaking the JSON API that notify.SMSGateway calls
// (the shape Vietnamese brandname gateways share), which records every
// accepted message and can fail on demand.
//
// Protocol:
//
//	POST /v1/sms/send
//	X-API-Key: {key}
//	{"brandname": "UBND TINH", "phone": "84912345678", "message": "…",
//	 "request_id": "congso-42", "unicode": false}
//
//	200 {"code": "00", "message": "OK", "message_id": "SMS…", "request_id": "congso-42", "segments": 1}
//
// Errors answer {"code", "message"}: 401 code 01 (bad API key), 400 code 02
// (brandname not registered), 03 (phone not 84 + 9 digits), 04 (empty
// message, over 612 characters, or non-ASCII text with "unicode": false),
// 429 code 09 and 503 code 99 (failures on demand). A repeated request_id
// answers the first message's ID with "duplicate": true and records
// nothing new, as real gateways do.
//
//	GET /v1/sms/{message_id}   {"message_id", "phone", "status": "DELIVERED", "sent_at"}
//
// Control endpoints (for demos and browser tests against a running fake):
//
//	GET  /_fake/messages                 accepted messages as JSON
//	POST /_fake/fail?n=N&status=503      fail the next N sends (N < 0: until recovered)
//	POST /_fake/recover                  stop failing
//
// Invariants: Messages lists accepted messages in order, each request_id at
// most once; a failure on demand records nothing.
package smsgw
