"""Mail we receive, read without side effects: parsing, who vouches for the sender, routing.

`parse` turns the bytes of an RFC 5322 message into `ParsedMail`; `trust` decides whether the
message may act for a person (signed reply address, DKIM, a trusted Authentication-Results) and
recognises automatic mail and loops; `body` reads the reply text and a filing request. The
service that acts on the result is `tickets.services.inbound`.
"""
