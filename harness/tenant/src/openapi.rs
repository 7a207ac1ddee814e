//! The tenant's OpenAPI 3 document, served at `/openapi.json`: hand-written, and checked
//! against the router by the integration tests (every path it lists answers).

use serde_json::{Value, json};

use crate::batch::MAX_ITEMS;
use crate::cmdlets;
use crate::server::{BODY_LIMIT, LAB_SECRET_HEADER};
use crate::validation::{KDF_ITERATIONS_PER_REQUEST, MAX_IDENTITIES};

/// The document.
pub fn document() -> Value {
    let cmdlet_names: Vec<&str> = cmdlets::all().iter().map(|c| c.name).collect();
    let tenant_param = json!({
        "name": "tenant", "in": "path", "required": true,
        "description": "The tenant's name (contoso.onmicrosoft.com) or GUID.",
        "schema": {"type": "string"}
    });
    let lab_error = json!({"$ref": "#/components/schemas/LabError"});
    let lab_secret = json!([{"labSecret": []}]);
    let lab_401 = json!({"description": format!("No lab secret in {LAB_SECRET_HEADER}, or not this tenant's (checked before the body is read)"), "content": {"application/json": {"schema": lab_error.clone()}}});
    let too_large = json!({"description": format!("Body over {BODY_LIMIT} bytes (read only after authentication)")});
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "mock-tenant",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "A mock Exchange Online tenant for smime-lab: the ExchangeOnlineManagement V3 \
                admin API (InvokeCommand) for the S/MIME cmdlets, a client-credentials token endpoint, \
                and lab endpoints (sync import, certificate lookup, OWA validation, clock) that are not Microsoft's. \
                Byte[] cmdlet parameters travel as base64 strings: Microsoft does not document this. \
                The lab endpoints (/lab/...) want the lab secret in the X-Lab-Secret header (mock-tenant \
                --lab-secret or MOCK_TENANT_LAB_SECRET; `cargo xtask lab up` prints it). Links the tenant \
                hands out start with its --public-url, never with the request's Host header."
        },
        "paths": {
            "/health": {"get": {
                "summary": "Liveness",
                "responses": {"200": {"description": "Up", "content": {"application/json": {"schema": {
                    "type": "object", "properties": {"status": {"type": "string"}, "tenant": {"type": "string"}}
                }}}}}
            }},
            "/openapi.json": {"get": {
                "summary": "This document",
                "responses": {"200": {"description": "OpenAPI 3 document"}}
            }},
            "/{tenant}/oauth2/v2.0/token": {"post": {
                "summary": "Client-credentials token (Microsoft identity platform v2.0 shape)",
                "parameters": [tenant_param.clone()],
                "requestBody": {"required": true, "content": {"application/x-www-form-urlencoded": {"schema": {
                    "type": "object",
                    "required": ["grant_type", "client_id", "client_secret", "scope"],
                    "properties": {
                        "grant_type": {"type": "string", "enum": ["client_credentials"]},
                        "client_id": {"type": "string"},
                        "client_secret": {"type": "string"},
                        "scope": {"type": "string", "example": "https://outlook.office365.com/.default"}
                    }
                }}}},
                "responses": {
                    "200": {"description": "Token", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/TokenResponse"}}}},
                    "400": {"description": "Entra error (AADSTS900144, 90002, 70003, 700016, 1002012, 500011)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/EntraError"}}}},
                    "401": {"description": "Entra error (AADSTS7000215 wrong secret, 7000218 no secret)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/EntraError"}}}}
                }
            }},
            "/adminapi/beta/{tenant}/InvokeCommand": {
                "post": {
                    "summary": "Run a cmdlet",
                    "description": "Needs `Authorization: Bearer <token>` (checked before the body is read). \
                        `Prefer` or `X-Prefer: odata.maxpagesize=N` lowers the page size. Cmdlet and parameter \
                        names match without regard to case.",
                    "security": [{"bearer": []}],
                    "parameters": [
                        tenant_param.clone(),
                        {"name": "$select", "in": "query", "required": false, "schema": {"type": "string"},
                         "description": "Comma-separated property names to keep."},
                        {"name": "$skiptoken", "in": "query", "required": false, "schema": {"type": "string"},
                         "description": "From @odata.nextLink; the body is then ignored. Signed by this process \
                            for the reading cmdlet that made it, valid for --page-link-lifetime seconds \
                            (default 1800: the service's own refusal says 'Default Expiry time is 00:30:00'; \
                            Microsoft documents no lifetime)."}
                    ],
                    "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/InvokeRequest"}}}},
                    "responses": {
                        "200": {"description": "Cmdlet output", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CmdletPage"}}}},
                        "400": {"description": "Binding or cmdlet error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ExoError"}}}},
                        "401": {"description": "No valid bearer token; `WWW-Authenticate` carries the challenge, the body is empty"},
                        "403": {"description": "Unknown cmdlet, or a valid token without the Exchange.ManageAsApp role: the body is NUL bytes (as Exchange Online answers); `X-Mock-Tenant-Reason` says why"},
                        "413": too_large.clone(),
                        "404": {"description": "Object not found (ManagementObjectNotFoundException)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ExoError"}}}}
                    }
                },
                "get": {
                    "summary": "Follow @odata.nextLink",
                    "security": [{"bearer": []}],
                    "parameters": [
                        tenant_param.clone(),
                        {"name": "$skiptoken", "in": "query", "required": true, "schema": {"type": "string"}}
                    ],
                    "responses": {
                        "200": {"description": "Next page", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CmdletPage"}}}},
                        "400": {"description": "Expired or invalid pagination request (not signed by this process, older than the link lifetime, or not a reading cmdlet's)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ExoError"}}}},
                        "401": {"description": "No valid bearer token"},
                        "403": {"description": "A valid token without the Exchange.ManageAsApp role (NUL-byte body)"}
                    }
                }
            },
            "/lab/sync/{tenant}/export": {"post": {
                "summary": "Apply one Entra Connect export cycle, or one batch of one (lab endpoint, not Microsoft's)",
                "description": "A request without cycleId is a whole cycle. A cycle sent in batches names itself in cycleId on every batch and says \"final\": false on all but the last; each batch is applied in one transaction. A full cycle's synced recipients missing from all of its batches are deleted when the final batch arrives, and cycleNumber counts the cycle once, at its end. A batch of another cycle abandons an unfinished one (its deletions never happen).",
                "security": lab_secret.clone(),
                "parameters": [tenant_param.clone()],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SyncExport"}}}},
                "responses": {
                    "200": {"description": "Per-object results", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SyncResult"}}}},
                    "400": {"description": "Malformed export; nothing applied", "content": {"application/json": {"schema": lab_error.clone()}}},
                    "401": lab_401.clone(),
                    "404": {"description": "Another tenant", "content": {"application/json": {"schema": lab_error.clone()}}},
                    "413": too_large.clone()
                }
            }},
            "/lab/owa/{tenant}/validate": {"post": {
                "summary": "Judge a received message, or the sender's certificate before sending, as Outlook on the web does (lab endpoint)",
                "description": format!("Anchors: the certificates of the stored SMIMECertificateIssuingCA (none: nothing is trusted). \
                    Time: the tenant clock. CRLs: fetched from every distribution point of the validated paths (through \
                    --crl-host), unless OWADisableCRLCheck; OWACRLConnectionTimeout bounds each connection, \
                    OWACRLRetrievalTimeout all CRLs of one validation together; a CRL not fetched in time is \
                    crl-unreachable with Exchange's text. A bearer token is accepted, not required; the lab secret is. \
                    Limits per request: at most {MAX_IDENTITIES} identities in decryption, and at most \
                    {KDF_ITERATIONS_PER_REQUEST} key-derivation iterations (PBKDF2 and PKCS#12 KDF, every MAC and \
                    encrypted part of every identity together); over either: 400 with code LimitExceeded naming \
                    the field and the limit."),
                "security": lab_secret.clone(),
                "parameters": [tenant_param],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/OwaValidateRequest"}}}},
                "responses": {
                    "200": {"description": "The judgement", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/OwaValidation"}}}},
                    "400": {"description": "Bad request (code BadRequest; the message names the field: not base64, neither or both of message and certificate, unknown field, a PKCS#12 that does not open) or over a limit (code LimitExceeded)", "content": {"application/json": {"schema": lab_error.clone()}}},
                    "401": lab_401.clone(),
                    "404": {"description": "Another tenant", "content": {"application/json": {"schema": lab_error.clone()}}},
                    "413": too_large.clone()
                }
            }},
            "/lab/recipients/{address}/certificate": {"get": {
                "summary": "The certificate Outlook would find for a recipient (lab endpoint)",
                "security": lab_secret.clone(),
                "parameters": [
                    {"name": "address", "in": "path", "required": true, "schema": {"type": "string"}},
                    {"name": "purpose", "in": "query", "required": false, "schema": {"type": "string", "enum": ["encrypt", "sign"], "default": "encrypt"}},
                    {"name": "now", "in": "query", "required": false, "schema": {"type": "string", "format": "date-time"},
                     "description": "Defaults to the tenant clock."}
                ],
                "responses": {
                    "200": {"description": "Lookup result (found may be false)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/LookupResult"}}}},
                    "400": {"description": "Bad purpose or time", "content": {"application/json": {"schema": lab_error.clone()}}},
                    "401": lab_401.clone(),
                    "404": {"description": "No such recipient", "content": {"application/json": {"schema": lab_error.clone()}}}
                }
            }},
            "/lab/owa/{tenant}/validate/certificates": {"post": {
                "summary": "Outlook on the web's check of many certificates at once (lab endpoint): each answer is what /lab/owa/{tenant}/validate answers for that certificate",
                "description": format!("The settings are read once and each CRL distribution point is fetched once for the whole request. \
                    At most {MAX_ITEMS} certificates a request; over: 400 with code LimitExceeded."),
                "security": lab_secret.clone(),
                "parameters": [{"name": "tenant", "in": "path", "required": true, "schema": {"type": "string"}}],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["certificates", "purpose"], "additionalProperties": false,
                    "properties": {
                        "certificates": {"type": "array", "maxItems": MAX_ITEMS, "items": {"type": "string", "format": "byte"}},
                        "recipients": {"type": "array", "maxItems": MAX_ITEMS, "items": {"type": "string"},
                            "description": "With purpose encrypt: the address each certificate is for, in the same order (as the one-certificate route's recipient)"},
                        "purpose": {"type": "string", "enum": ["send", "encrypt"]}
                    }
                }}}},
                "responses": {
                    "200": {"description": "One judgement per certificate, in order", "content": {"application/json": {"schema": {
                        "type": "object", "required": ["results"],
                        "properties": {"results": {"type": "array", "items": {"$ref": "#/components/schemas/OwaValidation"}}}
                    }}}},
                    "400": {"description": "Bad request (code BadRequest, naming the field: certificates[i] not base64 or not a certificate, purpose) or over the limit (code LimitExceeded)", "content": {"application/json": {"schema": lab_error.clone()}}},
                    "401": lab_401.clone(),
                    "404": {"description": "Another tenant", "content": {"application/json": {"schema": lab_error.clone()}}},
                    "413": too_large.clone()
                }
            }},
            "/lab/recipients/certificates": {"post": {
                "summary": "Outlook's lookup of many recipients at once (lab endpoint): each answer is what /lab/recipients/{address}/certificate answers for that address",
                "description": format!("An address no recipient has answers found false with error RecipientNotFound (the one-address route's 404). \
                    At most {MAX_ITEMS} addresses a request; over: 400 with code LimitExceeded."),
                "security": lab_secret.clone(),
                "requestBody": {"required": true, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["addresses"], "additionalProperties": false,
                    "properties": {
                        "addresses": {"type": "array", "maxItems": MAX_ITEMS, "items": {"type": "string"}},
                        "purpose": {"type": "string", "enum": ["encrypt", "sign"], "default": "encrypt"},
                        "now": {"type": "string", "format": "date-time", "description": "Defaults to the tenant clock."}
                    }
                }}}},
                "responses": {
                    "200": {"description": "One lookup result per address, in order", "content": {"application/json": {"schema": {
                        "type": "object", "required": ["results"],
                        "properties": {"results": {"type": "array", "items": {"type": "object"}}}
                    }}}},
                    "400": {"description": "Bad request (code BadRequest, naming the field) or over the limit (code LimitExceeded)", "content": {"application/json": {"schema": lab_error.clone()}}},
                    "401": lab_401.clone(),
                    "413": too_large.clone()
                }
            }},
            "/lab/clock": {
                "get": {"summary": "The tenant clock (lab endpoint)", "security": lab_secret.clone(), "responses": {
                    "200": {"description": "Clock", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Clock"}}}},
                    "401": lab_401.clone()
                }},
                "put": {
                    "summary": "Fix the tenant clock, or return it to system time with null",
                    "security": lab_secret.clone(),
                    "requestBody": {"required": true, "content": {"application/json": {"schema": {
                        "type": "object", "required": ["now"],
                        "properties": {"now": {"type": "string", "format": "date-time", "nullable": true}}
                    }}}},
                    "responses": {
                        "200": {"description": "Clock", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Clock"}}}},
                        "400": {"description": "Bad time", "content": {"application/json": {"schema": lab_error.clone()}}},
                        "401": lab_401.clone()
                    }
                }
            },
            "/lab/reset/{tenant}": {"post": {
                "summary": "Make the tenant as new for the next scenario of a reused lab (lab endpoint): no recipients, default S/MIME configuration and mobile policies, no sync cycle, the clock as given, earlier page links refused",
                "security": lab_secret,
                "parameters": [{"name": "tenant", "in": "path", "required": true, "schema": {"type": "string"}}],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["now"],
                    "properties": {"now": {"type": "string", "format": "date-time", "nullable": true}}
                }}}},
                "responses": {
                    "200": {"description": "The clock after the reset, and the recipients left (0)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Clock"}}}},
                    "400": {"description": "Bad time", "content": {"application/json": {"schema": lab_error.clone()}}},
                    "401": lab_401,
                    "404": {"description": "Another tenant", "content": {"application/json": {"schema": lab_error}}}
                }
            }}
        },
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                    "description": "From /{tenant}/oauth2/v2.0/token"},
                "labSecret": {"type": "apiKey", "in": "header", "name": LAB_SECRET_HEADER,
                    "description": "The lab secret the tenant was started with"}
            },
            "schemas": {
            "InvokeRequest": {
                "type": "object", "required": ["CmdletInput"],
                "properties": {"CmdletInput": {
                    "type": "object", "required": ["CmdletName"],
                    "properties": {
                        "CmdletName": {"type": "string", "enum": cmdlet_names},
                        "Parameters": {"type": "object", "additionalProperties": true,
                            "description": "Byte[] values as base64 strings (or arrays of numbers); \
                                MultiValuedProperty values as arrays or {\"Add\":[..],\"Remove\":[..]}."}
                    }
                }}
            },
            "CmdletPage": {
                "type": "object",
                "properties": {
                    "@odata.context": {"type": "string"},
                    "adminapi.warnings@odata.type": {"type": "string"},
                    "@adminapi.warnings": {"type": "array", "items": {"type": "string"}},
                    "@odata.nextLink": {"type": "string"},
                    "value": {"type": "array", "items": {"type": "object", "additionalProperties": true}}
                }
            },
            "ExoError": {
                "type": "object",
                "properties": {"error": {
                    "type": "object",
                    "properties": {
                        "code": {"type": "string"},
                        "message": {"type": "string"},
                        "details": {"type": "array", "items": {"type": "object", "properties": {
                            "code": {"type": "string"}, "target": {"type": "string"},
                            "message": {"type": "string", "description": "<ExCode>|<ExceptionType>|<text>"}
                        }}},
                        "innererror": {"type": "object", "additionalProperties": true}
                    }
                }}
            },
            "TokenResponse": {
                "type": "object",
                "properties": {
                    "token_type": {"type": "string"}, "expires_in": {"type": "integer"},
                    "ext_expires_in": {"type": "integer"}, "access_token": {"type": "string"}
                }
            },
            "EntraError": {
                "type": "object",
                "properties": {
                    "error": {"type": "string"}, "error_description": {"type": "string"},
                    "error_codes": {"type": "array", "items": {"type": "integer"}},
                    "timestamp": {"type": "string"}, "trace_id": {"type": "string"},
                    "correlation_id": {"type": "string"}, "error_uri": {"type": "string"}
                }
            },
            "SyncExport": {
                "type": "object", "required": ["cycle", "objects"],
                "properties": {
                    "cycle": {"type": "string", "enum": ["full", "delta"]},
                    "legacyRules": {"type": "boolean", "default": false,
                        "description": "Rules of Entra Connect before 1.1.524.0: more than 15 userCertificate values is a LargeObject error."},
                    "userSMIMECertificateOver15": {"type": "string", "enum": ["skip", "export"], "default": "skip",
                        "description": "What the 1.1.524.0 rules do with more than 15 userSMIMECertificate values: skip (the LargeObject page's sentence on the out-of-box rules) or export (its limit and rule expression name userCertificate only)."},
                    "cycleId": {"type": "string", "maxLength": 128,
                        "description": "Names the cycle this batch belongs to; required when final is false."},
                    "final": {"type": "boolean", "default": true,
                        "description": "Whether this is the cycle's last batch."},
                    "objects": {"type": "array", "items": {
                        "type": "object", "required": ["sourceAnchor"],
                        "properties": {
                            "sourceAnchor": {"type": "string"},
                            "userPrincipalName": {"type": "string"},
                            "mail": {"type": "string"},
                            "displayName": {"type": "string"},
                            "userCertificate": {"type": "array", "items": {"type": "string", "format": "byte"}},
                            "userSMIMECertificate": {"type": "array", "items": {"type": "string", "format": "byte"}},
                            "proxyAddresses": {"type": "array", "items": {"type": "string"}, "description": "As the directory holds them: SMTP:primary, smtp:secondary, x500:..."},
                            "deleted": {"type": "boolean", "default": false}
                        }
                    }}
                }
            },
            "SyncResult": {
                "type": "object",
                "properties": {
                    "cycle": {"type": "string"}, "rules": {"type": "string"}, "cycleNumber": {"type": "integer"},
                    "cycleId": {"type": "string"}, "final": {"type": "boolean"},
                    "objects": {"type": "array", "items": {"type": "object", "properties": {
                        "sourceAnchor": {"type": "string"}, "userPrincipalName": {"type": "string"},
                        "action": {"type": "string", "enum": ["add", "update", "delete", "none", "error"]},
                        "error": {"type": "object", "properties": {"code": {"type": "string"}, "message": {"type": "string"}}},
                        "warnings": {"type": "array", "items": {"type": "string"}},
                        "exported": {"type": "object", "properties": {
                            "userCertificate": {"type": "integer"}, "userSMIMECertificate": {"type": "integer"}
                        }}
                    }}}
                }
            },
            "LookupResult": {
                "type": "object",
                "properties": {
                    "recipient": {"type": "string"},
                    "purpose": {"type": "string", "enum": ["encrypt", "sign"]},
                    "now": {"type": "string", "format": "date-time"},
                    "found": {"type": "boolean"},
                    "chosen": {"type": "object", "nullable": true, "properties": {
                        "attribute": {"type": "string"}, "index": {"type": "integer"},
                        "certificateIndex": {"type": "integer"}, "thumbprint": {"type": "string"},
                        "subject": {"type": "string"}, "notAfter": {"type": "string"},
                        "certificate": {"type": "string", "format": "byte"}
                    }},
                    "candidates": {"type": "array", "items": {"type": "object", "properties": {
                        "attribute": {"type": "string"}, "index": {"type": "integer"},
                        "certificateIndex": {"type": "integer"}, "thumbprint": {"type": "string"},
                        "subject": {"type": "string"}, "notAfter": {"type": "string"},
                        "chosen": {"type": "boolean"},
                        "reasons": {"type": "array", "items": {"type": "string"}}
                    }}}
                }
            },
            "OwaValidateRequest": {
                "type": "object",
                "description": "Either message (with optional decryption) or certificate with purpose; JSON null counts as absent, other fields are refused.",
                "properties": {
                    "message": {"type": "string", "format": "byte", "description": "The whole RFC 5322 message as delivered, base64."},
                    "decryption": {"type": "array", "maxItems": MAX_IDENTITIES, "description": "The reader's identities: each one whose certificate is a recipient of an envelope is tried.",
                        "items": {"type": "object", "required": ["pkcs12", "password"], "properties": {
                            "pkcs12": {"type": "string", "format": "byte"},
                            "password": {"type": "string"}
                        }}},
                    "certificate": {"type": "string", "format": "byte", "description": "The sender's certificate, DER, base64."},
                    "purpose": {"type": "string", "enum": ["send", "encrypt"], "description": "send: the sender's certificate before sending; encrypt: a recipient's certificate before encrypting to it."},
                    "recipient": {"type": "string", "description": "With purpose encrypt: the recipient's address. The certificate must name their primary SMTP address or, under OWAUseSecondaryProxiesWhenFindingCertificates, one of their smtp: proxy addresses; else sendAllowed is false."}
                }
            },
            "OwaValidation": {
                "type": "object", "required": ["status", "reasons", "weak", "crl"],
                "properties": {
                    "status": {"type": "string", "enum": ["valid", "not-signed", "encrypted", "cannot-decrypt", "partially-signed",
                        "malformed", "unsupported", "invalid-signature", "weak", "untrusted", "expired", "not-yet-valid",
                        "revoked", "crl-unreachable", "signer-mismatch"]},
                    "reasons": {"type": "array", "items": {"type": "string"}},
                    "weak": {"type": "boolean"},
                    "opened": {"type": "object", "additionalProperties": true,
                        "description": "A message only: smime::cms::OpenedMessage as serde writes it (the overall verdict's fields flat, and layers)."},
                    "certificate": {"type": "object", "description": "A certificate only.", "properties": {
                        "subject": {"type": "string"}, "issuer": {"type": "string"}, "serial": {"type": "string"},
                        "thumbprint": {"type": "string"}, "not_before": {"type": "string"}, "not_after": {"type": "string"},
                        "key": {"type": "string"}, "emails": {"type": "array", "items": {"type": "string"}}
                    }},
                    "sendAllowed": {"type": "boolean", "description": "A certificate only: false when OWACheckCRLOnSend is true and a CRL is unreachable; for purpose encrypt also false when the certificate does not validate (status other than valid or crl-unreachable), and when a recipient is named whose address the certificate does not name (see address)."},
                    "address": {"type": "object", "description": "A recipient's certificate (purpose encrypt with recipient): whose it is.", "properties": {
                        "recipient": {"type": "string"}, "certificateAddresses": {"type": "array", "items": {"type": "string"}},
                        "matched": {"type": "string", "enum": ["primary", "proxy", "none"]}, "address": {"type": "string"},
                        "useSecondaryProxies": {"type": "boolean"}, "isRecipients": {"type": "boolean"}, "reason": {"type": "string"}
                    }},
                    "crl": {"type": "object", "properties": {
                        "check": {"type": "string", "enum": ["checked", "disabled", "none-needed"]},
                        "fetches": {"type": "array", "items": {"type": "object", "properties": {
                            "url": {"type": "string", "description": "As the certificate names it, before --crl-host."},
                            "fetched": {"type": "boolean"},
                            "error": {"type": "string", "nullable": true},
                            "elapsedMs": {"type": "integer"}
                        }}}
                    }}
                }
            },
            "Clock": {
                "type": "object",
                "properties": {"now": {"type": "string", "format": "date-time"}, "fixed": {"type": "boolean"}}
            },
            "LabError": {
                "type": "object",
                "properties": {"error": {"type": "object", "properties": {
                    "code": {"type": "string"}, "message": {"type": "string"}
                }}}
            }
        }}
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_every_cmdlet_and_resolves_its_refs() {
        let doc = document();
        let names = doc["components"]["schemas"]["InvokeRequest"]["properties"]["CmdletInput"]
            ["properties"]["CmdletName"]["enum"]
            .as_array()
            .unwrap()
            .len();
        assert_eq!(names, cmdlets::all().len());
        let text = doc.to_string();
        for reference in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
            let name = reference.split('"').next().unwrap();
            assert!(
                doc["components"]["schemas"].get(name).is_some(),
                "dangling $ref {name}"
            );
        }
    }
}
